//! A typed client for a spec that declares facts `unknown` (issue 9, item 7): the user supplies
//! them through `ClientBuilder::configure`, and the client works against a vendor written from
//! the invented page quoted in `auth-spec/tests/valid/unknown_facts.yaml` (it takes a form login
//! and `X-Sparse-Token: <token>`; the page says neither).

auth_macros::provider!("../auth-spec/tests/valid/unknown_facts.yaml");

use auth_runtime::auth_spec::model::Encoding;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn the_user_supplies_what_the_document_leaves_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/session"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("user=ann"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token": "tok-1", "expires_in": 900, "renew": "r-1", "renew_until": "2030-01-01 00:00:00"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/accounts"))
        .and(header("x-sparse-token", "tok-1"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .expect(1)
        .mount(&server)
        .await;
    let credentials = unknown_facts::Credentials {
        user: "ann".to_owned(),
        password: "pw".to_owned().into(),
    };
    // Without the facts, the client says what is missing and sends nothing.
    let bare = unknown_facts::Client::builder(credentials.clone())
        .environment(unknown_facts::Environment::Url(server.uri()))
        .build()
        .expect("builds");
    let error = bare
        .access_token()
        .await
        .expect_err("the encoding is unknown");
    assert!(
        matches!(
            error.kind(),
            auth_runtime::AuthErrorKind::NotInDocument { .. }
        ),
        "{error:?}"
    );

    let client = unknown_facts::Client::builder(credentials)
        .environment(unknown_facts::Environment::Url(server.uri()))
        .configure(|b| {
            b.body_encoding(Encoding::Form)
                .token_header("X-Sparse-Token", "${session.access_token}")
        })
        .build()
        .expect("builds");
    let answer = client
        .http()
        .get(format!("{}/accounts", server.uri()))
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status(), 200);
}
