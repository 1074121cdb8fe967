//! `mlguard policy export`: the real binary prints ValidatingAdmissionPolicies and bindings
//! the API server's schemas accept (kubernetes-validate, strict), lists what it does not
//! export with why, maps severity and mode to validationActions, never binds system
//! namespaces, and refuses bad flags with exit 2.

mod common;

use common::{code, err, out, run};
use serde_json::Value;

fn export(args: &[&str]) -> (Value, String) {
    let mut a = vec!["policy", "export", "--format", "vap-json"];
    a.extend_from_slice(args);
    let o = run(&a, None);
    assert_eq!(code(&o), 0, "{}", err(&o));
    (
        serde_json::from_str(&out(&o)).expect("a JSON List"),
        err(&o),
    )
}

fn policies(list: &Value) -> Vec<&Value> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|o| o["kind"] == "ValidatingAdmissionPolicy")
        .collect()
}

fn bindings<'a>(list: &'a Value, policy: &str) -> Vec<&'a Value> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|o| {
            o["kind"] == "ValidatingAdmissionPolicyBinding" && o["spec"]["policyName"] == policy
        })
        .collect()
}

#[test]
fn exports_policies_with_bindings_and_lists_the_rest() {
    let (list, stderr) = export(&[]);
    let ps = policies(&list);
    let ids: Vec<&str> = ps
        .iter()
        .map(|p| {
            p["metadata"]["annotations"]["mlguard.io/control"]
                .as_str()
                .expect("id")
        })
        .collect();
    for required in [
        "MLG-POD-001",
        "MLG-POD-002",
        "MLG-POD-003",
        "MLG-POD-004",
        "MLG-POD-006",
        "MLG-ENC-001",
        "MLG-ENC-002",
        "MLG-ENC-004",
        "MLG-IMG-001",
        "MLG-QUOTA-003",
        "MLG-NET-007",
    ] {
        assert!(ids.contains(&required), "{required} not exported: {ids:?}");
    }
    for p in &ps {
        let name = p["metadata"]["name"].as_str().expect("name");
        assert_eq!(p["spec"]["failurePolicy"], "Fail");
        let bs = bindings(&list, name);
        assert!(!bs.is_empty(), "{name} has no binding");
        for b in bs {
            let exprs = b["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"]
                .as_array()
                .expect("matchExpressions");
            let never = exprs
                .iter()
                .find(|e| e["key"] == "kubernetes.io/metadata.name" && e["operator"] == "NotIn")
                .expect("system namespaces excluded");
            for ns in [
                "kube-system",
                "kube-public",
                "kube-node-lease",
                "mlguard-system",
            ] {
                assert!(never["values"]
                    .as_array()
                    .expect("values")
                    .iter()
                    .any(|v| v == ns));
            }
        }
    }
    let rules = |id: &str| {
        let p = ps
            .iter()
            .find(|p| p["metadata"]["annotations"]["mlguard.io/control"] == id)
            .expect("policy");
        p["spec"]["matchConstraints"]["resourceRules"].to_string()
    };
    assert!(rules("MLG-ENC-004").contains("configmaps"));
    assert!(!rules("MLG-POD-001").contains("configmaps"));
    assert!(rules("MLG-POD-001").contains("inferenceservices"));
    // Severity and mode: privileged (high) denies, unpinned images (medium) warn.
    let actions = |list: &Value, id: &str| {
        let name = format!("mlguard-{}", id.trim_start_matches("MLG-").to_lowercase());
        bindings(list, &name)
            .iter()
            .map(|b| b["spec"]["validationActions"].to_string())
            .collect::<Vec<_>>()
    };
    assert!(actions(&list, "MLG-POD-001").contains(&r#"["Deny","Audit"]"#.to_owned()));
    assert_eq!(actions(&list, "MLG-IMG-001"), [r#"["Warn","Audit"]"#]);
    let (audit, _) = export(&["--mode", "audit"]);
    for p in policies(&audit) {
        for b in bindings(&audit, p["metadata"]["name"].as_str().expect("name")) {
            assert_eq!(b["spec"]["validationActions"].to_string(), r#"["Audit"]"#);
        }
    }
    let (critical, _) = export(&["--deny-at", "critical"]);
    assert!(!actions(&critical, "MLG-POD-001").contains(&r#"["Deny","Audit"]"#.to_owned()));
    // What is not exported is listed with why.
    assert!(stderr.contains("MLG-NET-005"), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("MLG-RBAC-001") && l.contains("judges what bindings grant")),
        "{stderr}"
    );
    assert!(!stderr.contains("MLG-POD-001"), "{stderr}");
}

#[test]
fn yaml_export_is_valid_for_the_api_server() {
    let dir = common::TempDir::new("policy");
    let file = dir.join("policies.yaml");
    let o = run(
        &[
            "policy",
            "export",
            "--format",
            "vap",
            "-o",
            file.to_str().expect("utf-8"),
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let text = std::fs::read_to_string(&file).expect("written");
    assert!(
        text.starts_with("# mlguard policy export: "),
        "{}",
        &text[..200]
    );
    assert!(text.contains("#   MLG-AUD-001"));
    common::assert_valid_for_kubernetes(&file, &["1.33.0", "1.37.0"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_flags_exit_2() {
    for args in [
        &["policy", "export", "--format", "yaml"][..],
        &["policy", "export", "--mode", "block"],
        &["policy", "export", "--deny-at", "severe"],
    ] {
        let o = run(args, None);
        assert_eq!(code(&o), 2, "{args:?}: {}", err(&o));
        assert!(err(&o).contains("unknown --"), "{}", err(&o));
    }
}
