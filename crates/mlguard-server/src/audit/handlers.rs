//! The receiver's routes (see the module doc of [`super`] for the table and status codes).

use super::auth::{Decision, Peer};
use super::{Receiver, Source};
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http_body_util::BodyExt;
use mlguard_audit::store::Encoded;
use mlguard_audit::trail::normalize::{self, NormalizeError};
use mlguard_audit::trail::record::Record;
use std::sync::Arc;
use std::time::Instant;

/// A uniform JSON error, `{"error": "..."}`.
pub(crate) fn error(code: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "error": message.into() });
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The routes.
pub fn router(state: Arc<Receiver>) -> Router {
    Router::new()
        .route("/v1/k8s", post(k8s))
        .route("/v1/storage", post(storage))
        .route("/v1/inference", post(inference))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such route") })
        .method_not_allowed_fallback(|| async {
            error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        })
        .with_state(state)
}

/// 200 while the process can serve; 503 once its store refuses every write until it is
/// opened again (a failed flush of the SQLite store's WAL), so that a liveness probe
/// restarts the receiver instead of leaving it answering 503 to every batch. The probe needs
/// no credential, so the answer does not carry the store's reason (it names the file); the
/// refused appends log it.
async fn healthz(State(s): State<Arc<Receiver>>) -> Response {
    match s.store().poisoned() {
        None => "ok".into_response(),
        Some(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the audit store refuses every write after a failed flush; restart the receiver",
        ),
    }
}

async fn readyz(State(s): State<Arc<Receiver>>) -> Response {
    if s.is_ready() {
        "ok".into_response()
    } else {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the audit store is unavailable",
        )
    }
}

async fn metrics(State(s): State<Arc<Receiver>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
        .into_response()
}

async fn k8s(State(s): State<Arc<Receiver>>, req: Request) -> Response {
    write(s, req, Source::K8s, |_, _, body| decode_k8s(&body)).await
}

async fn storage(State(s): State<Arc<Receiver>>, req: Request) -> Response {
    write(s, req, Source::Storage, |_, _, body| decode_storage(&body)).await
}

async fn inference(State(s): State<Arc<Receiver>>, req: Request) -> Response {
    write(s, req, Source::Inference, |st, headers, body| {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        normalize::kserve(&headers, &body, &st.settings.identity_headers)
            .map(|r| Decoded {
                records: vec![r],
                rejected: Vec::new(),
            })
            .map_err(|e| e.to_string())
    })
    .await
}

/// A body read into records, and the items that could not be read.
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    pub records: Vec<Record>,
    /// (item index, error).
    pub rejected: Vec<(usize, String)>,
}

fn split(results: Vec<Result<Record, NormalizeError>>) -> Decoded {
    let mut d = Decoded::default();
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(r) => d.records.push(r),
            Err(e) => d.rejected.push((i, e.to_string())),
        }
    }
    d
}

/// An `EventList`, or a single `Event`.
pub(crate) fn decode_k8s(body: &[u8]) -> Result<Decoded, String> {
    match normalize::k8s_event_list_items(body) {
        Ok(items) => Ok(split(items)),
        Err(e) if e.field() == Some("kind") => match normalize::k8s_event(body) {
            Ok(r) => Ok(Decoded {
                records: vec![r],
                rejected: Vec::new(),
            }),
            Err(_) => Err(format!(
                "{e} (POST an audit.k8s.io/v1 EventList, as the webhook backend does, or one Event)"
            )),
        },
        Err(e) => Err(e.to_string()),
    }
}

/// One MinIO audit entry or several, separated by whitespace (MinIO's batches are JSON lines).
pub(crate) fn decode_storage(body: &[u8]) -> Result<Decoded, String> {
    normalize::minio_entries(body)
        .map(split)
        .map_err(|e| e.to_string())
}

fn reject_all(d: &Decoded) -> String {
    let first = d
        .rejected
        .first()
        .map(|(_, e)| e.as_str())
        .unwrap_or_default();
    if d.rejected.len() == 1 {
        format!("no event could be read: {first}")
    } else {
        format!(
            "none of the {} events could be read; the first: {first}",
            d.rejected.len()
        )
    }
}

/// The 5 minutes beyond which an event's time counts as skewed (in the metric only).
const SKEW_NS: i64 = 300_000_000_000;

/// Authenticates, reads the body (at most `max_body` bytes), decodes it with `decode`, resolves
/// models, appends the whole batch, and answers.
async fn write<F>(s: Arc<Receiver>, req: Request, source: Source, decode: F) -> Response
where
    F: FnOnce(&Receiver, &HeaderMap, Bytes) -> Result<Decoded, String> + Send + 'static,
{
    let resp = write_inner(&s, req, source, decode).await;
    s.metrics.request(source, resp.status().as_u16());
    resp
}

