//! `mlguard report render|pack|verify|keygen` and `mlguard scan --format html`, run as the real
//! binary. The HTML report of the example platform is loaded in headless Chromium (Debian
//! `chromium`): no console errors, the expected sections and counts in the DOM, and a
//! screenshot kept in target/test-artifacts/report.png. Without chromium the browser test
//! skips, unless `MLGUARD_REQUIRE_TOOLS=1`, where that is a failure.

mod common;

use common::{code, err, out, root, run};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn tmpdir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("report-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmpdir");
    d
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The example platform's findings JSON, written to `dir/findings.json`.
fn example_findings(dir: &Path) -> PathBuf {
    let f = dir.join("findings.json");
    let o = run(
        &["scan", "examples/platform", "--format", "json", "-o", s(&f)],
        None,
    );
    assert_eq!(code(&o), 1, "team B has findings: {}", err(&o));
    f
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).expect("read")).expect("json")
}

/// Debian's chromium, or None to skip (a failure with MLGUARD_REQUIRE_TOOLS=1).
fn chromium() -> Option<&'static str> {
    let ok = Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let required = std::env::var("MLGUARD_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "MLGUARD_REQUIRE_TOOLS=1 but `chromium` is not on PATH (Debian package chromium)"
        );
        eprintln!("skipping: `chromium` is not on PATH (apt-get install chromium)");
        return None;
    }
    Some("chromium")
}

/// Run headless chromium on `page` with `mode` args; (stdout, stderr).
fn chromium_run(bin: &str, profile: &Path, page: &Path, mode: &[&str]) -> (String, String) {
    let url = format!("file://{}", page.canonicalize().expect("page").display());
    let o = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(mode)
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(o.status.success(), "chromium failed: {}", err(&o));
    (out(&o), err(&o))
}

/// The value of attribute `name` in the opening tag of the element with `id`.
fn attr_of(dom: &str, id: &str, name: &str) -> String {
    let at = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no element #{id} in the DOM"));
    let start = dom[..at].rfind('<').expect("tag");
    let end = at + dom[at..].find('>').expect("tag end");
    let tag = &dom[start..end];
    let key = format!(" {name}=\"");
    let i = tag
        .find(&key)
        .unwrap_or_else(|| panic!("#{id} has no {name}: {tag}"))
        + key.len();
    tag[i..i + tag[i..].find('"').expect("quote")].to_owned()
}

/// Console messages, uncaught errors and blocked loads in chromium's log.
fn console_problems(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| {
            l.contains("CONSOLE")
                || l.contains("Uncaught")
                || l.contains("Refused to")
                || l.contains("net::ERR_")
        })
        .collect()
}

