//! The shape of the house, checked on every test run (as rust-analyzer's tidy tests do): no
//! source file a reader cannot take in, no modules that import each other, and the crate
//! dependencies DESIGN.md draws.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest a file under a crate's `src/` may grow before it is split by what it holds.
const MAX_LINES: usize = 600;

const CRATES: &[&str] = &[
    "auth-spec",
    "auth-codegen",
    "auth-macros",
    "auth-mock",
    "auth-runtime",
    "auth-cli",
    "providers",
    "user-test",
    "xtask",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without comments and without an inline `mod tests` (tests may use anything).
fn code(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("mod tests") {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The first identifiers after each `prefix` in `code`: `crate::a::b` and `crate::{a, b::c}` give
/// `a` (and `b`).
fn named_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in code.match_indices(prefix) {
        // `foo_crate::x` is not `crate::x`.
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for part in group.split(',') {
                let name = ident(part.trim());
                if !name.is_empty() {
                    names.insert(name);
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                names.insert(name);
            }
        }
    }
    names
}

/// A cycle in `edges`, if there is one, as the modules along it.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let start = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(cycle) = visit(next, edges, state, stack) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if !state.contains_key(node.as_str())
            && let Some(cycle) = visit(node, edges, &mut state, &mut Vec::new())
        {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn no_source_file_is_longer_than_a_reader_can_take_in() {
    let mut long = Vec::new();
    for krate in CRATES {
        let mut files = Vec::new();
        rust_files(&root().join(krate).join("src"), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).expect("readable source");
            let lines = text.lines().count();
            if lines > MAX_LINES {
                long.push(format!("{} ({lines} lines)", file.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "split these by what they hold (at most {MAX_LINES} lines): {long:#?}"
    );
}

#[test]
fn no_two_modules_import_each_other() {
    let mut problems = Vec::new();
    for krate in CRATES {
        let src = root().join(krate).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        // Module path of each file: `engine/flight.rs` -> ["engine", "flight"].
        let modules: BTreeMap<Vec<String>, String> = files
            .iter()
            .filter_map(|file| {
                let relative = file.strip_prefix(&src).ok()?.with_extension("");
                let mut path: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if path.last().is_some_and(|l| l == "mod") {
                    path.pop();
                }
                if path == ["lib"] || path == ["main"] {
                    path.clear();
                }
                Some((path, code(&std::fs::read_to_string(file).ok()?)))
            })
            .collect();
        let top: BTreeSet<String> = modules
            .keys()
            .filter(|p| p.len() == 1)
            .map(|p| p[0].clone())
            .collect();
        // Between the crate's top-level modules (a nested file counts as its top module)...
        let mut across: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        // ...and between the files of one directory (`super::sibling`).
        let mut siblings: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (path, code) in &modules {
            let Some(first) = path.first() else { continue };
            for name in named_after(code, "crate::") {
                if top.contains(&name) && &name != first {
                    across.entry(first.clone()).or_default().insert(name);
                }
            }
            if path.len() >= 2 {
                let parent = &path[..path.len() - 1];
                for name in named_after(code, "super::") {
                    let mut sibling = parent.to_vec();
                    sibling.push(name);
                    if modules.contains_key(&sibling) && sibling != *path {
                        siblings
                            .entry(path.join("/"))
                            .or_default()
                            .insert(sibling.join("/"));
                    }
                }
            }
        }
        for edges in [across, siblings] {
            if let Some(cycle) = find_cycle(&edges) {
                problems.push(format!("{krate}: {}", cycle.join(" -> ")));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "modules that import each other (move what both need into a module of its own): {problems:#?}"
    );
}

/// The `[dependencies]` and `[dev-dependencies]` names of a crate's manifest.
fn dependencies(krate: &str) -> BTreeSet<String> {
    let manifest =
        std::fs::read_to_string(root().join(krate).join("Cargo.toml")).expect("manifest");
    let mut names = BTreeSet::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = matches!(line, "[dependencies]" | "[dev-dependencies]");
            continue;
        }
        if in_deps && let Some((name, _)) = line.split_once('=') {
            let name = name.trim().split('.').next().unwrap_or_default().trim();
            if !name.is_empty() && !name.starts_with('#') {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

#[test]
fn crates_depend_only_the_way_the_design_draws() {
    // crate -> what it must never depend on, even for its tests.
    let forbidden: &[(&str, &[&str])] = &[
        (
            "auth-spec",
            &[
                "auth-codegen",
                "auth-macros",
                "auth-mock",
                "auth-runtime",
                "reqwest",
                "tokio",
            ],
        ),
        (
            "auth-codegen",
            &["auth-runtime", "auth-mock", "reqwest", "tokio", "hyper"],
        ),
        // The trybuild cases build this crate's dev-dependencies: none of the runtime's.
        (
            "auth-macros",
            &["auth-runtime", "auth-mock", "reqwest", "tokio", "hyper"],
        ),
        ("auth-mock", &["auth-runtime", "reqwest"]),
    ];
    let mut problems = Vec::new();
    for (krate, never) in forbidden {
        let deps = dependencies(krate);
        for name in *never {
            if deps.contains(*name) {
                problems.push(format!("{krate} depends on {name}"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_checks_see_what_they_look_for() {
    // The scanner itself: a cycle is found, imports in comments are not.
    let names = named_after(
        "use crate::{a, b::c};\nlet x = crate::d::e;\nmy_crate::z",
        "crate::",
    );
    assert_eq!(names, ["a", "b", "d"].map(String::from).into());
    assert!(named_after(&code("// use crate::a;\nfn f() {}\n"), "crate::").is_empty());
    let edges: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_owned(), ["b".to_owned()].into()),
        ("b".to_owned(), ["a".to_owned()].into()),
    ]
    .into();
    assert_eq!(
        find_cycle(&edges),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
    assert!(dependencies("auth-macros").contains("trybuild"));
}
