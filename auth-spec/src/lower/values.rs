//! Lowering the named session values of token answers (`values:`), the values ordinary API
//! answers renew (`usage.renewed_by_answers`), and the checks of `${session.NAME}`,
//! `${session.NAME.claims.CLAIM}` and `${response.@header:NAME}` placeholders.

use indexmap::IndexMap;
use serde_json::Value;

use super::{Lowerer, Problem, SpannedString};
use crate::extract::{Answer, Parsed};
use crate::model::{Example, RenewedByAnswer, SessionSlot, ValueSource};
use crate::suggest::listing;
use crate::template::{Reference, is_value_name};
use crate::timefmt::kind_of;

/// Names a value may not take: the tokens' own.
const RESERVED: &[&str] = &["access_token", "refresh_token"];

/// A session value is sent as text: a string, or a number or boolean as its JSON text.
fn scalar_kind(v: &Value) -> Result<(), Problem> {
    match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(()),
        other => Err((
            format!(
                "is {}, expected a string, number or boolean",
                kind_of(other)
            ),
            Some("point at the scalar inside it that is the value".into()),
        )),
    }
}

/// The text a value is sent as.
pub(crate) fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(v.to_string()),
        _ => None,
    }
}

impl Lowerer<'_> {
    /// The `values:` of a token answer. The login's declare what templates may name; a
    /// refresh's may only renew those.
    pub(super) fn session_values(
        &mut self,
        raw: &IndexMap<SpannedString, SpannedString>,
        success: &[Example],
        endpoint: &str,
    ) -> Vec<(String, ValueSource)> {
        let mut out = Vec::new();
        for (name, value) in raw {
            let reason = if RESERVED.contains(&name.value.as_str()) {
                Some(format!(
                    "it is the token's own key; map it with `{}:` next to `access_token`",
                    name.value
                ))
            } else if !is_value_name(&name.value) {
                Some("names are lower case letters, digits and `_`, e.g. `account_token`".into())
            } else {
                None
            };
            if let Some(reason) = reason {
                self.error(
                    name.referenced,
                    format!("`{}` cannot name a session value", name.value),
                    Some(reason),
                );
                continue;
            }
            if endpoint == "refresh" && !self.declared_values.contains(&name.value) {
                let hint = if self.declared_values.is_empty() {
                    "declare it under `login.response.values` too".to_owned()
                } else {
                    format!(
                        "the login declares: {}; declare it there too",
                        listing(&self.declared_values)
                    )
                };
                self.error(
                    name.referenced,
                    format!(
                        "`{}` is not a value the login declares: it would be missing until the first refresh",
                        name.value
                    ),
                    Some(hint),
                );
                continue;
            }
            let Some(source) = self.source(value) else {
                continue;
            };
            self.check_in_examples(
                value.referenced,
                &super::sources::part_locations(value),
                &source,
                success,
                &format!("session value `{}`", name.value),
                true,
                &scalar_kind,
            );
            let samples = self.example_values.entry(name.value.clone()).or_default();
            for example in success {
                let answer = Answer::from_example(example);
                if let Ok(Some(v)) = Parsed::new(&answer).read(&source)
                    && let Some(text) = value_text(&v)
                {
                    samples.push((example.description.clone(), text));
                }
            }
            if endpoint == "login" {
                self.declared_values.push(name.value.clone());
            }
            out.push((name.value.clone(), source));
        }
        out
    }

    /// `usage.renewed_by_answers`: `access_token` or a declared value -> `@header:NAME`.
    pub(super) fn renewed_by_answers(
        &mut self,
        raw: &IndexMap<SpannedString, SpannedString>,
    ) -> Option<Vec<RenewedByAnswer>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (name, source) in raw {
            let value = if name.value == "access_token" {
                SessionSlot::AccessToken
            } else if self.declared_values.contains(&name.value) {
                SessionSlot::Value(name.value.clone())
            } else {
                ok = false;
                let mut names = vec!["access_token".to_owned()];
                names.extend(self.declared_values.iter().cloned());
                let hint = self
                    .suggestions
                    .did_you_mean(&name.value, &names)
                    .unwrap_or_else(|| format!("it may name: {}", listing(&names)));
                self.error(
                    name.referenced,
                    format!(
                        "`{}` is not a value an answer can renew: `access_token` or one the login's `values` declare",
                        name.value
                    ),
                    Some(hint),
                );
                continue;
            };
            match self.source(source) {
                Some(ValueSource::Header(header)) => out.push(RenewedByAnswer { value, header }),
                Some(other) => {
                    ok = false;
                    self.error(
                        source.referenced,
                        format!(
                            "`{other}`: a value renewed by ordinary API answers must be a response header"
                        ),
                        Some("write `@header:NAME`, the header the vendor sends the new value in".into()),
                    );
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// Checks `${session.NAME}`, `${session.NAME.claims.CLAIM}` and `${response.@header:NAME}`.
    pub(super) fn check_value_reference(
        &self,
        reference: &Reference,
        structured_ok: bool,
    ) -> Result<(), Problem> {
        match reference {
            Reference::SessionValue(name) => self.declared(name),
            Reference::ValueClaim { value, claim } => {
                self.declared(value)?;
                let samples = self
                    .example_values
                    .get(value)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                super::claims::check_claim(reference, claim, samples, structured_ok)
            }
            Reference::ResponseHeader(name) => {
                for example in &self.response_examples {
                    if Answer::from_example(example).header(name).is_none() {
                        return Err((
                            format!(
                                "`{reference}` does not resolve in the example answers{}",
                                example
                                    .description
                                    .as_deref()
                                    .map(|d| format!(" (\"{d}\")"))
                                    .unwrap_or_default()
                            ),
                            Some("add the header to the example's `headers` (every login and refresh example)".into()),
                        ));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn declared(&self, name: &str) -> Result<(), Problem> {
        if self.declared_values.iter().any(|v| v == name) {
            return Ok(());
        }
        let mut names: Vec<String> = RESERVED.iter().map(|s| (*s).to_owned()).collect();
        names.extend(self.declared_values.iter().cloned());
        let hint = self
            .suggestions
            .did_you_mean(name, &names)
            .unwrap_or_else(|| {
                format!(
                    "the session holds {}; declare others under `login.response.values`",
                    listing(&names)
                )
            });
        Err((format!("unknown session value `{name}`"), Some(hint)))
    }
}
