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

/// Whether `uri`, as written, is plainly on `origin`'s origin: the same scheme, host (ASCII case
/// aside) and port, default ports included. Allocates nothing. `false` means "parse it to find
/// out" (a host written another way, a relative URI), never "no".
pub(crate) fn uri_plainly_at(uri: &http::Uri, origin: &Url) -> bool {
    let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
        return false;
    };
    let port = uri.port_u16().or(match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    });
    port.is_some()
        && origin.scheme() == scheme
        && origin
            .host_str()
            .is_some_and(|h| h.eq_ignore_ascii_case(host))
        && origin.port_or_known_default() == port
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
        AuthError::Config(format!(
            "{provider}: {what} `{}` is not a URL: {e}",
            shown(raw)
        ))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AuthError::Config(format!(
            "{provider}: {what} `{}` contains a user name or password; credentials never go into \
             URLs (give them as the provider's credentials)",
            shown(raw)
        )));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(AuthError::Config(format!(
                "{provider}: {what} `{raw}` uses http://: credentials and tokens would travel \
                 unencrypted; use https:// (plain http is allowed only for loopback hosts such \
                 as 127.0.0.1, ::1 or localhost)"
            )));
        }
        other => {
            return Err(AuthError::Config(format!(
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
    fn a_uri_is_plainly_at_its_origin_only_when_written_as_it() {
        let origin = Url::parse("https://api.example.com").expect("url");
        let at = |uri: &str| uri_plainly_at(&uri.parse().expect("uri"), &origin);
        assert!(at("https://api.example.com/v1/x?page=2"));
        assert!(at("https://API.example.com:443/v1/x"));
        assert!(!at("http://api.example.com/v1/x"));
        assert!(!at("https://api.example.com:8443/v1/x"));
        assert!(!at("https://example.com/v1/x"));
        assert!(!at("/v1/x"));
    }
}
