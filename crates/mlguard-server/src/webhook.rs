//! The webhook's HTTP routes (axum): `POST /validate` (AdmissionReview in and out),
//! `POST /mutate` (the opt-in mutations of [`crate::mutate`] as a JSON patch; never denies),
//! `GET /healthz`, `GET /readyz`, `GET /metrics`. Errors are uniform JSON,
//! `{"error": {"code": N, "message": "..."}}`; a body that is not an AdmissionReview request
//! (too large, not JSON, wrong type, no request) is a 400 with the reason. Served on a
//! multi-threaded runtime ([`serve`]), judging runs on the judging threads, off the async
//! runtime (or inline with `MLGUARD_WEBHOOK_JUDGE=inline`); served per core
//! ([`serve_per_thread`]), each thread judges its own connections' requests inline, and
//! [`Balance`] spreads new connections over the threads.

use crate::admission::{decode, respond, Decision, Judge, MAX_BODY};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http_body_util::BodyExt;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::{Arc, RwLock};
use std::time::Instant;

type Labels = Vec<(String, String)>;

/// Prometheus metrics of the webhook.
pub struct Metrics {
    registry: Registry,
    latency: Histogram,
    decisions: Family<Labels, Counter>,
    findings: Family<Labels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("mlguard_webhook");
        // 50 us .. about 1.6 s.
        let latency = Histogram::new(exponential_buckets(0.000_05, 2.0, 16));
        registry.register(
            "request_duration_seconds",
            "Time to answer one AdmissionReview",
            latency.clone(),
        );
        let decisions = Family::<Labels, Counter>::default();
        registry.register(
            "decisions",
            "Admission decisions by namespace, mode and outcome (allowed, denied, invalid)",
            decisions.clone(),
        );
        let findings = Family::<Labels, Counter>::default();
        registry.register(
            "findings",
            "Findings on admitted or denied objects, by control and namespace",
            findings.clone(),
        );
        Metrics {
            registry,
            latency,
            decisions,
            findings,
        }
    }
}

impl Metrics {
    fn record(&self, namespace: &str, d: &Decision) {
        let outcome = if d.allowed { "allowed" } else { "denied" };
        self.decisions
            .get_or_create(&vec![
                ("namespace".to_owned(), namespace.to_owned()),
                ("mode".to_owned(), d.mode.as_str().to_owned()),
                ("outcome".to_owned(), outcome.to_owned()),
            ])
            .inc();
        for f in &d.findings {
            self.findings
                .get_or_create(&vec![
                    ("control".to_owned(), f.control.clone()),
                    ("namespace".to_owned(), namespace.to_owned()),
                ])
                .inc();
        }
    }

