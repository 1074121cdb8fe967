//! Admission decisions from AdmissionReview bodies as the API server sends them: bad bodies
//! are clear errors; a privileged training pod is denied with its control IDs in `enforce`
//! namespaces, allowed with warnings in `warn` ones and allowed silently (annotations only) in
//! `audit` ones; exceptions on the object are honoured; DELETE is allowed; a careful pod passes.
//! The pods request a GPU: as in `mlguard scan`, controls judge ML namespaces (a namespace
//! with an ML kind or a GPU pod), unless the settings say `scope: all`.

use mlguard_controls::Severity;
use mlguard_server::admission::{
    decode, respond, Context, DecodeError, Judge, Mode, MAX_BODY, MAX_WARNING,
};
use serde_json::{json, Value};

fn context(modes: &[(&str, &str)]) -> Judge {
    context_with(modes, true)
}

/// Namespaces with their modes and, with `isolated`, a default-deny NetworkPolicy in each.
fn context_with(modes: &[(&str, &str)], isolated: bool) -> Judge {
    let mut docs = String::new();
    for (ns, mode) in modes {
        docs.push_str(&format!(
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n    mlguard.io/enforcement: {mode}\n    mlguard.io/data-classification: internal\n"
        ));
        if isolated {
            docs.push_str(&format!(
                "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: default-deny, namespace: {ns}}}\nspec: {{podSelector: {{}}, policyTypes: [Ingress, Egress]}}\n"
            ));
        }
    }
    Judge {
        context: Context::new(mlguard_core::load::load_documents(
            &[("context.yaml".to_owned(), docs)],
            &mlguard_core::LoadOptions::default(),
        )),
        ..Judge::default()
    }
}

fn pod(ns: &str, privileged: bool, annotations: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "trainer-0", "namespace": ns, "annotations": annotations,
                     "labels": {"mlguard.io/workload": "training"}},
        "spec": {
            "automountServiceAccountToken": false,
            "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "train",
                "image": "registry.example.com/ml/pytorch@sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
                "resources": {"requests": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"},
                              "limits": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"}},
                "securityContext": {"privileged": privileged, "allowPrivilegeEscalation": privileged,
                                    "capabilities": {"drop": ["ALL"]}}
            }]
        }
    })
}

fn review(op: &str, ns: &str, object: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "trainer-0", "namespace": ns, "operation": op,
            "userInfo": {"username": "alice", "groups": ["ml-team"]},
            "object": object, "oldObject": null, "dryRun": false,
        }
    }))
    .expect("json")
}

