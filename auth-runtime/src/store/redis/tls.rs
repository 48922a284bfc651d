//! TLS settings for `rediss://` servers whose certificate no public root vouches for (a company
//! CA, a self-signed test server), and client certificates for servers that ask for one.

use std::path::Path;

use secrecy::{ExposeSecret as _, SecretBox};

use crate::error::StoreError;

/// Certificates for a `rediss://` connection: the CA that signed the server's certificate
/// (instead of the public web roots), and a client certificate for servers that require one
/// (`tls-auth-clients yes`). Debug never shows the client key.
#[derive(Clone, Default)]
pub struct RedisTls {
    root_ca: Option<Vec<u8>>,
    client: Option<ClientCert>,
}

#[derive(Clone)]
struct ClientCert {
    cert: Vec<u8>,
    key: std::sync::Arc<SecretBox<Vec<u8>>>,
}

impl std::fmt::Debug for RedisTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTls")
            .field("root_ca", &self.root_ca.as_ref().map(|_| "set"))
            .field(
                "client_cert",
                &self.client.as_ref().map(|_| "set (key redacted)"),
            )
            .finish()
    }
}

/// The environment variables [`RedisTls::from_env`] reads: each names a PEM file.
const TLS_ENV: [&str; 3] = ["REDIS_CA_CERT", "REDIS_CLIENT_CERT", "REDIS_CLIENT_KEY"];

impl RedisTls {
    /// No settings: the server's certificate must chain to a public web root.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts only the CA certificates in `pem` (one or more PEM blocks) for the server.
    pub fn with_root_ca(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_ca = Some(pem.into());
        self
    }

    /// Presents this client certificate chain and its private key (both PEM) to the server.
    pub fn with_client_cert(
        mut self,
        cert_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.client = Some(ClientCert {
            cert: cert_pem.into(),
            key: std::sync::Arc::new(SecretBox::new(Box::new(key_pem.into()))),
        });
        self
    }

    /// The settings named by `REDIS_CA_CERT` (the CA's PEM file) and `REDIS_CLIENT_CERT` with
    /// `REDIS_CLIENT_KEY` (a client certificate and its key): `None` when none is set. A file
    /// that cannot be read, or a certificate without its key, is an error naming the variable.
    pub fn from_env() -> Result<Option<Self>, StoreError> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let [ca, cert, key] = TLS_ENV.map(var);
        if ca.is_none() && cert.is_none() && key.is_none() {
            return Ok(None);
        }
        let mut tls = Self::new();
        if let Some(path) = ca {
            tls = tls.with_root_ca(read(TLS_ENV[0], Path::new(&path))?);
        }
        match (cert, key) {
            (Some(cert), Some(key)) => {
                tls = tls.with_client_cert(
                    read(TLS_ENV[1], Path::new(&cert))?,
                    read(TLS_ENV[2], Path::new(&key))?,
                );
            }
            (None, None) => {}
            (Some(_), None) | (None, Some(_)) => {
                return Err(StoreError::Unavailable {
                    store: "redis".into(),
                    message:
                        "REDIS_CLIENT_CERT and REDIS_CLIENT_KEY go together: set both or neither"
                            .into(),
                });
            }
        }
        Ok(Some(tls))
    }

    /// The certificates in the form the `redis` crate takes.
    pub(super) fn certificates(&self) -> redis::TlsCertificates {
        redis::TlsCertificates {
            client_tls: self.client.as_ref().map(|c| redis::ClientTlsConfig {
                client_cert: c.cert.clone(),
                client_key: c.key.expose_secret().clone(),
            }),
            root_cert: self.root_ca.clone(),
        }
    }
}

fn read(variable: &str, path: &Path) -> Result<Vec<u8>, StoreError> {
    std::fs::read(path).map_err(|e| StoreError::Unavailable {
        store: "redis".into(),
        message: format!("{variable}={}: {e}", path.display()),
    })
}
