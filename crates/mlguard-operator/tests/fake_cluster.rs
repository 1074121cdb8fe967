//! The real controller (`run_with`) end to end against the loopback fake API server
//! (tests/support/fake_api.rs): tenants become Ready with every object applied by field manager
//! `mlguard` and owned by the tenant; a deleted NetworkPolicy comes back (drift repair); a spec
//! change is applied and observedGeneration follows; deleting a tenant runs the finalizer, the
//! tenant goes, its owned objects are collected and its namespace stays; a tenant claiming
//! another's namespace is Degraded (NamespaceConflict) with nothing applied.

mod support;

use mlguard_operator::{run_with, Context};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::fake_api::{wait, FakeApi};

const T: &str = "apis/mlguard.io/v1alpha1";
const NP: &str = "apis/networking.k8s.io/v1";

fn tenant(name: &str, namespaces: &[&str]) -> Value {
    let ns: Vec<Value> = namespaces
        .iter()
        .map(|n| json!({"name": n, "role": "training"}))
        .collect();
    json!({"apiVersion": "mlguard.io/v1alpha1", "kind": "MLTenant", "metadata": {"name": name},
           "spec": {"classification": "internal", "namespaces": ns, "members": {"engineers": {"groups": [format!("ml-{name}")]}}}})
}

fn ready(api: &FakeApi, name: &str, generation: i64) -> bool {
    api.get(T, "mltenants", "", name).is_some_and(|t| {
        t["status"]["observedGeneration"] == json!(generation)
            && t["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_keeps_tenants_applied() {
    let api = FakeApi::start().await;
    api.put(T, "mltenants", tenant("alpha", &["alpha-train"]));
    api.put(T, "mltenants", tenant("beta", &["beta-train"]));
    let ctx = Arc::new(Context::new(api.client()));
    let controller = tokio::spawn(run_with(ctx));

    wait("both tenants Ready", || {
        ready(&api, "alpha", 1) && ready(&api, "beta", 1)
    })
    .await;
    let alpha = api.get(T, "mltenants", "", "alpha").expect("alpha");
    assert_eq!(
        alpha["metadata"]["finalizers"],
        json!(["mlguard.io/cleanup"])
    );
    let np = api
        .get(NP, "networkpolicies", "alpha-train", "default-deny")
        .expect("applied");
    assert_eq!(np["metadata"]["managedFields"][0]["manager"], "mlguard");
    assert_eq!(
        np["metadata"]["ownerReferences"][0]["uid"],
        alpha["metadata"]["uid"]
    );
    let ns = api
        .get("api/v1", "namespaces", "", "alpha-train")
        .expect("namespace");
    assert!(ns["metadata"]["ownerReferences"].is_null());
    // Events are published (new ones created, repeats patched as a series); the event follows
    // the status write, so wait for it.
    wait("events", || {
        api.requests("POST", "events") >= 1
            && api.requests("POST", "events") + api.requests("PATCH", "events") >= 2
    })
    .await;

    // Settled: with nothing changing, the controller makes no more writes.
    let writes = |api: &FakeApi| {
        [
            "mltenants",
            "namespaces",
            "networkpolicies",
            "roles",
            "rolebindings",
            "resourcequotas",
        ]
        .iter()
        .map(|p| api.requests("PATCH", p))
        .sum::<usize>()
    };
    let mut before = writes(&api);
    let settle = Instant::now();
    loop {
        // Longer than the debounce: a quiet spell shorter than it proves nothing.
        tokio::time::sleep(mlguard_operator::DEBOUNCE * 2).await;
        let now = writes(&api);
        if now == before {
            break;
        }
        assert!(
            settle.elapsed() < Duration::from_secs(20),
            "still writing: {now} writes"
        );
        before = now;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(writes(&api), before, "idle: no writes without a change");

    // Drift: someone deletes the default-deny policy; the controller puts it back.
    api.delete(NP, "networkpolicies", "alpha-train", "default-deny");
    wait("drift repaired", || {
        api.get(NP, "networkpolicies", "alpha-train", "default-deny")
            .is_some()
    })
    .await;

    // A spec change: a second namespace; observedGeneration follows.
    api.put(
        T,
        "mltenants",
        tenant("alpha", &["alpha-train", "alpha-train2"]),
    );
    wait("the spec change applied", || {
        ready(&api, "alpha", 2)
            && api
                .get(NP, "networkpolicies", "alpha-train2", "default-deny")
                .is_some()
    })
    .await;

    // Another tenant claims a namespace of alpha's: it is Degraded and applies nothing.
    api.put(
        T,
        "mltenants",
        tenant("gamma", &["gamma-train", "alpha-train"]),
    );
    wait("gamma Degraded", || {
        api.get(T, "mltenants", "", "gamma").is_some_and(|t| {
            t["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter().any(|c| {
                    c["type"] == "Degraded"
                        && c["status"] == "True"
                        && c["reason"] == "NamespaceConflict"
                        && c["message"]
                            .as_str()
                            .is_some_and(|m| m.contains("alpha-train") && m.contains("alpha"))
                })
            })
        })
    })
    .await;
    assert!(
        api.get("api/v1", "namespaces", "", "gamma-train").is_none(),
        "nothing half-applied"
    );
    assert!(
        ready(&api, "alpha", 2),
        "the older tenant keeps its namespace"
    );

    // Deletion: the finalizer runs, the tenant goes, its policies are collected, namespaces stay.
    api.delete(T, "mltenants", "", "beta");
    wait("beta gone", || {
        api.get(T, "mltenants", "", "beta").is_none()
    })
    .await;
    assert!(api
        .get(NP, "networkpolicies", "beta-train", "default-deny")
        .is_none());
    assert!(api.get("api/v1", "namespaces", "", "beta-train").is_some());
    assert!(api.get(T, "mltenants", "", "alpha").is_some());
    controller.abort();
}
