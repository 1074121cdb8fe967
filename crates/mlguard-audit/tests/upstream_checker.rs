//! The API server's policy checker unit cases (kubernetes/apiserver
//! pkg/audit/policy/checker_test.go), ported as data in tests/data/checker_cases.json (its
//! `source` names the commit; notes say which Go test each case comes from, and which values
//! follow from checker.go rather than from a Go assertion).

use mlguard_audit::{Policy, Request};
use serde_json::Value;

fn policy(rules: &[Value], omit_stages: &Value, omf: &Value) -> Policy {
    let mut p = serde_json::json!({
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Policy",
        "rules": rules,
    });
    if !omit_stages.is_null() {
        p["omitStages"] = omit_stages.clone();
    }
    if !omf.is_null() {
        p["omitManagedFields"] = omf.clone();
    }
    Policy::parse("case.json", &p.to_string()).unwrap_or_else(|e| panic!("{e:?} in {p}"))
}

fn request(v: &Value) -> Request {
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    Request {
        user: (!v["noUser"].as_bool().unwrap_or(false)).then(|| s("user")),
        groups: v["groups"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|g| g.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        verb: s("verb"),
        namespace: s("namespace"),
        api_group: s("apiGroup"),
        resource: s("resource"),
        subresource: s("subresource"),
        name: s("name"),
        path: s("path"),
        resource_request: v["resourceRequest"].as_bool().unwrap_or(true),
    }
}

#[test]
fn upstream_checker_cases() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/checker_cases.json");
    let data: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("cases")).expect("json");
    let cases = data["cases"].as_array().expect("cases");
    assert!(cases.len() >= 50, "{} cases", cases.len());
    let mut failed = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let rules: Vec<Value> = c["policy"]["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .map(|n| data["rules"][n.as_str().expect("rule name")].clone())
            .collect();
        let p = policy(
            &rules,
            &c["policy"]["omitStages"],
            &c["policy"]["omitManagedFields"],
        );
        let req = request(&data["requests"][c["request"].as_str().expect("request name")]);
        let d = p.eval(&req);
        // The compiled index decides exactly as the reference does.
        let compiled = mlguard_audit::Compiled::new(&p);
        assert_eq!(compiled.eval(&req), &d, "case {i}: compiled index differs");
        let got = mlguard_audit::eval::decision_json(&d);
        let want = &c["expect"];
        let same = got["level"] == want["level"]
            && got["omitStages"] == want["omitStages"]
            && got["omitManagedFields"] == want["omitManagedFields"]
            && got["rule"] == want["rule"];
        if !same {
            failed.push(format!("case {i} ({}): got {got}, want {want}", c["note"]));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} differ:\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n")
    );
}
