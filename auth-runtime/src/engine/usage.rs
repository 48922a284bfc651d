//! The usage side: where the token goes on a request (`apply`, `authorize`), which origins may receive it, and recognising an expired-token answer.

use auth_spec::template::Reference;
use url::Url;

use crate::error::{AuthError, AuthErrorKind};
use crate::origin;
use crate::request::TemplateContext;
use crate::session::{AccessToken, RenderedUsage, Session, Shard};

use super::{Authenticator, unknown};

impl Authenticator {
    /// Whether this engine knows how the token is sent on API calls: [`AuthErrorKind::NotInDocument`]
    /// for a spec with `usage: unknown` when no [`AuthenticatorBuilder::token_header`](super::AuthenticatorBuilder::token_header) was given.
    /// Lets a caller find out before any login.
    pub fn check_usage(&self) -> Result<(), AuthError> {
        if self.inner.spec.usage.unknown {
            return Err(unknown::usage_unknown(&self.inner.spec));
        }
        Ok(())
    }

    /// Puts the token on an outgoing request as the spec's `usage` says (headers, query).
    ///
    /// Only on a request to the base URL's origin or one allowed with
    /// [`AuthenticatorBuilder::allow_origin`](super::AuthenticatorBuilder::allow_origin); any other is refused with
    /// [`AuthErrorKind::TokenOriginRefused`] and left untouched.
    pub fn apply(
        &self,
        token: &AccessToken,
        request: &mut reqwest::Request,
    ) -> Result<(), AuthError> {
        self.apply_from(&token.0, request)
    }

    /// [`Self::apply`] with a token lent by the engine (the middleware's cache hit).
    pub(crate) fn apply_from(
        &self,
        token: &Shard,
        request: &mut reqwest::Request,
    ) -> Result<(), AuthError> {
        self.check_destination(request.url())?;
        let mut fresh = None;
        let rendered = self.usage_for(token, &mut fresh)?;
        rendered.put_headers(request.headers_mut());
        if !rendered.query.is_empty() {
            let mut query = request.url_mut().query_pairs_mut();
            for (name, value) in &rendered.query {
                query.append_pair(name, value);
            }
        }
        Ok(())
    }

    /// [`Self::apply`] for an `http::Request` (tower, hyper, tonic stacks): the same headers and
    /// query entries, under the same destination check. A URI that names no origin (`/path`, as
    /// a tonic client made with `new(channel)` sends) is refused: the tower layer (feature
    /// `tower`) takes such requests only when told where they go (`AuthLayer::relative_to`).
    pub fn apply_http<B>(
        &self,
        token: &AccessToken,
        request: &mut http::Request<B>,
    ) -> Result<(), AuthError> {
        self.apply_http_from(&token.0, request, false)
    }

