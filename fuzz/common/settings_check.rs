// The body of the `settings` fuzz target, shared with the corpus replay test
// (crates/mlguard/tests/fuzz_corpus.rs) through `include!`: the parsers of mlguard.yaml,
// exceptions files and custom CEL control files. Errors must name the file and a line.

/// Parse one fuzz input as each kind of settings file.
pub fn check_settings_input(data: &[u8]) {
    use mlguard_controls::{Config, CustomControls, Exceptions};

    let text = String::from_utf8_lossy(data);
    let check = |e: mlguard_controls::CatalogError| {
        assert_eq!(e.file, "fuzz.yaml");
        assert!(e.to_string().starts_with("fuzz.yaml:"), "{e}");
    };
    if let Err(e) = Config::parse("fuzz.yaml", &text) {
        check(e);
    }
    if let Err(e) = Exceptions::parse("fuzz.yaml", &text) {
        check(e);
    }
    if let Err(e) = CustomControls::parse("fuzz.yaml", &text) {
        check(e);
    }
}
