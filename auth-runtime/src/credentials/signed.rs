//! Computed credentials: a JWT the client signs itself for each request that sends it (the OAuth
//! `private_key_jwt` client assertion of RFC 7523). Signing is `jsonwebtoken`'s (RustCrypto
//! backend); nothing here is hand-written cryptography.

use std::time::SystemTime;

use auth_spec::ProviderSpec;
use auth_spec::model::{BodyValue, ClaimValue, ComputedCredential, Endpoint, JwtAlgorithm};
use auth_spec::template::Reference;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use super::Credentials;
use crate::error::{AuthError, AuthErrorKind};

/// The `jsonwebtoken` algorithm of a spec's.
pub(crate) fn algorithm(algorithm: JwtAlgorithm) -> Algorithm {
    match algorithm {
        JwtAlgorithm::Hs256 => Algorithm::HS256,
        JwtAlgorithm::Rs256 => Algorithm::RS256,
        JwtAlgorithm::Es256 => Algorithm::ES256,
    }
}

/// The signing key of `algorithm` from the key credential's text. The error says what is wrong
/// with the key, never what it holds.
pub(crate) fn encoding_key(algorithm: JwtAlgorithm, key: &str) -> Result<EncodingKey, String> {
    let parsed = match algorithm {
        JwtAlgorithm::Hs256 => EncodingKey::from_secret(key.as_bytes()),
        JwtAlgorithm::Rs256 => EncodingKey::from_rsa_pem(key.as_bytes()),
        JwtAlgorithm::Es256 => EncodingKey::from_ec_pem(key.as_bytes()),
    };
    parsed.map_err(|_| match algorithm {
        JwtAlgorithm::Hs256 => "the HMAC secret is empty".to_owned(),
        JwtAlgorithm::Rs256 => "it is not a PEM RSA private key (PKCS#1 or PKCS#8)".to_owned(),
        JwtAlgorithm::Es256 => "it is not a PEM P-256 private key (PKCS#8)".to_owned(),
    })
}

/// Whether `endpoint` (or these templates) names a computed credential of `spec`.
pub(crate) fn uses_computed<'a>(
    spec: &ProviderSpec,
    mut templates: impl Iterator<Item = &'a auth_spec::template::Template>,
) -> bool {
    !spec.computed.is_empty()
        && templates.any(|t| {
            t.references().any(|r| {
                matches!(r, Reference::Credential(name) if spec.computed.iter().any(|c| &c.name == name))
            })
        })
}

/// `credentials` with every computed credential of `spec` added, signed at `now`, when
/// `endpoint` sends one; `None` when it sends none (nothing to sign).
pub(crate) fn for_endpoint(
    spec: &ProviderSpec,
    endpoint: &Endpoint,
    credentials: &Credentials,
    now: SystemTime,
) -> Result<Option<Credentials>, AuthError> {
    if !uses_computed(spec, endpoint.templates().into_iter()) {
        return Ok(None);
    }
    with_computed(spec, credentials, now).map(Some)
}

/// `credentials` with every computed credential of `spec` added, signed at `now`.
pub(crate) fn with_computed(
    spec: &ProviderSpec,
    credentials: &Credentials,
    now: SystemTime,
) -> Result<Credentials, AuthError> {
    let mut out = credentials.clone();
    for computed in &spec.computed {
        let value = sign(spec, computed, credentials, now)?;
        out.insert_secret(computed.name.clone(), value);
    }
    Ok(out)
}

/// The claims of `computed` at `now`, with `credentials` filled in (`None`: one is missing).
pub(crate) fn claims(
    computed: &ComputedCredential,
    mut lookup: impl FnMut(&Reference) -> Option<Value>,
    now: SystemTime,
) -> Result<Map<String, Value>, Reference> {
    let since = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let mut claims = Map::new();
    for (name, value) in &computed.signed_jwt.claims {
        let value = match value {
            ClaimValue::NowPlus(d) => Value::from((since + *d).as_secs()),
            ClaimValue::Value(BodyValue::Template(t)) => t.render_value(&mut lookup)?,
            ClaimValue::Value(BodyValue::Bool(b)) => Value::Bool(*b),
            ClaimValue::Value(BodyValue::Number(n)) => Value::Number(n.clone()),
            // The validator admits only templates, numbers, booleans and `now_plus`.
            ClaimValue::Value(_) => Value::Null,
        };
        claims.insert(name.clone(), value);
    }
    Ok(claims)
}

fn sign(
    spec: &ProviderSpec,
    computed: &ComputedCredential,
    credentials: &Credentials,
    now: SystemTime,
) -> Result<SecretString, AuthError> {
    let jwt = &computed.signed_jwt;
    let failed = |reason: String| {
        AuthErrorKind::SigningFailed {
            provider: spec.name.clone(),
            credential: computed.name.clone(),
            key: jwt.key.clone(),
            reason,
        }
        .into()
    };
    let lookup = |r: &Reference| match r {
        Reference::Credential(name) => credentials
            .get(name)
            .map(|v| Value::from(v.expose_secret())),
        Reference::Now(form) => Some(form.value(now)),
        _ => None,
    };
    let missing = |r: Reference| failed(format!("`{r}` has no value"));
    let claims = claims(computed, lookup, now).map_err(missing)?;
    let alg = algorithm(jwt.algorithm);
    let mut header = Map::new();
    header.insert("alg".into(), Value::from(jwt.algorithm.as_str()));
    header.insert("typ".into(), Value::from("JWT"));
    for (name, template) in &jwt.header {
        header.insert(
            name.clone(),
            template.render_value(lookup).map_err(missing)?,
        );
    }
    let header: Header = serde_json::from_value(Value::Object(header))
        .map_err(|_| failed("the declared header fields do not form a JWT header".into()))?;
    let key_text = credentials
        .get(&jwt.key)
        .ok_or_else(|| failed(format!("its key `{}` has no value", jwt.key)))?;
    let key = encoding_key(jwt.algorithm, key_text.expose_secret())
        .map_err(|reason| failed(format!("the key `{}`: {reason}", jwt.key)))?;
    debug_assert_eq!(header.alg, alg);
    jsonwebtoken::encode(&header, &Value::Object(claims), &key)
        .map(SecretString::from)
        .map_err(|e| {
            failed(format!(
                "the key `{}` could not sign ({}): is it a private key of {}?",
                jwt.key,
                e.kind_name(),
                jwt.algorithm.as_str()
            ))
        })
}

/// A short name of a `jsonwebtoken` error, which never holds key material.
trait KindName {
    fn kind_name(&self) -> &'static str;
}

impl KindName for jsonwebtoken::errors::Error {
    fn kind_name(&self) -> &'static str {
        use jsonwebtoken::errors::ErrorKind;
        match self.kind() {
            ErrorKind::InvalidEcdsaKey => "invalid ECDSA key",
            ErrorKind::InvalidRsaKey(_) => "invalid RSA key",
            ErrorKind::RsaFailedSigning => "RSA signing failed",
            ErrorKind::InvalidKeyFormat => "invalid key format",
            ErrorKind::InvalidAlgorithm => "the key does not fit the algorithm",
            _ => "signing error",
        }
    }
}
