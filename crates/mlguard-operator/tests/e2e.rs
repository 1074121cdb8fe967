//! End to end against a real cluster. Ignored by default; run with
//!
//! ```sh
//! MLGUARD_E2E_KUBECONFIG=~/.kube/config cargo test -p mlguard-operator --test e2e -- --ignored
//! ```
//!
//! It needs cluster-admin on a disposable cluster (kind, k3d...): it installs the MLTenant CRD,
//! runs the controller in-process, creates a tenant, waits for Ready, deletes an owned
//! NetworkPolicy and waits for it to come back (drift repair), then deletes the tenant and
//! checks that its policies are garbage-collected while its namespace stays.

use kube::api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use mlguard_tenant::spec::MLTenant;
use serde_json::json;
use std::time::{Duration, Instant};

async fn client() -> Option<Client> {
    let path = std::env::var_os("MLGUARD_E2E_KUBECONFIG")?;
    let kc = Kubeconfig::read_from(path).expect("kubeconfig");
    let cfg = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    Some(Client::try_from(cfg).expect("client"))
}

async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
#[ignore = "needs a real cluster: set MLGUARD_E2E_KUBECONFIG and pass --ignored"]
async fn tenant_lifecycle_on_a_real_cluster() {
    let Some(client) = client().await else {
        eprintln!("MLGUARD_E2E_KUBECONFIG is not set: nothing to do");
        return;
    };
    let pp = PatchParams::apply("mlguard-e2e").force();
    let crds = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        "customresourcedefinitions",
    );
    let crd_api: Api<DynamicObject> = Api::all_with(client.clone(), &crds);
    crd_api
        .patch(
            "mltenants.mlguard.io",
            &pp,
            &Patch::Apply(&mlguard_tenant::crd::crd()),
        )
        .await
        .expect("install the CRD");
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Leader election on a Lease in `default` (the install namespace need not exist here).
    let lease = mlguard_operator::leader::LeaseConfig {
        namespace: "default".to_owned(),
        name: format!("mlguard-e2e-{}", std::process::id()),
        ..mlguard_operator::leader::LeaseConfig::from_env()
    };
    let controller = tokio::spawn(mlguard_operator::run_leading(
        std::sync::Arc::new(mlguard_operator::Context::new(client.clone())),
        lease,
    ));

    let name = format!("e2e-{}", std::process::id());
    let ns = format!("{name}-train");
    let tenants: Api<MLTenant> = Api::all(client.clone());
    let tenant = json!({
        "apiVersion": "mlguard.io/v1alpha1", "kind": "MLTenant", "metadata": {"name": name},
        "spec": {"classification": "internal", "namespaces": [{"name": ns, "role": "training"}],
                 "members": {"engineers": {"groups": ["ml-e2e"]}}},
    });
    tenants
        .patch(&name, &pp, &Patch::Apply(&tenant))
        .await
        .expect("create the tenant");
    wait_for("Ready", Duration::from_secs(120), || {
        let tenants = tenants.clone();
        let name = name.clone();
        async move {
            tenants.get_status(&name).await.is_ok_and(|t| {
                t.status.is_some_and(|s| {
                    s.conditions
                        .iter()
                        .any(|c| c.kind == "Ready" && c.status == "True")
                })
            })
        }
    })
    .await;

    // `mlguard scan --cluster` reads what the operator applied.
    let snap = mlguard_operator::snapshot::take(&client, "e2e", &mut |_, _| {})
        .await
        .expect("snapshot");
    let all: String = snap.documents.iter().map(|(_, t)| t.as_str()).collect();
    assert!(
        all.contains(&format!("\"{ns}\"")),
        "the tenant's namespace is in the snapshot"
    );
    assert!(all.contains("default-deny"));

    let np_res = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("networking.k8s.io", "v1", "NetworkPolicy"),
        "networkpolicies",
    );
    let nps: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &np_res);
    nps.get("default-deny").await.expect("default-deny applied");
    nps.delete("default-deny", &DeleteParams::default())
        .await
        .expect("delete");
    wait_for("drift repair", Duration::from_secs(120), || {
        let nps = nps.clone();
        async move { nps.get("default-deny").await.is_ok() }
    })
    .await;

    tenants
        .delete(&name, &DeleteParams::foreground())
        .await
        .expect("delete the tenant");
    wait_for("the tenant gone", Duration::from_secs(120), || {
        let tenants = tenants.clone();
        let name = name.clone();
        async move { tenants.get_opt(&name).await.is_ok_and(|t| t.is_none()) }
    })
    .await;
    wait_for("owned policies collected", Duration::from_secs(120), || {
        let nps = nps.clone();
        async move { nps.get_opt("default-deny").await.is_ok_and(|n| n.is_none()) }
    })
    .await;
    let namespaces: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("", "v1", "Namespace"),
            "namespaces",
        ),
    );
    namespaces
        .get(&ns)
        .await
        .expect("the namespace stays with the team's data");
    namespaces
        .delete(&ns, &DeleteParams::default())
        .await
        .expect("clean up the namespace");
    controller.abort();
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(client.clone(), "default");
    let _ = leases
        .delete(
            &format!("mlguard-e2e-{}", std::process::id()),
            &DeleteParams::default(),
        )
        .await;
}

