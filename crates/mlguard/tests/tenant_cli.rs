//! `mlguard tenant render` end to end, and dogfooding: every example tenant, rendered and run
//! with typical well-configured workloads in its namespaces, passes `mlguard scan` with no
//! finding at medium or above, and `mlguard netpol verify --intents training-isolation`.

mod common;

use common::{kubernetes_validate, root, run};
use std::path::PathBuf;

fn tmpdir(name: &str) -> common::TempDir {
    common::TempDir::new(&format!("tenant-{name}"))
}

fn err(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const SECURE_POD: &str = "automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: 1000
  fsGroup: 1000
  seccompProfile: {type: RuntimeDefault}";

const SECURE_CONTAINER: &str = "securityContext:
  allowPrivilegeEscalation: false
  capabilities: {drop: [ALL]}";

fn indent(s: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    s.lines().map(|l| format!("{pad}{l}\n")).collect()
}

/// A PyTorchJob, an InferenceService or a Notebook as a careful team writes them.
fn workload(ns: &str, role: &str, port_range: Option<(u16, u16)>) -> String {
    let image = "registry.example.com/ml/pytorch@sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
    match role {
        "training" => {
            let sysctl = port_range.map_or(String::new(), |(f, t)| {
                format!("  sysctls: [{{name: net.ipv4.ip_local_port_range, value: \"{f} {t}\"}}]\n")
            });
            let pod = format!(
                "{}{}containers:\n- name: pytorch\n  image: {image}\n{}  resources:\n    limits: {{nvidia.com/gpu: 1, cpu: \"4\", memory: 16Gi}}\n  volumeMounts: [{{name: dshm, mountPath: /dev/shm}}]\nvolumes:\n- name: dshm\n  emptyDir: {{medium: Memory, sizeLimit: 8Gi}}\n",
                SECURE_POD.to_owned() + "\n",
                sysctl,
                indent(SECURE_CONTAINER, 2)
            );
            let spec = |replicas: u32| {
                format!(
                    "      replicas: {replicas}\n      restartPolicy: OnFailure\n      template:\n        spec:\n{}",
                    indent(&pod, 10)
                )
            };
            format!(
                "apiVersion: kubeflow.org/v1\nkind: PyTorchJob\nmetadata: {{name: train, namespace: {ns}}}\nspec:\n  pytorchReplicaSpecs:\n    Master:\n{}    Worker:\n{}",
                spec(1),
                spec(2)
            )
        }
        "serving" => format!(
            "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata:\n  name: model\n  namespace: {ns}\n  annotations: {{mlguard.io/model-encryption: \"vault-transit://transit/keys/model\"}}\nspec:\n  predictor:\n{}    model:\n      modelFormat: {{name: pytorch}}\n      storageUri: https://models.example.com/{ns}/model.mlge\n{}      resources:\n        limits: {{nvidia.com/gpu: 1, cpu: \"4\", memory: 16Gi}}\n",
            indent(SECURE_POD, 4),
            indent(SECURE_CONTAINER, 6)
        ),
        _ => format!(
            "apiVersion: kubeflow.org/v1\nkind: Notebook\nmetadata: {{name: analysis, namespace: {ns}}}\nspec:\n  template:\n    spec:\n{}      containers:\n      - name: analysis\n        image: {image}\n{}        resources:\n          limits: {{cpu: \"2\", memory: 8Gi}}\n",
            indent(SECURE_POD, 6),
            indent(SECURE_CONTAINER, 8)
        ),
    }
}

#[test]
fn rendered_examples_pass_the_scan_and_training_isolation() {
    let d = tmpdir("dogfood");
    let rendered = d.join("rendered");
    let o = run(
        &[
            "tenant",
            "render",
            "examples/tenants",
            "-o",
            rendered.to_str().expect("utf8"),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    // Workloads in every namespace of every example, as the tenants would run them, and each
    // tenant's storage endpoints for the isolation check.
    type Ns<'a> = (&'a str, &'a str, Option<(u16, u16)>);
    let tenants: [(&str, &[Ns<'_>], &str); 3] = [
        (
            "genomics",
            &[
                ("genomics-train", "training", None),
                ("genomics-serve", "serving", None),
            ],
            "[\"10.40.0.0/16:443\"]",
        ),
        (
            "recsys",
            &[
                ("recsys-notebooks", "notebooks", None),
                ("recsys-train", "training", None),
                ("recsys-serving", "serving", None),
            ],
            "[]",
        ),
        (
            "fraud",
            &[("fraud-train", "training", Some((40000, 40999)))],
            "[\"52.216.0.0/15:443\"]",
        ),
    ];
    let mut all = Vec::new();
    for (tenant, namespaces, storage) in &tenants {
        let docs: Vec<String> = namespaces
            .iter()
            .map(|(ns, role, range)| workload(ns, role, *range))
            .collect();
        all.extend(docs.clone());
        let w = d.join(format!("{tenant}-workloads.yaml"));
        std::fs::write(&w, docs.join("---\n")).expect("write");
        let c = d.join(format!("{tenant}.mlguard.yaml"));
        std::fs::write(&c, format!("clusterCIDRs: [10.244.0.0/16]\nserviceCIDRs: [10.96.0.0/12]\nstorageEndpoints: {storage}\n")).expect("write");
        let r = rendered.join(format!("{tenant}.yaml"));
        let o = run(
            &[
                "netpol",
                "verify",
                r.to_str().expect("utf8"),
                w.to_str().expect("utf8"),
                "--intents",
                "training-isolation",
                "--config",
                c.to_str().expect("utf8"),
            ],
            None,
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "{tenant}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            err(&o)
        );
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("PASS"),
            "{tenant}"
        );
    }
    let workloads = d.join("workloads.yaml");
    std::fs::write(&workloads, all.join("---\n")).expect("write");
    let config = d.join("mlguard.yaml");
    std::fs::write(
        &config,
        "clusterCIDRs: [10.244.0.0/16]\nserviceCIDRs: [10.96.0.0/12]\nstorageEndpoints: [\"10.40.0.0/16:443\", \"52.216.0.0/15:443\"]\n",
    )
    .expect("write");
    let (r, w, c) = (
        rendered.to_str().expect("utf8"),
        workloads.to_str().expect("utf8"),
        config.to_str().expect("utf8"),
    );
    let out = d.join("f.json");
    let o = run(
        &[
            "scan",
            r,
            w,
            "--config",
            c,
            "--format",
            "json",
            "-o",
            out.to_str().expect("utf8"),
            "--fail-on",
            "medium",
        ],
        None,
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("report")).expect("json");
    let bad: Vec<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] != "low")
        .map(|f| {
            format!(
                "{} {} {}: {}",
                f["severity"], f["control"], f["location"]["file"], f["message"]
            )
        })
        .collect();
    assert!(
        bad.is_empty(),
        "findings at medium or above:\n{}",
        bad.join("\n")
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        report["errors"].as_array().expect("errors").is_empty(),
        "{}",
        report["errors"]
    );
    // The controls that judge what a tenant renders were really evaluated (not skipped).
    let evaluated = |id: &str| {
        report["summary"]["controls"]
            .as_array()
            .expect("controls")
            .iter()
            .find(|c| c["id"] == id)
            .map_or(0, |c| c["evaluated"].as_u64().unwrap_or(0))
    };
    for id in [
        "MLG-NET-001",
        "MLG-NET-002",
        "MLG-NET-003",
        "MLG-NET-004",
        "MLG-NET-005",
        "MLG-NET-006",
        "MLG-RBAC-001",
        "MLG-RBAC-002",
        "MLG-RBAC-003",
        "MLG-RBAC-004",
        "MLG-QUOTA-001",
        "MLG-DATA-001",
        "MLG-AUD-001",
        "MLG-AUD-002",
        "MLG-AUD-003",
        "MLG-AUD-004",
        "MLG-ENC-006",
    ] {
        assert!(evaluated(id) > 0, "{id} was not evaluated");
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn render_to_stdout_is_one_stream_and_json_is_a_list() {
    let o = run(
        &["tenant", "render", "examples/tenants/fraud-pci.yaml"],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.contains("kind: Namespace") && s.contains("\n---\n"),
        "{s}"
    );
    // The pinned collective range: endPort rule plus the rendezvous ports.
    assert!(
        s.contains("endPort: 40999") && s.contains("port: 29500") && s.contains("port: 29400"),
        "{s}"
    );
    let o = run(
        &[
            "tenant",
            "render",
            "examples/tenants/fraud-pci.yaml",
            "--format",
            "json",
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["kind"], "List");
    let kinds: Vec<&str> = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["kind"].as_str().expect("kind"))
        .collect();
    for k in [
        "Namespace",
        "NetworkPolicy",
        "Role",
        "RoleBinding",
        "ResourceQuota",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    let quota = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["kind"] == "ResourceQuota")
        .expect("quota");
    assert_eq!(
        quota["spec"]["hard"]["gpu.nvidia.com.deviceclass.resource.k8s.io/devices"],
        "8"
    );
    assert_eq!(quota["spec"]["hard"]["requests.nvidia.com/gpu"], "0");
}

#[test]
fn audit_policy_for_tenants_lints_clean_and_lists_regulated_namespaces() {
    let d = tmpdir("audit");
    let p = d.join("audit.yaml");
    let ps = p.to_str().expect("utf8");
    let o = run(
        &[
            "audit",
            "policy",
            "generate",
            "--tenants",
            "examples/tenants",
            "-o",
            ps,
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let text = std::fs::read_to_string(&p).expect("policy");
    assert!(
        text.contains("namespaces: [\"fraud-train\", \"genomics-serve\", \"genomics-train\"]"),
        "{text}"
    );
    let o = run(&["audit", "policy", "lint", ps, "--fail-on", "low"], None);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn bad_tenants_exit_2_with_file_line_and_field_and_render_nothing() {
    let d = tmpdir("bad");
    let cases = [
        ("spec:\n  classification: phi\n  namespaces: [{name: a, role: training}]\n  network: {collective: {mode: port-range, from: 40000}}\n", "field `spec.network.collective`"),
        ("spec:\n  classification: phi\n  namespaces: [{name: a, role: trainer}]\n", "spec.namespaces[0].role"),
        ("spec:\n  classification: phi\n  namespace: [{name: a, role: training}]\n", "unknown field `namespace`"),
        ("spec:\n  classification: phi\n  namespaces: [{name: a, role: training}]\n  network: {storageEndpoints: [{cidr: 10.0.0.0/33}]}\n", "spec.network.storageEndpoints[0].cidr"),
        ("spec:\n  classification: internal\n  namespaces: [{name: a, role: training}]\n  members: {engineers: {groups: [\"system:authenticated\"]}}\n", "would grant the role to everyone"),
        ("spec:\n  classification: phi\n  namespaces: [{name: a, role: training}]\n  keyProvider: {type: hsm}\n", "spec.keyProvider.type"),
        ("spec:\n  classification: phi\n  namespaces: [{name: a, role: training}]\n  quota: {cpu: lots}\n", "`lots` is not a quantity"),
    ];
    for (i, (spec, want)) in cases.iter().enumerate() {
        let f = d.join(format!("t{i}.yaml"));
        std::fs::write(
            &f,
            format!(
                "apiVersion: mlguard.io/v1alpha1\nkind: MLTenant\nmetadata: {{name: t{i}}}\n{spec}"
            ),
        )
        .expect("write");
        let o = run(&["tenant", "render", f.to_str().expect("utf8")], None);
        assert_eq!(o.status.code(), Some(2), "case {i}: {}", err(&o));
        let e = err(&o);
        assert!(
            e.contains(&format!("t{i}.yaml:")) && e.contains(want),
            "case {i}: want {want} in {e}"
        );
        assert!(o.stdout.is_empty(), "case {i}: nothing rendered");
    }
    // Two tenants claiming one namespace: the second is named, nothing is rendered.
    let a = d.join("a.yaml");
    std::fs::write(&a, "apiVersion: mlguard.io/v1alpha1\nkind: MLTenant\nmetadata: {name: a}\nspec: {classification: internal, namespaces: [{name: shared, role: training}]}\n---\napiVersion: mlguard.io/v1alpha1\nkind: MLTenant\nmetadata: {name: b}\nspec:\n  classification: internal\n  namespaces:\n  - {name: shared, role: serving}\n").expect("write");
    let o = run(&["tenant", "render", a.to_str().expect("utf8")], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("a.yaml:12:") && err(&o).contains("already belongs to MLTenant `a`"),
        "{}",
        err(&o)
    );
    assert!(o.stdout.is_empty());
    let _ = std::fs::remove_dir_all(&d);
    let _ = root();
}

#[test]
fn crd_prints_as_yaml_and_json_alike() {
    let y = run(&["tenant", "crd"], None);
    assert_eq!(y.status.code(), Some(0), "{}", err(&y));
    let j = run(&["tenant", "crd", "--format", "json"], None);
    let json: serde_json::Value = serde_json::from_slice(&j.stdout).expect("json");
    let text = String::from_utf8_lossy(&y.stdout);
    let (objs, errs, _) = mlguard_core::load::load_text("crd.yaml", &text, &Default::default());
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(objs[0].root.to_json(), json);
    assert_eq!(json["metadata"]["name"], "mltenants.mlguard.io");
    assert!(text.contains("x-kubernetes-validations"));
}

/// Every rendered core object, and the CRD, validates strictly against the Kubernetes 1.33
/// and 1.37 schemas shipped by the PyPI package kubernetes-validate
/// (scripts/requirements-test.txt). Custom resources it has no schema for are listed.
#[test]
fn rendered_objects_validate_against_the_kubernetes_schemas() {
    let Some(validate) = kubernetes_validate() else {
        return;
    };
    let d = tmpdir("kv");
    let rendered = d.join("rendered");
    let o = run(
        &[
            "tenant",
            "render",
            "examples/tenants",
            "-o",
            rendered.to_str().expect("utf8"),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let crd = d.join("crd.yaml");
    let o = run(&["tenant", "crd", "-o", crd.to_str().expect("utf8")], None);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let mut files = vec![crd.clone()];
    for t in ["genomics", "recsys", "fraud"] {
        files.push(rendered.join(format!("{t}.yaml")));
    }
    // A broken object must fail, so the check can fail.
    let broken = d.join("broken.yaml");
    std::fs::write(&broken, "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q, namespace: a}\nspec: {hard: {cpu: 1}, hardd: {}}\n").expect("write");
    let o = std::process::Command::new(&validate)
        .args(["--strict", "-k", "1.33.0"])
        .arg(&broken)
        .output()
        .expect("run");
    assert!(
        !o.status.success(),
        "a misspelled field must fail strict validation"
    );
    for version in ["1.33.0", "1.37.0"] {
        let o = std::process::Command::new(&validate)
            .args(["--strict", "-k", version])
            .args(&files)
            .output()
            .expect("run kubernetes-validate");
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.status.success(), "{version}:\n{out}");
        for line in out.lines().filter(|l| l.starts_with("WARN")) {
            assert!(
                ["SecretProviderClass", "PeerAuthentication", "LocalQueue"]
                    .iter()
                    .any(|k| line.contains(&format!("kind {k} "))),
                "{version}: unexpected warning {line}"
            );
        }
        let valid = out
            .lines()
            .filter(|l| l.starts_with("INFO") && l.contains(" passed for resource "))
            .count();
        assert!(valid >= 40, "{version}: {valid} objects validated:\n{out}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// The custom resources render writes (SecretProviderClass, Kueue LocalQueue, Istio
/// PeerAuthentication) validate against strict JSON Schemas transcribed from their upstream
/// API types (tests/schemas/README.md: the upstream CRDs are not material this project may
/// vendor); a misspelled field or a value outside an enumeration fails.
#[test]
fn rendered_custom_resources_validate_against_their_api_schemas() {
    let python = match std::env::var_os("MLGUARD_TEST_PYTHON") {
        Some(p) => {
            let p = PathBuf::from(p);
            if p.is_absolute() {
                p
            } else {
                root().join(p)
            }
        }
        None => {
            assert!(
                std::env::var("MLGUARD_REQUIRE_TOOLS").map_or(true, |v| v != "1"),
                "MLGUARD_REQUIRE_TOOLS=1 but MLGUARD_TEST_PYTHON is not set"
            );
            eprintln!("skipping: MLGUARD_TEST_PYTHON not set");
            return;
        }
    };
    let o = run(
        &["tenant", "render", "examples/tenants", "--format", "json"],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let mut items: Vec<serde_json::Value> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|o| {
            ["SecretProviderClass", "LocalQueue", "PeerAuthentication"]
                .contains(&o["kind"].as_str().unwrap_or_default())
        })
        .cloned()
        .collect();
    for kind in ["SecretProviderClass", "LocalQueue", "PeerAuthentication"] {
        assert!(
            items.iter().any(|o| o["kind"] == kind),
            "the examples render a {kind}"
        );
    }
    let checked = items.len();
    // Broken copies, each of which must fail.
    let mut bad = Vec::new();
    for o in &items {
        let mut b = o.clone();
        match o["kind"].as_str() {
            Some("SecretProviderClass") => b["spec"]["provder"] = b["spec"]["provider"].take(),
            Some("LocalQueue") => b["spec"]["stopPolicy"] = serde_json::json!("Pause"),
            _ => b["spec"]["mtls"]["mode"] = serde_json::json!("STRICTEST"),
        }
        bad.push(b);
    }
    items.extend(bad);
    let script = r#"
import json, sys, pathlib, jsonschema
d = pathlib.Path(sys.argv[1])
schemas = {"SecretProviderClass": "secretproviderclass-v1.json", "LocalQueue": "localqueue-v1beta1.json",
           "PeerAuthentication": "peerauthentication-v1.json"}
for o in json.load(sys.stdin):
    schema = json.loads((d / schemas[o["kind"]]).read_text())
    errs = sorted(jsonschema.Draft7Validator(schema).iter_errors(o), key=lambda e: list(e.path))
    print("FAIL" if errs else "OK", o["kind"], o["metadata"]["namespace"], "; ".join(e.message for e in errs))
"#;
    let mut child = std::process::Command::new(&python)
        .args(["-c", script])
        .arg(root().join("crates/mlguard/tests/schemas"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(serde_json::to_string(&items).expect("json").as_bytes())
            .expect("write");
    }
    let o = child.wait_with_output().expect("python");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{out}{}", err(&o));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), checked * 2, "{out}");
    for (i, l) in lines.iter().enumerate() {
        if i < checked {
            assert!(l.starts_with("OK "), "rendered object invalid: {l}");
        } else {
            assert!(l.starts_with("FAIL "), "a broken object passed: {l}");
        }
    }
}

/// The operator's install manifests validate strictly against the Kubernetes schemas and scan
/// clean at every severity; an image not pinned by digest is refused.
#[test]
fn operator_manifests_validate_and_scan_clean() {
    let d = tmpdir("opm");
    let f = d.join("operator.yaml");
    let image = format!(
        "registry.example.com/mlguard/mlguard@sha256:{}",
        "a".repeat(64)
    );
    let o = run(
        &[
            "operator",
            "manifests",
            "--image",
            &image,
            "-o",
            f.to_str().expect("utf8"),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let o = run(
        &["scan", f.to_str().expect("utf8"), "--fail-on", "low"],
        None,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = run(
        &["operator", "manifests", "--image", "mlguard:latest"],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("not pinned by digest"), "{}", err(&o));
    common::assert_valid_for_kubernetes(&f, &["1.33.0"]);
    let _ = std::fs::remove_dir_all(&d);
}
