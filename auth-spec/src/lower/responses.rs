//! Lowering of token answers (`login.response`, `refresh.response`): where the tokens sit,
//! their expiry sources, and the vendor's examples every source is checked against.

use std::collections::HashSet;

use serde_json::Value;
use serde_saphyr::{Location, Spanned};

use super::sources::part_locations;
use super::{Lowerer, Problem, path_hint};
use crate::extract::{Answer, Parsed};
use crate::judge::FailureRule;
use crate::model::*;
use crate::path::FieldPath;
use crate::raw::*;
use crate::template::{Reference, Template};
use crate::timefmt::{TimeFormat, kind_of, number_of};

/// The examples that show a success: a 2xx answer that no `failures` rule of the endpoint
/// matches (a vendor's failure envelope can be kept as an example too).
pub(super) fn success_examples(examples: &[Example], failures: &[FailureRule]) -> Vec<Example> {
    examples
        .iter()
        .filter(|e| (200..300).contains(&e.status))
        .filter(|e| crate::judge::judge(failures, &Answer::from_example(e)).is_none())
        .cloned()
        .collect()
}

/// Fills in what a token answer keeps for the requests sent after it: the `${response.PATH}`
/// values some request sends in a header, and the headers some request names
/// (`${response.@header:NAME}`). Run once every request is lowered.
pub(super) fn keep_answer_values(
    login_response: &mut Option<TokenResponse>,
    refresh: &mut Option<TokenEndpoint>,
    login_request: Option<&Endpoint>,
    logout: Option<&Endpoint>,
    usage: Option<&Usage>,
) {
    // `${response.PATH}` reads the last token answer, a login's or a refresh's: both are
    // checked for the values some request sends in a header.
    let header_templates = usage
        .into_iter()
        .flat_map(|u| &u.headers)
        .chain(refresh.iter().flat_map(|r| &r.request.headers))
        .chain(logout.into_iter().flat_map(|l| &l.headers))
        .chain(login_request.into_iter().flat_map(|l| &l.headers))
        .map(|(_, t)| t);
    let header_values = response_paths(header_templates);
    if let Some(r) = login_response {
        r.header_values.clone_from(&header_values);
    }
    if let Some(r) = refresh {
        r.response.header_values = header_values;
    }
    // `${response.@header:NAME}` reads the last token answer's headers: those named are kept.
    let kept_headers = kept_headers(
        login_request
            .into_iter()
            .flat_map(Endpoint::templates)
            .chain(refresh.iter().flat_map(|r| r.request.templates()))
            .chain(logout.into_iter().flat_map(Endpoint::templates))
            .chain(
                usage
                    .into_iter()
                    .flat_map(|u| u.headers.iter().chain(&u.query))
                    .map(|(_, t)| t),
            ),
    );
    if let Some(r) = login_response {
        r.kept_headers.clone_from(&kept_headers);
    }
    if let Some(r) = refresh {
        r.response.kept_headers = kept_headers;
    }
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

impl Lowerer<'_> {
    /// Checks that `source` yields a value of the right kind in the examples. With `every`, it must
    /// be present in every example; otherwise in at least one.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn check_in_examples(
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

    pub(super) fn token_response(
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
}
