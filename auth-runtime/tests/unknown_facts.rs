//! Facts a vendor's document leaves out, declared `unknown` (issue 9, item 7), against a vendor
//! written from this invented page, which leaves three things out:
//!
//! > **Sessions.** Log in with `POST /session`, sending `user` and `password`. The answer is
//! > `{"token": "...", "expires_in": 900, "renew": "...", "renew_until": "2026-12-24 18:00:00"}`.
//! > Renew with `POST /session/renew` and `{"renew": "..."}`; each renewal issues a new `renew`.
//!
//! What the vendor below really does (and the page does not say): the login takes a form,
//! `renew_until` is New York time (UTC-05:00), and API calls take `X-Sparse-Token: <token>`. The
//! engine must not guess any of it: a token can be had, and what needs a missing fact either
//! gets it from the caller or fails saying so, before anything is sent.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use auth_runtime::auth_spec::model::Encoding;
use auth_runtime::auth_spec::timefmt::{TimeFormat, Zone};
use auth_runtime::auth_spec::{self, ProviderSpec};
use auth_runtime::{AuthErrorKind, Authenticator, Clock as _, Credentials, ManualClock};
use secrecy::ExposeSecret;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn spec() -> Arc<ProviderSpec> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../auth-spec/tests/valid/unknown_facts.yaml");
    let yaml = std::fs::read_to_string(&path).expect("fixture");
    Arc::new(auth_spec::parse("sparse.yaml", &yaml).unwrap_or_else(|d| panic!("{d}")))
}

/// The vendor's login: a form only, and `renew_until` in New York time, `renew_in` from now.
struct Login {
    clock: Arc<ManualClock>,
    renew_in: Duration,
}

impl Respond for Login {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form = common::form_body(request);
        let is_form = request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let has = |k: &str, v: &str| form.iter().any(|(a, b)| a == k && b == v);
        if !is_form || !has("user", "ann") || !has("password", "pw") {
            return ResponseTemplate::new(400);
        }
        let until = self.clock.wall() + self.renew_in;
        let new_york = TimeFormat::Pattern {
            pattern: "%Y-%m-%d %H:%M:%S".into(),
            zone: Zone::parse("-05:00").expect("zone"),
        };
        let local = new_york.render(until);
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token": "tok-1", "expires_in": 900, "renew": "r-1", "renew_until": local
        }))
    }
}

async fn vendor(clock: &Arc<ManualClock>, renew_in: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/session"))
        .respond_with(Login {
            clock: Arc::clone(clock),
            renew_in,
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/accounts"))
        .and(header("x-sparse-token", "tok-1"))
        .respond_with(ResponseTemplate::new(200).set_body_string("accounts"))
        .mount(&server)
        .await;
    server
}

fn builder(server: &MockServer, clock: &Arc<ManualClock>) -> auth_runtime::AuthenticatorBuilder {
    Authenticator::builder(
        spec(),
        Credentials::new()
            .with("user", "ann")
            .with("password", "pw"),
    )
    .base_url(server.uri())
    .clock(clock.clone())
    .retry(common::fast_retry())
}

#[tokio::test]
async fn an_unknown_body_encoding_is_never_guessed() {
    let clock = Arc::new(ManualClock::new());
    let server = vendor(&clock, Duration::from_secs(86_400)).await;
    let auth = builder(&server, &clock).build().expect("builds");
    let error = auth
        .access_token()
        .await
        .expect_err("the encoding is unknown");
    assert!(
        matches!(error.kind(), AuthErrorKind::NotInDocument { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("does not say how the login body is encoded"),
        "{text}"
    );
    assert!(text.contains("--body-encoding"), "{text}");
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty(),
        "nothing was sent"
    );
}

#[tokio::test]
async fn a_token_is_had_though_the_document_does_not_say_how_it_is_sent() {
    let clock = Arc::new(ManualClock::new());
    let server = vendor(&clock, Duration::from_secs(86_400)).await;
    let auth = builder(&server, &clock)
        .body_encoding(Encoding::Form)
        .build()
        .expect("builds");
    let token = auth.access_token().await.expect("the caller chose a form");
    assert_eq!(token.secret().expose_secret(), "tok-1");
    // Putting it on a request needs what the document leaves out.
    let error = auth.check_usage().expect_err("usage is unknown");
    assert!(
        error.to_string().contains("how the token is sent"),
        "{error}"
    );
    let mut request = reqwest::Request::new(
        reqwest::Method::GET,
        format!("{}/accounts", server.uri()).parse().expect("url"),
    );
    let error = auth.apply(&token, &mut request).expect_err("not guessed");
    assert!(
        matches!(error.kind(), AuthErrorKind::NotInDocument { .. }),
        "{error:?}"
    );
    assert!(request.headers().is_empty(), "no header was invented");
}

#[tokio::test]
async fn the_caller_says_how_the_token_is_sent() {
    let clock = Arc::new(ManualClock::new());
    let server = vendor(&clock, Duration::from_secs(86_400)).await;
    let auth = builder(&server, &clock)
        .body_encoding(Encoding::Form)
        .token_header("X-Sparse-Token", "${session.access_token}")
        .build()
        .expect("builds");
    let client = auth.client(reqwest::Client::new());
    let answer = client
        .get(format!("{}/accounts", server.uri()))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        answer.status(),
        200,
        "the vendor got the token as it wants it"
    );
}

#[tokio::test]
async fn a_caller_cannot_override_what_the_spec_states() {
    let spec = common::spec("intergiro");
    let error = Authenticator::builder(spec, Credentials::new().with("api_key", "k"))
        .token_header("X-Other", "${session.access_token}")
        .build()
        .expect_err("intergiro's spec states its usage");
    assert!(
        matches!(error.kind(), AuthErrorKind::Config(_)),
        "{error:?}"
    );
    let error = Authenticator::builder(
        common::spec("intergiro"),
        Credentials::new().with("api_key", "k"),
    )
    .body_encoding(Encoding::Form)
    .build()
    .expect_err("and its encodings");
    assert!(
        matches!(error.kind(), AuthErrorKind::Config(_)),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_time_in_an_unknown_zone_is_read_as_the_earliest_it_can_mean() {
    // 2026-12-02T10:00:00Z.
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_205_600);
    let clock = Arc::new(ManualClock::starting_at(start));
    let server = vendor(&clock, Duration::from_secs(48 * 3600)).await;
    let auth = builder(&server, &clock)
        .body_encoding(Encoding::Form)
        .build()
        .expect("builds");
    auth.access_token().await.expect("login");
    let session = auth
        .status()
        .await
        .expect("status")
        .session
        .expect("session");
    // The vendor meant start + 48 h (in UTC-05:00); read in UTC+14 that is 19 h earlier: the
    // session is taken to end no later than it really does.
    assert_eq!(
        session.refresh_expires_at,
        Some(start + Duration::from_secs(48 * 3600) - Duration::from_secs(19 * 3600))
    );

    // A renewal limit whose earliest reading is already past may still be ahead: unknown, not
    // taken for an ended session.
    let clock = Arc::new(ManualClock::starting_at(start));
    let server = vendor(&clock, Duration::from_secs(2 * 3600)).await;
    let auth = builder(&server, &clock)
        .body_encoding(Encoding::Form)
        .build()
        .expect("builds");
    auth.access_token().await.expect("login");
    let session = auth
        .status()
        .await
        .expect("status")
        .session
        .expect("session");
    assert_eq!(session.refresh_expires_at, None);
    assert!(session.has_refresh_token);
}
