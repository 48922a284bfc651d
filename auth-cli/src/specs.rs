//! Which provider specs the CLI knows: the built-in `providers/*.yaml` (embedded at build time),
//! plus those of `--specs DIR`, which add providers or replace built-in ones by file stem.
//!
//! Each file stands on its own: an invalid one makes only its own provider unusable (commands
//! for the others warn about it in one line), and a problem across files (an environment
//! variable another provider already reads) counts against the file it is reported at.

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

/// A spec file that did not validate.
pub struct Invalid {
    /// The provider name it would have had (its file stem).
    pub name: String,
    /// The file, as shown in diagnostics.
    pub file: String,
    /// Its problems.
    pub diagnostics: Diagnostics,
}

/// Every known spec: the valid ones and the invalid ones, each sorted by provider name.
pub struct Catalog {
    /// The specs that validated.
    pub loaded: Vec<Loaded>,
    /// The files that did not.
    pub invalid: Vec<Invalid>,
}

impl Catalog {
    /// The problems of every invalid file, or `None` when all are valid.
    pub fn problems(&self) -> Option<Diagnostics> {
        let all: Vec<_> = self
            .invalid
            .iter()
            .flat_map(|i| i.diagnostics.iter().cloned())
            .collect();
        (!all.is_empty()).then_some(Diagnostics(all))
    }

    /// Prints one warning line per invalid file (for commands that use the other providers).
    pub fn warn_invalid(&self) {
        for i in &self.invalid {
            eprintln!(
                "warning: {} is invalid, provider `{}` is unavailable ({} problem(s); see `auth-cli validate`)",
                i.file,
                i.name,
                i.diagnostics.len()
            );
        }
    }
}

/// The built-in specs, then `dir`'s (same stem replaces), checked together. Only a folder that
/// cannot be read is an error for all.
pub fn load(dir: Option<&Path>) -> Result<Catalog, Diagnostics> {
    // (name, path shown in diagnostics, text or why it is unreadable, origin)
    let mut sources: Vec<(String, String, Result<String, Diagnostics>, String)> = providers::SPECS
        .iter()
        .map(|(name, text)| {
            (
                name.to_string(),
                format!("providers/{name}.yaml"),
                Ok(text.to_string()),
                "built-in".to_owned(),
            )
        })
        .collect();
    if let Some(dir) = dir {
        for file in auth_spec::spec_files(dir)? {
            let shown = file.display().to_string();
            // Not UTF-8 or binary: reported at the first bad byte, against this file only.
            let text = auth_spec::read_spec(&file);
            let name = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            sources.retain(|(n, ..)| *n != name);
            sources.push((name, shown.clone(), text, shown));
        }
    }
    sources.sort_by(|a, b| a.0.cmp(&b.0));
    let readable: Vec<(&str, &str)> = sources
        .iter()
        .filter_map(|(_, path, text, _)| Some((path.as_str(), text.as_ref().ok()?.as_str())))
        .collect();
    let mut parsed = auth_spec::parse_each(&readable).into_iter();
    let mut catalog = Catalog {
        loaded: Vec::new(),
        invalid: Vec::new(),
    };
    for (name, file, text, origin) in sources {
        let outcome = match text {
            Ok(_) => parsed.next().unwrap_or_else(|| Err(Diagnostics::default())),
            Err(d) => Err(d),
        };
        match outcome {
            Ok(spec) => catalog.loaded.push(Loaded {
                spec: Arc::new(spec),
                origin,
            }),
            Err(diagnostics) => catalog.invalid.push(Invalid {
                name,
                file,
                diagnostics,
            }),
        }
    }
    Ok(catalog)
}
