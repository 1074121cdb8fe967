// The body of the `audit_policy` fuzz target, shared word for word with the corpus replay test
// (crates/mlguard-audit/tests/fuzz_corpus.rs) through `include!`. Arbitrary text is read as an
// audit.k8s.io/v1 Policy; what parses goes through lint, the compiled index and coverage.
// Nothing may panic or hang, and:
// - every error names the file and has a message (and a line >= 1 when it has a position);
// - every lint diagnostic has a documented code and control, a message, and points into the
//   file at an existing rule;
// - the compiled index decides exactly what the reference evaluator (`Policy::eval`) decides,
//   for every request of the policy's probe space (with and without a user), for
//   non-resource requests built from its nonResourceURLs, and for lint's system-noise
//   requests (a differential oracle: a mismatch is a bug in one of the two);
// - a rule lint reports as shadowed by an earlier one (`lint::rule_covers`) never matches a
//   probe request that the earlier rule does not match;
// - every coverage gap is decided by an existing rule and really falls short of its need.
// The request enumerations are capped so that one input stays fast.

/// Inputs above this size are skipped so one iteration stays fast.
pub const AUDIT_POLICY_FUZZ_MAX_INPUT: usize = 64 * 1024;
/// The differential oracle's probe space is skipped above this many requests.
pub const AUDIT_POLICY_FUZZ_MAX_SPACE: u128 = 20_000;
/// Lint is skipped when one of the spaces it enumerates has between this many requests and
/// `lint::MAX_PROBES` (above that, lint reports `enumeration-limit` without enumerating).
pub const AUDIT_POLICY_FUZZ_MAX_LINT_SPACE: u128 = 200_000;
/// Coverage runs only for policies of at most this many rules and at most this many requests
/// per class.
pub const AUDIT_POLICY_FUZZ_MAX_COVERAGE_RULES: usize = 64;
pub const AUDIT_POLICY_FUZZ_MAX_COVERAGE_SPACE: u128 = 50_000;

