//! Lowering of `environments` and `default_environment`.

use super::{Lowerer, is_snake_identifier};
use crate::model::Environment;
use crate::raw::RawSpec;
use crate::suggest::listing;

impl Lowerer<'_> {
    /// The environments in file order, each name an identifier and each base URL an origin; the
    /// default environment must be one of them.
    pub(super) fn environments(&mut self, raw: &RawSpec) -> Vec<Environment> {
        let mut environments = Vec::new();
        for (name, env) in &raw.environments {
            if !is_snake_identifier(&name.value) {
                self.error(
                    name.referenced,
                    format!(
                        "environment name `{}` is not a lower-case identifier",
                        name.value
                    ),
                    Some(
                        "use lower case letters, digits and `_`, e.g. `production`, `sandbox`"
                            .into(),
                    ),
                );
            }
            let base_url = env
                .base_url
                .as_ref()
                .and_then(|u| self.url(u, "the base URL", true));
            environments.push(Environment {
                name: name.value.clone(),
                base_url,
                description: env.description.clone(),
            });
        }
        let env_names: Vec<String> = environments.iter().map(|e| e.name.clone()).collect();
        if env_names.is_empty() {
            self.error(
                raw.default_environment.referenced,
                "no environments are declared",
                Some("declare at least one, e.g. `environments: { production: { base_url: https://api.example.com } }`".into()),
            );
        } else if !env_names.contains(&raw.default_environment.value) {
            let hint = self
                .suggestions
                .did_you_mean(&raw.default_environment.value, &env_names)
                .unwrap_or_else(|| format!("declared environments: {}", listing(&env_names)));
            self.error(
                raw.default_environment.referenced,
                format!(
                    "the default environment `{}` is not declared",
                    raw.default_environment.value
                ),
                Some(hint),
            );
        }
        environments
    }
}
