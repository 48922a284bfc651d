//! `providers` and `validate`: what the specs declare, and their problems with positions.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::args::{Cli, Format};
use crate::failure::Failure;
use crate::output::{outln, print_json};
use crate::specs;

pub(crate) fn providers(cli: &Cli) -> Result<ExitCode, Failure> {
    let catalog = specs::load(cli.specs.as_deref()).map_err(|d| Failure::usage(d.to_string()))?;
    let loaded = &catalog.loaded;
    let list: Vec<serde_json::Value> = loaded
        .iter()
        .map(|l| {
            let s = &l.spec;
            serde_json::json!({
                "name": s.name,
                "title": s.title,
                "origin": l.origin,
                "default_environment": s.default_environment,
                "environments": s.environments.iter().map(|e| serde_json::json!({
                    "name": e.name,
                    "base_url": e.base_url,
                })).collect::<Vec<_>>(),
                "credentials": s.credentials.iter().map(|c| serde_json::json!({
                    "name": c.name,
                    "env": c.env,
                    "secret": c.secret,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    match cli.format {
        Format::Json => print_json(&serde_json::Value::Array(list)),
        Format::Text => {
            for l in loaded {
                let s = &l.spec;
                outln!(
                    "{} ({}){}",
                    s.name,
                    s.title,
                    if l.origin == "built-in" {
                        String::new()
                    } else {
                        format!(" from {}", l.origin)
                    }
                );
                for e in &s.environments {
                    let marker = if e.name == s.default_environment {
                        " (default)"
                    } else {
                        ""
                    };
                    let url = e.base_url.clone().unwrap_or_else(|| {
                        "no host in the vendor's documents: use --base-url".into()
                    });
                    outln!("  env {}{marker}: {url}", e.name);
                }
                let vars: Vec<&str> = s.credentials.iter().map(|c| c.env.as_str()).collect();
                outln!("  credentials: {}", vars.join(", "));
            }
        }
    }
    // The valid providers are listed; an invalid file is a problem of the inventory.
    match catalog.problems() {
        Some(problems) => {
            eprintln!("{problems}");
            Ok(ExitCode::from(2))
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

pub(crate) fn validate(cli: &Cli, paths: &[PathBuf]) -> Result<ExitCode, Failure> {
    let result = if paths.is_empty() {
        specs::load(cli.specs.as_deref()).and_then(|catalog| match catalog.problems() {
            Some(problems) => Err(problems),
            None => Ok(catalog
                .loaded
                .into_iter()
                .map(|l| (*l.spec).clone())
                .collect::<Vec<_>>()),
        })
    } else {
        auth_spec::load(paths)
    };
    match result {
        Ok(specs) => {
            match cli.format {
                Format::Json => print_json(&serde_json::json!({
                    "valid": true,
                    "providers": specs.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
                    "diagnostics": [],
                })),
                Format::Text => {
                    for spec in &specs {
                        eprintln!("ok: {} ({})", spec.name, spec.title);
                    }
                    eprintln!("{} spec(s) valid", specs.len());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(diagnostics) => {
            match cli.format {
                Format::Json => print_json(&serde_json::json!({
                    "valid": false,
                    "diagnostics": diagnostics.iter().map(|d| serde_json::json!({
                        "file": d.file, "line": d.line, "column": d.column,
                        "message": d.message, "hint": d.hint,
                    })).collect::<Vec<_>>(),
                })),
                Format::Text => {
                    eprintln!("{diagnostics}");
                    eprintln!("{} problem(s) found", diagnostics.len());
                }
            }
            Ok(ExitCode::from(2))
        }
    }
}
