//! Optional credentials and alternative credential sets (issue 9, item 5), against a vendor
//! written from this invented page:
//!
//! > **Acme Accounts: signing in.** `POST /v1/login` with a JSON body. Send either `email` and
//! > `password`, or (accounts created before 2023) `username` and `password` with your tenant id
//! > in the `X-Tenant` header. With two-factor authentication on, add the current code as
//! > `?otp=123456`; leave the parameter out otherwise (an empty `otp` is refused). A login with
//! > both an e-mail and a user name, or a user name without a tenant, is refused with 400.
//! > Answers `{"token": "...", "expires_in": 3600}`.

mod common;

use std::sync::Arc;

use auth_runtime::auth_spec::{self, ProviderSpec};
use auth_runtime::{AuthError, AuthErrorKind, Authenticator, Credentials};
use secrecy::ExposeSecret;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const SPEC: &str = r#"
title: Acme Accounts
environments:
  production: {}
default_environment: production
credentials:
  email: { secret: false, env: ACME_EMAIL }
  username: { secret: false, env: ACME_USERNAME }
  tenant_id: { secret: false, env: ACME_TENANT_ID }
  password: { env: ACME_PASSWORD }
  otp: { required: false, env: ACME_OTP }
credential_sets:
  - [email, password]
  - [username, password, tenant_id]
login:
  method: POST
  path: /v1/login
  encoding: json
  headers:
    X-Tenant: ${credentials.tenant_id}
  query:
    otp: ${credentials.otp}
  body:
    email: ${credentials.email}
    username: ${credentials.username}
    password: ${credentials.password}
  response:
    access_token: $.token
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    examples:
      - body: { token: abc, expires_in: 3600 }
policy:
  refresh: after_expiry
usage:
  headers:
    Authorization: Bearer ${session.access_token}
  expired:
    status: [401]
"#;

fn spec() -> Arc<ProviderSpec> {
    Arc::new(auth_spec::parse("acme.yaml", SPEC).unwrap_or_else(|d| panic!("{d}")))
}

/// The vendor, as its page says.
struct Vendor;

impl Respond for Vendor {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let refused =
            ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": "bad login"}));
        let body = common::json_body(request);
        let has = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .is_some_and(|v| !v.is_empty())
        };
        let tenant = request
            .headers
            .get("x-tenant")
            .and_then(|v| v.to_str().ok());
        let otp = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "otp")
            .map(|(_, v)| v.into_owned());
        if otp.as_deref() == Some("") || !has("password") {
            return refused;
        }
        let who = match (has("email"), has("username"), tenant) {
            (true, false, None) => body["email"].as_str().unwrap_or_default().to_owned(),
            (false, true, Some(t)) if !t.is_empty() => {
                format!("{}@{t}", body["username"].as_str().unwrap_or_default())
            }
            _ => return refused,
        };
        let suffix = otp.map(|o| format!("+otp{o}")).unwrap_or_default();
        ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"token": format!("token-{who}{suffix}"), "expires_in": 3600}),
        )
    }
}

async fn vendor() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/login"))
        .respond_with(Vendor)
        .mount(&server)
        .await;
    server
}

async fn token(server: &MockServer, pairs: &[(&str, &str)]) -> Result<String, AuthError> {
    let mut credentials = Credentials::new();
    for (name, value) in pairs {
        credentials.insert(*name, *value);
    }
    let auth = Authenticator::builder(spec(), credentials)
        .base_url(server.uri())
        .retry(common::fast_retry())
        .build()?;
    let token = auth.access_token().await?;
    Ok(token.secret().expose_secret().to_owned())
}

#[tokio::test]
async fn email_and_password_leave_the_other_set_and_the_code_out() {
    let server = vendor().await;
    let got = token(&server, &[("email", "ann@acme.test"), ("password", "pw")]).await;
    assert_eq!(got.expect("logs in"), "token-ann@acme.test");
}

#[tokio::test]
async fn user_name_password_and_tenant_are_the_second_set() {
    let server = vendor().await;
    let got = token(
        &server,
        &[
            ("username", "ann"),
            ("tenant_id", "t-9"),
            ("password", "pw"),
        ],
    )
    .await;
    assert_eq!(got.expect("logs in"), "token-ann@t-9");
}

#[tokio::test]
async fn with_both_sets_given_the_first_is_used_and_the_other_left_out() {
    let server = vendor().await;
    let got = token(
        &server,
        &[
            ("email", "ann@acme.test"),
            ("username", "ann"),
            ("tenant_id", "t-9"),
            ("password", "pw"),
        ],
    )
    .await;
    assert_eq!(got.expect("logs in"), "token-ann@acme.test");
}

#[tokio::test]
async fn an_optional_code_is_sent_when_given() {
    let server = vendor().await;
    let got = token(
        &server,
        &[
            ("email", "ann@acme.test"),
            ("password", "pw"),
            ("otp", "123456"),
        ],
    )
    .await;
    assert_eq!(got.expect("logs in"), "token-ann@acme.test+otp123456");
}

#[tokio::test]
async fn no_complete_set_names_each_set_and_what_it_lacks() {
    let server = vendor().await;
    let error = token(&server, &[("username", "ann"), ("password", "pw")])
        .await
        .expect_err("no set is complete");
    match error.kind() {
        AuthErrorKind::NoCredentialSet { sets, .. } => {
            assert_eq!(sets.len(), 2);
            assert_eq!(sets[0].1, ["ACME_EMAIL"]);
            assert_eq!(sets[1].1, ["ACME_TENANT_ID"]);
        }
        other => panic!("expected NoCredentialSet, got {other:?}"),
    }
    let shown = error.to_string();
    assert!(
        shown.contains("[email, password] lacks ACME_EMAIL")
            && shown.contains("[username, password, tenant_id] lacks ACME_TENANT_ID"),
        "{shown}"
    );
    assert!(
        !shown.contains("pw") && !shown.contains("ann"),
        "no values: {shown}"
    );
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn a_credential_every_set_needs_is_still_required() {
    let server = vendor().await;
    let error = token(&server, &[("email", "ann@acme.test")])
        .await
        .expect_err("no password");
    assert!(
        matches!(error.kind(), AuthErrorKind::MissingCredential { name, .. } if name == "password"),
        "{error:?}"
    );
}

#[test]
fn from_lookup_skips_absent_optional_values() {
    let spec = spec();
    let credentials = Credentials::from_lookup(&spec, |var| match var {
        "ACME_EMAIL" => Some("ann@acme.test".into()),
        "ACME_PASSWORD" => Some("pw".into()),
        _ => None,
    })
    .expect("optional values may be absent");
    assert!(credentials.get("otp").is_none());
    assert!(credentials.check(&spec).is_ok());
}
