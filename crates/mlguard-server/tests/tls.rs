//! The webhook over real TLS on loopback: a certificate from `tls::generate` serves
//! /validate; rewriting the certificate files (as cert-manager rotates them) makes new
//! handshakes present the new certificate without a restart, and a half-written pair keeps
//! the old one; on shutdown a request already sent is still answered, then serve returns
//! (`serve_per_thread` too, on every thread), whose threads get the connections evenly.

use mlguard_server::admission::Judge;
use mlguard_server::tls::{generate, server_config, ReloadingCert};
use mlguard_server::webhook::{router, serve, AppState, Balance};
use rustls::pki_types::ServerName;
use std::path::Path;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HOST: &str = "mlguard-webhook.mlguard-system.svc";

fn write_pair(dir: &Path, g: &mlguard_server::tls::Generated) {
    std::fs::write(dir.join("tls.crt"), &g.cert).expect("cert");
    std::fs::write(dir.join("tls.key"), &g.key).expect("key");
}

fn client(ca_pem: &str) -> tokio_rustls::TlsConnector {
    tokio_rustls::TlsConnector::from(
        mlguard_server::tls::client_config(ca_pem.as_bytes()).expect("client config"),
    )
}

/// Open a TLS connection and send `GET /healthz` or a POST; the raw response, or the TLS error.
async fn request(addr: std::net::SocketAddr, ca_pem: &str, raw: &[u8]) -> Result<String, String> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let mut tls = client(ca_pem)
        .connect(ServerName::try_from(HOST).expect("name"), tcp)
        .await
        .map_err(|e| e.to_string())?;
    tls.write_all(raw).await.map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await.map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// POST `body` to /validate with shutdown starting in the middle: the headers and half the
