//! Spec files that are not text: a byte that is not UTF-8, a binary file, a character YAML does
//! not allow. Each is reported at `file:line:col` of the first bad byte (issue 8, item 21), by
//! every way a spec is read: `parse_file`, `load` (files and folders) and `parse`.

use std::path::PathBuf;

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("auth-spec-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// (file name, bytes, line, column, words the message must have)
const CASES: &[(&str, &[u8], u64, u64, &str)] = &[
    (
        "latin1.yaml",
        b"title: ok\ndescription: caf\xe9 au lait\n",
        2,
        17,
        "not UTF-8",
    ),
    (
        // `# é€😀` then `  x: é` and a bad byte: columns count characters, not bytes.
        "after_multibyte.yaml",
        b"title: ok\n# \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n  x: \xc3\xa9\xff",
        3,
        7,
        "not UTF-8",
    ),
    (
        "png.yaml",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
        1,
        1,
        "not UTF-8",
    ),
    ("nul.yaml", b"\x00\x00\x00\x00title: x\n", 1, 1, "NUL"),
    ("nul_later.yaml", b"title: x\n\n  ab\x00c\n", 3, 5, "NUL"),
    (
        "control.yaml",
        b"title: T\x01x\n",
        1,
        9,
        "control character",
    ),
    ("utf16.yaml", b"\xff\xfet\x00i\x00t\x00", 1, 1, "UTF-16"),
    (
        "truncated.yaml",
        b"title: ok\ndescription: \xe2\x82",
        2,
        14,
        "not UTF-8",
    ),
];

#[test]
fn every_reader_reports_the_first_bad_byte_with_its_position() {
    let dir = temp_dir("hostile");
    let mut failures = Vec::new();
    for case in CASES {
        let (name, bytes, line, column, words) = *case;
        let file = dir.join(name);
        std::fs::write(&file, bytes).expect("write");
        let shown = file.display().to_string().replace('\\', "/");
        let want = format!("{shown}:{line}:{column}: error: ");
        for (how, result) in [
            ("parse_file", auth_spec::parse_file(&file).map(|_| ())),
            ("load file", auth_spec::load(&[&file]).map(|_| ())),
        ] {
            match result {
                Ok(()) => failures.push(format!("{}: {how} accepted it", name)),
                Err(d) => {
                    let text = d.to_string();
                    if !(text.starts_with(&want) && text.contains(words)) {
                        failures.push(format!(
                            "{}: {how}: want `{want}...{words}...`, got {text}",
                            name
                        ));
                    }
                }
            }
        }
        // Text that is UTF-8 but holds characters YAML does not allow, given as a string.
        if let Ok(text) = std::str::from_utf8(bytes) {
            match auth_spec::parse(name, text) {
                Ok(_) => failures.push(format!("{}: parse accepted it", name)),
                Err(d) => {
                    let want = format!("{}:{line}:{column}: error: ", name);
                    let text = d.to_string();
                    if !(text.starts_with(&want) && text.contains(words)) {
                        failures.push(format!("{}: parse: want `{want}`, got {text}", name));
                    }
                }
            }
        }
    }
    // The folder form reads every file and reports each.
    match auth_spec::load(&[&dir]) {
        Ok(_) => failures.push("load folder accepted it".into()),
        Err(d) => {
            let count = d.0.iter().filter(|d| d.line > 0).count();
            if count != CASES.len() {
                failures.push(format!(
                    "load folder: {count} of {} positioned: {d}",
                    CASES.len()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
