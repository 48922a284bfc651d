//! Checks across the files of a spec set: provider names and environment variables must be
//! unique.

use std::collections::HashSet;

use indexmap::IndexMap;

use super::{Locations, default_env_var};
use crate::diagnostic::Diagnostic;
use crate::model::ProviderSpec;

/// Checks across providers: environment variables must be unique.
pub(crate) fn check_across(files: &[(String, ProviderSpec, Locations)]) -> Vec<Diagnostic> {
    let mut seen: IndexMap<&str, (&str, &str)> = IndexMap::new();
    let mut diags = Vec::new();
    let mut names = HashSet::new();
    for (file, spec, locations) in files {
        if !names.insert(spec.name.as_str()) {
            diags.push(Diagnostic {
                file: file.clone(),
                line: 1,
                column: 1,
                message: format!("a second provider named `{}`", spec.name),
                hint: Some("provider names are file stems and must be unique".into()),
            });
        }
        for credential in &spec.credentials {
            let env = credential.env.as_str();
            if let Some((other_file, other_provider)) = seen.get(env) {
                let (line, column) = locations.env_vars.get(env).copied().unwrap_or((1, 1));
                diags.push(Diagnostic {
                    file: file.clone(),
                    line,
                    column,
                    message: format!(
                        "environment variable `{env}` is already used by provider `{other_provider}` ({other_file})"
                    ),
                    hint: Some(format!(
                        "environment variables must be unique across providers; e.g. `{}`",
                        default_env_var(&spec.name, &credential.name)
                    )),
                });
            } else {
                seen.insert(env, (file.as_str(), spec.name.as_str()));
            }
        }
    }
    diags
}
