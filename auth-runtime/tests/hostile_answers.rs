//! Hostile or odd configurations and vendor answers at the engine's edge (issue 8, items 11-18):
//! base URLs that would leak credentials, tokens sent to other origins, redirects, endless or huge
//! answers, connections that break mid-answer, and credentials echoed back in error bodies.

mod common;

use std::sync::Arc;

use auth_runtime::{AuthError, Authenticator, Credentials};

const API_KEY: &str = "c5f90f4b-9d69-416a-8611-8a8c8d605c36";

fn intergiro(base_url: &str) -> Result<Authenticator, AuthError> {
    Authenticator::builder(
        common::spec("intergiro"),
        Credentials::new().with("api_key", API_KEY),
    )
    .base_url(base_url)
    .build()
}

/// Item 15: plain http is refused unless the host is a loopback one.
#[test]
fn non_loopback_http_base_urls_are_refused() {
    for url in [
        "http://example.com",
        "http://10.0.0.1:8080",
        "http://[2001:db8::1]",
        "http://localhost.example.com",
    ] {
        let error = intergiro(url).expect_err(url);
        let message = error.to_string();
        assert!(matches!(error, AuthError::Config(_)), "{url}: {error:?}");
        assert!(
            message.contains("http://") && message.contains("unencrypted"),
            "{url}: {message}"
        );
    }
    for url in [
        "http://127.0.0.1:9",
        "http://127.1.2.3",
        "http://[::1]:9",
        "http://localhost:9",
        "http://LOCALHOST",
        "https://example.com",
    ] {
        intergiro(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    }
}

/// Item 17: a user name or password in the base URL is refused, and the error never shows it.
#[test]
fn userinfo_in_base_urls_is_refused_without_echoing_it() {
    for url in [
        "https://alice:s3cret-pw@api.example.com",
        "https://alice@api.example.com",
        "https://:s3cret-pw@api.example.com",
        "http://alice:s3cret-pw@127.0.0.1:9",
        "https://alice:s3cret-pw@",
    ] {
        let error = intergiro(url).expect_err(url);
        let message = format!("{error} {error:?}");
        assert!(!message.contains("s3cret-pw"), "{url}: {message}");
        assert!(!message.contains("alice"), "{url}: {message}");
    }
    let message = intergiro("https://alice:s3cret-pw@api.example.com")
        .expect_err("userinfo")
        .to_string();
    assert!(message.contains("user name or password"), "{message}");
}
