//! Reading the claims of a JWT without verifying them: the client only needs to know when the
//! vendor will stop accepting the token (`exp`), or a value it must send alongside it (a tenant
//! id, `${session.access_token.claims.NAME}`), and the vendor is the one that verifies it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The `exp` claim (seconds since the Unix epoch) of a compact JWT, or `None` when the token is
/// not a JWT or carries no numeric `exp`.
pub fn exp_claim(token: &str) -> Option<f64> {
    claims(token)?.get("exp")?.as_f64()
}

/// The claim `name` of a compact JWT (a top-level member of its payload), or `None` when the
/// token is not a JWT or carries no such claim (a `null` claim counts as none).
pub fn claim(token: &str, name: &str) -> Option<serde_json::Value> {
    let mut claims = claims(token)?;
    claims
        .as_object_mut()?
        .remove(name)
        .filter(|v| !v.is_null())
}

/// The names of the claims of a compact JWT, in payload order (empty when it is not a JWT).
pub fn claim_names(token: &str) -> Vec<String> {
    match claims(token) {
        Some(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Whether `token` is a compact JWT whose payload is a JSON object.
pub fn is_jwt(token: &str) -> bool {
    claims(token).is_some_and(|c| c.is_object())
}

/// The decoded payload of a compact JWT.
fn claims(token: &str) -> Option<serde_json::Value> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    // Some issuers pad their base64url; the JWS spec says they must not, so tolerate both.
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.is_object().then_some(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn reads_exp_and_rejects_non_jwts() {
        assert_eq!(
            exp_claim(&jwt(r#"{"exp":1767225600}"#)),
            Some(1_767_225_600.0)
        );
        assert_eq!(exp_claim(&jwt(r#"{"sub":"x"}"#)), None);
        assert_eq!(exp_claim("eyJraWQiOiIxIiwiYWxnIjoi..."), None);
        assert_eq!(exp_claim("opaque-token"), None);
    }
}
