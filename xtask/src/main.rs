//! Repository automation, run as `cargo xtask <command>` (see `.cargo/config.toml`).
//!
//! - `validate [PATH...]`: check spec files or folders (default: `providers/`); prints
//!   `file:line:col: error: ...` diagnostics and exits non-zero when any spec is invalid.
//! - `schema`: rewrite `providers/schema.json` from the spec model.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    match args.first().map(String::as_str) {
        Some("validate") => validate(&root, &args[1..]),
        Some("schema") => schema(&root),
        Some("help" | "--help" | "-h") | None => {
            eprintln!("{USAGE}");
            if args.is_empty() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Some(other) => {
            eprintln!("error: unknown command `{other}`\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

const USAGE: &str = "usage: cargo xtask <command>

commands:
  validate [PATH...]   check spec files or folders (default: providers/)
  schema               rewrite providers/schema.json from the spec model";

/// The workspace root: xtask lives one level below it.
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn validate(root: &Path, paths: &[String]) -> ExitCode {
    // Relative paths stay as the user wrote them (they appear in diagnostics); the default is
    // shown relative to the workspace root.
    let targets: Vec<PathBuf> = if paths.is_empty() {
        let _ = std::env::set_current_dir(root);
        vec![PathBuf::from("providers")]
    } else {
        paths.iter().map(PathBuf::from).collect()
    };
    match auth_spec::load(&targets) {
        Ok(specs) => {
            for spec in &specs {
                eprintln!("ok: {} ({})", spec.name, spec.title);
            }
            eprintln!("{} spec(s) valid", specs.len());
            ExitCode::SUCCESS
        }
        Err(diags) => {
            eprintln!("{diags}");
            eprintln!("{} problem(s) found", diags.len());
            ExitCode::FAILURE
        }
    }
}

fn schema(root: &Path) -> ExitCode {
    let path = root.join("providers/schema.json");
    let text = auth_spec::json_schema();
    if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
        eprintln!("{} is up to date", path.display());
        return ExitCode::SUCCESS;
    }
    match std::fs::write(&path, text) {
        Ok(()) => {
            eprintln!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}
