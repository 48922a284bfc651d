//! The spec language carries what vendors commonly do beyond the three in `providers/`: each file
//! in `tests/valid/` is an invented vendor using such a feature, and the expected values below are
//! written from the fixture's example answers by hand.

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use auth_spec::extract::{Answer, Expiry};
use auth_spec::model::{Encoding, Method, RefreshTiming, Rotation, ValueSource};
use secrecy::ExposeSecret;

fn load(name: &str) -> auth_spec::ProviderSpec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/valid")
        .join(name);
    auth_spec::parse_file(&path).unwrap_or_else(|d| panic!("{d}"))
}

fn example_answer(spec: &auth_spec::model::TokenResponse) -> Answer {
    Answer::from_example(&spec.examples[0])
}

#[test]
fn token_in_a_header_and_rfc3339_expiry() {
    let s = load("header_token.yaml");
    assert_eq!(
        s.login.response.access_token,
        ValueSource::Header("X-Subject-Token".into())
    );
    let got = s
        .login
        .response
        .extract(&example_answer(&s.login.response))
        .expect("extracts");
    assert_eq!(got.access_token.expose_secret(), "gAAAAABc-token");
    assert_eq!(
        got.access_expiry,
        Expiry::At(UNIX_EPOCH + Duration::from_secs(1_767_225_600))
    );
    assert!(s.refresh.is_none());
    assert_eq!(s.policy.min_login_interval, Some(Duration::from_secs(10)));
    // http is accepted for loopback hosts only.
    assert_eq!(
        s.environment("local").and_then(|e| e.base_url.as_deref()),
        Some("http://127.0.0.1:5000")
    );
    assert_eq!(s.usage.headers[0].0, "X-Auth-Token");
}

#[test]
fn plain_text_body_get_login_and_query_token() {
    let s = load("plain_text_token.yaml");
    assert_eq!(s.login.request.method, Method::Get);
    assert_eq!(s.login.request.encoding, Encoding::None);
    assert_eq!(s.login.request.query[0].0, "tenant");
    assert_eq!(
        s.credential("tenant").map(|c| c.env.as_str()),
        Some("PLAIN_TEXT_TENANT_ID")
    );
    assert_eq!(
        s.credential("api_key").map(|c| c.env.as_str()),
        Some("PLAIN_TEXT_TOKEN_API_KEY")
    );
    let got = s
        .login
        .response
        .extract(&example_answer(&s.login.response))
        .expect("extracts");
    assert_eq!(got.access_token.expose_secret(), "3f2a9c0e5b7d");
    assert_eq!(got.access_expiry, Expiry::Unknown);
    assert!(got.body.is_none(), "a text body is not JSON");
    assert_eq!(s.policy.retry.max_attempts, 5);
    let rendered = s.usage.headers[0]
        .1
        .render(|_| Some("T".into()))
        .expect("renders");
    assert_eq!(rendered, "Token T");
    assert!(s.usage.expired.as_ref().expect("signal").matches(419, []));
}

#[test]
fn basic_auth_form_indices_http_date_and_zoned_pattern() {
    let s = load("client_credentials.yaml");
    assert_eq!(s.login.request.encoding, Encoding::Form);
    assert!(s.login.request.basic_auth.is_some());
    assert_eq!(s.default_environment().name, "sandbox");
    let got = s
        .login
        .response
        .extract(&example_answer(&s.login.response))
        .expect("extracts");
    assert_eq!(got.access_token.expose_secret(), "at-1");
    assert_eq!(
        got.refresh_token.as_ref().map(|t| t.expose_secret()),
        Some("rt-1")
    );
    // The Expires header wins over ttl_ms: first source that yields.
    assert_eq!(
        got.access_expiry,
        Expiry::At(UNIX_EPOCH + Duration::from_secs(1_767_225_600))
    );
    // 2026-01-02 01:00:00 in Berlin (UTC+1 in winter) is 2026-01-02T00:00:00Z.
    assert_eq!(
        got.refresh_expiry,
        Expiry::At(UNIX_EPOCH + Duration::from_secs(1_767_312_000))
    );

    // Without the header, ttl_ms (milliseconds) decides.
    let mut answer = example_answer(&s.login.response);
    answer.headers.clear();
    let got = s.login.response.extract(&answer).expect("extracts");
    assert_eq!(got.access_expiry, Expiry::In(Duration::from_secs(900)));

    let refresh = s.refresh.as_ref().expect("refresh");
    assert_eq!(refresh.request.headers[0].0, "X-Refresh-Token");
    let got = refresh
        .response
        .extract(&example_answer(&refresh.response))
        .expect("extracts");
    assert!(
        got.refresh_token.is_none(),
        "kept from before by the runtime"
    );
    assert_eq!(s.policy.refresh, RefreshTiming::BeforeExpiry);
    assert_eq!(s.policy.margin, Duration::from_secs(120));
    assert_eq!(s.policy.rotation, Rotation::Reusable);
    assert_eq!(s.logout.as_ref().map(|l| l.method), Some(Method::Delete));
    // Two headers from two values: the token and the session id of the last answer.
    assert_eq!(s.usage.headers.len(), 2);
}

