//! Turning a spec endpoint into an HTTP request, and sending it with retries.

use std::time::Duration;

use auth_spec::extract::Answer;
use auth_spec::model::{BodyValue, Encoding, Endpoint, Retry};
use auth_spec::render::{Unfilled, join, render_path};
use auth_spec::template::{Reference, Template};
use secrecy::ExposeSecret;
use serde_json::Value;
use url::Url;

use crate::clock::Clock;
use crate::credentials::Credentials;
use crate::retry::{backoff, retry_after};
use crate::session::Session;

/// The values templates may name.
pub(crate) struct TemplateContext<'a> {
    pub(crate) credentials: &'a Credentials,
    pub(crate) session: Option<&'a Session>,
    /// Set for the login, which may carry the previous session: a header, query entry or body
    /// field naming a session value that is absent (no previous session) is left out.
    pub(crate) leave_out_session: bool,
    /// The engine's wall-clock time when the request is built: `${now.*}`.
    pub(crate) now: std::time::SystemTime,
    /// Credentials that may be absent (`required: false`, or outside the chosen credential
    /// set): an entry naming one that is absent is left out.
    pub(crate) optional: &'a [String],
}

impl TemplateContext<'_> {
    pub(crate) fn lookup(&self, reference: &Reference) -> Option<Value> {
        match reference {
            Reference::Credential(name) => self
                .credentials
                .get(name)
                .map(|v| Value::from(v.expose_secret())),
            Reference::AccessToken => self
                .session
                .map(|s| Value::from(s.access_token.expose_secret())),
            Reference::RefreshToken => self
                .session?
                .refresh_token
                .as_ref()
                .map(|t| Value::from(t.expose_secret())),
            Reference::Response(path) => self
                .session?
                .last_response
                .as_ref()
                .and_then(|r| path.resolve(r.expose()))
                .cloned(),
            Reference::AccessTokenClaim(name) => {
                auth_spec::jwt::claim(self.session?.access_token.expose_secret(), name)
            }
            Reference::SessionValue(name) => self
                .session?
                .values
                .get(name)
                .map(|v| Value::from(v.expose_secret())),
            Reference::ValueClaim { value, claim } => {
                auth_spec::jwt::claim(self.session?.values.get(value)?.expose_secret(), claim)
            }
            Reference::ResponseHeader(name) => self
                .session?
                .response_headers
                .get(&name.to_ascii_lowercase())
                .map(|v| Value::from(v.expose_secret())),
            Reference::Now(form) => Some(form.value(self.now)),
            // A number: a sole placeholder in a JSON body is sent as one.
            Reference::Lifetime(lifetime) => Some(Value::from(lifetime.value())),
        }
    }

    pub(crate) fn render(&self, template: &Template) -> Result<String, Reference> {
        template.render(|r| self.lookup(r))
    }

    /// Whether a render that failed for want of `missing` leaves its entry out instead.
    fn left_out(&self, missing: &Reference) -> bool {
        match missing {
            Reference::Credential(name) => self.optional.contains(name),
            Reference::Now(_) => false,
            _ => self.leave_out_session,
        }
    }

    /// `template` rendered, or `None` when its entry is left out.
    pub(crate) fn render_entry(&self, template: &Template) -> Result<Option<String>, Reference> {
        match self.render(template) {
            Ok(text) => Ok(Some(text)),
            Err(missing) if self.left_out(&missing) => Ok(None),
            Err(missing) => Err(missing),
        }
    }

    /// Every secret value this context holds, for scrubbing error excerpts: the credentials, the
    /// session's tokens, and the `user:password` pair each of `endpoints` sends as HTTP Basic
    /// (which travels base64-encoded as a whole; the excerpt scrubs each value's encoded forms).
    pub(crate) fn secrets<'e>(&self, endpoints: impl Iterator<Item = &'e Endpoint>) -> Vec<String> {
        let mut out: Vec<String> = self
            .credentials
            .iter()
            .map(|(_, v)| v.expose_secret().to_owned())
            .collect();
        if let Some(s) = self.session {
            out.push(s.access_token.expose_secret().to_owned());
            if let Some(r) = &s.refresh_token {
                out.push(r.expose_secret().to_owned());
            }
            out.extend(
                s.values
                    .values()
                    .chain(s.response_headers.values())
                    .map(|v| v.expose_secret().to_owned()),
            );
        }
        for basic in endpoints.filter_map(|e| e.basic_auth.as_ref()) {
            if let (Ok(user), Ok(password)) =
                (self.render(&basic.username), self.render(&basic.password))
            {
                out.push(format!("{user}:{password}"));
            }
        }
        out
    }
}

