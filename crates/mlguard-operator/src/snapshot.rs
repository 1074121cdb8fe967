//! A snapshot of a live cluster for `mlguard scan --cluster`: every kind the Inventory and
//! the controls read, listed through the API server, as one JSON `List` document per kind,
//! which mlguard-core loads exactly as it loads files.
//!
//! Only kinds the cluster serves are listed: each group/version is discovered first, and a
//! custom resource whose CRD is not installed is reported as absent, not as an error.
//! Secrets are listed as metadata only (their labels and annotations are all the controls
//! read), and no object keeps `managedFields` or the
//! `kubectl.kubernetes.io/last-applied-configuration` annotation (which can hold a Secret's
//! data), so no secret value enters the snapshot.
//!
//! Must not: judge anything (mlguard-controls does) or write to the cluster.

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::Client;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A kind to list.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub kind: &'static str,
    /// Read the metadata only (Secrets).
    pub metadata_only: bool,
}

const fn k(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
) -> Kind {
    Kind {
        group,
        version,
        plural,
        kind,
        metadata_only: false,
    }
}

/// Every kind `mlguard scan` reads, in the versions a current cluster serves them.
pub const KINDS: &[Kind] = &[
    k("", "v1", "namespaces", "Namespace"),
    k("", "v1", "pods", "Pod"),
    k("", "v1", "replicationcontrollers", "ReplicationController"),
    k("", "v1", "services", "Service"),
    k("", "v1", "serviceaccounts", "ServiceAccount"),
    k("", "v1", "configmaps", "ConfigMap"),
    Kind {
        metadata_only: true,
        ..k("", "v1", "secrets", "Secret")
    },
    k("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim"),
    k("", "v1", "resourcequotas", "ResourceQuota"),
    k("", "v1", "limitranges", "LimitRange"),
    k("", "v1", "podtemplates", "PodTemplate"),
    k("apps", "v1", "deployments", "Deployment"),
    k("apps", "v1", "statefulsets", "StatefulSet"),
    k("apps", "v1", "daemonsets", "DaemonSet"),
    k("apps", "v1", "replicasets", "ReplicaSet"),
    k("batch", "v1", "jobs", "Job"),
    k("batch", "v1", "cronjobs", "CronJob"),
    k(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
    ),
    k("networking.k8s.io", "v1", "ingresses", "Ingress"),
    k("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    k(
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "RoleBinding",
    ),
    k(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "ClusterRole",
    ),
    k(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
    ),
    k(
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicies",
        "ValidatingAdmissionPolicy",
    ),
    k(
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding",
    ),
    k(
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
    ),
    k(
        "policy.networking.k8s.io",
        "v1alpha1",
        "adminnetworkpolicies",
        "AdminNetworkPolicy",
    ),
    k(
        "policy.networking.k8s.io",
        "v1alpha1",
        "baselineadminnetworkpolicies",
        "BaselineAdminNetworkPolicy",
    ),
    k(
        "policy.networking.k8s.io",
        "v1alpha2",
        "clusternetworkpolicies",
        "ClusterNetworkPolicy",
    ),
    k("kubeflow.org", "v1", "pytorchjobs", "PyTorchJob"),
    k("kubeflow.org", "v1", "tfjobs", "TFJob"),
    k("kubeflow.org", "v1", "mpijobs", "MPIJob"),
    k("kubeflow.org", "v1", "xgboostjobs", "XGBoostJob"),
    k("kubeflow.org", "v1", "paddlejobs", "PaddleJob"),
    k("kubeflow.org", "v1", "jaxjobs", "JAXJob"),
    k("kubeflow.org", "v1", "notebooks", "Notebook"),
    k("trainer.kubeflow.org", "v1alpha1", "trainjobs", "TrainJob"),
    k(
        "trainer.kubeflow.org",
        "v1alpha1",
        "trainingruntimes",
        "TrainingRuntime",
    ),
    k(
        "trainer.kubeflow.org",
        "v1alpha1",
        "clustertrainingruntimes",
        "ClusterTrainingRuntime",
    ),
    k(
        "serving.kserve.io",
        "v1beta1",
        "inferenceservices",
        "InferenceService",
    ),
    k(
        "serving.kserve.io",
        "v1alpha1",
        "servingruntimes",
        "ServingRuntime",
    ),
    k(
        "serving.kserve.io",
        "v1alpha1",
        "inferencegraphs",
        "InferenceGraph",
    ),
    k(
        "serving.kserve.io",
        "v1alpha1",
        "llminferenceservices",
        "LLMInferenceService",
    ),
    k("ray.io", "v1", "rayclusters", "RayCluster"),
    k("ray.io", "v1", "rayjobs", "RayJob"),
    k("ray.io", "v1", "rayservices", "RayService"),
    k("kueue.x-k8s.io", "v1beta1", "localqueues", "LocalQueue"),
    k("kueue.x-k8s.io", "v1beta1", "clusterqueues", "ClusterQueue"),
    k(
        "secrets-store.csi.x-k8s.io",
        "v1",
        "secretproviderclasses",
        "SecretProviderClass",
    ),
    k(
        "security.istio.io",
        "v1",
        "peerauthentications",
        "PeerAuthentication",
    ),
    k("mlguard.io", "v1alpha1", "mltenants", "MLTenant"),
];

