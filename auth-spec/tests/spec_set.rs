//! Checks across several spec files, and loading from folders.

const BASE: &str = r#"title: T
environments:
  production: { base_url: https://api.example.com }
default_environment: production
credentials:
  api_key:
    env: SHARED_API_KEY
login:
  method: POST
  path: /login
  encoding: json
  body: { key: "${credentials.api_key}" }
  response:
    access_token: $.token
    access_token_expiry: [ { lifetime: 1h } ]
    examples: [ { body: { token: t } } ]
policy: { refresh: after_expiry }
usage:
  headers: { Authorization: "Bearer ${session.access_token}" }
"#;

#[test]
fn environment_variables_are_unique_across_providers() {
    let diags = auth_spec::parse_set(&[("specs/one.yaml", BASE), ("specs/two.yaml", BASE)])
        .expect_err("the variable is used twice");
    assert_eq!(diags.len(), 1, "{diags}");
    let d = &diags.0[0];
    assert_eq!(
        (d.file.as_str(), d.line, d.column),
        ("specs/two.yaml", 7, 10)
    );
    assert!(d.message.contains("SHARED_API_KEY"), "{d}");
    assert!(d.message.contains("provider `one`"), "{d}");
    assert!(
        d.hint.as_deref().is_some_and(|h| h.contains("TWO_API_KEY")),
        "{d}"
    );
}

#[test]
fn derived_environment_variables_follow_the_convention() {
    let source = BASE.replace("    env: SHARED_API_KEY\n", "    description: key\n");
    let spec = auth_spec::parse("my_vendor.yaml", &source).expect("valid");
    assert_eq!(spec.credentials[0].env, "MY_VENDOR_API_KEY");
    assert!(
        spec.credentials[0].secret,
        "credentials are secret unless declared otherwise"
    );
}

#[test]
fn provider_name_must_be_a_rust_module_name() {
    for bad in ["My-Vendor.yaml", "2fa.yaml", "type.yaml", "Vendor.yaml"] {
        let diags = auth_spec::parse(bad, BASE).expect_err(bad);
        let d = &diags.0[0];
        assert_eq!((d.line, d.column), (1, 1), "{d}");
        assert!(d.message.contains("not a valid Rust module name"), "{d}");
        assert!(
            d.to_string().starts_with(&format!("{bad}:1:1: error: ")),
            "{d}"
        );
    }
}

#[test]
fn load_reports_missing_paths_and_every_bad_file() {
    let dir = std::env::temp_dir().join(format!("auth-spec-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("good.yaml"), BASE).expect("write");
    std::fs::write(dir.join("bad.yaml"), BASE.replace("$.token", "$.tokn")).expect("write");
    std::fs::write(dir.join("notes.txt"), "not a spec").expect("write");
    let missing = dir.join("missing");
    let diags = auth_spec::load(&[dir.clone(), missing]).expect_err("bad file and missing path");
    let text = diags.to_string();
    assert!(
        text.contains("missing: error: no such file or folder"),
        "{text}"
    );
    assert!(
        text.contains("bad.yaml:14:19: error: access token `$.tokn` does not resolve"),
        "{text}"
    );
    assert!(text.contains("did you mean `token`?"), "{text}");
    let specs = auth_spec::load(&[dir.join("good.yaml")]).expect("one good file");
    assert_eq!(specs[0].name, "good");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn each_file_gets_its_own_outcome() {
    let broken = BASE.replace("policy: { refresh: after_expiry }", "polcy: {}");
    let own = BASE.replace("SHARED_API_KEY", "THREE_API_KEY");
    let results = auth_spec::parse_each(&[
        ("specs/one.yaml", BASE),
        ("specs/two.yaml", BASE),
        ("specs/bad.yaml", broken.as_str()),
        ("specs/three.yaml", own.as_str()),
    ]);
    assert_eq!(results.len(), 4);
    assert_eq!(results[0].as_ref().map(|s| s.name.as_str()), Ok("one"));
    // The second reader of a variable carries the conflict; the first stays valid.
    let two = results[1].as_ref().expect_err("conflict");
    assert_eq!(two.len(), 1, "{two}");
    assert!(two.0[0].message.contains("SHARED_API_KEY"), "{two}");
    let bad = results[2].as_ref().expect_err("invalid");
    assert!(bad.iter().all(|d| d.file == "specs/bad.yaml"), "{bad}");
    assert!(
        bad.iter()
            .any(|d| d.message.contains("unknown key `polcy`")),
        "{bad}"
    );
    assert_eq!(results[3].as_ref().map(|s| s.name.as_str()), Ok("three"));
}
