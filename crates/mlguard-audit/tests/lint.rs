//! Lint: each diagnostic code fires where it should, at the right line, and not elsewhere;
//! the generated policy lints clean; the compiled index agrees with the reference evaluator.

use mlguard_audit::generate::{generate, NamespaceClass};
use mlguard_audit::lint::{lint, Diagnostic, CODES};
use mlguard_audit::probe::{Literals, Space};
use mlguard_audit::{Compiled, Policy};

const HEAD: &str =
    "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n";

/// A clean tail: noise silenced, credentials at Metadata, catch-all. Appended to the rules
/// under test so that only the diagnostics they cause remain.
const TAIL: &str = "\
- level: None
  users: [system:kube-proxy]
  verbs: [watch]
- level: None
  userGroups: [system:nodes]
- level: None
  users: [system:kube-controller-manager, system:kube-scheduler]
  resources: [{group: coordination.k8s.io, resources: [leases]}]
- level: None
  resources: [{group: '', resources: [events]}, {group: events.k8s.io, resources: [events]}]
- level: None
  nonResourceURLs: ['/healthz*', '/livez*', '/readyz*', /version]
- level: Metadata
  resources: [{group: '', resources: [secrets, serviceaccounts/token]}, {group: authentication.k8s.io, resources: [tokenreviews]}]
- level: Metadata
";

fn lint_of(rules: &str) -> Vec<Diagnostic> {
    let text = format!("{HEAD}{rules}{TAIL}");
    let p = Policy::parse("p.yaml", &text).unwrap_or_else(|e| panic!("{e:?}"));
    lint(&p)
}

fn codes(d: &[Diagnostic]) -> Vec<(&str, u32)> {
    d.iter().map(|d| (d.code, d.origin.pos.line)).collect()
}

#[test]
fn the_clean_tail_is_clean() {
    assert_eq!(codes(&lint_of("")), vec![]);
}

#[test]
fn wildcards_in_exact_fields() {
    let d = lint_of("- level: Request\n  namespaces: ['ml-*', team-a]\n  users: ['*']\n  resources: [{group: '', resources: [pods], resourceNames: ['job-*']}]\n");
    assert_eq!(
        codes(&d),
        vec![
            ("wildcard-exact-field", 7),
            ("wildcard-exact-field", 6),
            ("wildcard-exact-field", 8)
        ]
    );
    assert!(
        d[0].message.contains("`*` in users is compared exactly"),
        "{}",
        d[0].message
    );
    assert!(d
        .iter()
        .all(|d| d.control == "MLG-AUD-002" && d.rule == Some(0)));
}

#[test]
fn resource_patterns_and_ml_groups() {
    let d = lint_of("- level: Request\n  resources:\n  - group: ''\n    resources: [inferenceservices, 'pytorch*', pods/*]\n  - group: kubeflow.org\n    resources: [rayclusters, notebooks]\n  - group: '*.kserve.io'\n");
    assert_eq!(
        codes(&d),
        vec![
            ("ml-resource-without-group", 8),
            ("bad-resource-pattern", 8),
            ("ml-resource-without-group", 10),
            ("bad-resource-pattern", 11),
        ]
    );
    assert!(
        d[0].message.contains("served by `serving.kserve.io`"),
        "{}",
        d[0].message
    );
    assert!(d[2].message.contains("group `kubeflow.org`") && d[2].message.contains("`ray.io`"));
}

#[test]
fn unknown_fields_with_a_suggestion() {
    let d = lint_of("- level: Request\n  namespace: [team-a]\n  resources: [{group: kubeflow.org, resource: [pytorchjobs]}]\n");
    assert_eq!(codes(&d), vec![("unknown-field", 6), ("unknown-field", 7)]);
    assert!(
        d[0].message.contains("did you mean `namespaces`?"),
        "{}",
        d[0].message
    );
    assert!(
        d[1].message.contains("did you mean `resources`?"),
        "{}",
        d[1].message
    );
    assert_eq!(d[0].rule, Some(0));
}

#[test]
fn shadowed_rules() {
    // Rule 1 is covered by rule 0 (a broader group entry); rule 3 by rule 2 (`res/*` covers
    // `res/sub`); rule 4 only overlaps rule 0 and is not reported.
    let d = lint_of(
        "- level: Metadata\n  resources: [{group: kubeflow.org}]\n\
- level: RequestResponse\n  verbs: [create]\n  namespaces: [team-a]\n  resources: [{group: kubeflow.org, resources: [pytorchjobs]}]\n\
- level: Request\n  resources: [{group: '', resources: [pods/*]}]\n\
- level: Metadata\n  users: [alice]\n  resources: [{group: '', resources: [pods/log]}]\n\
- level: Request\n  resources: [{group: kubeflow.org, resources: [tfjobs]}, {group: ray.io}]\n",
    );
    let shadowed: Vec<_> = d.iter().filter(|d| d.code == "shadowed-rule").collect();
    assert_eq!(
        shadowed
            .iter()
            .map(|d| (d.rule, d.origin.pos.line))
            .collect::<Vec<_>>(),
        vec![(Some(1), 7), (Some(3), 13)]
    );
    assert!(
        shadowed[0].message.contains("rule 0 (p.yaml:5"),
        "{}",
        shadowed[0].message
    );
    // The catch-all of the tail is not shadowed by anything narrower.
    assert!(!d.iter().any(|d| d.rule == Some(11)));
}

