//! Reading the `exp` claim of a JWT without verifying it: the client only needs to know when the
//! vendor will stop accepting the token, and the vendor is the one that verifies it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The `exp` claim (seconds since the Unix epoch) of a compact JWT, or `None` when the token is
/// not a JWT or carries no numeric `exp`.
pub fn exp_claim(token: &str) -> Option<f64> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    // Some issuers pad their base64url; the JWS spec says they must not, so tolerate both.
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("exp")?.as_f64()
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
