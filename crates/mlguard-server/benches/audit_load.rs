//! Load generator for `mlguard audit serve` (run by bench/audit-ingest.sh): several connections
//! POST `audit.k8s.io/v1` EventLists of realistic events (about 600 bytes each, unique audit IDs)
//! to `/v1/k8s` over HTTPS (or HTTP) for a while; prints events per second acknowledged (2xx,
//! so durable), batch latency percentiles, and the machine's limit measured in the same run:
//! appending the same bytes to a file with an fsync per batch, as fast as one writer can.
//!
//! ```text
//! cargo bench -p mlguard-server --bench audit_load -- --url https://127.0.0.1:8443 \
//!     --ca certs/ca.crt --token-file tokens.txt --seconds 10 --connections 8 --fsync-dir /tmp
//! ```
//!
//! With `--rate EVENTS_PER_S` the load is an open loop instead: a batch is due every
//! batch/rate seconds whatever the answers, taken by the first free connection of the pool of
//! `--connections`, and its latency counts from when it was due.
//!
//! `--timeline FILE` writes each batch's send (or due) time and latency, in milliseconds from
//! the start, as CSV (`sent_ms,latency_ms`), to see when slow answers happen.
//!
//! Without `--url` it prints how to run it and exits 0 (so `cargo bench` passes by).

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// As the mlguard binary (and the receiver in it).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug)]
struct Args {
    url: String,
    ca: Option<String>,
    token_file: Option<String>,
    seconds: f64,
    connections: usize,
    batch: usize,
    fsync_dir: Option<String>,
    label: String,
    json: bool,
    /// Time normalizing and appending (to a SQLite store in this folder) in process.
    breakdown: Option<String>,
    /// Open loop: offer this many events per second (batches at a fixed interval, whatever
    /// the answers), instead of each connection sending its next batch once answered.
    rate: Option<f64>,
    /// Write each batch's send time and latency (CSV, milliseconds) to this file.
    timeline: Option<String>,
}

