//! Lint: what in an audit policy does not do what it says (MLG-AUD-002), leaks credentials
//! into the log (MLG-AUD-003) or makes it needlessly large (MLG-AUD-004).
//!
//! Each diagnostic has a stable code (listed in [`CODES`] and docs/audit-policy.md) and points
//! at the field it is about. Checks that depend on which requests reach a rule enumerate the
//! requests the policy can tell apart ([`crate::probe`]) through the compiled policy, so a
//! rule shadowed for some requests is judged only on the requests it really decides.

use crate::eval::Request;
use crate::index::Compiled;
use crate::ml::{ml_groups, CREDENTIALS, READ_VERBS, WRITE_VERBS};
use crate::policy::{GroupResources, Level, Policy, PolicyRule, Stage, GROUP_KEYS, POLICY_KEYS};
use crate::probe::{describe, Identity, Literals, Space};
use mlguard_core::Origin;
use std::collections::BTreeMap;

/// One lint result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The control it is evidence for: `MLG-AUD-002`, `MLG-AUD-003` or `MLG-AUD-004`.
    pub control: &'static str,
    /// Stable diagnostic code.
    pub code: &'static str,
    pub origin: Origin,
    /// The rule it is about, when it is about one.
    pub rule: Option<usize>,
    pub message: String,
}

/// Every diagnostic code with its control and a one-line meaning.
pub const CODES: &[(&str, &str, &str)] = &[
    ("wildcard-exact-field", "MLG-AUD-002", "`*` or a glob in users, userGroups, verbs, namespaces or resourceNames, which the API server compares exactly"),
    ("bad-resource-pattern", "MLG-AUD-002", "a resource pattern other than `res`, `res/sub`, `*`, `*/sub`, `res/*`, or a group with a partial `*`"),
    ("ml-resource-without-group", "MLG-AUD-002", "an ML resource (Kubeflow, KServe, Ray) under the core group or a group it does not belong to"),
    ("unknown-field", "MLG-AUD-002", "a field the API server drops with a warning, which makes the rule broader"),
    ("shadowed-rule", "MLG-AUD-002", "a rule that never matches, because an earlier rule matches every request it would"),
    ("credential-bodies-logged", "MLG-AUD-003", "secrets, serviceaccounts/token or tokenreviews logged at Request or RequestResponse"),
    ("request-received-kept", "MLG-AUD-004", "the RequestReceived stage is not omitted, doubling the events of every request"),
    ("response-bodies-on-reads", "MLG-AUD-004", "get, list or watch logged at RequestResponse"),
    ("system-noise-logged", "MLG-AUD-004", "no None rule for system noise: leases, events, health endpoints, system watches"),
    ("enumeration-limit", "MLG-AUD-004", "the policy names too many values to enumerate its requests; request-based checks were not run"),
];

/// Requests beyond this many are not enumerated (the checks that need them report it).
pub const MAX_PROBES: u128 = 20_000_000;

fn diag(
    control: &'static str,
    code: &'static str,
    origin: &Origin,
    rule: Option<usize>,
    message: String,
) -> Diagnostic {
    Diagnostic {
        control,
        code,
        origin: origin.clone(),
        rule,
        message,
    }
}

/// Lint `policy`. Diagnostics come in policy order within each check.
pub fn lint(policy: &Policy) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    unknown_fields(policy, &mut out);
    for (i, r) in policy.rules.iter().enumerate() {
        exact_fields(i, r, &mut out);
        resource_patterns(i, r, &mut out);
    }
    shadowed(policy, &mut out);
    let compiled = Compiled::new(policy);
    let lits = Literals::of(policy);
    credentials(&compiled, &lits, &mut out);
    request_received(policy, &mut out);
    reads_at_request_response(&compiled, &lits, &mut out);
    noise(&compiled, &mut out);
    out
}