/// Read one fuzz input as an audit policy and run what mlguard runs on it.
pub fn check_audit_policy_input(data: &[u8]) {
    if data.len() > AUDIT_POLICY_FUZZ_MAX_INPUT {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match mlguard_audit::Policy::parse("fuzz.yaml", text) {
        Ok(p) => audit_policy_check_policy(&p),
        Err(errors) => {
            assert!(!errors.is_empty(), "Err without errors");
            for e in &errors {
                assert_eq!(e.file, "fuzz.yaml", "error names another file: {e:?}");
                assert!(!e.message.is_empty(), "error without a message: {e:?}");
                assert!(e.pos.is_none_or(|p| p.line >= 1), "error at line 0: {e:?}");
            }
        }
    }
}

fn audit_policy_check_policy(p: &mlguard_audit::Policy) {
    use mlguard_audit::probe::{Literals, Space};
    use mlguard_audit::Compiled;

    assert_eq!(p.origin.file, "fuzz.yaml");
    for r in &p.rules {
        assert_eq!(r.origin.file, "fuzz.yaml", "rule origin {:?}", r.origin);
        for (k, o) in &r.fields {
            assert_eq!(o.file, "fuzz.yaml", "field {k} origin {o:?}");
        }
    }
    for u in &p.unknown_fields {
        assert_eq!(u.origin.file, "fuzz.yaml", "unknown field {u:?}");
        assert!(!u.known.contains(&u.name.as_str()), "known field {u:?}");
    }

    let lits = Literals::of(p);
    if audit_policy_lint_is_cheap(p, &lits) {
        audit_policy_check_lint(p);
    }

    let compiled = Compiled::new(p);
    let space = Space {
        identities: lits.identities(),
        verbs: lits.verbs_with(&["get", "create"]),
        namespaces: lits.namespaces_all(),
        resources: lits.resources.iter().cloned().collect(),
        names: lits.names_all(),
    };
    if space.size() <= AUDIT_POLICY_FUZZ_MAX_SPACE {
        let same = |req: &mlguard_audit::Request| {
            assert_eq!(
                compiled.eval(req),
                &p.eval(req),
                "the compiled index and the reference disagree on {req:?}"
            );
        };
        space.for_each(|req| {
            same(req);
            let mut anon = req.clone();
            anon.user = None;
            same(&anon);
            true
        });
        for req in audit_policy_non_resource_requests(p, &space) {
            same(&req);
        }
        for (_, req) in mlguard_audit::lint::noise_requests() {
            same(&req);
        }
        audit_policy_check_shadowing(p, &space);
    }

    if p.rules.len() <= AUDIT_POLICY_FUZZ_MAX_COVERAGE_RULES {
        // coverage::coverage enumerates identities (plus a service account) x verbs (at most
        // 6) x one namespace x resources (at most 17) x names.
        let per_class = (space.identities.len() as u128 + 1) * space.names.len() as u128 * 6 * 17;
        if per_class <= AUDIT_POLICY_FUZZ_MAX_COVERAGE_SPACE {
            audit_policy_check_coverage(p, &compiled);
        }
    }
}

/// Whether each request space lint enumerates is small, or so large that lint refuses it.
fn audit_policy_lint_is_cheap(
    p: &mlguard_audit::Policy,
    lits: &mlguard_audit::probe::Literals,
) -> bool {
    use mlguard_audit::lint::MAX_PROBES;
    use mlguard_audit::ml::{CREDENTIALS, READ_VERBS, WRITE_VERBS};

    let n = |x: usize| x as u128;
    let base =
        n(lits.identities().len()) * n(lits.namespaces_all().len()) * n(lits.names_all().len());
    let mut verbs: Vec<&str> = WRITE_VERBS.to_vec();
    verbs.extend(READ_VERBS);
    let credentials = base * n(lits.verbs_with(&verbs).len()) * n(CREDENTIALS.len());
    let reads = if p
        .rules
        .iter()
        .any(|r| r.level == mlguard_audit::Level::RequestResponse)
    {
        let res = lits
            .resources
            .iter()
            .filter(|(_, _, s)| s.is_empty())
            .count();
        base * n(READ_VERBS.len()) * n(res)
    } else {
        0
    };
    [credentials, reads]
        .iter()
        .all(|&s| s <= AUDIT_POLICY_FUZZ_MAX_LINT_SPACE || s > MAX_PROBES)
}

fn audit_policy_check_lint(p: &mlguard_audit::Policy) {
    use mlguard_audit::lint::{lint, CODES};

    for d in lint(p) {
        assert!(
            CODES
                .iter()
                .any(|(code, control, _)| *code == d.code && *control == d.control),
            "undocumented diagnostic {d:?}"
        );
        assert!(!d.message.is_empty(), "diagnostic without a message: {d:?}");
        assert_eq!(
            d.origin.file, "fuzz.yaml",
            "diagnostic in another file: {d:?}"
        );
        assert!(d.origin.pos.line >= 1, "diagnostic at line 0: {d:?}");
        if let Some(i) = d.rule {
            assert!(i < p.rules.len(), "diagnostic about rule {i}: {d:?}");
        }
    }
}

/// Non-resource requests from the policy's nonResourceURLs (each URL, its prefix, a longer
/// and a shorter path), for each identity and verb of the space, with and without a user.
fn audit_policy_non_resource_requests(
    p: &mlguard_audit::Policy,
    space: &mlguard_audit::probe::Space,
) -> Vec<mlguard_audit::Request> {
    let mut paths: std::collections::BTreeSet<String> =
        ["", "/", "/some-path", "/healthz", "/version"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
    for r in &p.rules {
        for u in &r.non_resource_urls {
            let prefix = u.strip_suffix('*').unwrap_or(u);
            paths.insert(u.clone());
            paths.insert(prefix.to_owned());
            paths.insert(format!("{prefix}x"));
            let mut shorter = prefix.to_owned();
            shorter.pop();
            paths.insert(shorter);
        }
    }
    let mut out = Vec::new();
    for path in paths.iter().take(64) {
        for id in &space.identities {
            for verb in &space.verbs {
                let req = mlguard_audit::Request {
                    user: Some(id.user.clone()),
                    groups: id.groups.clone(),
                    verb: verb.clone(),
                    path: path.clone(),
                    resource_request: false,
                    ..mlguard_audit::Request::default()
                };
                let mut anon = req.clone();
                anon.user = None;
                out.push(req);
                out.push(anon);
                if out.len() >= 20_000 {
                    return out;
                }
            }
        }
    }
    out
}

/// A rule reported as shadowed (lint's `rule_covers`) matches no probe request the earlier
/// rule does not match.
fn audit_policy_check_shadowing(p: &mlguard_audit::Policy, space: &mlguard_audit::probe::Space) {
    use mlguard_audit::eval::rule_matches;
    use mlguard_audit::lint::rule_covers;

    if p.rules.len() > 64 {
        return;
    }
    let pairs: Vec<(usize, usize)> = (0..p.rules.len())
        .filter_map(|j| {
            (0..j)
                .find(|&i| rule_covers(&p.rules[i], &p.rules[j]))
                .map(|i| (i, j))
        })
        .collect();
    if pairs.is_empty() || space.size() * pairs.len() as u128 > 1_000_000 {
        return;
    }
    let check = |req: &mlguard_audit::Request| {
        for &(i, j) in &pairs {
            assert!(
                !rule_matches(&p.rules[j], req) || rule_matches(&p.rules[i], req),
                "rule {j} is reported shadowed by rule {i}, but only rule {j} matches {req:?}"
            );
        }
    };
    space.for_each(|req| {
        check(req);
        let mut anon = req.clone();
        anon.user = None;
        check(&anon);
        true
    });
    for req in audit_policy_non_resource_requests(p, space) {
        check(&req);
    }
}

fn audit_policy_check_coverage(p: &mlguard_audit::Policy, compiled: &mlguard_audit::Compiled<'_>) {
    use mlguard_audit::coverage::{gaps, Need};

    for g in gaps(compiled, "team-a", true) {
        if let Some(i) = g.rule {
            assert!(i < p.rules.len(), "gap decided by rule {i}: {g:?}");
        }
        let short = match g.need {
            Need::AtLeast(l) => g.got < l,
            Need::Exactly(l) => g.got != l,
        };
        assert!(short, "a gap that meets its need: {g:?}");
        assert!(g.requests >= 1, "a gap without requests: {g:?}");
        assert!(!g.resources.is_empty() && !g.verbs.is_empty(), "{g:?}");
        assert!(!g.message("team-a", "phi").is_empty());
    }
}
