//! Checking a [`RawSpec`] and lowering it into the validated [`ProviderSpec`].
//!
//! Every check runs even after one fails, so a file's problems are reported all at once. Each
//! problem points at the value it is about.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use indexmap::IndexMap;
use serde_json::Value;
use serde_saphyr::{Location, Spanned};

use crate::diagnostic::Diagnostic;
use crate::duration::parse_duration;
use crate::extract::{Answer, Parsed};
use crate::judge::{BodyCondition, FailureRule};

mod claims;
mod failures;
mod lifetimes;
mod limits;
mod optional;
mod signed;
mod sources;
mod values;

use crate::model::*;
use crate::node::Node;
use crate::path::FieldPath;
use crate::raw::*;
use crate::suggest::{Suggestions, listing};
use crate::template::{Reference, Template};
use crate::timefmt::{TimeFormat, Zone, kind_of, number_of, pattern_has_offset};
use sources::part_locations;

/// Where some values of a spec were written, for checks across several files.
#[derive(Debug, Clone, Default)]
pub(crate) struct Locations {
    /// Location of each credential's environment variable (or of the credential key when the
    /// variable is derived).
    pub env_vars: IndexMap<String, (u64, u64)>,
}

/// A message and an optional hint.
type Problem = (String, Option<String>);

/// Which placeholders an endpoint may use.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Login,
    Refresh,
    Logout,
    Usage,
}

impl Context {
    fn name(self) -> &'static str {
        match self {
            Context::Login => "login",
            Context::Refresh => "refresh",
            Context::Logout => "logout",
            Context::Usage => "usage",
        }
    }
}

pub(crate) struct Lowerer<'a> {
    file: &'a str,
    name: String,
    diags: Vec<Diagnostic>,
    credentials: Vec<String>,
    /// The same names, for lookups in constant time (a file may declare thousands).
    credential_set: HashSet<String>,
    /// "Did you mean" hints, within one budget for the whole file.
    suggestions: Suggestions,
    /// Byte offset where each line of `source` starts, and whether the line is ASCII (then
    /// columns are byte offsets): positions inside scalars are found without rescanning.
    lines: Vec<(usize, bool)>,
    /// Success examples of every token answer, for `${response.PATH}` checks.
    response_examples: Vec<Example>,
    /// The `failures` of the endpoint whose response is being lowered.
    failures_in_scope: Vec<FailureRule>,
    has_refresh_token: bool,
    /// Set when an access-token expiry source was rejected (so no follow-on errors).
    expiry_rejected: bool,
    /// Credentials some template names.
    used_credentials: HashSet<String>,
    /// The file's text, to point inside quoted scalars.
    source: &'a str,
    /// The access token of every success example of the login and refresh answers (with the
    /// example's description), for `${session.access_token.claims.NAME}` checks.
    example_tokens: Vec<(Option<String>, String)>,
    /// The named values the login's answer declares (`${session.NAME}`), in file order.
    declared_values: Vec<String>,
    /// Each named value in the success examples, for `${session.NAME.claims.CLAIM}` checks.
    example_values: HashMap<String, Vec<(Option<String>, String)>>,
    /// Credentials that may be absent (`required: false`, or in some credential sets only).
    optional: HashSet<String>,
    /// Requested lifetimes: declared, sent, read back.
    lifetimes: lifetimes::Lifetimes,
    /// The endpoint whose response is being lowered (`login`, `refresh`).
    response_of: String,
}

/// The distinct `${response.PATH}` paths of these templates, in first-use order.
fn response_paths<'a>(templates: impl Iterator<Item = &'a Template>) -> Vec<FieldPath> {
    let mut seen = HashSet::new();
    let mut out: Vec<FieldPath> = Vec::new();
    for template in templates {
        for reference in template.references() {
            if let Reference::Response(path) = reference
                && seen.insert(path)
            {
                out.push(path.clone());
            }
        }
    }
    out
}

/// The distinct `${response.@header:NAME}` names of these templates, lower-cased.
fn kept_headers<'a>(templates: impl Iterator<Item = &'a Template>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for template in templates {
        for reference in template.references() {
            if let Reference::ResponseHeader(name) = reference {
                let name = name.to_ascii_lowercase();
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
    }
    out
}

/// Where each line of `source` starts (byte offset) and whether it is ASCII; one pass.
fn line_index(source: &str) -> Vec<(usize, bool)> {
    let mut out = Vec::new();
    let mut start = 0;
    for line in source.split_inclusive('\n') {
        out.push((start, line.is_ascii()));
        start += line.len();
    }
    out
}

/// The examples that show a success: a 2xx answer that no `failures` rule of the endpoint
/// matches (a vendor's failure envelope can be kept as an example too).
fn success_examples(examples: &[Example], failures: &[FailureRule]) -> Vec<Example> {
    examples
        .iter()
        .filter(|e| (200..300).contains(&e.status))
        .filter(|e| crate::judge::judge(failures, &Answer::from_example(e)).is_none())
        .cloned()
        .collect()
}

const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe",
    "use", "where", "while", "abstract", "become", "box", "do", "final", "macro", "override",
    "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Whether `s` is a lower-case Rust identifier usable as a module, field or variant name.
pub(crate) fn is_snake_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && !RUST_KEYWORDS.contains(&s)
}

