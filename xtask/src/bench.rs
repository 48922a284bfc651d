//! `cargo xtask bench`: what each provider costs at build time.
//!
//! 1. Macro expansion: the work `providers!` does per spec (parse, validate, generate), timed in
//!    process, median of 20 runs, for the three vendors and for 50 copies of them.
//! 2. Build: a crate holding the specs and `providers!`, compiled against the workspace's
//!    already built dependencies; after a warm-up build, the spec folder is touched and the
//!    crate rebuilt (what editing a YAML costs). Once with the 3 vendors, once with 50 copies.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use auth_codegen::{Options, SpecSource};

/// The three vendors' YAML, as (name, text).
fn vendors(root: &Path) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for name in ["apiax", "idissuer", "intergiro"] {
        let path = root.join(format!("providers/{name}.yaml"));
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        out.push((name.to_owned(), text));
    }
    Ok(out)
}

/// `count` specs: copies of the vendors, renamed, with their own environment variables.
fn copies(vendors: &[(String, String)], count: usize) -> Vec<(String, String)> {
    (0..count)
        .map(|i| {
            let (name, text) = &vendors[i % vendors.len()];
            let copy = format!("{name}_{i:02}");
            let upper = name.to_ascii_uppercase();
            let text = text.replace(
                &format!("env: {upper}_"),
                &format!("env: {}_", copy.to_ascii_uppercase()),
            );
            (copy, text)
        })
        .collect()
}

fn expand(specs: &[(String, String)]) -> Result<Duration, String> {
    let mut times = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        let set: Vec<(String, &str)> = specs
            .iter()
            .map(|(n, t)| (format!("{n}.yaml"), t.as_str()))
            .collect();
        let parsed = auth_spec::parse_set(&set).map_err(|d| d.to_string())?;
        for (spec, (name, _)) in parsed.iter().zip(specs) {
            let options = Options {
                source: SpecSource::File(format!("{name}.yaml")),
                display_path: format!("{name}.yaml"),
                doc_parent: None,
            };
            std::hint::black_box(auth_codegen::generate(spec, &options));
        }
        times.push(start.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

/// A crate with `specs` in `specs/` and `providers!("specs")`, next to the workspace target.
fn write_crate(root: &Path, dir: &Path, specs: &[(String, String)]) -> Result<(), String> {
    // A name per crate: cargo keys build state by package name for root packages.
    let package = format!("bench-providers-{}", specs.len());
    let _ = std::fs::remove_dir_all(dir);
    let io = |e: std::io::Error| format!("{}: {e}", dir.display());
    std::fs::create_dir_all(dir.join("specs")).map_err(io)?;
    std::fs::create_dir_all(dir.join("src")).map_err(io)?;
    let root = root.display();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{package}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\nauth-macros = {{ path = \"{root}/auth-macros\" }}\nauth-runtime = {{ path = \"{root}/auth-runtime\" }}\n\n[workspace]\n"
        ),
    )
    .map_err(io)?;
    std::fs::copy(format!("{root}/Cargo.lock"), dir.join("Cargo.lock")).map_err(io)?;
    std::fs::write(
        dir.join("src/lib.rs"),
        "//! Benchmark crate.\nauth_macros::providers!(\"specs\");\n",
    )
    .map_err(io)?;
    for (name, text) in specs {
        std::fs::write(dir.join(format!("specs/{name}.yaml")), text).map_err(io)?;
    }
    Ok(())
}

fn build(root: &Path, dir: &Path) -> Result<Duration, String> {
    let start = Instant::now();
    let status = Command::new(env!("CARGO"))
        .current_dir(dir)
        .args(["build", "--quiet", "--offline"])
        .env("CARGO_TARGET_DIR", root.join("target/xtask-bench"))
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("building {} failed", dir.display()));
    }
    Ok(start.elapsed())
}

fn rebuild_after_edit(root: &Path, dir: &Path) -> Result<Duration, String> {
    build(root, dir)?;
    let mut times = Vec::new();
    for _ in 0..3 {
        // Any change to the crate's sources: the macro runs again and its output is compiled.
        let lib = dir.join("src/lib.rs");
        let text = std::fs::read_to_string(&lib).map_err(|e| e.to_string())?;
        std::fs::write(&lib, format!("{text}// edit\n")).map_err(|e| e.to_string())?;
        times.push(build(root, dir)?);
    }
    times.sort();
    Ok(times[1])
}

/// Measures expansion and build times and prints them.
pub fn measure(root: &Path) -> Result<(), String> {
    let vendors = vendors(root)?;
    let fifty = copies(&vendors, 50);
    let expand3 = expand(&vendors)?;
    let expand50 = expand(&fifty)?;
    println!("macro expansion (parse + validate + generate), median of 20:");
    println!(
        "  3 vendors:  {:>8.2} ms ({:.2} ms per provider)",
        ms(expand3),
        ms(expand3) / 3.0
    );
    println!(
        "  50 copies:  {:>8.2} ms ({:.2} ms per provider)",
        ms(expand50),
        ms(expand50) / 50.0
    );

    let base: PathBuf = root.join("target/xtask-bench");
    let dir3 = base.join("crate-3");
    let dir50 = base.join("crate-50");
    write_crate(root, &dir3, &vendors)?;
    write_crate(root, &dir50, &fifty)?;
    let build3 = rebuild_after_edit(root, &dir3)?;
    let build50 = rebuild_after_edit(root, &dir50)?;
    println!("rebuild of the providers crate after an edit (dependencies built), median of 3:");
    println!("  3 vendors:  {:>8.2} s", build3.as_secs_f64());
    println!("  50 copies:  {:>8.2} s", build50.as_secs_f64());
    let per = (build50.as_secs_f64() - build3.as_secs_f64()) / 47.0;
    println!("  cost per added provider: {:.3} s", per);
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
