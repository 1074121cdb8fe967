//! The webhook's fast path reads only the cluster-scoped objects and the object's namespace
//! (see `admission::Context`). This test holds it to the full scan: for every object of
//! examples/ and of the shared corpus (../shared/corpus/manifests), the findings a decision
//! reports are exactly the failed findings `mlguard scan` reports on that object when it
//! scans the whole folder, except for the controls that relate workloads across namespaces
//! (`admission::CROSS_NAMESPACE`), which the webhook does not judge.

use mlguard_controls::{scan, FindingStatus, ScanOptions};
use mlguard_core::{Inventory, LoadOptions};
use mlguard_server::admission::{decode, Admission, Context, Judge, CROSS_NAMESPACE};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

type Key = (String, String, Option<String>, String);

/// The AdmissionReview request of `operation` on object `o`, decoded.
fn review(o: &mlguard_core::Object, operation: &str) -> Admission {
    let (group, version) = o
        .api_version
        .rsplit_once('/')
        .unwrap_or(("", &o.api_version));
    let body = serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "0000", "kind": {"group": group, "version": version, "kind": o.kind},
            "resource": {"group": group, "version": version, "resource": "x"},
            "name": o.name, "namespace": o.namespace, "operation": operation,
            "userInfo": {"username": "test"}, "object": o.root.to_json(),
        }
    }))
    .expect("json");
    decode(&body).expect("an AdmissionReview")
}

fn check_folder(dir: &str) -> (usize, Vec<String>) {
    let loaded = mlguard_core::load(&[dir.to_owned()], &LoadOptions::default());
    let judge = Judge {
        context: Context::new(loaded.clone()),
        ..Judge::default()
    };
    let inv = Inventory::new(loaded, "default");
    let opts = ScanOptions {
        config: &judge.config,
        exceptions: &judge.exceptions,
        custom: &judge.custom,
        focus: None,
        external: None,
        today: judge.today,
    };
    let (report, _) = scan(&inv, &opts);
    let mut expected: HashMap<Key, Vec<(String, String)>> = HashMap::new();
    for f in report.findings {
        if f.status != FindingStatus::Failed || CROSS_NAMESPACE.contains(&f.control.as_str()) {
            continue;
        }
        let r = f.resource;
        expected
            .entry((r.api_version, r.kind, r.namespace, r.name))
            .or_default()
            .push((f.control, f.message));
    }
    let mut count: BTreeMap<Key, usize> = BTreeMap::new();
    for o in &inv.objects {
        let key = (
            o.api_version.clone(),
            o.kind.clone(),
            o.namespace.clone(),
            o.name.clone(),
        );
        *count.entry(key).or_default() += 1;
    }
    let mut judged = 0;
    let mut mismatches = Vec::new();
    for o in &inv.objects {
        let key = (
            o.api_version.clone(),
            o.kind.clone(),
            o.namespace.clone(),
            o.name.clone(),
        );
        // The same object twice in a folder is one object to the API server: skip it.
        if count[&key] > 1 || (o.kind == "Policy" && o.group() == "audit.k8s.io") {
            continue;
        }
        let d = judge.decide(&review(o, "CREATE"));
        judged += 1;
        let mut got: Vec<(String, String)> = d
            .findings
            .into_iter()
            .filter(|f| !CROSS_NAMESPACE.contains(&f.control.as_str()))
            .map(|f| (f.control, f.message))
            .collect();
        let mut want = expected.remove(&key).unwrap_or_default();
        got.sort();
        want.sort();
        if got != want {
            mismatches.push(format!(
                "{dir}: {} {}/{}:\n  webhook: {got:?}\n  scan:    {want:?}",
                o.kind,
                o.namespace.as_deref().unwrap_or("-"),
                o.name
            ));
        }
    }
    (judged, mismatches)
}

#[test]
fn fast_path_matches_full_scan() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut folders = vec![format!("{root}/examples")];
    let corpus = format!("{root}/../shared/corpus/manifests");
    if let Ok(entries) = std::fs::read_dir(&corpus) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                folders.push(e.path().display().to_string());
            }
        }
    }
    let mut total = 0;
    let mut all = Vec::new();
    for f in &folders {
        let (n, m) = check_folder(f);
        total += n;
        all.extend(m);
    }
    assert!(
        total > 100,
        "only {total} objects judged: are the folders there?"
    );
    assert!(
        all.is_empty(),
        "{} of {total} objects differ:\n{}",
        all.len(),
        all.join("\n")
    );
}

