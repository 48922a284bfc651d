//! The macro's compile errors (trybuild): each bad spec fails to compile with a message naming
//! the file, line and column. Compile-pass coverage of the generated clients is ordinary tests
//! (`providers/tests/surface`), so this build needs no runtime crates.

#[test]
fn bad_specs_are_compile_errors_with_positions() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