#[test]
fn bad_bodies_are_clear_errors() {
    let big = vec![b' '; MAX_BODY + 1];
    assert_eq!(
        decode(&big).unwrap_err(),
        DecodeError::TooLarge(MAX_BODY + 1)
    );
    assert!(
        matches!(decode(b"{not json").unwrap_err(), DecodeError::Json(m) if m.contains("line 1"))
    );
    let e = decode(
        br#"{"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {}}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("admission.k8s.io/v1beta1"), "{e}");
    assert_eq!(
        decode(br#"{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}"#).unwrap_err(),
        DecodeError::NoRequest
    );
    let e = decode(br#"{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": 7}}"#).unwrap_err();
    assert!(matches!(e, DecodeError::BadRequest(_)), "{e}");
}

#[test]
fn a_privileged_pod_is_denied_in_enforce_mode_with_its_control_ids() {
    let j = context(&[("team-a", "enforce")]);
    let req = decode(&review("CREATE", "team-a", pod("team-a", true, json!({})))).expect("decode");
    let d = j.decide(&req);
    assert_eq!(d.mode, Mode::Enforce);
    assert!(!d.allowed);
    let msg = d.message.clone().expect("message");
    assert!(msg.contains("MLG-POD-001"), "{msg}");
    assert!(msg.starts_with("mlguard denied Pod trainer-0: "), "{msg}");
    let out = serde_json::to_value(respond(&req, &d)).expect("json");
    let r = &out["response"];
    assert_eq!(r["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
    assert_eq!(r["allowed"], false);
    assert!(r["status"]["message"]
        .as_str()
        .expect("status")
        .contains("MLG-POD-001"));
    assert_eq!(r["status"]["code"], 403);
    assert_eq!(r["status"]["reason"], "Forbidden");
    assert_eq!(r["status"]["status"], "Failure");
    assert!(r["auditAnnotations"]["controls"]
        .as_str()
        .expect("ann")
        .contains("MLG-POD-001"));
    assert_eq!(r["auditAnnotations"]["mode"], "enforce");
    assert_eq!(out["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(out["kind"], "AdmissionReview");
}

#[test]
fn warn_mode_allows_with_short_warnings_and_audit_mode_only_annotates() {
    let j = context(&[("team-w", "warn"), ("team-q", "audit")]);
    let req = decode(&review("CREATE", "team-w", pod("team-w", true, json!({})))).expect("decode");
    let d = j.decide(&req);
    assert!(d.allowed);
    assert!(
        d.warnings.iter().any(|w| w.starts_with("MLG-POD-001")),
        "{:?}",
        d.warnings
    );
    assert!(d.warnings.iter().all(|w| w.chars().count() <= MAX_WARNING));
    let req = decode(&review("CREATE", "team-q", pod("team-q", true, json!({})))).expect("decode");
    let d = j.decide(&req);
    assert!(d.allowed && d.warnings.is_empty());
    let out = serde_json::to_value(respond(&req, &d)).expect("json");
    assert!(out["response"]["auditAnnotations"]["controls"]
        .as_str()
        .expect("ann")
        .contains("MLG-POD-001"));
    assert!(out["response"]["warnings"].is_null());
}

#[test]
fn an_exception_on_the_object_is_honoured() {
    let j = context(&[("team-a", "enforce")]);
    let exempt = json!({"mlguard.io/exempt": "MLG-POD-001=RDMA until the device plugin lands (CHG-1042);MLG-POD-004=same change"});
    let plain =
        decode(&review("CREATE", "team-a", pod("team-a", true, json!({})))).expect("decode");
    assert!(j
        .decide(&plain)
        .findings
        .iter()
        .any(|f| f.control == "MLG-POD-001"));
    let req = decode(&review("CREATE", "team-a", pod("team-a", true, exempt))).expect("decode");
    let d = j.decide(&req);
    assert!(
        d.findings.iter().all(|f| f.control != "MLG-POD-001"),
        "{:?}",
        d.findings
    );
}

#[test]
fn deletes_are_allowed_and_a_careful_pod_passes() {
    let j = context(&[("team-a", "enforce")]);
    let req = decode(&review("DELETE", "team-a", pod("team-a", true, json!({})))).expect("decode");
    assert!(j.decide(&req).allowed);
    let req = decode(&review("CREATE", "team-a", pod("team-a", false, json!({})))).expect("decode");
    // The context decides context controls: with no policy in the namespace, the pod could
    // reach the Internet.
    let open = context_with(&[("team-a", "enforce")], false).decide(&req);
    assert!(!open.allowed && open.findings.iter().any(|f| f.control == "MLG-NET-002"));
    let d = j.decide(&req);
    assert!(
        d.findings.iter().all(|f| f.severity < Severity::High),
        "{:?}",
        d.findings
            .iter()
            .map(|f| (&f.control, &f.message))
            .collect::<Vec<_>>()
    );
    assert!(d.allowed);
}

#[test]
fn an_unlabelled_or_unknown_namespace_enforces() {
    let j = context(&[("odd", "sometimes")]);
    assert_eq!(j.mode(Some("odd")), Mode::Enforce);
    assert_eq!(j.mode(Some("nowhere")), Mode::Enforce);
    assert_eq!(j.mode(None), Mode::Enforce);
}
