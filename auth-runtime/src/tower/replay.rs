//! Copies of requests for a replay after an expired answer: whether a body can be copied (the
//! layer's [`ReplayBody`] policy), and the copy itself, kept as the request's parts until it
//! is sent.

/// Whether and how a request's body can be sent a second time.
pub trait ReplayBody<B>: Clone + Send + Sync + 'static {
    /// A copy of `body` to send again, or `None` when it cannot be replayed.
    fn try_clone(&self, body: &B) -> Option<B>;
}

/// Replays bodies that are `Clone` (`Full<Bytes>`, `String`, `Empty`, ...): the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct CloneBody;

impl<B: Clone> ReplayBody<B> for CloneBody {
    fn try_clone(&self, body: &B) -> Option<B> {
        Some(body.clone())
    }
}

/// Never replays (streaming bodies, tonic): an expired answer goes back to the caller, and the
/// next request renews.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoReplay;

impl<B> ReplayBody<B> for NoReplay {
    fn try_clone(&self, _: &B) -> Option<B> {
        None
    }
}

/// What a replay needs of a request, kept as its parts until it is sent: most requests are
/// never replayed, and a whole `http::Request` for each would be built from defaults that are
/// overwritten at once, and dropped again, per request.
pub(super) struct Replay<B> {
    method: http::Method,
    uri: UriCopy,
    version: http::Version,
    /// `None` when the request had none (many API calls): nothing to copy, nothing to drop.
    headers: Option<http::HeaderMap>,
    /// What the stack put there (tonic's and hyper's per-request settings) goes with the
    /// replay too; an empty map's copy is a null pointer.
    extensions: http::Extensions,
    body: B,
}

impl<B> Replay<B> {
    /// A copy of `request` to send again after an expired answer, when `replay` can copy its
    /// body.
    pub(super) fn of<R: ReplayBody<B>>(replay: &R, request: &http::Request<B>) -> Option<Self> {
        let body = replay.try_clone(request.body())?;
        Some(Self {
            method: request.method().clone(),
            uri: UriCopy::of(request.uri()),
            version: request.version(),
            headers: (!request.headers().is_empty()).then(|| request.headers().clone()),
            extensions: request.extensions().clone(),
            body,
        })
    }

    /// The request to send.
    pub(super) fn into_request(self) -> Result<http::Request<B>, crate::AuthError> {
        let mut request = http::Request::new(self.body);
        *request.method_mut() = self.method;
        *request.uri_mut() = self.uri.into_uri()?;
        *request.version_mut() = self.version;
        if let Some(headers) = self.headers {
            *request.headers_mut() = headers;
        }
        *request.extensions_mut() = self.extensions;
        Ok(request)
    }
}

/// A request's URI kept for a replay. A `Uri`'s parts are shared buffers: a clone counts a
/// reference on each (an atomic operation, and another when it is dropped), which every request
/// would pay for a replay that almost never comes. A URI that fits is copied as text instead,
/// and parsed again only when replayed.
enum UriCopy {
    /// The URI as written (`scheme://authority/path?query`, or `/path?query`).
    Text { len: u8, text: [u8; URI_TEXT] },
    /// A longer or unusual URI, cloned.
    Whole(http::Uri),
}

/// How many bytes of URI text a copy holds: about what a `Uri` itself takes, so the copy is
/// no larger than a clone.
const URI_TEXT: usize = 86;

impl UriCopy {
    fn of(uri: &http::Uri) -> Self {
        let path = uri.path_and_query().map_or("", |p| p.as_str());
        let parts: [&str; 4] = match (uri.scheme_str(), uri.authority()) {
            // An authority cannot hold `/`, `?` or `#`: the path starts where it says.
            (Some(scheme), Some(authority)) if path.is_empty() || path.starts_with('/') => {
                [scheme, "://", authority.as_str(), path]
            }
            (None, None) if path.starts_with('/') => ["", "", "", path],
            _ => return Self::Whole(uri.clone()),
        };
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let Some(short) = u8::try_from(len).ok().filter(|_| len <= URI_TEXT) else {
            return Self::Whole(uri.clone());
        };
        let mut text = [0; URI_TEXT];
        let mut at = 0;
        for part in parts {
            text[at..at + part.len()].copy_from_slice(part.as_bytes());
            at += part.len();
        }
        Self::Text { len: short, text }
    }

    fn into_uri(self) -> Result<http::Uri, crate::AuthError> {
        match self {
            Self::Whole(uri) => Ok(uri),
            // The text of a valid URI, written back as it was: it parses.
            Self::Text { len, text } => {
                http::Uri::try_from(&text[..usize::from(len)]).map_err(|e| {
                    crate::AuthError::config(format!(
                        "the request's URI could not be copied for a replay ({e})"
                    ))
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{CloneBody, NoReplay, Replay};

    #[derive(Debug, Clone, PartialEq)]
    struct Mark(u32);

    fn request(decorated: bool) -> http::Request<String> {
        let mut request = http::Request::post("https://api.example.com/v1/things?page=2")
            .version(http::Version::HTTP_2)
            .body("{\"n\":1}".to_owned())
            .expect("request");
        if decorated {
            request.headers_mut().insert(
                "content-type",
                http::HeaderValue::from_static("application/json"),
            );
            request.extensions_mut().insert(Mark(7));
        }
        request
    }

    #[test]
    fn the_copy_carries_the_whole_request() {
        for decorated in [true, false] {
            let original = request(decorated);
            let copy = Replay::of(&CloneBody, &original)
                .expect("copied")
                .into_request()
                .expect("a request");
            assert_eq!(copy.method(), original.method());
            assert_eq!(copy.uri(), original.uri());
            assert_eq!(copy.version(), original.version());
            assert_eq!(copy.headers(), original.headers());
            assert_eq!(
                copy.extensions().get::<Mark>(),
                original.extensions().get::<Mark>()
            );
            assert_eq!(copy.body(), original.body());
        }
    }

    #[test]
    fn a_uri_is_copied_as_it_is_written() {
        let long = format!("https://api.example.com/v1/{}?page=2", "x".repeat(200));
        for uri in [
            "https://api.example.com/v1/things?page=2",
            "http://127.0.0.1:8080/",
            "http://[::1]:8080/a?b=c#",
            "HTTPS://API.example.com:443/v1",
            "/package.Service/Method",
            "/?token=1",
            "https://api.example.com",
            "*",
            long.as_str(),
        ] {
            let original: http::Uri = uri.parse().expect(uri);
            let copy = super::UriCopy::of(&original);
            let text = matches!(copy, super::UriCopy::Text { .. });
            assert_eq!(text, uri != "*" && uri != long, "{uri}: kept as text");
            let back = copy.into_uri().expect("parses");
            assert_eq!(back, original, "{uri}");
            assert_eq!(back.to_string(), original.to_string(), "{uri}");
        }
    }

    #[test]
    fn no_copy_without_a_replayable_body() {
        assert!(Replay::of(&NoReplay, &request(true)).is_none());
    }
}
