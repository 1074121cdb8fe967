//! The audit trail's receiver: an HTTPS endpoint for the Kubernetes API server's audit webhook
//! backend, MinIO's audit webhook and KServe's inference logger, and a follower of the API
//! server's log backend file ([`ingest_file`]). Events are normalized
//! ([`mlguard_audit::trail::normalize`]), their models resolved, and whole batches appended to
//! an audit [`Store`]; a sender gets its 2xx only once its batch is durable.
//!
//! Owns: the routes and their status codes ([`router`]), authentication ([`auth`]: bearer
//! tokens, client certificates), the server loop with mTLS or plain HTTP on loopback
//! ([`serve`]), the checkpoint timer ([`checkpoints`]), the model map file ([`load_model_map`]),
//! the receiver's metrics.
//!
//! Must not: store, deduplicate or sign (the store does: appends are idempotent on
//! (source, event id, stage, time)), parse event formats (the normalizers do), read flags.
//!
//! # Routes
//!
//! | route | body | success |
//! |---|---|---|
//! | `POST /v1/k8s` | an `audit.k8s.io/v1` `EventList` (the webhook backend), or one `Event` | 200 |
//! | `POST /v1/storage` | one MinIO audit entry, or several separated by whitespace (JSON lines) | 200 |
//! | `POST /v1/inference` | one KServe inference logger CloudEvent, binary or structured mode | 200 |
//! | `GET /healthz` | | 200 while the process can serve; 503 once the store must be reopened |
//! | `GET /readyz` | | 200 while the store answers, else 503 |
//! | `GET /metrics` | | Prometheus text |
//!
//! A 200 carries `{"stored": N, "appended": N, "duplicates": N, "rejected": [{"item": I,
//! "error": "..."}]}`: `duplicates` were already stored (a retried batch), `rejected` are the
//! items of a batch that could not be read, which are logged and counted but not stored (the
//! others are). Concurrent batches are appended together (group commit, [`commit`]); see there
//! for when `appended` and `duplicates` are only known for the group. Errors are
//! `{"error": "..."}`: 400 a body that cannot be read at all or whose every item is unreadable
//! (nothing written), 401 no or a wrong credential, 403 a token that may not write this source,
//! 404 an unknown route, 405 a wrong method, 413 a body over the limit, 500 a store error that is
//! not an outage, 503 the store is unavailable (nothing written; the sender retries).

pub mod auth;
pub mod commit;
mod handlers;
pub mod ingest_file;

pub use handlers::router;

use mlguard_audit::store::Store;
use mlguard_audit::trail::normalize::{ModelMap, ModelMapConfig};
pub use mlguard_audit::trail::record::Source;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The default body limit (`--max-body`): a full API server batch of 400 events at the
/// `RequestResponse` level fits.
pub const DEFAULT_MAX_BODY: usize = 32 << 20;

/// Write requests read and processed at once; more wait (their connections stay open).
pub const MAX_IN_FLIGHT: usize = 32;

/// `k8s`, `storage` or `inference`.
pub fn parse_source(s: &str) -> Option<Source> {
    match s {
        "k8s" => Some(Source::K8s),
        "storage" => Some(Source::Storage),
        "inference" => Some(Source::Inference),
        _ => None,
    }
}

/// Plain HTTP (`--insecure-loopback`) is only served on a loopback address: anything else
/// would put audit events and tokens on the network in clear text.
pub fn check_plain_listen(addr: std::net::SocketAddr) -> Result<(), String> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(format!(
            "--insecure-loopback serves plain HTTP, so only on a loopback address \
             (127.0.0.1 or [::1]), not {addr}; give --tls-cert and --tls-key to listen there"
        ))
    }
}

/// How the receiver reads requests.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The largest body accepted, in bytes; larger is a 413.
    pub max_body: usize,
    /// The request headers (as KServe's logger copies them into the `metadata` extension) that
    /// name the caller of an inference request, in order of preference.
    pub identity_headers: Vec<String>,
    pub auth: auth::Auth,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_body: DEFAULT_MAX_BODY,
            identity_headers: Vec::new(),
            auth: auth::Auth::default(),
        }
    }
}

type Labels = Vec<(String, String)>;

