//! Lowering of templates (`${credentials.NAME}`, `${session.access_token}`, ...): each
//! placeholder is checked against what the endpoint that sends it may name.

use std::collections::HashSet;

use indexmap::IndexMap;
use serde_json::Value;

use super::claims;
use super::{Context, Lowerer, Problem, is_header_name, path_hint, placeholder_offsets};
use crate::model::Encoding;
use crate::raw::SpannedString;
use crate::suggest::listing;
use crate::template::{Reference, Template};
use crate::timefmt::kind_of;

impl Lowerer<'_> {
    /// Reports each placeholder of `value` other than a credential (`where_` names the place).
    pub(super) fn credentials_only(&mut self, value: &SpannedString, where_: &str) -> bool {
        let Ok(parsed) = Template::parse(&value.value) else {
            return true; // reported where it is parsed
        };
        let offsets = placeholder_offsets(&value.value);
        let mut ok = true;
        for (i, reference) in parsed.references().enumerate() {
            if !matches!(
                reference,
                Reference::Credential(_) | Reference::Now(_) | Reference::Lifetime(_)
            ) {
                ok = false;
                self.error_inside(
                    value.referenced,
                    offsets.get(i).copied().unwrap_or(0),
                    format!("`{reference}` cannot be used in {where_}: it cannot be left out"),
                    Some("use `${credentials.NAME}` and literals there".into()),
                );
            }
        }
        ok
    }

    pub(super) fn template_map(
        &mut self,
        map: &IndexMap<SpannedString, SpannedString>,
        context: Context,
        header_names: bool,
    ) -> Option<Vec<(String, Template)>> {
        let mut out: Vec<(String, Template)> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut ok = true;
        for (name, value) in map {
            // HTTP header names are case-insensitive: two spellings are one header sent twice.
            if header_names && !seen.insert(name.value.to_ascii_lowercase()) {
                ok = false;
                self.error(
                    name.referenced,
                    format!(
                        "header `{}` is given twice (header names ignore case)",
                        name.value
                    ),
                    Some("keep one of them".into()),
                );
            }
            if header_names && !is_header_name(&name.value) {
                ok = false;
                self.error(
                    name.referenced,
                    format!("`{}` is not a valid HTTP header name", name.value),
                    Some("header names are letters, digits and `-`, e.g. `X-Api-Key`".into()),
                );
            }
            match self.template(value, context, Encoding::None) {
                Some(t) => out.push((name.value.clone(), t)),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// Parses a template and checks each placeholder against what `context` may name.
    /// `encoding` is `Json` when a sole placeholder may insert a structured value.
    pub(super) fn template(
        &mut self,
        value: &SpannedString,
        context: Context,
        encoding: Encoding,
    ) -> Option<Template> {
        let template = match Template::parse(&value.value) {
            Ok(t) => t,
            Err(e) => {
                self.error_inside(
                    value.referenced,
                    e.offset,
                    format!("in `{}`: {}", value.value, e.message),
                    e.hint,
                );
                return None;
            }
        };
        let mut ok = true;
        let structured_ok = encoding == Encoding::Json && template.sole_reference().is_some();
        let offsets = placeholder_offsets(&value.value);
        if context == Context::Login && !self.login_template_ok(value, &template, &offsets) {
            ok = false;
        }
        if !self.optional_template_ok(value, &template, &offsets) {
            ok = false;
        }
        for (i, reference) in template.references().enumerate() {
            if let Reference::Credential(name) = reference {
                self.used_credentials.insert(name.clone());
            }
            if let Err((message, hint)) = self.check_reference(reference, context, structured_ok) {
                ok = false;
                let offset = offsets.get(i).copied().unwrap_or(0);
                self.error_inside(value.referenced, offset, message, hint);
            }
        }
        let mut template = template;
        self.lifetimes_sent(&mut template, context.name());
        ok.then_some(template)
    }

    /// A login template may carry the previous session (vendors that end it on the next login),
    /// and is left out when there is none: so it names session values only, or none.
    fn login_template_ok(
        &mut self,
        value: &SpannedString,
        template: &Template,
        offsets: &[usize],
    ) -> bool {
        let of_session = |r: &Reference| {
            !matches!(
                r,
                Reference::Credential(_) | Reference::Now(_) | Reference::Lifetime(_)
            )
        };
        let mixed =
            template.references().any(of_session) && template.references().any(|r| !of_session(r));
        if !mixed {
            return true;
        }
        let (i, reference) = template
            .references()
            .enumerate()
            .find(|(_, r)| of_session(r))
            .unwrap_or((0, &Reference::AccessToken));
        self.error_inside(
            value.referenced,
            offsets.get(i).copied().unwrap_or(0),
            format!(
                "`{reference}`: this login template mixes session values with credentials; a value of the previous session is left out when there is none, and a credential cannot be"
            ),
            Some("put the previous session's values in a field, header or query entry of their own".into()),
        );
        false
    }

    pub(super) fn check_reference(
        &self,
        reference: &Reference,
        context: Context,
        structured_ok: bool,
    ) -> Result<(), Problem> {
        match reference {
            Reference::Credential(name) => {
                if self.credential_set.contains(name) {
                    Ok(())
                } else {
                    let hint = self.suggestions.did_you_mean(name, &self.credentials).unwrap_or_else(|| {
                        if self.credentials.is_empty() {
                            "declare it under `credentials:`".to_owned()
                        } else {
                            format!("declared credentials: {}", listing(&self.credentials))
                        }
                    });
                    Err((format!("`{reference}` names a credential that is not declared"), Some(hint)))
                }
            }
            Reference::RefreshToken if !self.has_refresh_token => Err((
                format!("`{reference}` is used but the login response maps no refresh token"),
                Some("add `refresh_token: $.refresh_token` (or where the vendor puts it) to `login.response`".into()),
            )),
            Reference::RefreshToken if context == Context::Usage => Err((
                format!("`{reference}` must not be sent on API calls"),
                Some("API calls carry the access token: `${session.access_token}`".into()),
            )),
            Reference::AccessToken | Reference::RefreshToken | Reference::Now(_) => Ok(()),
            Reference::AccessTokenClaim(name) => {
                claims::check_claim(reference, name, &self.example_tokens, structured_ok)
            }
            Reference::SessionValue(_)
            | Reference::ValueClaim { .. }
            | Reference::ResponseHeader(_) => self.check_value_reference(reference, structured_ok),
            Reference::Lifetime(lifetime) => self.check_lifetime(lifetime),
            Reference::Response(path) => {
                for example in &self.response_examples {
                    match path.resolve(&example.body) {
                        None => {
                            return Err((
                                format!(
                                    "`{reference}` does not resolve in the example answers{}",
                                    example.description.as_deref().map(|d| format!(" (\"{d}\")")).unwrap_or_default()
                                ),
                                path_hint(path, &example.body, &self.suggestions),
                            ));
                        }
                        Some(v @ (Value::Object(_) | Value::Array(_))) if !structured_ok => {
                            return Err((
                                format!("`{reference}` is {} in the example answers; only a whole JSON body value may be structured", kind_of(v)),
                                Some("use it as the whole value of a JSON body field, or point at a scalar inside it".into()),
                            ));
                        }
                        Some(_) => {}
                    }
                }
                Ok(())
            }
        }
    }
}