/// A fully rendered request, rebuildable for each attempt.
pub(crate) struct Prepared {
    pub(crate) method: reqwest::Method,
    pub(crate) url: Url,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: PreparedBody,
    pub(crate) basic_auth: Option<(String, String)>,
    /// Answers the spec says are failures; `transient` ones are retried like a 429.
    pub(crate) failures: Vec<auth_spec::judge::FailureRule>,
}

pub(crate) enum PreparedBody {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
}

fn render_body(value: &BodyValue, ctx: &TemplateContext<'_>) -> Result<Value, Reference> {
    Ok(match value {
        BodyValue::Null => Value::Null,
        BodyValue::Bool(b) => Value::Bool(*b),
        BodyValue::Number(n) => Value::Number(n.clone()),
        BodyValue::Template(t) => t.render_value(|r| ctx.lookup(r))?,
        BodyValue::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.extend(render_member(item, ctx)?);
            }
            Value::Array(out)
        }
        BodyValue::Object(map) => {
            let mut out = serde_json::Map::with_capacity(map.len());
            for (key, value) in map {
                if let Some(v) = render_member(value, ctx)? {
                    out.insert(key.clone(), v);
                }
            }
            Value::Object(out)
        }
    })
}

/// A field or item of a body; `None` when it is left out (see [`TemplateContext::leave_out_session`]).
fn render_member(value: &BodyValue, ctx: &TemplateContext<'_>) -> Result<Option<Value>, Reference> {
    match render_body(value, ctx) {
        Ok(v) => Ok(Some(v)),
        Err(missing) if matches!(value, BodyValue::Template(_)) && ctx.left_out(&missing) => {
            Ok(None)
        }
        Err(missing) => Err(missing),
    }
}

fn form_value(value: Value) -> String {
    match value {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Renders `endpoint` against `base` with the values of `ctx`.
pub(crate) fn prepare(
    base: &Url,
    endpoint: &Endpoint,
    ctx: &TemplateContext<'_>,
) -> Result<Prepared, Unfilled> {
    let mut url = join(base, &render_path(&endpoint.path, |r| ctx.lookup(r))?);
    if !endpoint.query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (name, template) in &endpoint.query {
            if let Some(value) = ctx.render_entry(template)? {
                pairs.append_pair(name, &value);
            }
        }
    }
    let mut headers = Vec::with_capacity(endpoint.headers.len() + 1);
    for (name, template) in &endpoint.headers {
        if let Some(value) = ctx.render_entry(template)? {
            headers.push((name.clone(), value));
        }
    }
    if let Some(content_type) = endpoint.encoding.content_type()
        && !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".into(), content_type.into()));
    }
    let body = match (&endpoint.body, endpoint.encoding) {
        (Some(body), Encoding::Json) => PreparedBody::Json(render_body(body, ctx)?),
        (Some(body), Encoding::Form) => match render_body(body, ctx)? {
            Value::Object(map) => {
                PreparedBody::Form(map.into_iter().map(|(k, v)| (k, form_value(v))).collect())
            }
            // The validator only admits flat mappings for form bodies.
            _ => PreparedBody::Form(Vec::new()),
        },
        _ => PreparedBody::None,
    };
    let basic_auth = match &endpoint.basic_auth {
        Some(b) => Some((ctx.render(&b.username)?, ctx.render(&b.password)?)),
        None => None,
    };
    let method = reqwest::Method::from_bytes(endpoint.method.as_str().as_bytes())
        .unwrap_or(reqwest::Method::POST);
    Ok(Prepared {
        method,
        url,
        headers,
        body,
        basic_auth,
        failures: endpoint.failures.clone(),
    })
}