fn is_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl<'a> Lowerer<'a> {
    pub(crate) fn new(file: &'a str, name: &str, source: &'a str) -> Self {
        Self {
            file,
            name: name.to_owned(),
            diags: Vec::new(),
            credentials: Vec::new(),
            response_examples: Vec::new(),
            failures_in_scope: Vec::new(),
            has_refresh_token: false,
            expiry_rejected: false,
            used_credentials: HashSet::new(),
            credential_set: HashSet::new(),
            suggestions: Suggestions::new(),
            lines: line_index(source),
            source,
            example_tokens: Vec::new(),
            declared_values: Vec::new(),
            example_values: HashMap::new(),
            optional: HashSet::new(),
            lifetimes: lifetimes::Lifetimes::default(),
            response_of: String::new(),
        }
    }

    /// The text of 1-based line `line` (line 0 reads as line 1), without its line break, and
    /// whether it is ASCII.
    fn line_text(&self, line: u64) -> (&'a str, bool) {
        let index = usize::try_from(line).unwrap_or(0).saturating_sub(1);
        let Some(&(start, ascii)) = self.lines.get(index) else {
            return ("", true);
        };
        let end = self
            .lines
            .get(index + 1)
            .map_or(self.source.len(), |(next, _)| *next);
        let text = self.source.get(start..end).unwrap_or("");
        (text.trim_end_matches(['\n', '\r']), ascii)
    }

    /// Reports at `offset` characters into the scalar at `at`, when the scalar sits on one line
    /// (quoted or plain); otherwise at its start.
    fn error_inside(
        &mut self,
        at: Location,
        offset: usize,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        let (line, ascii) = self.line_text(at.line());
        let start = usize::try_from(at.column()).unwrap_or(1).saturating_sub(1);
        // Columns count characters; on an ASCII line they are byte offsets (no scan).
        let (first, length) = if ascii {
            (
                line.as_bytes().get(start).map(|b| char::from(*b)),
                line.len(),
            )
        } else {
            (line.chars().nth(start), line.chars().count())
        };
        let quote = first.is_some_and(|c| c == '"' || c == '\'');
        let column = at.column() + offset as u64 + u64::from(quote);
        let fits = length as u64 >= column;
        self.diags.push(Diagnostic {
            file: self.file.to_owned(),
            line: at.line(),
            column: if fits { column } else { at.column() },
            message: message.into(),
            hint,
        });
    }

    fn error(&mut self, at: Location, message: impl Into<String>, hint: Option<String>) {
        self.diags.push(Diagnostic {
            file: self.file.to_owned(),
            line: at.line(),
            column: at.column(),
            message: message.into(),
            hint,
        });
    }

    fn nonzero_duration(&mut self, value: &SpannedString, what: &str) -> Option<Duration> {
        let d = self.duration(value)?;
        if d.is_zero() {
            let hint = if what == "a margin" {
                "a zero margin never refreshes ahead: use `refresh: after_expiry`, or a margin such as `60s`"
            } else {
                "a token that expires at once cannot be used; declare the real lifetime, or `[]` if unknown"
            };
            self.error(
                value.referenced,
                format!("{what} of zero"),
                Some(hint.into()),
            );
            return None;
        }
        Some(d)
    }

    fn duration(&mut self, value: &SpannedString) -> Option<Duration> {
        match parse_duration(&value.value) {
            Ok(d) => Some(d),
            Err(message) => {
                self.error(
                    value.referenced,
                    message,
                    Some("durations look like `1800s`, `30m`, `14d` or `500ms`".into()),
                );
                None
            }
        }
    }

    /// Checks a URL: https, or http only for loopback hosts (local simulators and tests).
    fn url(&mut self, value: &SpannedString, what: &str, origin_only: bool) -> Option<String> {
        let parsed = match url::Url::parse(&value.value) {
            Ok(u) => u,
            Err(e) => {
                let reason = match e {
                    url::ParseError::RelativeUrlWithoutBase => {
                        "it has no scheme and host".to_owned()
                    }
                    other => other.to_string(),
                };
                self.error(
                    value.referenced,
                    format!("{what} `{}` is not a full URL: {reason}", value.value),
                    Some(if origin_only {
                        "write scheme and host, e.g. `https://api.example.com`".into()
                    } else {
                        "write a full link, e.g. `https://docs.example.com/authentication`".into()
                    }),
                );
                return None;
            }
        };
        if !parsed.username().is_empty() || parsed.password().is_some() {
            self.error(
                value.referenced,
                format!("{what} contains a user name or password"),
                Some("credentials never go into URLs; declare them under `credentials:` and send them with templates".into()),
            );
            return None;
        }
        let loopback = match parsed.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        match parsed.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                self.error(
                    value.referenced,
                    format!("{what} `{}` uses http://: tokens and credentials would travel unencrypted", value.value),
                    Some("use https:// (plain http is allowed only for loopback hosts such as 127.0.0.1)".into()),
                );
                return None;
            }
            other => {
                self.error(
                    value.referenced,
                    format!("{what} `{}` has scheme `{other}`", value.value),
                    Some("use https://".into()),
                );
                return None;
            }
        }
        if origin_only
            && (parsed.path() != "/" || parsed.query().is_some() || parsed.fragment().is_some())
        {
            self.error(
                value.referenced,
                format!("{what} `{}` is not an origin (scheme, host, port)", value.value),
                Some("put paths on the endpoints (`path: /v3/auth/login`) and keep the base URL to `https://host[:port]`".into()),
            );
            return None;
        }
        Some(value.value.trim_end_matches('/').to_owned())
    }

    pub(crate) fn lower(
        mut self,
        raw: RawSpec,
    ) -> Result<(ProviderSpec, Locations), Vec<Diagnostic>> {
        if !is_snake_identifier(&self.name) {
            self.diags.push(Diagnostic {
                file: self.file.to_owned(),
                line: 1,
                column: 1,
                message: format!(
                    "the provider name `{}` (the file name) is not a valid Rust module name",
                    self.name
                ),
                hint: Some(
                    "rename the file to lower case letters, digits and `_`, starting with a letter, not a Rust keyword (e.g. `my_vendor.yaml`)".into(),
                ),
            });
        }
        if raw.title.value.trim().is_empty() {
            self.error(
                raw.title.referenced,
                "the title is empty",
                Some("name the vendor, e.g. `title: Intergiro`".into()),
            );
        }
        let documentation = raw
            .documentation
            .as_ref()
            .and_then(|d| self.url(d, "the documentation link", false));

        // Environments.
        let mut environments = Vec::new();
        for (name, env) in &raw.environments {
            if !is_snake_identifier(&name.value) {
                self.error(
                    name.referenced,
                    format!(
                        "environment name `{}` is not a lower-case identifier",
                        name.value
                    ),
                    Some(
                        "use lower case letters, digits and `_`, e.g. `production`, `sandbox`"
                            .into(),
                    ),
                );
            }
            let base_url = env
                .base_url
                .as_ref()
                .and_then(|u| self.url(u, "the base URL", true));
            environments.push(Environment {
                name: name.value.clone(),
                base_url,
                description: env.description.clone(),
            });
        }
        let env_names: Vec<String> = environments.iter().map(|e| e.name.clone()).collect();
        if env_names.is_empty() {
            self.error(
                raw.default_environment.referenced,
                "no environments are declared",
                Some("declare at least one, e.g. `environments: { production: { base_url: https://api.example.com } }`".into()),
            );
        } else if !env_names.contains(&raw.default_environment.value) {
            let hint = self
                .suggestions
                .did_you_mean(&raw.default_environment.value, &env_names)
                .unwrap_or_else(|| format!("declared environments: {}", listing(&env_names)));
            self.error(
                raw.default_environment.referenced,
                format!(
                    "the default environment `{}` is not declared",
                    raw.default_environment.value
                ),
                Some(hint),
            );
        }

        // Credentials.
        let mut locations = Locations::default();
        let mut credentials = Vec::new();
        // Which credential first used each variable, for the message about a second one.
        let mut env_owner: HashMap<String, String> = HashMap::new();
        // Computed credentials, lowered once every credential is known.
        let mut signed_raw = Vec::new();
        for (name, cred) in &raw.credentials {
            if !is_snake_identifier(&name.value) {
                self.error(
                    name.referenced,
                    format!(
                        "credential name `{}` is not a lower-case identifier",
                        name.value
                    ),
                    Some("use lower case letters, digits and `_`, e.g. `api_key`".into()),
                );
            }
            if let Some(signed) = &cred.signed_jwt {
                if let Some(env) = &cred.env {
                    self.error(
                        env.referenced,
                        format!(
                            "credential `{}` is computed (`signed_jwt`) and also has `env`",
                            name.value
                        ),
                        Some(
                            "a computed credential is not read from the environment: remove `env`"
                                .into(),
                        ),
                    );
                }
                signed_raw.push((name, cred, signed));
                continue;
            }
            let (env, at) = match &cred.env {
                Some(env) => {
                    let valid = env
                        .value
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
                        && env
                            .value
                            .chars()
                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                    if !valid {
                        self.error(
                            env.referenced,
                            format!("environment variable `{}` is not upper-case letters, digits and `_`", env.value),
                            Some(format!("the conventional name is `{}`", default_env_var(&self.name, &name.value))),
                        );
                    }
                    (env.value.clone(), env.referenced)
                }
                None => (default_env_var(&self.name, &name.value), name.referenced),
            };
            if let Some((line, column)) = locations.env_vars.get(&env) {
                let other = env_owner.get(&env).cloned().unwrap_or_default();
                self.error(
                    at,
                    format!("environment variable `{env}` is already used by credential `{other}` (line {line}, column {column})"),
                    Some(format!("each credential needs its own variable, e.g. `{}`", default_env_var(&self.name, &name.value))),
                );
            } else {
                locations
                    .env_vars
                    .insert(env.clone(), (at.line(), at.column()));
                env_owner.insert(env.clone(), name.value.clone());
            }
            credentials.push(Credential {
                name: name.value.clone(),
                secret: cred.secret.unwrap_or(true),
                env,
                description: cred.description.clone(),
                example: cred.example.clone(),
                required: cred.required.unwrap_or(true),
            });
        }
        self.credentials = raw.credentials.keys().map(|k| k.value.clone()).collect();
        self.credential_set = self.credentials.iter().cloned().collect();
        let credential_sets = self.credential_sets(&raw.credential_sets, &credentials);
        let mut computed = Vec::new();
        for (name, cred, signed) in signed_raw {
            if let Some(signed_jwt) = self.signed_jwt(&signed.value, &credentials) {
                computed.push(ComputedCredential {
                    name: name.value.clone(),
                    description: cred.description.clone(),
                    signed_jwt,
                });
            }
        }

        self.lifetimes(&raw.lifetimes);
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

        let refresh = raw.refresh.as_ref().and_then(|spanned| {
            let endpoint = &spanned.value;
            if !self.has_refresh_token && login_response.is_some() {
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
                if let (Some(RawRotation::Rotates), None) =
                    (raw.policy.rotation.as_ref().map(|r| r.value), &r.refresh_token)
                {
                    self.error(
                        spanned.referenced,
                        "`rotation: rotates` but the refresh response maps no `refresh_token`: a rotating refresh token must come back with every refresh",
                        Some("add `refresh_token: $.refresh_token` to `refresh.response`, or declare `rotation: reusable`".into()),
                    );
                }
            }
            let request = self.endpoint(endpoint, Context::Refresh, refresh_failures);
            Some(TokenEndpoint { request: request?, response: response? })
        });

        let logout = raw.logout.as_ref().and_then(|spanned| {
            if let Some(r) = &spanned.value.response {
                self.error(
                    r.referenced,
                    "`logout` takes no `response`: only login and refresh answer with tokens",
                    Some("remove `response` from `logout`".into()),
                );
            }
            let failures = self.failures(&spanned.value, Context::Logout);
            self.endpoint(&spanned.value, Context::Logout, failures)
        });

        let keep_alive = raw.keep_alive.as_ref().and_then(|spanned| {
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
        });
        let policy = self.policy(&raw);
        let usage = self.usage(&raw.usage);
        self.check_lifetimes_sent();
        // Only on an otherwise clean file: a broken template would make its credential look unused.
        let clean = self.diags.is_empty();
        for key in raw.credentials.keys().filter(|_| clean) {
            if !self.used_credentials.contains(&key.value) {
                self.error(
                    key.referenced,
                    format!(
                        "credential `{}` is declared but no request uses it",
                        key.value
                    ),
                    Some(format!(
                        "send it with `${{credentials.{}}}` (e.g. in the login body), or remove it",
                        key.value
                    )),
                );
            }
        }

        // A rejected expiry source was reported already; do not add a misleading "no expiry".
        if let (Some(policy), Some(login), false) = (&policy, &login_response, self.expiry_rejected)
        {
            let expiry_known = !login.access_token_expiry.is_empty();
            match policy.refresh {
                RefreshTiming::AfterExpiry
                    if !expiry_known && usage.as_ref().is_some_and(|u| u.expired.is_none()) =>
                {
                    self.error(
                        raw.policy.refresh.referenced,
                        "`after_expiry` needs a way to learn that the token expired, but the login response declares no `access_token_expiry` and `usage` no `expired` signal",
                        Some("add an expiry source (`jwt_exp`, `expires_in`, `lifetime`, ...) or `usage.expired: { status: [401] }`".into()),
                    );
                }
                RefreshTiming::AheadOfExpiry | RefreshTiming::BeforeExpiry if !expiry_known => {
                    self.error(
                        raw.policy.refresh.referenced,
                        "refreshing ahead of expiry needs to know the expiry, but the login response declares no `access_token_expiry`",
                        Some("add an expiry source, or use `refresh: after_expiry` with an `expired` signal".into()),
                    );
                }
                _ => {}
            }
            // A time in an unknown zone may turn out not to tell (see `Expiry::AtEarliest`).
            let unknown_zone = |e: &ExpirySource| matches!(e, ExpirySource::ExpiresAt { format: TimeFormat::Pattern { zone, .. }, .. } if zone.is_unknown());
            if expiry_known
                && login.access_token_expiry.iter().all(unknown_zone)
                && usage.as_ref().is_some_and(|u| u.expired.is_none())
            {
                self.error(
                    raw.policy.refresh.referenced,
                    "the only access-token expiry is a time in an unknown zone, which may not tell when the token ends, and `usage` declares no `expired` signal",
                    Some("add `usage.expired` (e.g. `{ status: [401] }`) or another expiry source".into()),
                );
            }
        }

        if !self.diags.is_empty() {
            return Err(self.diags);
        }
        // `${response.PATH}` reads the last token answer, a login's or a refresh's: both are
        // checked for the values some request sends in a header.
        let mut login_response = login_response;
        let mut refresh = refresh;
        let header_templates = usage
            .iter()
            .flat_map(|u| &u.headers)
            .chain(refresh.iter().flat_map(|r| &r.request.headers))
            .chain(logout.iter().flat_map(|l| &l.headers))
            .chain(login_request.iter().flat_map(|l| &l.headers))
            .map(|(_, t)| t);
        let header_values = response_paths(header_templates);
        if let Some(r) = &mut login_response {
            r.header_values.clone_from(&header_values);
        }
        if let Some(r) = &mut refresh {
            r.response.header_values = header_values;
        }
        // `${response.@header:NAME}` reads the last token answer's headers: those named are kept.
        let kept_headers = kept_headers(
            login_request
                .iter()
                .flat_map(Endpoint::templates)
                .chain(refresh.iter().flat_map(|r| r.request.templates()))
                .chain(logout.iter().flat_map(Endpoint::templates))
                .chain(
                    usage
                        .iter()
                        .flat_map(|u| u.headers.iter().chain(&u.query))
                        .map(|(_, t)| t),
                ),
        );
        if let Some(r) = &mut login_response {
            r.kept_headers.clone_from(&kept_headers);
        }
        if let Some(r) = &mut refresh {
            r.response.kept_headers = kept_headers;
        }
        match (login_response, login_request, policy, usage) {
            (Some(response), Some(request), Some(policy), Some(usage)) => Ok((
                ProviderSpec {
                    name: self.name,
                    title: raw.title.value,
                    description: raw.description.map(|d| d.value),
                    documentation,
                    environments,
                    default_environment: raw.default_environment.value,
                    credentials,
                    login: TokenEndpoint { request, response },
                    refresh,
                    logout,
                    policy,
                    usage,
                    computed,
                    credential_sets,
                    keep_alive,
                },
                locations,
            )),
            // Every `None` above was reported; this arm is only reached with diagnostics.
            _ => Err(self.diags),
        }
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

    /// Reports each placeholder of `value` other than a credential (`where_` names the place).
    fn credentials_only(&mut self, value: &SpannedString, where_: &str) -> bool {
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

    fn template_map(
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
    fn template(
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

    fn check_reference(
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

    fn one_source(&mut self, text: &str, at: Location) -> Option<ValueSource> {
        let text = text.trim();
        if let Some(name) = text.strip_prefix("@header:") {
            let name = name.trim();
            if is_header_name(name) {
                return Some(ValueSource::Header(name.to_owned()));
            }
            self.error(
                at,
                format!("`{name}` is not a valid header name"),
                Some("write `@header:NAME` with a header name such as `X-Subject-Token`".into()),
            );
            return None;
        }
        if text == "@body" {
            return Some(ValueSource::WholeBody);
        }
        if text.starts_with('@') {
            self.error(
                at,
                format!("unknown value source `{text}`"),
                Some(
                    "a source is a JSON path (`$.access_token`), `@header:NAME` or `@body`".into(),
                ),
            );
            return None;
        }
        match FieldPath::parse(text) {
            Ok(path) => Some(ValueSource::Body(path)),
            Err(e) => {
                self.error(
                    at,
                    format!("`{text}` is not a valid path: {}", e.message),
                    Some("paths look like `$.access_token`, `$.access_token.token`, `access_token.token` or `$.sessions[0].token`".into()),
                );
                None
            }
        }
    }

    /// Checks that `source` yields a value of the right kind in the examples. With `every`, it must
    /// be present in every example; otherwise in at least one.
    #[allow(clippy::too_many_arguments)]
    fn check_in_examples(
        &mut self,
        at: Location,
        parts: &[Location],
        source: &ValueSource,
        examples: &[Example],
        what: &str,
        every: bool,
        kind_ok: &dyn Fn(&Value) -> Result<(), Problem>,
    ) {
        // For alternatives, the hint is about the first (the current revision of the answer).
        let first = source.alternatives().first().unwrap_or(source);
        let miss_hint = |example: &Example| match first {
            ValueSource::Body(path) => path_hint(path, &example.body, &self.suggestions),
            ValueSource::Header(_) => Some("add the header to the example's `headers`".into()),
            ValueSource::WholeBody => Some("the example's body is empty".into()),
            ValueSource::FirstOf(_) => None,
        };
        let mut found_any = false;
        for (i, example) in examples.iter().enumerate() {
            let answer = Answer::from_example(example);
            let parsed = Parsed::new(&answer);
            let value = match parsed.resolve(source) {
                Ok(v) => v,
                Err(e) => {
                    self.error(
                        at,
                        format!("{what} `{source}`: {e} (example {})", i + 1),
                        Some(
                            "for a plain-text answer use `@body`; for a header `@header:NAME`"
                                .into(),
                        ),
                    );
                    return;
                }
            };
            match value {
                Some((leaf, v)) => {
                    found_any = true;
                    if let Err((problem, hint)) = kind_ok(&v) {
                        // Reported at the alternative that resolved.
                        let index = source.alternatives().iter().position(|s| s == leaf);
                        let at = index.and_then(|i| parts.get(i).copied()).unwrap_or(at);
                        self.error(
                            at,
                            format!("{what} `{leaf}` in example {}: {problem}", i + 1),
                            hint,
                        );
                        return;
                    }
                }
                None if every => {
                    self.error(
                        at,
                        format!(
                            "{what} `{source}` does not resolve in example {} of the response",
                            i + 1
                        ),
                        miss_hint(example),
                    );
                    return;
                }
                None => {}
            }
        }
        if !found_any && let Some(first) = examples.first() {
            self.error(
                at,
                format!("{what} `{source}` does not resolve in any example of the response"),
                miss_hint(first),
            );
        }
    }

    fn token_response(
        &mut self,
        spanned: &Spanned<RawTokenResponse>,
        endpoint: &str,
    ) -> TokenResponse {
        let raw = &spanned.value;
        endpoint.clone_into(&mut self.response_of);
        let examples: Vec<Example> = raw
            .examples
            .value
            .iter()
            .map(|example| Example {
                description: example.description.clone(),
                status: example.status.unwrap_or(200),
                headers: example
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                body: example.body.value.clone(),
            })
            .collect();
        let success = success_examples(&examples, &self.failures_in_scope);
        if success.is_empty() {
            self.error(
                raw.examples.referenced,
                if examples.is_empty() {
                    format!("the {endpoint} response has no `examples`")
                } else {
                    format!("the {endpoint} response has no success example (status 2xx, matched by no `failures` rule)")
                },
                Some("copy the vendor's example answer from its document, so every path can be checked against it".into()),
            );
        }
        let access_token = self.source(&raw.access_token);
        if let Some(source) = &access_token {
            for example in &success {
                let answer = Answer::from_example(example);
                if let Ok(Some(Value::String(token))) = Parsed::new(&answer).read(source) {
                    self.example_tokens
                        .push((example.description.clone(), token));
                }
            }
            let kind = token_kind(source);
            self.check_in_examples(
                raw.access_token.referenced,
                &part_locations(&raw.access_token),
                source,
                &success,
                "access token",
                true,
                &kind,
            );
        }
        let refresh_token = raw.refresh_token.as_ref().and_then(|r| {
            let source = self.source(r)?;
            self.check_in_examples(
                r.referenced,
                &part_locations(r),
                &source,
                &success,
                "refresh token",
                true,
                &token_kind(&source),
            );
            Some(source)
        });
        let before = self.diags.len();
        let access_token_expiry = self.expiry_sources(&raw.access_token_expiry, &success, false);
        self.expiry_rejected |= self.diags.len() > before;
        let refresh_token_expiry = match (&raw.refresh_token, &raw.refresh_token_expiry) {
            (Some(_), Some(sources)) => self.expiry_sources(&sources.value, &success, true),
            (Some(r), None) => {
                self.error(
                    r.referenced,
                    "a refresh token is mapped but `refresh_token_expiry` is not declared",
                    Some("declare how long the refresh token lasts, or `refresh_token_expiry: []` if the vendor's document does not say".into()),
                );
                Vec::new()
            }
            (None, Some(sources)) => {
                self.error(
                    sources.referenced,
                    "`refresh_token_expiry` is declared but no `refresh_token` is mapped",
                    Some("map the refresh token (`refresh_token: $.refresh_token`), or remove `refresh_token_expiry`".into()),
                );
                Vec::new()
            }
            (None, None) => Vec::new(),
        };
        let values = self.session_values(&raw.values, &success, endpoint);
        TokenResponse {
            access_token: access_token.unwrap_or(ValueSource::WholeBody),
            refresh_token,
            access_token_expiry,
            refresh_token_expiry,
            // Filled in once the requests that use the answer are lowered.
            header_values: Vec::new(),
            examples,
            values,
            // Filled in once every request is lowered.
            kept_headers: Vec::new(),
        }
    }

    fn expiry_sources(
        &mut self,
        raw: &[RawExpirySource],
        examples: &[Example],
        refresh: bool,
    ) -> Vec<ExpirySource> {
        let mut out = Vec::new();
        for source in raw {
            let lowered = match source {
                RawExpirySource::ExpiresIn(e) => {
                    let Some(value_source) = self.source(&e.path) else {
                        continue;
                    };
                    let unit = if e.unit == Some(RawUnit::Milliseconds) {
                        "milliseconds"
                    } else {
                        "seconds"
                    };
                    let number_kind = |v: &Value| {
                        match number_of(v) {
                        Some(n) if n >= 0.0 => Ok(()),
                        Some(n) => Err((format!("{n} is negative"), Some("a lifetime cannot be negative; check the path".into()))),
                        None => Err((
                            format!("is {}, expected a number of {unit}", kind_of(v)),
                            v.is_string().then(|| "if the value is a point in time, use `expires_at` with its `format`".to_owned()),
                        )),
                    }
                    };
                    self.check_in_examples(
                        e.path.referenced,
                        &part_locations(&e.path),
                        &value_source,
                        examples,
                        "expires_in",
                        false,
                        &number_kind,
                    );
                    ExpirySource::ExpiresIn {
                        source: value_source,
                        unit: match e.unit {
                            Some(RawUnit::Milliseconds) => Unit::Milliseconds,
                            _ => Unit::Seconds,
                        },
                        zero_means_none: e.zero_means_none,
                    }
                }
                RawExpirySource::ExpiresAt(e) => {
                    let Some(value_source) = self.source(&e.path) else {
                        continue;
                    };
                    let Some(format) = self.time_format(e) else {
                        continue;
                    };
                    let fmt = format.clone();
                    let check = move |v: &Value| {
                        fmt.parse_value(v).map_err(|e| (e, None))?;
                        // Live answers clamp far-future times (a vendor's "never"); in the
                        // vendor's example, a time after the year 5138 is a unit mistake.
                        let number = number_of(v).unwrap_or_default();
                        let seconds = match fmt {
                            TimeFormat::EpochSeconds => number,
                            TimeFormat::EpochMilliseconds => number / 1000.0,
                            _ => return Ok(()),
                        };
                        if seconds <= 1e11 {
                            return Ok(());
                        }
                        let hint = (fmt == TimeFormat::EpochSeconds).then(|| {
                            "it looks like milliseconds (a Java timestamp): use `format: epoch_milliseconds`".to_owned()
                        });
                        Err((format!("{number} is not a plausible epoch time"), hint))
                    };
                    self.check_in_examples(
                        e.path.referenced,
                        &part_locations(&e.path),
                        &value_source,
                        examples,
                        "expires_at",
                        false,
                        &check,
                    );
                    ExpirySource::ExpiresAt {
                        source: value_source,
                        format,
                    }
                }
                RawExpirySource::JwtExp => ExpirySource::JwtExp,
                RawExpirySource::Lifetime(d) => match self.nonzero_duration(d, "a lifetime") {
                    Some(d) => ExpirySource::Lifetime(d),
                    None => continue,
                },
                RawExpirySource::Requested(name) => {
                    let endpoint = self.response_of.clone();
                    match self.requested(name, &endpoint) {
                        Some(source) => source,
                        None => continue,
                    }
                }
                RawExpirySource::SinceLogin(d) => {
                    if !refresh {
                        self.error(
                            d.referenced,
                            "`since_login` only applies to `refresh_token_expiry`",
                            Some("for the access token use `lifetime`, counted from each token answer".into()),
                        );
                        continue;
                    }
                    match self.nonzero_duration(d, "a session lifetime") {
                        Some(d) => ExpirySource::SinceLogin(d),
                        None => continue,
                    }
                }
            };
            out.push(lowered);
        }
        out
    }

    /// The statuses of a list (or `default` when absent); each invalid one is reported.
    fn statuses(
        &mut self,
        list: &Option<Vec<Spanned<u16>>>,
        default: &[u16],
        what: &str,
    ) -> Vec<u16> {
        let Some(list) = list else {
            return default.to_vec();
        };
        let mut out = Vec::new();
        for s in list {
            if (100..=599).contains(&s.value) {
                out.push(s.value);
            } else {
                self.error(
                    s.referenced,
                    format!("{what} holds {}, which is not an HTTP status", s.value),
                    Some("HTTP statuses are between 100 and 599".into()),
                );
            }
        }
        out
    }

    fn policy(&mut self, raw: &RawSpec) -> Option<Policy> {
        let p = &raw.policy;
        let at = p.refresh.referenced;
        let before = self.diags.len();
        let refresh = match p.refresh.value {
            RawRefreshTiming::AfterExpiry => RefreshTiming::AfterExpiry,
            RawRefreshTiming::AheadOfExpiry => RefreshTiming::AheadOfExpiry,
            RawRefreshTiming::BeforeExpiry => RefreshTiming::BeforeExpiry,
        };
        let margin = match (refresh, &p.margin) {
            (RefreshTiming::AfterExpiry, Some(m)) => {
                self.error(
                    m.referenced,
                    "`margin` has no meaning with `refresh: after_expiry`",
                    Some("remove it, or refresh `ahead_of_expiry`".into()),
                );
                Duration::ZERO
            }
            (RefreshTiming::AfterExpiry, None) => Duration::ZERO,
            (_, Some(m)) => self.nonzero_duration(m, "a margin").unwrap_or_default(),
            (_, None) => {
                self.error(
                    at,
                    "refreshing ahead of expiry needs a `margin`",
                    Some("e.g. `margin: 60s`".into()),
                );
                Duration::ZERO
            }
        };
        let max_margin_fraction = match &p.max_margin_fraction {
            Some(f) if !(f.value > 0.0 && f.value <= 1.0) => {
                self.error(
                    f.referenced,
                    format!(
                        "`max_margin_fraction` is {}; it must be above 0 and at most 1",
                        f.value
                    ),
                    Some(
                        "e.g. 0.5: never refresh earlier than half-way through the token's life"
                            .into(),
                    ),
                );
                0.5
            }
            Some(f) => f.value,
            None => 0.5,
        };
        let rotation = match (&raw.refresh, p.rotation.as_ref()) {
            (Some(_), Some(r)) if r.value == RawRotation::Rotates => Rotation::Rotates,
            (Some(_), Some(_)) => Rotation::Reusable,
            (Some(_), None) => {
                self.error(at, "the spec has a refresh endpoint but the policy does not say whether refresh tokens rotate", Some("add `rotation: rotates` (each refresh issues a new refresh token) or `rotation: reusable`".into()));
                Rotation::Reusable
            }
            (None, Some(r)) => {
                self.error(
                    r.referenced,
                    "`rotation` is declared but the spec has no refresh endpoint",
                    Some("remove `rotation`, or add a `refresh` endpoint".into()),
                );
                Rotation::Reusable
            }
            (None, None) => Rotation::Reusable,
        };
        let session_over_status = self.statuses(
            &p.session_over_status,
            &[400, 401, 403],
            "`session_over_status`",
        );
        let credentials_rejected_status = self.statuses(
            &p.credentials_rejected_status,
            &[400, 401, 403],
            "`credentials_rejected_status`",
        );
        let retry = {
            let r = p.retry.as_ref();
            let max_attempts = match r.and_then(|r| r.max_attempts.as_ref()) {
                Some(n) if n.value == 0 || n.value > 10 => {
                    self.error(
                        n.referenced,
                        format!("`max_attempts` is {}; it must be between 1 and 10", n.value),
                        Some("attempts include the first one; 3 is typical".into()),
                    );
                    3
                }
                Some(n) => n.value,
                None => 3,
            };
            let initial_backoff = r
                .and_then(|r| r.initial_backoff.as_ref())
                .and_then(|d| self.duration(d))
                .unwrap_or(Duration::from_millis(200));
            let max_backoff = r
                .and_then(|r| r.max_backoff.as_ref())
                .and_then(|d| self.duration(d))
                .unwrap_or(Duration::from_secs(10));
            if let Some(d) = r
                .and_then(|r| r.max_backoff.as_ref())
                .filter(|_| max_backoff < initial_backoff)
            {
                self.error(
                    d.referenced,
                    "`max_backoff` is shorter than `initial_backoff`",
                    Some("the backoff doubles from `initial_backoff` up to `max_backoff`; make `max_backoff` the larger".into()),
                );
            }
            Retry {
                max_attempts,
                initial_backoff,
                max_backoff,
            }
        };
        let min_login_interval = p.min_login_interval.as_ref().and_then(|d| self.duration(d));
        let max_answer_bytes = match &p.max_answer_size {
            Some(size) => self.answer_size(size),
            None => Policy::DEFAULT_MAX_ANSWER_BYTES,
        };
        let login_limit = p.login_limit.as_ref().and_then(|l| self.login_limit(l));
        let server_time = p.server_time.as_ref().and_then(|t| self.server_time(t));
        let idle_timeout = p
            .idle_timeout
            .as_ref()
            .and_then(|d| self.nonzero_duration(d, "an idle timeout"));
        (self.diags.len() == before).then_some(Policy {
            refresh,
            margin,
            max_margin_fraction,
            rotation,
            session_over_status,
            credentials_rejected_status,
            retry,
            min_login_interval,
            max_answer_bytes,
            login_limit,
            server_time,
            idle_timeout,
        })
    }

    /// The time format of an `expires_at` (or `server_time`): its `format`, `pattern` and
    /// `timezone`; `None` after an error.
    fn time_format(&mut self, e: &RawExpiresAt) -> Option<TimeFormat> {
        let format = match (e.format, &e.pattern, &e.timezone) {
            (RawTimeFormat::Pattern, Some(pattern), zone) => {
                if jiff::fmt::strtime::format(
                    &pattern.value,
                    &jiff::Timestamp::UNIX_EPOCH.to_zoned(jiff::tz::TimeZone::UTC),
                )
                .is_err()
                {
                    self.error(
                        pattern.referenced,
                        format!("`{}` is not a valid strftime pattern", pattern.value),
                        Some("patterns use strftime directives, e.g. `%Y-%m-%d %H:%M:%S`".into()),
                    );
                    return None;
                }
                let zone = match zone {
                    Some(z) if z.value == Zone::UNKNOWN => Zone::unknown(),
                    Some(z) => match Zone::parse(&z.value) {
                        Ok(zone) => zone,
                        Err(message) => {
                            self.error(z.referenced, message, Some("abbreviations such as CEST are ambiguous; write `+02:00` or `Europe/Berlin`".into()));
                            return None;
                        }
                    },
                    // The text carries its own offset: no zone is needed.
                    None if pattern_has_offset(&pattern.value) => Zone::utc(),
                    None => {
                        self.error(
                            pattern.referenced,
                            format!("`{}` reads no offset, and no `timezone` says which zone the time is in", pattern.value),
                            Some("declare the zone the document gives (`timezone: UTC`, `+02:00`, `Europe/Warsaw`), or `timezone: unknown` when it does not say".into()),
                        );
                        return None;
                    }
                };
                TimeFormat::Pattern {
                    pattern: pattern.value.clone(),
                    zone,
                }
            }
            (RawTimeFormat::Pattern, None, _) => {
                self.error(
                    e.path.referenced,
                    "this `expires_at` has `format: pattern` but no `pattern`",
                    Some("e.g. `pattern: \"%Y-%m-%d %H:%M:%S\"`".into()),
                );
                return None;
            }
            (other, pattern, zone) => {
                if let Some(p) = pattern {
                    self.error(
                        p.referenced,
                        "`pattern` is only used with `format: pattern`",
                        Some("set `format: pattern`, or remove `pattern`".into()),
                    );
                }
                if let Some(z) = zone {
                    self.error(z.referenced, "`timezone` is only used with `format: pattern` (the other formats carry their own offset)", Some("remove `timezone`, or read the time with `format: pattern`".into()));
                }
                match other {
                    RawTimeFormat::EpochSeconds => TimeFormat::EpochSeconds,
                    RawTimeFormat::EpochMilliseconds => TimeFormat::EpochMilliseconds,
                    RawTimeFormat::Rfc3339 => TimeFormat::Rfc3339,
                    RawTimeFormat::HttpDate => TimeFormat::HttpDate,
                    RawTimeFormat::Pattern => return None,
                }
            }
        };
        Some(format)
    }

    /// `policy.server_time`: a source and a time format, read in the token answers' examples.
    fn server_time(&mut self, raw: &Spanned<RawExpiresAt>) -> Option<ServerTime> {
        let e = &raw.value;
        let source = self.source(&e.path)?;
        let format = self.time_format(e)?;
        let examples = self.response_examples.clone();
        let fmt = format.clone();
        let check = move |v: &Value| fmt.parse_value(v).map(|_| ()).map_err(|e| (e, None));
        let before = self.diags.len();
        self.check_in_examples(
            e.path.referenced,
            &part_locations(&e.path),
            &source,
            &examples,
            "server_time",
            false,
            &check,
        );
        (self.diags.len() == before).then_some(ServerTime { source, format })
    }

    /// `max_answer_size`: a size between the bounds of [`Policy`].
    fn answer_size(&mut self, size: &SpannedString) -> u64 {
        let hint = "e.g. `1MiB` (the default) or `64KiB`; bytes without a unit are allowed";
        match crate::size::parse_size(&size.value) {
            Ok(bytes)
                if (Policy::MIN_MAX_ANSWER_BYTES..=Policy::MAX_MAX_ANSWER_BYTES)
                    .contains(&bytes) =>
            {
                bytes
            }
            Ok(bytes) => {
                self.error(
                    size.referenced,
                    format!(
                        "`max_answer_size` is {bytes} bytes; it must be between 1 KiB and 64 MiB"
                    ),
                    Some(hint.into()),
                );
                Policy::DEFAULT_MAX_ANSWER_BYTES
            }
            Err(message) => {
                self.error(
                    size.referenced,
                    format!("`max_answer_size`: {message}"),
                    Some(hint.into()),
                );
                Policy::DEFAULT_MAX_ANSWER_BYTES
            }
        }
    }

    fn usage(&mut self, spanned: &Spanned<RawUsageField>) -> Option<Usage> {
        let raw = match &spanned.value {
            RawUsageField::Known(raw) => raw,
            // Reported by the schema pass already.
            RawUsageField::Other => return None,
            RawUsageField::Unknown => {
                return Some(Usage {
                    headers: Vec::new(),
                    query: Vec::new(),
                    expired: None,
                    unknown: true,
                    renewed_by_answers: Vec::new(),
                    failures: Vec::new(),
                });
            }
        };
        let before = self.diags.len();
        let headers = self.template_map(&raw.headers, Context::Usage, true);
        let query = self.template_map(&raw.query, Context::Usage, false);
        let (Some(headers), Some(query)) = (headers, query) else {
            return None;
        };
        let sends_token = headers
            .iter()
            .chain(query.iter())
            .any(|(_, t)| t.references().any(|r| *r == Reference::AccessToken));
        if !sends_token {
            self.error(
                spanned.referenced,
                "`usage` never sends the access token (`${session.access_token}`)",
                Some(
                    "add e.g. `headers: { Authorization: \"Bearer ${session.access_token}\" }`"
                        .to_owned(),
                ),
            );
        }
        let expired = raw.expired.as_ref().map(|e| {
            let status = self.statuses(&e.status, &[401], "`expired.status`");
            for name in e.headers.keys() {
                if !is_header_name(&name.value) {
                    self.error(
                        name.referenced,
                        format!("`{}` is not a valid HTTP header name", name.value),
                        Some(
                            "header names are letters, digits and `-`, e.g. `Token-Expired`".into(),
                        ),
                    );
                }
            }
            let body: Vec<BodyCondition> =
                e.body.iter().filter_map(|c| self.condition(c)).collect();
            if e.body.is_empty()
                && let Some(ok) = e
                    .status
                    .iter()
                    .flatten()
                    .find(|s| (200..300).contains(&s.value))
            {
                self.error(
                    ok.referenced,
                    format!(
                        "`expired.status` lists {} without a `body` condition: every successful API call would count as expired",
                        ok.value
                    ),
                    Some("add `body: [{ path: $.status.code, equals: \"TOKEN_EXPIRED\" }]` (what the vendor's envelope says), or list only error statuses".into()),
                );
            }
            ExpiredSignal {
                status,
                headers: e
                    .headers
                    .iter()
                    .map(|(k, v)| (k.value.clone(), v.clone()))
                    .collect(),
                www_authenticate_error: e.www_authenticate_error.clone(),
                body,
            }
        });
        let renewed_by_answers = self.renewed_by_answers(&raw.renewed_by_answers);
        let failures = self.failure_rules(&raw.failures, Context::Usage);
        (self.diags.len() == before).then_some(Usage {
            headers,
            query,
            expired,
            unknown: false,
            renewed_by_answers: renewed_by_answers.unwrap_or_default(),
            failures,
        })
    }
}

/// `<PROVIDER>_<FIELD>` upper-cased: `INTERGIRO_API_KEY`.
pub fn default_env_var(provider: &str, field: &str) -> String {
    format!("{provider}_{field}").to_ascii_uppercase()
}

/// Checks across providers: environment variables must be unique.
pub(crate) fn check_across(files: &[(String, ProviderSpec, Locations)]) -> Vec<Diagnostic> {
    let mut seen: IndexMap<&str, (&str, &str)> = IndexMap::new();
    let mut diags = Vec::new();
    let mut names = HashSet::new();
    for (file, spec, locations) in files {
        if !names.insert(spec.name.as_str()) {
            diags.push(Diagnostic {
                file: file.clone(),
                line: 1,
                column: 1,
                message: format!("a second provider named `{}`", spec.name),
                hint: Some("provider names are file stems and must be unique".into()),
            });
        }
        for credential in &spec.credentials {
            let env = credential.env.as_str();
            if let Some((other_file, other_provider)) = seen.get(env) {
                let (line, column) = locations.env_vars.get(env).copied().unwrap_or((1, 1));
                diags.push(Diagnostic {
                    file: file.clone(),
                    line,
                    column,
                    message: format!(
                        "environment variable `{env}` is already used by provider `{other_provider}` ({other_file})"
                    ),
                    hint: Some(format!(
                        "environment variables must be unique across providers; e.g. `{}`",
                        default_env_var(&spec.name, &credential.name)
                    )),
                });
            } else {
                seen.insert(env, (file.as_str(), spec.name.as_str()));
            }
        }
    }
    diags
}

/// Character offsets of each `${` placeholder in a template (skipping `$${` escapes).
fn placeholder_offsets(text: &str) -> Vec<usize> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < chars.len() {
        if chars[i] == '$' && chars[i + 1] == '$' && chars.get(i + 2) == Some(&'{') {
            i += 3;
        } else if chars[i] == '$' && chars[i + 1] == '{' {
            out.push(i);
            i += 2;
        } else {
            i += 1;
        }
    }
    out
}

/// A hint for a path that does not resolve in `doc`: the closest key where it stops, or the keys
/// that are there.
fn path_hint(path: &FieldPath, doc: &Value, suggestions: &Suggestions) -> Option<String> {
    let prefix = path.resolved_prefix(doc);
    let keys: Vec<String> = match prefix.resolve(doc) {
        Some(Value::Object(o)) => o.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let missing = match path.segments().get(prefix.segments().len()) {
        Some(crate::path::Segment::Key(k)) => k.clone(),
        _ => String::new(),
    };
    let under = if prefix.segments().is_empty() {
        String::new()
    } else {
        format!(" (under `{prefix}`)")
    };
    Some(match suggestions.did_you_mean(&missing, &keys) {
        Some(d) => format!("{d}{under}"),
        None if keys.is_empty() => format!("the example has nothing below `{prefix}`"),
        None if under.is_empty() => format!("the example has: {}", listing(&keys)),
        None => format!("under `{prefix}` the example has: {}", listing(&keys)),
    })
}

/// Checks that a token source yields a string; for an object, suggests the member to point at.
fn token_kind(source: &ValueSource) -> impl Fn(&Value) -> Result<(), Problem> + '_ {
    move |v: &Value| match v {
        Value::String(_) => Ok(()),
        Value::Object(o) => {
            let member = o
                .iter()
                .find(|(k, v)| k.as_str() == "token" && v.is_string())
                .or_else(|| {
                    o.iter()
                        .find(|(k, v)| k.contains("token") && !k.contains("type") && v.is_string())
                })
                .map(|(k, _)| k.clone());
            let keys = o
                .keys()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let hint = match (member, source) {
                (Some(member), ValueSource::Body(path)) => format!(
                    "the object has {keys}; point at the token inside it: `{path}.{member}`"
                ),
                _ => format!(
                    "the object has {keys}; point at the string inside it that is the token"
                ),
            };
            Err(("is an object, expected a string".to_owned(), Some(hint)))
        }
        other => Err((format!("is {}, expected a string", kind_of(other)), None)),
    }
}
