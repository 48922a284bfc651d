//! A `redis-server` with a TLS port, and the certificates it needs, made by the test: a CA, a
//! server certificate for 127.0.0.1 signed by it, and a client certificate for servers that
//! require one. Nothing is read from or written to the machine's trust store.
// Shared by test crates that each use part of it.
#![allow(dead_code)]

use std::path::PathBuf;

use super::redis::RedisServer;

/// Whether the server asks for client certificates (`tls-auth-clients`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Any client that trusts the server may connect.
    No,
    /// Only clients presenting a certificate signed by the test CA may connect.
    Required,
}

/// A running TLS `redis-server` (its plain port stays open, on 127.0.0.1 only, for the
/// harness's readiness probe) and the PEM files the clients need.
pub struct TlsRedis {
    /// The server; dropped with this.
    pub server: RedisServer,
    /// `rediss://127.0.0.1:TLS_PORT/0`.
    pub url: String,
    /// The CA that signed the server's and the client's certificates.
    pub ca_pem: Vec<u8>,
    /// The CA's PEM file.
    pub ca_file: PathBuf,
    /// A client certificate signed by the CA (PEM).
    pub client_cert_pem: Vec<u8>,
    /// The client key (PEM).
    pub client_key_pem: Vec<u8>,
    /// The client certificate's PEM file.
    pub client_cert_file: PathBuf,
    /// The client key's PEM file.
    pub client_key_file: PathBuf,
    dir: PathBuf,
}

impl TlsRedis {
    /// Starts one, or `None` where `redis-server` is not installed (see [`RedisServer::start`]).
    pub fn start(auth: ClientAuth) -> Option<Self> {
        Self::start_with(auth, &[])
    }

    /// Starts one with extra `redis-server` arguments.
    pub fn start_with(auth: ClientAuth, extra: &[&str]) -> Option<Self> {
        let dir = std::env::temp_dir().join(format!(
            "auth-runtime-redis-tls-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).expect("certificate dir");
        let certs = Certificates::make();
        let write = |name: &str, pem: &[u8]| {
            let path = dir.join(name);
            std::fs::write(&path, pem).expect("certificate file");
            path
        };
        let ca_file = write("ca.pem", certs.ca.as_bytes());
        let server_cert = write("server.pem", certs.server_cert.as_bytes());
        let server_key = write("server.key", certs.server_key.as_bytes());
        let client_cert_file = write("client.pem", certs.client_cert.as_bytes());
        let client_key_file = write("client.key", certs.client_key.as_bytes());
        let tls_port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let path = |p: &PathBuf| p.to_str().expect("a UTF-8 temp path").to_owned();
        let mut args: Vec<String> = vec![
            "--tls-port".into(),
            tls_port.to_string(),
            "--tls-cert-file".into(),
            path(&server_cert),
            "--tls-key-file".into(),
            path(&server_key),
            "--tls-ca-cert-file".into(),
            path(&ca_file),
            "--tls-auth-clients".into(),
            match auth {
                ClientAuth::No => "no".into(),
                ClientAuth::Required => "yes".into(),
            },
        ];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = RedisServer::start_with(&args)?;
        Some(Self {
            server,
            url: format!("rediss://127.0.0.1:{tls_port}/0"),
            ca_pem: certs.ca.into_bytes(),
            ca_file,
            client_cert_pem: certs.client_cert.into_bytes(),
            client_key_pem: certs.client_key.into_bytes(),
            client_cert_file,
            client_key_file,
            dir,
        })
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// PEM texts of a fresh CA and the certificates it signed.
struct Certificates {
    ca: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
}

impl Certificates {
    fn make() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "auth-runtime test CA");
        let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf = |names: Vec<String>, cn: &str| {
            let key = KeyPair::generate().expect("key");
            let mut params = CertificateParams::new(names).expect("params");
            params.distinguished_name.push(DnType::CommonName, cn);
            let cert = params.signed_by(&key, &issuer).expect("certificate");
            (cert.pem(), key.serialize_pem())
        };
        let (server_cert, server_key) = leaf(
            vec!["127.0.0.1".into(), "localhost".into()],
            "redis test server",
        );
        let (client_cert, client_key) = leaf(vec!["auth-runtime-client".into()], "auth-runtime");
        Self {
            ca: ca.pem(),
            server_cert,
            server_key,
            client_cert,
            client_key,
        }
    }
}
