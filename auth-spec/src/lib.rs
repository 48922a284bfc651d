//! The provider spec language: one YAML file per vendor describing its token authentication.
//!
//! [`parse`] is the one entry point everything else uses: it reads YAML (with `serde-saphyr`),
//! rejects unknown keys with a "did you mean" hint, runs every semantic check, and returns either
//! the validated [`ProviderSpec`] or all [`Diagnostics`] of the file, each as
//! `file:line:col: error: message` with a hint.
//!
//! ```
//! let yaml = r#"
//! title: Example
//! environments:
//!   production: { base_url: https://api.example.com }
//! default_environment: production
//! credentials:
//!   api_key: { description: The API key }
//! login:
//!   method: POST
//!   path: /auth/login
//!   encoding: json
//!   body: { api_key: "${credentials.api_key}" }
//!   response:
//!     access_token: $.token
//!     access_token_expiry: [ { expires_in: { path: $.expires_in } } ]
//!     examples: [ { body: { token: abc, expires_in: 3600 } } ]
//! policy: { refresh: after_expiry }
//! usage:
//!   headers: { Authorization: "Bearer ${session.access_token}" }
//! "#;
//! let spec = auth_spec::parse("providers/example.yaml", yaml).unwrap();
//! assert_eq!(spec.name, "example");
//! assert_eq!(spec.credentials[0].env, "EXAMPLE_API_KEY");
//! ```
//!
//! Module map: [`raw`] is the file format as written (and the JSON Schema source); [`model`] is
//! the validated form; [`extract`] reads tokens out of answers; [`path`] and [`template`] are the
//! two small languages inside string values.

pub mod answer;
pub mod diagnostic;
pub mod duration;
pub mod extract;
pub mod judge;
pub mod jwt;
mod known;
pub mod lifetime;
mod lower;
pub mod model;
pub mod node;
pub mod path;
pub mod raw;
pub mod render;
pub mod size;
pub mod source;
mod suggest;
pub mod template;
pub mod timefmt;

use std::path::{Path, PathBuf};

pub use diagnostic::{Diagnostic, Diagnostics};
pub use lower::default_env_var;
pub use model::ProviderSpec;
pub use source::{read_spec, spec_text};

use lower::{Locations, Lowerer};

/// Parses and validates one spec. `file` is the path as it should appear in diagnostics; its
/// stem is the provider name.
pub fn parse(file: impl AsRef<Path>, source: &str) -> Result<ProviderSpec, Diagnostics> {
    parse_located(file.as_ref(), source).map(|(spec, _)| spec)
}

pub(crate) fn display_path(file: &Path) -> String {
    file.to_string_lossy().replace('\\', "/")
}

fn parse_located(file: &Path, source: &str) -> Result<(ProviderSpec, Locations), Diagnostics> {
    let shown = display_path(file);
    let name = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(d) = source::not_yaml_char(&shown, source) {
        return Err(Diagnostics(vec![d]));
    }
    // Any YAML reads as a tree: a failure here is the YAML's own (syntax, duplicate key).
    let tree: serde_saphyr::Spanned<known::Tree> = serde_saphyr::from_str(source)
        .map_err(|e| Diagnostics(vec![yaml_error(&shown, source, &e)]))?;
    let mut found = known::check(&shown, &tree);
    let mut diags = std::mem::take(&mut found.diagnostics);
    match serde_saphyr::from_str::<raw::RawSpec>(source) {
        Ok(raw) => match Lowerer::new(&shown, &name, source).lower(raw) {
            Ok(lowered) if diags.is_empty() => return Ok(lowered),
            Ok(_) => {}
            Err(more) => diags.extend(
                more.into_iter()
                    .filter(|d| !found.follows_from_a_misspelling(d)),
            ),
        },
        Err(e) => {
            // The typed parse stops at its first error; the first pass may have said it already.
            let missing_explained = matches!(
                e.without_snippet(),
                serde_saphyr::Error::SerdeMissingField { field, .. }
                    if found.explained_missing.contains(*field)
            );
            let d = yaml_error(&shown, source, &e);
            let said = diags
                .iter()
                .any(|k| (k.line, k.column) == (d.line, d.column) && k.message == d.message);
            if !missing_explained && !said {
                diags.push(d);
            }
        }
    }
    // In line order; problems at one place keep the order they were found in.
    diags.sort_by_key(|d| (d.line, d.column));
    Err(Diagnostics(diags))
}