    /// [`Self::apply_http`]; with `relative`, a request whose URI names no origin is taken to go
    /// to an origin the caller already checked ([`Self::check_origin`]), and keeps its URI
    /// relative.
    pub(crate) fn apply_http_from<B>(
        &self,
        token: &Shard,
        request: &mut http::Request<B>,
        relative: bool,
    ) -> Result<(), AuthError> {
        // The common case, a request to an allowed origin, is decided on the URI as written:
        // no string is built and no URL parsed.
        let mut url = None;
        let mut keep_relative = false;
        if !self
            .inner
            .written_origins
            .iter()
            .any(|o| o.holds(request.uri()))
        {
            let uri = request.uri();
            if relative && uri.scheme().is_none() && uri.authority().is_none() {
                // Its origin was checked when the layer was made.
                keep_relative = true;
            } else {
                let parsed = parse_absolute(uri)?;
                self.check_destination(&parsed)?;
                url = Some(parsed);
            }
        }
        let mut fresh = None;
        let rendered = self.usage_for(token, &mut fresh)?;
        rendered.put_headers(request.headers_mut());
        if rendered.query.is_empty() {
            return Ok(());
        }
        let written = if keep_relative {
            // Appended to the path and query as they are, which stay relative.
            let pairs = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&rendered.query)
                .finish();
            match request.uri().path_and_query() {
                Some(p) if p.query().is_some_and(|q| !q.is_empty()) => format!("{p}&{pairs}"),
                Some(p) => format!("{}?{pairs}", p.path()),
                None => format!("/?{pairs}"),
            }
        } else {
            let mut url = match url {
                Some(url) => url,
                None => parse_absolute(request.uri())?,
            };
            url.query_pairs_mut().extend_pairs(&rendered.query);
            String::from(url)
        };
        *request.uri_mut() = written
            .parse()
            .map_err(|e| refused(format!("cannot carry the token's query ({e})")))?;
        Ok(())
    }

    /// Whether the token may go to `origin` (its scheme, host and port): the check a layer
    /// makes once for the origin it sends relative URIs to.
    #[cfg(feature = "tower")]
    pub(crate) fn check_origin(&self, origin: &str) -> Result<(), AuthError> {
        let url = Url::parse(origin).map_err(|e| {
            AuthError::config(format!("the origin for relative URIs is not a URL ({e})"))
        })?;
        self.check_destination(&url)
    }

    /// The origins the token may go to: the base URL's, then the allowed ones.
    fn allowed_origins(&self) -> impl Iterator<Item = &Url> {
        std::iter::once(&self.inner.base_url).chain(&self.inner.allowed_origins)
    }

    /// What `usage` puts on a request for `token`: rendered once per token handle and kept, or
    /// afresh for each request when it names the time or a computed credential (then in
    /// `fresh`).
    fn usage_for<'a>(
        &self,
        token: &'a Shard,
        fresh: &'a mut Option<RenderedUsage>,
    ) -> Result<&'a RenderedUsage, AuthError> {
        if self.inner.spec.usage.unknown {
            return Err(unknown::usage_unknown(&self.inner.spec));
        }
        if let Some(rendered) = token.usage.get() {
            return Ok(rendered);
        }
        let rendered = self.render_usage(&token.session)?;
        if self.usage_is_timed() {
            return Ok(fresh.insert(rendered));
        }
        Ok(token.usage.get_or_init(|| rendered))
    }

    /// Whether the token may go to `url`: its origin is the base URL's or an allowed one.
    ///
    /// The common case, a URL plainly on an allowed origin, is decided on its text; the parts
    /// are compared only when the text cannot decide.
    pub(super) fn check_destination(&self, url: &Url) -> Result<(), AuthError> {
        if self.inner.written_origins.iter().any(|o| o.holds_url(url))
            || self.allowed_origins().any(|o| origin::same_origin(url, o))
        {
            return Ok(());
        }
        let allowed: Vec<String> = self.allowed_origins().map(origin::origin).collect();
        Err(AuthErrorKind::TokenOriginRefused {
            provider: self.inner.spec.name.clone(),
            origin: origin::origin(url),
            allowed: allowed.join(", "),
        }
        .into())
    }

    /// Whether the usage templates name `${now.*}` or a computed credential.
    pub(super) fn usage_is_timed(&self) -> bool {
        let spec = &self.inner.spec;
        let mut templates = spec
            .usage
            .headers
            .iter()
            .chain(&spec.usage.query)
            .map(|(_, t)| t);
        templates
            .clone()
            .any(|t| t.references().any(|r| matches!(r, Reference::Now(_))))
            || crate::credentials::signed::uses_computed(spec, &mut templates)
    }

    pub(super) fn render_usage(&self, session: &Session) -> Result<RenderedUsage, AuthError> {
        let usage = &self.inner.spec.usage;
        let ctx = self.template_context(Some(session));
        let signed = if self.usage_is_timed() && !self.inner.spec.computed.is_empty() {
            Some(crate::credentials::signed::with_computed(
                &self.inner.spec,
                ctx.credentials,
                ctx.now,
            )?)
        } else {
            None
        };
        let ctx = match &signed {
            Some(credentials) => TemplateContext { credentials, ..ctx },
            None => ctx,
        };
        let missing = |reference: Reference| AuthErrorKind::MissingValue {
            provider: self.inner.spec.name.clone(),
            endpoint: "API call".into(),
            reference: reference.to_string(),
        };
        let mut headers = Vec::with_capacity(usage.headers.len());
        for (name, template) in &usage.headers {
            let Some(value) = ctx.render_entry(template).map_err(missing)? else {
                continue;
            };
            let mut value = header_value(value).map_err(|_| {
                AuthError::config(format!(
                    "{}: header {name} has a value that is not valid in a header",
                    self.inner.spec.name
                ))
            })?;
            // Keeps the value out of http's Debug output.
            value.set_sensitive(true);
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| AuthError::config(format!("invalid header name {name}")))?;
            headers.push((name, value));
        }
        let mut query = Vec::with_capacity(usage.query.len());
        for (name, template) in &usage.query {
            if let Some(value) = ctx.render_entry(template).map_err(missing)? {
                query.push((name.clone(), value));
            }
        }
        Ok(RenderedUsage { headers, query })
    }

    /// Adds the token to a request being built.
    pub async fn authorize(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, AuthError> {
        let token = self.access_token().await?;
        let (client, request) = builder.build_split();
        let mut request =
            request.map_err(|e| AuthError::config(format!("invalid request: {e}")))?;
        self.apply(&token, &mut request)?;
        Ok(reqwest::RequestBuilder::from_parts(client, request))
    }

    /// Whether an API answer says the token expired, per the spec's `usage.expired`.
    pub fn is_expired_answer(&self, status: u16, headers: &http::HeaderMap) -> bool {
        let Some(signal) = &self.inner.spec.usage.expired else {
            return false;
        };
        // Most answers are not a listed status: decide without looking at the headers.
        if !signal.status.contains(&status) {
            return false;
        }
        signal.matches(
            status,
            headers
                .iter()
                .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
                .collect::<Vec<_>>(),
        )
    }

    /// Whether an answer with this status can only be judged "expired" from its body (the
    /// spec's `usage.expired.body` conditions): then the body must be read to decide.
    pub fn expired_answer_needs_body(&self, status: u16) -> bool {
        self.inner
            .spec
            .usage
            .expired
            .as_ref()
            .is_some_and(|s| !s.body.is_empty() && s.status.contains(&status))
    }

    /// Whether an answer's body says the token expired, per `usage.expired.body`.
    pub fn is_expired_body(&self, status: u16, headers: &http::HeaderMap, body: &str) -> bool {
        let Some(signal) = &self.inner.spec.usage.expired else {
            return false;
        };
        let answer = auth_spec::extract::Answer {
            status,
            headers: headers
                .iter()
                .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect(),
            body: body.to_owned(),
        };
        signal.matches_body(&answer)
    }
}