    fn invalid(&self) {
        self.decisions
            .get_or_create(&vec![("outcome".to_owned(), "invalid".to_owned())])
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
#[derive(Debug, Default)]
pub struct AppState {
    /// Replaced whole when the context changes; a request keeps the one it started with.
    judge: RwLock<Arc<Judge>>,
    pub metrics: Metrics,
    /// The mutations `/mutate` makes (none by default: it then allows without a patch).
    pub mutations: crate::mutate::Mutations,
    /// False until the context is loaded (in cluster: until every watch has listed).
    ready: std::sync::atomic::AtomicBool,
}

impl AppState {
    pub fn new(judge: Judge) -> Self {
        AppState {
            judge: RwLock::new(Arc::new(judge)),
            metrics: Metrics::default(),
            mutations: crate::mutate::Mutations::default(),
            ready: std::sync::atomic::AtomicBool::new(true),
        }
    }

    /// Whether `/readyz` says ready (and admission requests are judged).
    pub fn is_ready(&self) -> bool {
        self.ready.load(std::sync::atomic::Ordering::Acquire)
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready
            .store(ready, std::sync::atomic::Ordering::Release);
    }

    /// Judge against `context` from now on, with the same settings.
    pub fn set_context(&self, context: crate::admission::Context) {
        let judge = self.judge().with_context(context);
        self.set_judge(judge);
    }

    pub fn judge(&self) -> Arc<Judge> {
        self.judge
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Judge with a new context from now on.
    pub fn set_judge(&self, judge: Judge) {
        *self
            .judge
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(judge);
    }
}

/// A uniform JSON error.
pub fn error(code: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::json!({"error": {"code": code.as_u16(), "message": message.into()}});
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/validate", post(validate))
        .route("/mutate", post(mutate))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such route") })
        .with_state(state)
}

async fn metrics(State(s): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
        .into_response()
}

/// Read at most `MAX_BODY` bytes of the body; more is a 400 (not a 413: the API server shows
/// the message).
async fn read_body(body: Body) -> Result<Bytes, Response> {
    let limited = http_body_util::Limited::new(body, MAX_BODY);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(error(
            StatusCode::BAD_REQUEST,
            format!("the body is over the {MAX_BODY}-byte limit"),
        )),
        Err(e) => Err(error(
            StatusCode::BAD_REQUEST,
            format!("reading the body: {e}"),
        )),
    }
}

/// Read the body, run `work` on it on the blocking pool, and answer: its bytes as JSON, a 400
/// with its error, or a 500 if it panicked; counting invalid requests and the latency.
async fn answer<F>(s: Arc<AppState>, req: Request, what: &'static str, work: F) -> Response
where
    F: FnOnce(Bytes) -> Result<Vec<u8>, String> + Send + 'static,
{
    let start = Instant::now();
    if !s.is_ready() {
        // No decision against a partial context: the API server applies the failurePolicy.
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the context is still loading",
        );
    }
    let resp = match read_body(req.into_body()).await {
        Err(r) => {
            s.metrics.invalid();
            r
        }
        Ok(body) => match judge(move || work(body)).await {
            Ok(Ok(out)) => ([(header::CONTENT_TYPE, "application/json")], out).into_response(),
            Ok(Err(e)) => {
                s.metrics.invalid();
                error(StatusCode::BAD_REQUEST, e)
            }
            Err(()) => {
                tracing::error!("{what} panicked");
                error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        },
    };
    s.metrics.latency.observe(start.elapsed().as_secs_f64());
    resp
}

async fn readyz(State(s): State<Arc<AppState>>) -> Response {
    if s.is_ready() {
        "ok".into_response()
    } else {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the context is still loading",
        )
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The judging threads' queue: a job is pushed and exactly one idle thread is woken for it.
/// (A shared `mpsc::Receiver` behind a mutex woke two: the thread waiting in `recv`, and,
/// when it let go of the mutex, the next one, only to wait in `recv` in its turn.)
struct Judges {
    jobs: std::sync::Mutex<std::collections::VecDeque<Job>>,
    ready: std::sync::Condvar,
}

impl Judges {
    fn submit(&self, job: Job) {
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(job);
        self.ready.notify_one();
    }

    fn next(&self) -> Job {
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(job) = jobs.pop_front() {
                return job;
            }
            jobs = self.ready.wait(jobs).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// The judging threads: one per core, taking decisions from one queue. A decision is CPU
/// work of a few hundred microseconds; a fixed set of threads parked on the queue when idle
/// beats both tokio's blocking pool (which grows a thread per request in flight, and the
/// switches between them cost more than the decisions) and rayon's pool (whose idle
/// threads spin). A decision's checks run inline (a focused scan does not join them on
/// rayon's pool), and its parallel steps over fewer than `mlguard_core::PAR_MIN` items run
/// inline too, so a decision stays on its thread. A job runs outside the
/// queue's lock and catches its own panic, so the threads live as long as the process.
fn judges() -> Option<&'static Judges> {
    static QUEUE: Judges = Judges {
        jobs: std::sync::Mutex::new(std::collections::VecDeque::new()),
        ready: std::sync::Condvar::new(),
    };
    static STARTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let started = *STARTED.get_or_init(|| {
        let n = std::thread::available_parallelism().map_or(2, usize::from);
        let mut started = 0;
        for i in 0..n {
            let spawned = std::thread::Builder::new()
                .name(format!("mlguard-judge-{i}"))
                .spawn(|| loop {
                    (QUEUE.next())()
                });
            match spawned {
                Ok(_) => started += 1,
                Err(e) => tracing::error!(error = %e, "cannot start a judging thread"),
            }
        }
        started > 0
    });
    started.then_some(&QUEUE)
}

/// Where decisions run: on the judging threads (the default), or inline on the thread that
/// read the request: on [`serve_per_thread`]'s threads, and on the async runtime's workers
/// when `MLGUARD_WEBHOOK_JUDGE=inline` (no hand-off between threads; a decision then holds
/// its thread for its few tens of microseconds).
fn inline() -> bool {
    static INLINE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    SERVING_THREAD.get()
        || *INLINE.get_or_init(|| {
            std::env::var("MLGUARD_WEBHOOK_JUDGE").is_ok_and(|v| v.eq_ignore_ascii_case("inline"))
        })
}

thread_local! {
    /// Whether this is one of [`serve_per_thread`]'s threads, whose decisions run inline.
    static SERVING_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Serve `app` over TLS on `threads` threads, each with its own single-threaded runtime and
/// keeping the connections handed to it: a request is read, judged and answered on one
/// thread, with no hand-off between threads (decisions run inline). New connections are
/// accepted on the first thread and handed to the thread with the fewest open (see
/// [`Balance`]). Until `shutdown` holds `true`; then each thread drains as [`serve`] does.
pub fn serve_per_thread(
    listener: std::net::TcpListener,
    threads: usize,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    serve_balanced(listener, Balance::new(threads), tls, app, shutdown)
}

/// [`serve_per_thread`] on as many threads as `balance` spreads connections over (tests read
/// the balance to see where connections went).
pub fn serve_balanced(
    listener: std::net::TcpListener,
    balance: Arc<Balance>,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    // A thread that cannot serve stops the others: the call then returns its error at once,
    // rather than serving on fewer threads (or none) until shutdown.
    let (abort, aborted) = tokio::sync::watch::channel(false);
    let abort = Arc::new(abort);
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..balance.threads())
        .map(|_| tokio::sync::mpsc::unbounded_channel())
        .unzip();
    // The first thread accepts for all.
    let mut accepting = Some(Acceptor {
        listener,
        balance,
        threads: senders,
    });
    let mut handles = Vec::new();
    let mut result = Ok(());
    for (i, rx) in receivers.into_iter().enumerate() {
        let (tls, app, shutdown, aborted, stop_all) = (
            tls.clone(),
            app.clone(),
            shutdown.clone(),
            aborted.clone(),
            abort.clone(),
        );
        let acceptor = accepting.take();
        let started = std::thread::Builder::new()
            .name(format!("mlguard-serve-{i}"))
            .spawn(move || -> std::io::Result<()> {
                SERVING_THREAD.set(true);
                let run = || -> std::io::Result<()> {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    rt.block_on(async move {
                        if let Some(a) = acceptor {
                            let listener = tokio::net::TcpListener::from_std(a.listener)?;
                            tokio::spawn(accept_for_all(
                                listener,
                                a.balance,
                                a.threads,
                                stop_on(shutdown.clone(), aborted.clone()),
                            ));
                        }
                        serve_from(Handed(rx), tls, app, stop_on(shutdown, aborted)).await
                    })
                };
                let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
                    .unwrap_or_else(|_| Err(std::io::Error::other("a serving thread panicked")));
                if let Err(e) = &served {
                    tracing::error!(thread = i, error = %e, "a serving thread stopped; stopping the others");
                    let _ = stop_all.send(true);
                }
                served
            });
        match started {
            Ok(h) => handles.push(h),
            Err(e) => {
                let _ = abort.send(true);
                result = Err(e);
                break;
            }
        }
    }
    for h in handles {
        let joined = h
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("a serving thread panicked")));
        if result.is_ok() {
            result = joined;
        }
    }
    result
}

/// How connections are spread over the serving threads of [`serve_per_thread`]: a new one
/// goes to the thread with the fewest open connections (of those, the first after the one
/// chosen last), as Envoy's `exact_balance` does. Left to the kernel (every thread accepting
/// on the shared socket), whichever thread wakes first takes a connection: 16 connections
/// opened at once were seen split 11 to 5, and the thread with 11 then queues its requests
/// behind each other while the other waits (docs/webhook.md).
#[derive(Debug)]
pub struct Balance {
    open: Box<[std::sync::atomic::AtomicUsize]>,
    last: std::sync::atomic::AtomicUsize,
}

impl Balance {
    /// A balance over `threads` threads (at least one).
    pub fn new(threads: usize) -> Arc<Balance> {
        Arc::new(Balance {
            open: (0..threads.max(1)).map(|_| Default::default()).collect(),
            last: std::sync::atomic::AtomicUsize::new(threads.max(1) - 1),
        })
    }

    pub fn threads(&self) -> usize {
        self.open.len()
    }

    /// Open connections per thread.
    pub fn open(&self) -> Vec<usize> {
        use std::sync::atomic::Ordering::Relaxed;
        self.open.iter().map(|n| n.load(Relaxed)).collect()
    }

    /// The thread for a new connection, counted open on it until the guard is dropped.
    /// Called by the one accepting task; closes are counted from any thread.
    fn assign(self: &Arc<Self>) -> OpenConnection {
        use std::sync::atomic::Ordering::Relaxed;
        let n = self.open.len();
        let after = self.last.load(Relaxed);
        let thread = (1..=n)
            .map(|k| (after + k) % n)
            .min_by_key(|&t| self.open[t].load(Relaxed))
            .unwrap_or(0);
        self.last.store(thread, Relaxed);
        self.open[thread].fetch_add(1, Relaxed);
        OpenConnection {
            balance: self.clone(),
            thread,
        }
    }
}

/// A connection counted open on its thread in a [`Balance`] while this lives.
#[derive(Debug)]
struct OpenConnection {
    balance: Arc<Balance>,
    thread: usize,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.balance.open[self.thread].fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// What the accepting thread is given: the socket, the balance, and a way to each thread.
struct Acceptor {
    listener: std::net::TcpListener,
    balance: Arc<Balance>,
    threads: Vec<HandOff>,
}

/// A connection on its way to its serving thread.
type HandOff =
    tokio::sync::mpsc::UnboundedSender<(std::net::TcpStream, std::net::SocketAddr, OpenConnection)>;

/// Accept until `stop`, handing each connection to the thread [`Balance::assign`] picks. The
/// socket closes when this ends. A connection is registered with the accepting thread's
/// reactor, then moved to its thread's as a std stream.
async fn accept_for_all(
    mut listener: tokio::net::TcpListener,
    balance: Arc<Balance>,
    threads: Vec<HandOff>,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut stop = std::pin::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            c = Incoming::next(&mut listener) => match c {
                Some((tcp, peer, ())) => (tcp, peer),
                None => break,
            },
            () = &mut stop => break,
        };
        // Out of this thread's reactor, to be registered with its own thread's.
        let tcp = match tcp.into_std() {
            Ok(tcp) => tcp,
            Err(e) => {
                tracing::debug!(%peer, error = %e, "cannot hand the connection over");
                continue;
            }
        };
        let open = balance.assign();
        // A thread that has stopped takes no more; the connection is then closed.
        let _ = threads[open.thread].send((tcp, peer, open));
    }
}

/// SIGTERM (the kubelet) or Ctrl-C.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = term => {},
    }
}

