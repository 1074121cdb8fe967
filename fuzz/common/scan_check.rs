// The body of the `scan` fuzz target, shared word for word with the corpus replay test
// (crates/mlguard/tests/fuzz_corpus.rs) through `include!`. Arbitrary manifests go through the
// whole main job: loader, Inventory, effective RBAC, every built-in check, and every renderer.
// Nothing may panic or hang, and a secret-looking env value must never reach an output.

/// Run a whole scan and every renderer over one fuzz input.
pub fn check_scan_input(data: &[u8]) {
    use mlguard_controls::{scan, Config, CustomControls, Date, Exceptions, ScanOptions};
    use mlguard_core::Inventory;

    let text = String::from_utf8_lossy(data);
    let inv = Inventory::from_text("fuzz.yaml", &text, "default");
    let config = Config {
        allowed_registries: vec!["registry.example.com".to_owned()],
        ..Config::default()
    };
    let opts = ScanOptions {
        config: &config,
        exceptions: &Exceptions::default(),
        custom: &CustomControls::default(),
        today: Date { year: 2026, month: 1, day: 1 },
    };
    let (report, catalog) = scan(&inv, &opts);
    for f in &report.findings {
        assert!(catalog.get(&f.control).is_some(), "finding of unknown control {}", f.control);
        assert_eq!(f.location.file, "fuzz.yaml");
    }
    for format in mlguard_report::Format::ALL {
        let mut out = Vec::new();
        let ropts = mlguard_report::RenderOptions { color: true, framework: None, verbose: true };
        mlguard_report::render(&report, &catalog, format, &ropts, &mut out).expect("render to memory");
    }
}