#[test]
fn bodies_that_are_not_mappings() {
    use auth_spec::model::BodyValue;
    use auth_spec::template::Reference;
    let s = load("bare_body.yaml");
    let refresh = &s.refresh.as_ref().expect("refresh").request;
    assert_eq!(refresh.encoding, Encoding::Json);
    // The whole body is the refresh token, a JSON string once rendered.
    let Some(BodyValue::Template(t)) = &refresh.body else {
        panic!("the renewal body is one template: {:?}", refresh.body);
    };
    assert_eq!(t.sole_reference(), Some(&Reference::RefreshToken));
    let rendered = t
        .render_value(|_| Some(serde_json::Value::from("rt-1")))
        .expect("renders");
    assert_eq!(rendered.to_string(), r#""rt-1""#);
    let logout = s.logout.as_ref().expect("logout");
    let Some(BodyValue::Array(items)) = &logout.body else {
        panic!("the revocation body is an array: {:?}", logout.body);
    };
    assert_eq!(items.len(), 2);
    // A number (or any other JSON scalar) is a whole body too.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/valid/bare_body.yaml"),
    )
    .expect("fixture");
    let numbered = text.replace(
        "body: ${session.refresh_token}  ",
        "body: 42                        ",
    );
    assert_ne!(
        numbered, text,
        "the fixture's renewal body line is as the test expects"
    );
    let n = auth_spec::parse("bare_body.yaml", &numbered).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(
        n.refresh.expect("refresh").request.body,
        Some(BodyValue::Number(42.into()))
    );
}

#[test]
fn the_valid_fixtures_pass_together_with_the_vendor_specs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    auth_spec::load(&[root.join("tests/valid"), root.join("../providers")])
        .unwrap_or_else(|d| panic!("{d}"));
}

