//! Mutations (`POST /mutate`): JSON patches for the pod templates of an admitted object, each
//! opt-in, each written only for what is missing, so a second pass over the patched object
//! (reinvocation) patches nothing.
//!
//! | mutation | on | patch |
//! |---|---|---|
//! | `labels` | training, serving and notebook templates | `mlguard.io/workload: training\|serving\|notebook`, and `mlguard.io/job: <object name>`, so isolation policies select them even when the template forgot; a bare Pod is classed and named by its controller's labels (`training.kubeflow.org/job-name`, `trainer.kubeflow.org/trainjob-name`, `jobset.sigs.k8s.io/jobset-name`, `serving.kserve.io/inferenceservice`, `notebook-name`) |
//! | `shm` | training templates | a memory-backed `/dev/shm` (emptyDir, `medium: Memory`, sizeLimit) mounted in every container that has none |
//! | `sa-token` | training templates | `automountServiceAccountToken: false` where the field is absent (an explicit value is kept) |
//! | `readonly-models` | every template | `readOnly: true` on mounts of volumes named `model*` or mounted under `/models` or `/mnt/models` that set no `readOnly` |

use mlguard_core::{Inventory, PodTemplate, WorkloadClass};
use serde_json::{json, Value};

/// Which mutations are on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mutations {
    pub labels: bool,
    /// The sizeLimit of the added /dev/shm, when on.
    pub shm: Option<String>,
    pub sa_token: bool,
    pub readonly_models: bool,
}

impl Mutations {
    /// From a comma-separated list: `labels,shm,sa-token,readonly-models` (`shm=16Gi` sets the
    /// size; `shm` alone is 8Gi), or `all`.
    pub fn parse(s: &str) -> Result<Mutations, String> {
        let mut m = Mutations::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some(("shm", size)) if !size.is_empty() => m.shm = Some(size.to_owned()),
                None if part == "shm" => m.shm = Some("8Gi".to_owned()),
                None if part == "labels" => m.labels = true,
                None if part == "sa-token" => m.sa_token = true,
                None if part == "readonly-models" => m.readonly_models = true,
                None if part == "all" => {
                    m = Mutations {
                        labels: true,
                        shm: Some("8Gi".to_owned()),
                        sa_token: true,
                        readonly_models: true,
                    }
                }
                _ => {
                    return Err(format!(
                        "unknown mutation `{part}` (expected labels, shm[=SIZE], sa-token, readonly-models or all)"
                    ))
                }
            }
        }
        Ok(m)
    }

    pub fn any(&self) -> bool {
        self.labels || self.shm.is_some() || self.sa_token || self.readonly_models
    }
}

