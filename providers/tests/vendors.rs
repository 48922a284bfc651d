//! Each vendor's spec, checked against its document (shared/seeds/), not against itself: the
//! answers below are copied from the documents (placeholders replaced by values of the type the
//! text states), and the expected tokens and expiries follow from the documents' sentences.

use std::time::{Duration, UNIX_EPOCH};

use auth_spec::ProviderSpec;
use auth_spec::extract::{Answer, Expiry};
use auth_spec::model::{Encoding, Method, RefreshTiming, Rotation};
use auth_spec::template::Reference;
use secrecy::ExposeSecret;

fn spec(name: &str) -> ProviderSpec {
    let source = providers::spec_source(name).expect("provider is embedded");
    auth_spec::parse(format!("providers/{name}.yaml"), source).unwrap_or_else(|d| panic!("{d}"))
}

fn answer(body: &str) -> Answer {
    Answer {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.to_owned(),
    }
}

/// A JWT whose payload is `claims` (unsigned; only `exp` is read, never verified).
fn jwt(claims: &str) -> String {
    use base64::Engine as _;
    let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.c2ln",
        enc.encode(r#"{"kid":"1","alg":"RS256"}"#),
        enc.encode(claims)
    )
}

fn body_field<'a>(
    endpoint: &'a auth_spec::model::Endpoint,
    key: &str,
) -> &'a auth_spec::model::BodyValue {
    match endpoint.body.as_ref().expect("a body") {
        auth_spec::model::BodyValue::Object(map) => {
            map.get(key).unwrap_or_else(|| panic!("body has `{key}`"))
        }
        other => panic!("body is not an object: {other:?}"),
    }
}

fn literal(value: &auth_spec::model::BodyValue) -> String {
    match value {
        auth_spec::model::BodyValue::Template(t) => t.render(|_| None).expect("a literal"),
        other => panic!("not a string: {other:?}"),
    }
}

fn sole_ref(value: &auth_spec::model::BodyValue) -> Reference {
    match value {
        auth_spec::model::BodyValue::Template(t) => {
            t.sole_reference().expect("one placeholder").clone()
        }
        other => panic!("not a template: {other:?}"),
    }
}

#[test]
fn every_embedded_spec_is_valid_together() {
    let files: Vec<(String, &str)> = providers::SPECS
        .iter()
        .map(|(name, text)| (format!("providers/{name}.yaml"), *text))
        .collect();
    let specs = auth_spec::parse_set(&files).unwrap_or_else(|d| panic!("{d}"));
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["apiax", "idissuer", "intergiro"]);
}

