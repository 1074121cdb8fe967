//! The webhook's context in a cluster (`webhook serve --in-cluster`): kube watches
//! (reflectors) of the kinds admission decisions read, rebuilt into an
//! [`admission::Context`](crate::admission::Context) after each change.
//!
//! Kinds the cluster does not serve (a CRD that is not installed) are skipped after
//! discovery. The first context is installed once every watch has listed its kind; until
//! then `/readyz` answers 503, so no request is judged against a partial context. Changes
//! are coalesced: a burst of events rebuilds once, `debounce` after the first.
//!
//! Workloads are not watched: the context is namespaces, quotas, policies, RBAC, services
//! and claims (see `admission::CROSS_NAMESPACE` for what that leaves to `mlguard scan`).
//! Secrets are not watched either, so the webhook needs no access to them.
//!
//! Must not: write to the cluster, or judge anything (admission does).

use crate::admission::Context;
use crate::webhook::AppState;
use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// A kind the webhook watches: (group, version, plural, kind).
pub type Kind = (&'static str, &'static str, &'static str, &'static str);

/// What admission decisions read besides the object.
pub const CONTEXT_KINDS: &[Kind] = &[
    ("", "v1", "namespaces", "Namespace"),
    ("", "v1", "serviceaccounts", "ServiceAccount"),
    ("", "v1", "resourcequotas", "ResourceQuota"),
    ("", "v1", "limitranges", "LimitRange"),
    ("", "v1", "services", "Service"),
    ("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim"),
    (
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
    ),
    ("networking.k8s.io", "v1", "ingresses", "Ingress"),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "RoleBinding",
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "ClusterRole",
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
    ),
    (
        "policy.networking.k8s.io",
        "v1alpha1",
        "adminnetworkpolicies",
        "AdminNetworkPolicy",
    ),
    (
        "policy.networking.k8s.io",
        "v1alpha1",
        "baselineadminnetworkpolicies",
        "BaselineAdminNetworkPolicy",
    ),
    (
        "security.istio.io",
        "v1",
        "peerauthentications",
        "PeerAuthentication",
    ),
    (
        "secrets-store.csi.x-k8s.io",
        "v1",
        "secretproviderclasses",
        "SecretProviderClass",
    ),
];

fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}

/// The kinds of `kinds` the cluster serves.
async fn served(client: &Client, kinds: &[Kind]) -> Result<Vec<Kind>, kube::Error> {
    let mut plurals: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut out = Vec::new();
    for k in kinds {
        let gv = group_version(k.0, k.1);
        if !plurals.contains_key(&gv) {
            let found = if k.0.is_empty() {
                client.list_core_api_resources(k.1).await
            } else {
                client.list_api_group_resources(&gv).await
            };
            let names = match found {
                Ok(list) => list.resources.into_iter().map(|r| r.name).collect(),
                Err(kube::Error::Api(e)) if e.code == 404 => Vec::new(),
                Err(e) => return Err(e),
            };
            plurals.insert(gv.clone(), names);
        }
        if plurals[&gv].iter().any(|p| p == k.2) {
            out.push(*k);
        }
    }
    Ok(out)
}

/// The stores' objects as a Context: one JSON List document per kind, named
/// `cluster:<gv>/<plural>`, without managedFields or the last-applied annotation.
pub fn context_of(stores: &[(Kind, Store<DynamicObject>)]) -> Context {
    let docs: Vec<(String, String)> = stores
        .iter()
        .map(|(k, store)| {
            let gv = group_version(k.0, k.1);
            let items: Vec<Value> = store
                .state()
                .iter()
                .map(|o| {
                    let mut v = serde_json::to_value(o.as_ref()).unwrap_or(Value::Null);
                    v["apiVersion"] = json!(gv);
                    v["kind"] = json!(k.3);
                    if let Some(m) = v["metadata"].as_object_mut() {
                        m.remove("managedFields");
                        if let Some(a) = m.get_mut("annotations").and_then(Value::as_object_mut) {
                            a.remove("kubectl.kubernetes.io/last-applied-configuration");
                        }
                    }
                    v
                })
                .collect();
            let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
            (format!("cluster:{gv}/{}", k.2), list.to_string())
        })
        .collect();
    let loaded = mlguard_core::load::load_documents(&docs, &mlguard_core::LoadOptions::default());
    for e in &loaded.errors {
        tracing::warn!(error = %e, "context object not understood");
    }
    Context::new(loaded)
}

/// Watch `kinds` and keep `state`'s context current, until the task is dropped. Marks
/// `state` ready once the first full context is installed. Errors are retried (discovery
/// with backoff up to 30 s, watches with kube-runtime's default backoff), so it never returns.
pub async fn keep_context(
    client: Client,
    state: Arc<AppState>,
    kinds: &[Kind],
    debounce: Duration,
) {
    // Discovery, retried: an API server that is briefly away at start must not leave the
    // webhook unready for good.
    let mut wait = Duration::from_millis(500);
    let kinds = loop {
        match served(&client, kinds).await {
            Ok(k) => break k,
            Err(e) => {
                tracing::warn!(error = %e, "discovery failed; retrying in {wait:?}");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        }
    };
    let changed = Arc::new(Notify::new());
    let mut stores = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for k in kinds {
        let ar = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(k.0, k.1, k.3), k.2);
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        let writer = reflector::store::Writer::<DynamicObject>::new(ar);
        stores.push((k, writer.as_reader()));
        let changed = changed.clone();
        let stream = reflector::reflector(
            writer,
            watcher(api, watcher::Config::default()).default_backoff(),
        );
        tasks.spawn(async move {
            futures::pin_mut!(stream);
            while let Some(ev) = stream.next().await {
                match ev {
                    Ok(_) => changed.notify_one(),
                    Err(e) => tracing::warn!(kind = k.3, error = %e, "watch failed; retrying"),
                }
            }
        });
    }
    for (k, s) in &stores {
        if s.wait_until_ready().await.is_err() {
            tracing::error!(kind = k.3, "watch ended before its first list");
        }
    }
    loop {
        let context = context_of(&stores);
        tracing::info!(objects = context.len(), "context updated");
        state.set_context(context);
        state.set_ready(true);
        changed.notified().await;
        tokio::time::sleep(debounce).await;
    }
}
