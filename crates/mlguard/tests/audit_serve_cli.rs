//! `mlguard audit serve` and `mlguard audit ingest` as processes with the SQLite store:
//! HTTPS with a bearer token, usage errors, SIGKILL in the middle of a load (every batch that got
//! a 200 is stored exactly once after a restart, retries are harmless, `audit verify` passes),
//! `ingest --follow` through rotations and restarts, and the real API server events of the
//! shared corpus.

mod common;

use common::root;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "cli-test-token-0123456789abcdef";

fn tmpdir(name: &str) -> common::TempDir {
    common::TempDir::new(&format!("audit-{name}"))
}

fn mlguard() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mlguard"));
    c.current_dir(root())
        .env_remove("MLGUARD_FORMAT")
        .env_remove("MLGUARD_STORE");
    c
}

/// The signer and verifier key files of `audit keygen`.
struct Keys {
    signer: PathBuf,
    verifier: PathBuf,
}

/// Certificates (webhook certs for localhost), a token file and a signing key in `dir`.
fn setup(dir: &Path) -> Keys {
    let o = mlguard()
        .args(["webhook", "certs", "--dns", "localhost", "-o"])
        .arg(dir)
        .output()
        .expect("certs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(dir.join("tokens.txt"), format!("{TOKEN} k8s\n")).unwrap();
    let o = mlguard()
        .args(["audit", "keygen", "--name", "audit.test.invalid", "-o"])
        .arg(dir.join("keys"))
        .output()
        .expect("keygen");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Keys {
        signer: dir.join("keys/audit.test.invalid.key"),
        verifier: dir.join("keys/audit.test.invalid.pub"),
    }
}

struct Server {
    child: std::process::Child,
    addr: String,
    log: Arc<Mutex<String>>,
}

/// `mlguard audit serve` over HTTPS on a free port with the store `db`.
fn serve(dir: &Path, db: &Path, key: &Keys) -> Server {
    let mut child = mlguard()
        .args(["audit", "serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(dir.join("tls.crt"))
        .arg("--tls-key")
        .arg(dir.join("tls.key"))
        .arg("--token-file")
        .arg(dir.join("tokens.txt"))
        .arg("--store")
        .arg(format!("sqlite:{}", db.display()))
        .arg("--signing-key")
        .arg(&key.signer)
        .args(["--checkpoint-every", "300", "--checkpoint-interval", "1s"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("first line");
    let addr = line
        .trim()
        .strip_prefix("mlguard audit receiver listening on https://")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let log = Arc::new(Mutex::new(String::new()));
    let l = log.clone();
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stderr.read_to_string(&mut rest);
        l.lock().unwrap().push_str(&rest);
    });
    Server { child, addr, log }
}

/// POST over HTTPS (one connection per request); the status and body.
fn post(
    addr: &str,
    ca: &[u8],
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let cfg = mlguard_server::tls::client_config(ca).expect("client config");
    let mut tcp = std::net::TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(60)))?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(cfg, name).map_err(std::io::Error::other)?;
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tls.write_all(head.as_bytes())?;
    tls.write_all(body)?;
    tls.flush()?;
    let mut out = Vec::new();
    match tls.read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !out.is_empty() => {}
        Err(e) => return Err(e),
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line: {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    Ok((code, body))
}

fn event(id: &str) -> serde_json::Value {
    serde_json::json!({
        "level": "Metadata", "auditID": id, "stage": "ResponseComplete",
        "requestURI": "/apis/serving.kserve.io/v1beta1/namespaces/team-a/inferenceservices/chat",
        "verb": "get", "user": {"username": "system:serviceaccount:team-a:runner",
        "groups": ["system:serviceaccounts", "system:authenticated"]},
        "sourceIPs": ["10.1.2.3"], "userAgent": "kubectl/v1.33.0",
        "objectRef": {"resource": "inferenceservices", "namespace": "team-a", "name": "chat",
                      "apiGroup": "serving.kserve.io", "apiVersion": "v1beta1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": "2026-03-02T09:00:00.000001Z",
        "stageTimestamp": "2026-03-02T09:00:00.000002Z",
    })
}

fn batch_ids(b: usize, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("batch{b:04}-{i:03}")).collect()
}

fn event_list(ids: &[String]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {},
        "items": ids.iter().map(|i| event(i)).collect::<Vec<_>>(),
    }))
    .unwrap()
}

