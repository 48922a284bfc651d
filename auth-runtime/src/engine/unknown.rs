//! Facts a spec declares unknown (`usage: unknown`, `encoding: unknown`) and what the caller
//! supplies in their place. The engine never guesses them: a token can still be had, and what
//! needs the missing fact fails with [`AuthErrorKind::NotInDocument`] saying how to give it.

use std::sync::Arc;

use auth_spec::ProviderSpec;
use auth_spec::model::{Encoding, Endpoint};
use auth_spec::template::{Reference, Template};

use crate::error::{AuthError, AuthErrorKind};

/// What the caller said in place of facts the spec leaves unknown.
#[derive(Debug, Clone, Default)]
pub(super) struct Supplied {
    /// Headers that carry the token on API calls (`usage: unknown`), as (name, template).
    pub(super) token_headers: Vec<(String, String)>,
    /// The encoding of bodies declared `encoding: unknown`.
    pub(super) body_encoding: Option<Encoding>,
}

/// The spec with the caller's facts filled in where it says `unknown`. Refuses a fact the spec
/// already states: one source of truth.
pub(super) fn resolve(
    spec: Arc<ProviderSpec>,
    supplied: Supplied,
) -> Result<Arc<ProviderSpec>, AuthError> {
    let name = spec.name.clone();
    let config = |message: String| AuthError::config(format!("{name}: {message}"));
    if supplied.token_headers.is_empty() && supplied.body_encoding.is_none() {
        return Ok(spec);
    }
    let mut resolved = ProviderSpec::clone(&spec);
    if !supplied.token_headers.is_empty() {
        if !spec.usage.unknown {
            return Err(config(
                "the spec says how the token is sent (`usage`); a token header is only for specs with `usage: unknown`".into(),
            ));
        }
        let mut headers = Vec::with_capacity(supplied.token_headers.len());
        for (header, text) in &supplied.token_headers {
            headers.push((
                header.clone(),
                token_header(&spec, header, text).map_err(config)?,
            ));
        }
        if !headers
            .iter()
            .any(|(_, t)| t.references().any(|r| *r == Reference::AccessToken))
        {
            return Err(config(
                "no token header sends the token: write `${session.access_token}` in one, e.g. `Authorization: Bearer ${session.access_token}`".into(),
            ));
        }
        resolved.usage.headers = headers;
        resolved.usage.unknown = false;
    }
    if let Some(encoding) = supplied.body_encoding {
        if !matches!(encoding, Encoding::Json | Encoding::Form) {
            return Err(config("a body encoding is `json` or `form`".into()));
        }
        let mut used = false;
        let mut fill = |endpoint: &mut Endpoint| {
            if endpoint.encoding == Encoding::Unknown {
                endpoint.encoding = encoding;
                used = true;
            }
        };
        fill(&mut resolved.login.request);
        if let Some(refresh) = &mut resolved.refresh {
            fill(&mut refresh.request);
        }
        if let Some(logout) = &mut resolved.logout {
            fill(logout);
        }
        if !used {
            return Err(config(
                "the spec says how every body is encoded; a body encoding is only for endpoints with `encoding: unknown`".into(),
            ));
        }
    }
    Ok(Arc::new(resolved))
}

/// A caller's token header: a valid name, and a template naming only the access token and
/// declared credentials.
fn token_header(spec: &ProviderSpec, name: &str, text: &str) -> Result<Template, String> {
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(format!("`{name}` is not a valid header name"));
    }
    let template = Template::parse(text).map_err(|e| format!("token header `{name}`: {e}"))?;
    for reference in template.references() {
        match reference {
            Reference::AccessToken => {}
            Reference::Credential(c) if spec.credential(c).is_some() => {}
            other => {
                return Err(format!(
                    "token header `{name}` names {other}; it may name `${{session.access_token}}` and the spec's credentials"
                ));
            }
        }
    }
    Ok(template)
}

/// The error for a request that needs how the token is sent, when the spec says `unknown`.
pub(super) fn usage_unknown(spec: &ProviderSpec) -> AuthError {
    AuthErrorKind::NotInDocument {
        provider: spec.name.clone(),
        fact: "how the token is sent on API calls (`usage: unknown`)".into(),
        remedy: "give the header, e.g. `--token-header 'Authorization: Bearer ${session.access_token}'` (library: `AuthenticatorBuilder::token_header`); `token` prints the bare token".into(),
    }.into()
}

/// The error for a request whose body encoding the spec leaves unknown.
pub(super) fn encoding_unknown(spec: &ProviderSpec, endpoint: &str) -> AuthError {
    AuthErrorKind::NotInDocument {
        provider: spec.name.clone(),
        fact: format!("how the {endpoint} body is encoded (`encoding: unknown`)"),
        remedy: "choose it: `--body-encoding json` or `--body-encoding form` (library: `AuthenticatorBuilder::body_encoding`)".into(),
    }.into()
}
