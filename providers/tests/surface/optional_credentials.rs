//! The client generated for a spec with optional credentials and credential sets: optional
//! credentials are `Option`s, and a client built with the second set only logs in with it.
auth_macros::provider!("../auth-spec/tests/valid/optional_credentials.yaml");

use self::optional_credentials::Credentials;

#[test]
fn optional_credentials_are_options() {
    let credentials = Credentials {
        email: None,
        username: Some("ann".to_owned()),
        tenant_id: Some("t-9".to_owned()),
        password: "pw".to_owned().into(),
        otp: None,
    };
    let shown = format!("{credentials:?}");
    assert!(
        shown.contains("otp: None") && !shown.contains("pw"),
        "{shown}"
    );
    let runtime = credentials.into_runtime();
    assert!(runtime.get("email").is_none());
    assert!(runtime.check(&optional_credentials::spec()).is_ok());
}
