//! The typed response structs and the engine's run-time extraction agree: for every provider and
//! every example answer, both read the same access token and refresh token, and the typed struct
//! keeps everything the expiry is read from (written back as JSON, it yields the same expiry).

use auth_runtime::auth_spec::extract::Answer;
use auth_runtime::auth_spec::model::TokenResponse;
use auth_runtime::secrecy::ExposeSecret;
use serde::Serialize;
use serde::de::DeserializeOwned;

trait Tokens {
    fn access(&self) -> Option<String>;
    fn refresh(&self) -> Option<String>;
}

macro_rules! tokens {
    ($($ty:ty),*) => {$(
        impl Tokens for $ty {
            fn access(&self) -> Option<String> {
                self.access_token().map(|t| t.expose_secret().to_owned())
            }
            fn refresh(&self) -> Option<String> {
                self.refresh_token().map(|t| t.expose_secret().to_owned())
            }
        }
    )*};
}

tokens!(
    providers::intergiro::LoginResponse,
    providers::intergiro::RefreshResponse,
    providers::apiax::LoginResponse,
    providers::apiax::RefreshResponse,
    providers::idissuer::LoginResponse,
    providers::idissuer::RefreshResponse
);

fn agree<T: DeserializeOwned + Serialize + Tokens>(
    provider: &str,
    endpoint: &str,
    response: &TokenResponse,
) -> usize {
    let mut checked = 0;
    for example in response
        .examples
        .iter()
        .filter(|e| (200..300).contains(&e.status))
    {
        let what = format!("{provider} {endpoint} example");
        let engine = response
            .extract(&Answer::from_example(example))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let typed: T =
            serde_json::from_value(example.body.clone()).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            typed.access(),
            Some(engine.access_token.expose_secret().to_owned()),
            "{what}: access token"
        );
        assert_eq!(
            typed.refresh(),
            engine
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            "{what}: refresh token"
        );
        let written = Answer {
            status: example.status,
            headers: example.headers.clone(),
            body: serde_json::to_string(&typed).expect("serializes"),
        };
        let again = response
            .extract(&written)
            .unwrap_or_else(|e| panic!("{what} written back: {e}"));
        assert_eq!(
            again.access_expiry, engine.access_expiry,
            "{what}: access expiry"
        );
        assert_eq!(
            again.refresh_expiry, engine.refresh_expiry,
            "{what}: refresh expiry"
        );
        checked += 1;
    }
    checked
}

#[test]
fn typed_structs_and_engine_extraction_agree_for_every_provider() {
    let mut covered = Vec::new();
    let mut checked = 0;
    macro_rules! provider {
        ($module:ident) => {{
            let spec = providers::$module::spec();
            checked += agree::<providers::$module::LoginResponse>(
                &spec.name,
                "login",
                &spec.login.response,
            );
            if let Some(refresh) = &spec.refresh {
                checked += agree::<providers::$module::RefreshResponse>(
                    &spec.name,
                    "refresh",
                    &refresh.response,
                );
            }
            covered.push(spec.name.clone());
        }};
    }
    provider!(intergiro);
    provider!(apiax);
    provider!(idissuer);
    covered.sort();
    let all: Vec<String> = providers::names().map(String::from).collect();
    assert_eq!(covered, all, "a provider was added: add it to this test");
    assert!(
        checked >= 6,
        "every example answer was compared ({checked})"
    );
}
