//! The audit receiver's routes against an in-memory store: status codes, whole batches handed to
//! the store, nothing written on a refused request; and the real server over TLS (client
//! certificates, bearer tokens).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use mlguard_audit::store::{AppendSummary, Encoded, Store, StoreError};
use mlguard_audit::trail::normalize::ModelMap;
use mlguard_audit::trail::record::{Record, Source};
use mlguard_server::audit::auth::{Auth, Tokens};
use mlguard_server::audit::{router, Receiver, Settings};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

/// An idempotency key, owned: (source, event id, stage, time).
type Key = (Source, String, Option<String>, i64);

/// A store in memory: dedups on the idempotency key, remembers every append's size, and can be
/// switched to "unavailable".
#[derive(Default)]
struct MemStore {
    records: Mutex<Vec<Record>>,
    keys: Mutex<HashSet<Key>>,
    appends: Mutex<Vec<usize>>,
    down: AtomicBool,
    /// Says it must be reopened (as the SQLite store after a failed flush).
    poisoned: AtomicBool,
    /// Milliseconds each append takes (a slow disk).
    delay_ms: std::sync::atomic::AtomicU64,
}

impl Store for MemStore {
    fn append_encoded(&self, batch: Vec<Encoded>) -> Result<AppendSummary, StoreError> {
        let batch: Vec<Record> = batch
            .iter()
            .map(|e| {
                e.record()
                    .expect("the receiver encodes records that decode")
            })
            .collect();
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("test store is down".into()));
        }
        std::thread::sleep(std::time::Duration::from_millis(
            self.delay_ms.load(Ordering::SeqCst),
        ));
        self.appends.lock().unwrap().push(batch.len());
        let mut keys = self.keys.lock().unwrap();
        let mut s = AppendSummary::default();
        for r in &batch {
            let (src, id, stage, time) = r.idempotency_key();
            if keys.insert((src, id.to_owned(), stage.map(str::to_owned), time)) {
                self.records.lock().unwrap().push(r.clone());
                s.appended += 1;
            } else {
                s.duplicates += 1;
            }
        }
        Ok(s)
    }

    fn checkpoint_if_due(&self) -> Result<Option<String>, StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("test store is down".into()));
        }
        Ok(None)
    }

    fn poisoned(&self) -> Option<String> {
        self.poisoned
            .load(Ordering::SeqCst)
            .then(|| "a flush of /var/lib/audit.db-wal failed".to_owned())
    }
}

impl MemStore {
    fn len(&self) -> usize {
        self.records.lock().unwrap().len()
    }
}

const TOKEN: &str = "test-token-0123456789";
const STORAGE_TOKEN: &str = "storage-only-token-0123";

fn setup(settings: Settings, models: ModelMap) -> (Arc<MemStore>, Arc<Receiver>) {
    let store = Arc::new(MemStore::default());
    let st = Arc::new(Receiver::new(store.clone(), models, settings));
    (store, st)
}

fn token_settings() -> Settings {
    Settings {
        identity_headers: vec!["x-user".into(), "x-forwarded-email".into()],
        auth: Auth {
            tokens: Tokens::parse(&format!("{TOKEN}\n{STORAGE_TOKEN} storage\n")).unwrap(),
            client_ca: false,
            open: false,
        },
        ..Settings::default()
    }
}

fn data(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mlguard-audit/tests/data/trail")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn event(id: &str, stage: &str, time: &str) -> Value {
    serde_json::json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": id, "stage": stage, "requestURI": "/api/v1/namespaces/team-a/pods",
        "verb": "list", "user": {"username": "alice", "groups": ["system:authenticated"]},
        "sourceIPs": ["10.0.0.9"], "userAgent": "kubectl/v1.33.0",
        "objectRef": {"resource": "pods", "namespace": "team-a", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": time, "stageTimestamp": time,
    })
}

fn event_list(items: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {}, "items": items,
    }))
    .unwrap()
}

