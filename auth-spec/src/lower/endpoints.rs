//! Lowering of the requests (`login`, `refresh`, `logout`, `keep_alive`) and of what each one
//! holds: path, encoding, headers, query, body, Basic authentication and success statuses.

use indexmap::IndexMap;
use serde_saphyr::Spanned;

use super::responses::success_examples;
use super::{Context, Lowerer, placeholder_offsets};
use crate::judge::FailureRule;
use crate::model::*;
use crate::node::Node;
use crate::raw::*;
use crate::template::{Reference, Template};

impl Lowerer<'_> {
    /// `login`: its answer and its request.
    pub(super) fn login_endpoint(
        &mut self,
        raw: &RawSpec,
    ) -> (Option<TokenResponse>, Option<Endpoint>) {
        // Login first: its response decides what later templates may name. Its `failures` come
        // before the response: an example they match shows a failure, not tokens.
        let login_failures = self.failures(&raw.login.value, Context::Login);
        self.failures_in_scope.clone_from(&login_failures);
        let login_response = match &raw.login.value.response {
            Some(r) => Some(self.token_response(r, "login")),
            None => {
                self.error(
                    raw.login.referenced,
                    "the login endpoint has no `response` mapping",
                    Some("say where the tokens are: `response: { access_token: $.access_token, ... }`".into()),
                );
                None
            }
        };
        if let Some(r) = &login_response {
            self.response_examples = success_examples(&r.examples, &login_failures);
            self.has_refresh_token = r.refresh_token.is_some();
        }
        let login_request = self.endpoint(&raw.login.value, Context::Login, login_failures);
        (login_response, login_request)
    }

    /// `refresh`, when declared. `login_answered`: the login has a `response` (when it has none,
    /// that is reported already, and no missing refresh token is reported on top).
    pub(super) fn refresh_endpoint(
        &mut self,
        raw: &RawSpec,
        login_answered: bool,
    ) -> Option<TokenEndpoint> {
        let spanned = raw.refresh.as_ref()?;
        let endpoint = &spanned.value;
        if !self.has_refresh_token && login_answered {
            self.error(
                spanned.referenced,
                "a refresh endpoint is declared but the login response maps no refresh token",
                Some("add `refresh_token: $.refresh_token` (or where the vendor puts it) to `login.response`".into()),
            );
        }
        let refresh_failures = self.failures(endpoint, Context::Refresh);
        self.failures_in_scope.clone_from(&refresh_failures);
        let response = match &endpoint.response {
            Some(r) => Some(self.token_response(r, "refresh")),
            None => {
                self.error(
                    spanned.referenced,
                    "the refresh endpoint has no `response` mapping",
                    Some("say where the new tokens are: `response: { access_token: $.access_token, ... }`".into()),
                );
                None
            }
        };
        // `${response.PATH}` names the last token answer: a login's or a refresh's.
        if let Some(r) = &response {
            self.response_examples
                .extend(success_examples(&r.examples, &refresh_failures));
            if let (Some(RawRotation::Rotates), None) = (
                raw.policy.rotation.as_ref().map(|r| r.value),
                &r.refresh_token,
            ) {
                self.error(
                    spanned.referenced,
                    "`rotation: rotates` but the refresh response maps no `refresh_token`: a rotating refresh token must come back with every refresh",
                    Some("add `refresh_token: $.refresh_token` to `refresh.response`, or declare `rotation: reusable`".into()),
                );
            }
        }
        let request = self.endpoint(endpoint, Context::Refresh, refresh_failures);
        Some(TokenEndpoint {
            request: request?,
            response: response?,
        })
    }

    /// `logout`, when declared: a request that takes no `response`.
    pub(super) fn logout_endpoint(&mut self, raw: &RawSpec) -> Option<Endpoint> {
        let spanned = raw.logout.as_ref()?;
        if let Some(r) = &spanned.value.response {
            self.error(
                r.referenced,
                "`logout` takes no `response`: only login and refresh answer with tokens",
                Some("remove `response` from `logout`".into()),
            );
        }
        let failures = self.failures(&spanned.value, Context::Logout);
        self.endpoint(&spanned.value, Context::Logout, failures)
    }

    /// `keep_alive`, when declared: a request that takes no `response` and needs
    /// `policy.idle_timeout`.
    pub(super) fn keep_alive_endpoint(&mut self, raw: &RawSpec) -> Option<Endpoint> {
        let spanned = raw.keep_alive.as_ref()?;
        if let Some(r) = &spanned.value.response {
            self.error(
                r.referenced,
                "`keep_alive` takes no `response`: only login and refresh answer with tokens",
                Some("remove `response` from `keep_alive`".into()),
            );
        }
        if raw.policy.idle_timeout.is_none() {
            self.error(
                spanned.referenced,
                "a `keep_alive` endpoint is declared but `policy.idle_timeout` is not",
                Some("say after how long without a call the session ends, e.g. `policy: { idle_timeout: 15m }`".into()),
            );
        }
        let failures = self.failures(&spanned.value, Context::Logout);
        self.endpoint(&spanned.value, Context::Logout, failures)
    }

    fn endpoint(
        &mut self,
        raw: &RawEndpoint,
        context: Context,
        failures: Vec<FailureRule>,
    ) -> Option<Endpoint> {
        let mut ok = true;
        let path = &raw.path;
        if !path.value.starts_with('/') || path.value.contains("://") {
            ok = false;
            self.error(
                path.referenced,
                format!("the {} path `{}` must start with `/`", context.name(), path.value),
                Some("write the path as the vendor documents it (`/v3/auth/login`); the host belongs in `environments`".into()),
            );
        }
        let path_template = self.path_template(path, context);
        let encoding = match (raw.encoding, &raw.body) {
            (None, Some(body)) => {
                ok = false;
                self.error(
                    body.referenced,
                    format!("the {} body has no `encoding`", context.name()),
                    Some("add `encoding: json` or `encoding: form`".into()),
                );
                Encoding::None
            }
            (Some(RawEncoding::None), Some(body)) => {
                ok = false;
                self.error(
                    body.referenced,
                    format!(
                        "the {} endpoint has `encoding: none` but a body",
                        context.name()
                    ),
                    Some("use `encoding: json` or `encoding: form`, or remove the body".into()),
                );
                Encoding::None
            }
            (None | Some(RawEncoding::None), None) => Encoding::None,
            (Some(RawEncoding::Json), _) => Encoding::Json,
            (Some(RawEncoding::Form), _) => Encoding::Form,
            (Some(RawEncoding::Unknown), Some(_)) => Encoding::Unknown,
            (Some(RawEncoding::Unknown), None) => {
                ok = false;
                self.error(
                    path.referenced,
                    format!(
                        "the {} endpoint has `encoding: unknown` but no body",
                        context.name()
                    ),
                    Some("`unknown` is for a body whose encoding the document does not give; without a body, remove `encoding`".into()),
                );
                Encoding::None
            }
        };
        let headers = self.template_map(&raw.headers, context, true);
        let query = self.template_map(&raw.query, context, false);
        let body = raw.body.as_ref().map(|b| {
            // A body of unknown encoding may be sent as a form: it must be flat too.
            if matches!(encoding, Encoding::Form | Encoding::Unknown) {
                self.check_form_flat(b);
            }
            self.body_value(b, context, encoding)
        });
        if context == Context::Login
            && let Some(b) = &raw.basic_auth
        {
            // Left out when there is no previous session, they would be no credentials.
            ok &= self.credentials_only(&b.username, "the login's `basic_auth`");
            ok &= self.credentials_only(&b.password, "the login's `basic_auth`");
        }
        if let Some(b) = &raw.basic_auth {
            ok &= self.no_optional(&b.username, "`basic_auth`");
            ok &= self.no_optional(&b.password, "`basic_auth`");
        }
        let basic_auth = raw.basic_auth.as_ref().map(|b| BasicAuth {
            username: self
                .template(&b.username, context, Encoding::None)
                .unwrap_or_else(|| Template::literal("")),
            password: self
                .template(&b.password, context, Encoding::None)
                .unwrap_or_else(|| Template::literal("")),
        });
        let success_status =
            self.statuses(&Some(raw.success_status.clone()), &[], "`success_status`");
        ok &= success_status.len() == raw.success_status.len();
        ok &= failures.len() == raw.failures.len();
        path_template.filter(|_| ok).map(|path| Endpoint {
            method: match raw.method {
                RawMethod::GET => Method::Get,
                RawMethod::POST => Method::Post,
                RawMethod::PUT => Method::Put,
                RawMethod::PATCH => Method::Patch,
                RawMethod::DELETE => Method::Delete,
            },
            path,
            encoding,
            headers: headers.unwrap_or_default(),
            query: query.unwrap_or_default(),
            body: body.flatten(),
            basic_auth,
            success_status,
            failures,
        })
    }

    /// Parses an endpoint path as a template. Its placeholders are checked like any other, and
    /// besides: none after `?` (query values belong under `query:`, where they are encoded as
    /// such), and the login path names only credentials, since a path segment cannot be left
    /// out when there is no session.
    fn path_template(&mut self, value: &SpannedString, context: Context) -> Option<Template> {
        let Ok(parsed) = Template::parse(&value.value) else {
            // Reports the syntax error.
            return self.template(value, context, Encoding::None);
        };
        let offsets = placeholder_offsets(&value.value);
        let query_at = value
            .value
            .find('?')
            .map(|byte| value.value[..byte].chars().count());
        let mut ok = true;
        for (i, reference) in parsed.references().enumerate() {
            let offset = offsets.get(i).copied().unwrap_or(0);
            if query_at.is_some_and(|q| offset > q) {
                ok = false;
                self.error_inside(
                    value.referenced,
                    offset,
                    format!("`{reference}`: placeholder in the query part of the path"),
                    Some(format!(
                        "move the parameter under `query:` (`query: {{ name: \"{reference}\" }}`)"
                    )),
                );
            } else if let Reference::Credential(name) = reference
                && self.optional.contains(name)
            {
                ok = false;
                self.error_inside(
                    value.referenced,
                    offset,
                    format!("`{reference}` is optional and cannot be used in a path: a path segment cannot be left out"),
                    Some("send it in a header, query entry or body field, or make it required".into()),
                );
            } else if context == Context::Login
                && !matches!(
                    reference,
                    Reference::Credential(_) | Reference::Now(_) | Reference::Lifetime(_)
                )
            {
                ok = false;
                self.error_inside(
                    value.referenced,
                    offset,
                    format!(
                        "`{reference}` cannot be used in the login path: a path segment cannot be left out when there is no session"
                    ),
                    Some("the login path may use `${credentials.NAME}` and literals".into()),
                );
            }
        }
        if !ok {
            for reference in parsed.references() {
                if let Reference::Credential(name) = reference {
                    self.used_credentials.insert(name.clone());
                }
            }
            return None;
        }
        self.template(value, context, Encoding::None)
    }

    fn check_form_flat(&mut self, body: &Spanned<Node>) {
        match &body.value {
            Node::Map(map) => {
                for (key, value) in map {
                    if matches!(value.value, Node::Map(_) | Node::Seq(_)) {
                        self.error(
                            value.referenced,
                            format!("form field `{key}` is {}; a form body must be flat", value.value.kind()),
                            Some("form bodies are `key: value` pairs; use `encoding: json` for nested bodies".into()),
                        );
                    }
                }
            }
            other => self.error(
                body.referenced,
                format!(
                    "a form body must be a mapping of fields, not {}",
                    other.kind()
                ),
                Some("write the fields as `key: value` lines under `body:`".into()),
            ),
        }
    }

    fn body_value(
        &mut self,
        node: &Spanned<Node>,
        context: Context,
        encoding: Encoding,
    ) -> Option<BodyValue> {
        Some(match &node.value {
            Node::Null => BodyValue::Null,
            Node::Bool(b) => BodyValue::Bool(*b),
            Node::Number(n) => BodyValue::Number(n.clone()),
            Node::String(s) => {
                let spanned = Spanned::new(s.clone(), node.referenced, node.defined);
                BodyValue::Template(self.template(&spanned, context, encoding)?)
            }
            Node::Seq(items) => {
                let mut out = Vec::new();
                let mut ok = true;
                for item in items {
                    match self.body_value(item, context, encoding) {
                        Some(v) => out.push(v),
                        None => ok = false,
                    }
                }
                ok.then_some(BodyValue::Array(out))?
            }
            Node::Map(map) => {
                let mut out = IndexMap::new();
                let mut ok = true;
                for (key, value) in map {
                    match self.body_value(value, context, encoding) {
                        Some(v) => {
                            out.insert(key.clone(), v);
                        }
                        None => ok = false,
                    }
                }
                ok.then_some(BodyValue::Object(out))?
            }
        })
    }
}
