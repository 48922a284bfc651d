//! A vendor that misbehaves on purpose, and `auth-cli` run as a process against it.
//!
//! The vendor is a plain HTTP/1.1 server on 127.0.0.1 written here (not the spec-driven
//! simulator), so that a test controls when each answer is written and sees every request:
//! it issues rotating refresh tokens, counts a refresh token presented twice (the fraud signal
//! vendors watch for), and reports when a request arrived and when its answer was written, so a
//! test can kill the client at a precise point.
#![allow(dead_code)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The vendor's spec, as a user would write it: JSON login with a key, rotating refresh tokens,
/// `expires_in` seconds.
pub const ROTOR_YAML: &str = r#"title: Rotor
description: A local test vendor with rotating refresh tokens.
environments:
  local:
    base_url: http://127.0.0.1:9
default_environment: local
credentials:
  key:
    secret: true
    env: ROTOR_KEY
    example: k
login:
  method: POST
  path: /login
  encoding: json
  body:
    key: ${credentials.key}
  response:
    access_token: $.access_token
    refresh_token: $.refresh_token
    access_token_expiry:
      - expires_in: { path: $.expires_in, unit: seconds }
    refresh_token_expiry: []
    examples:
      - description: A login answer.
        status: 200
        body: { access_token: a-1, refresh_token: r-1, expires_in: 60 }
refresh:
  method: POST
  path: /refresh
  encoding: json
  body:
    refresh_token: ${session.refresh_token}
  response:
    access_token: $.access_token
    refresh_token: $.refresh_token
    access_token_expiry:
      - expires_in: { path: $.expires_in, unit: seconds }
    refresh_token_expiry: []
    examples:
      - description: A refresh answer.
        status: 200
        body: { access_token: a-2, refresh_token: r-2, expires_in: 60 }
policy:
  refresh: POLICY
  MARGIN
  rotation: rotates
usage:
  headers:
    Authorization: Bearer ${session.access_token}
"#;

/// The spec with a refresh policy, e.g. `after_expiry`, or `before_expiry` with a margin.
pub fn rotor_yaml(policy: &str, margin: Option<(&str, f64)>) -> String {
    let margin = match margin {
        Some((m, fraction)) => format!("margin: {m}\n  max_margin_fraction: {fraction}"),
        None => String::new(),
    };
    ROTOR_YAML
        .replace("POLICY", policy)
        .replace("MARGIN", &margin)
}

/// What the vendor reports as it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A login or refresh request was read whole.
    Arrived(&'static str),
    /// Its answer was written.
    Answered(&'static str),
}

/// The vendor's counters and settings.
#[derive(Debug, Default)]
pub struct State {
    pub logins: u32,
    pub refreshes: u32,
    /// Refresh tokens presented more than once.
    pub reused: u32,
    /// Every refresh token ever presented.
    pub presented: HashSet<String>,
    /// Refresh tokens issued and not yet presented.
    pub live: HashSet<String>,
    /// Lifetime of the access tokens issued, seconds.
    pub expires_in: u64,
    /// How long to wait before answering a login / a refresh.
    pub hold_login: Duration,
    pub hold_refresh: Duration,
    /// Extra JSON members added to a login answer (raw text, e.g. a deeply nested value).
    pub login_extra: String,
    counter: u64,
}

/// A running vendor.
pub struct Vendor {
    pub url: String,
    pub state: Arc<Mutex<State>>,
    pub events: mpsc::UnboundedReceiver<Event>,
}

impl Vendor {
    /// Starts a vendor issuing tokens valid for `expires_in` seconds.
    pub async fn start(expires_in: u64) -> Vendor {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State {
            expires_in,
            ..State::default()
        }));
        let (tx, events) = mpsc::unbounded_channel();
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = Arc::clone(&shared);
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, state, tx).await;
                });
            }
        });
        Vendor { url, state, events }
    }

    /// The counters and settings.
    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for `event` (at most 20 s), dropping others.
    pub async fn wait_for(&mut self, event: Event) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(e)) if e == event => return,
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => panic!("the vendor never saw {event:?}"),
            }
        }
    }

    /// Drops the events seen so far.
    pub fn drain(&mut self) {
        while self.events.try_recv().is_ok() {}
    }
}

