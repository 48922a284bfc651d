//! The user's credentials for one provider.

use std::fmt;

use auth_spec::ProviderSpec;
use indexmap::IndexMap;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{AuthError, AuthErrorKind};

pub(crate) mod signed;

/// Credential values by the spec's credential names. Debug output never shows a value.
#[derive(Clone, Default)]
pub struct Credentials {
    values: IndexMap<String, SecretString>,
}

impl Credentials {
    /// No credentials yet; add them with [`Credentials::with`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a credential value.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.insert(name, value);
        self
    }

    /// Adds or replaces a credential value.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values
            .insert(name.into(), SecretString::from(value.into()));
    }

    /// Reads every credential of `spec` from its environment variable
    /// (`INTERGIRO_API_KEY`, ...); the error names the first missing variable.
    pub fn from_env(spec: &ProviderSpec) -> Result<Self, AuthError> {
        Self::from_lookup(spec, |var| std::env::var(var).ok())
    }

    /// Like [`Credentials::from_env`] with a custom variable lookup.
    pub fn from_lookup(
        spec: &ProviderSpec,
        mut lookup: impl FnMut(&str) -> Option<String>,
    ) -> Result<Self, AuthError> {
        let mut out = Self::new();
        for credential in &spec.credentials {
            match lookup(&credential.env).filter(|v| !v.is_empty()) {
                Some(value) => out.insert(credential.name.clone(), value),
                // Absent optional values are left out; the credential sets are checked by
                // `resolved`.
                None if spec.is_optional(&credential.name) => {}
                None => {
                    return Err(AuthErrorKind::MissingCredential {
                        provider: spec.name.clone(),
                        name: credential.name.clone(),
                        env: credential.env.clone(),
                    }
                    .into());
                }
            }
        }
        Ok(out)
    }

    /// Adds or replaces a credential value that is already a secret.
    pub fn insert_secret(&mut self, name: impl Into<String>, value: SecretString) {
        self.values.insert(name.into(), value);
    }

    /// Removes a secret credential and returns it (typed clients build their fields with it).
    pub fn take_secret(&mut self, name: &str) -> Result<SecretString, AuthError> {
        self.values
            .shift_remove(name)
            .ok_or_else(|| AuthError::config(format!("credential `{name}` is missing")))
    }

    /// Removes a non-secret credential (an account id, a tenant) and returns it as text.
    pub fn take_plain(&mut self, name: &str) -> Result<String, AuthError> {
        self.take_secret(name).map(|v| v.expose_secret().to_owned())
    }

    /// The value of a credential.
    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.values.get(name)
    }

    /// Checks that every credential `spec` requires is present, and that one of its credential
    /// sets (if it declares any) is complete.
    pub fn check(&self, spec: &ProviderSpec) -> Result<(), AuthError> {
        self.resolved(spec).map(|_| ())
    }

    /// These credentials as `spec` uses them: every required one present, and of its credential
    /// sets the first complete one chosen, the credentials of the other sets left out (treated
    /// as absent, so their entries are not sent). The error names each set and the environment
    /// variables it lacks when none is complete.
    pub fn resolved(&self, spec: &ProviderSpec) -> Result<Self, AuthError> {
        self.check_required(spec)?;
        if spec.credential_sets.is_empty() {
            return Ok(self.clone());
        }
        let chosen = spec
            .credential_sets
            .iter()
            .find(|set| set.iter().all(|name| self.values.contains_key(name)));
        let Some(chosen) = chosen else {
            let sets = spec
                .credential_sets
                .iter()
                .map(|set| {
                    let lacking = set
                        .iter()
                        .filter(|name| !self.values.contains_key(*name))
                        .map(|name| {
                            spec.credential(name)
                                .map_or_else(|| name.clone(), |c| c.env.clone())
                        })
                        .collect();
                    (set.clone(), lacking)
                })
                .collect();
            return Err(AuthErrorKind::NoCredentialSet {
                provider: spec.name.clone(),
                sets,
            }
            .into());
        };
        let mut out = self.clone();
        for set in &spec.credential_sets {
            for name in set.iter().filter(|n| !chosen.contains(n)) {
                out.values.shift_remove(name);
            }
        }
        Ok(out)
    }

    fn check_required(&self, spec: &ProviderSpec) -> Result<(), AuthError> {
        match spec
            .credentials
            .iter()
            .find(|c| !self.values.contains_key(&c.name) && !spec.is_optional(&c.name))
        {
            Some(c) => Err(AuthErrorKind::MissingCredential {
                provider: spec.name.clone(),
                name: c.name.clone(),
                env: c.env.clone(),
            }
            .into()),
            None => Ok(()),
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &SecretString)> {
        self.values.iter()
    }
}

/// Credentials from (name, value) pairs, e.g. a simulator's test values.
impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Credentials {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let mut out = Self::new();
        for (name, value) in pairs {
            out.insert(name, value);
        }
        out
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.values.keys().map(|k| (k, "[redacted]")))
            .finish()
    }
}
