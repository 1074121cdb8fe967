// The body of the `loader` fuzz target, shared word for word with the corpus replay test
// (crates/mlguard-core/tests/fuzz_corpus.rs) through `include!`, so CI replays exactly what the
// fuzzer ran. Arbitrary bytes are decoded as UTF-8 lossily (invalid sequences reach the parser
// as U+FFFD) and fed to the YAML tree builder and to the object loader. Neither may panic,
// overflow the stack or hang; every error must render naming the file.

/// Run the loader over one fuzz input.
pub fn check_loader_input(data: &[u8]) {
    use mlguard_core::load::{load_text, LoadOptions};
    use mlguard_core::yaml::parse_stream;

    let text = String::from_utf8_lossy(data);
    let opts = LoadOptions::default();

    let stream = parse_stream(&text, opts.limits);
    if let Some(e) = &stream.error {
        assert!(!e.message.is_empty(), "empty YAML error message");
        assert!(e.pos.line >= 1, "YAML error without a line: {e:?}");
    }
    for (i, d) in stream.documents.iter().enumerate() {
        assert_eq!(d.index, i, "document indexes must count up from 0");
        let _ = d.root.to_json();
    }

    let (objects, errors, notes) = load_text("fuzz.yaml", &text, &opts);
    for e in &errors {
        assert!(
            e.to_string().starts_with("fuzz.yaml"),
            "error does not name the file: {e}"
        );
    }
    for n in &notes {
        assert_eq!(n.file, "fuzz.yaml");
    }
    for o in &objects {
        let _ = (o.group(), o.labels(), o.metadata(), o.at().path().to_string());
    }
}
