//! Lowering of computed credentials (`signed_jwt`): a JWT the client signs itself.

use serde_saphyr::Spanned;

use super::{Lowerer, placeholder_offsets};
use crate::model::{BodyValue, ClaimValue, Credential, JwtAlgorithm, SignedJwt};
use crate::node::Node;
use crate::raw::{RawSignedJwt, SpannedString};
use crate::suggest::listing;
use crate::template::{Reference, Template};

impl Lowerer<'_> {
    /// The signed JWT of credential `name`. `plain` are the credentials read from the
    /// environment: the key and the claims may name those only (a computed credential naming
    /// another could loop).
    pub(super) fn signed_jwt(
        &mut self,
        raw: &RawSignedJwt,
        plain: &[Credential],
    ) -> Option<SignedJwt> {
        let mut ok = true;
        let algorithm = match raw.algorithm.value.as_str() {
            "HS256" => Some(JwtAlgorithm::Hs256),
            "RS256" => Some(JwtAlgorithm::Rs256),
            "ES256" => Some(JwtAlgorithm::Es256),
            // Reported with the other values the schema does not list ("did you mean `HS256`?").
            _ => None,
        };
        let key = &raw.key.value;
        match plain.iter().find(|c| &c.name == key) {
            Some(c) if !c.secret => {
                ok = false;
                self.error(
                    raw.key.referenced,
                    format!("signing key `{key}` is not a secret credential"),
                    Some(format!(
                        "a signing key is a secret: remove `secret: false` from `{key}`"
                    )),
                );
            }
            Some(_) if self.optional.contains(key) => {
                ok = false;
                self.error(
                    raw.key.referenced,
                    format!("signing key `{key}` is optional: a signed credential needs its key"),
                    Some(format!("make `{key}` required")),
                );
            }
            Some(_) => {
                self.used_credentials.insert(key.clone());
            }
            None => {
                ok = false;
                let names: Vec<String> = plain.iter().map(|c| c.name.clone()).collect();
                let hint = self
                    .suggestions
                    .did_you_mean(key, &names)
                    .unwrap_or_else(|| {
                        format!(
                            "the key is a credential read from the environment: {}",
                            listing(&names)
                        )
                    });
                self.error(
                    raw.key.referenced,
                    format!("signing key `{key}` is not a declared credential"),
                    Some(hint),
                );
            }
        }
        let mut header = Vec::new();
        for (name, value) in &raw.header {
            match self.claim_template(value, plain) {
                Some(t) => header.push((name.value.clone(), t)),
                None => ok = false,
            }
        }
        let mut claims = Vec::new();
        for (name, value) in &raw.claims {
            match self.claim_value(value, plain) {
                Some(v) => claims.push((name.value.clone(), v)),
                None => ok = false,
            }
        }
        let algorithm = algorithm?;
        ok.then(|| SignedJwt {
            algorithm,
            key: key.clone(),
            header,
            claims,
        })
    }

    fn claim_value(&mut self, node: &Spanned<Node>, plain: &[Credential]) -> Option<ClaimValue> {
        match &node.value {
            Node::Map(map) if map.len() == 1 && map.contains_key("now_plus") => {
                let value = map.get("now_plus")?;
                let Node::String(text) = &value.value else {
                    self.error(
                        value.referenced,
                        "`now_plus` takes a duration",
                        Some("write e.g. `{ now_plus: 5m }`".into()),
                    );
                    return None;
                };
                let spanned = Spanned::new(text.clone(), value.referenced, value.defined);
                self.nonzero_duration(&spanned, "a lifetime")
                    .map(ClaimValue::NowPlus)
            }
            Node::String(text) => {
                let spanned = Spanned::new(text.clone(), node.referenced, node.defined);
                self.claim_template(&spanned, plain)
                    .map(|t| ClaimValue::Value(BodyValue::Template(t)))
            }
            Node::Bool(b) => Some(ClaimValue::Value(BodyValue::Bool(*b))),
            Node::Number(n) => Some(ClaimValue::Value(BodyValue::Number(n.clone()))),
            other => {
                self.error(
                    node.referenced,
                    format!("a claim is a string, a number, a boolean or `{{ now_plus: DURATION }}`, not {}", other.kind()),
                    None,
                );
                None
            }
        }
    }

    /// A template of a claim or header field: credentials read from the environment and the
    /// current time only (it is computed before any session exists).
    fn claim_template(&mut self, value: &SpannedString, plain: &[Credential]) -> Option<Template> {
        let template = match Template::parse(&value.value) {
            Ok(t) => t,
            Err(e) => {
                self.error_inside(
                    value.referenced,
                    e.offset,
                    format!("in `{}`: {}", value.value, e.message),
                    e.hint,
                );
                return None;
            }
        };
        let offsets = placeholder_offsets(&value.value);
        let mut ok = true;
        for (i, reference) in template.references().enumerate() {
            let offset = offsets.get(i).copied().unwrap_or(0);
            let problem = match reference {
                Reference::Now(_) => None,
                Reference::Credential(name)
                    if plain.iter().any(|c| &c.name == name) && self.optional.contains(name) =>
                {
                    Some((
                        format!(
                            "`{reference}` is optional and cannot be used in a signed credential: a claim cannot be left out"
                        ),
                        Some("make it required, or send it in a field of its own".into()),
                    ))
                }
                Reference::Credential(name) if plain.iter().any(|c| &c.name == name) => {
                    self.used_credentials.insert(name.clone());
                    None
                }
                Reference::Credential(name) if self.credential_set.contains(name) => Some((
                    format!(
                        "`{reference}` is a computed credential; a signed credential's claims name credentials read from the environment"
                    ),
                    None,
                )),
                Reference::Credential(_) => {
                    // The common message and hint for an undeclared credential.
                    self.check_reference(reference, super::Context::Login, false)
                        .err()
                }
                _ => Some((
                    format!(
                        "`{reference}` cannot be used in a signed credential's claims: they are computed before any session exists"
                    ),
                    Some(
                        "use `${credentials.NAME}`, `${now.epoch_seconds}` and literals there"
                            .into(),
                    ),
                )),
            };
            if let Some((message, hint)) = problem {
                ok = false;
                self.error_inside(value.referenced, offset, message, hint);
            }
        }
        ok.then_some(template)
    }
}
