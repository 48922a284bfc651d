//! The macro's compile errors (trybuild): each bad spec fails to compile with a message naming
//! the file, line and column. And each vendor's generated client compiles when its whole public
//! surface is used.

#[test]
fn bad_specs_are_compile_errors_with_positions() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

#[test]
fn generated_clients_compile_and_run() {
    let t = trybuild::TestCases::new();
    t.pass("tests/pass/*.rs");
}
