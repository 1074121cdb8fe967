//! `mlguard scan --cluster` end to end: the example platform's objects are put into the
//! loopback fake API server (crates/mlguard-operator/tests/support/fake_api.rs), and a scan of
//! the cluster (plus the audit Policy files, which are not API objects) finds what a scan of
//! the manifests finds, control by control and object by object.

mod common;

#[path = "../../mlguard-operator/tests/support/fake_api.rs"]
mod fake_api;

use common::root;
use fake_api::FakeApi;
use mlguard_operator::snapshot::KINDS;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::{Command, Output, Stdio};

fn kubeconfig(url: &str, dir: &std::path::Path) -> std::path::PathBuf {
    fake_api::kubeconfig(url, dir, "fake-ctx")
}

async fn mlguard(args: Vec<String>, kubeconfig: Option<std::path::PathBuf>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mlguard"));
        c.args(&args)
            .current_dir(root())
            .env_remove("MLGUARD_FORMAT")
            .env_remove("KUBECONFIG")
            .env("HOME", std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(k) = kubeconfig {
            c.env("KUBECONFIG", k);
        }
        c.output().expect("run")
    })
    .await
    .expect("join")
}

/// (control, kind, namespace, name, status) of every finding.
fn findings(report: &Value) -> BTreeSet<(String, String, String, String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (
                s(&f["control"]),
                s(&f["resource"]["kind"]),
                s(&f["resource"]["namespace"]),
                s(&f["resource"]["name"]),
                s(&f["status"]),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_cluster_scans_as_its_manifests_do() {
    let platform = root().join("examples/platform");
    let loaded = mlguard_core::load(
        &[platform.display().to_string()],
        &mlguard_core::LoadOptions::default(),
    );
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let api = FakeApi::start().await;
    // Discovery: every kind mlguard reads.
    let mut groups: std::collections::BTreeMap<String, Vec<(&str, &str, bool)>> =
        Default::default();
    for k in KINDS {
        let gv = if k.group.is_empty() {
            k.version.to_owned()
        } else {
            format!("{}/{}", k.group, k.version)
        };
        let namespaced = !mlguard_core::inventory::is_cluster_scoped(k.kind);
        groups
            .entry(gv)
            .or_default()
            .push((k.plural, k.kind, namespaced));
    }
    let mut used_kubeflow = false;
    for o in &loaded.objects {
        if o.kind == "Policy" {
            continue; // the audit Policy is a file on the control plane
        }
        let k = KINDS
            .iter()
            .find(|k| k.kind == o.kind && k.group == o.group())
            .unwrap_or_else(|| {
                panic!(
                    "{} {} is not a kind the cluster snapshot reads",
                    o.api_version, o.kind
                )
            });
        used_kubeflow |= k.group == "kubeflow.org";
        let prefix = if k.group.is_empty() {
            format!("api/{}", k.version)
        } else {
            format!("apis/{}/{}", k.group, k.version)
        };
        let mut v = o.at().node.to_json();
        v["apiVersion"] = Value::String(if k.group.is_empty() {
            k.version.to_owned()
        } else {
            format!("{}/{}", k.group, k.version)
        });
        if v["metadata"]["namespace"].is_null()
            && !mlguard_core::inventory::is_cluster_scoped(k.kind)
        {
            v["metadata"]["namespace"] = Value::String("default".to_owned());
        }
        api.put(&prefix, k.plural, v);
    }
    assert!(used_kubeflow, "the example uses a Kubeflow kind");
    for (gv, res) in &groups {
        api.serve(gv, res);
    }
    let dir = common::TempDir::new("cluster-scan");
    let kc = kubeconfig(&api.url, &dir);

    let files = mlguard(
        [
            "scan",
            "examples/platform",
            "--format",
            "json",
            "--fail-on",
            "none",
            "-q",
        ]
        .map(String::from)
        .to_vec(),
        None,
    )
    .await;
    assert_eq!(
        files.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&files.stderr)
    );
    let cluster = mlguard(
        [
            "scan",
            "--cluster",
            "--kube-context",
            "fake-ctx",
            "examples/platform/cluster/audit-policy.yaml",
            "examples/platform/team-b/audit-policy-staging.yaml",
            "--config",
            "examples/platform/mlguard.yaml",
            "--format",
            "json",
            "--fail-on",
            "none",
        ]
        .map(String::from)
        .to_vec(),
        Some(kc.clone()),
    )
    .await;
    let stderr = String::from_utf8_lossy(&cluster.stderr);
    assert_eq!(cluster.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("does not serve"),
        "every kind is served: {stderr}"
    );
    let a: Value = serde_json::from_slice(&files.stdout).expect("json");
    let b: Value = serde_json::from_slice(&cluster.stdout).expect("json");
    let (fa, fb) = (findings(&a), findings(&b));
    assert!(!fa.is_empty());
    assert_eq!(
        fa.difference(&fb).collect::<Vec<_>>(),
        Vec::<&(String, String, String, String, String)>::new(),
        "found in the files, not in the cluster"
    );
    assert_eq!(
        fb.difference(&fa).collect::<Vec<_>>(),
        Vec::<&(String, String, String, String, String)>::new(),
        "found in the cluster, not in the files"
    );
    assert_eq!(a["summary"]["controls"], b["summary"]["controls"]);
    let inputs = b["inputs"].as_array().expect("inputs");
    assert!(
        inputs.iter().any(|i| i["file"]
            .as_str()
            .is_some_and(|f| f.starts_with("cluster:fake-ctx/"))),
        "{inputs:?}"
    );

    // --save-snapshot: the findings point at files that exist, and scanning those files
    // offline finds the same again.
    let snap = dir.join("snapshot");
    let common = [
        "examples/platform/cluster/audit-policy.yaml",
        "examples/platform/team-b/audit-policy-staging.yaml",
        "--config",
        "examples/platform/mlguard.yaml",
        "--format",
        "json",
        "--fail-on",
        "none",
        "-q",
    ];
    let mut args: Vec<String> = [
        "scan",
        "--cluster",
        "--kube-context",
        "fake-ctx",
        "--save-snapshot",
    ]
    .map(String::from)
    .to_vec();
    args.push(snap.display().to_string());
    args.extend(common.map(String::from));
    let saved = mlguard(args, Some(kc.clone())).await;
    assert_eq!(
        saved.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&saved.stderr)
    );
    let c: Value = serde_json::from_slice(&saved.stdout).expect("json");
    assert_eq!(findings(&c), fb);
    for f in c["findings"].as_array().expect("findings") {
        let file = f["location"]["file"].as_str().expect("file");
        assert!(root().join(file).is_file(), "{file}");
    }
    assert!(snap.join("apps_v1/deployments.json").is_file());
    let mut args = vec!["scan".to_owned(), snap.display().to_string()];
    args.extend(common.map(String::from));
    let offline = mlguard(args, None).await;
    assert_eq!(
        offline.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&offline.stderr)
    );
    let d: Value = serde_json::from_slice(&offline.stdout).expect("json");
    assert_eq!(
        findings(&d),
        fb,
        "the saved snapshot scans the same offline"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_exits_2() {
    let dir = common::TempDir::new("cluster-down");
    let kc = kubeconfig("http://127.0.0.1:9", &dir);
    let o = mlguard(
        ["scan", "--cluster", "-q"].map(String::from).to_vec(),
        Some(kc),
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("cannot read the cluster"), "{e}");
    let o = mlguard(
        ["scan", "--cluster", "--kube-context", "nope", "-q"]
            .map(String::from)
            .to_vec(),
        Some(dir.join("kubeconfig")),
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("nope"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = mlguard(
        ["scan", "--kube-context", "x", "k8s/"]
            .map(String::from)
            .to_vec(),
        None,
    )
    .await;
    assert_eq!(o.status.code(), Some(2), "--kube-context needs --cluster");
}