/// Edit distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn unknown_fields(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for u in &policy.unknown_fields {
        let guess = u
            .known
            .iter()
            .map(|k| (distance(&u.name, k), *k))
            .filter(|(d, _)| *d <= 3)
            .min();
        let hint = match guess {
            Some((_, k)) => format!(" (did you mean `{k}`?)"),
            None => format!(" (known here: {})", u.known.join(", ")),
        };
        let effect = if std::ptr::eq(u.known, POLICY_KEYS) {
            "the API server drops it with a warning"
        } else if std::ptr::eq(u.known, GROUP_KEYS) {
            "the API server drops it with a warning, and this resources entry matches more than written"
        } else {
            "the API server drops it with a warning, and the rule matches more requests than written"
        };
        let rule = rule_of_path(&u.origin.path);
        out.push(diag(
            "MLG-AUD-002",
            "unknown-field",
            &u.origin,
            rule,
            format!("unknown field `{}`{hint}: {effect}", u.name),
        ));
    }
}

/// The rule index in a path like `rules[3].namespace`.
fn rule_of_path(path: &str) -> Option<usize> {
    let rest = path.strip_prefix("rules[")?;
    rest[..rest.find(']')?].parse().ok()
}

fn exact_fields(i: usize, r: &PolicyRule, out: &mut Vec<Diagnostic>) {
    let mut lists: Vec<(String, &Vec<String>)> = vec![
        ("users".into(), &r.users),
        ("userGroups".into(), &r.user_groups),
        ("verbs".into(), &r.verbs),
        ("namespaces".into(), &r.namespaces),
    ];
    for (gi, g) in r.resources.iter().enumerate() {
        lists.push((format!("resources[{gi}].resourceNames"), &g.resource_names));
    }
    for (key, values) in lists {
        for (j, v) in values.iter().enumerate() {
            if v.contains('*') || v.contains('?') {
                let field = key.rsplit('.').next().unwrap_or(&key);
                out.push(diag(
                    "MLG-AUD-002",
                    "wildcard-exact-field",
                    r.origin_of(&format!("{key}[{j}]")),
                    Some(i),
                    format!(
                        "rule {i}: `{v}` in {field} is compared exactly, not as a pattern: it matches only a value spelled `{v}`; list the values (an empty {field} list matches all)"
                    ),
                ));
            }
        }
    }
}

fn valid_pattern(p: &str) -> bool {
    if p == "*" {
        return true;
    }
    match p.split_once('/') {
        None => !p.contains('*'),
        Some((res, sub)) => {
            !sub.contains('/')
                && !res.is_empty()
                && !sub.is_empty()
                && (res == "*" || !res.contains('*'))
                && (sub == "*" || !sub.contains('*'))
                && !(res == "*" && sub == "*")
        }
    }
}

fn resource_patterns(i: usize, r: &PolicyRule, out: &mut Vec<Diagnostic>) {
    for (gi, g) in r.resources.iter().enumerate() {
        let GroupResources {
            group, resources, ..
        } = g;
        if group.contains('*') && group != "*" {
            out.push(diag(
                "MLG-AUD-002",
                "bad-resource-pattern",
                r.origin_of(&format!("resources[{gi}].group")),
                Some(i),
                format!(
                    "rule {i}: group `{group}` is compared exactly; only `*` alone means any group"
                ),
            ));
        }
        for (j, p) in resources.iter().enumerate() {
            let at = r.origin_of(&format!("resources[{gi}].resources[{j}]"));
            if !valid_pattern(p) {
                out.push(diag(
                    "MLG-AUD-002",
                    "bad-resource-pattern",
                    at,
                    Some(i),
                    format!(
                        "rule {i}: resource `{p}` never matches: the API server knows `res`, `res/sub`, `*`, `*/sub` and `res/*`, and compares anything else exactly"
                    ),
                ));
                continue;
            }
            let base = p.split('/').next().unwrap_or(p);
            let groups = ml_groups(base);
            if !groups.is_empty() && group != "*" && !groups.contains(&group.as_str()) {
                let written = if group.is_empty() {
                    "no group (the core group)".to_owned()
                } else {
                    format!("group `{group}`")
                };
                out.push(diag(
                    "MLG-AUD-002",
                    "ml-resource-without-group",
                    at,
                    Some(i),
                    format!(
                        "rule {i}: `{p}` is listed under {written}, but it is served by `{}`: this entry never matches it; put it under `group: {}`",
                        groups.join("`, `"),
                        groups[0]
                    ),
                ));
            }
        }
    }
}

