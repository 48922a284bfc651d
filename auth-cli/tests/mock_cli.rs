//! `auth-cli mock` as a process: its `try:` line is a command that works as printed, also for a
//! provider that exists only in a `--specs` folder (issue 8, item 22). The simulator prints its
//! base URL on stdout and the rest on stderr, and runs until killed.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    // A space in the path: the printed command must quote it.
    let dir = std::env::temp_dir().join(format!("auth-cli {name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Kills the simulator when the test ends, passed or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const NEW_VENDOR: &str = r#"title: New Vendor
environments:
  production: { base_url: https://api.newvendor.example }
default_environment: production
credentials:
  client_id: { secret: false, example: demo-client }
  client_secret: { example: demo-secret }
login:
  method: POST
  path: /token
  encoding: form
  body:
    grant_type: client_credentials
    client_id: ${credentials.client_id}
    client_secret: ${credentials.client_secret}
  response:
    access_token: $.access_token
    access_token_expiry: [ { expires_in: { path: $.expires_in } } ]
    examples: [ { body: { access_token: t, expires_in: 300, token_type: bearer } } ]
policy: { refresh: ahead_of_expiry, margin: 30s }
usage:
  headers: { X-Auth-Token: "${session.access_token}" }
"#;

/// Starts `auth-cli [--specs DIR] mock PROVIDER`; (process, base URL, stderr lines up to `try:`).
fn start_mock(home: &Path, specs: Option<&Path>, provider: &str) -> (Running, String, Vec<String>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth-cli"));
    command.env_clear().env("HOME", home);
    if let Some(specs) = specs {
        command.arg("--specs").arg(specs);
    }
    let mut child = command
        .args(["mock", provider])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mock starts");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let running = Running(child);
    let mut base_url = String::new();
    BufReader::new(stdout)
        .read_line(&mut base_url)
        .expect("base URL line");
    let mut lines = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("stderr line");
        let done = line.starts_with("try:");
        lines.push(line);
        if done {
            break;
        }
    }
    (running, base_url.trim().to_owned(), lines)
}

/// Runs the printed `try:` command in a shell, after the printed `export` lines, with
/// `auth-cli` being this build.
fn run_try_line(home: &Path, lines: &[String]) -> std::process::Output {
    let exports: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| l.starts_with("export "))
        .collect();
    let try_line = lines
        .iter()
        .find_map(|l| l.strip_prefix("try: "))
        .expect("a try: line");
    let command = try_line
        .strip_prefix("auth-cli ")
        .expect("the try line runs auth-cli");
    let script = format!(
        "{}\n'{}' {command}",
        exports.join("\n"),
        env!("CARGO_BIN_EXE_auth-cli")
    );
    Command::new("sh")
        .args(["-c", &script])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .stdin(Stdio::null())
        .output()
        .expect("sh runs")
}

#[test]
fn the_try_line_of_a_specs_folder_provider_works_as_printed() {
    let dir = temp_dir("mock-try");
    let specs = dir.join("my specs");
    std::fs::create_dir_all(&specs).expect("dir");
    std::fs::write(specs.join("newvendor.yaml"), NEW_VENDOR).expect("write");
    let (_mock, base_url, lines) = start_mock(&dir, Some(&specs), "newvendor");
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");
    let try_line = lines.last().cloned().unwrap_or_default();
    assert!(
        try_line.contains("--specs") && try_line.contains(&base_url),
        "{try_line}"
    );
    let out = run_try_line(&dir, &lines);
    assert!(
        out.status.success(),
        "{try_line}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout);
    assert!(token.starts_with("mock-access-"), "{token}");
}

#[test]
fn the_try_line_of_a_built_in_provider_needs_no_specs_folder() {
    let dir = temp_dir("mock-builtin");
    let (_mock, base_url, lines) = start_mock(&dir, None, "idissuer");
    let try_line = lines.last().cloned().unwrap_or_default();
    assert!(
        !try_line.contains("--specs") && try_line.contains(&base_url),
        "{try_line}"
    );
    let out = run_try_line(&dir, &lines);
    assert!(
        out.status.success(),
        "{try_line}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("mock-access-"),
        "{:?}",
        out
    );
}