impl Prepared {
    fn build(&self, client: &reqwest::Client) -> reqwest::RequestBuilder {
        let mut builder = client.request(self.method.clone(), self.url.clone());
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        if let Some((user, password)) = &self.basic_auth {
            builder = builder.basic_auth(user, Some(password));
        }
        match &self.body {
            PreparedBody::None => builder,
            PreparedBody::Json(value) => builder.body(value.to_string()),
            PreparedBody::Form(pairs) => builder.form(pairs),
        }
    }
}

/// Why sending produced no answer to use.
pub(crate) enum SendFailure {
    /// Every allowed attempt failed (network, 5xx, 429). `maybe_processed`: the vendor may
    /// have acted on a request (it was sent and no answer said otherwise), so a rotating refresh
    /// token sent counts as spent and a login as maybe open.
    GaveUp {
        attempts: u32,
        last: String,
        maybe_processed: bool,
    },
    /// The answer is a redirect to another origin, not followed.
    RedirectRefused { status: u16, to: String },
    /// The client followed a redirect to another origin: the request went there.
    RedirectFollowed { to: String },
    /// The answer's body is larger than the cap; reading stopped there.
    TooLarge { status: u16, limit: u64 },
    /// The answer's body could not be read to its end.
    Incomplete { status: u16, reason: String },
}

impl SendFailure {
    /// Whether the vendor (or another origin) may have acted on the request.
    pub(crate) fn maybe_processed(&self) -> bool {
        match self {
            SendFailure::GaveUp {
                maybe_processed, ..
            } => *maybe_processed,
            // The vendor answered with a redirect: it did not act on the request.
            SendFailure::RedirectRefused { .. } => false,
            // The request reached another origin, or the vendor answered and the answer could
            // not be read: what it did is unknown.
            SendFailure::RedirectFollowed { .. }
            | SendFailure::TooLarge { .. }
            | SendFailure::Incomplete { .. } => true,
        }
    }
}

/// Reads a body of at most `limit` bytes: a larger `Content-Length` is refused before reading,
/// and reading stops at the first chunk past the limit, so that no more than the limit and one
/// chunk is ever held. Dropping the response then closes the connection.
async fn read_body(mut response: reqwest::Response, limit: u64) -> Result<String, SendFailure> {
    let status = response.status().as_u16();
    if response
        .content_length()
        .is_some_and(|length| length > limit)
    {
        return Err(SendFailure::TooLarge { status, limit });
    }
    let mut body: Vec<u8> = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() as u64 + chunk.len() as u64 > limit {
                    return Err(SendFailure::TooLarge { status, limit });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(String::from_utf8_lossy(&body).into_owned()),
            Err(error) => {
                let read = body.len();
                let reason = if error.is_timeout() {
                    format!("timed out after {read} bytes of the body")
                } else if is_closed_early(&error) {
                    format!(
                        "the connection closed after {read} bytes of the body, before the answer was complete"
                    )
                } else {
                    format!(
                        "reading the body failed after {read} bytes: {}",
                        describe(&error)
                    )
                };
                return Err(SendFailure::Incomplete { status, reason });
            }
        }
    }
}

/// Whether a body error is the connection ending before the announced length (hyper's
/// "incomplete message"), as opposed to a timeout or a decoding problem.
fn is_closed_early(error: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
            );
        }
        source = s.source();
    }
    false
}

/// The origin a 3xx answer's `Location` points to, when it is not `request`'s.
fn foreign_redirect(request: &Url, response: &reqwest::Response) -> Option<String> {
    if !response.status().is_redirection() {
        return None;
    }
    let location = response.headers().get(reqwest::header::LOCATION)?;
    let target = request.join(location.to_str().ok()?).ok()?;
    (!crate::origin::same_origin(request, &target)).then(|| crate::origin::origin(&target))
}

/// Which faults may be retried.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryScope {
    /// Connect errors, timeouts, 5xx, 429.
    Transient,
    /// Only failures where the vendor cannot have acted on the request: connect errors and 429.
    /// Used for refreshes with rotating refresh tokens, which must not be sent twice.
    NotProcessed,
    /// Connect errors, 429 and 5xx, not timeouts: a login that timed out may have opened a
    /// session, and sending it again would open another.
    Answered,
}

