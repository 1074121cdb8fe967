//! `mlguard operator run` as a process against the loopback fake API server: it takes the
//! Lease, reconciles a tenant to Ready, and on SIGTERM shuts down gracefully (exit 0) and
//! releases the Lease for the other replica.

mod common;

#[path = "../../mlguard-operator/tests/support/fake_api.rs"]
mod fake_api;

use fake_api::{kubeconfig, wait, FakeApi};
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const T: &str = "apis/mlguard.io/v1alpha1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_leads_reconciles_and_releases_the_lease_on_sigterm() {
    let api = FakeApi::start().await;
    api.put(T, "mltenants", json!({"apiVersion": "mlguard.io/v1alpha1", "kind": "MLTenant", "metadata": {"name": "alpha"},
        "spec": {"classification": "internal", "namespaces": [{"name": "alpha-train", "role": "training"}],
                 "members": {"engineers": {"groups": ["ml-alpha"]}}}}));
    let dir = common::TempDir::new("operator-cli");
    let kc = kubeconfig(&api.url, &dir, "fake");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlguard"))
        .args(["operator", "run", "--health-addr", "127.0.0.1:0"])
        .env("KUBECONFIG", &kc)
        .env("POD_NAME", "operator-0")
        .env("POD_NAMESPACE", "mlguard-system")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let holder = |api: &FakeApi| -> Value {
        api.get(
            "apis/coordination.k8s.io/v1",
            "leases",
            "mlguard-system",
            "mlguard-operator",
        )
        .map_or(Value::Null, |l| l["spec"]["holderIdentity"].clone())
    };
    let start = Instant::now();
    while holder(&api) != "operator-0" {
        if start.elapsed() > Duration::from_secs(30) || child.try_wait().expect("wait").is_some() {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "the Lease was not taken: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait("alpha Ready", || {
        api.get(T, "mltenants", "", "alpha").is_some_and(|t| {
            t["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
        })
    })
    .await;
    let status = common::sigterm_and_wait(&mut child, Duration::from_secs(20)).await;
    let mut stderr = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");
    assert!(status.success(), "{status}: {stderr}");
    assert_eq!(holder(&api), Value::Null, "the Lease is released: {stderr}");
}
