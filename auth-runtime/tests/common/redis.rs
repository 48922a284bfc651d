//! A real `redis-server` for the tests: started on a free port of 127.0.0.1 in a temporary
//! folder, stopped when dropped. Where `redis-server` is not installed a test says how to
//! install it and passes without Redis, except under `CI=true`, where that is a failure.
// Shared by test crates that each use part of it.
#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`.
pub struct RedisServer {
    child: Child,
    /// `redis://127.0.0.1:PORT/0`.
    pub url: String,
    /// The port it listens on.
    pub port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts one, or `None` (with a line saying how to install it) when `redis-server` is not
    /// on PATH. Under `CI=true` a missing server panics: CI installs it.
    pub fn start() -> Option<Self> {
        Self::start_with(&[])
    }

    /// Starts one with extra `redis-server` arguments (e.g. `--appendonly yes`).
    pub fn start_with(extra: &[&str]) -> Option<Self> {
        let found = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            let how = "redis-server is not installed: `apt-get update && apt-get install -y redis-server`";
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{how} (CI must run the Redis tests)");
            }
            eprintln!("skipping the Redis part of this test: {how}");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let dir = std::env::temp_dir().join(format!(
            "auth-runtime-redis-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).expect("redis dir");
        let server = Self::spawn(port, dir, extra);
        Some(server)
    }

    fn spawn(port: u16, dir: PathBuf, extra: &[&str]) -> Self {
        let server = Self {
            child: Self::child(port, &dir, extra),
            url: format!("redis://127.0.0.1:{port}/0"),
            port,
            dir,
        };
        server.wait_ready();
        server
    }

    fn child(port: u16, dir: &std::path::Path, extra: &[&str]) -> Child {
        Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(dir)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts")
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                if stream.write_all(b"PING\r\n").is_ok() {
                    let mut buf = [0u8; 16];
                    if let Ok(n) = stream.read(&mut buf)
                        && buf[..n].starts_with(b"+PONG")
                    {
                        return;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not answer PING", self.port);
    }

    /// Stops the server (its data stays in its folder).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port and folder, with these extra arguments.
    pub fn restart(&mut self, extra: &[&str]) {
        self.stop();
        self.child = Self::child(self.port, &self.dir, extra);
        self.wait_ready();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