/// Prometheus metrics of the receiver (prefix `mlguard_audit`).
pub struct Metrics {
    registry: Registry,
    events: Family<Labels, Counter>,
    appended: Counter,
    duplicates: Counter,
    group: Histogram,
    requests: Family<Labels, Counter>,
    append_seconds: Histogram,
    checkpoints: Counter,
    skewed: Family<Labels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("mlguard_audit");
        let events = Family::<Labels, Counter>::default();
        registry.register(
            "events",
            "Events received, by source and result (stored: durable, newly or already; rejected: unreadable, not stored)",
            events.clone(),
        );
        let appended = Counter::default();
        registry.register("appended", "Records the store appended", appended.clone());
        let duplicates = Counter::default();
        registry.register(
            "duplicates",
            "Records the store skipped as already stored (retried batches)",
            duplicates.clone(),
        );
        let group = Histogram::new(exponential_buckets(1.0, 2.0, 8));
        registry.register(
            "commit_batches",
            "Batches committed together in one store append (group commit)",
            group.clone(),
        );
        let requests = Family::<Labels, Counter>::default();
        registry.register(
            "requests",
            "Write requests (batches), by source and HTTP status code",
            requests.clone(),
        );
        // 100 us .. about 3 s.
        let append_seconds = Histogram::new(exponential_buckets(0.000_1, 2.0, 16));
        registry.register(
            "append_duration_seconds",
            "Time from handing a batch to the store until it is durable (with the wait for its group commit)",
            append_seconds.clone(),
        );
        let checkpoints = Counter::default();
        registry.register(
            "checkpoints",
            "Checkpoints signed by the timer",
            checkpoints.clone(),
        );
        let skewed = Family::<Labels, Counter>::default();
        registry.register(
            "clock_skewed_events",
            "Events stamped more than 5 minutes in the receiver's future (stored with their own time)",
            skewed.clone(),
        );
        Metrics {
            registry,
            events,
            appended,
            duplicates,
            group,
            requests,
            append_seconds,
            checkpoints,
            skewed,
        }
    }
}

impl Metrics {
    fn events(&self, source: Source, result: &str, n: usize) {
        if n > 0 {
            self.events
                .get_or_create(&vec![
                    ("source".to_owned(), source.as_str().to_owned()),
                    ("result".to_owned(), result.to_owned()),
                ])
                .inc_by(n as u64);
        }
    }

    fn request(&self, source: Source, code: u16) {
        self.requests
            .get_or_create(&vec![
                ("source".to_owned(), source.as_str().to_owned()),
                ("code".to_owned(), code.to_string()),
            ])
            .inc();
    }

    /// The OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut s = String::new();
        let _ = encode(&mut s, &self.registry);
        s
    }
}

