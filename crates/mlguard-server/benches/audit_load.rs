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
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if a.url.is_empty() && a.breakdown.is_none() {
        return Ok(None);
    }
    Ok(Some(a))
}

/// One realistic event (a service account reading an InferenceService, Metadata level).
fn event(out: &mut String, run: &str, n: u64) {
    use std::fmt::Write as _;
    let ns = ["team-a", "team-b", "ml-platform", "research"][(n % 4) as usize];
    let verb = ["get", "list", "watch", "update", "create"][(n % 5) as usize];
    let sec = n % 60;
    let micros = n % 1_000_000;
    let _ = write!(
        out,
        r#"{{"level":"Metadata","auditID":"{run}-{n:012}","stage":"ResponseComplete","requestURI":"/apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices/llama-{m}","verb":"{verb}","user":{{"username":"system:serviceaccount:{ns}:pipeline-runner","groups":["system:serviceaccounts","system:authenticated"]}},"sourceIPs":["10.12.{a}.{b}"],"userAgent":"kfp-driver/2.3.0","objectRef":{{"resource":"inferenceservices","namespace":"{ns}","name":"llama-{m}","apiGroup":"serving.kserve.io","apiVersion":"v1beta1"}},"responseStatus":{{"metadata":{{}},"code":200}},"requestReceivedTimestamp":"2026-03-02T09:00:{sec:02}.{micros:06}Z","stageTimestamp":"2026-03-02T09:00:{sec:02}.{micros:06}Z"}}"#,
        m = n % 17,
        a = n % 250,
        b = (n / 250) % 250,
    );
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

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
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
    let deadline = Instant::now() + Duration::from_secs_f64(a.seconds);
    let next = Arc::new(std::sync::atomic::AtomicU64::new(1_000_000));
    let mut tasks = Vec::new();
    let start = Instant::now();
    for _ in 0..a.connections {
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
                let mut req = hyper::Request::post("/v1/k8s")
                    .header("host", &host)
                    .header("content-type", "application/json");
                if let Some(tok) = &token {
                    req = req.header("authorization", format!("Bearer {tok}"));
                }
                let req = req.body(Full::new(Bytes::from(body))).expect("request");
                let t0 = Instant::now();
                let res = async {
                    if send.ready().await.is_err() {
                        send = connect(&host, &addr, tls.clone()).await?;
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
                .await;
                match res {
                    Ok(()) => {
                        t.latencies.push(t0.elapsed());
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
    let mut all = Tally::default();
    for task in tasks {
        if let Ok(t) = task.await {
            all.latencies.extend(t.latencies);
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

/// Where the time of one batch goes, in process: normalizing, and appending to SQLite.
fn breakdown(dir: &str, batch: usize) {
    use mlguard_audit::store::{open, OpenOptions};
    let n = 50;
    let bodies: Vec<Vec<u8>> = (0..n)
        .map(|i| event_list("breakdown", (i * batch) as u64, batch))
        .collect();
    let t = Instant::now();
    let mut all = Vec::new();
    for b in &bodies {
        all.push(mlguard_audit::trail::normalize::k8s_event_list(b).expect("normalizes"));
    }
    let norm = t.elapsed().as_secs_f64() / n as f64;
    let path = std::path::Path::new(dir).join(format!("breakdown-{}.db", std::process::id()));
    let store = open(
        &format!("sqlite:{}", path.display()),
        OpenOptions {
            checkpoints: None,
            create: true,
        },
    )
    .expect("store");
    let t = Instant::now();
    for r in &all {
        store.append(r).expect("append");
    }
    let append = t.elapsed().as_secs_f64() / n as f64;
    let big: Vec<_> = (0..n)
        .map(|i| event_list("breakdown-big", (i * batch * 8) as u64, batch * 8))
        .map(|b| mlguard_audit::trail::normalize::k8s_event_list(&b).expect("normalizes"))
        .take(5)
        .collect();
    let t = Instant::now();
    for r in &big {
        store.append(r).expect("append");
    }
    let append8 = t.elapsed().as_secs_f64() / big.len() as f64;
    let _ = std::fs::remove_file(&path);
    println!(
        "per batch of {batch}: normalize {:.2} ms ({:.0} events/s on one core); sqlite append {:.2} ms; append of {} records {:.2} ms",
        norm * 1e3,
        batch as f64 / norm,
        append * 1e3,
        batch * 8,
        append8 * 1e3
    );
}