/// Does every value `inner` accepts also pass `outer` (empty lists accept everything)?
fn list_covers(outer: &[String], inner: &[String]) -> bool {
    outer.is_empty() || (!inner.is_empty() && inner.iter().all(|v| outer.contains(v)))
}

/// Does pattern `outer` match every (resource, subresource) `inner` matches?
fn pattern_covers(outer: &str, inner: &str) -> bool {
    if outer == "*" || outer == inner {
        return true;
    }
    if let Some(sub) = outer.strip_prefix("*/") {
        // Matches any resource's `sub`: covers `x/sub`, not `*/sub`-less or `x/*`.
        return inner.split_once('/').is_some_and(|(_, s)| s == sub);
    }
    if let Some(res) = outer.strip_suffix("/*") {
        // Matches `res` and every subresource of it.
        return inner == res || inner.split_once('/').is_some_and(|(r, _)| r == res);
    }
    false
}

/// Does resources entry `o` match every request entry `g` matches?
fn group_covers(o: &GroupResources, g: &GroupResources) -> bool {
    if o.group != "*" && o.group != g.group {
        return false;
    }
    if o.resources.is_empty() {
        return true;
    }
    if g.resources.is_empty() {
        return false;
    }
    list_covers(&o.resource_names, &g.resource_names)
        && g.resources
            .iter()
            .all(|p| o.resources.iter().any(|q| pattern_covers(q, p)))
}

/// Does rule `a` match every request rule `b` matches? Conservative: `false` when unsure.
pub fn rule_covers(a: &PolicyRule, b: &PolicyRule) -> bool {
    if !list_covers(&a.users, &b.users)
        || !list_covers(&a.user_groups, &b.user_groups)
        || !list_covers(&a.verbs, &b.verbs)
    {
        return false;
    }
    if a.is_resource_rule() {
        if !b.is_resource_rule() {
            return false;
        }
        if !list_covers(&a.namespaces, &b.namespaces) {
            return false;
        }
        if a.resources.is_empty() {
            return true;
        }
        // Each of b's entries must be covered resource by resource; an entry may be covered
        // by several of a's, so check each pattern of b on its own.
        !b.resources.is_empty()
            && b.resources.iter().all(|g| {
                if g.resources.is_empty() {
                    a.resources.iter().any(|o| group_covers(o, g))
                } else {
                    g.resources.iter().all(|p| {
                        let one = GroupResources {
                            group: g.group.clone(),
                            resources: vec![p.clone()],
                            resource_names: g.resource_names.clone(),
                        };
                        a.resources.iter().any(|o| group_covers(o, &one))
                    })
                }
            })
    } else if a.is_non_resource_rule() {
        b.is_non_resource_rule()
            && b.non_resource_urls.iter().all(|u| {
                a.non_resource_urls.iter().any(|p| {
                    p == "*" || p == u || p.strip_suffix('*').is_some_and(|pre| u.starts_with(pre))
                })
            })
    } else {
        true
    }
}

fn shadowed(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for (j, b) in policy.rules.iter().enumerate() {
        if let Some(i) = (0..j).find(|&i| rule_covers(&policy.rules[i], b)) {
            let a = &policy.rules[i];
            out.push(diag(
                "MLG-AUD-002",
                "shadowed-rule",
                &b.origin,
                Some(j),
                format!(
                    "rule {j} (level {}) never matches: rule {i} ({}:{}, level {}) comes first and matches every request it would; move rule {j} above rule {i} or remove it",
                    b.level, a.origin.file, a.origin.pos.line, a.level
                ),
            ));
        }
    }
}

