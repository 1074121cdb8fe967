//! Reconcile paths against kube's mock service (tower-test): every rendered object is
//! server-side applied with field manager `mlguard` (forced) and owner references (not on
//! Namespaces), then the status says Ready; an invalid tenant applies nothing and is Degraded;
//! a server error is Degraded (ApplyFailed) and returned for backoff.

use http::{Request, Response};
use http_body_util::BodyExt;
use kube::client::Body;
use kube::Client;
use mlguard_operator::{apply, plan, Context, FIELD_MANAGER};
use mlguard_tenant::spec::MLTenant;
use serde_json::{json, Value};
use std::sync::Arc;

fn tenant(spec: Value) -> MLTenant {
    serde_json::from_value(json!({
        "apiVersion": "mlguard.io/v1alpha1",
        "kind": "MLTenant",
        "metadata": {"name": "fraud", "uid": "0b1f-uid", "generation": 3},
        "spec": spec,
    }))
    .expect("tenant")
}

fn good() -> MLTenant {
    tenant(json!({
        "classification": "pci",
        "namespaces": [{"name": "fraud-train", "role": "training"}],
        "members": {"engineers": {"groups": ["ml-fraud"]}},
        "network": {"collective": {"mode": "port-range", "from": 40000, "to": 40999}},
    }))
}

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

async fn body_json(req: Request<Body>) -> (http::request::Parts, Value) {
    let (parts, body) = req.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (parts, v)
}

/// Answer requests until the task finishes: echo applied objects, fail when `fail_at` says.
async fn serve(mut handle: Handle, fail_at: Option<usize>) -> Vec<(http::request::Parts, Value)> {
    let mut seen = Vec::new();
    let mut i = 0;
    while let Some((req, send)) = handle.next_request().await {
        let (parts, v) = body_json(req).await;
        let status_patch = parts.uri.path().ends_with("/status");
        let resp = if Some(i) == fail_at && !status_patch {
            Response::builder()
                .status(500)
                .body(Body::from(
                    serde_json::to_vec(&json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "etcd timeout", "reason": "InternalError", "code": 500})).expect("json"),
                ))
                .expect("response")
        } else {
            let echo = if status_patch {
                serde_json::to_value(good()).expect("json")
            } else {
                v.clone()
            };
            Response::builder()
                .status(200)
                .body(Body::from(serde_json::to_vec(&echo).expect("json")))
                .expect("response")
        };
        send.send_response(resp);
        seen.push((parts, v));
        i += 1;
    }
    seen
}

#[tokio::test]
async fn applies_every_object_then_reports_ready() {
    let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(svc, "default");
    let t = good();
    let expected = plan(&t).expect("plan");
    let server = tokio::spawn(serve(handle, None));
    let action = apply(&t, &ctx(&client)).await.expect("apply");
    drop(client);
    let seen = server.await.expect("server");
    assert_eq!(
        seen.len(),
        expected.len() + 1,
        "one apply per object, then the status"
    );
    for ((parts, body), p) in seen.iter().zip(&expected) {
        assert_eq!(parts.method, http::Method::PATCH);
        let q = parts.uri.query().unwrap_or_default();
        assert!(
            q.contains(&format!("fieldManager={FIELD_MANAGER}")) && q.contains("force=true"),
            "{q}"
        );
        assert_eq!(
            parts
                .headers
                .get("content-type")
                .and_then(|h| h.to_str().ok()),
            Some("application/apply-patch+yaml")
        );
        let path = parts.uri.path();
        assert!(
            path.ends_with(&format!("/{}/{}", p.resource.plural, p.name)),
            "{path}"
        );
        assert_eq!(body["kind"], p.object["kind"]);
        let owners = &body["metadata"]["ownerReferences"];
        if body["kind"] == "Namespace" {
            assert!(owners.is_null(), "a Namespace is never owned by the tenant");
        } else {
            assert_eq!(owners[0]["uid"], "0b1f-uid");
            assert_eq!(owners[0]["controller"], true);
        }
    }
    let (parts, body) = seen.last().expect("status");
    assert!(
        parts.uri.path().ends_with("/mltenants/fraud/status"),
        "{}",
        parts.uri
    );
    let conds = body["status"]["conditions"].as_array().expect("conditions");
    assert_eq!(conds[0]["type"], "Ready");
    assert_eq!(conds[0]["status"], "True");
    assert_eq!(body["status"]["observedGeneration"], 3);
    assert_eq!(
        format!("{action:?}"),
        format!(
            "{:?}",
            kube::runtime::controller::Action::requeue(std::time::Duration::from_secs(300))
        )
    );
}

#[tokio::test]
async fn an_invalid_tenant_applies_nothing_and_is_degraded() {
    let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(svc, "default");
    let t = tenant(json!({
        "classification": "internal",
        "namespaces": [{"name": "a", "role": "training"}],
        "network": {"storageEndpoints": [{"cidr": "10.0.0.0/33"}]},
    }));
    assert!(plan(&t).is_err());
    let server = tokio::spawn(serve(handle, None));
    apply(&t, &ctx(&client))
        .await
        .expect("degraded is not an error");
    drop(client);
    let seen = server.await.expect("server");
    assert_eq!(seen.len(), 1, "only the status");
    let (parts, body) = &seen[0];
    assert!(parts.uri.path().ends_with("/status"));
    let c = &body["status"]["conditions"][1];
    assert_eq!(c["type"], "Degraded");
    assert_eq!(c["status"], "True");
    assert_eq!(c["reason"], "Invalid");
    assert!(
        c["message"]
            .as_str()
            .expect("message")
            .contains("spec.network.storageEndpoints[0].cidr"),
        "{c}"
    );
}

