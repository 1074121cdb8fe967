//! The in-cluster context (`webhook serve --in-cluster`) against the loopback fake API
//! server: the webhook stays unready until every watch has listed, then judges with the
//! cluster's namespaces and policies; a label changed in the cluster changes the next
//! decision; kinds the cluster does not serve are skipped; managedFields never enter it.

#[path = "../../mlguard-operator/tests/support/fake_api.rs"]
mod fake_api;

use axum::body::Body;
use fake_api::FakeApi;
use http_body_util::BodyExt;
use mlguard_server::admission::{decode, Judge, Mode};
use mlguard_server::cache::{keep_context, CONTEXT_KINDS};
use mlguard_server::webhook::{router, AppState};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

fn namespace(name: &str, mode: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": name,
        "labels": {"mlguard.io/enforcement": mode, "mlguard.io/data-classification": "internal"},
        "managedFields": [{"manager": "kubectl"}],
    }})
}

async fn readyz(state: &Arc<AppState>) -> u16 {
    let resp = router(state.clone())
        .oneshot(
            axum::http::Request::get("/readyz")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    let code = resp.status().as_u16();
    let _ = resp.into_body().collect().await;
    code
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

fn privileged_pod(ns: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "p", "namespace": ns, "operation": "CREATE", "userInfo": {"username": "u"},
            "object": {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "p", "namespace": ns, "labels": {"mlguard.io/workload": "training"}},
                "spec": {"containers": [{"name": "c", "image": "x@sha256:00",
                    "resources": {"limits": {"nvidia.com/gpu": 1}, "requests": {"nvidia.com/gpu": 1}},
                    "securityContext": {"privileged": true}}]}}
        }
    }))
    .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_context_follows_the_cluster() {
    let api = FakeApi::start().await;
    api.serve(
        "v1",
        &[
            ("namespaces", "Namespace", false),
            ("serviceaccounts", "ServiceAccount", true),
            ("resourcequotas", "ResourceQuota", true),
        ],
    );
    api.serve(
        "networking.k8s.io/v1",
        &[("networkpolicies", "NetworkPolicy", true)],
    );
    // RBAC, Istio, admin network policies and the CSI driver are not served: skipped.
    api.put("api/v1", "namespaces", namespace("team-a", "warn"));
    api.put("api/v1", "namespaces", namespace("team-b", "enforce"));
    api.put(
        "apis/networking.k8s.io/v1",
        "networkpolicies",
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
               "metadata": {"name": "default-deny", "namespace": "team-a"},
               "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}),
    );

    let state = Arc::new(AppState::new(Judge::default()));
    state.set_ready(false);
    assert_eq!(readyz(&state).await, 503);
    let task = tokio::spawn(keep_context(
        api.client(),
        state.clone(),
        CONTEXT_KINDS,
        Duration::from_millis(50),
    ));
    until("the first context", || state.is_ready()).await;
    assert_eq!(readyz(&state).await, 200);
    let judge = state.judge();
    assert_eq!(judge.context.len(), 3, "two namespaces and a policy");
    assert!(judge.context.loaded().objects.iter().all(|o| o
        .root
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .is_none()));
    assert_eq!(judge.mode(Some("team-a")), Mode::Warn);
    let req = decode(&privileged_pod("team-a")).expect("review");
    let d = judge.decide(&req);
    assert!(d.allowed, "warn mode allows");
    assert!(d.findings.iter().any(|f| f.control == "MLG-POD-001"));

    // The cluster changes: team-a is now enforced, and the next decision denies.
    api.put("api/v1", "namespaces", namespace("team-a", "enforce"));
    until("the new label", || {
        state.judge().mode(Some("team-a")) == Mode::Enforce
    })
    .await;
    let d = state.judge().decide(&req);
    assert!(!d.allowed, "enforce mode denies a privileged pod");
    assert!(d
        .message
        .as_deref()
        .is_some_and(|m| m.contains("MLG-POD-001")));

    // A namespace deleted in the cluster leaves the context.
    api.delete("api/v1", "namespaces", "", "team-b");
    until("the deletion", || state.judge().context.len() == 2).await;
    task.abort();
}