/// The audit IDs of the stored Kubernetes records, in store order.
fn stored_ids(db: &Path) -> Vec<String> {
    let o = mlguard()
        .args([
            "audit", "query", "--source", "k8s", "--format", "json", "--store",
        ])
        .arg(format!("sqlite:{}", db.display()))
        .output()
        .expect("query");
    assert!(
        o.status.success(),
        "query: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("query JSON");
    v.as_array()
        .expect("array")
        .iter()
        .map(|r| r["event_id"].as_str().unwrap().to_owned())
        .collect()
}

fn verify(db: &Path, key: &Keys) {
    let o = mlguard()
        .args(["audit", "verify", "--store"])
        .arg(format!("sqlite:{}", db.display()))
        .arg("--key")
        .arg(&key.verifier)
        .output()
        .expect("verify");
    assert!(
        o.status.success(),
        "audit verify: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn no_duplicates(ids: &[String]) -> HashSet<String> {
    let mut seen = HashSet::new();
    for id in ids {
        assert!(seen.insert(id.clone()), "{id} is stored twice");
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_serve_https_token_and_usage_errors() {
    let dir = tmpdir("serve");
    let key = setup(&dir);
    let db = dir.join("audit.db");
    let mut s = serve(&dir, &db, &key);
    let ca = std::fs::read(dir.join("ca.crt")).unwrap();
    let body = event_list(&batch_ids(1, 3));
    let (code, b) = post(&s.addr, &ca, "/v1/k8s", None, &body).unwrap();
    assert_eq!(code, 401, "{b}");
    let (code, b) = post(&s.addr, &ca, "/v1/storage", Some(TOKEN), b"{}").unwrap();
    assert_eq!(code, 403, "the token only writes k8s: {b}");
    let (code, b) = post(&s.addr, &ca, "/v1/k8s", Some(TOKEN), b"{\"kind\":").unwrap();
    assert_eq!(code, 400, "{b}");
    assert!(b.contains("\"error\""), "{b}");
    let (code, b) = post(&s.addr, &ca, "/v1/k8s", Some(TOKEN), &body).unwrap();
    assert_eq!(code, 200, "{b}");
    let v: serde_json::Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["appended"], 3);
    let (code, b) = post(&s.addr, &ca, "/v1/k8s", Some(TOKEN), &body).unwrap();
    assert_eq!(code, 200);
    assert!(b.contains("\"duplicates\":3"), "{b}");
    let status = common::sigterm_and_wait(&mut s.child, Duration::from_secs(30)).await;
    assert!(status.success(), "{status:?}: {}", s.log.lock().unwrap());
    assert_eq!(stored_ids(&db), batch_ids(1, 3));

    // Usage errors: exit 2 with the reason.
    let store = format!("sqlite:{}", dir.join("x.db").display());
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--tls-cert".into(),
                dir.join("tls.crt").display().to_string(),
                "--tls-key".into(),
                dir.join("tls.key").display().to_string(),
            ],
            "no credential configured",
        ),
        (vec![], "--insecure-loopback"),
        (
            vec![
                "--insecure-loopback".into(),
                "--listen".into(),
                "0.0.0.0:0".into(),
            ],
            "loopback",
        ),
        (
            vec![
                "--insecure-loopback".into(),
                "--max-body".into(),
                "12 parsecs".into(),
            ],
            "--max-body",
        ),
        (
            vec![
                "--insecure-loopback".into(),
                "--model-map".into(),
                dir.join("tokens.txt").display().to_string(),
            ],
            "--model-map",
        ),
    ];
    for (args, want) in cases {
        let o = mlguard()
            .args(["audit", "serve", "--store", &store])
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_serve_survives_sigkill_mid_load() {
    const SENDERS: usize = 4;
    const PER_BATCH: usize = 100;
    let dir = tmpdir("sigkill");
    let key = setup(&dir);
    let db = dir.join("audit.db");
    let ca = std::fs::read(dir.join("ca.crt")).unwrap();
    let mut s = serve(&dir, &db, &key);

    // Senders post batches until the receiver dies; each remembers what it sent and what got
    // a 200.
    let acked = Arc::new(Mutex::new(Vec::<usize>::new()));
    let sent = Arc::new(Mutex::new(Vec::<usize>::new()));
    let mut threads = Vec::new();
    for t in 0..SENDERS {
        let (addr, ca, acked, sent) = (s.addr.clone(), ca.clone(), acked.clone(), sent.clone());
        threads.push(std::thread::spawn(move || {
            let mut b = t;
            loop {
                sent.lock().unwrap().push(b);
                match post(
                    &addr,
                    &ca,
                    "/v1/k8s",
                    Some(TOKEN),
                    &event_list(&batch_ids(b, PER_BATCH)),
                ) {
                    Ok((200, _)) => acked.lock().unwrap().push(b),
                    Ok((code, body)) => panic!("batch {b}: {code} {body}"),
                    Err(_) => return,
                }
                b += SENDERS;
            }
        }));
    }
    let start = Instant::now();
    while acked.lock().unwrap().len() < 30 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the load did not get going"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    s.child.kill().expect("SIGKILL");
    let _ = s.child.wait();
    for t in threads {
        t.join().expect("sender");
    }
    let acked: Vec<usize> = acked.lock().unwrap().clone();
    let sent: Vec<usize> = sent.lock().unwrap().clone();
    assert!(sent.len() > acked.len() || !sent.is_empty());

    // After the restart: every acknowledged batch is there, once; batches are all or nothing;
    // nothing else is.
    let mut s = serve(&dir, &db, &key);
    let ids = stored_ids(&db);
    let set = no_duplicates(&ids);
    for b in &acked {
        for id in batch_ids(*b, PER_BATCH) {
            assert!(set.contains(&id), "acknowledged batch {b} lost {id}");
        }
    }
    let mut per_batch: HashMap<&str, usize> = HashMap::new();
    for id in &ids {
        *per_batch.entry(&id[..9]).or_default() += 1;
    }
    for (b, n) in &per_batch {
        assert_eq!(*n, PER_BATCH, "batch {b} is partly stored");
        let num: usize = b[5..].parse().unwrap();
        assert!(sent.contains(&num), "batch {b} was never sent");
    }

    // The senders retry what they did not get an answer for (the API server does): every sent
    // batch exactly once.
    for b in &sent {
        let (code, body) = post(
            &s.addr,
            &ca,
            "/v1/k8s",
            Some(TOKEN),
            &event_list(&batch_ids(*b, PER_BATCH)),
        )
        .unwrap();
        assert_eq!(code, 200, "{body}");
    }
    let ids = stored_ids(&db);
    let set = no_duplicates(&ids);
    assert_eq!(set.len(), sent.len() * PER_BATCH);
    let status = common::sigterm_and_wait(&mut s.child, Duration::from_secs(30)).await;
    assert!(status.success(), "{status:?}: {}", s.log.lock().unwrap());
    verify(&db, &key);
}

fn append_lines(path: &Path, ids: &[String]) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for id in ids {
        let mut e = event(id);
        e["kind"] = "Event".into();
        e["apiVersion"] = "audit.k8s.io/v1".into();
        writeln!(f, "{e}").unwrap();
    }
}

fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:04}")).collect()
}

