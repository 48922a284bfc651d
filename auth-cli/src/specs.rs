//! Which provider specs the CLI knows: the built-in `providers/*.yaml` (embedded at build time),
//! plus those of `--specs DIR`, which add providers or replace built-in ones by file stem.

use std::path::Path;
use std::sync::Arc;

use auth_spec::{Diagnostics, ProviderSpec};

/// A loaded spec and where it came from.
pub struct Loaded {
    /// The validated spec.
    pub spec: Arc<ProviderSpec>,
    /// `built-in` or the file path.
    pub origin: String,
}

/// The built-in specs, then `dir`'s (same stem replaces), checked together.
pub fn load(dir: Option<&Path>) -> Result<Vec<Loaded>, Diagnostics> {
    // (name, path shown in diagnostics, text, origin)
    let mut sources: Vec<(String, String, String, String)> = providers::SPECS
        .iter()
        .map(|(name, text)| {
            (
                name.to_string(),
                format!("providers/{name}.yaml"),
                text.to_string(),
                "built-in".to_owned(),
            )
        })
        .collect();
    if let Some(dir) = dir {
        for file in auth_spec::spec_files(dir)? {
            let shown = file.display().to_string();
            // Not UTF-8 or binary: reported at the first bad byte.
            let text = auth_spec::read_spec(&file)?;
            let name = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            sources.retain(|(n, ..)| *n != name);
            sources.push((name, shown.clone(), text, shown));
        }
    }
    sources.sort_by(|a, b| a.0.cmp(&b.0));
    let set: Vec<(&str, &str)> = sources
        .iter()
        .map(|(_, path, text, _)| (path.as_str(), text.as_str()))
        .collect();
    let specs = auth_spec::parse_set(&set)?;
    Ok(specs
        .into_iter()
        .zip(sources)
        .map(|(spec, (.., origin))| Loaded {
            spec: Arc::new(spec),
            origin,
        })
        .collect())
}
