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
        if parts.method == http::Method::GET {
            // Reads (the live ResourceQuota before applying): nothing there yet.
            send.send_response(
                Response::builder()
                    .status(404)
                    .body(Body::from(serde_json::to_vec(&json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404})).expect("json")))
                    .expect("response"),
            );
            continue;
        }
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
    Context::quiet(client.clone())
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

/// Answer every request with `f(parts, body)` = (status code, response body); return what was
/// asked, in order.
async fn serve_fn(
    mut handle: Handle,
    f: impl Fn(&http::request::Parts, &Value) -> (u16, Value),
) -> Vec<(http::request::Parts, Value)> {
    let mut seen = Vec::new();
    while let Some((req, send)) = handle.next_request().await {
        let (parts, v) = body_json(req).await;
        let (code, body) = f(&parts, &v);
        send.send_response(
            Response::builder()
                .status(code)
                .body(Body::from(serde_json::to_vec(&body).expect("json")))
                .expect("response"),
        );
        seen.push((parts, v));
    }
    seen
}

fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "message": message, "code": code})
}

fn degraded(seen: &[(http::request::Parts, Value)]) -> Value {
    let (parts, body) = seen
        .iter()
        .rev()
        .find(|(p, _)| p.uri.path().ends_with("/status"))
        .expect("a status write");
    assert_eq!(parts.method, http::Method::PATCH);
    body["status"]["conditions"][1].clone()
}

#[tokio::test]
async fn a_conflict_is_degraded_and_retried_with_growing_backoff() {
    let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(svc, "default");
    let t = good();
    let server = tokio::spawn(serve_fn(handle, |parts, body| {
        if parts.method == http::Method::GET {
            (404, status_body(404, "NotFound", "none"))
        } else if parts.uri.path().ends_with("/status") {
            (200, serde_json::to_value(good()).expect("json"))
        } else if body["kind"] == "NetworkPolicy" {
            (
                409,
                status_body(
                    409,
                    "Conflict",
                    "Operation cannot be fulfilled: the object has been modified",
                ),
            )
        } else {
            (200, body.clone())
        }
    }));
    let ctx = Arc::new(ctx(&client));
    let err = apply(&t, &ctx).await.expect_err("a conflict is an error");
    assert!(format!("{:?}", err).contains("409"), "{err:?}");
    let t = Arc::new(t);
    let delays: Vec<String> = (0..10)
        .map(|_| {
            format!(
                "{:?}",
                mlguard_operator::error_policy(t.clone(), &err, ctx.clone())
            )
        })
        .collect();
    let secs = |s: u64| {
        format!(
            "{:?}",
            kube::runtime::controller::Action::requeue(std::time::Duration::from_secs(s))
        )
    };
    assert_eq!(delays[0], secs(2));
    assert_eq!(delays[1], secs(4));
    assert_eq!(delays[2], secs(8));
    assert_eq!(delays[9], secs(300), "capped at 5 minutes");
    drop(ctx);
    drop(client);
    let seen = server.await.expect("server");
    let c = degraded(&seen);
    assert_eq!(c["reason"], "ApplyFailed");
    assert!(
        c["message"]
            .as_str()
            .expect("msg")
            .contains("NetworkPolicy"),
        "{c}"
    );
    // Nothing after the failing apply but the status.
    let failed = seen
        .iter()
        .position(|(_, b)| b["kind"] == "NetworkPolicy")
        .expect("the conflicting apply");
    assert!(seen[failed + 1..]
        .iter()
        .all(|(p, _)| p.uri.path().ends_with("/status")));
}

#[tokio::test]
async fn success_resets_the_backoff() {
    let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(svc, "default");
    let ctx = Arc::new(ctx(&client));
    let t = Arc::new(good());
    let e = mlguard_operator::Error::Unnamed;
    mlguard_operator::error_policy(t.clone(), &e, ctx.clone());
    mlguard_operator::error_policy(t.clone(), &e, ctx.clone());
    let server = tokio::spawn(serve(handle, None));
    apply(&t, &ctx).await.expect("apply");
    drop(ctx.clone());
    let first = format!("{:?}", mlguard_operator::error_policy(t, &e, ctx.clone()));
    drop(ctx);
    drop(client);
    server.await.expect("server");
    assert_eq!(
        first,
        format!(
            "{:?}",
            kube::runtime::controller::Action::requeue(mlguard_operator::Backoff::FIRST)
        )
    );
}

#[tokio::test]
async fn a_spec_change_is_applied_and_observed_at_its_generation() {
    let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(svc, "default");
    // Ready at generation 3; the spec changed (generation 4, a second namespace).
    let before = mlguard_operator::status(Some(3), Ok(5));
    let mut t = tenant(json!({
        "classification": "pci",
        "namespaces": [{"name": "fraud-train", "role": "training"}, {"name": "fraud-serve", "role": "serving"}],
        "members": {"engineers": {"groups": ["ml-fraud"]}},
    }));
    t.metadata.generation = Some(4);
    t.status = Some(before.clone());
    let server = tokio::spawn(serve(handle, None));
    apply(&t, &ctx(&client)).await.expect("apply");
    drop(client);
    let seen = server.await.expect("server");
    assert!(seen
        .iter()
        .any(|(p, b)| b["kind"] == "Namespace" && p.uri.path().ends_with("/fraud-serve")));
    let (_, body) = seen.last().expect("status");
    assert_eq!(body["status"]["observedGeneration"], 4);
    let ready = &body["status"]["conditions"][0];
    assert_eq!(ready["observedGeneration"], 4);
    assert_eq!(
        ready["lastTransitionTime"],
        json!(before.conditions[0].last_transition_time),
        "still Ready: the transition time stays"
    );
}