#[test]
fn example_platform_report_renders_in_headless_chromium() {
    let Some(bin) = chromium() else { return };
    let d = tmpdir("chromium");
    let findings = example_findings(&d);
    // A finding message that would run if it were not escaped (and that the page's CSP
    // would report as blocked on the console).
    let mut report = read_json(&findings);
    report["findings"][0]["message"] =
        Value::String("<script>console.error('xss')</script><img src=x>".to_owned());
    std::fs::write(&findings, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    let page = d.join("report.html");
    let o = run(&["report", "render", s(&findings), "-o", s(&page)], None);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("<script"), "a script element in the page");
    assert!(html.contains("&lt;script&gt;console.error(&#39;xss&#39;)&lt;/script&gt;"));

    let (dom, log) = chromium_run(bin, &d.join("profile-dom"), &page, &["--dump-dom"]);
    assert!(
        console_problems(&log).is_empty(),
        "console output: {:#?}",
        console_problems(&log)
    );
    assert!(!dom.contains("<script"), "a script element in the DOM");
    assert!(!dom.contains("<img"), "an injected element in the DOM");

    // Sections and counts, against the findings JSON they are drawn from.
    let n_findings = report["findings"].as_array().unwrap().len();
    let n_controls = report["summary"]["controls"].as_array().unwrap().len();
    let failed = |st: &str| {
        report["summary"]["controls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == st)
            .count()
            .to_string()
    };
    assert!(n_findings > 50);
    assert_eq!(
        attr_of(&dom, "summary", "data-findings"),
        n_findings.to_string()
    );
    assert_eq!(
        attr_of(&dom, "summary", "data-controls"),
        n_controls.to_string()
    );
    assert_eq!(
        attr_of(&dom, "summary", "data-controls-failed"),
        failed("failed")
    );
    assert_eq!(
        attr_of(&dom, "summary", "data-controls-not-evaluated"),
        failed("not_evaluated")
    );
    assert_eq!(
        attr_of(&dom, "controls", "data-count"),
        n_controls.to_string()
    );
    assert_eq!(
        attr_of(&dom, "findings", "data-count"),
        n_findings.to_string()
    );
    for fw in ["hipaa", "soc2", "gdpr"] {
        let clauses = report["summary"]["frameworks"][fw]
            .as_object()
            .unwrap()
            .len();
        assert_eq!(
            attr_of(&dom, &format!("framework-{fw}"), "data-clauses"),
            clauses.to_string(),
            "{fw}"
        );
        let in_fw = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| !f["frameworks"][fw].as_array().unwrap().is_empty())
            .count();
        assert_eq!(
            attr_of(&dom, &format!("framework-{fw}"), "data-findings"),
            in_fw.to_string(),
            "{fw}"
        );
        assert!(dom.contains(&format!("<svg id=\"chart-{fw}\"")));
    }
    // The audit coverage matrix of each audit Policy of the example (the cluster's and team
    // B's staging one): the three ML namespaces.
    let policies = report["context"]["auditCoverage"].as_array().unwrap();
    assert_eq!(
        attr_of(&dom, "audit-coverage", "data-policies"),
        policies.len().to_string()
    );
    assert_eq!(
        dom.matches("class=\"audit-matrix\" data-namespaces=\"3\"")
            .count(),
        policies.len()
    );
    assert!(dom.contains("<svg id=\"chart-severity\""));
    assert!(dom.contains("<svg id=\"chart-layer\""));
    assert_eq!(
        attr_of(&dom, "inputs", "data-count"),
        report["inputs"].as_array().unwrap().len().to_string()
    );

    // The screenshot, kept as the test's artifact.
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let (_, log) = chromium_run(
        bin,
        &d.join("profile-shot"),
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000",
            "--hide-scrollbars",
        ],
    );
    assert!(console_problems(&log).is_empty(), "{log}");
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000);
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn scan_writes_the_same_html_and_render_takes_previous_and_scan_results() {
    let d = tmpdir("scan-html");
    let findings = example_findings(&d);
    let direct = d.join("direct.html");
    let o = run(
        &[
            "scan",
            "examples/platform",
            "-o",
            s(&direct),
            "--fail-on",
            "none",
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let rendered = d.join("rendered.html");
    let o = run(
        &["report", "render", s(&findings), "-o", s(&rendered)],
        None,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(
        std::fs::read(&direct).unwrap(),
        std::fs::read(&rendered).unwrap(),
        "scan --format html and report render of its JSON give the same page"
    );

    // Against a previous scan of team B alone, with an image scan's results, one framework.
    let old = d.join("old.json");
    let o = run(
        &[
            "scan",
            "examples/platform/team-b",
            "--config",
            "examples/platform/mlguard.yaml",
            "--format",
            "json",
            "-o",
            s(&old),
        ],
        None,
    );
    assert_eq!(code(&o), 1, "{}", err(&o));
    let image = d.join("image.json");
    std::fs::write(
        &image,
        r#"{"format":"mlguard.image-scan/v1","target":{"name":"example.com/train:1","kind":"registry"},
            "packages":[{"ecosystem":"PyPI","name":"torch","version":"2.1.0"}],
            "findings":[{"id":"GHSA-pg7h-5qx3-wjr3","ids":["GHSA-pg7h-5qx3-wjr3"],"package":0,"severity":"high","summary":"PyTorch heap buffer overflow","fixed":["2.2.0"]}],
            "notEvaluated":[],"errors":[],"warnings":[]}"#,
    )
    .unwrap();
    let o = run(
        &[
            "report",
            "render",
            s(&findings),
            "--previous",
            s(&old),
            "--image-scan",
            s(&image),
            "--framework",
            "hipaa",
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let page = out(&o);
    assert!(page.contains("id=\"changes\""));
    assert!(page.contains("id=\"image-scans\""));
    assert!(page.contains("GHSA-pg7h-5qx3-wjr3"));
    assert!(page.contains("id=\"framework-hipaa\""));
    assert!(!page.contains("id=\"framework-soc2\""));

    // scan --previous gives the same changes section as render --previous.
    let o = run(
        &[
            "scan",
            "examples/platform",
            "--format",
            "html",
            "--previous",
            s(&old),
            "--fail-on",
            "none",
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let scanned = out(&o);
    let o = run(
        &["report", "render", s(&findings), "--previous", s(&old)],
        None,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(scanned.contains("id=\"changes\""));
    assert_eq!(scanned, out(&o));
    // Without an HTML output, --previous is a usage error, not silently ignored.
    let o = run(
        &[
            "scan",
            "examples/platform",
            "--format",
            "json",
            "--previous",
            s(&old),
        ],
        None,
    );
    assert_eq!(code(&o), 2, "{}", err(&o));
    assert!(
        err(&o).contains("--previous only changes the HTML report"),
        "{}",
        err(&o)
    );
}

#[test]
fn bad_inputs_exit_2_naming_file_and_field() {
    let d = tmpdir("bad");
    let bad = d.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"tool": {"name": "mlguard", "version": "0.1.0"}, "inputs": []}"#,
    )
    .unwrap();
    let o = run(&["report", "render", s(&bad)], None);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains(s(&bad)), "{}", err(&o));
    assert!(err(&o).contains("missing field `summary`"), "{}", err(&o));

    let o = run(&["report", "render", s(&d.join("absent.json"))], None);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("cannot read"), "{}", err(&o));

    let findings = example_findings(&d);
    let o = run(
        &[
            "report",
            "render",
            s(&findings),
            "--model-scan",
            s(&findings),
        ],
        None,
    );
    assert_eq!(code(&o), 2);
    assert!(
        err(&o).contains(&format!("{}: field `kind` is missing", s(&findings))),
        "{}",
        err(&o)
    );
    let o = run(
        &["report", "render", s(&findings), "--framework", "pci"],
        None,
    );
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("unknown --framework `pci`"));
}

#[test]
fn evidence_pack_verifies_and_any_change_fails() {
    let d = tmpdir("pack");
    let findings = example_findings(&d);
    let keys = d.join("keys");
    let o = run(
        &["report", "keygen", "-o", s(&keys), "--name", "acme-audit"],
        None,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let (key, public) = (keys.join("acme-audit.key"), keys.join("acme-audit.pub"));
    assert!(std::fs::read_to_string(&key)
        .unwrap()
        .starts_with("PRIVATE+KEY+acme-audit+"));
    assert!(std::fs::read_to_string(&public)
        .unwrap()
        .starts_with("acme-audit+"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Never overwrites a key.
    let o = run(
        &["report", "keygen", "-o", s(&keys), "--name", "acme-audit"],
        None,
    );
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("exists"), "{}", err(&o));

    let pack = d.join("evidence.zip");
    let o = Command::new(env!("CARGO_BIN_EXE_mlguard"))
        .args([
            "report",
            "pack",
            s(&findings),
            "-o",
            s(&pack),
            "--key",
            s(&key),
        ])
        .current_dir(root())
        .env("SOURCE_DATE_EPOCH", "1795867200")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", err(&o));

    let o = run(&["report", "verify", s(&pack), "--key", s(&public)], None);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(
        out(&o).contains("verified: signed by acme-audit"),
        "{}",
        out(&o)
    );
    assert!(
        out(&o).contains("created 2026-11-28T12:00:00Z"),
        "{}",
        out(&o)
    );
    for f in ["report.html", "findings.json", "findings.sarif"] {
        assert!(out(&o).contains(&format!("  {f} (")), "{f}");
    }

    // The manifest lists every scanned input with its SHA-256, and the findings file.
    let unzip = Command::new("unzip")
        .args(["-p", s(&pack), "manifest.json"])
        .output();
    if let Some(u) = unzip.ok().filter(|u| u.status.success()) {
        let m: Value = serde_json::from_slice(&u.stdout).unwrap();
        assert_eq!(m["format"], "mlguard.evidence-pack/v1");
        assert_eq!(m["key"]["name"], "acme-audit");
        let scanned = read_json(&findings)["inputs"].as_array().unwrap().len();
        let inputs = m["inputs"].as_array().unwrap();
        assert_eq!(
            inputs.iter().filter(|i| i["role"] == "scanned").count(),
            scanned
        );
        assert_eq!(inputs.iter().filter(|i| i["role"] == "findings").count(), 1);
    }

    let bytes = std::fs::read(&pack).unwrap();
    let tampered = d.join("tampered.zip");
    let verify_changed = |at: usize| {
        let mut t = bytes.clone();
        t[at] ^= 0x20;
        std::fs::write(&tampered, &t).unwrap();
        let o = run(
            &["report", "verify", s(&tampered), "--key", s(&public)],
            None,
        );
        assert_eq!(code(&o), 1, "byte {at} changed: {}", err(&o));
        err(&o)
    };
    // A byte of the HTML report's contents (past its local header), of the signature (the
    // last file, just before the central directory), and of a ZIP header.
    let html_at = bytes.windows(7).position(|w| w == b"<footer").unwrap();
    assert!(verify_changed(html_at).contains("report.html: contents changed"));
    let sig_at = bytes
        .windows(3)
        .rposition(|w| w == "\u{2014}".as_bytes())
        .unwrap()
        + 10;
    assert!(verify_changed(sig_at).contains("manifest.sig"));
    assert!(verify_changed(6).contains("archive"));
    assert!(verify_changed(bytes.len() - 10).contains("archive"));

    // Another key's public half does not verify it.
    let other = d.join("other");
    assert_eq!(code(&run(&["report", "keygen", "-o", s(&other)], None)), 0);
    let o = run(
        &[
            "report",
            "verify",
            s(&pack),
            "--key",
            s(&other.join("mlguard-report.pub")),
        ],
        None,
    );
    assert_eq!(code(&o), 1);
    assert!(
        err(&o).contains("manifest.sig: the signature does not verify"),
        "{}",
        err(&o)
    );

    // Usage errors: the private key given to verify, a missing pack.
    let o = run(&["report", "verify", s(&pack), "--key", s(&key)], None);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("signing (private) key"), "{}", err(&o));
    let o = run(
        &[
            "report",
            "verify",
            s(&d.join("none.zip")),
            "--key",
            s(&public),
        ],
        None,
    );
    assert_eq!(code(&o), 2);
    let o = run(
        &[
            "report",
            "pack",
            s(&findings),
            "-o",
            s(&d.join("x.zip")),
            "--key",
            s(&public),
        ],
        None,
    );
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains(s(&public)), "{}", err(&o));
}

#[test]
fn scan_findings_carry_the_quota_and_connectivity_sections_the_report_draws() {
    let d = tmpdir("context");
    let findings = example_findings(&d);
    let j = read_json(&findings);
    let ctx = &j["context"];
    // team-a's ResourceQuota (examples/platform/team-a) and team-b's, whose GPU key is the
    // ignored `limits.` one (MLG-QUOTA-001's finding).
    assert_eq!(ctx["quotas"]["team-a"]["requests.nvidia.com/gpu"], "8");
    assert_eq!(ctx["quotas"]["team-b"]["limits.nvidia.com/gpu"], "16");
    let edges = ctx["connectivity"].as_array().expect("connectivity list");
    assert!(!edges.is_empty());
    for e in edges {
        for k in ["src", "dst", "conn"] {
            assert!(e[k].is_string(), "{e}");
        }
    }
    // The same edges as `netpol reach` prints for those workloads.
    let o = run(
        &["netpol", "reach", "examples/platform", "--format", "json"],
        None,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let reach: Vec<Value> = serde_json::from_str(&out(&o)).expect("reach json");
    // The scan adds the cluster DNS the inputs leave out (as the DNS control does); every
    // other edge is one `netpol reach` prints.
    const DNS: &str = "kube-system/kube-dns[Deployment]";
    for e in edges {
        if e["src"] != DNS && e["dst"] != DNS {
            assert!(reach.contains(e), "{e} not in netpol reach");
        }
    }
    // team-a's isolation lets its training pods reach DNS and nothing else there.
    assert!(edges.iter().any(
        |e| e["src"] == "team-a/claims-bert-finetune-worker[PyTorchJob]"
            && e["dst"] == DNS
            && e["conn"] == "TCP 53,UDP 53"
    ));

    let html = d.join("r.html");
    let o = run(&["report", "render", s(&findings), "-o", s(&html)], None);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let page = std::fs::read_to_string(&html).unwrap();
    let drawn = edges
        .iter()
        .filter(|e| e["conn"] != "No Connections")
        .count();
    assert!(
        page.contains(&format!("data-edges=\"{drawn}\"")),
        "network section with {drawn} edges"
    );
    assert!(page.contains("<section id=\"tenants\" data-count=\"2\""));
}
