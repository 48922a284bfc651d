//! Lowering of `credentials` (names, environment variables, computed credentials) and
//! `credential_sets`; and the check that some request sends every credential.

use std::collections::HashMap;

use super::{Locations, Lowerer, is_snake_identifier};
use crate::model::*;
use crate::raw::RawSpec;

/// `<PROVIDER>_<FIELD>` upper-cased: `INTERGIRO_API_KEY`.
pub fn default_env_var(provider: &str, field: &str) -> String {
    format!("{provider}_{field}").to_ascii_uppercase()
}

/// The lowered `credentials` and `credential_sets` of a spec.
pub(super) struct Credentials {
    /// Credentials read from the environment, in file order.
    pub plain: Vec<Credential>,
    /// Credentials the client computes (signed JWTs), in file order.
    pub computed: Vec<ComputedCredential>,
    /// The credential sets, in order of preference.
    pub sets: Vec<Vec<String>>,
    /// Where each environment variable was written.
    pub locations: Locations,
}

impl Lowerer<'_> {
    /// The credentials and credential sets; each environment variable is checked and must be
    /// unique within the file. Records the declared names for the templates lowered later.
    pub(super) fn credentials(&mut self, raw: &RawSpec) -> Credentials {
        let mut locations = Locations::default();
        let mut credentials = Vec::new();
        // Which credential first used each variable, for the message about a second one.
        let mut env_owner: HashMap<String, String> = HashMap::new();
        // Computed credentials, lowered once every credential is known.
        let mut signed_raw = Vec::new();
        for (name, cred) in &raw.credentials {
            if !is_snake_identifier(&name.value) {
                self.error(
                    name.referenced,
                    format!(
                        "credential name `{}` is not a lower-case identifier",
                        name.value
                    ),
                    Some("use lower case letters, digits and `_`, e.g. `api_key`".into()),
                );
            }
            if let Some(signed) = &cred.signed_jwt {
                if let Some(env) = &cred.env {
                    self.error(
                        env.referenced,
                        format!(
                            "credential `{}` is computed (`signed_jwt`) and also has `env`",
                            name.value
                        ),
                        Some(
                            "a computed credential is not read from the environment: remove `env`"
                                .into(),
                        ),
                    );
                }
                signed_raw.push((name, cred, signed));
                continue;
            }
            let (env, at) = match &cred.env {
                Some(env) => {
                    let valid = env
                        .value
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
                        && env
                            .value
                            .chars()
                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                    if !valid {
                        self.error(
                            env.referenced,
                            format!("environment variable `{}` is not upper-case letters, digits and `_`", env.value),
                            Some(format!("the conventional name is `{}`", default_env_var(&self.name, &name.value))),
                        );
                    }
                    (env.value.clone(), env.referenced)
                }
                None => (default_env_var(&self.name, &name.value), name.referenced),
            };
            if let Some((line, column)) = locations.env_vars.get(&env) {
                let other = env_owner.get(&env).cloned().unwrap_or_default();
                self.error(
                    at,
                    format!("environment variable `{env}` is already used by credential `{other}` (line {line}, column {column})"),
                    Some(format!("each credential needs its own variable, e.g. `{}`", default_env_var(&self.name, &name.value))),
                );
            } else {
                locations
                    .env_vars
                    .insert(env.clone(), (at.line(), at.column()));
                env_owner.insert(env.clone(), name.value.clone());
            }
            credentials.push(Credential {
                name: name.value.clone(),
                secret: cred.secret.unwrap_or(true),
                env,
                description: cred.description.clone(),
                example: cred.example.clone(),
                required: cred.required.unwrap_or(true),
            });
        }
        self.credentials = raw.credentials.keys().map(|k| k.value.clone()).collect();
        self.credential_set = self.credentials.iter().cloned().collect();
        let credential_sets = self.credential_sets(&raw.credential_sets, &credentials);
        let mut computed = Vec::new();
        for (name, cred, signed) in signed_raw {
            if let Some(signed_jwt) = self.signed_jwt(&signed.value, &credentials) {
                computed.push(ComputedCredential {
                    name: name.value.clone(),
                    description: cred.description.clone(),
                    signed_jwt,
                });
            }
        }
        Credentials {
            plain: credentials,
            computed,
            sets: credential_sets,
            locations,
        }
    }

    /// Reports each credential no request sends.
    pub(super) fn check_credentials_used(&mut self, raw: &RawSpec) {
        // Only on an otherwise clean file: a broken template would make its credential look unused.
        let clean = self.diags.is_empty();
        for key in raw.credentials.keys().filter(|_| clean) {
            if !self.used_credentials.contains(&key.value) {
                self.error(
                    key.referenced,
                    format!(
                        "credential `{}` is declared but no request uses it",
                        key.value
                    ),
                    Some(format!(
                        "send it with `${{credentials.{}}}` (e.g. in the login body), or remove it",
                        key.value
                    )),
                );
            }
        }
    }
}
