// The body of the `tenant` fuzz target, shared with the corpus replay test
// (crates/mlguard/tests/fuzz_corpus.rs) through `include!`: MLTenant files read, validated and
// rendered as `mlguard tenant render` and the operator do.
//
// Invariants: every error names the file; with any error nothing is read (nothing
// half-applied); every rendered object has apiVersion, kind and name, and a namespaced one
// sits in one of the tenant's namespaces; each namespace of the spec is rendered as a
// Namespace; the rendered YAML loads back with the same objects; the spec survives the JSON
// round trip the operator makes.

/// Read and render one fuzz input as MLTenant files.
pub fn check_tenant_input(data: &[u8]) {
    use mlguard_core::load::load_text;
    use mlguard_core::LoadOptions;

    let text = String::from_utf8_lossy(data);
    let (objects, _, _) = load_text("fuzz.yaml", &text, &LoadOptions::default());
    let pairs: Vec<(String, mlguard_core::Object)> =
        objects.into_iter().map(|o| ("fuzz.yaml".to_owned(), o)).collect();
    let (tenants, errors) = mlguard_tenant::read(&pairs);
    for e in &errors {
        assert_eq!(e.file, "fuzz.yaml");
        assert!(e.to_string().starts_with("fuzz.yaml"), "{e}");
    }
    if !errors.is_empty() {
        assert!(tenants.is_empty(), "an error, yet tenants were read");
        return;
    }
    for t in &tenants {
        let spec_json = serde_json::to_value(&t.spec).expect("spec serializes");
        let back: mlguard_tenant::MLTenantSpec =
            serde_json::from_value(spec_json.clone()).expect("spec reads back");
        assert_eq!(back, t.spec, "JSON round trip of the spec");
        let namespaces: Vec<&str> = t.spec.namespaces.iter().map(|n| n.name.as_str()).collect();
        let rendered = mlguard_tenant::render(t);
        let mut declared = Vec::new();
        for o in &rendered {
            let kind = o["kind"].as_str().expect("kind");
            assert!(o["apiVersion"].is_string(), "{o}");
            let name = o["metadata"]["name"].as_str().expect("name");
            assert!(!name.is_empty());
            if kind == "Namespace" {
                declared.push(name.to_owned());
            } else {
                let ns = o["metadata"]["namespace"].as_str().expect("namespace");
                assert!(namespaces.contains(&ns), "{kind} {name} outside the tenant: {ns}");
            }
        }
        let mut want: Vec<String> = namespaces.iter().map(|s| (*s).to_owned()).collect();
        want.sort();
        declared.sort();
        assert_eq!(declared, want);
        let yaml = mlguard_core::emit::to_yaml_stream(&rendered);
        let (again, errs, _) = load_text("rendered.yaml", &yaml, &LoadOptions::default());
        assert!(errs.is_empty(), "{errs:?}\n{yaml}");
        assert_eq!(again.len(), rendered.len());
        for (a, b) in again.iter().zip(&rendered) {
            assert_eq!(&a.root.to_json(), b, "the YAML writer and reader disagree");
        }
        let _ = mlguard_tenant::audit_namespaces(t);
    }
}