/// The facts prepared once per context (the namespace's network policies, parsed) change no
/// decision: for every object of examples/ and of the shared corpus, judged against the whole
/// folder and against only the kinds `--in-cluster` watches, `decide` and
/// `decide_unprepared` (which computes everything per request, as before the facts were
/// prepared) give the same decision: allowed, mode, findings, message and warnings.
#[test]
fn prepared_facts_change_no_decision() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut folders = vec![format!("{root}/examples")];
    let corpus = format!("{root}/../shared/corpus/manifests");
    if let Ok(entries) = std::fs::read_dir(&corpus) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                folders.push(e.path().display().to_string());
            }
        }
    }
    let mut judged = 0;
    let mut differ = Vec::new();
    for dir in &folders {
        let loaded = mlguard_core::load(std::slice::from_ref(dir), &LoadOptions::default());
        let mut watched = loaded.clone();
        watched.objects.retain(|o| {
            mlguard_server::cache::CONTEXT_KINDS
                .iter()
                .any(|k| k.3 == o.kind && k.0 == o.group())
        });
        let inv = Inventory::new(loaded.clone(), "default");
        for context in [loaded.clone(), watched] {
            let judge = Judge {
                context: Context::new(context),
                ..Judge::default()
            };
            for o in &inv.objects {
                if o.kind == "Policy" && o.group() == "audit.k8s.io" {
                    continue;
                }
                for operation in ["CREATE", "UPDATE"] {
                    let req = review(o, operation);
                    let fast = judge.decide(&req);
                    let full = judge.decide_unprepared(&req);
                    judged += 1;
                    if fast != full {
                        differ.push(format!(
                            "{dir}: {} {}/{}:\n  prepared:   {fast:?}\n  unprepared: {full:?}",
                            o.kind,
                            o.namespace.as_deref().unwrap_or("-"),
                            o.name
                        ));
                    }
                }
            }
        }
    }
    assert!(
        judged > 400,
        "only {judged} decisions: are the folders there?"
    );
    assert!(
        differ.is_empty(),
        "{} of {judged} decisions differ:\n{}",
        differ.len(),
        differ.join("\n")
    );
}

/// A cluster of a few namespaces where a NetworkPolicy's peers select other namespaces by
/// label, for [`lean_slices_change_no_decision`].
const NAMESPACES: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: team-a, labels: {mlguard.io/tenant: a, team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-b, labels: {mlguard.io/tenant: b, team: b}}
---
apiVersion: v1
kind: Namespace
metadata: {name: monitoring, labels: {purpose: monitoring}}
---
apiVersion: v1
kind: Namespace
metadata: {name: kube-system, labels: {dns: "yes"}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: team-a}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-b-and-monitoring, namespace: team-a}
spec:
  podSelector: {matchLabels: {mlguard.io/workload: training}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: b}}
    - namespaceSelector: {matchLabels: {purpose: monitoring}}
  egress:
  - to:
    - namespaceSelector: {matchLabels: {dns: "yes"}}
    ports: [{protocol: UDP, port: 53}]
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: gpu, namespace: team-a}
spec: {hard: {requests.nvidia.com/gpu: "8"}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: team-a-edit, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: Group, name: team-a}]
---
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: llama, namespace: team-a}
spec:
  pytorchReplicaSpecs:
    Worker:
      replicas: 2
      template:
        metadata: {labels: {mlguard.io/workload: training, mlguard.io/job: llama}}
        spec:
          containers:
          - name: pytorch
            image: registry.example.com/pytorch@sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1
            resources: {limits: {nvidia.com/gpu: "1"}}
"#;

/// A lean slice leaves out the Namespace objects of other namespaces than the object's and
/// kube-system (`admission::lean`), so a decision on one namespace's object does not copy a
/// cluster's hundreds of namespaces. No decision may change for it: every object of a cluster
/// where policies select other namespaces by label is judged with the lean slice (`decide`)
/// and with the whole one (`decide_unprepared`), and the decisions must be the same. Judging
/// the NetworkPolicy on the lean slice would report its peers as matching no namespace
/// (MLG-NET-008).
#[test]
fn lean_slices_change_no_decision() {
    let dir = std::env::temp_dir().join(format!("mlguard-lean-slices-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("cluster.yaml"), NAMESPACES).expect("write");
    let loaded = mlguard_core::load(&[dir.display().to_string()], &LoadOptions::default());
    std::fs::remove_dir_all(&dir).ok();
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let judge = Judge {
        context: Context::new(loaded.clone()),
        ..Judge::default()
    };
    let mut differ = Vec::new();
    for o in &loaded.objects {
        let req = review(o, "UPDATE");
        let (lean, whole) = (judge.decide(&req), judge.decide_unprepared(&req));
        if lean != whole {
            differ.push(format!(
                "{} {}:\n  lean:  {lean:?}\n  whole: {whole:?}",
                o.kind, o.name
            ));
        }
    }
    assert_eq!(loaded.objects.len(), 9);
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}