async fn write_inner<F>(s: &Arc<Receiver>, req: Request, source: Source, decode: F) -> Response
where
    F: FnOnce(&Receiver, &HeaderMap, Bytes) -> Result<Decoded, String> + Send + 'static,
{
    let peer = req.extensions().get::<Peer>().copied().unwrap_or_default();
    let authz = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    match s.settings.auth.decide(peer, authz, source) {
        Decision::Allowed(_) => {}
        Decision::Unauthenticated(m) => {
            let mut r = error(StatusCode::UNAUTHORIZED, m);
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            return r;
        }
        Decision::Forbidden(m) => return error(StatusCode::FORBIDDEN, m),
    }
    let Ok(_permit) = s.in_flight.acquire().await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    };
    let max = s.settings.max_body;
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over the {max}-byte limit (--max-body)"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return too_large();
    }
    let (parts, body) = req.into_parts();
    let body = match http_body_util::Limited::new(body, max).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return too_large(),
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("reading the body: {e}")),
    };
    let headers = parts.headers;
    let st = s.clone();
    // Decoding, model resolution and the store encoding (canonical bytes, leaf hash) run on a
    // blocking worker, in parallel across requests; the appending thread only writes.
    let work = tokio::task::spawn_blocking(move || {
        let mut d = decode(&st, &headers, body)?;
        if d.records.is_empty() && !d.rejected.is_empty() {
            return Err(reject_all(&d));
        }
        st.resolve_models(&mut d.records);
        let now_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let skewed = d
            .records
            .iter()
            .filter(|r| r.time_ns > now_ns.saturating_add(SKEW_NS))
            .count();
        let encoded: Vec<Encoded> = d.records.iter().map(Encoded::new).collect();
        Ok((encoded, d.rejected, skewed))
    });
    let (encoded, rejected, skewed) = match work.await {
        Ok(Ok(d)) => d,
        Ok(Err(m)) => {
            tracing::warn!(source = source.as_str(), error = %m, "batch refused, nothing written");
            return error(StatusCode::BAD_REQUEST, m);
        }
        Err(e) => {
            tracing::error!(error = %e, source = source.as_str(), "the batch's task failed");
            return error(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        }
    };
    let count = encoded.len();
    let start = Instant::now();
    let committed = if count == 0 {
        Ok(None)
    } else {
        s.committer.append(encoded).await.map(Some)
    };
    let committed = match committed {
        Ok(c) => c,
        Err(e) if e.unavailable => {
            s.set_ready(false);
            tracing::warn!(source = source.as_str(), error = %e.message, "store unavailable; the sender will retry");
            let mut r = error(StatusCode::SERVICE_UNAVAILABLE, e.message);
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            return r;
        }
        Err(e) => {
            tracing::error!(source = source.as_str(), error = %e.message, "append failed");
            return error(StatusCode::INTERNAL_SERVER_ERROR, e.message);
        }
    };
    s.set_ready(true);
    if count > 0 {
        s.metrics
            .append_seconds
            .observe(start.elapsed().as_secs_f64());
    }
    s.metrics.events(source, "stored", count);
    s.metrics.events(source, "rejected", rejected.len());
    if skewed > 0 {
        s.metrics
            .skewed
            .get_or_create(&vec![("source".to_owned(), source.as_str().to_owned())])
            .inc_by(skewed as u64);
    }
    for (i, e) in &rejected {
        tracing::warn!(source = source.as_str(), item = i, error = %e, "event rejected, not stored");
    }
    let rejected: Vec<serde_json::Value> = rejected
        .iter()
        .map(|(i, e)| serde_json::json!({"item": i, "error": e}))
        .collect();
    let mut body = serde_json::json!({
        "stored": count,
        "appended": 0,
        "duplicates": 0,
        "rejected": rejected,
    });
    match committed {
        None => {}
        Some(c) => {
            match c.exact {
                Some(x) => {
                    body["appended"] = x.appended.into();
                    body["duplicates"] = x.duplicates.into();
                }
                None => {
                    body["appended"] = serde_json::Value::Null;
                    body["duplicates"] = serde_json::Value::Null;
                }
            }
            if c.batches > 1 {
                body["group"] = serde_json::json!({
                    "batches": c.batches,
                    "appended": c.group.appended,
                    "duplicates": c.group.duplicates,
                });
            }
        }
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