fn args() -> Result<Option<Args>, String> {
    let mut a = Args {
        url: String::new(),
        ca: None,
        token_file: None,
        seconds: 10.0,
        connections: 8,
        batch: 400,
        fsync_dir: None,
        label: "serve".into(),
        json: false,
        breakdown: None,
        rate: None,
        timeline: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--bench" => {}
            "--url" => a.url = val("--url")?,
            "--ca" => a.ca = Some(val("--ca")?),
            "--token-file" => a.token_file = Some(val("--token-file")?),
            "--seconds" => {
                a.seconds = val("--seconds")?
                    .parse()
                    .map_err(|e| format!("--seconds: {e}"))?
            }
            "--connections" => {
                a.connections = val("--connections")?
                    .parse()
                    .map_err(|e| format!("--connections: {e}"))?
            }
            "--batch" => {
                a.batch = val("--batch")?
                    .parse()
                    .map_err(|e| format!("--batch: {e}"))?
            }
            "--fsync-dir" => a.fsync_dir = Some(val("--fsync-dir")?),
            "--label" => a.label = val("--label")?,
            "--json" => a.json = true,
            "--breakdown" => a.breakdown = Some(val("--breakdown")?),
            "--timeline" => a.timeline = Some(val("--timeline")?),
            "--rate" => {
                a.rate = Some(
                    val("--rate")?
                        .parse()
                        .map_err(|e| format!("--rate: {e}"))
                        .and_then(|r: f64| {
                            if r > 0.0 {
                                Ok(r)
                            } else {
                                Err("--rate must be above 0".to_string())
                            }
                        })?,
                )
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if a.url.is_empty() && a.breakdown.is_none() {
        return Ok(None);
    }
    Ok(Some(a))
}

/// One realistic event (a service account reading an InferenceService, Metadata level). As the
/// API server makes them: a random (version 4) UUID as the audit ID, here drawn from `run` and
/// `n`, so that the store's key index sees keys all over its range; and times that advance, 20 µs
/// apart (50,000 events/s), from a start that depends on `run`.
fn event(out: &mut String, run: &str, n: u64) {
    use std::fmt::Write as _;
    let ns = ["team-a", "team-b", "ml-platform", "research"][(n % 4) as usize];
    let verb = ["get", "list", "watch", "update", "create"][(n % 5) as usize];
    let seed = run.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let (hi, lo) = (mix(seed ^ n), mix(seed.rotate_left(17) ^ n));
    let micros = (seed % 3_600) * 1_000_000 + n * 20;
    let (s, us) = (micros / 1_000_000, micros % 1_000_000);
    let time = format!(
        "2026-03-02T{:02}:{:02}:{:02}.{us:06}Z",
        (s / 3600) % 24,
        (s / 60) % 60,
        s % 60
    );
    let _ = write!(
        out,
        r#"{{"level":"Metadata","auditID":"{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}","stage":"ResponseComplete","requestURI":"/apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices/llama-{m}","verb":"{verb}","user":{{"username":"system:serviceaccount:{ns}:pipeline-runner","groups":["system:serviceaccounts","system:authenticated"]}},"sourceIPs":["10.12.{a}.{b}"],"userAgent":"kfp-driver/2.3.0","objectRef":{{"resource":"inferenceservices","namespace":"{ns}","name":"llama-{m}","apiGroup":"serving.kserve.io","apiVersion":"v1beta1"}},"responseStatus":{{"metadata":{{}},"code":200}},"requestReceivedTimestamp":"{time}","stageTimestamp":"{time}"}}"#,
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xfff,
        0x8000 | (lo >> 48) & 0x3fff,
        lo & 0xffff_ffff_ffff,
        m = n % 17,
        a = n % 250,
        b = (n / 250) % 250,
    );
}

/// SplitMix64's finalizer: a well-spread 64-bit value from a counter.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn event_list(run: &str, first: u64, batch: usize) -> Vec<u8> {
    let mut s = String::with_capacity(batch * 700 + 100);
    s.push_str(r#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":["#);
    for i in 0..batch as u64 {
        if i > 0 {
            s.push(',');
        }
        event(&mut s, run, first + i);
    }
    s.push_str("]}");
    s.into_bytes()
}

fn tls_config(ca: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).map_err(|e| format!("{ca}: {e}"))? {
        roots
            .add(c.map_err(|e| format!("{ca}: {e}"))?)
            .map_err(|e| format!("{ca}: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(
    host: &str,
    addr: &str,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<Sender, String> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("{addr}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    match tls {
        Some(cfg) => {
            let name = rustls::pki_types::ServerName::try_from(host.to_owned())
                .map_err(|e| e.to_string())?;
            let s = tokio_rustls::TlsConnector::from(cfg)
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            let (send, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(s))
                    .await
                    .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            Ok(send)
        }
        None => {
            let (send, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
                    .await
                    .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            Ok(send)
        }
    }
}

/// POSTs one EventList on `send` (reconnecting first if the connection was closed) and waits
/// for a 2xx.
async fn post(
    send: &mut Sender,
    host: &str,
    addr: &str,
    tls: &Option<Arc<rustls::ClientConfig>>,
    token: Option<&str>,
    body: Vec<u8>,
) -> Result<(), String> {
    let mut req = hyper::Request::post("/v1/k8s")
        .header("host", host)
        .header("content-type", "application/json");
    if let Some(tok) = token {
        req = req.header("authorization", format!("Bearer {tok}"));
    }
    let req = req.body(Full::new(Bytes::from(body))).expect("request");
    if send.ready().await.is_err() {
        *send = connect(host, addr, tls.clone()).await?;
    }
    let resp = send.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("{status}: {}", String::from_utf8_lossy(&body)))
    }
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    /// (when the batch was due or sent, from the start; its latency).
    timeline: Vec<(Duration, Duration)>,
    events: u64,
    errors: u64,
    first_error: Option<String>,
    bytes: u64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The machine's limit: one writer appending `body` to a file with fsync (fdatasync) per batch.
fn fsync_limit(
    dir: &str,
    body: &[u8],
    seconds: f64,
    batch: usize,
) -> Result<(f64, Duration), String> {
    let path =
        std::path::Path::new(dir).join(format!("audit-load-fsync-{}.bin", std::process::id()));
    let mut f = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let start = Instant::now();
    let mut n = 0u64;
    let mut lat = Vec::new();
    while start.elapsed().as_secs_f64() < seconds {
        let t = Instant::now();
        f.write_all(body).map_err(|e| e.to_string())?;
        f.sync_data().map_err(|e| e.to_string())?;
        lat.push(t.elapsed());
        n += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    drop(f);
    let _ = std::fs::remove_file(&path);
    lat.sort();
    Ok((n as f64 * batch as f64 / secs, percentile(&lat, 0.99)))
}

fn main() {
    let a = match args() {
        Ok(Some(a)) => a,
        Ok(None) => {
            eprintln!(
                "audit_load: skipped (give --url; bench/audit-ingest.sh starts the receiver and runs it)"
            );
            return;
        }
        Err(e) => {
            eprintln!("audit_load: {e}");
            std::process::exit(2);
        }
    };
    if let Some(dir) = &a.breakdown {
        breakdown(dir, a.batch);
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let code = rt.block_on(run(a));
    std::process::exit(code);
}

async fn run(a: Args) -> i32 {
    let (tls, rest) = if let Some(r) = a.url.strip_prefix("https://") {
        let Some(ca) = &a.ca else {
            eprintln!("audit_load: https needs --ca");
            return 2;
        };
        match tls_config(ca) {
            Ok(c) => (Some(c), r),
            Err(e) => {
                eprintln!("audit_load: {e}");
                return 2;
            }
        }
    } else if let Some(r) = a.url.strip_prefix("http://") {
        (None, r)
    } else {
        eprintln!("audit_load: --url must start with https:// or http://");
        return 2;
    };
    let addr = rest.trim_end_matches('/').to_owned();
    let host = addr
        .rsplit_once(':')
        .map_or(addr.as_str(), |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let host = if host == "127.0.0.1" || host == "::1" {
        "localhost".to_owned()
    } else {
        host
    };
    let token = match &a.token_file {
        None => None,
        Some(p) => match std::fs::read_to_string(p) {
            Ok(t) => t
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .and_then(|l| l.split_whitespace().next())
                .map(str::to_owned),
            Err(e) => {
                eprintln!("audit_load: {p}: {e}");
                return 2;
            }
        },
    };
    let run_id = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let sample = event_list(&run_id, 0, a.batch);
    let event_bytes = sample.len() as f64 / a.batch as f64;
    // Open loop: the pool's connections are made first, so that their handshakes delay no
    // batch's schedule.
    let pool_size = if a.rate.is_some() { a.connections } else { 0 };
    let mut pool = Vec::new();
    for _ in 0..pool_size {
        match connect(&host, &addr, tls.clone()).await {
            Ok(s) => pool.push(s),
            Err(e) => {
                eprintln!("audit_load: {e}");
                return 2;
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs_f64(a.seconds);
    let next = Arc::new(std::sync::atomic::AtomicU64::new(1_000_000));
    let mut tasks = Vec::new();
    let start = Instant::now();
    // Closed loop (no --rate): each connection sends its next batch once the last is answered.
    let closed_loop = if a.rate.is_some() { 0 } else { a.connections };
    for _ in 0..closed_loop {
        let (tls, host, addr, token, run_id, next) = (
            tls.clone(),
            host.clone(),
            addr.clone(),
            token.clone(),
            run_id.clone(),
            next.clone(),
        );
        let batch = a.batch;
        tasks.push(tokio::spawn(async move {
            let mut t = Tally::default();
            let mut send = match connect(&host, &addr, tls.clone()).await {
                Ok(s) => s,
                Err(e) => {
                    t.errors += 1;
                    t.first_error = Some(e);
                    return t;
                }
            };
            while Instant::now() < deadline {
                let first = next.fetch_add(batch as u64, std::sync::atomic::Ordering::Relaxed);
                let body = event_list(&run_id, first, batch);
                t.bytes += body.len() as u64;
                let t0 = Instant::now();
                let res = post(&mut send, &host, &addr, &tls, token.as_deref(), body).await;
                match res {
                    Ok(()) => {
                        t.latencies.push(t0.elapsed());
                        t.timeline.push((t0 - start, t0.elapsed()));
                        t.events += batch as u64;
                    }
                    Err(e) => {
                        t.errors += 1;
                        if t.first_error.is_none() {
                            t.first_error = Some(e);
                        }
                        if let Ok(s) = connect(&host, &addr, tls.clone()).await {
                            send = s;
                        }
                    }
                }
            }
            t
        }));
    }
    if let Some(rate) = a.rate {
        // Open loop: batch k is due at start + k * interval whatever happened to the others; it
        // waits for a free connection of the pool, and its latency counts from when it was due
        // (so a slow answer delays no measurement: no coordinated omission).
        let pool = Arc::new(std::sync::Mutex::new(pool));
        let permits = Arc::new(tokio::sync::Semaphore::new(a.connections));
        let interval = Duration::from_secs_f64(a.batch as f64 / rate);
        for k in 0u32.. {
            let due = start + interval * k;
            if due >= deadline {
                break;
            }
            tokio::time::sleep_until(due.into()).await;
            let (tls, host, addr, token, run_id, pool, permits) = (
                tls.clone(),
                host.clone(),
                addr.clone(),
                token.clone(),
                run_id.clone(),
                pool.clone(),
                permits.clone(),
            );
            let batch = a.batch;
            tasks.push(tokio::spawn(async move {
                let mut t = Tally::default();
                let Ok(_permit) = permits.acquire_owned().await else {
                    return t;
                };
                let mut send = pool
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .pop()
                    .expect("a permit means a free connection");
                let body = event_list(&run_id, 1_000_000 + u64::from(k) * batch as u64, batch);
                t.bytes += body.len() as u64;
                match post(&mut send, &host, &addr, &tls, token.as_deref(), body).await {
                    Ok(()) => {
                        t.latencies.push(due.elapsed());
                        t.timeline.push((due - start, due.elapsed()));
                        t.events += batch as u64;
                    }
                    Err(e) => {
                        t.errors += 1;
                        t.first_error = Some(e);
                        if let Ok(s) = connect(&host, &addr, tls.clone()).await {
                            send = s;
                        }
                    }
                }
                pool.lock().unwrap_or_else(|p| p.into_inner()).push(send);
                t
            }));
        }
    }
    let mut all = Tally::default();
    for task in tasks {
        if let Ok(t) = task.await {
            all.latencies.extend(t.latencies);
            all.timeline.extend(t.timeline);
            all.events += t.events;
            all.errors += t.errors;
            all.bytes += t.bytes;
            if all.first_error.is_none() {
                all.first_error = t.first_error;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    all.latencies.sort();
    if let Some(path) = &a.timeline {
        all.timeline.sort();
        let mut csv = String::from("sent_ms,latency_ms\n");
        for (at, lat) in &all.timeline {
            csv.push_str(&format!(
                "{:.1},{:.1}\n",
                at.as_secs_f64() * 1e3,
                lat.as_secs_f64() * 1e3
            ));
        }
        if let Err(e) = std::fs::write(path, csv) {
            eprintln!("audit_load: {path}: {e}");
        }
    }
    let rate = all.events as f64 / secs;
    let p50 = percentile(&all.latencies, 0.50);
    let p99 = percentile(&all.latencies, 0.99);
    let max = all.latencies.last().copied().unwrap_or_default();
    let limit = match &a.fsync_dir {
        Some(dir) => match fsync_limit(dir, &sample, a.seconds.min(5.0), a.batch) {
            Ok(l) => Some(l),
            Err(e) => {
                eprintln!("audit_load: fsync limit: {e}");
                None
            }
        },
        None => None,
    };
    if let Some(e) = &all.first_error {
        eprintln!("audit_load: {} failed batches; the first: {e}", all.errors);
    }
    let ratio = limit.map(|(l, _)| rate / l);
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "label": a.label,
                "offered_events_per_s": a.rate,
                "events_per_s": rate.round(),
                "batches": all.latencies.len(),
                "errors": all.errors,
                "event_bytes": event_bytes.round(),
                "mb_per_s": (all.bytes as f64 / secs / 1e6 * 10.0).round() / 10.0,
                "p50_ms": p50.as_secs_f64() * 1e3,
                "p99_ms": p99.as_secs_f64() * 1e3,
                "max_ms": max.as_secs_f64() * 1e3,
                "fsync_limit_events_per_s": limit.map(|(l, _)| l.round()),
                "fsync_p99_ms": limit.map(|(_, p)| p.as_secs_f64() * 1e3),
                "ratio": ratio,
            })
        );
    } else {
        println!(
            "{}: {:.0} events/s ({} batches of {}, {:.0} bytes/event, {} errors), batch latency p50 {:.1} ms p99 {:.1} ms max {:.1} ms",
            a.label,
            rate,
            all.latencies.len(),
            a.batch,
            event_bytes,
            all.errors,
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );
        if let (Some((l, p)), Some(r)) = (limit, ratio) {
            println!(
                "machine limit (append + fsync per batch): {l:.0} events/s (fsync p99 {:.1} ms); ratio {r:.2}",
                p.as_secs_f64() * 1e3
            );
        }
    }
    i32::from(all.errors > 0 && all.events == 0)
}

/// Where the time of one batch goes, in process, on one thread: normalizing a batch, encoding
/// its records for the store, and (the receiver's single appending thread) appending groups
/// of 8 batches, as the receiver's group commit does under 8 connections, onto a store that
/// grows to `MLGUARD_BREAKDOWN_BATCHES` batches (default 400: 160,000 records), so the
/// figure is the steady state rather than an empty database's.
fn breakdown(dir: &str, batch: usize) {
    use mlguard_audit::store::{open, Encoded, OpenOptions};
    let n: usize = std::env::var("MLGUARD_BREAKDOWN_BATCHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let group: usize = std::env::var("MLGUARD_BREAKDOWN_GROUP")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    // Normalizing and encoding, timed as a receiver's worker does them: each batch's records
    // dropped once encoded, so the allocator reuses its memory (the groups kept for the append
    // below are made apart, untimed: keeping them all would time the allocator's fresh pages).
    let mut norm = 0.0;
    let mut enc = 0.0;
    for i in 0..n {
        let body = event_list("breakdown", (i * batch) as u64, batch);
        let t = Instant::now();
        let records = mlguard_audit::trail::normalize::k8s_event_list(&body).expect("normalizes");
        norm += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let encoded: Vec<Encoded> = records.iter().map(Encoded::new).collect();
        enc += t.elapsed().as_secs_f64();
        drop((records, encoded));
    }
    let mut groups: Vec<Vec<Encoded>> = Vec::new();
    let mut cur = Vec::new();
    for i in 0..n {
        let body = event_list("breakdown", (i * batch) as u64, batch);
        let records = mlguard_audit::trail::normalize::k8s_event_list(&body).expect("normalizes");
        cur.extend(records.iter().map(Encoded::new));
        if cur.len() >= group * batch {
            groups.push(std::mem::take(&mut cur));
        }
    }
    let path = std::path::Path::new(dir).join(format!("breakdown-{}.db", std::process::id()));
    let store = open(
        &format!("sqlite:{}", path.display()),
        OpenOptions {
            checkpoints: None,
            create: true,
        },
    )
    .expect("store");
    let records: usize = groups.iter().map(Vec::len).sum();
    let half = groups.len() / 2;
    let (mut wall, mut cpu) = (0.0, 0.0);
    for (i, g) in groups.into_iter().enumerate() {
        let (t, c) = (Instant::now(), thread_cpu());
        store.append_encoded(g).expect("append");
        if i >= half {
            wall += t.elapsed().as_secs_f64();
            cpu += thread_cpu() - c;
        }
    }
    let later = (records - half * group * batch) as f64;
    let _ = std::fs::remove_file(&path);
    for ext in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
    println!(
        "per batch of {batch}: normalize {:.2} ms, encode {:.2} ms; sqlite append of groups of {} \
         records (second half of {records}): {:.1} us/record wall, {:.1} us/record CPU, \
         {:.0} records/s",
        norm * 1e3 / n as f64,
        enc * 1e3 / n as f64,
        group * batch,
        wall * 1e6 / later,
        cpu * 1e6 / later,
        later / wall,
    );
}

/// This thread's CPU time, seconds (the first field of /proc/thread-self/schedstat: time on
/// a CPU, in nanoseconds; 0 where there is no such file).
fn thread_cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns * 1e-9)
}
