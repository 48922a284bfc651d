//! Where credentials and tokens may go: the checks on a base URL, and origin comparison.
//!
//! A base URL is where the credentials are sent, so it must be https (plain http only to a
//! loopback host: local simulators and tests) and must not carry a user name or password
//! (reqwest would send them as Basic, and they would show in `status`, errors and the store key).

use url::Url;

use crate::error::AuthError;

/// Whether `url`'s host is a loopback one: 127.0.0.0/8, ::1 or `localhost`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `scheme://host:port` of a URL, the only part of one that errors show.
pub(crate) fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Whether two URLs share scheme, host and port (default ports included). Allocates nothing:
/// it runs on every authenticated request.
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// An origin as a URI plainly writes it: its scheme, and its authority with the port and, when
/// that port is the scheme's default, without it. Matching a URI against it compares strings as
/// written, with nothing parsed: the tower layer does it on every request.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    scheme: String,
    authority: String,
    short: Option<String>,
    /// The origin as `Url` serializes it (`https://host`, the port only when not the
    /// default): what a parsed URL on this origin starts with.
    serialized: String,
}

impl Written {
    /// `url`'s origin as written, or `None` when it has no host or port to write.
    pub(crate) fn of(url: &Url) -> Option<Self> {
        // `host_str` writes an IPv6 host in brackets, as an authority does.
        let host = url.host_str()?;
        let port = url.port_or_known_default()?;
        let default = match url.scheme() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        };
        let short = (default == Some(port)).then(|| host.to_owned());
        let serialized = match &short {
            Some(host) => format!("{}://{host}", url.scheme()),
            None => format!("{}://{host}:{port}", url.scheme()),
        };
        Some(Self {
            scheme: url.scheme().to_owned(),
            authority: format!("{host}:{port}"),
            short,
            serialized,
        })
    }

    /// Whether `url` is plainly on this origin: its serialization starts with this origin's
    /// and goes on with its path, query or fragment. `false` means "compare the parts to find
    /// out" (user info, say), never "no".
    pub(crate) fn holds_url(&self, url: &Url) -> bool {
        let text = url.as_str();
        text.starts_with(&self.serialized)
            && matches!(
                text.as_bytes().get(self.serialized.len()),
                None | Some(b'/' | b'?' | b'#')
            )
    }

    /// Whether `uri`, as written, is plainly on this origin: the same scheme, and the same host
    /// (ASCII case aside) and port, default ports included. `false` means "parse it to find
    /// out" (a host written another way, user info, a relative URI), never "no".
    pub(crate) fn holds(&self, uri: &http::Uri) -> bool {
        let Some(authority) = uri.authority().map(|a| a.as_str()) else {
            return false;
        };
        // As the spec's URL writes it first: one comparison of bytes.
        let same = |written: &str| authority == written || authority.eq_ignore_ascii_case(written);
        uri.scheme_str() == Some(self.scheme.as_str())
            && (same(&self.authority) || self.short.as_deref().is_some_and(same))
    }
}

/// A URL as it may be shown in an error: any user info is masked, so that a password typed
/// into it is never echoed.
fn shown(raw: &str) -> String {
    let Some((scheme, rest)) = raw.split_once("://") else {
        return if raw.contains('@') {
            "(not shown: it may hold a password)".into()
        } else {
            raw.to_owned()
        };
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rfind('@') {
        Some(at) => format!("{scheme}://***{}{tail}", &authority[at..]),
        None => raw.to_owned(),
    }
}

/// Parses and checks a URL that credentials or tokens are sent to. `what` names it in errors
/// ("base URL", "allowed origin").
pub(crate) fn check_url(provider: &str, what: &str, raw: &str) -> Result<Url, AuthError> {
    let url = Url::parse(raw).map_err(|e| {
        AuthError::config(format!(
            "{provider}: {what} `{}` is not a URL: {e}",
            shown(raw)
        ))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AuthError::config(format!(
            "{provider}: {what} `{}` contains a user name or password; credentials never go into \
             URLs (give them as the provider's credentials)",
            shown(raw)
        )));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(AuthError::config(format!(
                "{provider}: {what} `{raw}` uses http://: credentials and tokens would travel \
                 unencrypted; use https:// (plain http is allowed only for loopback hosts such \
                 as 127.0.0.1, ::1 or localhost)"
            )));
        }
        other => {
            return Err(AuthError::config(format!(
                "{provider}: {what} `{raw}` has scheme `{other}`; use https://"
            )));
        }
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_masks_user_info() {
        assert_eq!(shown("https://a:pw@h/x@y"), "https://***@h/x@y");
        assert_eq!(shown("https://h/x@y"), "https://h/x@y");
        assert_eq!(shown("a:pw@h"), "(not shown: it may hold a password)");
        assert_eq!(shown("https://a:pw@"), "https://***@");
    }

    #[test]
    fn a_uri_or_url_is_plainly_at_its_origin_only_when_written_as_it() {
        // (origin, address, on it): each checked as an `http::Uri` (`holds`) and as a parsed
        // `Url` (`holds_url`).
        let cases = [
            (
                "https://api.example.com",
                "https://api.example.com/v1/x?page=2",
                true,
            ),
            (
                "https://api.example.com",
                "https://API.example.com:443/v1/x",
                true,
            ),
            (
                "https://api.example.com",
                "http://api.example.com/v1/x",
                false,
            ),
            (
                "https://api.example.com",
                "https://api.example.com:8443/v1/x",
                false,
            ),
            ("https://api.example.com", "https://example.com/v1/x", false),
            (
                "https://api.example.com",
                "https://api.example.com.evil.example/v1/x",
                false,
            ),
            (
                "https://api.example.com",
                "https://user@api.example.com/v1/x",
                false,
            ),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api", true),
            ("http://127.0.0.1:8080", "http://127.0.0.1/api", false),
            ("http://127.0.0.1:8080", "http://127.0.0.1:80/api", false),
            // User info that reads like the origin: the text goes on with `@`, not a path.
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080@evil.example/api",
                false,
            ),
            ("http://[::1]:9000", "http://[::1]:9000/api", true),
            ("http://[::1]:9000", "http://[::2]:9000/api", false),
            (
                "http://[::1]:9000",
                "http://[::1]:9000@evil.example/api",
                false,
            ),
        ];
        for (origin, address, on) in cases {
            let written = Written::of(&Url::parse(origin).expect("url")).expect("an origin");
            let uri: http::Uri = address.parse().expect("uri");
            assert_eq!(written.holds(&uri), on, "{address} as a URI, at {origin}");
            let url = Url::parse(address).expect("url");
            assert_eq!(
                written.holds_url(&url),
                on,
                "{address} as a URL, at {origin}"
            );
        }
        let written =
            Written::of(&Url::parse("https://api.example.com").expect("url")).expect("an origin");
        assert!(!written.holds(&"/v1/x".parse().expect("uri")));
    }
}