/// body are sent, then `stop` is called, then the rest follows. The raw response.
async fn post_across_shutdown(
    addr: std::net::SocketAddr,
    ca_pem: &str,
    body: &str,
    stop: impl FnOnce(),
) -> String {
    let head = format!(
        "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut tls = client(ca_pem)
        .connect(ServerName::try_from(HOST).expect("name"), tcp)
        .await
        .expect("tls");
    let (first_half, second_half) = body.split_at(body.len() / 2);
    tls.write_all(head.as_bytes()).await.expect("send");
    tls.write_all(first_half.as_bytes()).await.expect("send");
    tls.flush().await.expect("flush");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    tls.write_all(second_half.as_bytes())
        .await
        .expect("send the rest");
    tls.flush().await.expect("flush");
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await.expect("answered");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_over_tls_reloads_rotated_certificates_and_drains() {
    let dir = std::env::temp_dir().join(format!("mlguard-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let first = generate(&[HOST.to_owned(), "localhost".to_owned()]).expect("generate");
    write_pair(&dir, &first);
    let certs =
        Arc::new(ReloadingCert::new(&dir.join("tls.crt"), &dir.join("tls.key")).expect("load"));
    let cfg = server_config(certs.clone()).expect("config");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(Arc::new(AppState::new(Judge::default())));
    let server = tokio::spawn(serve(listener, cfg, app, async {
        let _ = stop_rx.await;
    }));

    let r = request(addr, &first.ca_cert, HEALTH)
        .await
        .expect("health over TLS");
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(r.ends_with("ok"), "{r}");

    // Rotation: a new CA and certificate written in place.
    let second = generate(&[HOST.to_owned()]).expect("generate");
    write_pair(&dir, &second);
    assert!(
        certs.reload_if_changed().expect("reload"),
        "the change is seen"
    );
    let r = request(addr, &second.ca_cert, HEALTH)
        .await
        .expect("the new certificate serves");
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    let old = request(addr, &first.ca_cert, HEALTH).await;
    assert!(old.is_err(), "the old CA no longer verifies: {old:?}");

    // A half-written pair (a key that does not match) keeps the certificate in use.
    let third = generate(&[HOST.to_owned()]).expect("generate");
    std::fs::write(dir.join("tls.crt"), &third.cert).expect("cert only");
    assert!(
        certs.reload_if_changed().is_err(),
        "a mismatched pair is an error"
    );
    let r = request(addr, &second.ca_cert, HEALTH)
        .await
        .expect("still the second certificate");
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");

    // Drain: a request in flight when shutdown starts (headers read, body still coming) is
    // answered; then serve returns.
    let body = serde_json::json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "u-drain", "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
                    "resource": {"group": "", "version": "v1", "resource": "configmaps"},
                    "name": "c", "namespace": "team-a", "operation": "CREATE", "userInfo": {"username": "a"},
                    "object": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}}
    })
    .to_string();
    let out = post_across_shutdown(addr, &second.ca_cert, &body, || {
        stop_tx.send(()).expect("stop");
    })
    .await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("u-drain"), "{out}");
    tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("serve returns after the drain")
        .expect("join")
        .expect("serve");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_files_name_the_file() {
    let dir = std::env::temp_dir().join(format!("mlguard-tls-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    std::fs::write(dir.join("empty.crt"), "").expect("write");
    std::fs::write(dir.join("k.key"), "not a key").expect("write");
    let e = ReloadingCert::new(&dir.join("empty.crt"), &dir.join("k.key")).unwrap_err();
    assert!(e.to_string().contains("empty.crt"), "{e}");
    let e = ReloadingCert::new(&dir.join("missing.crt"), &dir.join("k.key")).unwrap_err();
    assert!(e.to_string().contains("missing.crt"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A serving certificate for HOST in a fresh directory named after `tag`: the directory, the
/// generated CA and pair, and the server's TLS configuration.
fn serving_config(
    tag: &str,
) -> (
    std::path::PathBuf,
    mlguard_server::tls::Generated,
    Arc<rustls::ServerConfig>,
) {
    let dir = std::env::temp_dir().join(format!("mlguard-tls-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let g = generate(&[HOST.to_owned()]).expect("generate");
    write_pair(&dir, &g);
    let certs =
        Arc::new(ReloadingCert::new(&dir.join("tls.crt"), &dir.join("tls.key")).expect("load"));
    let cfg = server_config(certs).expect("config");
    (dir, g, cfg)
}

/// Wait (at most 10 s) until the balance counts `total` open connections; the counts.
async fn open_connections(balance: &Balance, total: usize) -> Vec<usize> {
    for _ in 0..500 {
        let open = balance.open();
        if open.iter().sum::<usize>() == total {
            return open;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!(
        "expected {total} open connections, counted {:?}",
        balance.open()
    );
}

/// A server of `serve_per_thread`'s kind on a free loopback port, run by `serve` on its own
/// thread until `stop` holds `true`.
struct PerThread {
    addr: std::net::SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    server: std::thread::JoinHandle<std::io::Result<()>>,
}

impl PerThread {
    fn start(
        cfg: Arc<rustls::ServerConfig>,
        serve: impl FnOnce(
                std::net::TcpListener,
                Arc<rustls::ServerConfig>,
                axum::Router,
                tokio::sync::watch::Receiver<bool>,
            ) -> std::io::Result<()>
            + Send
            + 'static,
    ) -> PerThread {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let app = router(Arc::new(AppState::new(Judge::default())));
        let server = std::thread::spawn(move || serve(listener, cfg, app, stopped));
        PerThread { addr, stop, server }
    }

    /// Wait for the server to return (after `stop`); it must not have failed or panicked.
    async fn joined(self) {
        let server = self.server;
        let joined = tokio::task::spawn_blocking(move || server.join())
            .await
            .expect("join task");
        joined.expect("no serving thread panicked").expect("serve");
    }
}

/// `serve_per_thread` spreads connections over its threads by how many each has open, not by
/// which thread wakes first: 6 connections opened at once are 3 and 3; once they close, the
/// counts fall back to 0; 3 more are 2 and 1. Every connection is served (TLS and a request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_thread_serving_balances_connections() {
    let (dir, g, cfg) = serving_config("bal");
    let balance = Balance::new(2);
    let b = balance.clone();
    let server = PerThread::start(cfg, move |listener, cfg, app, stopped| {
        mlguard_server::webhook::serve_balanced(listener, b, cfg, app, stopped)
    });
    let addr = server.addr;
    let connect = |n: usize| {
        let ca = g.ca_cert.clone();
        async move {
            let mut open = Vec::new();
            for _ in 0..n {
                let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
                let mut tls = client(&ca)
                    .connect(ServerName::try_from(HOST).expect("name"), tcp)
                    .await
                    .expect("handshake");
                tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    .await
                    .expect("send");
                let mut buf = [0u8; 12];
                tls.read_exact(&mut buf).await.expect("answer");
                assert_eq!(&buf, b"HTTP/1.1 200");
                open.push(tls);
            }
            open
        }
    };
    let six = connect(6).await;
    assert_eq!(open_connections(&balance, 6).await, vec![3, 3]);
    drop(six);
    assert_eq!(open_connections(&balance, 0).await, vec![0, 0]);
    let three = connect(3).await;
    let mut open = open_connections(&balance, 3).await;
    open.sort_unstable();
    assert_eq!(open, vec![1, 2]);
    drop(three);
    server.stop.send(true).expect("stop");
    server.joined().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// `serve_per_thread`: every thread answers (a few connections at once), a request in flight
/// when shutdown starts is still answered (its decision made on the serving thread), and the
/// call returns once every thread has drained.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_thread_serving_answers_and_drains() {
    let (dir, g, cfg) = serving_config("pt");
    let server = PerThread::start(cfg, |listener, cfg, app, stopped| {
        mlguard_server::webhook::serve_per_thread(listener, 2, cfg, app, stopped)
    });
    let addr = server.addr;

    let mut health = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let ca = g.ca_cert.clone();
        health.spawn(async move { request(addr, &ca, HEALTH).await });
    }
    for r in health.join_all().await {
        let r = r.expect("health over TLS");
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    }

    let body = serde_json::json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "u-pt", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                    "resource": {"group": "", "version": "v1", "resource": "pods"},
                    "name": "p", "namespace": "team-a", "operation": "CREATE", "userInfo": {"username": "a"},
                    "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "team-a"},
                               "spec": {"containers": [{"name": "c", "image": "registry.example.com/x:1",
                                         "securityContext": {"privileged": true},
                                         "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}}
    })
    .to_string();
    let out = post_across_shutdown(addr, &g.ca_cert, &body, || {
        server.stop.send(true).expect("stop");
    })
    .await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("u-pt") && out.contains("MLG-POD-001"), "{out}");
    server.joined().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
