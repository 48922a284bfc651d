//! Checking `${session.access_token.claims.NAME}` against the example tokens that are JWTs.
//!
//! A claim is only known to exist when an example shows it: with no JWT among the examples the
//! claim cannot be checked, and that is an error (never a silent guess).

use serde_json::Value;

use super::Problem;
use crate::jwt;
use crate::suggest::listing;
use crate::template::Reference;
use crate::timefmt::kind_of;

/// Checks that every example token that is a JWT carries claim `name` as a value a request can
/// send; `structured_ok` when a whole JSON body value may be an object or array.
pub(super) fn check_claim(
    reference: &Reference,
    name: &str,
    tokens: &[(Option<String>, String)],
    structured_ok: bool,
) -> Result<(), Problem> {
    let jwts: Vec<&(Option<String>, String)> =
        tokens.iter().filter(|(_, t)| jwt::is_jwt(t)).collect();
    if jwts.is_empty() {
        return Err((
            format!("`{reference}` cannot be checked: no example access token is a JWT"),
            Some("copy an example answer from the vendor's document whose access token is a JWT carrying the claim".into()),
        ));
    }
    for (description, token) in jwts {
        let shown = description
            .as_deref()
            .map(|d| format!(" (\"{d}\")"))
            .unwrap_or_default();
        match jwt::claim(token, name) {
            None => {
                let names = jwt::claim_names(token);
                let hint = if names.is_empty() {
                    "the token carries no claims".to_owned()
                } else {
                    format!("the token's claims: {}", listing(&names))
                };
                return Err((
                    format!("`{reference}`: the example access token{shown} has no claim `{name}`"),
                    Some(hint),
                ));
            }
            Some(v @ (Value::Object(_) | Value::Array(_))) if !structured_ok => {
                return Err((
                    format!(
                        "`{reference}` is {} in the example access token{shown}; only a whole JSON body value may be structured",
                        kind_of(&v)
                    ),
                    Some("name a claim that is a string, number or boolean".into()),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}