/// Visit the space through the compiled policy, grouping the requests by the rule that decides
/// them when `keep` says so; the first example of each rule is kept.
fn decided_by(
    compiled: &Compiled<'_>,
    space: &Space,
    keep: impl Fn(Level) -> bool,
) -> Result<BTreeMap<usize, (Request, usize)>, u128> {
    if space.size() > MAX_PROBES {
        return Err(space.size());
    }
    let mut by_rule: BTreeMap<usize, (Request, usize)> = BTreeMap::new();
    space.for_each(|req| {
        let d = compiled.eval(req);
        if let Some(i) = d.rule {
            if keep(d.level) && effective(d.level, &d.omit_stages) != Level::None {
                by_rule
                    .entry(i)
                    .and_modify(|e| e.1 += 1)
                    .or_insert_with(|| (req.clone(), 1));
            }
        }
        true
    });
    Ok(by_rule)
}

/// The level a request is really logged at: with both RequestReceived and ResponseComplete
/// omitted, an ordinary request produces no event at all.
pub fn effective(level: Level, omit: &std::collections::BTreeSet<Stage>) -> Level {
    if omit.contains(&Stage::RequestReceived) && omit.contains(&Stage::ResponseComplete) {
        Level::None
    } else {
        level
    }
}

fn too_many(policy: &Policy, n: u128, what: &str, out: &mut Vec<Diagnostic>) {
    out.push(diag(
        "MLG-AUD-004",
        "enumeration-limit",
        &policy.origin,
        None,
        format!("the policy names too many values to enumerate its {n} distinct requests (limit {MAX_PROBES}): {what} was not checked"),
    ));
}

fn credentials(compiled: &Compiled<'_>, lits: &Literals, out: &mut Vec<Diagnostic>) {
    let policy = compiled.policy();
    let mut verbs: Vec<&str> = WRITE_VERBS.to_vec();
    verbs.extend(READ_VERBS);
    let space = Space {
        identities: lits.identities(),
        verbs: lits.verbs_with(&verbs),
        namespaces: lits.namespaces_all(),
        resources: CREDENTIALS
            .iter()
            .map(|(g, r, s)| ((*g).to_owned(), (*r).to_owned(), (*s).to_owned()))
            .collect(),
        names: lits.names_all(),
    };
    match decided_by(compiled, &space, |l| l >= Level::Request) {
        Err(n) => too_many(policy, n, "logging of credentials (MLG-AUD-003)", out),
        Ok(by_rule) => {
            for (i, (req, n)) in by_rule {
                let r = &policy.rules[i];
                out.push(diag(
                    "MLG-AUD-003",
                    "credential-bodies-logged",
                    r.origin_of("level"),
                    Some(i),
                    format!(
                        "rule {i} logs credentials at {}: {} (and {} more such requests) would put secret data or tokens into the audit log; log secrets, serviceaccounts/token and tokenreviews at Metadata in an earlier rule",
                        r.level,
                        describe(&req),
                        n - 1
                    ),
                ));
            }
        }
    }
}

fn request_received(policy: &Policy, out: &mut Vec<Diagnostic>) {
    if policy.omit_stages.contains(&Stage::RequestReceived) {
        return;
    }
    let keeping: Vec<String> = policy
        .rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.level != Level::None && !r.omit_stages.contains(&Stage::RequestReceived))
        .map(|(i, _)| i.to_string())
        .collect();
    if keeping.is_empty() {
        return;
    }
    out.push(diag(
        "MLG-AUD-004",
        "request-received-kept",
        &policy.omit_stages_origin,
        None,
        format!(
            "RequestReceived is not omitted (rules {} keep it): every logged request is written twice, at RequestReceived and at ResponseComplete; add `omitStages: [RequestReceived]` to the policy",
            keeping.join(", ")
        ),
    ));
}

fn reads_at_request_response(compiled: &Compiled<'_>, lits: &Literals, out: &mut Vec<Diagnostic>) {
    let policy = compiled.policy();
    if !policy
        .rules
        .iter()
        .any(|r| r.level == Level::RequestResponse)
    {
        return;
    }
    let mut resources: Vec<(String, String, String)> = lits.resources.iter().cloned().collect();
    resources.retain(|(_, _, s)| s.is_empty());
    let space = Space {
        identities: lits.identities(),
        verbs: READ_VERBS.iter().map(|v| (*v).to_owned()).collect(),
        namespaces: lits.namespaces_all(),
        resources,
        names: lits.names_all(),
    };
    match decided_by(compiled, &space, |l| l == Level::RequestResponse) {
        Err(n) => too_many(policy, n, "RequestResponse on reads", out),
        Ok(by_rule) => {
            for (i, (req, n)) in by_rule {
                out.push(diag(
                    "MLG-AUD-004",
                    "response-bodies-on-reads",
                    policy.rules[i].origin_of("level"),
                    Some(i),
                    format!(
                        "rule {i} logs reads at RequestResponse: {} (and {} more read requests) writes every object read into the log; limit it to create, update, patch and delete, and log reads at Metadata",
                        describe(&req),
                        n - 1
                    ),
                ));
            }
        }
    }
}