/// Reads, parses and validates one spec file.
pub fn parse_file(file: impl AsRef<Path>) -> Result<ProviderSpec, Diagnostics> {
    let file = file.as_ref();
    let source = read_spec(file)?;
    parse(file, &source)
}

/// Parses several specs given as (path, source) and checks them together (environment variables
/// unique across providers, provider names unique). Reports the problems of every file.
pub fn parse_set<P: AsRef<Path>>(files: &[(P, &str)]) -> Result<Vec<ProviderSpec>, Diagnostics> {
    let mut diags = Vec::new();
    let mut parsed = Vec::new();
    for (file, source) in files {
        match parse_located(file.as_ref(), source) {
            Ok((spec, locations)) => parsed.push((display_path(file.as_ref()), spec, locations)),
            Err(d) => diags.extend(d),
        }
    }
    diags.extend(lower::check_across(&parsed));
    if diags.is_empty() {
        Ok(parsed.into_iter().map(|(_, spec, _)| spec).collect())
    } else {
        Err(Diagnostics(diags))
    }
}

/// Parses several specs given as (path, source) and checks them together, like [`parse_set`],
/// but gives each file its own outcome (in the order given), so that one invalid file does not
/// make the others unusable. A problem across files (an environment variable another provider
/// already reads, a provider name given twice) counts against the file it is reported at: the
/// later one in `files`; the first user stays valid.
pub fn parse_each<P: AsRef<Path>>(files: &[(P, &str)]) -> Vec<Result<ProviderSpec, Diagnostics>> {
    let mut problems: Vec<Vec<Diagnostic>> = vec![Vec::new(); files.len()];
    let mut parsed = Vec::new();
    let mut index = Vec::new();
    for (i, (file, source)) in files.iter().enumerate() {
        match parse_located(file.as_ref(), source) {
            Ok((spec, locations)) => {
                parsed.push((display_path(file.as_ref()), spec, locations));
                index.push(i);
            }
            Err(d) => problems[i] = d.0,
        }
    }
    let by_file: std::collections::HashMap<&str, usize> = parsed
        .iter()
        .zip(&index)
        .map(|((file, ..), i)| (file.as_str(), *i))
        .collect();
    for d in lower::check_across(&parsed) {
        if let Some(&i) = by_file.get(d.file.as_str()) {
            problems[i].push(d);
        }
    }
    let mut specs: Vec<Option<ProviderSpec>> = (0..files.len()).map(|_| None).collect();
    for (at, (_, spec, _)) in parsed.into_iter().enumerate() {
        specs[index[at]] = Some(spec);
    }
    specs
        .into_iter()
        .zip(problems)
        .map(|(spec, problems)| match spec {
            Some(spec) if problems.is_empty() => Ok(spec),
            _ => Err(Diagnostics(problems)),
        })
        .collect()
}

/// The spec files a path names: the file itself, or every `*.yaml` / `*.yml` in a folder
/// (not recursive), sorted by name.
pub fn spec_files(path: &Path) -> Result<Vec<PathBuf>, Diagnostics> {
    if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| {
            Diagnostics(vec![Diagnostic {
                file: display_path(path),
                line: 0,
                column: 0,
                message: format!("cannot read the folder: {e}"),
                hint: None,
            }])
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .is_some_and(|ext| ext == "yaml" || ext == "yml")
            })
            .collect();
        files.sort();
        Ok(files)
    } else if path.exists() {
        Ok(vec![path.to_path_buf()])
    } else {
        Err(Diagnostics(vec![Diagnostic {
            file: display_path(path),
            line: 0,
            column: 0,
            message: "no such file or folder".into(),
            hint: None,
        }]))
    }
}

/// Loads every spec under the given files or folders and checks them together.
pub fn load<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<ProviderSpec>, Diagnostics> {
    let mut diags = Vec::new();
    let mut sources = Vec::new();
    for path in paths {
        match spec_files(path.as_ref()) {
            Ok(files) => {
                for file in files {
                    match read_spec(&file) {
                        Ok(text) => sources.push((file, text)),
                        Err(d) => diags.extend(d),
                    }
                }
            }
            Err(d) => diags.extend(d),
        }
    }
    let borrowed: Vec<(&Path, &str)> = sources
        .iter()
        .map(|(p, s)| (p.as_path(), s.as_str()))
        .collect();
    match parse_set(&borrowed) {
        Ok(specs) if diags.is_empty() => Ok(specs),
        Ok(_) => Err(Diagnostics(diags)),
        Err(more) => {
            diags.extend(more);
            Err(Diagnostics(diags))
        }
    }
}

