//! `mlguard webhook certs` and `mlguard webhook serve` as processes: the contract for
//! scripts (certs -o DIR writes ca.crt, tls.crt, tls.key; serve answers AdmissionReviews over
//! HTTPS with that certificate and, on SIGTERM, exits 0), and bad input (exit 2 naming the
//! file or flag).

mod common;

#[path = "../../mlguard-operator/tests/support/fake_api.rs"]
mod fake_api;

use common::root;
use rustls::pki_types::ServerName;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn tmpdir(name: &str) -> common::TempDir {
    common::TempDir::new(&format!("webhook-{name}"))
}

fn mlguard() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mlguard"));
    c.current_dir(root())
        .env_remove("MLGUARD_FORMAT")
        .env_remove("MLGUARD_WEBHOOK_THREADS");
    c
}

/// The names of the threads of process `pid` (Linux: /proc/PID/task/*/comm).
fn thread_names(pid: u32) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("tasks")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_owned())
        .collect();
    names.sort();
    names
}

async fn post(addr: &str, ca: &str, body: &str) -> String {
    let cfg = mlguard_server::tls::client_config(ca.as_bytes()).expect("client config");
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut tls = tokio_rustls::TlsConnector::from(cfg)
        .connect(
            ServerName::try_from("mlguard-webhook.mlguard-system.svc").expect("name"),
            tcp,
        )
        .await
        .expect("TLS with the generated CA");
    let req = format!(
        "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(req.as_bytes()).await.expect("send");
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await.expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

/// Start `mlguard webhook serve` on a free port with the certificates in `dir` plus `args`
/// (and `env`), and return it with the address it prints when listening and its stderr,
/// which must stay open while it runs (it logs there).
fn spawn_serve(
    dir: &std::path::Path,
    args: &[&std::ffi::OsStr],
    env: &[(&str, &std::path::Path)],
) -> (
    std::process::Child,
    String,
    BufReader<std::process::ChildStderr>,
) {
    let mut cmd = mlguard();
    cmd.args(["webhook", "serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(dir.join("tls.crt"))
        .arg("--tls-key")
        .arg(dir.join("tls.key"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("serve");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("first line");
    let addr = line
        .trim()
        .strip_prefix("mlguard webhook listening on https://")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_owned();
    (child, addr, stderr)
}

/// A review of a privileged GPU pod in namespace team-a.
fn privileged_pod_review(uid: &str) -> String {
    serde_json::json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": uid, "kind": {"group": "", "version": "v1", "kind": "Pod"},
                    "resource": {"group": "", "version": "v1", "resource": "pods"},
                    "name": "p", "namespace": "team-a", "operation": "CREATE", "userInfo": {"username": "a"},
                    "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                               "spec": {"containers": [{"name": "c", "image": "registry.example.com/x:1",
                                         "securityContext": {"privileged": true},
                                         "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}}
    })
    .to_string()
}

/// The contract in the default mode: one serving thread per core, decisions inline on them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certs_then_serve_then_sigterm() {
    certs_serve_sigterm("serve", &[], "mlguard-serve-", "mlguard-judge-").await;
}

/// The same contract with connections on the async runtime and decisions on the judging pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certs_then_serve_pool_then_sigterm() {
    certs_serve_sigterm(
        "serve-pool",
        &["--threads".as_ref(), "pool".as_ref()],
        "mlguard-judge-",
        "mlguard-serve-",
    )
    .await;
}

/// The contract for scripts, in one serving mode: threads named `serving` (judging threads
/// in pool mode, serving threads per core) run, none named `absent` does.
async fn certs_serve_sigterm(name: &str, extra: &[&std::ffi::OsStr], serving: &str, absent: &str) {
    let dir = tmpdir(name);
    let o = mlguard()
        .args(["webhook", "certs", "-o"])
        .arg(&dir)
        .output()
        .expect("certs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for f in ["ca.crt", "tls.crt", "tls.key"] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("tls.key"))
        .expect("key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the key is private");
    let ctx = dir.join("context.yaml");
    std::fs::write(&ctx, "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a, labels: {mlguard.io/enforcement: enforce}}\n").expect("ctx");

    let mut args = vec!["--context-dir".as_ref(), ctx.as_os_str()];
    args.extend_from_slice(extra);
    let (mut child, addr, _stderr) = spawn_serve(&dir, &args, &[]);
    let ca = std::fs::read_to_string(dir.join("ca.crt")).expect("ca");
    let review = privileged_pod_review("u-cli");
    // Several connections at once (with one thread per core, each thread takes some).
    let mut posts = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (addr, ca, review) = (addr.clone(), ca.clone(), review.clone());
        posts.spawn(async move { post(&addr, &ca, &review).await });
    }
    for resp in posts.join_all().await {
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        assert!(
            resp.contains("\"allowed\":false") && resp.contains("MLG-POD-001"),
            "{resp}"
        );
    }
    let bad = post(&addr, &ca, "{\"kind\": \"Pod\"}").await;
    assert!(bad.starts_with("HTTP/1.1 400"), "{bad}");
    let threads = thread_names(child.id());
    assert!(
        threads.iter().any(|t| t.starts_with(serving)),
        "{serving}* threads: {threads:?}"
    );
    assert!(
        !threads.iter().any(|t| t.starts_with(absent)),
        "no {absent}* thread: {threads:?}"
    );

    let status = common::sigterm_and_wait(&mut child, Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_in_cluster_judges_with_the_watched_context() {
    let api = fake_api::FakeApi::start().await;
    api.serve("v1", &[("namespaces", "Namespace", false)]);
    api.put(
        "api/v1",
        "namespaces",
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "team-a", "labels": {"mlguard.io/enforcement": "warn"}}}),
    );
    let dir = tmpdir("in-cluster");
    let o = mlguard()
        .args(["webhook", "certs", "-o"])
        .arg(&dir)
        .output()
        .expect("certs");
    assert_eq!(o.status.code(), Some(0));
    let kubeconfig = fake_api::kubeconfig(&api.url, &dir, "fake-ctx");
    let (mut child, addr, _stderr) = spawn_serve(
        &dir,
        &["--in-cluster".as_ref()],
        &[("KUBECONFIG", kubeconfig.as_path())],
    );
    let ca = std::fs::read_to_string(dir.join("ca.crt")).expect("ca");
    let review = privileged_pod_review("u-cluster");
    // 503 until the watches have listed, then a decision in team-a's mode (warn: allowed).
    let mut resp = String::new();
    for _ in 0..300 {
        resp = post(&addr, &ca, &review).await;
        if !resp.starts_with("HTTP/1.1 503") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(
        resp.contains("\"allowed\":true") && resp.contains("MLG-POD-001"),
        "warn mode from the cluster's label: {resp}"
    );
    let status = common::sigterm_and_wait(&mut child, Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_exits_2_naming_it() {
    let dir = tmpdir("bad");
    let o = mlguard()
        .args(["webhook", "serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(dir.join("missing.crt"))
        .arg("--tls-key")
        .arg(dir.join("missing.key"))
        .output()
        .expect("serve");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("missing.crt"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = mlguard()
        .args([
            "webhook",
            "serve",
            "--tls-cert",
            "a",
            "--tls-key",
            "b",
            "--deny-at",
            "sometimes",
        ])
        .output()
        .expect("serve");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--deny-at"));
    let ctx = dir.join("broken.yaml");
    std::fs::write(
        &ctx,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: [oops\n",
    )
    .expect("write");
    let o = mlguard()
        .args([
            "webhook",
            "serve",
            "--tls-cert",
            "a",
            "--tls-key",
            "b",
            "--context-dir",
        ])
        .arg(&ctx)
        .output()
        .expect("serve");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("broken.yaml:"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The install manifests: strictly valid Kubernetes objects, a scan with no finding at any
/// severity, and the webhook configuration's safety properties; an unpinned image or a file
/// that is not a CA is refused.
#[test]
fn manifests_are_valid_safe_and_scan_clean() {
    let dir = tmpdir("manifests");
    let o = mlguard()
        .args(["webhook", "certs", "-o"])
        .arg(&dir)
        .output()
        .expect("certs");
    assert_eq!(o.status.code(), Some(0));
    let image = format!(
        "registry.example.com/mlguard/mlguard@sha256:{}",
        "b".repeat(64)
    );
    let out = dir.join("webhook.yaml");
    let o = mlguard()
        .args(["webhook", "manifests", "--image", &image, "--ca-bundle"])
        .arg(dir.join("ca.crt"))
        .arg("-o")
        .arg(&out)
        .output()
        .expect("manifests");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = mlguard()
        .args([
            "webhook",
            "manifests",
            "--format",
            "json",
            "--image",
            &image,
            "--ca-bundle",
        ])
        .arg(dir.join("ca.crt"))
        .output()
        .expect("manifests");
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let items = list["items"].as_array().expect("items");
    let of = |kind: &str| {
        items
            .iter()
            .find(|o| o["kind"] == kind)
            .unwrap_or_else(|| panic!("{kind}"))
    };
    let vwc = of("ValidatingWebhookConfiguration");
    let w = &vwc["webhooks"][0];
    assert_eq!(w["failurePolicy"], "Fail");
    assert_eq!(w["timeoutSeconds"], 5);
    assert_eq!(w["sideEffects"], "None");
    assert_eq!(w["clientConfig"]["service"]["path"], "/validate");
    let excluded = w["namespaceSelector"]["matchExpressions"][0]["values"].to_string();
    assert!(
        excluded.contains("kube-system") && excluded.contains("mlguard-system"),
        "{excluded}"
    );
    assert_eq!(
        w["namespaceSelector"]["matchExpressions"][0]["operator"],
        "NotIn"
    );
    assert!(w["matchConditions"]
        .as_array()
        .is_some_and(|m| !m.is_empty()));
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD
        .decode(w["clientConfig"]["caBundle"].as_str().expect("caBundle"))
        .expect("base64");
    assert_eq!(ca, std::fs::read(dir.join("ca.crt")).expect("ca"));
    assert!(
        items
            .iter()
            .all(|o| o["kind"] != "MutatingWebhookConfiguration"),
        "no mutating configuration unless mutations are asked for"
    );
    // It watches its context, read-only, without Secrets or workloads.
    let role = of("ClusterRole");
    for r in role["rules"].as_array().expect("rules") {
        assert_eq!(r["verbs"], serde_json::json!(["list", "watch"]), "{r}");
        let res = r["resources"].to_string();
        assert!(
            !res.contains("secrets") && !res.contains("pods") && !res.contains('*'),
            "{res}"
        );
    }
    assert!(role["rules"].to_string().contains("networkpolicies"));
    assert_eq!(
        of("ClusterRoleBinding")["subjects"][0]["name"],
        "mlguard-webhook"
    );
    let args = of("Deployment")["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
    assert!(args.contains("--in-cluster"), "{args}");
    let o = mlguard()
        .args([
            "webhook",
            "manifests",
            "--format",
            "json",
            "--mutate",
            "labels,shm=16Gi",
            "--image",
            &image,
            "--ca-bundle",
        ])
        .arg(dir.join("ca.crt"))
        .output()
        .expect("manifests");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mlist: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let mitems = mlist["items"].as_array().expect("items");
    let mwc = mitems
        .iter()
        .find(|o| o["kind"] == "MutatingWebhookConfiguration")
        .expect("mutating");
    assert_eq!(
        mwc["webhooks"][0]["clientConfig"]["service"]["path"],
        "/mutate"
    );
    assert_eq!(mwc["webhooks"][0]["reinvocationPolicy"], "IfNeeded");
    assert_eq!(mwc["webhooks"][0]["failurePolicy"], "Fail");
    let args = mitems
        .iter()
        .find(|o| o["kind"] == "Deployment")
        .expect("deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
        .to_string();
    assert!(args.contains("\"--mutate\",\"labels,shm=16Gi\""), "{args}");
    let o = mlguard()
        .args([
            "webhook",
            "manifests",
            "--mutate",
            "everything",
            "--image",
            &image,
            "--ca-bundle",
        ])
        .arg(dir.join("ca.crt"))
        .output()
        .expect("manifests");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("everything"));
    assert_eq!(of("Deployment")["spec"]["replicas"], 2);
    assert_eq!(of("PodDisruptionBudget")["spec"]["minAvailable"], 1);

    let o = mlguard()
        .args(["scan"])
        .arg(&out)
        .args(["--fail-on", "low"])
        .output()
        .expect("scan");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    if let Some(kv) = common::kubernetes_validate() {
        for version in ["1.33.0", "1.37.0"] {
            let o = Command::new(&kv)
                .args(["--strict", "-k", version])
                .arg(&out)
                .output()
                .expect("kv");
            assert!(
                o.status.success(),
                "{version}: {}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
    let o = mlguard()
        .args([
            "webhook",
            "manifests",
            "--image",
            "mlguard:latest",
            "--ca-bundle",
        ])
        .arg(dir.join("ca.crt"))
        .output()
        .expect("manifests");
    assert_eq!(o.status.code(), Some(2));
    let o = mlguard()
        .args(["webhook", "manifests", "--image", &image, "--ca-bundle"])
        .arg(dir.join("tls.key"))
        .output()
        .expect("manifests");
    assert_eq!(o.status.code(), Some(2), "a key is not a CA bundle");
    let _ = std::fs::remove_dir_all(&dir);
}
