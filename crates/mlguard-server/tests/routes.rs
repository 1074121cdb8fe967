//! The webhook's routes with axum's `oneshot` (no network): /validate answers an
//! AdmissionReview; bad bodies are uniform JSON 400s; health and metrics answer.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use mlguard_server::admission::{Judge, MAX_BODY};
use mlguard_server::webhook::{router, AppState};
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

fn review() -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "u-1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "p", "namespace": "team-a", "operation": "CREATE",
            "userInfo": {"username": "alice"},
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "team-a"},
                       "spec": {"containers": [{"name": "c", "image": "registry.example.com/ml/x:1",
                                 "securityContext": {"privileged": true},
                                 "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}},
            "dryRun": true,
        }
    })
}

async fn call(
    state: Arc<AppState>,
    method: &str,
    uri: &str,
    body: Vec<u8>,
) -> (StatusCode, Value, String) {
    let resp = router(state)
        .oneshot(
            Request::builder()
                .method(method)
                .uri(uri)
                .header("content-type", "application/json")
                .body(Body::from(body))
                .expect("request"),
        )
        .await
        .expect("response");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text,
    )
}

#[tokio::test]
async fn validate_answers_an_admission_review() {
    let state = Arc::new(AppState::new(Judge::default()));
    let (status, out, _) = call(
        state.clone(),
        "POST",
        "/validate",
        serde_json::to_vec(&review()).expect("json"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(out["kind"], "AdmissionReview");
    assert_eq!(out["response"]["uid"], "u-1");
    assert_eq!(out["response"]["allowed"], false);
    assert!(out["response"]["status"]["message"]
        .as_str()
        .expect("msg")
        .contains("MLG-POD-001"));
    let (_, _, metrics) = call(state, "GET", "/metrics", Vec::new()).await;
    assert!(metrics.contains("mlguard_webhook_decisions_total{namespace=\"team-a\",mode=\"enforce\",outcome=\"denied\"} 1"), "{metrics}");
    assert!(
        metrics.contains(
            "mlguard_webhook_findings_total{control=\"MLG-POD-001\",namespace=\"team-a\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("mlguard_webhook_request_duration_seconds_count 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn bad_bodies_are_uniform_json_400s() {
    let state = Arc::new(AppState::new(Judge::default()));
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"{oops".to_vec(), "not JSON"),
        (
            br#"{"apiVersion": "v1", "kind": "Pod"}"#.to_vec(),
            "expected apiVersion admission.k8s.io/v1",
        ),
        (
            br#"{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}"#.to_vec(),
            "no `request`",
        ),
        (vec![b' '; MAX_BODY + 10], "limit"),
    ];
    for (body, want) in cases {
        let (status, out, text) = call(state.clone(), "POST", "/validate", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert_eq!(out["error"]["code"], 400);
        assert!(
            out["error"]["message"]
                .as_str()
                .expect("message")
                .contains(want),
            "{text}"
        );
    }
    let (status, out, _) = call(state.clone(), "GET", "/nope", Vec::new()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(out["error"]["code"], 404);
    let (_, _, metrics) = call(state, "GET", "/metrics", Vec::new()).await;
    assert!(
        metrics.contains("mlguard_webhook_decisions_total{outcome=\"invalid\"} 4"),
        "{metrics}"
    );
}

#[tokio::test]
async fn health_endpoints_answer() {
    let state = Arc::new(AppState::new(Judge::default()));
    for path in ["/healthz", "/readyz"] {
        let (status, _, text) = call(state.clone(), "GET", path, Vec::new()).await;
        assert_eq!((status, text.as_str()), (StatusCode::OK, "ok"));
    }
}

#[tokio::test]
async fn mutate_answers_with_a_patch_only_when_mutations_are_on() {
    let mut body = review();
    body["request"]["object"]["metadata"]["labels"] =
        json!({"training.kubeflow.org/job-name": "llama"});
    let body = serde_json::to_vec(&body).expect("json");
    let off = Arc::new(AppState::new(Judge::default()));
    let (status, out, text) = call(off, "POST", "/mutate", body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(out["response"]["allowed"], true);
    assert!(out["response"]["patch"].is_null(), "{text}");
    let mut on = AppState::new(Judge::default());
    on.mutations = mlguard_server::mutate::Mutations::parse("sa-token,shm").expect("parse");
    let (status, out, text) = call(Arc::new(on), "POST", "/mutate", body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(
        out["response"]["allowed"], true,
        "mutate never denies, even a privileged pod"
    );
    assert_eq!(out["response"]["patchType"], "JSONPatch", "{text}");
}