/// `mlguard policy export` on a real API server: every exported policy and binding is
/// accepted, and once they are in force a privileged pod is refused (dry run) with its
/// control ID while a careful one is admitted. Needs a cluster with ValidatingAdmissionPolicy
/// (Kubernetes 1.30 or later).
#[tokio::test]
#[ignore = "needs a real cluster: set MLGUARD_E2E_KUBECONFIG and pass --ignored"]
async fn exported_policies_enforce_on_a_real_cluster() {
    use kube::api::PostParams;
    use mlguard_controls::vap::{export, Mode};
    use mlguard_controls::{Catalog, Severity};
    let Some(client) = client().await else {
        eprintln!("MLGUARD_E2E_KUBECONFIG is not set: nothing to do");
        return;
    };
    let pp = PatchParams::apply("mlguard-e2e").force();
    let objs = export(Catalog::builtin(), Mode::Enforce, Severity::High);
    let mut applied = Vec::new();
    for o in &objs {
        let kind = o["kind"].as_str().expect("kind");
        let plural = if kind == "ValidatingAdmissionPolicy" {
            "validatingadmissionpolicies"
        } else {
            "validatingadmissionpolicybindings"
        };
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("admissionregistration.k8s.io", "v1", kind),
            plural,
        );
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        let name = o["metadata"]["name"].as_str().expect("name").to_owned();
        api.patch(&name, &pp, &Patch::Apply(o))
            .await
            .unwrap_or_else(|e| panic!("{kind} {name} refused: {e}"));
        applied.push((api, name));
    }
    let ns_api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    ns_api
        .patch(
            "mlguard-e2e-vap",
            &pp,
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mlguard-e2e-vap"}})),
        )
        .await
        .expect("namespace");
    let pods: Api<k8s_openapi::api::core::v1::Pod> =
        Api::namespaced(client.clone(), "mlguard-e2e-vap");
    let pod = |name: &str, privileged: bool| -> k8s_openapi::api::core::v1::Pod {
        serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"automountServiceAccountToken": false,
                "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{"name": "c",
                    "image": format!("registry.k8s.io/pause@sha256:{}", "7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097"),
                    "securityContext": {"privileged": privileged, "allowPrivilegeEscalation": privileged,
                                        "capabilities": {"drop": ["ALL"]}}}]}
        }))
        .expect("pod")
    };
    let dry = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    // Policies take a moment to be in force.
    let bad = pod("privileged", true);
    wait_for(
        "the policies to refuse a privileged pod",
        Duration::from_secs(60),
        || {
            let (pods, bad, dry) = (pods.clone(), bad.clone(), dry.clone());
            async move {
                match pods.create(&dry, &bad).await {
                    Err(kube::Error::Api(e)) => e.message.contains("MLG-POD-001"),
                    _ => false,
                }
            }
        },
    )
    .await;
    pods.create(&dry, &pod("careful", false))
        .await
        .expect("a careful pod is admitted");
    for (api, name) in applied {
        let _ = api.delete(&name, &DeleteParams::default()).await;
    }
    let _ = ns_api
        .delete("mlguard-e2e-vap", &DeleteParams::default())
        .await;
}
