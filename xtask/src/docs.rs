//! `cargo xtask docs`: builds the workspace's documentation the way CI checks it, and fails on
//! a link that does not resolve, including in the modules the proc-macro generates.
//!
//! rustdoc reports broken intra-doc links itself (`-D rustdoc::broken_intra_doc_links`), but not
//! inside a proc-macro's output: a link there that does not resolve is printed as plain text,
//! `[<code>Client::from_env</code>]`. So the generated crates' pages are read back and any such
//! text in the project's own docs is an error.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Crates whose pages hold generated modules: their package names, and their folders under
/// `target/doc`.
const GENERATED_PACKAGES: &[&str] = &["providers", "out-of-tree-user"];
const GENERATED: &[&str] = &["providers", "out_of_tree_user"];

/// Where a page's own docs end: past this come docs copied from other crates' traits
/// (`reqwest::redirect::Policy`'s, say), whose links were theirs to resolve.
const FOREIGN_SECTIONS: &[&str] = &[
    "id=\"trait-implementations",
    "id=\"synthetic-implementations",
    "id=\"blanket-implementations",
];

pub(crate) fn run(root: &Path) -> ExitCode {
    // Twice: the crates holding generated modules last, so that the pages of the crates they
    // link to (`auth_runtime`) exist when they are written. In one run rustdoc may document
    // them first and write those links as text.
    let mut everything_else = vec!["doc", "--workspace", "--no-deps", "--locked"];
    for krate in GENERATED_PACKAGES {
        everything_else.extend(["--exclude", krate]);
    }
    let mut generated = vec!["doc", "--no-deps", "--locked"];
    for krate in GENERATED_PACKAGES {
        generated.extend(["-p", krate]);
    }
    for args in [everything_else, generated] {
        let status = Command::new(env!("CARGO"))
            .current_dir(root)
            .args(&args)
            .env(
                "RUSTDOCFLAGS",
                "-D rustdoc::broken_intra_doc_links -D rustdoc::private_intra_doc_links",
            )
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!(
                "error: `cargo {}` failed (a broken intra-doc link is an error)",
                args.join(" ")
            );
            return ExitCode::FAILURE;
        }
    }
    let doc = target_dir(root).join("doc");
    let mut broken = Vec::new();
    for krate in GENERATED {
        let mut pages = Vec::new();
        html_files(&doc.join(krate), &mut pages);
        if pages.is_empty() {
            eprintln!("error: no pages for `{krate}` under {}", doc.display());
            return ExitCode::FAILURE;
        }
        for page in pages {
            let Ok(html) = std::fs::read_to_string(&page) else {
                continue;
            };
            for link in unresolved(own_part(&html)) {
                broken.push(format!("{}: {link}", page.display()));
            }
        }
    }
    if broken.is_empty() {
        eprintln!("docs: every link resolves");
        return ExitCode::SUCCESS;
    }
    for line in &broken {
        eprintln!("error: unresolved link in generated docs: {line}");
    }
    ExitCode::FAILURE
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

fn html_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            html_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "html") {
            out.push(path);
        }
    }
}

/// The part of a page before the sections copied from other crates.
fn own_part(html: &str) -> &str {
    let end = FOREIGN_SECTIONS
        .iter()
        .filter_map(|marker| html.find(marker))
        .min()
        .unwrap_or(html.len());
    &html[..end]
}

/// Link texts rustdoc could not resolve: `[<code>X</code>]` left as text.
fn unresolved(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("[<code>") {
        let after = &rest[start + "[<code>".len()..];
        match after.find("</code>]") {
            Some(end) if !after[..end].contains('<') => {
                found.push(after[..end].to_owned());
                rest = &after[end..];
            }
            _ => rest = after,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_left_as_text_is_found_and_a_resolved_one_is_not() {
        let html = "Start with [<code>Client::from_env</code>]. See <a href=\"x\"><code>Client</code></a>.";
        assert_eq!(unresolved(html), vec!["Client::from_env".to_owned()]);
        assert!(unresolved("[<code>a</code>](x) and [<code>b<i>").len() <= 1);
    }

    #[test]
    fn docs_copied_from_other_crates_traits_are_not_checked() {
        let html = "ours <h2 id=\"trait-implementations\">[<code>Action::Follow</code>]";
        assert!(unresolved(own_part(html)).is_empty());
    }
}
