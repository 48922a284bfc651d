//! Uses the whole public surface of the client generated for providers/idissuer.yaml.
use providers::idissuer;

use std::sync::Arc;
use std::time::Duration;

use auth_runtime::secrecy::ExposeSecret;
use providers::idissuer::{
    Client, ClientBuilder, Credentials, Environment, LoginResponse, TokenResponse,
};

fn credentials() -> Credentials {
    Credentials {
        username: "user@example.com".to_owned().into(),
        password: "s3cret".to_owned().into(),
    }
}

#[allow(dead_code)]
async fn surface(client: &Client) -> Result<(), auth_runtime::AuthError> {
    let token: auth_runtime::AccessToken = client.access_token().await?;
    let _ = token.secret().expose_secret().len();
    let request = auth_runtime::reqwest::Client::new().get("http://127.0.0.1:9/x");
    let _request: auth_runtime::reqwest::RequestBuilder = client.authorize(request).await?;
    let _middleware: &auth_runtime::reqwest_middleware::ClientWithMiddleware = client.http();
    let _status: auth_runtime::Status = client.status().await?;
    client.logout().await?;
    match client.last_response() {
        Some(TokenResponse::Login(login)) => {
            let _: Option<&auth_runtime::secrecy::SecretString> = login.access_token();
        }
        Some(TokenResponse::Refresh(refresh)) => {
            let _: Option<i64> = refresh.access_token.expires_in;
        }
        None => {}
    }
    let _: Result<Credentials, auth_runtime::AuthError> = Credentials::from_env();
    let _: Result<Client, auth_runtime::AuthError> = Client::from_env();
    Ok(())
}

#[test]
fn whole_surface_compiles_and_runs() {
    assert_eq!(idissuer::NAME, "idissuer");
    assert!(idissuer::SPEC_YAML.contains("title:"));
    assert_eq!(idissuer::spec().name, "idissuer");
    assert_eq!(
        Environment::Production.base_url(),
        Some("https://api.idissuer.pl")
    );
    let printed = format!("{:?}", credentials());
    assert!(
        !printed.contains("s3cret"),
        "secrets are redacted: {printed}"
    );
    let _runtime_credentials: auth_runtime::Credentials = credentials().into_runtime();
    let builder: ClientBuilder = Client::builder(credentials())
        .environment(Environment::Url("http://127.0.0.1:9".into()))
        .store(Arc::new(auth_runtime::MemoryStore::new()))
        .http_client(auth_runtime::reqwest::Client::new())
        .timeout(Duration::from_secs(5));
    let client = builder.build().expect("builds");
    assert_eq!(client.base_url(), "http://127.0.0.1:9/");
    assert!(client.last_response().is_none());
    let _engine: &auth_runtime::Authenticator = client.authenticator();
    let _typed: Option<LoginResponse> = None;
}
