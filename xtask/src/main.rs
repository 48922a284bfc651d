//! Repository automation, run as `cargo xtask <command>` (see `.cargo/config.toml`).
//!
//! - `validate [PATH...]`: check spec files or folders (default: `providers/`); prints
//!   `file:line:col: error: ...` diagnostics and exits non-zero when any spec is invalid.
//! - `schema`: rewrite `providers/schema.json` from the spec model.
//! - `snapshots`: regenerate every snapshot (generated code per provider, diagnostics of the
//!   invalid specs, the macro's compile errors), dropping orphaned ones.
//! - `docs`: `cargo doc` with broken intra-doc links as errors, and the generated modules'
//!   pages checked for links left unresolved (rustdoc does not report those).
//! - `bench`: measure code generation: macro expansion time and `providers` build time for the
//!   three vendors and for 50 generated copies of them.
//! - `instructions [GROUP]`: the auth layers' cost per request in instructions (callgrind), next
//!   to the same request without them; one group (`layer_cost`, `middleware`, `tower`) or all.

mod bench;
mod docs;
mod instructions;
mod locked;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    match args.first().map(String::as_str) {
        Some("validate") => validate(&root, &args[1..]),
        Some("schema") => schema(&root),
        Some("snapshots") => snapshots(&root),
        Some("bench") => exit_code(bench::measure(&root)),
        Some("docs") => docs::run(&root),
        Some("instructions") => exit_code(instructions::measure(
            &root,
            args.get(1).map(String::as_str),
        )),
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
  schema               rewrite providers/schema.json from the spec model
  snapshots            regenerate every snapshot and drop orphaned ones
  bench                measure macro expansion and build time (3 vendors, 50 copies)
  docs                 cargo doc, failing on any link that does not resolve (generated modules too)
  instructions [GROUP]  the auth layers' cost per request in instructions (needs valgrind);
                       GROUP: layer_cost, middleware or tower (default: all three)";

/// Success, or the error printed and a failure.
fn exit_code(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

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

/// Folders holding insta snapshots, and the test that writes each.
const SNAPSHOT_TESTS: &[(&str, &str, &str)] = &[
    ("auth-spec/tests/snapshots", "auth-spec", "invalid_specs"),
    ("auth-codegen/tests/snapshots", "auth-codegen", "generated"),
];

fn snapshots(root: &Path) -> ExitCode {
    // Deleting first means whatever the tests do not write again was orphaned.
    for (dir, _, _) in SNAPSHOT_TESTS {
        let dir = root.join(dir);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path.to_string_lossy();
            if (name.ends_with(".snap") || name.ends_with(".snap.new"))
                && let Err(e) = std::fs::remove_file(&path)
            {
                eprintln!("error: cannot remove {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    for (_, package, test) in SNAPSHOT_TESTS {
        eprintln!("== {package} --test {test}");
        let status = Command::new(env!("CARGO"))
            .current_dir(root)
            .args(["test", "-p", package, "--test", test])
            .env("INSTA_UPDATE", "always")
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("error: `cargo test -p {package} --test {test}` failed");
            return ExitCode::FAILURE;
        }
    }
    // The macro's compile errors are snapshots too (trybuild's .stderr files).
    let ui = root.join("auth-macros/tests/ui");
    if let Ok(entries) = std::fs::read_dir(&ui) {
        for entry in entries.flatten() {
            if entry.path().extension().is_some_and(|e| e == "stderr") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    eprintln!("== auth-macros --test ui");
    let status = Command::new(env!("CARGO"))
        .current_dir(root)
        .args(["test", "-p", "auth-macros", "--test", "ui", "bad_specs"])
        .env("TRYBUILD", "overwrite")
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        eprintln!("error: the trybuild cases failed");
        return ExitCode::FAILURE;
    }
    eprintln!("snapshots regenerated; review them with `git diff` and commit");
    ExitCode::SUCCESS
}