#[test]
fn intergiro_follows_its_document() {
    let s = spec("intergiro");
    // "POST /v3/auth/login", "Content-Type: application/json", { "api_key": ... }
    assert_eq!(s.login.request.method, Method::Post);
    assert_eq!(s.login.request.path.to_string(), "/v3/auth/login");
    assert_eq!(s.login.request.encoding, Encoding::Json);
    assert_eq!(
        sole_ref(body_field(&s.login.request, "api_key")),
        Reference::Credential("api_key".into())
    );
    assert_eq!(s.credentials[0].env, "INTERGIRO_API_KEY");
    assert!(s.credentials[0].secret);
    // Pages give only paths: no host may be invented.
    assert!(s.environments.iter().all(|e| e.base_url.is_none()));
    // "POST /v3/auth/refresh" with { "refresh_token": ... }
    let refresh = s.refresh.as_ref().expect("refresh endpoint");
    assert_eq!(refresh.request.path.to_string(), "/v3/auth/refresh");
    assert_eq!(
        sole_ref(body_field(&refresh.request, "refresh_token")),
        Reference::RefreshToken
    );
    // "token refresh attempt should be performed only after access token has expired"
    assert_eq!(s.policy.refresh, RefreshTiming::AfterExpiry);
    // "always keep the latest refresh_token for the next renewal"
    assert_eq!(s.policy.rotation, Rotation::Rotates);
    // "Whenever an API call returns 401 Unauthorized ... the access token has expired"
    let expired = s.usage.expired.as_ref().expect("expired signal");
    assert!(expired.matches(401, []));
    // "Authorization: Bearer <access_token>"
    assert_eq!(s.usage.headers[0].0, "Authorization");
    assert_eq!(
        s.usage.headers[0]
            .1
            .render(|_| Some("T".into()))
            .expect("renders"),
        "Bearer T"
    );

    // The document's answer: no expiry field; the access token is a JWT whose `exp` says it all.
    let exp = 1_767_225_600;
    let access = jwt(&format!(r#"{{"sub":"client","exp":{exp}}}"#));
    let body = format!(
        r#"{{"access_token": "{access}", "refresh_token": "eyJzZXNzaW9uSWQiOiJmMjUa..."}}"#
    );
    for endpoint in [&s.login, refresh] {
        let got = endpoint.response.extract(&answer(&body)).expect("extracts");
        assert_eq!(got.access_token.expose_secret(), access);
        assert_eq!(
            got.refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            Some("eyJzZXNzaW9uSWQiOiJmMjUa...".to_owned())
        );
        assert_eq!(
            got.access_expiry,
            Expiry::At(UNIX_EPOCH + Duration::from_secs(exp))
        );
        // The session's lifetime is not stated: unknown, discovered when refresh fails.
        assert_eq!(got.refresh_expiry, Expiry::Unknown);
    }
    // The document's literal example token is truncated, not a readable JWT: expiry unknown.
    let doc = r#"{"access_token": "eyJraWQiOiIxIiwiYWxnIjoi...", "refresh_token": "eyJzZXNzaW9uSWQiOiJmMjUa..."}"#;
    let got = s.login.response.extract(&answer(doc)).expect("extracts");
    assert_eq!(got.access_expiry, Expiry::Unknown);
}

#[test]
fn apiax_follows_its_document() {
    let s = spec("apiax");
    let env = s.default_environment();
    assert_eq!(env.base_url.as_deref(), Some("https://auth.apiax.io"));
    let token_path = "/auth/realms/apiax/protocol/openid-connect/token";
    assert_eq!(s.login.request.path.to_string(), token_path);
    // "Content-Type: application/x-www-form-urlencoded"
    assert_eq!(s.login.request.encoding, Encoding::Form);
    assert_eq!(
        literal(body_field(&s.login.request, "client_id")),
        "integration-api"
    );
    assert_eq!(
        literal(body_field(&s.login.request, "grant_type")),
        "password"
    );
    assert_eq!(
        sole_ref(body_field(&s.login.request, "username")),
        Reference::Credential("username".into())
    );
    assert_eq!(
        sole_ref(body_field(&s.login.request, "password")),
        Reference::Credential("password".into())
    );
    let envs: Vec<&str> = s.credentials.iter().map(|c| c.env.as_str()).collect();
    assert_eq!(envs, ["APIAX_USERNAME", "APIAX_PASSWORD"]);

    let refresh = s.refresh.as_ref().expect("refresh endpoint");
    assert_eq!(refresh.request.path.to_string(), token_path);
    assert_eq!(refresh.request.encoding, Encoding::Form);
    assert_eq!(
        literal(body_field(&refresh.request, "grant_type")),
        "refresh_token"
    );
    assert_eq!(
        literal(body_field(&refresh.request, "client_assertion_type")),
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert_eq!(
        literal(body_field(&refresh.request, "client_id")),
        "integration-api"
    );
    assert_eq!(
        sole_ref(body_field(&refresh.request, "refresh_token")),
        Reference::RefreshToken
    );
    // The page's "Authentication:" is a typo for the bearer header.
    assert_eq!(s.usage.headers[0].0, "Authorization");

    // Login answer: `expires_in` (seconds), refresh_expires_in 0 -> 14 days from login.
    let login = r#"{
        "access_token": "ACCESS_TOKEN", "expires_in": 1800, "refresh_expires_in": 0,
        "refresh_token": "REFRESH_TOKEN", "token_type": "bearer",
        "not-before-policy": 1767225600000, "session_state": "UUID", "scope": "TOKEN_VALIDITY_SCOPES"
    }"#;
    let got = s.login.response.extract(&answer(login)).expect("extracts");
    assert_eq!(got.access_token.expose_secret(), "ACCESS_TOKEN");
    assert_eq!(
        got.refresh_token.as_ref().map(|t| t.expose_secret()),
        Some("REFRESH_TOKEN")
    );
    assert_eq!(got.access_expiry, Expiry::In(Duration::from_secs(1800)));
    assert_eq!(
        got.refresh_expiry,
        Expiry::SinceLogin(Duration::from_secs(14 * 24 * 3600))
    );

    // "The default expiration time for expires_in is 1800 seconds."
    let without = r#"{"access_token": "A", "refresh_token": "R", "refresh_expires_in": 0}"#;
    let got = s
        .login
        .response
        .extract(&answer(without))
        .expect("extracts");
    assert_eq!(got.access_expiry, Expiry::In(Duration::from_secs(1800)));

    // A non-zero refresh_expires_in is "the remaining seconds until you can refresh".
    let remaining = r#"{"access_token": "A", "refresh_token": "R", "expires_in": 300, "refresh_expires_in": 7200}"#;
    let got = s
        .login
        .response
        .extract(&answer(remaining))
        .expect("extracts");
    assert_eq!(got.refresh_expiry, Expiry::In(Duration::from_secs(7200)));

    // Refresh answer: `expires_at` is a Java timestamp (milliseconds since the epoch).
    let refreshed = r#"{
        "access_token": "NEW_ACCESS_TOKEN", "expires_at": 1767227400000, "refresh_expires_in": 0,
        "refresh_token": "NEW_REFRESH_TOKEN", "token_type": "bearer",
        "not-before-policy": 1767225600000, "session_state": "UUID", "scope": "TOKEN_VALIDITY_SCOPES"
    }"#;
    let got = refresh
        .response
        .extract(&answer(refreshed))
        .expect("extracts");
    assert_eq!(got.access_token.expose_secret(), "NEW_ACCESS_TOKEN");
    assert_eq!(
        got.refresh_token.as_ref().map(|t| t.expose_secret()),
        Some("NEW_REFRESH_TOKEN")
    );
    assert_eq!(
        got.access_expiry,
        Expiry::At(UNIX_EPOCH + Duration::from_secs(1_767_227_400))
    );
    // "14 days starting after the retrieval of your Access Token with credentials": from login.
    assert_eq!(
        got.refresh_expiry,
        Expiry::SinceLogin(Duration::from_secs(14 * 24 * 3600))
    );
}

#[test]
fn idissuer_follows_its_document() {
    let s = spec("idissuer");
    assert_eq!(
        s.default_environment().base_url.as_deref(),
        Some("https://api.idissuer.pl")
    );
    assert_eq!(s.login.request.path.to_string(), "/v2/auth/token");
    assert_eq!(s.login.request.encoding, Encoding::Json);
    let envs: Vec<&str> = s.credentials.iter().map(|c| c.env.as_str()).collect();
    assert_eq!(envs, ["IDISSUER_USERNAME", "IDISSUER_PASSWORD"]);
    // "execute a POST request to the following address: .../v2/auth/refreshtoken"
    let refresh = s.refresh.as_ref().expect("refresh endpoint");
    assert_eq!(refresh.request.path.to_string(), "/v2/auth/refreshtoken");
    // The refresh body sends the access_token object back, and the refresh token.
    assert_eq!(
        sole_ref(body_field(&refresh.request, "access_token")),
        Reference::Response(auth_spec::path::FieldPath::parse("access_token").expect("path"))
    );
    assert_eq!(
        sole_ref(body_field(&refresh.request, "refresh_token")),
        Reference::RefreshToken
    );

    let login = r#"{
        "access_token": { "token_type": "bearer", "token": "eyJhbGciOiJIUzI1NiIsInR...", "expires_in": 3600 },
        "refresh_token": "5QhI6iaHkyh7Z3eNwhNxcbF2..."
    }"#;
    for endpoint in [&s.login, refresh] {
        let got = endpoint.response.extract(&answer(login)).expect("extracts");
        assert_eq!(
            got.access_token.expose_secret(),
            "eyJhbGciOiJIUzI1NiIsInR..."
        );
        assert_eq!(
            got.refresh_token.as_ref().map(|t| t.expose_secret()),
            Some("5QhI6iaHkyh7Z3eNwhNxcbF2...")
        );
        assert_eq!(got.access_expiry, Expiry::In(Duration::from_secs(3600)));
        assert_eq!(got.refresh_expiry, Expiry::Unknown);
    }

    // The expired-token answer from the document, and answers that are not it.
    let signal = s.usage.expired.as_ref().expect("expired signal");
    let documented = [
        ("Content-Length", "0"),
        (
            "WWW-Authenticate",
            r#"Bearer error="invalid_token", error_description="The token is expired""#,
        ),
        ("Token-Expired", "true"),
    ];
    assert!(signal.matches(401, documented));
    assert!(signal.matches(401, [("Token-Expired", "true")]));
    assert!(signal.matches(401, [documented[1]]));
    assert!(!signal.matches(401, [("Content-Length", "0")]));
    assert!(!signal.matches(200, documented));
}

#[test]
fn missing_token_is_reported_with_its_path_and_no_value() {
    let s = spec("idissuer");
    let body = r#"{"access_token": {"token_type": "bearer", "expires_in": 3600}, "refresh_token": "secret-refresh"}"#;
    let err = s
        .login
        .response
        .extract(&answer(body))
        .expect_err("no token");
    let text = err.to_string();
    assert!(text.contains("$.access_token.token"), "{text}");
    assert!(text.contains("`$.access_token`"), "{text}");
    assert!(!text.contains("secret-refresh"), "{text}");
}