/// The JSON Schema of the spec format, pretty-printed, as committed in `providers/schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(raw::RawSpec);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

fn yaml_error(file: &str, source: &str, error: &serde_saphyr::Error) -> Diagnostic {
    use serde_saphyr::Error as E;
    let inner = error.without_snippet();
    let location = inner.location().or_else(|| error.location());
    let (mut line, mut column) = location.map_or((1, 1), |l| (l.line(), l.column()));
    let (message, hint) = match inner {
        E::SerdeUnknownField {
            field, expected, ..
        } => (
            format!("unknown key `{field}`"),
            Some(unknown_hint(field, expected, "keys allowed here")),
        ),
        E::SerdeUnknownVariant {
            variant, expected, ..
        } => (
            format!("unknown value `{variant}`"),
            Some(unknown_hint(variant, expected, "values allowed here")),
        ),
        E::SerdeMissingField { field, .. } => {
            // The parser notices at the end of the mapping; point at the mapping's first key.
            (line, column) = mapping_start(source, line, column);
            (
                format!("missing key `{field}` in this mapping"),
                Some(format!(
                    "add `{field}:`; README.md's \"Spec format reference\" says what it holds"
                )),
            )
        }
        E::DuplicateMappingKey { key, .. } => (
            match key {
                Some(key) => format!("duplicate key `{key}`"),
                None => "duplicate key".to_owned(),
            },
            Some("a key may appear once in a mapping; remove or merge the repeated one".into()),
        ),
        other => {
            let text = other.to_string();
            // serde-saphyr appends " at line L, column C"; we print the location up front.
            let text = match text.rfind(" at line ") {
                Some(i) => text[..i].to_owned(),
                None => text,
            };
            (
                format!("not valid YAML: {text}"),
                Some("check the indentation and quoting near here; quote values that start with `{`, `[`, `*`, `&`, `!`, `@` or contain `: `".into()),
            )
        }
    };
    Diagnostic {
        file: file.to_owned(),
        line,
        column,
        message,
        hint,
    }
}

pub(crate) fn unknown_hint(input: &str, expected: &[&str], what: &str) -> String {
    match suggest::did_you_mean(input, expected) {
        Some(hint) => hint,
        None => format!("{what}: {}", expected.join(", ")),
    }
}

/// The first key of the block mapping that contains the key at (`line`, `column`): the topmost
/// line above it, at the same indentation, with no line indented less in between.
fn mapping_start(source: &str, line: u64, column: u64) -> (u64, u64) {
    let lines: Vec<&str> = source.lines().collect();
    let Some(index) = usize::try_from(line).ok().and_then(|l| l.checked_sub(1)) else {
        return (line, column);
    };
    let indent = usize::try_from(column).unwrap_or(1).saturating_sub(1);
    let Some(text) = lines.get(index) else {
        return (line, column);
    };
    // Only block mappings, where the key starts its line (after indentation or a `- `).
    let lead: String = text.chars().take(indent).collect();
    if !lead.chars().all(|c| c == ' ' || c == '-') {
        return (line, column);
    }
    let mut first = index;
    for i in (0..index).rev() {
        let t = lines[i];
        let trimmed = t.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let own = t.len() - trimmed.len();
        if own < indent {
            // A sequence item `- key:` opens the mapping at `indent`.
            if trimmed.starts_with("- ") && own + 2 == indent {
                first = i;
            }
            break;
        }
        if own == indent {
            first = i;
        }
    }
    (first as u64 + 1, column)
}

#[cfg(test)]
mod tests {
    use super::mapping_start;

    #[test]
    fn finds_the_first_key_of_a_block_mapping() {
        let yaml = "title: T\nlogin:\n  method: POST\n  # note\n  path: /x\npolicy:\n  a: 1\n";
        assert_eq!(mapping_start(yaml, 5, 3), (3, 3));
        assert_eq!(mapping_start(yaml, 7, 3), (7, 3));
        assert_eq!(mapping_start(yaml, 6, 1), (1, 1));
        let seq = "examples:\n  - status: 200\n    body: {}\n";
        assert_eq!(mapping_start(seq, 3, 5), (2, 5));
    }
}
