//! `mlguard image scan` and MLG-IMG-002 through the real binary: a root filesystem and a
//! Python environment built here, an OCI image built with umoci (Debian's), a database of OSV
//! records written here (GitHub ratings, CVSS vectors, aliases, a Debian source package), the
//! table, JSON, exit codes per --fail-on, the database age warning, bad targets, and
//! `mlguard scan --image-scan/--images` placing findings on the containers that run the image.

mod common;

use common::{code, err, out};
use std::path::{Path, PathBuf};
use std::process::Command;

fn mlg(args: &[&str]) -> std::process::Output {
    common::run(args, None)
}

/// `mlguard image scan TARGET --db DB EXTRA...`
fn image_scan(target: &str, db: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["image", "scan", target, "--db", db];
    args.extend_from_slice(extra);
    mlg(&args)
}

/// `mlguard scan ARGS... --format json --fail-on none`
fn control_scan_json(args: &[&str]) -> std::process::Output {
    let mut all = vec!["scan"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json", "--fail-on", "none"]);
    mlg(&all)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn write(p: &Path, body: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

/// Python and dpkg records under `root` (prefix `""` for a root filesystem).
fn fill(root: &Path, site: &str) {
    for (name, version) in [
        ("torch", "2.1.0+cu121"),
        ("urllib3", "1.26.4"),
        ("six", "1.16.0"),
    ] {
        write(
            &root.join(format!("{site}{name}-{version}.dist-info/METADATA")),
            &format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nbody\n"),
        );
    }
}

const DPKG: &str = "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u1\nArchitecture: amd64\n\nPackage: zlib1g\nStatus: install ok installed\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n\n";

/// The records: torch (GitHub rating critical, an alias shared by a PYSEC record), urllib3
/// (CVSS vector only: 6.1 medium), six (fixed before the installed version: no finding),
/// openssl (Debian, keyed by the source package; no rating: unknown).
fn database(dir: &Path) -> PathBuf {
    let src = dir.join("records");
    let recs = [
        (
            "GHSA-torch-0001",
            r#"{"id":"GHSA-torch-0001","aliases":["CVE-2024-0001"],"summary":"torch.load runs code","database_specific":{"severity":"CRITICAL"},
               "affected":[{"package":{"ecosystem":"PyPI","name":"torch"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.2.0"}]}]}]}"#,
        ),
        (
            "PYSEC-2024-1",
            r#"{"id":"PYSEC-2024-1","aliases":["CVE-2024-0001"],
               "affected":[{"package":{"ecosystem":"PyPI","name":"torch"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.2.0"}]}]}]}"#,
        ),
        (
            "GHSA-urllib3-0002",
            r#"{"id":"GHSA-urllib3-0002","summary":"redirect leak","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"}],
               "affected":[{"package":{"ecosystem":"PyPI","name":"urllib3"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1.26.0"},{"fixed":"1.26.5"}]}]}]}"#,
        ),
        (
            "GHSA-six-0003",
            r#"{"id":"GHSA-six-0003","database_specific":{"severity":"HIGH"},
               "affected":[{"package":{"ecosystem":"PyPI","name":"six"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.10.0"}]}]}]}"#,
        ),
        (
            "DSA-0004",
            r#"{"id":"DSA-0004","summary":"openssl flaw",
               "affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.13-1~deb12u1"}]}]}]}"#,
        ),
    ];
    for (id, body) in recs {
        write(&src.join(format!("{id}.json")), body);
    }
    let db = dir.join("db");
    let o = mlg(&["vuln", "db", "import", s(&src), "--db", s(&db)]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    db
}

fn rootfs(dir: &Path) -> PathBuf {
    let r = dir.join("rootfs");
    fill(&r, "usr/lib/python3/dist-packages/");
    write(&r.join("var/lib/dpkg/status"), DPKG);
    r
}

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&out(o)).unwrap_or_else(|e| panic!("{e}: {}", out(o)))
}

#[test]
fn table_json_and_exit_codes() {
    let t = tempfile::tempdir().unwrap();
    let db = database(t.path());
    let r = rootfs(t.path());

    let o = image_scan(s(&r), s(&db), &[]);
    assert_eq!(code(&o), 1, "{}{}", out(&o), err(&o));
    let table = out(&o);
    assert!(table.contains("torch 2.1.0+cu121 (PyPI)"), "{table}");
    assert!(
        table.contains("GHSA-torch-0001      critical fix 2.2.0"),
        "{table}"
    );
    assert!(table.contains("(PYSEC-2024-1, CVE-2024-0001)"), "{table}");
    assert!(
        table.contains("libssl3 3.0.11-1~deb12u1 (Debian)"),
        "{table}"
    );
    assert!(!table.contains("six 1.16.0"), "no finding for six: {table}");
    assert!(
        table.contains(
            "6 packages, 3 vulnerabilities in 3 packages (1 critical, 0 high, 1 medium, 0 low, 1 unknown)"
        ),
        "{table}"
    );

    let o = image_scan(s(&r), s(&db), &["--format", "json"]);
    assert_eq!(code(&o), 1, "{}", err(&o));
    let v = json(&o);
    assert_eq!(v["format"], "mlguard.image-scan/v1");
    assert_eq!(v["target"]["kind"], "rootfs");
    let pkgs = v["packages"].as_array().unwrap();
    let find = |id: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} missing: {v}"))
    };
    let torch = find("GHSA-torch-0001");
    assert_eq!(
        torch["ids"],
        serde_json::json!(["GHSA-torch-0001", "PYSEC-2024-1", "CVE-2024-0001"])
    );
    assert_eq!(
        pkgs[torch["package"].as_u64().unwrap() as usize]["name"],
        "torch"
    );
    assert_eq!(
        pkgs[torch["package"].as_u64().unwrap() as usize]["purl"],
        "pkg:pypi/torch@2.1.0%2Bcu121"
    );
    let u = find("GHSA-urllib3-0002");
    assert_eq!(u["severity"], "medium");
    assert_eq!(u["score"], 6.1);
    let deb = find("DSA-0004");
    assert_eq!(deb["severity"], "unknown");
    assert_eq!(
        pkgs[deb["package"].as_u64().unwrap() as usize]["source"],
        "openssl"
    );

    // --fail-on: critical fails (torch), none never does, unknown reaches every threshold.
    for (fail_on, want) in [("critical", 1), ("none", 0), ("low", 1)] {
        let o = image_scan(s(&r), s(&db), &["--fail-on", fail_on, "-q"]);
        assert_eq!(code(&o), want, "--fail-on {fail_on}: {}", err(&o));
    }
    // Without the unknown-severity Debian record, --fail-on critical still fails on torch,
    // and a tree with only urllib3 passes --fail-on high.
    let only = t.path().join("only-urllib3");
    write(
        &only.join("urllib3-1.26.4.dist-info/METADATA"),
        "Name: urllib3\nVersion: 1.26.4\n",
    );
    let o = image_scan(s(&only), s(&db), &["--fail-on", "high"]);
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    let o = image_scan(s(&only), s(&db), &["--fail-on", "medium"]);
    assert_eq!(code(&o), 1, "{}", err(&o));
    // A site-packages folder is a Python environment.
    let o = image_scan(s(&only), s(&db), &["--format", "json", "--fail-on", "none"]);
    assert_eq!(json(&o)["target"]["kind"], "python-env");
}

#[test]
fn database_age_missing_database_and_bad_targets() {
    let t = tempfile::tempdir().unwrap();
    let db = database(t.path());
    let r = rootfs(t.path());
    // Age the database: meta.json's updatedAt 30 days back.
    let meta_p = db.join("meta.json");
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta_p).unwrap()).unwrap();
    let key = if meta.get("updated_at").is_some() {
        "updated_at"
    } else {
        "updatedAt"
    };
    let now = meta[key].as_u64().unwrap();
    meta[key] = serde_json::json!(now - 30 * 86_400);
    std::fs::write(&meta_p, serde_json::to_vec(&meta).unwrap()).unwrap();
    // Printed once, even with --quiet (which hides only the progress bar).
    let o = image_scan(s(&r), s(&db), &["--fail-on", "none", "-q"]);
    assert_eq!(code(&o), 0);
    assert_eq!(
        err(&o)
            .matches("was last imported 30 days ago (more than 7)")
            .count(),
        1,
        "{}",
        err(&o)
    );
    let o = image_scan(s(&r), s(&db), &["--fail-on", "none", "--format", "json"]);
    assert!(json(&o)["warnings"]
        .to_string()
        .contains("last imported 30 days ago"));
    let o = image_scan(s(&r), s(&db), &["--fail-on", "none", "--max-db-age", "60"]);
    assert!(!err(&o).contains("days ago"), "{}", err(&o));

    let o = image_scan(s(&r), s(&t.path().join("nodb")), &[]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("vuln db import"), "{}", err(&o));

    for (target, want) in [
        ("./does/not/exist", "no such file or folder"),
        ("oci:/does/not/exist", "no such file or folder"),
    ] {
        let o = image_scan(target, s(&db), &[]);
        assert_eq!(code(&o), 2, "{target}");
        assert!(err(&o).contains(want), "{target}: {}", err(&o));
    }
    // A file that is not an image archive: exit 2 naming it.
    let junk = t.path().join("junk.tar");
    std::fs::write(&junk, b"this is not a tar file at all, just text").unwrap();
    let o = image_scan(s(&junk), s(&db), &[]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("junk.tar"), "{}", err(&o));
    // A malformed version: the package is reported, not skipped, and the scan exits 2.
    let bad = t.path().join("bad-env");
    write(
        &bad.join("torch-x.dist-info/METADATA"),
        "Name: torch\nVersion: not..a..version\n",
    );
    let o = image_scan(s(&bad), s(&db), &[]);
    assert_eq!(code(&o), 2, "{}{}", out(&o), err(&o));
    assert!(err(&o).contains("torch not..a..version"), "{}", err(&o));
    for f in ["yaml", ""] {
        let o = image_scan(s(&r), s(&db), &["--format", f]);
        assert_eq!(code(&o), 2);
        assert!(err(&o).contains("--format"), "{}", err(&o));
    }
    let o = image_scan(s(&r), s(&db), &["--fail-on", "unknown"]);
    assert_eq!(code(&o), 2);
}

/// umoci (Debian's), or None to skip (a failure with MLGUARD_REQUIRE_TOOLS=1).
fn umoci() -> Option<&'static str> {
    let ok = Command::new("umoci")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("MLGUARD_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "MLGUARD_REQUIRE_TOOLS=1 but umoci is not installed"
        );
        eprintln!("skipping: umoci not installed");
        return None;
    }
    Some("umoci")
}

fn run(cmd: &str, args: &[&str]) {
    let o = Command::new(cmd).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// An OCI layout with one image `train` built by umoci from `rootfs` files; its manifest
/// digest.
fn oci_image(dir: &Path, layout: &Path, tag: &str) -> String {
    let l = s(layout);
    if !layout.join("index.json").exists() {
        run("umoci", &["init", "--layout", l]);
    }
    let image = format!("{l}:{tag}");
    run("umoci", &["new", "--image", &image]);
    let bundle = dir.join(format!("bundle-{tag}"));
    run(
        "umoci",
        &["unpack", "--rootless", "--image", &image, s(&bundle)],
    );
    let rfs = bundle.join("rootfs");
    fill(&rfs, "usr/local/lib/python3.11/site-packages/");
    write(&rfs.join("var/lib/dpkg/status"), DPKG);
    run("umoci", &["repack", "--image", &image, s(&bundle)]);
    run(
        "umoci",
        &[
            "config",
            "--image",
            &image,
            "--config.env",
            "CUDA_VERSION=12.1.1",
        ],
    );
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

const MANIFESTS: &str = r#"apiVersion: batch/v1
kind: Job
metadata:
  name: train
  namespace: team-a
spec:
  template:
    spec:
      containers:
        - name: trainer
          image: registry.example.com/ml/train@DIGEST
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: other
  namespace: team-a
spec:
  selector: {matchLabels: {app: other}}
  template:
    metadata: {labels: {app: other}}
    spec:
      containers:
        - name: web
          image: registry.example.com/ml/web@sha256:0000000000000000000000000000000000000000000000000000000000000000
"#;

#[test]
fn oci_image_and_mlg_img_002() {
    if umoci().is_none() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let db = database(t.path());
    let layout = t.path().join("images");
    let digest = oci_image(t.path(), &layout, "train");

    let o = image_scan(s(&layout), s(&db), &["--format", "json"]);
    assert_eq!(code(&o), 1, "{}", err(&o));
    let v = json(&o);
    assert_eq!(v["target"]["kind"], "oci-layout");
    assert_eq!(v["target"]["digest"], digest.as_str());
    let names: Vec<String> = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{} {} {}", p["ecosystem"], p["name"], p["version"]).replace('"', ""))
        .collect();
    for want in [
        "PyPI torch 2.1.0+cu121",
        "Debian libssl3 3.0.11-1~deb12u1",
        "NVIDIA cuda 12.1.1",
        "NVIDIA cuda 12.1",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    let results = t.path().join("image-scan.json");
    std::fs::write(&results, out(&o)).unwrap();

    let manifests = t.path().join("manifests.yaml");
    std::fs::write(&manifests, MANIFESTS.replace("DIGEST", &digest)).unwrap();
    // Results from a file: the findings land on the Job's container, at its image line.
    let o = control_scan_json(&[s(&manifests), "--image-scan", s(&results)]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let rep = json(&o);
    let img: Vec<&serde_json::Value> = rep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["control"] == "MLG-IMG-002")
        .collect();
    assert_eq!(img.len(), 3, "torch, urllib3, libssl3: {img:?}");
    for f in &img {
        assert_eq!(f["resource"]["kind"], "Job", "{f}");
        assert_eq!(f["location"]["line"], 11, "{f}");
        assert!(
            f["message"]
                .as_str()
                .unwrap()
                .starts_with("container `trainer` runs"),
            "{f}"
        );
    }
    let torch = img
        .iter()
        .find(|f| f["message"].as_str().unwrap().contains("torch 2.1.0+cu121"))
        .unwrap();
    assert_eq!(torch["severity"], "critical");
    assert!(torch["message"]
        .as_str()
        .unwrap()
        .contains("fixed in 2.2.0"));
    // The same through --images: the image is read from the layout and matched by digest.
    let o = control_scan_json(&[s(&manifests), "--images", s(&layout), "--vuln-db", s(&db)]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let rep2 = json(&o);
    let n = rep2["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["control"] == "MLG-IMG-002" && f["resource"]["kind"] == "Job")
        .count();
    assert_eq!(n, 3);
    // When no container runs the image, findings land on the image itself in the results.
    std::fs::write(
        &manifests,
        MANIFESTS.replace(
            "DIGEST",
            "sha256:1111111111111111111111111111111111111111111111111111111111111111",
        ),
    )
    .unwrap();
    let o = control_scan_json(&[s(&manifests), "--image-scan", s(&results)]);
    let rep3 = json(&o);
    let on_image: Vec<&serde_json::Value> = rep3["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["control"] == "MLG-IMG-002")
        .collect();
    assert_eq!(on_image.len(), 3);
    for f in on_image {
        assert_eq!(f["resource"]["kind"], "ContainerImage");
        assert_eq!(f["location"]["file"], s(&results));
        assert!(f["location"]["line"].as_u64().unwrap() > 1, "{f}");
    }
    // Without results the control is not evaluated, with the reason.
    let o = control_scan_json(&[s(&manifests)]);
    let rep4 = json(&o);
    let c = rep4["summary"]["controls"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == "MLG-IMG-002").cloned())
        .unwrap_or_default();
    assert!(
        c.to_string().contains("no image scan results given"),
        "{}",
        serde_json::to_string_pretty(&rep4["summary"]).unwrap()
    );
    // Results that are not image scan results: exit 2 naming the file.
    let o = mlg(&["scan", s(&manifests), "--image-scan", s(&manifests)]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("not image scan results"), "{}", err(&o));
}

/// A registry reference: docker-registry on loopback over plain HTTP (`--plain-http`; TLS,
/// basic and bearer auth are tested in mlguard-vuln's tests/registry.rs), the image pushed by
/// skopeo; the packages and digest equal the OCI layout's.
#[test]
fn registry_reference() {
    if umoci().is_none() {
        return;
    }
    let have = |t: &str| {
        Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have("skopeo") || !Path::new("/usr/bin/docker-registry").exists() {
        assert!(
            std::env::var("MLGUARD_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "MLGUARD_REQUIRE_TOOLS=1 but skopeo or docker-registry is missing"
        );
        eprintln!("skipping: skopeo or docker-registry not installed");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let db = database(t.path());
    let layout = t.path().join("images");
    let digest = oci_image(t.path(), &layout, "train");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = t.path().join("registry.yml");
    std::fs::write(
        &cfg,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: test\n",
            t.path().join("storage").display()
        ),
    )
    .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _reg = Kill(
        Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&cfg)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed().as_secs() < 15,
            "docker-registry did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let policy = t.path().join("policy.json");
    write(
        &policy,
        r#"{"default": [{"type": "insecureAcceptAnything"}]}"#,
    );
    let reference = format!("127.0.0.1:{port}/ml/train:1");
    run(
        "skopeo",
        &[
            "--policy",
            s(&policy),
            "copy",
            "--dest-tls-verify=false",
            &format!("oci:{}:train", s(&layout)),
            &format!("docker://{reference}"),
        ],
    );
    let o = image_scan(&reference, s(&db), &["--plain-http", "--format", "json"]);
    assert_eq!(code(&o), 1, "{}", err(&o));
    let from_registry = json(&o);
    let o = image_scan(s(&layout), s(&db), &["--format", "json"]);
    let from_layout = json(&o);
    assert_eq!(from_registry["target"]["kind"], "registry");
    assert_eq!(from_registry["target"]["digest"], digest.as_str());
    assert_eq!(from_registry["packages"], from_layout["packages"]);
    assert_eq!(from_registry["findings"], from_layout["findings"]);
    // Without --plain-http the registry is spoken to over HTTPS, which it does not serve.
    let o = image_scan(&reference, s(&db), &["-q"]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains(&reference), "{}", err(&o));
}

/// --vex, --format sarif and cyclonedx, --sbom through the binary (the documents are checked
/// against their schemas in mlguard-vuln's tests/output.rs).
#[test]
fn vex_sarif_cyclonedx_and_sbom() {
    let t = tempfile::tempdir().unwrap();
    let db = database(t.path());
    let r = rootfs(t.path());
    let vex = t.path().join("vex.json");
    write(
        &vex,
        r#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1",
  "author": "platform team", "timestamp": "2026-01-01T00:00:00Z", "version": 1,
  "statements": [
    {"vulnerability": {"name": "CVE-2024-0001"}, "products": [{"@id": "pkg:pypi/torch"}],
     "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
    {"vulnerability": {"name": "DSA-0004"}, "products": [{"@id": "pkg:deb/debian/libssl3@3.0.11-1~deb12u1"}],
     "status": "fixed"},
    {"vulnerability": {"name": "GHSA-urllib3-0002"}, "products": [{"@id": "pkg:pypi/urllib3"}],
     "status": "under_investigation"}
  ]}"#,
    );
    // Without VEX: critical torch fails --fail-on high; with it only urllib3 (medium) counts.
    let o = image_scan(s(&r), s(&db), &["--fail-on", "high"]);
    assert_eq!(code(&o), 1);
    let o = image_scan(s(&r), s(&db), &["--fail-on", "high", "--vex", s(&vex)]);
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    assert!(out(&o).contains("[VEX: not_affected]"), "{}", out(&o));
    assert!(out(&o).contains("2 not affected per VEX"), "{}", out(&o));
    let o = image_scan(s(&r), s(&db), &["--vex", s(&vex), "--format", "json"]);
    let v = json(&o);
    let marks: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["vex"].is_null())
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["vex"]["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        marks,
        [
            ("DSA-0004".to_string(), "fixed".to_string()),
            ("GHSA-torch-0001".to_string(), "not_affected".to_string())
        ]
    );
    // A malformed VEX file: exit 2 naming the file and field.
    let bad = t.path().join("bad-vex.json");
    write(
        &bad,
        r#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a", "timestamp": "2026-01-01T00:00:00Z", "version": 1,
  "statements": [{"vulnerability": {"name": "X"}, "status": "maybe"}]}"#,
    );
    let o = image_scan(s(&r), s(&db), &["--vex", s(&bad)]);
    assert_eq!(code(&o), 2);
    assert!(
        err(&o).contains("bad-vex.json") && err(&o).contains("statements[0].status"),
        "{}",
        err(&o)
    );

    let o = image_scan(s(&r), s(&db), &["--format", "sarif"]);
    assert_eq!(code(&o), 1);
    let sarif = json(&o);
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert!(results
        .iter()
        .any(|x| x["ruleId"] == "GHSA-torch-0001" && x["level"] == "error"));

    let sbom = t.path().join("sbom.cdx.json");
    let o = image_scan(
        s(&r),
        s(&db),
        &["--format", "cyclonedx", "--sbom", s(&sbom)],
    );
    assert_eq!(code(&o), 1, "{}", err(&o));
    let cdx = json(&o);
    assert_eq!(cdx["specVersion"], "1.5");
    assert_eq!(cdx["components"].as_array().unwrap().len(), 6);
    assert_eq!(cdx["vulnerabilities"].as_array().unwrap().len(), 3);
    let only_packages: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sbom).unwrap()).unwrap();
    assert_eq!(only_packages["components"], cdx["components"]);
    assert!(only_packages.get("vulnerabilities").is_none());
}