fn ingest_follow(log: &Path, db: &Path, state: &Path, key: &Keys) -> std::process::Child {
    mlguard()
        .args(["audit", "ingest", "--follow"])
        .arg(log)
        .arg("--store")
        .arg(format!("sqlite:{}", db.display()))
        .arg("--state")
        .arg(state)
        .arg("--signing-key")
        .arg(&key.signer)
        .args(["--checkpoint-interval", "1s"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ingest")
}

fn wait_stored(db: &Path, n: usize) -> Vec<String> {
    let start = Instant::now();
    loop {
        if db.exists() {
            let got = stored_ids(db);
            if got.len() >= n {
                return got;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "fewer than {n} records stored"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_ingest_follow_rotation_and_restart() {
    let dir = tmpdir("ingest");
    let key = setup(&dir);
    let db = dir.join("audit.db");
    let log = dir.join("audit.log");
    let state = dir.join("ingest-state.json");
    let mut all = Vec::new();
    let mut add = |path: &Path, v: Vec<String>| {
        append_lines(path, &v);
        all.extend(v);
    };
    add(&log, ids("a", 300));
    let mut child = ingest_follow(&log, &db, &state, &key);
    wait_stored(&db, 300);
    // Rotation by rename while following.
    std::fs::rename(&log, dir.join("audit-1.log")).unwrap();
    add(&dir.join("audit-1.log"), ids("b", 50));
    add(&log, ids("c", 100));
    wait_stored(&db, 450);
    let status = common::sigterm_and_wait(&mut child, Duration::from_secs(30)).await;
    assert!(status.success(), "{status:?}");
    // While stopped: more lines, then another rotation.
    add(&log, ids("d", 30));
    std::fs::rename(&log, dir.join("audit-2.log")).unwrap();
    add(&log, ids("e", 20));
    // A kill -9 restart too.
    let mut child = ingest_follow(&log, &db, &state, &key);
    wait_stored(&db, 500);
    add(&log, ids("f", 10));
    wait_stored(&db, 510);
    child.kill().unwrap();
    let _ = child.wait();
    let mut child = ingest_follow(&log, &db, &state, &key);
    add(&log, ids("g", 10));
    wait_stored(&db, 520);
    let status = common::sigterm_and_wait(&mut child, Duration::from_secs(30)).await;
    assert!(status.success(), "{status:?}");
    // A last one-shot run reads nothing new.
    let o = mlguard()
        .args(["audit", "ingest"])
        .arg(&log)
        .arg("--store")
        .arg(format!("sqlite:{}", db.display()))
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("0 events appended"));
    let stored = stored_ids(&db);
    let set = no_duplicates(&stored);
    assert_eq!(set, all.iter().cloned().collect::<HashSet<_>>());
    verify(&db, &key);
}

#[test]
fn audit_ingest_the_shared_corpus() {
    let corpus = Path::new("/work/shared/corpus/audit/audit2rbac-demo.log");
    if !corpus.exists() {
        eprintln!("skipped: {} is not here", corpus.display());
        return;
    }
    let dir = tmpdir("corpus");
    let db = dir.join("audit.db");
    let lines = std::fs::read_to_string(corpus)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    let run = || {
        mlguard()
            .args(["audit", "ingest"])
            .arg(corpus)
            .arg("--store")
            .arg(format!("sqlite:{}", db.display()))
            .output()
            .unwrap()
    };
    let o = run();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains(&format!("{lines} events appended")), "{err}");
    // The default state file sits next to the store; a second run reads nothing.
    assert!(std::fs::read_dir(&dir).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("audit.db.ingest-")));
    let o = run();
    assert!(String::from_utf8_lossy(&o.stderr).contains("0 events appended"));
    let ids = stored_ids(&db);
    assert_eq!(no_duplicates(&ids).len(), lines);
    assert!(ids.contains(&"033d17af-082d-4b24-aa22-627752e83d71".to_owned()));

    // A file with bad lines: exit 2, each named FILE:LINE, the good ones stored.
    let bad = dir.join("bad.log");
    std::fs::write(&bad, "{\"kind\":\"Event\"\nnot json\n").unwrap();
    append_lines(&bad, &ids_of("ok", 2));
    let o = mlguard()
        .args(["audit", "ingest"])
        .arg(&bad)
        .arg("--store")
        .arg(format!("sqlite:{}", db.display()))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bad.log:1:") && err.contains("bad.log:2:"),
        "{err}"
    );
    assert!(
        err.contains("2 events appended, 0 already stored, 2 lines skipped"),
        "{err}"
    );
}

fn ids_of(prefix: &str, n: usize) -> Vec<String> {
    ids(prefix, n)
}
