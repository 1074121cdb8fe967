//! The policy checker's semantics, point by point, and the traps the issue names.

use mlguard_audit::{Level, Policy, Request};

fn one(rules: &str) -> Policy {
    Policy::parse(
        "p.yaml",
        &format!("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n{rules}"),
    )
    .expect("policy")
}

fn req(ns: &str, group: &str, resource: &str, verb: &str) -> Request {
    Request {
        user: Some("alice".into()),
        groups: vec!["ml-team".into()],
        verb: verb.into(),
        namespace: ns.into(),
        api_group: group.into(),
        resource: resource.into(),
        resource_request: true,
        ..Request::default()
    }
}

#[test]
fn the_traps_the_issue_names() {
    // Namespaces compare exactly: `ml-*` is a namespace named "ml-*".
    let p = one("- level: RequestResponse\n  namespaces: [\"ml-*\"]\n");
    assert_eq!(p.eval(&req("ml-a", "", "pods", "get")).level, Level::None);
    // A missing group is the core group only: an InferenceService rule without its group never matches.
    let p = one("- level: RequestResponse\n  resources: [{resources: [inferenceservices]}]\n");
    assert_eq!(
        p.eval(&req(
            "a",
            "serving.kserve.io",
            "inferenceservices",
            "create"
        ))
        .level,
        Level::None
    );
    let p = one("- level: RequestResponse\n  resources: [{group: serving.kserve.io, resources: [inferenceservices]}]\n");
    assert_eq!(
        p.eval(&req(
            "a",
            "serving.kserve.io",
            "inferenceservices",
            "create"
        ))
        .level,
        Level::RequestResponse
    );
    // `group: "*"` is any group; "" in namespaces is cluster-scoped only.
    let p = one("- level: Request\n  namespaces: [\"\"]\n  resources: [{group: \"*\"}]\n");
    assert_eq!(
        p.eval(&req("", "rbac.authorization.k8s.io", "clusterroles", "get"))
            .level,
        Level::Request
    );
    assert_eq!(
        p.eval(&req("a", "apps", "deployments", "get")).level,
        Level::None
    );
    // A broad early rule shadows a later one: first match wins.
    let p = one("- level: Metadata\n- level: RequestResponse\n  resources: [{group: \"\", resources: [secrets]}]\n");
    let d = p.eval(&req("a", "", "secrets", "get"));
    assert_eq!((d.level, d.rule), (Level::Metadata, Some(0)));
}

#[test]
fn resource_patterns() {
    let p = one("- level: Request\n  resources: [{group: \"\", resources: [\"pods/*\"]}]\n");
    let mut r = req("a", "", "pods", "get");
    assert_eq!(p.eval(&r).level, Level::Request, "res/* also matches res");
    r.subresource = "log".into();
    assert_eq!(p.eval(&r).level, Level::Request);
    let p = one("- level: Request\n  resources: [{group: \"\", resources: [\"*/log\"]}]\n");
    assert_eq!(p.eval(&r).level, Level::Request);
    r.subresource = "exec".into();
    assert_eq!(p.eval(&r).level, Level::None);
    let p = one(
        "- level: Request\n  resources: [{group: \"\", resources: [pods], resourceNames: [web]}]\n",
    );
    let mut r = req("a", "", "pods", "get");
    assert_eq!(p.eval(&r).level, Level::None);
    r.name = "web".into();
    assert_eq!(p.eval(&r).level, Level::Request);
}

#[test]
fn stages_and_managed_fields() {
    let p = Policy::parse(
        "p.yaml",
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nomitManagedFields: true\nrules:\n- level: Metadata\n  omitStages: [Panic]\n  omitManagedFields: false\n- level: Request\n  verbs: [create]\n",
    )
    .expect("policy");
    let d = p.eval(&req("a", "", "pods", "get"));
    assert_eq!(
        d.omit_stages.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        ["Panic", "RequestReceived"]
    );
    assert!(
        !d.omit_managed_fields,
        "the rule's value overrides the policy's"
    );
    let p2 = Policy::parse("p.yaml", "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitManagedFields: true\nrules:\n- level: Request\n").expect("policy");
    assert!(p2.eval(&req("a", "", "pods", "get")).omit_managed_fields);
    // No match: level None with the policy's own stages.
    let p3 = Policy::parse("p.yaml", "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Request\n  verbs: [create]\n").expect("policy");
    let d = p3.eval(&req("a", "", "pods", "get"));
    assert_eq!(
        (d.level, d.rule, d.omit_stages.len()),
        (Level::None, None, 1)
    );
}

#[test]
fn bad_policies_name_file_line_and_field() {
    let e = Policy::parse(
        "p.yaml",
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Verbose\n",
    )
    .unwrap_err();
    assert_eq!(e[0].to_string(), "p.yaml:4:10: field `rules[0].level`: unknown level `Verbose` (None, Metadata, Request or RequestResponse)");
    let e = Policy::parse(
        "p.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    )
    .unwrap_err();
    assert!(
        e[0].to_string()
            .contains("expected an audit.k8s.io/v1 Policy"),
        "{}",
        e[0]
    );
    let e = Policy::parse("p.yaml", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  nonResourceURLs: [healthz]\n").unwrap_err();
    assert!(e[0].to_string().contains("must start with `/`"), "{}", e[0]);
    let e = Policy::parse("p.yaml", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  namespaces: [a]\n  nonResourceURLs: [/healthz]\n").unwrap_err();
    assert!(
        e[0].to_string().contains("cannot apply to both"),
        "{}",
        e[0]
    );
    let e = Policy::parse(
        "p.yaml",
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [Done]\nrules: []\n",
    )
    .unwrap_err();
    assert!(
        e[0].to_string()
            .starts_with("p.yaml:3:14: field `omitStages[0]`: unknown stage `Done`"),
        "{}",
        e[0]
    );
    // Unknown fields are kept for lint, not errors (the API server drops them).
    let p = Policy::parse(
        "p.yaml",
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  namespace: [a]\n",
    )
    .expect("policy");
    assert_eq!(p.unknown_fields.len(), 1);
    assert_eq!(p.unknown_fields[0].name, "namespace");
}
