//! Leader election against the loopback fake API server: of two replicas one leads and the
//! other reconciles nothing; when the leader dies without releasing, the other takes the
//! Lease once it expires and reconciles; racing candidates never both win; a released Lease
//! is taken at once.

mod support;

use mlguard_operator::leader::{may_take, Elector, LeaseConfig};
use mlguard_operator::{run_leading, Context};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::fake_api::{wait, FakeApi};

const T: &str = "apis/mlguard.io/v1alpha1";
const L: &str = "apis/coordination.k8s.io/v1";

fn lease(identity: &str) -> LeaseConfig {
    LeaseConfig {
        namespace: "mlguard-system".to_owned(),
        name: "mlguard-operator".to_owned(),
        identity: identity.to_owned(),
        duration: Duration::from_secs(2),
        renew: Duration::from_millis(200),
    }
}

fn tenant(name: &str) -> Value {
    json!({"apiVersion": "mlguard.io/v1alpha1", "kind": "MLTenant", "metadata": {"name": name},
           "spec": {"classification": "internal", "namespaces": [{"name": format!("{name}-train"), "role": "training"}],
                    "members": {"engineers": {"groups": [format!("ml-{name}")]}}}})
}

fn ready(api: &FakeApi, name: &str) -> bool {
    api.get(T, "mltenants", "", name).is_some_and(|t| {
        t["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
    })
}

fn holder(api: &FakeApi) -> Value {
    api.get(L, "leases", "mlguard-system", "mlguard-operator")
        .map_or(Value::Null, |l| l["spec"]["holderIdentity"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_leads_and_the_other_takes_over_when_it_dies() {
    let api = FakeApi::start().await;
    api.put(T, "mltenants", tenant("alpha"));
    let a_ctx = Arc::new(Context::quiet(api.client()));
    let b_ctx = Arc::new(Context::quiet(api.client()));
    let a = tokio::spawn(run_leading(a_ctx.clone(), lease("replica-a")));
    wait("alpha Ready", || ready(&api, "alpha")).await;
    assert_eq!(holder(&api), "replica-a");
    let b = tokio::spawn(run_leading(b_ctx.clone(), lease("replica-b")));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(holder(&api), "replica-a", "the leader keeps renewing");
    assert!(a_ctx.metrics.reconciles() >= 1);
    assert_eq!(b_ctx.metrics.reconciles(), 0, "the other replica waits");

    // The leader dies without releasing the Lease.
    a.abort();
    let died = Instant::now();
    api.put(T, "mltenants", tenant("beta"));
    wait("beta Ready under the new leader", || ready(&api, "beta")).await;
    assert_eq!(holder(&api), "replica-b");
    assert!(
        died.elapsed() >= Duration::from_secs(1),
        "taken only once expired: {:?}",
        died.elapsed()
    );
    assert!(b_ctx.metrics.reconciles() >= 1);
    let l = api
        .get(L, "leases", "mlguard-system", "mlguard-operator")
        .expect("lease");
    assert_eq!(l["spec"]["leaseTransitions"], 1);
    assert_eq!(l["spec"]["leaseDurationSeconds"], 2);
    b.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_candidates_never_both_win() {
    let api = FakeApi::start().await;
    for round in 0..20 {
        let a = Elector::new(api.client(), lease(&format!("a{round}")));
        let b = Elector::new(api.client(), lease(&format!("b{round}")));
        let (ra, rb) = tokio::join!(a.try_acquire(), b.try_acquire());
        let (ra, rb) = (ra.expect("a"), rb.expect("b"));
        let h = holder(&api);
        match (ra, rb) {
            (true, false) => assert_eq!(h, json!(format!("a{round}"))),
            (false, true) => assert_eq!(h, json!(format!("b{round}"))),
            other => panic!("round {round}: {other:?}, holder {h}"),
        }
        // Released, so the next round races again for a free Lease.
        if ra {
            a.release().await
        } else {
            b.release().await
        }
        assert_eq!(holder(&api), Value::Null);
    }
}

#[tokio::test]
async fn a_held_lease_is_not_taken_until_it_expires() {
    let api = FakeApi::start().await;
    let a = Elector::new(api.client(), lease("a"));
    let b = Elector::new(api.client(), lease("b"));
    assert!(a.try_acquire().await.expect("a"));
    assert!(!b.try_acquire().await.expect("b"));
    assert!(a.try_acquire().await.expect("a renews"));
    // Expiry is judged on the Lease's own times.
    let l: k8s_openapi::api::coordination::v1::Lease = serde_json::from_value(
        api.get(L, "leases", "mlguard-system", "mlguard-operator")
            .expect("lease"),
    )
    .expect("lease");
    let now = k8s_openapi::jiff::Timestamp::now();
    assert!(may_take(&l, "a", now));
    assert!(!may_take(&l, "b", now));
    let later = now
        .checked_add(k8s_openapi::jiff::SignedDuration::from_secs(3))
        .expect("time");
    assert!(may_take(&l, "b", later));
}
