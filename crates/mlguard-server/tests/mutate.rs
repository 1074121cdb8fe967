//! Mutations: each opt-in, patching only what is missing, so the patched object patches to
//! nothing on reinvocation; applied with a JSON-patch library to check the result.

use mlguard_server::admission::{decode, mutations, respond_patch};
use mlguard_server::mutate::Mutations;
use serde_json::{json, Value};

fn review(kind: (&str, &str, &str), object: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "u-m", "kind": {"group": kind.0, "version": kind.1, "kind": kind.2},
                    "resource": {"group": kind.0, "version": kind.1, "resource": "x"},
                    "name": object["metadata"]["name"], "namespace": "team-a", "operation": "CREATE",
                    "userInfo": {"username": "a"}, "object": object}
    }))
    .expect("json")
}

/// Apply the mutations to `object` and return (patched object, number of operations).
fn mutate(kind: (&str, &str, &str), object: &Value, m: &Mutations) -> (Value, usize) {
    let req = decode(&review(kind, object.clone())).expect("decode");
    let ops = mutations(&req, m);
    let n = ops.len();
    let mut patched = object.clone();
    let p: json_patch::Patch = serde_json::from_value(Value::Array(ops)).expect("patch");
    json_patch::patch(&mut patched, &p).expect("the patch applies");
    (patched, n)
}

const PYTORCH: (&str, &str, &str) = ("kubeflow.org", "v1", "PyTorchJob");

fn pytorchjob() -> Value {
    let tpl = |labels: Value| {
        json!({"metadata": labels, "spec": {"containers": [
        {"name": "pytorch", "image": "nvcr.io/nvidia/pytorch:24.01-py3",
         "volumeMounts": [{"name": "model-store", "mountPath": "/models"}]},
    ], "volumes": [{"name": "model-store", "persistentVolumeClaim": {"claimName": "models"}}]}})
    };
    json!({"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": {"name": "llama", "namespace": "team-a"},
           "spec": {"pytorchReplicaSpecs": {
               "Master": {"replicas": 1, "template": tpl(json!({"labels": {"app": "llama"}}))},
               "Worker": {"replicas": 3, "template": {"spec": {"automountServiceAccountToken": true,
                   "containers": [{"name": "pytorch", "image": "nvcr.io/nvidia/pytorch:24.01-py3"}]}}}}}})
}

#[test]
fn every_mutation_patches_what_is_missing_and_is_idempotent() {
    let all = Mutations::parse("labels,shm=16Gi,sa-token,readonly-models").expect("parse");
    let (patched, n) = mutate(PYTORCH, &pytorchjob(), &all);
    assert!(n > 0);
    let master = &patched["spec"]["pytorchReplicaSpecs"]["Master"]["template"];
    let worker = &patched["spec"]["pytorchReplicaSpecs"]["Worker"]["template"];
    for t in [master, worker] {
        assert_eq!(
            t["metadata"]["labels"]["mlguard.io/workload"], "training",
            "{t}"
        );
        assert_eq!(t["metadata"]["labels"]["mlguard.io/job"], "llama");
        let vols = t["spec"]["volumes"].as_array().expect("volumes");
        assert!(
            vols.iter().any(|v| v["name"] == "mlguard-dshm"
                && v["emptyDir"]["medium"] == "Memory"
                && v["emptyDir"]["sizeLimit"] == "16Gi"),
            "{t}"
        );
        assert!(t["spec"]["containers"][0]["volumeMounts"]
            .as_array()
            .expect("mounts")
            .iter()
            .any(|m| m["mountPath"] == "/dev/shm"));
    }
    assert_eq!(
        master["metadata"]["labels"]["app"], "llama",
        "existing labels kept"
    );
    assert_eq!(master["spec"]["automountServiceAccountToken"], false);
    assert_eq!(
        worker["spec"]["automountServiceAccountToken"], true,
        "an explicit value is kept"
    );
    assert_eq!(
        master["spec"]["containers"][0]["volumeMounts"][0]["readOnly"], true,
        "model mount read-only"
    );
    // Reinvocation: nothing left to patch.
    let (again, n2) = mutate(PYTORCH, &patched, &all);
    assert_eq!(n2, 0, "idempotent: {again}");
}

