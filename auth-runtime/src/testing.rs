//! What the unit tests share: an engine for a spec's text, and a session in memory, with no
//! network.

use std::sync::Arc;

use crate::session::{Current, Session};

/// The text of `auth-spec/tests/valid/NAME.yaml`.
pub(crate) fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../auth-spec/tests/valid/{name}.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// An engine for the spec `source`, with an `api_key` credential, that may send the token to
/// `https://api.example.com` too.
pub(crate) fn engine(source: &str) -> crate::Authenticator {
    let spec = auth_spec::parse("test.yaml", source).unwrap_or_else(|d| panic!("{d}"));
    crate::Authenticator::builder(
        Arc::new(spec),
        crate::Credentials::new().with("api_key", "k"),
    )
    .allow_origin("https://api.example.com")
    .build()
    .expect("builds")
}

/// A session of generation 1 with `token`, as the engine holds it.
pub(crate) fn current(token: &str) -> Current {
    let now = std::time::SystemTime::now();
    let session = Session {
        access_token: token.to_owned().into(),
        refresh_token: None,
        access_expires_at: None,
        refresh_expires_at: None,
        issued_at: now,
        login_at: now,
        generation: 1,
        last_response: None,
        last_flow: crate::Flow::Login,
        values: Default::default(),
        response_headers: Default::default(),
    };
    Current::new(Arc::new(session), None, None, None, false)
}
