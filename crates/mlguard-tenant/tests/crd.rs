//! The CRD: generated from the types, structural, with CEL rules that compile and that accept
//! every example tenant and reject what `render` rejects (evaluated with kube-cel, as the API
//! server would).

use kube_cel::Validator;
use mlguard_tenant::crd::{crd, rules, schema};
use serde_json::{json, Value};

fn examples() -> Vec<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/tenants");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        let (objs, errs, _) = mlguard_core::load::load_text(
            &f.display().to_string(),
            &text,
            &mlguard_core::LoadOptions::default(),
        );
        assert!(errs.is_empty(), "{errs:?}");
        out.extend(objs.iter().map(|o| o.root.to_json()));
    }
    assert!(out.len() >= 3);
    out
}

#[test]
fn crd_shape() {
    let c = crd();
    assert_eq!(c["kind"], "CustomResourceDefinition");
    assert_eq!(c["metadata"]["name"], "mltenants.mlguard.io");
    assert_eq!(c["spec"]["scope"], "Cluster");
    assert_eq!(c["spec"]["versions"][0]["name"], "v1alpha1");
    assert_eq!(
        c["spec"]["versions"][0]["subresources"]["status"],
        json!({})
    );
    let s = schema();
    let spec = &s["properties"]["spec"];
    assert_eq!(spec["required"], json!(["classification", "namespaces"]));
    assert_eq!(
        spec["properties"]["classification"]["enum"],
        json!(["public", "internal", "confidential", "pii", "phi", "pci"])
    );
    // Every rule made it into the schema, at its place.
    let text = c.to_string();
    for (path, rule) in rules() {
        let quoted = serde_json::to_string(rule).expect("json");
        assert!(text.contains(&quoted), "{path}: {rule}");
    }
}

#[test]
fn rules_compile_and_accept_the_examples() {
    let s = schema();
    let compiled = kube_cel::compile_schema(&s);
    assert!(
        !compiled.has_errors(),
        "{:?}",
        compiled.compilation_errors()
    );
    let v = Validator::new();
    for ex in examples() {
        if let Err(e) = v.validate(&s, &ex, None) {
            panic!("{}: {:?}", ex["metadata"]["name"], e.as_slice());
        }
    }
}

#[test]
fn rules_reject_what_render_rejects() {
    let s = schema();
    let v = Validator::new();
    let base = json!({"apiVersion": "mlguard.io/v1alpha1", "kind": "MLTenant", "metadata": {"name": "t"},
        "spec": {"classification": "internal", "namespaces": [{"name": "a", "role": "training"}]}});
    v.validate(&s, &base, None).expect("the base is valid");
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"namespaces": [{"name": "a", "role": "training"}, {"name": "a", "role": "serving"}]}),
            "each namespace is listed once",
        ),
        (
            json!({"namespaces": [{"name": "kube-ml", "role": "training"}]}),
            "system namespace",
        ),
        (
            json!({"classification": "phi", "audit": {"writes": "Request"}}),
            "RequestResponse",
        ),
        (
            json!({"network": {"collective": {"mode": "port-range", "from": 40000}}}),
            "mode port-range needs",
        ),
        (
            json!({"network": {"collective": {"mode": "port-range", "from": 50000, "to": 40000}}}),
            "mode port-range needs",
        ),
        (
            json!({"network": {"collective": {"from": 40000, "to": 40999}}}),
            "from and to are for",
        ),
        (
            json!({"network": {"storageEndpoints": [{"cidr": "10.0.0.0/33"}]}}),
            "CIDR",
        ),
        (
            json!({"network": {"storageEndpoints": [{"ports": [443]}]}}),
            "a storage endpoint is",
        ),
        (
            json!({"keyProvider": {"type": "vault", "parameters": {"address": "http://vault:8200", "role": "r", "keyPath": "k"}}}),
            "https://",
        ),
        (json!({"quota": {"cpu": "lots"}}), "quantities"),
        (
            json!({"members": {"engineers": {"groups": ["system:authenticated"]}}}),
            "reaches everyone",
        ),
    ];
    for (i, (patch, want)) in cases.iter().enumerate() {
        let mut obj = base.clone();
        for (k, val) in patch.as_object().expect("patch") {
            obj["spec"][k] = val.clone();
        }
        match v.validate(&s, &obj, None) {
            Ok(()) => panic!("case {i} ({want}) was accepted"),
            Err(e) => assert!(
                e.iter().any(|x| x.message.contains(want)),
                "case {i}: want {want} in {:?}",
                e.as_slice()
            ),
        }
    }
}