async fn call(st: &Arc<Receiver>, req: Request<Body>) -> (StatusCode, Value) {
    let resp = router(st.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&body)
        .unwrap_or(Value::String(String::from_utf8_lossy(&body).into_owned()));
    (status, v)
}

fn post(path: &str, token: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut b = Request::post(path).header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn audit_event_list_is_appended_whole_and_a_retry_is_all_duplicates() {
    let (store, st) = setup(token_settings(), ModelMap::default());
    let body = event_list(
        (0..400)
            .map(|i| {
                event(
                    &format!("id-{i}"),
                    "ResponseComplete",
                    "2026-03-02T09:00:00Z",
                )
            })
            .collect(),
    );
    let (code, v) = call(&st, post("/v1/k8s", Some(TOKEN), body.clone())).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["appended"], 400);
    assert_eq!(v["duplicates"], 0);
    assert_eq!(v["rejected"], serde_json::json!([]));
    // The retried batch (the API server retries a POST whose answer it did not get).
    let (code, v) = call(&st, post("/v1/k8s", Some(TOKEN), body)).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["appended"], 0);
    assert_eq!(v["duplicates"], 400);
    assert_eq!(store.len(), 400);
    // One append per batch, with the whole batch.
    assert_eq!(*store.appends.lock().unwrap(), vec![400, 400]);

    // The repository's sample list.
    let (code, v) = call(
        &st,
        post("/v1/k8s", Some(TOKEN), data("k8s-eventlist.json")),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["appended"], 3);

    // A single Event is accepted too.
    let one =
        serde_json::to_vec(&event("single", "ResponseComplete", "2026-03-02T09:00:00Z")).unwrap();
    let (code, v) = call(&st, post("/v1/k8s", Some(TOKEN), one)).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["appended"], 1);
    assert_eq!(store.len(), 404);

    let metrics = st.metrics.encode();
    assert!(
        metrics.contains(r#"mlguard_audit_events_total{source="k8s",result="stored"} 804"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("mlguard_audit_duplicates_total 400"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mlguard_audit_appended_total 404"),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"mlguard_audit_requests_total{source="k8s",code="200"} 4"#),
        "{metrics}"
    );
    assert!(metrics.contains("mlguard_audit_append_duration_seconds_count 4"));
}

