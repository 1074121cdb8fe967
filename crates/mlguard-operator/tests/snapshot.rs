//! The cluster snapshot of `mlguard scan --cluster` against the loopback fake API server:
//! every kind served is listed across pages with its apiVersion and kind; kinds whose CRD is
//! not installed are reported absent; Secrets arrive as metadata only and no object keeps
//! managedFields or the last-applied annotation.

mod support;

use mlguard_operator::snapshot::{take, KINDS};
use serde_json::json;
use support::fake_api::FakeApi;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_lists_what_is_served_and_no_secret_value() {
    let api = FakeApi::start().await;
    api.serve(
        "v1",
        &[
            ("namespaces", "Namespace", false),
            ("configmaps", "ConfigMap", true),
            ("secrets", "Secret", true),
        ],
    );
    api.serve("apps/v1", &[("deployments", "Deployment", true)]);
    // kubeflow.org is served, but without the MPIJob plural.
    api.serve("kubeflow.org/v1", &[("pytorchjobs", "PyTorchJob", true)]);
    api.put(
        "api/v1",
        "namespaces",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}),
    );
    for i in 0..1203 {
        api.put(
            "api/v1",
            "configmaps",
            json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("cm-{i:04}"), "namespace": "team-a"}, "data": {"k": "v"}}),
        );
    }
    let secret_value = "c3VwZXItc2VjcmV0LXRva2Vu";
    api.put("api/v1", "secrets", json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "s3-creds", "namespace": "team-a",
                     "labels": {"mlguard.io/data-classification": "phi"},
                     "annotations": {"serving.kserve.io/s3-endpoint": "minio.storage:9000",
                                     "kubectl.kubernetes.io/last-applied-configuration": format!("{{\"data\":{{\"token\":\"{secret_value}\"}}}}")},
                     "managedFields": [{"manager": "kubectl", "operation": "Apply"}]},
        "data": {"token": secret_value}}));
    api.put("apis/apps/v1", "deployments", json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "team-a"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}));

    let mut heard = Vec::new();
    let snap = take(&api.client(), "fake", &mut |kind, n| {
        heard.push((kind.to_owned(), n))
    })
    .await
    .expect("snapshot");
    assert_eq!(snap.objects, 1 + 1203 + 1 + 1);
    assert!(heard.contains(&("ConfigMap".to_owned(), 1203)), "{heard:?}");
    assert!(heard.contains(&("PyTorchJob".to_owned(), 0)), "{heard:?}");
    assert!(
        api.requests("GET", "configmaps") >= 3,
        "listed in pages of 500"
    );
    for absent in [
        "kubeflow.org/v1/mpijobs",
        "ray.io/v1/rayclusters",
        "apps/v1/statefulsets",
        "v1/pods",
    ] {
        assert!(
            snap.absent.iter().any(|a| a == absent),
            "{absent}: {:?}",
            snap.absent
        );
    }
    assert_eq!(snap.documents.len() + snap.absent.len(), KINDS.len());
    let all: String = snap.documents.iter().map(|(_, t)| t.as_str()).collect();
    assert!(
        !all.contains(secret_value),
        "a secret value entered the snapshot"
    );
    assert!(!all.contains("last-applied-configuration"));
    assert!(!all.contains("managedFields"));

    // What core reads from it.
    let loaded =
        mlguard_core::load::load_documents(&snap.documents, &mlguard_core::LoadOptions::default());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    assert_eq!(loaded.objects.len(), snap.objects);
    let secret = loaded
        .objects
        .iter()
        .find(|o| o.kind == "Secret")
        .expect("secret");
    assert_eq!(secret.name, "s3-creds");
    assert_eq!(secret.namespace.as_deref(), Some("team-a"));
    assert_eq!(secret.label("mlguard.io/data-classification"), Some("phi"));
    assert_eq!(
        secret.annotation("serving.kserve.io/s3-endpoint"),
        Some("minio.storage:9000")
    );
    let dep = loaded
        .objects
        .iter()
        .find(|o| o.kind == "Deployment")
        .expect("deployment");
    assert_eq!(dep.api_version, "apps/v1");
    assert!(loaded.files[dep.file]
        .path
        .starts_with("cluster:fake/apps/v1/deployments"));
}

#[tokio::test]
async fn an_unreachable_cluster_is_an_error() {
    // Nothing listens on port 9 of loopback.
    let cfg = kube::Config::new("http://127.0.0.1:9".parse().expect("url"));
    let client = kube::Client::try_from(cfg).expect("client");
    let err = take(&client, "nowhere", &mut |_, _| {})
        .await
        .expect_err("unreachable");
    assert!(!err.to_string().is_empty());
}
