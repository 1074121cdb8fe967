//! `mlguard audit policy eval` end to end: the real binary, the JSON contract for scripts, and
//! bad input.

mod common;

use common::run;

const POLICY: &str = "examples/platform/cluster/audit-policy.yaml";

#[test]
fn eval_with_flags_names_the_rule() {
    let o = run(
        &[
            "audit",
            "policy",
            "eval",
            POLICY,
            "--user",
            "alice",
            "--group",
            "ml-team-a",
            "--verb",
            "create",
            "--namespace",
            "team-a",
            "--api-group",
            "serving.kserve.io",
            "--resource",
            "inferenceservices",
        ],
        None,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.starts_with("RequestResponse by rule 1 (examples/platform/cluster/audit-policy.yaml:13)"),
        "{s}"
    );
}

#[test]
fn eval_json_contract_keeps_input_shape() {
    let reqs = r#"[
      {"user": "bob", "verb": "get", "namespace": "team-a", "apiGroup": "", "resource": "secrets", "name": "k"},
      {"user": "system:kube-proxy", "verb": "watch", "resource": "endpoints", "namespace": "default"},
      {"user": "kubelet", "verb": "get", "path": "/healthz"}
    ]"#;
    let o = run(
        &[
            "audit",
            "policy",
            "eval",
            POLICY,
            "--request",
            "-",
            "--format",
            "json",
        ],
        Some(reqs),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let a = v.as_array().expect("array for an array");
    assert_eq!(a.len(), 3);
    assert_eq!(
        a[0],
        serde_json::json!({"level": "Metadata", "omitStages": ["RequestReceived"], "omitManagedFields": false, "rule": 0})
    );
    assert_eq!(a[1]["level"], "None");
    assert_eq!(a[1]["rule"], 4);
    assert_eq!(a[2]["rule"], 5);
    let o = run(
        &[
            "audit",
            "policy",
            "eval",
            POLICY,
            "--request",
            "-",
            "--format",
            "json",
        ],
        Some(r#"{"verb":"get","path":"/metrics"}"#),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(v.is_object(), "an object for an object: {v}");
}

#[test]
fn bad_input_exits_2_and_names_what_is_wrong() {
    let o = run(
        &["audit", "policy", "eval", POLICY, "--request", "-"],
        Some(r#"{"user":"a","resource":"pods"}"#),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("missing verb"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = run(
        &["audit", "policy", "eval", POLICY, "--request", "-"],
        Some(r#"{"verb":"get","resource":"pods","namspace":"a"}"#),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown field `namspace`"));
    let o = run(
        &[
            "audit",
            "policy",
            "eval",
            "examples/platform/team-a/rbac.yaml",
            "--verb",
            "get",
            "--resource",
            "pods",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("expected an audit.k8s.io/v1 Policy"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
