//! Templates in endpoint paths (issue 9, item 6), against a vendor written from this invented page:
//!
//! > **Tenancy.** Every call is made under your tenant: `POST /api/v1/{tenant}/login` with
//! > `{"api_key": "..."}` answers `{"token": "...", "refresh": "...", "session": "s-17",
//! > "expires_in": 900}`. Renew with `POST /api/v1/{tenant}/sessions/{session}/renew` and the
//! > header `X-Refresh-Token`; end it with `DELETE /api/v1/{tenant}/sessions/{session}`.
//! > Tenant ids are the names shown in the console (they may contain spaces and slashes);
//! > percent-encode them in the path. Behind a gateway, prefix every path with the gateway's.

mod common;

use std::sync::Arc;
use std::time::Duration;

use auth_runtime::auth_spec::{self, ProviderSpec};
use auth_runtime::{AuthErrorKind, Authenticator, Credentials, LogoutOutcome, ManualClock};
use secrecy::ExposeSecret;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SPEC: &str = r#"
title: Tenancy Vendor
environments:
  production: {}
default_environment: production
credentials:
  tenant: { secret: false }
  api_key: {}
login:
  method: POST
  path: /api/v1/${credentials.tenant}/login
  encoding: json
  body:
    api_key: ${credentials.api_key}
  response:
    access_token: $.token
    refresh_token: $.refresh
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    refresh_token_expiry: []
    examples:
      - body: { token: abc, refresh: def, session: s-17, expires_in: 900 }
refresh:
  method: POST
  path: /api/v1/${credentials.tenant}/sessions/${response.session}/renew
  headers:
    X-Refresh-Token: ${session.refresh_token}
  response:
    access_token: $.token
    refresh_token: $.refresh
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    refresh_token_expiry: []
    examples:
      - body: { token: abc, refresh: def, session: s-17, expires_in: 900 }
logout:
  method: DELETE
  path: /api/v1/${credentials.tenant}/sessions/${response.session}
policy:
  refresh: after_expiry
  rotation: rotates
usage:
  headers:
    Authorization: Bearer ${session.access_token}
"#;

/// The tenant as the console shows it: a space and a slash, both percent-encoded in the path.
const TENANT: &str = "acme corp/eu";
const TENANT_IN_PATH: &str = "acme%20corp%2Feu";

fn spec() -> Arc<ProviderSpec> {
    Arc::new(auth_spec::parse("tenancy.yaml", SPEC).unwrap_or_else(|d| panic!("{d}")))
}

fn answer(n: u32) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "token": format!("token-{n}"), "refresh": format!("refresh-{n}"),
        "session": "s 17/x", "expires_in": 900
    }))
}

fn auth(base: String, tenant: &str, clock: Arc<ManualClock>) -> Authenticator {
    Authenticator::builder(
        spec(),
        Credentials::new()
            .with("tenant", tenant)
            .with("api_key", "key-1"),
    )
    .base_url(base)
    .clock(clock)
    .retry(common::fast_retry())
    .build()
    .expect("builds")
}

/// Every request path the vendor received, as sent (still percent-encoded).
async fn paths(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect()
}

#[tokio::test]
async fn the_tenant_fills_its_path_segment_encoded() {
    let server = MockServer::start().await;
    let login_path = format!("/api/v1/{TENANT_IN_PATH}/login");
    Mock::given(method("POST"))
        .and(path(login_path.as_str()))
        .respond_with(answer(1))
        .mount(&server)
        .await;
    // The session id of the answer (with a space and a slash) names the session to renew.
    let renew = format!("/api/v1/{TENANT_IN_PATH}/sessions/s%2017%2Fx/renew");
    Mock::given(method("POST"))
        .and(path(renew.as_str()))
        .and(header("X-Refresh-Token", "refresh-1"))
        .respond_with(answer(2))
        .mount(&server)
        .await;
    let end = format!("/api/v1/{TENANT_IN_PATH}/sessions/s%2017%2Fx");
    Mock::given(method("DELETE"))
        .and(path(end.as_str()))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let clock = Arc::new(ManualClock::new());
    let auth = auth(server.uri(), TENANT, clock.clone());

    let token = auth.access_token().await.expect("login");
    assert_eq!(token.secret().expose_secret(), "token-1");
    clock.advance(Duration::from_secs(901));
    let token = auth.access_token().await.expect("refresh");
    assert_eq!(token.secret().expose_secret(), "token-2");
    assert_eq!(
        auth.logout().await.expect("logout"),
        LogoutOutcome::VendorCalled
    );
    assert_eq!(paths(&server).await, [login_path, renew, end]);
}

#[tokio::test]
async fn a_base_url_path_prefix_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/gateway/api/v1/acme/login"))
        .respond_with(answer(1))
        .mount(&server)
        .await;
    let auth = auth(
        format!("{}/gateway/", server.uri()),
        "acme",
        Arc::new(ManualClock::new()),
    );
    auth.access_token()
        .await
        .expect("login through the gateway");
    assert_eq!(paths(&server).await, ["/gateway/api/v1/acme/login"]);
}

#[tokio::test]
async fn a_value_that_would_change_the_path_is_refused_unsent() {
    let server = MockServer::start().await;
    for tenant in ["..", ".", ""] {
        let auth = auth(server.uri(), tenant, Arc::new(ManualClock::new()));
        let error = auth.access_token().await.expect_err("refused");
        assert!(
            matches!(error.kind(), AuthErrorKind::PathValueRefused { .. }),
            "{tenant:?}: {error}"
        );
        let shown = error.to_string();
        assert!(
            shown.contains("${credentials.tenant}"),
            "names the placeholder: {shown}"
        );
    }
    assert!(paths(&server).await.is_empty(), "nothing was sent");
}
