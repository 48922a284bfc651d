//! `providers/schema.json` is generated from the spec model and committed, so editors can complete
//! and check spec files. This test fails when it is stale, and rewrites it so that the fix is to
//! commit the change (rust-analyzer's "ensure file contents" pattern). `cargo xtask schema` does
//! the same rewrite on purpose.

use std::path::Path;

#[test]
fn committed_json_schema_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../providers/schema.json");
    let expected = auth_spec::json_schema();
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    if actual == expected {
        return;
    }
    // In CI, never write: just fail.
    if std::env::var_os("CI").is_none() {
        let _ = std::fs::write(&path, &expected);
    }
    panic!(
        "{} was stale{}; run `cargo xtask schema` and commit the result",
        path.display(),
        if std::env::var_os("CI").is_none() {
            " and has been updated"
        } else {
            ""
        }
    );
}

#[test]
fn every_provider_yaml_names_the_schema() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../providers");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("providers/ exists") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            seen += 1;
            let text = std::fs::read_to_string(&path).expect("readable");
            assert!(
                text.starts_with("# yaml-language-server: $schema=./schema.json"),
                "{} must start with `# yaml-language-server: $schema=./schema.json`",
                path.display()
            );
        }
    }
    assert!(seen >= 3);
}

#[test]
fn schema_describes_every_top_level_key_and_rejects_unknown_ones() {
    let schema: serde_json::Value =
        serde_json::from_str(&auth_spec::json_schema()).expect("schema is JSON");
    let properties = schema["properties"].as_object().expect("properties");
    for key in [
        "title",
        "environments",
        "default_environment",
        "credentials",
        "login",
        "refresh",
        "logout",
        "policy",
        "usage",
    ] {
        let description = properties[key]["description"].as_str().unwrap_or_default();
        assert!(
            !description.is_empty(),
            "`{key}` has no description in the schema"
        );
    }
    assert_eq!(
        schema["additionalProperties"],
        serde_json::Value::Bool(false)
    );
}
