//! Spec files that are not text, run through the CLI as a process: `validate FILE`,
//! `validate DIR`, and `--specs DIR` for any command report `file:line:col` of the first bad
//! byte (issue 8, item 21).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("auth-cli-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn cli(store: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth-cli"));
    command
        .env_clear()
        .arg("--store")
        .arg(store.join("sessions.json"))
        .stdin(Stdio::null());
    command
}

/// Runs the command; (exit code, stderr).
fn run(command: &mut Command) -> (Option<i32>, String) {
    let output = command.output().expect("runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn non_utf8_and_binary_specs_are_reported_at_the_first_bad_byte() {
    let dir = temp_dir("spec-files");
    let specs = dir.join("specs");
    std::fs::create_dir_all(&specs).expect("dir");
    let latin1 = specs.join("latin1.yaml");
    std::fs::write(&latin1, b"title: ok\ndescription: caf\xe9 au lait\n").expect("write");
    let png = dir.join("logo.yaml");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").expect("write");
    let nul = dir.join("zeros.yaml");
    std::fs::write(&nul, b"title: x\n\x00\x00\x00\x00").expect("write");

    for (file, line_col, words) in [
        (&latin1, "2:17", "not UTF-8"),
        (&png, "1:1", "not UTF-8"),
        (&nul, "2:1", "NUL"),
    ] {
        let (code, stderr) = run(cli(&dir).args(["validate", &file.display().to_string()]));
        let want = format!("{}:{line_col}: error: ", file.display());
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            stderr.contains(&want) && stderr.contains(words),
            "want `{want}...{words}`: {stderr}"
        );
    }
    let want = format!("{}:2:17: error: ", latin1.display());
    let (code, stderr) = run(cli(&dir).args(["validate", &specs.display().to_string()]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(&want), "validate DIR: {stderr}");
    let (code, stderr) = run(cli(&dir).args(["--specs", &specs.display().to_string(), "validate"]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(&want), "--specs DIR validate: {stderr}");
    let (code, stderr) =
        run(cli(&dir).args(["--specs", &specs.display().to_string(), "providers"]));
    assert_ne!(code, Some(0), "{stderr}");
    assert!(stderr.contains(&want), "--specs DIR providers: {stderr}");
}