/// [`serve_per_thread`] on one thread per core, from async code: serves until `shutdown`
/// resolves, then drains; returns early, with the error, if a serving thread fails.
pub async fn serve_per_core(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let listener = listener.into_std()?;
    let mut serving =
        tokio::task::spawn_blocking(move || serve_per_thread(listener, threads, tls, app, stopped));
    // The serving threads end before `shutdown` only when they fail.
    let served = tokio::select! {
        () = shutdown => {
            let _ = stop.send(true);
            serving.await
        }
        r = &mut serving => r,
    };
    served.map_err(std::io::Error::other)?
}

/// Resolves when `shutdown` or `aborted` holds `true` (or its sender is gone).
async fn stop_on(
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    mut aborted: tokio::sync::watch::Receiver<bool>,
) {
    tokio::select! {
        _ = shutdown.wait_for(|stop| *stop) => {}
        _ = aborted.wait_for(|stop| *stop) => {}
    }
}

/// Run `f` where decisions run (see [`inline`]). A panic is caught and reported as `Err`.
async fn judge<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ()> {
    if inline() {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|_| ())
    } else {
        off_runtime(f).await
    }
}

/// Run `f` off the async runtime, on a judging thread. A panic is caught and reported as
/// `Err`, and the thread lives on.
async fn off_runtime<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ()> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(out);
    });
    match judges() {
        Some(judges) => judges.submit(job),
        None => return Err(()),
    }
    match rx.await {
        Ok(Ok(v)) => Ok(v),
        _ => Err(()),
    }
}

