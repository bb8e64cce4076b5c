//! Every misuse of `#[crud_module]` is a compile error at the offending
//! token. One mistake per file in tests/ui, and one file with many to show
//! they are all reported at once.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