fn refused(detail: String) -> AuthError {
    AuthError::config(format!("the request's URI {detail}"))
}

/// An absolute request URI as a URL; one that names no origin is refused with what to do.
fn parse_absolute(uri: &http::Uri) -> Result<Url, AuthError> {
    if uri.scheme().is_none() && uri.authority().is_none() {
        return Err(refused(
            "names no origin (scheme and host), so it cannot be checked against the allowed \
             ones: give the client its origin (tonic: `with_origin`), or tell the tower layer \
             where such requests go (`AuthLayer::relative_to`)"
                .to_owned(),
        ));
    }
    Url::parse(&uri.to_string()).map_err(|e| refused(format!("is not an absolute URL ({e})")))
}

/// A header value for a token handle, whose bytes count their references on a cache line of
/// their own: a request carries a clone of it (one count up, one down), and two handles'
/// counts sharing a line would make the threads that use them contend as if they shared one.
fn header_value(text: String) -> Result<http::HeaderValue, http::header::InvalidHeaderValue> {
    http::HeaderValue::from_maybe_shared(bytes::Bytes::from_owner(OwnLine(text.into_bytes())))
}

/// Bytes kept in an allocation aligned to (and a multiple of) 128 bytes: `Bytes::from_owner`
/// puts its reference count next to its owner, in one allocation.
#[repr(align(128))]
struct OwnLine(Vec<u8>);

impl AsRef<[u8]> for OwnLine {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