/// What was read.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// (document name, JSON `List` text), one per kind served, for `core::load::load_documents`.
    pub documents: Vec<(String, String)>,
    /// `group/version/plural` of the kinds the cluster does not serve.
    pub absent: Vec<String>,
    /// Objects listed in all.
    pub objects: usize,
}

fn group_version(k: &Kind) -> String {
    if k.group.is_empty() {
        k.version.to_owned()
    } else {
        format!("{}/{}", k.group, k.version)
    }
}

/// Drop what must not enter a snapshot: managedFields, the last-applied annotation (it
/// can hold a Secret's data).
fn scrub(meta: &mut Value) {
    if let Some(m) = meta.as_object_mut() {
        m.remove("managedFields");
        if let Some(a) = m.get_mut("annotations").and_then(Value::as_object_mut) {
            a.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
}

/// List every kind of [`KINDS`] the cluster serves. `name` prefixes the document names (the
/// kube context); `progress` hears each kind as it is listed, with its object count.
pub async fn take(
    client: &Client,
    name: &str,
    progress: &mut (dyn FnMut(&str, usize) + Send),
) -> Result<Snapshot, kube::Error> {
    // Discovery, once per group/version: which plurals it serves.
    let mut served: BTreeMap<String, Option<Vec<String>>> = BTreeMap::new();
    for k in KINDS {
        let gv = group_version(k);
        if served.contains_key(&gv) {
            continue;
        }
        let found = if k.group.is_empty() {
            client.list_core_api_resources(k.version).await
        } else {
            client.list_api_group_resources(&gv).await
        };
        let plurals = match found {
            Ok(list) => Some(list.resources.into_iter().map(|r| r.name).collect()),
            Err(kube::Error::Api(e)) if e.code == 404 => None,
            Err(e) => return Err(e),
        };
        served.insert(gv, plurals);
    }
    let mut snap = Snapshot::default();
    for k in KINDS {
        let gv = group_version(k);
        if !served
            .get(&gv)
            .and_then(Option::as_ref)
            .is_some_and(|p| p.iter().any(|p| p == k.plural))
        {
            snap.absent.push(format!("{gv}/{}", k.plural));
            continue;
        }
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(k.group, k.version, k.kind),
            k.plural,
        );
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        let mut items: Vec<Value> = Vec::new();
        let mut lp = ListParams::default().limit(500);
        loop {
            let (page, next): (Vec<Value>, Option<String>) = if k.metadata_only {
                let l = api.list_metadata(&lp).await?;
                let next = l.metadata.continue_.clone();
                let items = l
                    .items
                    .into_iter()
                    .map(|o| json!({"metadata": o.metadata}))
                    .collect();
                (items, next)
            } else {
                let l = api.list(&lp).await?;
                let next = l.metadata.continue_.clone();
                let items = l
                    .items
                    .into_iter()
                    .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
                    .collect();
                (items, next)
            };
            items.extend(page);
            match next.filter(|c| !c.is_empty()) {
                Some(c) => lp = lp.continue_token(&c),
                None => break,
            }
        }
        for it in &mut items {
            // List items carry no apiVersion and kind of their own.
            it["apiVersion"] = json!(gv);
            it["kind"] = json!(k.kind);
            scrub(&mut it["metadata"]);
        }
        progress(k.kind, items.len());
        snap.objects += items.len();
        let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
        let text = serde_json::to_string_pretty(&list).unwrap_or_default();
        snap.documents
            .push((format!("cluster:{name}/{gv}/{}", k.plural), text));
    }
    Ok(snap)
}

/// A client for `context` of the kubeconfig (KUBECONFIG or ~/.kube/config), or without one,
/// the in-cluster service account or the kubeconfig's current context; and the name of
/// what it reaches, for the documents.
pub async fn client_for(context: Option<&str>) -> Result<(Client, String), crate::Error> {
    let cfg_err = |e: &dyn std::fmt::Display| crate::Error::Config(e.to_string());
    let (config, name) = match context {
        Some(c) => {
            let opts = kube::config::KubeConfigOptions {
                context: Some(c.to_owned()),
                ..Default::default()
            };
            let cfg = kube::Config::from_kubeconfig(&opts)
                .await
                .map_err(|e| cfg_err(&e))?;
            (cfg, c.to_owned())
        }
        None => {
            let cfg = kube::Config::infer().await.map_err(|e| cfg_err(&e))?;
            let name = kube::config::Kubeconfig::read()
                .ok()
                .and_then(|k| k.current_context)
                .unwrap_or_else(|| "in-cluster".to_owned());
            (cfg, name)
        }
    };
    let client = Client::try_from(config).map_err(|e| cfg_err(&e))?;
    Ok((client, name))
}

/// [`take`] on a runtime of its own, for the CLI.
pub fn read_cluster(
    context: Option<&str>,
    progress: &mut (dyn FnMut(&str, usize) + Send),
) -> Result<Snapshot, crate::Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::Error::Runtime(e.to_string()))?;
    rt.block_on(async {
        let (client, name) = client_for(context).await?;
        Ok(take(&client, &name, progress).await?)
    })
}