#[tokio::test]
async fn audit_malformed_bodies_are_400_with_nothing_written() {
    let (store, st) = setup(token_settings(), ModelMap::default());
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"{\"kind\": \"EventList\", ".to_vec(),
            "malformed JSON at line 1",
        ),
        (b"[1,2]".to_vec(), "expected a JSON object"),
        (
            br#"{"kind":"PodList","apiVersion":"v1","items":[]}"#.to_vec(),
            "apiVersion",
        ),
        (
            br#"{"kind":"PodList","apiVersion":"audit.k8s.io/v1","items":[]}"#.to_vec(),
            "kind",
        ),
        (
            br#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1"}"#.to_vec(),
            "items",
        ),
        (
            event_list(vec![serde_json::json!({"auditID": "x"})]),
            "no event could be read: item 0",
        ),
        (b"".to_vec(), "malformed JSON"),
    ];
    for (body, want) in cases {
        let (code, v) = call(&st, post("/v1/k8s", Some(TOKEN), body.clone())).await;
        assert_eq!(
            code,
            StatusCode::BAD_REQUEST,
            "{}",
            String::from_utf8_lossy(&body)
        );
        let msg = v["error"].as_str().unwrap();
        assert!(msg.contains(want), "{msg} should contain {want}");
    }
    for (path, body) in [
        ("/v1/storage", b"{\"version\":\"1\"".to_vec()),
        ("/v1/storage", b"   ".to_vec()),
        (
            "/v1/storage",
            br#"{"version":"2","time":"2026-03-02T09:00:00Z"}"#.to_vec(),
        ),
        ("/v1/inference", b"{}".to_vec()),
    ] {
        let (code, v) = call(&st, post(path, Some(TOKEN), body)).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{path}: {v}");
        assert!(v["error"].is_string());
    }
    assert_eq!(store.len(), 0);
    assert!(
        store.appends.lock().unwrap().is_empty(),
        "nothing reached the store"
    );
    assert!(st
        .metrics
        .encode()
        .contains(r#"mlguard_audit_requests_total{source="k8s",code="400"} 7"#));
}

#[tokio::test]
async fn audit_one_bad_item_is_rejected_and_the_others_stored() {
    let (store, st) = setup(token_settings(), ModelMap::default());
    let mut bad = event("b", "ResponseComplete", "2026-03-02T09:00:00Z");
    bad["verb"] = serde_json::json!(42);
    let body = event_list(vec![
        event("a", "ResponseComplete", "2026-03-02T09:00:00Z"),
        bad,
        event("c", "ResponseComplete", "2026-03-02T09:00:00Z"),
    ]);
    let (code, v) = call(&st, post("/v1/k8s", Some(TOKEN), body)).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["appended"], 2);
    assert_eq!(v["rejected"][0]["item"], 1);
    assert!(v["rejected"][0]["error"].as_str().unwrap().contains("verb"));
    assert_eq!(store.len(), 2);
    assert!(st
        .metrics
        .encode()
        .contains(r#"mlguard_audit_events_total{source="k8s",result="rejected"} 1"#));
}

#[tokio::test]
async fn audit_authentication_401_403() {
    let (store, st) = setup(token_settings(), ModelMap::default());
    let body = || event_list(vec![event("x", "ResponseComplete", "2026-03-02T09:00:00Z")]);
    let (code, v) = call(&st, post("/v1/k8s", None, body())).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    assert!(v["error"].as_str().unwrap().contains("bearer token"), "{v}");
    let (code, _) = call(
        &st,
        post("/v1/k8s", Some("wrong-token-wrong-token"), body()),
    )
    .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, v) = call(&st, post("/v1/k8s", Some(STORAGE_TOKEN), body())).await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert!(v["error"].as_str().unwrap().contains("k8s"), "{v}");
    assert_eq!(store.len(), 0);
    // The storage token writes storage events; MinIO sends its token without `Bearer`.
    let req = Request::post("/v1/storage")
        .header("authorization", STORAGE_TOKEN)
        .body(Body::from(data("minio-putobject.json")))
        .unwrap();
    let (code, v) = call(&st, req).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    // Health, readiness and metrics need no credential.
    for path in ["/healthz", "/readyz", "/metrics"] {
        let (code, _) = call(&st, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(code, StatusCode::OK, "{path}");
    }
    let (code, v) = call(&st, Request::get("/nope").body(Body::empty()).unwrap()).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(v["error"], "no such route");
    let (code, _) = call(&st, Request::get("/v1/k8s").body(Body::empty()).unwrap()).await;
    assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn audit_body_over_the_limit_is_413() {
    let settings = Settings {
        max_body: 1000,
        ..token_settings()
    };
    let (store, st) = setup(settings, ModelMap::default());
    let big = event_list(
        (0..10)
            .map(|i| {
                event(
                    &format!("id-{i}"),
                    "ResponseComplete",
                    "2026-03-02T09:00:00Z",
                )
            })
            .collect(),
    );
    assert!(big.len() > 1000);
    let (code, v) = call(&st, post("/v1/k8s", Some(TOKEN), big.clone())).await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(v["error"].as_str().unwrap().contains("1000-byte limit"));
    // Without a Content-Length (chunked): refused while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(100).map(|c| Ok(c.to_vec())).collect();
    let stream = futures::stream::iter(chunks);
    let req = Request::post("/v1/k8s")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::from_stream(stream))
        .unwrap();
    let (code, _) = call(&st, req).await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(store.len(), 0);
}

#[tokio::test]
async fn audit_huge_batch_under_the_limit_is_one_append() {
    let (store, st) = setup(token_settings(), ModelMap::default());
    let body = event_list(
        (0..5000)
            .map(|i| {
                event(
                    &format!("big-{i}"),
                    "ResponseComplete",
                    "2026-03-02T09:00:00Z",
                )
            })
            .collect(),
    );
    assert!(body.len() > 2 << 20);
    let (code, v) = call(&st, post("/v1/k8s", Some(TOKEN), body)).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["appended"], 5000);
    assert_eq!(*store.appends.lock().unwrap(), vec![5000]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_concurrent_batches_are_committed_together() {
    let (store, st) = setup(token_settings(), ModelMap::default());
    store.delay_ms.store(100, Ordering::SeqCst);
    let bodies: Vec<Vec<u8>> = (0..8)
        .map(|b| {
            event_list(
                (0..50)
                    .map(|i| {
                        event(
                            &format!("g{b}-{i}"),
                            "ResponseComplete",
                            "2026-03-02T09:00:00Z",
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    let send_all = |bodies: Vec<Vec<u8>>| {
        let st = st.clone();
        async move {
            let tasks: Vec<_> = bodies
                .into_iter()
                .map(|b| {
                    let st = st.clone();
                    tokio::spawn(async move { call(&st, post("/v1/k8s", Some(TOKEN), b)).await })
                })
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        }
    };
    let answers = send_all(bodies.clone()).await;
    for (code, v) in &answers {
        assert_eq!(*code, StatusCode::OK, "{v}");
        assert_eq!(v["stored"], 50);
        // No duplicate in any group: every batch's counts are exact.
        assert_eq!(v["appended"], 50, "{v}");
    }
    let appends = store.appends.lock().unwrap().clone();
    assert_eq!(appends.iter().sum::<usize>(), 400);
    assert!(appends.len() < 8, "no group commit: {appends:?}");
    assert!(answers
        .iter()
        .any(|(_, v)| v["group"]["batches"].as_u64() > Some(1)));
    // The same batches again (retries): all duplicates, nothing stored twice.
    let answers = send_all(bodies).await;
    for (code, v) in &answers {
        assert_eq!(*code, StatusCode::OK, "{v}");
        assert_eq!(v["stored"], 50);
        if v.get("group").is_some() {
            assert!(v["appended"].is_null(), "{v}");
            assert_eq!(v["group"]["appended"], 0, "{v}");
        } else {
            assert_eq!(v["duplicates"], 50, "{v}");
        }
    }
    assert_eq!(store.len(), 400);
    assert!(st
        .metrics
        .encode()
        .contains("mlguard_audit_duplicates_total 400"));
}

#[tokio::test]
async fn audit_store_unavailable_is_503_then_recovers() {
    let (store, st) = setup(token_settings(), ModelMap::default());
    store.down.store(true, Ordering::SeqCst);
    let body = event_list(vec![event("x", "ResponseComplete", "2026-03-02T09:00:00Z")]);
    let resp = router(st.clone())
        .oneshot(post("/v1/k8s", Some(TOKEN), body.clone()))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["retry-after"], "1");
    let (code, _) = call(&st, Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(store.len(), 0);
    store.down.store(false, Ordering::SeqCst);
    let (code, v) = call(&st, post("/v1/k8s", Some(TOKEN), body)).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["appended"], 1);
    let (code, _) = call(&st, Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(code, StatusCode::OK);
}

/// `/healthz` stays 200 while the store is only unavailable (the sender retries, `/readyz`
/// says 503), and fails once the store refuses every write until it is reopened, so that a
/// liveness probe restarts the receiver.
#[tokio::test]
async fn healthz_fails_only_when_the_store_needs_a_restart() {
    let (store, st) = setup(token_settings(), ModelMap::default());
    let healthz = || Request::get("/healthz").body(Body::empty()).unwrap();
    assert_eq!(call(&st, healthz()).await.0, StatusCode::OK);
    store.down.store(true, Ordering::SeqCst);
    assert_eq!(call(&st, healthz()).await.0, StatusCode::OK);
    store.poisoned.store(true, Ordering::SeqCst);
    let (code, v) = call(&st, healthz()).await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    let message = v["error"].as_str().unwrap_or_default();
    assert!(message.contains("restart the receiver"), "{v}");
    // The probe needs no credential: the store's reason (a file path) stays out.
    assert!(!message.contains("/var/lib"), "{v}");
}

#[tokio::test]
async fn audit_storage_entries_one_or_several() {
    let (store, st) = setup(token_settings(), ModelMap::default());
    let (code, v) = call(
        &st,
        post("/v1/storage", Some(TOKEN), data("minio-getobject.json")),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["appended"], 1);
    // MinIO's batches: entries one per line.
    let mut lines = Vec::new();
    for name in [
        "minio-putobject.json",
        "minio-presigned-denied.json",
        "minio-getobject.json",
    ] {
        let v: Value = serde_json::from_slice(&data(name)).unwrap();
        lines.extend_from_slice(v.to_string().as_bytes());
        lines.push(b'\n');
    }
    let (code, v) = call(&st, post("/v1/storage", Some(TOKEN), lines)).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["appended"], 2);
    assert_eq!(v["duplicates"], 1);
    assert_eq!(store.len(), 3);
    assert!(store
        .records
        .lock()
        .unwrap()
        .iter()
        .all(|r| r.source == Source::Storage));
}

#[tokio::test]
async fn audit_inference_binary_and_structured_with_identity_and_model() {
    let models = mlguard_server::audit::parse_model_map(
        "inferenceServices:\n  - {namespace: team-a, name: llama-chat, model: llama-7b}\n",
    )
    .unwrap();
    let (store, st) = setup(token_settings(), models);
    let raw = data("kserve-binary-request.http");
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .or_else(|| text.split_once("\n\n"))
        .unwrap();
    let mut req = Request::post("/v1/inference");
    for line in head.lines() {
        let (n, v) = line.split_once(':').unwrap();
        if n.eq_ignore_ascii_case("authorization") || n.eq_ignore_ascii_case("content-length") {
            continue;
        }
        req = req.header(n, v.trim_start());
    }
    req = req.header("authorization", format!("Bearer {TOKEN}"));
    let (code, v) = call(&st, req.body(Body::from(body.to_owned())).unwrap()).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    let structured = Request::post("/v1/inference")
        .header("content-type", "application/cloudevents+json")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::from(data("kserve-structured-request.json")))
        .unwrap();
    let (code, v) = call(&st, structured).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    let recs = store.records.lock().unwrap();
    assert_eq!(recs[0].actor, "alice@example.com");
    assert_eq!(recs[0].model.as_deref(), Some("llama-7b"));
    assert_eq!(recs[0].detail["content_mode"], "binary");
    // Our own bearer token is not kept in the raw event.
    let raw = String::from_utf8(recs[0].raw_event().unwrap()).unwrap();
    assert!(!raw.contains(TOKEN), "{raw}");
    assert_eq!(recs[1].actor, "bob@example.com");
    assert_eq!(recs[1].detail["content_mode"], "structured");
}

#[tokio::test]
async fn audit_clock_skew_keeps_the_events_own_time() {
    let (store, st) = setup(token_settings(), ModelMap::default());
    // One event far in the future, one far in the past, out of order.
    let body = event_list(vec![
        event("future", "ResponseComplete", "2099-01-01T00:00:00Z"),
        event("past", "ResponseComplete", "1999-01-01T00:00:00Z"),
    ]);
    let (code, v) = call(&st, post("/v1/k8s", Some(TOKEN), body)).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["appended"], 2);
    let recs = store.records.lock().unwrap();
    assert_eq!(recs[0].time_rfc3339(), "2099-01-01T00:00:00Z");
    assert_eq!(recs[1].time_rfc3339(), "1999-01-01T00:00:00Z");
    assert!(st
        .metrics
        .encode()
        .contains(r#"mlguard_audit_clock_skewed_events_total{source="k8s"} 1"#));
}

#[tokio::test]
async fn audit_models_are_learned_from_kubernetes_events() {
    let models = mlguard_server::audit::parse_model_map(
        "prefixes:\n  - prefix: s3://models/llama-7b/\n    model: llama-7b\n",
    )
    .unwrap();
    let (store, st) = setup(token_settings(), models);
    let (code, v) = call(
        &st,
        post("/v1/storage", Some(TOKEN), data("minio-getobject.json")),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    let r = store.records.lock().unwrap()[0].clone();
    let name = r.name.clone().unwrap_or_default();
    if name.starts_with("s3://models/llama-7b/") {
        assert_eq!(r.model.as_deref(), Some("llama-7b"));
    }
}

#[test]
fn audit_model_map_file_errors_name_the_problem() {
    use mlguard_server::audit::parse_model_map;
    assert!(parse_model_map("").is_ok());
    assert!(parse_model_map("prefixes: []\ninferenceServices: []\n").is_ok());
    let e = parse_model_map("prefixs: []\n").unwrap_err();
    assert!(e.contains("prefixs"), "{e}");
    let e = parse_model_map("prefixes:\n  - {prefix: '', model: m}\n").unwrap_err();
    assert!(e.contains("prefixes[0]"), "{e}");
    let e = parse_model_map("prefixes: [\n").unwrap_err();
    assert!(e.contains("line"), "{e}");
    let e = parse_model_map(
        "prefixes:\n  - {prefix: s3://a, model: x}\n  - {prefix: s3://a, model: y}\n",
    )
    .unwrap_err();
    assert!(e.contains("already mapped"), "{e}");
}

#[test]
fn audit_corpus_events_ingest_as_expected() {
    // Real API server events (audit2rbac's demo log, one Event per line).
    let p = std::path::Path::new("/work/shared/corpus/audit/audit2rbac-demo.log");
    let Ok(text) = std::fs::read_to_string(p) else {
        eprintln!("skipped: {} is not here", p.display());
        return;
    };
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let r = mlguard_audit::trail::normalize::k8s_event(line.as_bytes())
            .unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        assert!(!r.event_id.is_empty());
        n += 1;
    }
    assert!(n > 30);
}

// ---- The real server over TLS ----

struct Pki {
    ca_pem: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
    other_client_cert: String,
    other_client_key: String,
}

fn ca(name: &str) -> (rcgen::CertificateParams, rcgen::KeyPair, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let pem = p.self_signed(&key).unwrap().pem();
    (p, key, pem)
}

fn leaf(
    ca: &(rcgen::CertificateParams, rcgen::KeyPair, String),
    name: &str,
    client: bool,
) -> (String, String) {
    use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair};
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec![name.to_owned()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, name);
    p.extended_key_usages = vec![if client {
        ExtendedKeyUsagePurpose::ClientAuth
    } else {
        ExtendedKeyUsagePurpose::ServerAuth
    }];
    let issuer = rcgen::Issuer::from_params(&ca.0, &ca.1);
    (
        p.signed_by(&key, &issuer).unwrap().pem(),
        key.serialize_pem(),
    )
}

fn pki() -> Pki {
    let root = ca("audit test CA");
    let other = ca("someone else's CA");
    let (server_cert, server_key) = leaf(&root, "localhost", false);
    let (client_cert, client_key) = leaf(&root, "kube-apiserver", true);
    let (other_client_cert, other_client_key) = leaf(&other, "kube-apiserver", true);
    Pki {
        ca_pem: root.2,
        server_cert,
        server_key,
        client_cert,
        client_key,
        other_client_cert,
        other_client_key,
    }
}

fn client_tls(pki: &Pki, cert: Option<(&str, &str)>) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(pki.ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let cfg = match cert {
        None => b.with_no_client_auth(),
        Some((c, k)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(c.as_bytes())
                .collect::<Result<_, _>>()
                .unwrap();
            b.with_client_auth_cert(chain, PrivateKeyDer::from_pem_slice(k.as_bytes()).unwrap())
                .unwrap()
        }
    };
    Arc::new(cfg)
}

/// POSTs over TLS; `Err` when the connection or handshake fails.
async fn https_post(
    addr: std::net::SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    token: Option<&str>,
    body: Vec<u8>,
) -> Result<(u16, Value), String> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (mut send, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut b = hyper::Request::post("/v1/k8s").header("host", "localhost");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let resp = send
        .send_request(
            b.body(http_body_util::Full::new(axum::body::Bytes::from(body)))
                .unwrap(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let code = resp.status().as_u16();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((code, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

#[tokio::test]
async fn audit_tls_client_certificates_and_tokens() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let w = |n: &str, t: &str| {
        let p = dir.path().join(n);
        std::fs::write(&p, t).unwrap();
        p
    };
    let cert = w("tls.crt", &pki.server_cert);
    let key = w("tls.key", &pki.server_key);
    let ca_file = w("ca.crt", &pki.ca_pem);
    let certs = Arc::new(mlguard_server::tls::ReloadingCert::new(&cert, &key).unwrap());
    let tls = mlguard_server::audit::server_config(certs, Some(&ca_file)).unwrap();
    let settings = Settings {
        auth: Auth {
            tokens: Tokens::single(TOKEN),
            client_ca: true,
            open: false,
        },
        ..Settings::default()
    };
    let (store, st) = setup(settings, ModelMap::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(mlguard_server::audit::serve(
        listener,
        Some(tls),
        router(st.clone()),
        async {
            let _ = stop_rx.await;
        },
    ));
    let body = |id: &str| event_list(vec![event(id, "ResponseComplete", "2026-03-02T09:00:00Z")]);

    // A client certificate from the configured CA: accepted without a token.
    let good = client_tls(&pki, Some((&pki.client_cert, &pki.client_key)));
    let (code, v) = https_post(addr, good, None, body("mtls")).await.unwrap();
    assert_eq!(code, 200, "{v}");
    // A certificate from another CA: the handshake (or the first request) fails.
    let bad = client_tls(&pki, Some((&pki.other_client_cert, &pki.other_client_key)));
    assert!(https_post(addr, bad, None, body("other-ca")).await.is_err());
    // No certificate: a token is needed.
    let anon = client_tls(&pki, None);
    let (code, v) = https_post(addr, anon.clone(), None, body("anon"))
        .await
        .unwrap();
    assert_eq!(code, 401, "{v}");
    let (code, _) = https_post(addr, anon.clone(), Some("not-the-token-at-all"), body("w"))
        .await
        .unwrap();
    assert_eq!(code, 401);
    let (code, v) = https_post(addr, anon, Some(TOKEN), body("token"))
        .await
        .unwrap();
    assert_eq!(code, 200, "{v}");
    // Plain HTTP to the TLS port gets no answer.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"POST /v1/k8s HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}")
            .await
            .unwrap();
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), tcp.read_to_end(&mut buf))
            .await;
        assert!(
            !buf.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&buf)
        );
    }
    let ids: Vec<String> = store
        .records
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.event_id.clone())
        .collect();
    assert_eq!(ids, vec!["mtls", "token"]);
    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn audit_plain_http_on_loopback() {
    let settings = Settings {
        auth: Auth {
            open: true,
            ..Auth::default()
        },
        ..Settings::default()
    };
    let (store, st) = setup(settings, ModelMap::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(mlguard_server::audit::serve(
        listener,
        None,
        router(st.clone()),
        async {
            let _ = stop_rx.await;
        },
    ));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let body = event_list(vec![event(
        "plain",
        "ResponseComplete",
        "2026-03-02T09:00:00Z",
    )]);
    let resp = send
        .send_request(
            hyper::Request::post("/v1/k8s")
                .header("host", "localhost")
                .body(http_body_util::Full::new(axum::body::Bytes::from(body)))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(store.len(), 1);
    assert!(mlguard_server::audit::check_plain_listen("127.0.0.1:1".parse().unwrap()).is_ok());
    assert!(mlguard_server::audit::check_plain_listen("[::1]:1".parse().unwrap()).is_ok());
    assert!(mlguard_server::audit::check_plain_listen("0.0.0.0:1".parse().unwrap()).is_err());
    assert!(mlguard_server::audit::check_plain_listen("10.0.0.1:1".parse().unwrap()).is_err());
    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
}