#[test]
fn mutations_are_opt_in_one_by_one() {
    let (_, n) = mutate(PYTORCH, &pytorchjob(), &Mutations::default());
    assert_eq!(n, 0, "nothing on, nothing patched");
    let only_labels = Mutations::parse("labels").expect("parse");
    let (p, _) = mutate(PYTORCH, &pytorchjob(), &only_labels);
    let master = &p["spec"]["pytorchReplicaSpecs"]["Master"]["template"];
    assert_eq!(
        master["metadata"]["labels"]["mlguard.io/workload"],
        "training"
    );
    assert!(master["spec"]["automountServiceAccountToken"].is_null());
    assert_eq!(master["spec"]["volumes"].as_array().expect("v").len(), 1);
    // Serving: labels, but no /dev/shm (training only).
    let isvc = json!({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "llm", "namespace": "team-a"},
        "spec": {"predictor": {"containers": [{"name": "kserve-container", "image": "registry.example.com/ml/llm:1"}]}}});
    let all = Mutations::parse("all").expect("parse");
    let (p, n) = mutate(
        ("serving.kserve.io", "v1beta1", "InferenceService"),
        &isvc,
        &all,
    );
    assert!(n > 0, "{p}");
    assert!(!p.to_string().contains("mlguard-dshm"), "{p}");
    assert!(
        p.to_string()
            .contains("\"mlguard.io/workload\":\"serving\""),
        "{p}"
    );
}

#[test]
fn unknown_mutations_are_errors() {
    let e = Mutations::parse("labels,shmm").unwrap_err();
    assert!(e.contains("shmm"), "{e}");
    assert_eq!(
        Mutations::parse("shm").expect("shm").shm.as_deref(),
        Some("8Gi")
    );
}

#[test]
fn the_patch_is_a_json_patch_in_the_response() {
    let all = Mutations::parse("all").expect("parse");
    let req = decode(&review(PYTORCH, pytorchjob())).expect("decode");
    let ops = mutations(&req, &all);
    let out = respond_patch(&req, ops.clone()).expect("respond");
    assert_eq!(out["response"]["allowed"], true);
    assert_eq!(out["response"]["patchType"], "JSONPatch");
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(out["response"]["patch"].as_str().expect("a base64 string"))
        .expect("base64");
    let back: Value = serde_json::from_slice(&raw).expect("JSON patch");
    assert_eq!(back, Value::Array(ops));
    let none = respond_patch(&req, Vec::new()).expect("respond");
    assert!(none["response"]["patch"].is_null());
}

#[test]
fn a_bare_pod_is_classed_by_its_controllers_labels() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "llama-worker-0", "namespace": "team-a",
                     "labels": {"training.kubeflow.org/job-name": "llama", "training.kubeflow.org/replica-type": "worker"}},
        "spec": {"containers": [{"name": "pytorch", "image": "nvcr.io/nvidia/pytorch:24.01-py3"}]}});
    let all = Mutations::parse("labels,sa-token,shm").expect("parse");
    let (p, n) = mutate(("", "v1", "Pod"), &pod, &all);
    assert!(n > 0);
    assert_eq!(
        p["metadata"]["labels"]["mlguard.io/workload"], "training",
        "{p}"
    );
    assert_eq!(p["metadata"]["labels"]["mlguard.io/job"], "llama");
    assert_eq!(p["spec"]["automountServiceAccountToken"], false);
    assert!(p.to_string().contains("/dev/shm"));
    let (_, n2) = mutate(("", "v1", "Pod"), &p, &all);
    assert_eq!(n2, 0, "idempotent");
    // A pod no ML controller made is left alone.
    let plain = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "team-a"},
        "spec": {"containers": [{"name": "web", "image": "nginx"}]}});
    assert_eq!(mutate(("", "v1", "Pod"), &plain, &all).1, 0);
}