/// What the handlers share.
pub struct Receiver {
    store: Arc<dyn Store>,
    committer: commit::Committer,
    /// Bounds the write requests read and processed at once (memory: at most this many bodies
    /// of `max_body`); others wait their turn.
    in_flight: tokio::sync::Semaphore,
    models: Mutex<ModelMap>,
    pub settings: Settings,
    pub metrics: Metrics,
    ready: AtomicBool,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    pub fn new(store: Arc<dyn Store>, models: ModelMap, settings: Settings) -> Receiver {
        let metrics = Metrics::default();
        let counters = commit::Counters {
            appended: metrics.appended.clone(),
            duplicates: metrics.duplicates.clone(),
            batches: metrics.group.clone(),
        };
        Receiver {
            committer: commit::Committer::start(store.clone(), counters),
            store,
            in_flight: tokio::sync::Semaphore::new(MAX_IN_FLIGHT),
            models: Mutex::new(models),
            settings,
            metrics,
            ready: AtomicBool::new(true),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Whether the store answered the last time it was used.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// Resolves the models of `records` and learns what they show (see
    /// [`ModelMap::resolve`]).
    pub fn resolve_models(&self, records: &mut [mlguard_audit::trail::record::Record]) {
        let mut map = self
            .models
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for r in records {
            if let Some(b) = map.resolve(r) {
                map.learn(&b);
            }
        }
    }
}

/// Reads a model map file (YAML or JSON, the keys of [`ModelMapConfig`]: `prefixes`,
/// `inferenceServices`) and checks it.
pub fn load_model_map(path: &Path) -> Result<ModelMap, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_model_map(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses model map text (see [`load_model_map`]).
pub fn parse_model_map(text: &str) -> Result<ModelMap, String> {
    let stream = mlguard_core::yaml::parse_stream(text, mlguard_core::yaml::Limits::default());
    if let Some(e) = stream.error {
        return Err(format!(
            "line {}, column {}: {}",
            e.pos.line, e.pos.column, e.message
        ));
    }
    let config: ModelMapConfig = match stream.documents.as_slice() {
        [] => ModelMapConfig::default(),
        [doc] if doc.root.is_null() => ModelMapConfig::default(),
        [doc] => serde_json::from_value(doc.root.to_json()).map_err(|e| {
            format!(
                "{e} (the model map has `prefixes: [{{prefix, model}}]` and \
                 `inferenceServices: [{{namespace?, name, model}}]`)"
            )
        })?,
        _ => return Err("expected one YAML document, found several".into()),
    };
    ModelMap::new(&config).map_err(|e| e.to_string())
}

/// A rustls server configuration over `certs`; with `client_ca`, client certificates are
/// verified against it (and clients without one may still connect, for probes and tokens).
pub fn server_config(
    certs: Arc<crate::tls::ReloadingCert>,
    client_ca: Option<&Path>,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let mut cfg = match client_ca {
        Some(ca) => builder
            .with_client_cert_verifier(auth::client_verifier(ca).map_err(|e| e.to_string())?)
            .with_cert_resolver(certs),
        None => builder.with_no_client_auth().with_cert_resolver(certs),
    };
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Calls [`Store::checkpoint_if_due`] every `every` until the task is dropped, logging the
/// checkpoints it signs and keeping `/readyz` in step with the store.
pub async fn checkpoints(state: Arc<Receiver>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let st = state.clone();
        match tokio::task::spawn_blocking(move || st.store.checkpoint_if_due()).await {
            Ok(Ok(signed)) => {
                state.set_ready(true);
                if let Some(cp) = signed {
                    state.metrics.checkpoints.inc();
                    let mut lines = cp.lines();
                    let origin = lines.next().unwrap_or_default();
                    let size = lines.next().unwrap_or_default();
                    tracing::info!(origin, size, "checkpoint signed");
                }
            }
            Ok(Err(e)) => {
                if e.is_unavailable() {
                    state.set_ready(false);
                }
                tracing::warn!(error = %e, "checkpoint not signed");
            }
            Err(e) => tracing::error!(error = %e, "checkpoint task failed"),
        }
    }
}

/// Drops the payloads of records older than `keep_ns` (event time) now and every hour
/// (`--retain`); leaf hashes stay, so the log still verifies.
pub async fn retention(log: Arc<dyn mlguard_audit::store::Log>, keep_ns: i64) {
    loop {
        let l = log.clone();
        let res = tokio::task::spawn_blocking(move || {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
            l.retain(mlguard_audit::store::retain::cutoff(now, keep_ns))
        })
        .await;
        match res {
            Ok(Ok(n)) if n > 0 => tracing::info!(expired = n, "retention dropped payloads"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "retention failed; retrying in an hour"),
            Err(e) => tracing::error!(error = %e, "retention task failed"),
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

/// How long a request's headers may take to arrive.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long in-flight requests may take to finish after shutdown starts.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(25);

/// Serves `app` on `listener`, over TLS with `tls` or plain HTTP without (the caller checks the
/// address is a loopback one), until `shutdown` resolves; then stops accepting, lets the
/// requests in flight finish (at most [`DRAIN_TIMEOUT`]: a batch being appended is answered)
/// and returns. Each request carries the connection's [`auth::Peer`] as an extension.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let Some(acceptor) = acceptor else {
                serve_connection(tcp, app, auth::Peer::default(), watcher, peer).await;
                return;
            };
            let Some(tls) = crate::tls::handshake(&acceptor, tcp, peer).await else {
                return;
            };
            let client_cert = tls
                .get_ref()
                .1
                .peer_certificates()
                .is_some_and(|c| !c.is_empty());
            serve_connection(tls, app, auth::Peer { client_cert }, watcher, peer).await;
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the drain timeout; closing them");
    }
    Ok(())
}

async fn serve_connection<I>(
    io: I,
    app: axum::Router,
    who: auth::Peer,
    watcher: hyper_util::server::graceful::Watcher,
    peer: std::net::SocketAddr,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use tower::ServiceExt;
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(who);
            app.clone().oneshot(req.map(axum::body::Body::new))
        });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(hyper_util::rt::TokioIo::new(io), service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}
