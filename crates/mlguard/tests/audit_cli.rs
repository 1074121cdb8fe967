//! `mlguard audit policy eval|lint|generate|estimate` end to end: the real binary, the JSON
//! contract for scripts, and bad input.

mod common;

use common::{root, run};

const POLICY: &str = "examples/platform/cluster/audit-policy.yaml";

#[test]
fn eval_with_flags_names_the_rule() {
    let o = run(
        &[
            "audit",
            "policy",
            "eval",
            POLICY,
            "--user",
            "alice",
            "--group",
            "ml-team-a",
            "--verb",
            "create",
            "--namespace",
            "team-a",
            "--api-group",
            "serving.kserve.io",
            "--resource",
            "inferenceservices",
        ],
        None,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.starts_with("RequestResponse by rule 7 (examples/platform/cluster/audit-policy.yaml:55)"),
        "{s}"
    );
}

#[test]
fn eval_json_contract_keeps_input_shape() {
    let reqs = r#"[
      {"user": "bob", "verb": "get", "namespace": "team-a", "apiGroup": "", "resource": "secrets", "name": "k"},
      {"user": "system:kube-proxy", "verb": "watch", "resource": "endpoints", "namespace": "default"},
      {"user": "kubelet", "verb": "get", "path": "/healthz"}
    ]"#;
    let o = run(
        &[
            "audit",
            "policy",
            "eval",
            POLICY,
            "--request",
            "-",
            "--format",
            "json",
        ],
        Some(reqs),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let a = v.as_array().expect("array for an array");
    assert_eq!(a.len(), 3);
    assert_eq!(
        a[0],
        serde_json::json!({"level": "Metadata", "omitStages": ["RequestReceived"], "omitManagedFields": false, "rule": 6})
    );
    assert_eq!(a[1]["level"], "None");
    assert_eq!(a[1]["rule"], 0);
    assert_eq!(a[2]["level"], "None");
    assert_eq!(a[2]["rule"], 5);
    let o = run(
        &[
            "audit",
            "policy",
            "eval",
            POLICY,
            "--request",
            "-",
            "--format",
            "json",
        ],
        Some(r#"{"verb":"get","path":"/metrics"}"#),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(v.is_object(), "an object for an object: {v}");
}

#[test]
fn bad_input_exits_2_and_names_what_is_wrong() {
    let o = run(
        &["audit", "policy", "eval", POLICY, "--request", "-"],
        Some(r#"{"user":"a","resource":"pods"}"#),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("missing verb"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = run(
        &["audit", "policy", "eval", POLICY, "--request", "-"],
        Some(r#"{"verb":"get","resource":"pods","namspace":"a"}"#),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown field `namspace`"));
    let o = run(
        &[
            "audit",
            "policy",
            "eval",
            "examples/platform/team-a/rbac.yaml",
            "--verb",
            "get",
            "--resource",
            "pods",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("expected an audit.k8s.io/v1 Policy"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

const STAGING: &str = "examples/platform/team-b/audit-policy-staging.yaml";
const LOG: &str = "../shared/corpus/audit/audit2rbac-demo.log";

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn lint_reports_codes_with_positions_and_exit_codes() {
    let o = run(&["audit", "policy", "lint", POLICY], None);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("11 rules, no problems found"));
    let o = run(
        &["audit", "policy", "lint", STAGING, "--format", "json"],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let got: Vec<(String, u64)> = v["diagnostics"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| {
            (
                d["code"].as_str().expect("code").to_owned(),
                d["line"].as_u64().expect("line"),
            )
        })
        .collect();
    for want in [
        ("unknown-field", 26),
        ("wildcard-exact-field", 18),
        ("ml-resource-without-group", 24),
        ("shadowed-rule", 29),
        ("credential-bodies-logged", 13),
        ("request-received-kept", 10),
        ("system-noise-logged", 36),
    ] {
        assert!(
            got.contains(&(want.0.to_owned(), want.1)),
            "{want:?} in {got:?}"
        );
    }
    // Text form: control, code, location and the source line.
    let o = run(&["audit", "policy", "lint", STAGING], None);
    let s = stdout(&o);
    assert!(
        s.contains("critical[MLG-AUD-003/credential-bodies-logged]"),
        "{s}"
    );
    assert!(
        s.contains("--> examples/platform/team-b/audit-policy-staging.yaml:18:"),
        "{s}"
    );
    assert!(s.contains("18 |     namespaces: [\"team-b*\"]"), "{s}");
    // Only low findings at --fail-on critical? No: AUD-003 is critical, so still 1; with
    // --fail-on none, 0.
    let o = run(
        &["audit", "policy", "lint", STAGING, "--fail-on", "none"],
        None,
    );
    assert_eq!(o.status.code(), Some(0));
    let o = run(
        &[
            "audit",
            "policy",
            "lint",
            "examples/platform/team-a/rbac.yaml",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn generate_writes_a_policy_that_lints_clean_and_estimates() {
    let d = common::TempDir::new("gen");
    let out = d.join("p.yaml");
    let out_s = out.to_str().expect("utf8");
    let o = run(
        &[
            "audit",
            "policy",
            "generate",
            "--namespace",
            "team-a=phi",
            "--namespace",
            "team-b=internal",
            "-o",
            out_s,
            "--estimate",
            LOG,
        ],
        None,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(&out).expect("policy");
    assert!(text.contains("namespaces: [\"team-a\"]"), "{text}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("37 events") && err.contains("EVENTS/DAY"),
        "{err}"
    );
    let o = run(
        &["audit", "policy", "lint", out_s, "--fail-on", "low"],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = run(
        &[
            "audit",
            "policy",
            "generate",
            "--namespace",
            "team-a=secret",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a classification"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn estimate_replays_the_corpus_and_reports_bad_lines() {
    let o = run(
        &[
            "audit",
            "policy",
            "estimate",
            POLICY,
            "--estimate",
            LOG,
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["events"], 37);
    assert_eq!(v["logBytes"], 22129);
    // Every event lands on some rule or is counted as unmatched or stage-omitted.
    let per_rule: u64 = v["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["events"].as_u64().expect("n"))
        .sum();
    assert_eq!(
        per_rule
            + v["unmatched"]["events"].as_u64().expect("n")
            + v["stageOmitted"]["events"].as_u64().expect("n"),
        37
    );
    assert!(v["spanSeconds"].as_f64().expect("span") > 0.0);
    // The corpus was recorded without RequestReceived events; the cluster policy omits that
    // stage, team B's staging policy keeps it, which would add one event per request.
    assert_eq!(v["requestReceivedNotInLog"]["events"], 0);
    let o = run(
        &[
            "audit",
            "policy",
            "estimate",
            STAGING,
            "--estimate",
            LOG,
            "--format",
            "json",
        ],
        None,
    );
    let w: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(w["requestReceivedNotInLog"]["events"], 37);
    // A broken line: reported with its number, exit 2, the rest still counted.
    let mut text = std::fs::read_to_string(root().join(LOG)).expect("corpus");
    text.push_str("{not json\n");
    let o = run(
        &[
            "audit",
            "policy",
            "estimate",
            POLICY,
            "--estimate",
            "-",
            "--format",
            "json",
        ],
        Some(&text),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("-:38: not an audit event"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["events"], 37);
}