async fn serve(
    mut stream: tokio::net::TcpStream,
    state: Arc<Mutex<State>>,
    tx: mpsc::UnboundedSender<Event>,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head_end, length) = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (end + 4, length);
        }
    };
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let body: serde_json::Value =
        serde_json::from_slice(&buffer[head_end..head_end + length]).unwrap_or_default();
    let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
    let (flow, status, answer, hold) = {
        let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
        match path.as_str() {
            "/login" => {
                s.logins += 1;
                let (status, answer) = issue(&mut s, true);
                ("login", status, answer, s.hold_login)
            }
            "/refresh" => {
                s.refreshes += 1;
                let presented = body["refresh_token"].as_str().unwrap_or("").to_owned();
                let fresh = s.presented.insert(presented.clone());
                if !fresh {
                    s.reused += 1;
                }
                let (status, answer) = if s.live.remove(&presented) {
                    issue(&mut s, false)
                } else {
                    (400, r#"{"error":"invalid_grant"}"#.to_owned())
                };
                ("refresh", status, answer, s.hold_refresh)
            }
            _ => ("other", 404, "{}".to_owned(), Duration::ZERO),
        }
    };
    if flow != "other" {
        let _ = tx.send(Event::Arrived(flow));
    }
    tokio::time::sleep(hold).await;
    let response = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
        answer.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.flush().await?;
    if flow != "other" {
        let _ = tx.send(Event::Answered(flow));
    }
    Ok(())
}

fn issue(s: &mut State, login: bool) -> (u16, String) {
    s.counter += 1;
    let n = s.counter;
    let refresh = format!("r-{n}");
    s.live.insert(refresh.clone());
    let extra = if login && !s.login_extra.is_empty() {
        format!(", {}", s.login_extra)
    } else {
        String::new()
    };
    (
        200,
        format!(
            r#"{{"access_token":"a-{n}","refresh_token":"{refresh}","expires_in":{}{extra}}}"#,
            s.expires_in
        ),
    )
}

/// A fresh folder with the vendor's spec in `specs/rotor.yaml`.
pub fn workspace(name: &str, yaml: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "auth-cli-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(dir.join("specs")).expect("dir");
    std::fs::write(dir.join("specs/rotor.yaml"), yaml).expect("spec");
    dir
}

/// `auth-cli` with a clean environment, the workspace's specs and store, and the vendor's URL.
pub fn cli(dir: &Path, vendor: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth-cli"));
    command
        .env_clear()
        .env("ROTOR_KEY", "k")
        .arg("--specs")
        .arg(dir.join("specs"))
        .arg("--store")
        .arg(dir.join("sessions.json"))
        .arg("--base-url")
        .arg(vendor);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs a command to its end off the async threads (at most 60 s).
pub async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || {
        let child = command.spawn().expect("auth-cli starts");
        wait_bounded(child, Duration::from_secs(60))
    })
    .await
    .expect("join")
}

/// Runs `auth-cli ARGS` against `vendor` with the workspace's specs and store.
pub async fn run_cli(dir: &Path, vendor: &str, args: &[&str]) -> Output {
    let mut command = cli(dir, vendor);
    command.args(args);
    run(command).await
}

/// Waits for a child, killing it after `limit` (a hang is a failure, not a stuck test run).
pub fn wait_bounded(mut child: std::process::Child, limit: Duration) -> Output {
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return child.wait_with_output().expect("output"),
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let out = child.wait_with_output().expect("output");
                panic!(
                    "auth-cli hung for {limit:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("wait: {e}"),
        }
    }
}

/// Stdout and stderr as text.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The store key the CLI uses for the rotor vendor at `vendor` with key `k`.
pub fn rotor_key(yaml: &str, vendor: &str) -> String {
    let spec = Arc::new(auth_spec::parse("rotor.yaml", yaml).expect("valid spec"));
    auth_runtime::Authenticator::builder(spec, auth_runtime::Credentials::new().with("key", "k"))
        .base_url(vendor)
        .build()
        .expect("builds")
        .store_key()
        .to_owned()
}