/// Sends with retries. Returns the first non-transient answer (any status), or why it gave up.
/// `sent` counts the attempts made (each may have reached the vendor), for login budgets.
pub(crate) async fn send(
    client: &reqwest::Client,
    prepared: &Prepared,
    retry: &Retry,
    scope: RetryScope,
    clock: &dyn Clock,
    limit: u64,
    sent: &mut u32,
) -> Result<Answer, SendFailure> {
    let mut attempt = 0;
    // Whether an earlier attempt may have reached the vendor.
    let mut processed_before = false;
    loop {
        attempt += 1;
        *sent = attempt;
        let last_attempt = attempt >= retry.max_attempts;
        let (last, wait, maybe_processed) = match prepared.build(client).send().await {
            Ok(response) => {
                // The credentials must not go to another origin: a redirect there is not used.
                if !crate::origin::same_origin(&prepared.url, response.url()) {
                    return Err(SendFailure::RedirectFollowed {
                        to: crate::origin::origin(response.url()),
                    });
                }
                let status = response.status().as_u16();
                if let Some(to) = foreign_redirect(&prepared.url, &response) {
                    return Err(SendFailure::RedirectRefused { status, to });
                }
                let transient = status == 429 || (500..600).contains(&status);
                let retryable = status == 429 || (transient && scope != RetryScope::NotProcessed);
                let maybe_processed = status != 429;
                let headers: Vec<(String, String)> = response
                    .headers()
                    .iter()
                    .map(|(n, v)| {
                        (
                            n.as_str().to_owned(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                if !retryable {
                    let body = read_body(response, limit).await?;
                    let answer = Answer {
                        status,
                        headers,
                        body,
                    };
                    // The vendor says in its body that it is busy: like a 429, nothing was done.
                    let busy = auth_spec::judge::judge(&prepared.failures, &answer)
                        .filter(|v| v.means == auth_spec::judge::FailureMeaning::Transient);
                    match busy {
                        Some(verdict) if !last_attempt => {
                            let wait = backoff(retry, attempt);
                            tracing::debug!(
                                attempt,
                                wait_ms = wait.as_millis() as u64,
                                "retrying: {}",
                                verdict.detail
                            );
                            clock.sleep(wait).await;
                            continue;
                        }
                        Some(verdict) => {
                            return Err(SendFailure::GaveUp {
                                attempts: attempt,
                                last: verdict.detail,
                                maybe_processed: processed_before,
                            });
                        }
                        None => return Ok(answer),
                    }
                }
                let asked = headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("retry-after"))
                    .and_then(|(_, v)| retry_after(v, clock.wall()));
                if let Some(asked) = asked
                    && asked > retry.max_backoff
                {
                    // Honour the vendor: do not come back sooner than it asked.
                    return Err(SendFailure::GaveUp {
                        attempts: attempt,
                        last: format!(
                            "HTTP {status}, Retry-After {asked:?} exceeds the retry budget"
                        ),
                        maybe_processed: maybe_processed || processed_before,
                    });
                }
                (format!("HTTP {status}"), asked, maybe_processed)
            }
            Err(error) => {
                let retryable = error.is_connect()
                    || (scope == RetryScope::Transient
                        && (error.is_timeout() || error.is_request()));
                let described = describe(&error);
                let maybe_processed = !error.is_connect();
                if !retryable {
                    return Err(SendFailure::GaveUp {
                        attempts: attempt,
                        last: described,
                        maybe_processed: maybe_processed || processed_before,
                    });
                }
                (described, None, maybe_processed)
            }
        };
        if last_attempt {
            return Err(SendFailure::GaveUp {
                attempts: attempt,
                last,
                maybe_processed: maybe_processed || processed_before,
            });
        }
        processed_before |= maybe_processed;
        let wait = wait.unwrap_or_else(|| backoff(retry, attempt));
        tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, %last, "retrying");
        clock.sleep(wait.min(Duration::from_secs(300))).await;
    }
}

/// A reqwest error without its URL (which may carry query-string secrets).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_connect() {
        "connection failed"
    } else if error.is_timeout() {
        "timed out"
    } else if error.is_body() || error.is_decode() {
        "reading the answer failed"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(error);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}