/// The system's own chatter, by class: a production policy drops it with None rules.
pub fn noise_requests() -> Vec<(&'static str, Request)> {
    let node = Identity::new(
        "system:node:node-1",
        &["system:nodes", "system:authenticated"],
    );
    let kcm = Identity::new("system:kube-controller-manager", &["system:authenticated"]);
    let sched = Identity::new("system:kube-scheduler", &["system:authenticated"]);
    let proxy = Identity::new("system:kube-proxy", &["system:authenticated"]);
    let anon = Identity::new("system:anonymous", &["system:unauthenticated"]);
    let res =
        |id: &Identity, verb: &str, ns: &str, group: &str, resource: &str, name: &str| Request {
            user: Some(id.user.clone()),
            groups: id.groups.clone(),
            verb: verb.to_owned(),
            namespace: ns.to_owned(),
            api_group: group.to_owned(),
            resource: resource.to_owned(),
            name: name.to_owned(),
            resource_request: true,
            ..Request::default()
        };
    let path = |id: &Identity, p: &str| Request {
        user: Some(id.user.clone()),
        groups: id.groups.clone(),
        verb: "get".to_owned(),
        path: p.to_owned(),
        ..Request::default()
    };
    let mut v = Vec::new();
    for verb in ["get", "update"] {
        v.push((
            "leases",
            res(
                &node,
                verb,
                "kube-node-lease",
                "coordination.k8s.io",
                "leases",
                "node-1",
            ),
        ));
        v.push((
            "leases",
            res(
                &kcm,
                verb,
                "kube-system",
                "coordination.k8s.io",
                "leases",
                "kube-controller-manager",
            ),
        ));
        v.push((
            "leases",
            res(
                &sched,
                verb,
                "kube-system",
                "coordination.k8s.io",
                "leases",
                "kube-scheduler",
            ),
        ));
    }
    for verb in ["create", "patch"] {
        v.push(("events", res(&node, verb, "default", "", "events", "")));
        v.push((
            "events",
            res(&kcm, verb, "default", "events.k8s.io", "events", ""),
        ));
    }
    for p in ["/healthz", "/livez", "/readyz", "/version"] {
        v.push(("health endpoints", path(&anon, p)));
        v.push(("health endpoints", path(&node, p)));
    }
    for (group, resource) in [
        ("", "endpoints"),
        ("", "services"),
        ("discovery.k8s.io", "endpointslices"),
    ] {
        v.push((
            "system watches",
            res(&proxy, "watch", "", group, resource, ""),
        ));
    }
    v.push(("system watches", res(&node, "watch", "", "", "nodes", "")));
    v
}

fn noise(compiled: &Compiled<'_>, out: &mut Vec<Diagnostic>) {
    let policy = compiled.policy();
    // One diagnostic per (class, rule that logs it).
    let mut seen: BTreeMap<(&str, usize), (Request, Level)> = BTreeMap::new();
    for (class, req) in noise_requests() {
        let d = compiled.eval(&req);
        if let Some(i) = d.rule {
            if effective(d.level, &d.omit_stages) != Level::None {
                seen.entry((class, i)).or_insert((req, d.level));
            }
        }
    }
    for ((class, i), (req, level)) in seen {
        out.push(diag(
            "MLG-AUD-004",
            "system-noise-logged",
            &policy.rules[i].origin,
            Some(i),
            format!(
                "rule {i} logs system noise ({class}) at {level}: {}; add a `level: None` rule for it before rule {i}",
                describe(&req)
            ),
        ));
    }
}