#[tokio::test]
async fn a_server_error_is_degraded_and_returned_for_backoff() {
    let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(svc, "default");
    let t = good();
    let server = tokio::spawn(serve(handle, Some(2)));
    let err = apply(&t, &ctx(&client))
        .await
        .expect_err("the error is returned");
    drop(client);
    let seen = server.await.expect("server");
    assert_eq!(
        seen.len(),
        4,
        "two applied, the failing one, then the status"
    );
    let (_, body) = seen.last().expect("status");
    let c = &body["status"]["conditions"][1];
    assert_eq!(c["reason"], "ApplyFailed");
    assert!(
        c["message"]
            .as_str()
            .expect("message")
            .contains("etcd timeout"),
        "{c}"
    );
    let chain = format!(
        "{err}: {}",
        std::error::Error::source(&err)
            .map(ToString::to_string)
            .unwrap_or_default()
    );
    assert!(chain.contains("etcd timeout"), "{chain}");
}

#[tokio::test]
async fn health_endpoints_answer_probes_and_metrics() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let metrics = Arc::new(mlguard_operator::metrics::Metrics::new());
    metrics.record("applied", 0.02, Some(46));
    tokio::spawn(mlguard_operator::serve_health_on(listener, metrics));
    for (path, want) in [
        ("/healthz", "200 OK"),
        ("/readyz", "200 OK"),
        ("/metrics", "200 OK"),
        ("/", "404"),
    ] {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
            .await
            .expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).await.expect("read");
        assert!(
            out.starts_with(&format!("HTTP/1.1 {want}")),
            "{path}: {out}"
        );
        if path == "/metrics" {
            assert!(
                out.contains("mlguard_operator_reconciles_total{outcome=\"applied\"} 1"),
                "{out}"
            );
            assert!(out.contains("mlguard_operator_applied_objects 46"), "{out}");
            assert!(out.trim_end().ends_with("# EOF"), "{out}");
        }
    }
}

#[test]
fn install_manifests_are_least_privilege() {
    use mlguard_operator::manifests::{manifests, pinned};
    let image = format!("registry.example.com/mlguard@sha256:{}", "a".repeat(64));
    assert!(pinned(&image) && !pinned("mlguard:latest") && !pinned("x@sha256:abc"));
    let objs = manifests(&image);
    let kinds: Vec<&str> = objs
        .iter()
        .map(|o| o["kind"].as_str().expect("kind"))
        .collect();
    for k in [
        "CustomResourceDefinition",
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "NetworkPolicy",
    ] {
        assert!(kinds.contains(&k), "{k}");
    }
    let role = objs
        .iter()
        .find(|o| o["kind"] == "ClusterRole")
        .expect("role");
    for r in role["rules"].as_array().expect("rules") {
        let list = |k: &str| {
            r[k].as_array()
                .map(|a| a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        assert!(
            !list("verbs").contains(&"*")
                && !list("resources").contains(&"*")
                && !list("apiGroups").contains(&"*"),
            "{r}"
        );
        assert!(!list("resources").contains(&"secrets"), "no Secrets: {r}");
        assert!(!list("verbs").contains(&"delete"), "no delete: {r}");
        if list("verbs").contains(&"escalate") || list("verbs").contains(&"bind") {
            assert_eq!(
                list("resourceNames"),
                vec!["mlguard-viewer", "mlguard-engineer", "mlguard-admin"],
                "{r}"
            );
        }
    }
    let dep = objs
        .iter()
        .find(|o| o["kind"] == "Deployment")
        .expect("deployment");
    let c = &dep["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        dep["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"],
        true
    );
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["image"], image.as_str());
}

fn ctx(client: &Client) -> Context {
    Context {
        client: client.clone(),
        metrics: Arc::new(mlguard_operator::metrics::Metrics::new()),
        recorder: None,
    }
}

#[tokio::test]
async fn a_kubernetes_event_tells_what_happened() {
    let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(svc, "default");
    let t = good();
    let n = plan(&t).expect("plan").len();
    let server = tokio::spawn(serve(handle, None));
    let ctx = Context::new(client);
    apply(&t, &ctx).await.expect("apply");
    drop(ctx);
    let seen = server.await.expect("server");
    assert_eq!(seen.len(), n + 2, "the applies, the status, then one event");
    let (parts, body) = seen.last().expect("event");
    assert_eq!(parts.method, http::Method::POST);
    assert!(
        parts.uri.path().contains("/apis/events.k8s.io/v1/"),
        "{}",
        parts.uri
    );
    assert_eq!(body["reason"], "Applied");
    assert_eq!(body["type"], "Normal");
    assert_eq!(body["regarding"]["kind"], "MLTenant");
    assert_eq!(body["regarding"]["name"], "fraud");
    assert_eq!(body["reportingController"], "mlguard-operator");
    assert!(body["note"]
        .as_str()
        .expect("note")
        .contains(&format!("{n} objects applied")));
}