#[test]
fn credentials_logged_with_bodies() {
    // Rule 0 logs secrets of one namespace with bodies; rule 1 tokens; rule 2 reaches no
    // credential (its resources are pods), so only 0 and 1 are reported.
    let d = lint_of(
        "- level: RequestResponse\n  namespaces: [team-a]\n  resources: [{group: '', resources: ['*']}]\n\
- level: Request\n  resources: [{group: '', resources: [serviceaccounts/token]}]\n\
- level: RequestResponse\n  verbs: [create]\n  resources: [{group: '', resources: [pods]}]\n",
    );
    let c: Vec<_> = d.iter().filter(|d| d.control == "MLG-AUD-003").collect();
    assert_eq!(
        c.iter().map(|d| (d.code, d.rule)).collect::<Vec<_>>(),
        vec![
            ("credential-bodies-logged", Some(0)),
            ("credential-bodies-logged", Some(1))
        ]
    );
    assert!(
        c[0].message.contains("secrets") && c[0].message.contains("in team-a"),
        "{}",
        c[0].message
    );
    assert!(
        c[1].message.contains("serviceaccounts/token"),
        "{}",
        c[1].message
    );
}

#[test]
fn volume_risks() {
    // No policy-level RequestReceived omission; a RequestResponse rule that catches reads;
    // and a catch-all before any None rule logs the noise.
    let text = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n\
- level: Metadata\n  resources: [{group: '', resources: [secrets]}]\n\
- level: RequestResponse\n  resources: [{group: kubeflow.org}]\n\
- level: Metadata\n";
    let p = Policy::parse("p.yaml", text).expect("policy");
    let d = lint(&p);
    let got: Vec<_> = d.iter().map(|d| (d.code, d.rule)).collect();
    assert_eq!(
        got,
        vec![
            ("request-received-kept", None),
            ("response-bodies-on-reads", Some(1)),
            ("system-noise-logged", Some(2)),
            ("system-noise-logged", Some(2)),
            ("system-noise-logged", Some(2)),
            ("system-noise-logged", Some(2)),
        ]
    );
    assert!(
        d[1].message.contains("get ")
            || d[1].message.contains("list ")
            || d[1].message.contains("watch "),
        "{}",
        d[1].message
    );
    let classes: Vec<&str> = d[2..].iter().map(|d| d.message.as_str()).collect();
    for class in [
        "(leases)",
        "(events)",
        "(health endpoints)",
        "(system watches)",
    ] {
        assert!(
            classes.iter().any(|m| m.contains(class)),
            "{class}: {classes:?}"
        );
    }
    // Every code is documented in the CODES table.
    for x in &d {
        assert!(CODES
            .iter()
            .any(|(c, ctl, _)| *c == x.code && *ctl == x.control));
    }
}

#[test]
fn stage_omission_that_drops_everything_counts_as_none() {
    // A rule omitting both RequestReceived and ResponseComplete logs nothing for ordinary
    // requests, so its catch-all does not log noise.
    let text = "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n  omitStages: [ResponseComplete]\n";
    let d = lint(&Policy::parse("p.yaml", text).expect("policy"));
    assert!(d.iter().all(|d| d.code != "system-noise-logged"), "{d:?}");
}

#[test]
fn generated_policy_lints_clean() {
    for ns in [
        vec![],
        vec!["team-a=phi", "team-b=internal", "team-b-serving=pii"],
        vec!["x=public"],
    ] {
        let ns: Vec<NamespaceClass> = ns.iter().map(|s| s.parse().expect("ns")).collect();
        let text = generate(&ns);
        let p = Policy::parse("generated.yaml", &text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        assert!(p.unknown_fields.is_empty());
        let d = lint(&p);
        assert!(d.is_empty(), "{d:#?}\n{text}");
    }
    assert!("team-a".parse::<NamespaceClass>().is_err());
    assert!("team-a=secret"
        .parse::<NamespaceClass>()
        .unwrap_err()
        .contains("phi"));
    assert!("Team=phi".parse::<NamespaceClass>().is_err());
}

#[test]
fn compiled_index_agrees_with_the_reference_on_every_distinguishable_request() {
    // Every request the probe space of these policies holds, with and without a user.
    for text in [
        generate(&["a=phi".parse().expect("ns"), "b=internal".parse().expect("ns")]),
        format!("{HEAD}- level: Request\n  userGroups: [g1]\n  verbs: [get]\n- level: RequestResponse\n  users: [u1]\n  namespaces: ['', n1]\n  resources: [{{group: '*', resources: ['*/status', 'x/*'], resourceNames: [a]}}]\n{TAIL}"),
    ] {
        let p = Policy::parse("p.yaml", &text).expect("policy");
        let c = Compiled::new(&p);
        let l = Literals::of(&p);
        let space = Space {
            identities: l.identities(),
            verbs: l.verbs_with(&["get", "create"]),
            namespaces: l.namespaces_all(),
            resources: l.resources.iter().cloned().collect(),
            names: l.names_all(),
        };
        let mut n = 0;
        space.for_each(|req| {
            assert_eq!(c.eval(req), &p.eval(req), "{req:?}");
            let mut anon = req.clone();
            anon.user = None;
            assert_eq!(c.eval(&anon), &p.eval(&anon), "{anon:?}");
            n += 1;
            true
        });
        assert!(n > 100, "{n}");
    }
}
