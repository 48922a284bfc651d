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
use crate::judge::FailureRule;

mod across;
mod claims;
mod credentials;
mod endpoints;
mod environments;
mod failures;
mod lifetimes;
mod limits;
mod optional;
mod policy;
mod responses;
mod signed;
mod sources;
mod templates;
mod usage;
mod values;

pub(crate) use across::check_across;
pub use credentials::default_env_var;

use crate::model::*;
use crate::path::FieldPath;
use crate::raw::*;
use crate::suggest::{Suggestions, listing};
use credentials::Credentials;
use responses::keep_answer_values;

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

/// The checks and the lowering of one spec file; each method reports what it finds into `diags`,
/// and the submodules each add the methods for one part of the file.
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
        match crate::duration::check(&value.value) {
            Ok(d) => Some(d),
            Err(rejection) => {
                let hint = if rejection.too_long {
                    "declare the figure the vendor's document gives; a token whose end it does not give has an unknown expiry (`[]`)"
                } else {
                    "durations look like `1800s`, `30m`, `14d` or `500ms`"
                };
                self.error(value.referenced, rejection.message, Some(hint.into()));
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

    /// Checks `raw` and lowers it: the validated spec and where some of its values were
    /// written, or every problem found.
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
        let environments = self.environments(&raw);
        let Credentials {
            plain: credentials,
            computed,
            sets: credential_sets,
            locations,
        } = self.credentials(&raw);
        self.lifetimes(&raw.lifetimes);
        let (login_response, login_request) = self.login_endpoint(&raw);
        let refresh = self.refresh_endpoint(&raw, login_response.is_some());
        let logout = self.logout_endpoint(&raw);
        let keep_alive = self.keep_alive_endpoint(&raw);
        let policy = self.policy(&raw);
        let usage = self.usage(&raw.usage);
        self.check_lifetimes_sent();
        self.check_credentials_used(&raw);
        self.check_expiry_known(
            &raw,
            policy.as_ref(),
            login_response.as_ref(),
            usage.as_ref(),
        );

        if !self.diags.is_empty() {
            return Err(self.diags);
        }
        let mut login_response = login_response;
        let mut refresh = refresh;
        keep_answer_values(
            &mut login_response,
            &mut refresh,
            login_request.as_ref(),
            logout.as_ref(),
            usage.as_ref(),
        );
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
