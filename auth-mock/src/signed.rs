//! The simulator's check of computed credentials (signed JWTs): a login that should carry one is
//! accepted only when a JWT in the request verifies with the simulated key, its `exp` has not
//! passed and lies within the declared lifetime, and every declared claim and header field holds
//! the value the spec gives it (`${now.*}` within a minute of the simulator's clock).
//!
//! The simulator holds the signing key's value like every other credential (the spec's example,
//! `test-<name>`, or a value given to [`super::MockServer::start_with_credentials`], which a
//! PEM private key needs). For `RS256` / `ES256` it derives the public key from that private key
//! (`jsonwebtoken`'s JWK conversion) and verifies with the public key only, as a vendor would.

use std::time::{Duration, SystemTime};

use auth_spec::model::{BodyValue, ClaimValue, ComputedCredential, JwtAlgorithm};
use auth_spec::template::{NowFormat, Reference, Template};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde_json::Value;

/// The `jsonwebtoken` algorithm of a spec's.
fn algorithm(algorithm: JwtAlgorithm) -> Algorithm {
    match algorithm {
        JwtAlgorithm::Hs256 => Algorithm::HS256,
        JwtAlgorithm::Rs256 => Algorithm::RS256,
        JwtAlgorithm::Es256 => Algorithm::ES256,
    }
}

/// How far a signing time may be from the simulator's clock.
const TIME_SLACK: Duration = Duration::from_secs(60);

/// The verification key of `computed` given its signing key's text: the secret itself (HS256),
/// or the public half of the private key.
fn decoding_key(jwt: JwtAlgorithm, key: &str) -> Option<DecodingKey> {
    // The private key as a vendor's client would hold it, to derive the public half from.
    let encoding_key = |jwt: JwtAlgorithm, key: &str| match jwt {
        JwtAlgorithm::Hs256 => EncodingKey::from_secret(key.as_bytes()),
        JwtAlgorithm::Rs256 => EncodingKey::from_rsa_pem(key.as_bytes()),
        JwtAlgorithm::Es256 => EncodingKey::from_ec_pem(key.as_bytes()),
    };
    match jwt {
        JwtAlgorithm::Hs256 => DecodingKey::from_secret(key.as_bytes()).ok(),
        JwtAlgorithm::Rs256 | JwtAlgorithm::Es256 => {
            let private = encoding_key(jwt, key).ok()?;
            let public = Jwk::from_encoding_key(&private, algorithm(jwt)).ok()?;
            DecodingKey::from_jwk(&public).ok()
        }
    }
}

/// Every run of JWT characters with two dots in `text`.
fn candidates(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .filter(|run| run.matches('.').count() == 2)
}

/// Whether `haystack` (all a request carried) holds a valid assertion of `computed`.
/// `credential` gives the simulated value of a plain credential.
pub(super) fn carried(
    computed: &ComputedCredential,
    haystack: &str,
    credential: &dyn Fn(&str) -> Option<String>,
    now: SystemTime,
) -> bool {
    let jwt = &computed.signed_jwt;
    let Some(key) = credential(&jwt.key).and_then(|k| decoding_key(jwt.algorithm, &k)) else {
        return false;
    };
    let mut validation = Validation::new(algorithm(jwt.algorithm));
    // `exp` and the other claims are checked below, against the spec.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    candidates(haystack).any(|token| {
        jsonwebtoken::decode::<Value>(token, &key, &validation).is_ok_and(|data| {
            let header = serde_json::to_value(&data.header).unwrap_or(Value::Null);
            jwt.header
                .iter()
                .all(|(name, t)| template_holds(t, header.get(name), credential, now))
                && jwt
                    .claims
                    .iter()
                    .all(|(name, value)| claim_holds(value, data.claims.get(name), credential, now))
        })
    })
}

fn claim_holds(
    declared: &ClaimValue,
    got: Option<&Value>,
    credential: &dyn Fn(&str) -> Option<String>,
    now: SystemTime,
) -> bool {
    let now_secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    match declared {
        // Not past, and no later than the declared lifetime from now.
        ClaimValue::NowPlus(lifetime) => got.and_then(Value::as_u64).is_some_and(|exp| {
            exp > now_secs.saturating_sub(1) && exp <= now_secs + lifetime.as_secs() + 1
        }),
        ClaimValue::Value(BodyValue::Template(t)) => template_holds(t, got, credential, now),
        ClaimValue::Value(BodyValue::Number(n)) => {
            got.and_then(Value::as_f64) == n.as_f64() && got.is_some()
        }
        ClaimValue::Value(BodyValue::Bool(b)) => got == Some(&Value::Bool(*b)),
        ClaimValue::Value(_) => got.is_some(),
    }
}

/// Whether `got` is what `template` renders to with the simulated credentials; a template
/// naming the current time holds when it renders so within [`TIME_SLACK`] of `now`.
fn template_holds(
    template: &Template,
    got: Option<&Value>,
    credential: &dyn Fn(&str) -> Option<String>,
    now: SystemTime,
) -> bool {
    let Some(got) = got else {
        return false;
    };
    let render = |at: SystemTime| {
        template.render_value(|r| match r {
            Reference::Credential(name) => credential(name).map(Value::from),
            Reference::Now(form) => Some(form.value(at)),
            _ => None,
        })
    };
    let timed = template.references().find_map(|r| match r {
        Reference::Now(form) => Some(*form),
        _ => None,
    });
    match timed {
        None => render(now).is_ok_and(|want| &want == got),
        // A sole epoch value: a number near now.
        Some(NowFormat::EpochSeconds | NowFormat::EpochMillis)
            if template.sole_reference().is_some() =>
        {
            let (Ok(early), Ok(late)) = (render(now - TIME_SLACK), render(now + TIME_SLACK)) else {
                return false;
            };
            match (early.as_u64(), got.as_u64(), late.as_u64()) {
                (Some(early), Some(got), Some(late)) => early <= got && got <= late,
                _ => false,
            }
        }
        // Time as text: any second within the slack.
        Some(_) => (0..=2 * TIME_SLACK.as_secs()).any(|s| {
            render(now - TIME_SLACK + Duration::from_secs(s)).is_ok_and(|want| &want == got)
        }),
    }
}