async fn mutate(State(s): State<Arc<AppState>>, req: Request) -> Response {
    let state = s.clone();
    answer(s, req, "mutating", move |body| {
        let req = decode(&body).map_err(|e| e.to_string())?;
        let ops = crate::admission::mutations(&req, &state.mutations);
        let review = crate::admission::respond_patch(&req, ops)?;
        Ok(review.to_string().into_bytes())
    })
    .await
}

async fn validate(State(s): State<Arc<AppState>>, req: Request) -> Response {
    let state = s.clone();
    answer(s, req, "judging", move |body| {
        let req = decode(&body).map_err(|e| e.to_string())?;
        let d = state.judge().decide(&req);
        state
            .metrics
            .record(req.namespace.as_deref().unwrap_or_default(), &d);
        Ok(serde_json::to_vec(&respond(&req, &d)).unwrap_or_default())
    })
    .await
}

/// How long in-flight requests may take to finish after shutdown starts.
pub const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(25);

/// Serve `app` over TLS on `listener` until `shutdown` resolves; then stop accepting, let the
/// requests in flight finish (at most [`DRAIN_TIMEOUT`]) and return.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    serve_from(listener, tls, app, shutdown).await
}

/// Where [`serve_from`] takes its connections from: a listening socket, or the thread that
/// accepts for all ([`serve_per_thread`]).
trait Incoming {
    /// What a connection holds while it is open.
    type Hold: Send + 'static;
    /// The next connection; None when no more will come.
    async fn next(&mut self) -> Option<(tokio::net::TcpStream, std::net::SocketAddr, Self::Hold)>;
    /// The connections already on their way, once no more are taken (they are served too).
    fn rest(&mut self) -> Vec<(tokio::net::TcpStream, std::net::SocketAddr, Self::Hold)> {
        Vec::new()
    }
}