#[tokio::test]
async fn an_unchanged_tenant_writes_no_status() {
    let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(svc, "default");
    let mut t = good();
    let n = plan(&t).expect("plan").len();
    t.status = Some(mlguard_operator::status(Some(3), Ok(n)));
    let server = tokio::spawn(serve(handle, None));
    apply(&t, &ctx(&client)).await.expect("apply");
    drop(client);
    let seen = server.await.expect("server");
    assert_eq!(seen.len(), n, "the (no-op) applies only");
    assert!(seen.iter().all(|(p, _)| !p.uri.path().ends_with("/status")));
}

#[tokio::test]
async fn a_new_tenant_gets_the_finalizer_before_anything_is_applied() {
    let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(svc, "default");
    let server = tokio::spawn(serve_fn(handle, |_, _| {
        let mut t = serde_json::to_value(good()).expect("json");
        t["metadata"]["finalizers"] = json!([mlguard_operator::FINALIZER]);
        (200, t)
    }));
    mlguard_operator::reconcile(Arc::new(good()), Arc::new(ctx(&client)))
        .await
        .expect("reconcile");
    drop(client);
    let seen = server.await.expect("server");
    assert_eq!(seen.len(), 1, "only the finalizer patch: {seen:?}");
    let (parts, body) = &seen[0];
    assert_eq!(parts.method, http::Method::PATCH);
    assert!(
        parts.uri.path().ends_with("/mltenants/fraud"),
        "{}",
        parts.uri
    );
    assert!(
        body.to_string().contains(mlguard_operator::FINALIZER),
        "{body}"
    );
}

#[tokio::test]
async fn deleting_a_tenant_releases_the_finalizer_and_applies_nothing() {
    let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(svc, "default");
    let mut t = good();
    t.metadata.finalizers = Some(vec![mlguard_operator::FINALIZER.to_owned()]);
    t.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        "2026-11-27T00:00:00Z".parse().expect("time"),
    ));
    let server = tokio::spawn(serve_fn(handle, |_, _| {
        (200, serde_json::to_value(good()).expect("json"))
    }));
    mlguard_operator::reconcile(Arc::new(t), Arc::new(ctx(&client)))
        .await
        .expect("reconcile");
    drop(client);
    let seen = server.await.expect("server");
    assert_eq!(seen.len(), 1, "only the finalizer's removal: {seen:?}");
    let (parts, body) = &seen[0];
    assert_eq!(
        parts
            .headers
            .get("content-type")
            .and_then(|h| h.to_str().ok()),
        Some("application/json-patch+json")
    );
    assert!(body.to_string().contains("remove"), "{body}");
}

#[tokio::test]
async fn a_quota_below_usage_is_degraded_and_nothing_is_applied() {
    let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(svc, "default");
    let t = tenant(json!({
        "classification": "internal",
        "namespaces": [{"name": "fraud-train", "role": "training"}],
        "members": {"engineers": {"groups": ["ml-fraud"]}},
        "quota": {"gpus": 4},
    }));
    let server = tokio::spawn(serve_fn(handle, |parts, _| {
        if parts.method == http::Method::GET {
            (
                200,
                json!({"apiVersion": "v1", "kind": "ResourceQuota",
                "metadata": {"name": "mlguard-quota", "namespace": "fraud-train"},
                "status": {"used": {"requests.nvidia.com/gpu": "6"}}}),
            )
        } else {
            (200, serde_json::to_value(good()).expect("json"))
        }
    }));
    let action = apply(&t, &ctx(&client)).await.expect("apply");
    drop(client);
    let seen = server.await.expect("server");
    assert!(
        seen.iter()
            .all(|(p, _)| p.method == http::Method::GET || p.uri.path().ends_with("/status")),
        "nothing applied: {seen:?}"
    );
    let c = degraded(&seen);
    assert_eq!(c["reason"], "QuotaBelowUsage");
    let msg = c["message"].as_str().expect("message");
    assert!(
        msg.contains("fraud-train") && msg.contains("requests.nvidia.com/gpu") && msg.contains('6'),
        "{msg}"
    );
    assert_eq!(
        format!("{action:?}"),
        format!(
            "{:?}",
            kube::runtime::controller::Action::requeue(std::time::Duration::from_secs(60))
        )
    );
}

#[test]
fn a_namespace_claimed_by_an_older_tenant_is_a_conflict_for_the_newer_only() {
    let with = |name: &str, created: &str, ns: &[&str]| {
        let mut t = tenant(json!({
            "classification": "internal",
            "namespaces": ns.iter().map(|n| json!({"name": n, "role": "training"})).collect::<Vec<_>>(),
            "members": {"engineers": {"groups": ["g"]}},
        }));
        t.metadata.name = Some(name.to_owned());
        t.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            created.parse().expect("time"),
        ));
        Arc::new(t)
    };
    let old = with(
        "vision",
        "2026-01-01T00:00:00Z",
        &["shared", "vision-train"],
    );
    let new = with("nlp", "2026-06-01T00:00:00Z", &["nlp-train", "shared"]);
    let other = with("speech", "2025-01-01T00:00:00Z", &["speech-train"]);
    let all = vec![old.clone(), new.clone(), other];
    assert!(mlguard_operator::namespace_conflicts(&old, &all).is_empty());
    assert_eq!(
        mlguard_operator::namespace_conflicts(&new, &all),
        vec!["namespace `shared` already belongs to MLTenant `vision`".to_owned()]
    );
}