#[test]
fn answers_judged_by_their_body() {
    use auth_spec::judge::{FailureMeaning, judge};
    let s = load("envelope.yaml");
    let answer = |body: &str| Answer {
        status: 200,
        headers: Vec::new(),
        body: body.to_owned(),
    };
    // From the page: code 7 is a wrong key; 0 is success; 503 is "try again".
    let rejected = judge(
        &s.login.request.failures,
        &answer(r#"{"result":{"code":7,"text":"wrong key"}}"#),
    )
    .expect("a failure");
    assert_eq!(rejected.means, FailureMeaning::CredentialsRejected);
    assert_eq!(rejected.detail, "the vendor says code 7: wrong key");
    let busy = judge(
        &s.login.request.failures,
        &answer(r#"{"result":{"code":503}}"#),
    );
    assert_eq!(busy.map(|v| v.means), Some(FailureMeaning::Transient));
    assert!(
        judge(
            &s.login.request.failures,
            &example_answer(&s.login.response)
        )
        .is_none()
    );
    let refresh = s.refresh.as_ref().expect("refresh");
    let over = judge(
        &refresh.request.failures,
        &answer(r#"{"result":{"code":21}}"#),
    );
    assert_eq!(over.map(|v| v.means), Some(FailureMeaning::SessionOver));
    let signal = s.usage.expired.as_ref().expect("expired");
    let expired = answer(r#"{"status":{"code":"TOKEN_EXPIRED"}}"#);
    assert!(
        !signal.matches(200, Vec::<(&str, &str)>::new()),
        "status alone says nothing"
    );
    assert!(signal.matches_body(&expired));
    assert!(!signal.matches_body(&answer(r#"{"status":{"code":"OK"}}"#)));
}

#[test]
fn templates_in_endpoint_paths() {
    use auth_spec::template::Reference;
    let s = load("tenant_path.yaml");
    let login: Vec<&Reference> = s.login.request.path.references().collect();
    assert_eq!(login, [&Reference::Credential("tenant".into())]);
    assert_eq!(
        s.login.request.path.to_string(),
        "/api/v1/${credentials.tenant}/login"
    );
    let refresh = &s.refresh.as_ref().expect("refresh").request;
    assert_eq!(refresh.path.references().count(), 2);
    let logout = s.logout.as_ref().expect("logout");
    assert!(
        logout
            .path
            .references()
            .any(|r| matches!(r, Reference::Response(_)))
    );
    // The path's placeholders count as templates of the request.
    assert!(
        s.login
            .request
            .templates()
            .iter()
            .any(|t| t.references().next() == Some(&Reference::Credential("tenant".into())))
    );
}

#[test]
fn a_login_may_carry_the_previous_session() {
    use auth_spec::template::Reference;
    let s = load("login_carries_session.yaml");
    let request = &s.login.request;
    assert_eq!(request.headers[0].0, "X-Previous-Session");
    assert!(matches!(
        request.headers[0].1.sole_reference(),
        Some(Reference::Response(_))
    ));
    assert_eq!(
        request.query[0].1.sole_reference(),
        Some(&Reference::AccessToken)
    );
    assert!(
        request
            .templates()
            .iter()
            .any(|t| t.sole_reference() == Some(&Reference::AccessToken))
    );
}

#[test]
fn login_budgets_and_spacing() {
    // "at most 20 token requests per hour and must wait 5 seconds between two of them"
    let s = load("login_limit.yaml");
    assert_eq!(
        s.policy.login_limit,
        Some(auth_spec::model::LoginLimit {
            requests: 20,
            per: Duration::from_secs(3600),
        })
    );
    assert_eq!(s.policy.min_login_interval, Some(Duration::from_secs(5)));
}

#[test]
fn facts_the_document_leaves_out_are_declared_unknown() {
    use auth_spec::extract::Expiry;
    use auth_spec::model::Encoding;
    let s = load("unknown_facts.yaml");
    assert!(s.usage.unknown, "usage: unknown");
    assert!(s.usage.headers.is_empty() && s.usage.query.is_empty());
    assert_eq!(s.login.request.encoding, Encoding::Unknown);
    assert_eq!(
        s.login.request.encoding.content_type(),
        None,
        "no Content-Type is invented"
    );
    // "renew_until": "2026-12-24 18:00:00" with no zone: read as the earliest instant it can
    // mean, in UTC+14 (2026-12-24T04:00:00Z), never as UTC.
    let extracted = s
        .login
        .response
        .extract(&example_answer(&s.login.response))
        .expect("the example reads");
    let earliest = std::time::UNIX_EPOCH + Duration::from_secs(1_798_084_800);
    match extracted.refresh_expiry {
        Expiry::AtEarliest(at) => assert_eq!(at, earliest),
        other => panic!("{other:?}"),
    }
}

#[test]
fn jwt_claims_in_usage_templates() {
    use auth_spec::template::Reference;
    let s = load("jwt_claims.yaml");
    let refs: Vec<&Reference> = s
        .usage
        .headers
        .iter()
        .flat_map(|(_, t)| t.references())
        .collect();
    assert!(refs.contains(&&Reference::AccessTokenClaim("tid".into())));
    let org = s
        .usage
        .headers
        .iter()
        .find(|(n, _)| n == "X-Org")
        .expect("X-Org");
    assert_eq!(org.1.to_string(), "${session.access_token.claims.org}");
    let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1LTEiLCJ0aWQiOiJhY21lLTQyIiwib3JnIjo3LCJleHAiOjE3NjcyMjU2MDB9.c2ln";
    assert_eq!(
        auth_spec::jwt::claim(token, "tid"),
        Some(serde_json::Value::from("acme-42"))
    );
    assert_eq!(
        auth_spec::jwt::claim(token, "org").map(|v| v.to_string()),
        Some("7".into())
    );
    assert_eq!(auth_spec::jwt::claim(token, "tenant"), None);
    assert_eq!(auth_spec::jwt::claim("opaque", "tid"), None);
}

#[test]
fn several_session_values_from_headers_and_body() {
    use auth_spec::model::{RenewedByAnswer, SessionSlot};
    let s = load("session_values.yaml");
    let login = &s.login.response;
    assert_eq!(
        login.values,
        vec![
            (
                "account_token".to_owned(),
                ValueSource::Header("X-Account-Token".into())
            ),
            (
                "user_id".to_owned(),
                ValueSource::Body(auth_spec::path::FieldPath::parse("$.user.id").expect("path"))
            ),
        ]
    );
    assert_eq!(login.kept_headers, vec!["x-login-id".to_owned()]);
    let got = login.extract(&example_answer(login)).expect("extracts");
    assert_eq!(got.access_token.expose_secret(), "sess-1");
    assert_eq!(
        got.values["user_id"].expose_secret(),
        "42",
        "a number as its JSON text"
    );
    assert!(
        got.values["account_token"]
            .expose_secret()
            .starts_with("eyJ")
    );
    assert_eq!(got.headers["x-login-id"].expose_secret(), "login-1");
    // The refresh renews only the access token: the values are carried over.
    let refresh = &s.refresh.as_ref().expect("refresh").response;
    assert!(refresh.values.is_empty());
    assert_eq!(
        s.usage.renewed_by_answers,
        vec![
            RenewedByAnswer {
                value: SessionSlot::AccessToken,
                header: "X-Session".into()
            },
            RenewedByAnswer {
                value: SessionSlot::Value("account_token".into()),
                header: "X-Account-Token".into()
            },
        ]
    );
    // A value carrying a line break is refused like a token.
    let mut answer = example_answer(login);
    answer
        .headers
        .push(("X-Account-Token".into(), "a\r\nX-Evil: 1".into()));
    answer
        .headers
        .retain(|(n, v)| n != "X-Account-Token" || v.contains('\n'));
    let error = login.extract(&answer).expect_err("not a header value");
    assert!(error.to_string().contains("line break"), "{error}");
    assert!(!error.to_string().contains("Evil"), "{error}");
}

#[test]
fn a_signed_client_assertion_and_the_current_time() {
    use auth_spec::model::{BodyValue, ClaimValue, JwtAlgorithm};
    use auth_spec::template::{NowFormat, Reference};
    let s = load("signed_assertion.yaml");
    // Not read from the environment: the user supplies the key, the client computes the rest.
    assert!(s.credential("client_assertion").is_none());
    assert_eq!(s.credentials.len(), 3);
    let c = &s.computed[0];
    assert_eq!(c.name, "client_assertion");
    let jwt = &c.signed_jwt;
    assert_eq!(jwt.algorithm, JwtAlgorithm::Rs256);
    assert_eq!(jwt.key, "private_key");
    assert_eq!(jwt.header[0].0, "kid");
    let names: Vec<&str> = jwt.claims.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["iss", "sub", "aud", "iat", "exp", "scope_version"]);
    assert_eq!(
        jwt.claims[4].1,
        ClaimValue::NowPlus(Duration::from_secs(300))
    );
    let ClaimValue::Value(BodyValue::Template(iat)) = &jwt.claims[3].1 else {
        panic!("iat is a template");
    };
    assert_eq!(
        iat.sole_reference(),
        Some(&Reference::Now(NowFormat::EpochSeconds))
    );
    let header = &s.login.request.headers[0].1;
    assert_eq!(
        header.sole_reference(),
        Some(&Reference::Now(NowFormat::Rfc3339))
    );
    assert_eq!(
        NowFormat::Rfc3339.value(UNIX_EPOCH + Duration::from_secs(1_777_629_600)),
        serde_json::json!("2026-05-01T10:00:00Z")
    );
}

#[test]
fn optional_credentials_and_alternative_sets() {
    let s = load("optional_credentials.yaml");
    assert_eq!(
        s.credential_sets,
        vec![
            vec!["email".to_owned(), "password".to_owned()],
            vec![
                "username".to_owned(),
                "password".to_owned(),
                "tenant_id".to_owned()
            ],
        ]
    );
    assert!(!s.credential("otp").expect("otp").required);
    for optional in ["otp", "email", "username", "tenant_id"] {
        assert!(s.is_optional(optional), "{optional}");
    }
    // In every set: always needed.
    assert!(!s.is_optional("password"));
}

#[test]
fn api_answers_judged_by_their_body() {
    use auth_spec::extract::Answer;
    use auth_spec::judge::{FailureMeaning, judge};
    let s = load("api_failures.yaml");
    let answer = |body: &str| Answer {
        status: 200,
        headers: Vec::new(),
        body: body.into(),
    };
    // "Code 12 means your session has ended: log in again."
    let over = judge(
        &s.usage.failures,
        &answer(r#"{"result": {"code": 12, "text": "Session ended"}}"#),
    )
    .expect("a failure");
    assert_eq!(over.means, FailureMeaning::SessionOver);
    assert_eq!(over.detail, "the vendor says code 12: Session ended");
    // "Any other code means the call failed."
    let failed = judge(
        &s.usage.failures,
        &answer(r#"{"result": {"code": 7, "text": "Unknown account"}}"#),
    )
    .expect("a failure");
    assert_eq!(failed.means, FailureMeaning::Error);
    assert!(judge(&s.usage.failures, &answer(r#"{"result": {"code": 0}}"#)).is_none());
}

/// gRPC's "trailers-only" answer: HTTP 200 whose headers carry `grpc-status: 16`
/// (UNAUTHENTICATED). The 200 is expired only with that header; a plain 200, or a 200 with
/// `grpc-status: 0`, is a success.
#[test]
fn grpc_unauthenticated_is_a_200_narrowed_by_its_header() {
    let s = load("grpc_unauthenticated.yaml");
    let signal = s.usage.expired.as_ref().expect("an expired signal");
    assert_eq!(signal.status, vec![200]);
    assert!(signal.matches(200, [("grpc-status", "16")]));
    assert!(signal.matches(200, [("Grpc-Status", " 16 ")]));
    assert!(!signal.matches(200, [("grpc-status", "0")]));
    assert!(!signal.matches(200, [("content-type", "application/grpc")]));
    assert!(
        !signal.matches(401, [("grpc-status", "16")]),
        "only a listed status"
    );
}