impl Incoming for tokio::net::TcpListener {
    type Hold = ();
    async fn next(&mut self) -> Option<(tokio::net::TcpStream, std::net::SocketAddr, ())> {
        loop {
            match self.accept().await {
                Ok((tcp, peer)) => return Some((tcp, peer, ())),
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// The connections the accepting thread hands to this one (non-blocking std streams).
struct Handed(
    tokio::sync::mpsc::UnboundedReceiver<(
        std::net::TcpStream,
        std::net::SocketAddr,
        OpenConnection,
    )>,
);

/// A handed connection on this thread's reactor; None (it is closed) if it cannot be.
fn registered(
    (tcp, peer, open): (std::net::TcpStream, std::net::SocketAddr, OpenConnection),
) -> Option<(tokio::net::TcpStream, std::net::SocketAddr, OpenConnection)> {
    match tokio::net::TcpStream::from_std(tcp) {
        Ok(tcp) => Some((tcp, peer, open)),
        Err(e) => {
            tracing::warn!(%peer, error = %e, "cannot take a handed connection");
            None
        }
    }
}

impl Incoming for Handed {
    type Hold = OpenConnection;
    async fn next(
        &mut self,
    ) -> Option<(tokio::net::TcpStream, std::net::SocketAddr, OpenConnection)> {
        loop {
            if let Some(c) = registered(self.0.recv().await?) {
                return Some(c);
            }
        }
    }
    fn rest(&mut self) -> Vec<(tokio::net::TcpStream, std::net::SocketAddr, OpenConnection)> {
        self.0.close();
        std::iter::from_fn(|| self.0.try_recv().ok())
            .filter_map(registered)
            .collect()
    }
}

/// [`serve`] on the connections `incoming` gives.
async fn serve_from<I: Incoming>(
    mut incoming: I,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut pending = Vec::new();
    loop {
        let conn = tokio::select! {
            c = incoming.next() => match c {
                Some(c) => c,
                None => break,
            },
            () = &mut shutdown => {
                pending = incoming.rest();
                break;
            }
        };
        connection(conn, &acceptor, &app, &graceful);
    }
    for conn in pending {
        connection(conn, &acceptor, &app, &graceful);
    }
    drop(incoming);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the drain timeout; closing them");
    }
    Ok(())
}

/// Serve one connection on its own task: the TLS handshake, then HTTP/1.1 until it closes or
/// the drain ends it. What it holds is dropped when it ends.
fn connection<H: Send + 'static>(
    (tcp, peer, hold): (tokio::net::TcpStream, std::net::SocketAddr, H),
    acceptor: &tokio_rustls::TlsAcceptor,
    app: &Router,
    graceful: &hyper_util::server::graceful::GracefulShutdown,
) {
    let _ = tcp.set_nodelay(true);
    let acceptor = acceptor.clone();
    let app = app.clone();
    let watcher = graceful.watcher();
    tokio::spawn(async move {
        let _hold = hold;
        let Some(tls) = crate::tls::handshake(&acceptor, tcp, peer).await else {
            return;
        };
        let service = hyper_util::service::TowerToHyperService::new(app);
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(tls), service);
        if let Err(e) = watcher.watch(conn).await {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
    });
}
