//! Every file in `tests/invalid/` is a spec with known problems. Each declares, in header
//! comments, where its errors must be reported:
//!
//! ```yaml
//! # expect: 12:5 unknown key `refresh_tokn`
//! ```
//!
//! meaning a diagnostic at line 12, column 5 whose message contains the text after the position.
//! The test checks that exactly the declared diagnostics are produced (file, line, column and
//! message), and snapshots the full rendered output with insta so wording changes are reviewed.

use std::path::Path;

struct Expected {
    line: u64,
    column: u64,
    text: String,
}

fn expectations(source: &str) -> Vec<Expected> {
    source
        .lines()
        .filter_map(|l| l.trim().strip_prefix("# expect: "))
        .map(|rest| {
            let (pos, text) = rest.split_once(' ').unwrap_or((rest, ""));
            let (line, column) = pos.split_once(':').expect("expect: LINE:COL text");
            Expected {
                line: line.parse().expect("line number"),
                column: column.parse().expect("column number"),
                text: text.to_owned(),
            }
        })
        .collect()
}

#[test]
fn invalid_specs_report_every_problem_at_its_place() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid");
    let mut count = 0;
    // Every mismatch of every fixture is collected, so one run shows them all.
    let mut failures = Vec::new();
    insta::glob!("invalid/*.yaml", |path| {
        count += 1;
        let source = std::fs::read_to_string(path).expect("readable fixture");
        let name = path.file_name().expect("file name").to_string_lossy();
        let shown = format!("tests/invalid/{name}");
        let expected = expectations(&source);
        if expected.is_empty() {
            failures.push(format!("{shown} declares no `# expect:` line"));
        }
        let Err(diags) = auth_spec::parse(&shown, &source) else {
            failures.push(format!("{shown} was accepted but must be rejected"));
            return;
        };
        let rendered = diags.to_string();
        for d in &diags {
            if d.file != shown {
                failures.push(format!("{shown}: a diagnostic names {}", d.file));
            }
            if d.line == 0 || d.column == 0 {
                failures.push(format!("{shown}: a diagnostic has no line and column: {d}"));
            }
        }
        for e in &expected {
            let hit = diags
                .iter()
                .any(|d| d.line == e.line && d.column == e.column && d.message.contains(&e.text));
            if !hit {
                failures.push(format!(
                    "{shown}: expected an error at {}:{} containing {:?}, got:\n{rendered}",
                    e.line, e.column, e.text
                ));
            }
        }
        if diags.len() != expected.len() {
            failures.push(format!(
                "{shown}: {} diagnostics for {} expected:\n{rendered}",
                diags.len(),
                expected.len()
            ));
        }
        insta::assert_snapshot!(rendered);
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let files = std::fs::read_dir(&dir).expect("fixtures").count();
    assert!(
        files >= 30,
        "at least 30 invalid specs are kept, found {files}"
    );
    assert_eq!(count, files, "every fixture is a .yaml file");
}

/// A snapshot whose fixture was removed or renamed is an error, not dead weight.
#[test]
fn no_orphaned_snapshots() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let prefix = "invalid_specs__invalid_specs_report_every_problem_at_its_place@";
    for entry in std::fs::read_dir(root.join("snapshots")).expect("snapshots folder") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let Some(fixture) = name
            .strip_prefix(prefix)
            .and_then(|n| n.strip_suffix(".snap"))
        else {
            continue;
        };
        assert!(
            root.join("invalid").join(fixture).is_file(),
            "snapshot {name} has no fixture tests/invalid/{fixture}: delete it"
        );
    }
}