/// Where the template's pod labels live: (pointer to the labels map, pointer to the map that
/// holds it when that may be missing). A template with metadata keeps them there; a `template`
/// without metadata gets it beside its `spec`; an inline component (KServe's predictor) keeps
/// them in its own `labels`.
fn labels_pointer(t: &PodTemplate<'_>) -> (String, String) {
    if let Some(m) = &t.meta {
        let meta = m.path().json_pointer();
        return (format!("{meta}/labels"), meta);
    }
    let spec = t.spec.path().json_pointer();
    match spec.strip_suffix("/spec") {
        Some(parent) => (
            format!("{parent}/metadata/labels"),
            format!("{parent}/metadata"),
        ),
        None => (format!("{spec}/labels"), spec),
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Labels the ML controllers put on the pods they create: (label, the class it tells).
const OWNER_LABELS: &[(&str, WorkloadClass)] = &[
    ("training.kubeflow.org/job-name", WorkloadClass::Training),
    (
        "trainer.kubeflow.org/trainjob-name",
        WorkloadClass::Training,
    ),
    ("jobset.sigs.k8s.io/jobset-name", WorkloadClass::Training),
    ("serving.kserve.io/inferenceservice", WorkloadClass::Serving),
    ("notebook-name", WorkloadClass::Notebook),
];

/// The job (and its class) a bare Pod belongs to, from the labels its controller set.
fn pod_owner(labels: &serde_json::Map<String, Value>) -> Option<(String, WorkloadClass)> {
    OWNER_LABELS.iter().find_map(|(k, class)| {
        labels
            .get(*k)
            .and_then(Value::as_str)
            .map(|v| (v.to_owned(), *class))
    })
}

/// The patch operations for object `idx` of `inv` (empty when nothing is missing).
pub fn patch(inv: &Inventory, idx: usize, m: &Mutations) -> Vec<Value> {
    let mut ops = Vec::new();
    let obj = &inv.objects[idx];
    let root = obj.root.to_json();
    for t in inv.pod_templates(idx) {
        // A bare Pod says what it is through its controller's labels (unless it carries
        // mlguard.io/workload itself).
        let (labels_ptr, holder_ptr) = labels_pointer(&t);
        let labels = root
            .pointer(&labels_ptr)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let owner = (obj.kind == "Pod").then(|| pod_owner(&labels)).flatten();
        let wclass = match (&owner, t.class) {
            (Some((_, c)), WorkloadClass::Other) => *c,
            (_, c) => c,
        };
        let training = wclass == WorkloadClass::Training;
        let class = match wclass {
            WorkloadClass::Training => Some("training"),
            WorkloadClass::Serving => Some("serving"),
            WorkloadClass::Notebook => Some("notebook"),
            _ => None,
        };
        let spec_ptr = t.spec.path().json_pointer();
        let spec = t.spec.node.to_json();
        if m.labels {
            if let Some(class) = class {
                let job = if obj.kind == "Pod" {
                    owner.as_ref().map(|(j, _)| j.clone())
                } else {
                    Some(obj.name.clone())
                };
                let mut want: Vec<(&str, String)> = vec![("mlguard.io/workload", class.to_owned())];
                if let Some(j) = job {
                    want.push(("mlguard.io/job", j));
                }
                let missing: serde_json::Map<String, Value> = want
                    .into_iter()
                    .filter(|(k, _)| !labels.contains_key(*k))
                    .map(|(k, v)| (k.to_owned(), json!(v)))
                    .collect();
                if !missing.is_empty() {
                    if root.pointer(&holder_ptr).is_none() {
                        ops.push(
                            json!({"op": "add", "path": holder_ptr, "value": {"labels": missing}}),
                        );
                    } else if root.pointer(&labels_ptr).is_none() {
                        ops.push(json!({"op": "add", "path": labels_ptr, "value": missing}));
                    } else {
                        for (k, v) in missing {
                            ops.push(json!({"op": "add", "path": format!("{labels_ptr}/{}", escape(&k)), "value": v}));
                        }
                    }
                }
            }
        }
        if training && m.sa_token && spec.get("automountServiceAccountToken").is_none() {
            ops.push(json!({"op": "add", "path": format!("{spec_ptr}/automountServiceAccountToken"), "value": false}));
        }
        if let (true, Some(size)) = (training, &m.shm) {
            let containers = spec.get("containers").and_then(Value::as_array);
            let lacking: Vec<usize> = containers
                .map(|cs| {
                    cs.iter()
                        .enumerate()
                        .filter(|(_, c)| {
                            !c.get("volumeMounts")
                                .and_then(Value::as_array)
                                .is_some_and(|ms| {
                                    ms.iter()
                                        .any(|v| v.get("mountPath") == Some(&json!("/dev/shm")))
                                })
                        })
                        .map(|(i, _)| i)
                        .collect()
                })
                .unwrap_or_default();
            if !lacking.is_empty() {
                let volumes = spec.get("volumes").and_then(Value::as_array);
                let have = volumes.is_some_and(|vs| {
                    vs.iter()
                        .any(|v| v.get("name") == Some(&json!("mlguard-dshm")))
                });
                let volume = json!({"name": "mlguard-dshm", "emptyDir": {"medium": "Memory", "sizeLimit": size}});
                if !have {
                    match volumes {
                        Some(_) => ops.push(json!({"op": "add", "path": format!("{spec_ptr}/volumes/-"), "value": volume})),
                        None => ops.push(json!({"op": "add", "path": format!("{spec_ptr}/volumes"), "value": [volume]})),
                    }
                }
                let cs = containers.cloned().unwrap_or_default();
                for i in lacking {
                    let mount = json!({"name": "mlguard-dshm", "mountPath": "/dev/shm"});
                    if cs[i].get("volumeMounts").is_some() {
                        ops.push(json!({"op": "add", "path": format!("{spec_ptr}/containers/{i}/volumeMounts/-"), "value": mount}));
                    } else {
                        ops.push(json!({"op": "add", "path": format!("{spec_ptr}/containers/{i}/volumeMounts"), "value": [mount]}));
                    }
                }
            }
        }
        if m.readonly_models {
            for (i, c) in spec
                .get("containers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                for (j, v) in c
                    .get("volumeMounts")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let name = v.get("name").and_then(Value::as_str).unwrap_or_default();
                    let path = v
                        .get("mountPath")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let model = name.starts_with("model")
                        || path == "/models"
                        || path.starts_with("/models/")
                        || path == "/mnt/models"
                        || path.starts_with("/mnt/models/");
                    if model && v.get("readOnly").is_none() {
                        ops.push(json!({"op": "add", "path": format!("{spec_ptr}/containers/{i}/volumeMounts/{j}/readOnly"), "value": true}));
                    }
                }
            }
        }
    }
    ops
}
