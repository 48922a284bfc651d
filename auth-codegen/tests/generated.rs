//! Snapshots of the code generated for every spec in `providers/`, formatted with prettyplease,
//! so that every change to a spec or to the generator shows up as a readable diff of Rust.
//! `cargo xtask snapshots` regenerates them; CI fails on a stale or orphaned one.

use std::path::Path;

use auth_codegen::{Options, SpecSource};

#[test]
fn generated_code_for_every_provider() {
    insta::glob!("../../providers", "*.yaml", |path| {
        let name = path
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        let shown = format!("providers/{name}");
        let text = std::fs::read_to_string(path).expect("readable");
        let spec = auth_spec::parse(&shown, &text).unwrap_or_else(|d| panic!("{d}"));
        let options = Options {
            source: SpecSource::File(shown.clone()),
            display_path: shown,
            doc_parent: Some("providers".into()),
        };
        insta::assert_snapshot!(auth_codegen::generate_pretty(&spec, &options));
    });
}

/// A snapshot whose spec was removed or renamed is an error, not dead weight.
#[test]
fn no_orphaned_snapshots() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let prefix = "generated__generated_code_for_every_provider@";
    for entry in std::fs::read_dir(root.join("tests/snapshots")).expect("snapshots folder") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let Some(spec) = name
            .strip_prefix(prefix)
            .and_then(|n| n.strip_suffix(".snap"))
        else {
            continue;
        };
        assert!(
            root.join("../providers").join(spec).is_file(),
            "snapshot {name} has no spec providers/{spec}: delete it (or run `cargo xtask snapshots`)"
        );
    }
}

/// Optional credentials (`required: false`, or in some credential sets only) are `Option`s.
#[test]
fn generated_code_for_optional_credentials() {
    let shown = "auth-spec/tests/valid/optional_credentials.yaml";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(shown);
    let text = std::fs::read_to_string(path).expect("readable");
    let spec = auth_spec::parse(shown, &text).unwrap_or_else(|d| panic!("{d}"));
    let options = Options {
        source: SpecSource::File(shown.into()),
        display_path: shown.into(),
        doc_parent: None,
    };
    let code = auth_codegen::generate_pretty(&spec, &options);
    assert!(code.contains("pub otp: ::std::option::Option<::auth_runtime::secrecy::SecretString>"));
    assert!(code.contains("pub password: ::auth_runtime::secrecy::SecretString"));
    insta::assert_snapshot!(code);
}
