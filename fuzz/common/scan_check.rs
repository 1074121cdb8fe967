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
        focus: None,
        external: None,
    };
    let (report, catalog) = scan(&inv, &opts);
    // A focused scan (an admission decision) finds on its object exactly what the whole scan
    // finds there: the checks' pruning may skip only work whose findings land elsewhere.
    for focus in 0..inv.objects.len().min(3) {
        let o = &inv.objects[focus];
        let key = |f: &mlguard_controls::Finding| {
            (f.control.clone(), f.message.clone(), f.location.line, f.location.path.clone())
        };
        let on_it = |f: &&mlguard_controls::Finding| {
            f.resource.kind == o.kind && f.resource.name == o.name && f.resource.namespace == o.namespace
        };
        let mut whole: Vec<_> = report.findings.iter().filter(on_it).map(key).collect();
        let (focused, _) = scan(&inv, &ScanOptions { focus: Some(focus), ..opts });
        let mut got: Vec<_> = focused.findings.iter().map(key).collect();
        whole.sort();
        got.sort();
        // Objects sharing kind, namespace and name cannot be told apart by resource.
        let unique = inv.objects.iter().filter(|x| x.kind == o.kind && x.name == o.name && x.namespace == o.namespace).count() == 1;
        if unique {
            assert_eq!(got, whole, "focused scan of object {focus} differs");
        }
    }
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
