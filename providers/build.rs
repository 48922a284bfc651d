//! Embeds every `*.yaml` of this folder, so adding a provider is adding a file: no Rust edit.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // A folder's modification time changes when a file is added or removed.
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("providers/ is readable")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    let mut out = String::from(
        "/// Every spec in `providers/`: (provider name, YAML text), sorted by name.\n",
    );
    out.push_str("pub const SPECS: &[(&str, &str)] = &[\n");
    for name in &names {
        let path = dir.join(format!("{name}.yaml"));
        println!("cargo:rerun-if-changed={}", path.display());
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    out.push_str("];\n");
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&out_dir).join("specs.rs"), out).expect("OUT_DIR is writable");
}
