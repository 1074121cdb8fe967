//! Intents: flows that must be allowed or must be denied, checked against the engine.
//!
//! The file format (`kind: NetworkIntents`) is documented in docs/netpol-intents.md. The
//! built-in set `training-isolation` encodes what distributed training needs.

use crate::engine::{Analysis, Verdicts};
use crate::explain::{conns_of_port_list, EndpointRef};
use crate::ip::{Cidr, Family, IpRange, IpSet};
use crate::policy::Direction;
use crate::ports::{Conns, PortSet, Protocol};
use mlguard_core::selector::{Requirement, Selector};
use mlguard_core::FastMap as HashMap;
use mlguard_core::{At, InputError, WorkloadClass};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Mutex;

/// What an intent expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Every listed connection is allowed for every pair.
    Allow,
    /// None of the listed connections is allowed for any pair.
    Deny,
    /// At least one of the listed connections is allowed for every pair.
    Reachable,
}

impl Expect {
    pub fn as_str(self) -> &'static str {
        match self {
            Expect::Allow => "allow",
            Expect::Deny => "deny",
            Expect::Reachable => "reachable",
        }
    }
}

/// One end of an intent: pods by namespace and labels, one workload, or addresses.
#[derive(Debug, Clone, Default)]
pub struct IntentEnd {
    /// Exact namespace names (any of them).
    pub namespaces: Vec<String>,
    pub namespace_selector: Option<Selector>,
    pub pod_selector: Option<Selector>,
    /// Pods of one object (built-in intents: one training job).
    pub job: Option<String>,
    pub workload: Option<EndpointRef>,
    /// Addresses outside the cluster (minus `except`).
    pub addresses: Option<IpSet>,
}

impl IntentEnd {
    fn describe(&self) -> String {
        if let Some(a) = &self.addresses {
            let r: Vec<String> = a.ranges().iter().take(4).map(|r| r.to_string()).collect();
            return format!("addresses {}", r.join(", "));
        }
        if let Some(w) = &self.workload {
            return match w {
                EndpointRef::Named { ns, name, kind } => format!(
                    "{ns}/{name}{}",
                    kind.as_ref().map(|k| format!("[{k}]")).unwrap_or_default()
                ),
                EndpointRef::Ip(ip) => ip.to_string(),
            };
        }
        if let Some(j) = &self.job {
            return format!("pods of job {j}");
        }
        let mut parts = Vec::new();
        if !self.namespaces.is_empty() {
            parts.push(format!("namespace {}", self.namespaces.join("|")));
        }
        if self.namespace_selector.is_some() {
            parts.push("selected namespaces".to_owned());
        }
        if let Some(p) = &self.pod_selector {
            parts.push(format!("pods {}", selector_text(p)));
        }
        if parts.is_empty() {
            "all pods".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

fn selector_text(s: &Selector) -> String {
    if s.requirements.is_empty() {
        return "{}".to_owned();
    }
    s.requirements
        .iter()
        .map(|r| match r {
            Requirement::In(k, v) if v.len() == 1 => format!("{k}={}", v[0]),
            Requirement::In(k, v) => format!("{k} in ({})", v.join(",")),
            Requirement::NotIn(k, v) => format!("{k} notin ({})", v.join(",")),
            Requirement::Exists(k) => k.clone(),
            Requirement::DoesNotExist(k) => format!("!{k}"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[derive(Debug, Clone)]
pub struct Intent {
    pub name: String,
    pub expect: Expect,
    pub from: IntentEnd,
    pub to: IntentEnd,
    pub conns: Conns,
    /// `file:line` of the intent, or `built-in training-isolation`.
    pub origin: String,
}

/// A pair that breaks an intent.
#[derive(Debug, Clone)]
pub struct Violation {
    pub src: String,
    pub dst: String,
    /// What is allowed between them.
    pub allowed: Conns,
    /// What is wrong: missing (allow) or leaking (deny) connections.
    pub problem: Conns,
}

#[derive(Debug, Clone)]
pub struct IntentResult {
    pub intent: Intent,
    pub pairs: usize,
    pub violations: Vec<Violation>,
    /// Set when the intent could not be judged (an end matches nothing).
    pub unresolved: Option<String>,
    /// Why the first violation happens: which policies and rules decided each direction.
    pub explanation: Option<crate::explain::Explanation>,
}

impl IntentResult {
    pub fn holds(&self) -> bool {
        self.unresolved.is_none() && self.violations.is_empty()
    }
}

// ------------------------------------------------------------------ parsing

/// Parse an intents file. Errors name the file, line and field.
pub fn parse(file: &str, text: &str) -> Result<Vec<Intent>, Vec<InputError>> {
    let (objects, mut errors, _) =
        mlguard_core::load::load_text(file, text, &mlguard_core::LoadOptions::default());
    let mut out = Vec::new();
    for o in &objects {
        let root = o.at();
        if o.kind != "NetworkIntents" {
            errors.push(err(
                file,
                &root,
                format!("expected kind NetworkIntents, found `{}`", o.kind),
            ));
            continue;
        }
        let Some(list) = root.at(&["spec", "intents"]) else {
            errors.push(err(file, &root, "missing spec.intents".to_owned()));
            continue;
        };
        for it in list.items() {
            match intent(file, &it) {
                Ok(i) => out.push(i),
                Err(e) => errors.push(e),
            }
        }
    }
    if objects.is_empty() && errors.is_empty() {
        errors.push(InputError {
            file: file.to_owned(),
            pos: None,
            field: None,
            message: "no NetworkIntents document in the file".to_owned(),
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn err(file: &str, at: &At<'_>, message: String) -> InputError {
    InputError::at(file, at, message)
}

const INTENT_KEYS: &[&str] = &["name", "expect", "from", "to", "ports"];
const END_KEYS: &[&str] = &[
    "namespace",
    "namespaces",
    "namespaceSelector",
    "podSelector",
    "workload",
    "cidr",
    "except",
];

fn intent(file: &str, at: &At<'_>) -> Result<Intent, InputError> {
    for (k, v) in at.entries() {
        if !INTENT_KEYS.contains(&k) {
            return Err(err(
                file,
                &v,
                format!(
                    "unknown field `{k}` (expected one of {})",
                    INTENT_KEYS.join(", ")
                ),
            ));
        }
    }
    let name = at
        .get("name")
        .and_then(|n| n.str().map(str::to_owned))
        .ok_or_else(|| err(file, at, "an intent needs a name".to_owned()))?;
    let ex = at.get("expect").ok_or_else(|| {
        err(
            file,
            at,
            format!("intent `{name}` needs `expect: allow|deny|reachable`"),
        )
    })?;
    let expect = match ex.str() {
        Some("allow") => Expect::Allow,
        Some("deny") => Expect::Deny,
        Some("reachable") => Expect::Reachable,
        _ => {
            return Err(err(
                file,
                &ex,
                "expect must be allow, deny or reachable".to_owned(),
            ))
        }
    };
    let from = end(
        file,
        &at.get("from")
            .ok_or_else(|| err(file, at, format!("intent `{name}` needs `from`")))?,
    )?;
    let to = end(
        file,
        &at.get("to")
            .ok_or_else(|| err(file, at, format!("intent `{name}` needs `to`")))?,
    )?;
    if from.addresses.is_some() && to.addresses.is_some() {
        return Err(err(
            file,
            at,
            "from and to are both addresses: NetworkPolicy says nothing about that".to_owned(),
        ));
    }
    let conns = match at.get("ports") {
        None => Conns::all(),
        Some(p) => {
            let items: Vec<String> = p
                .node
                .items()
                .iter()
                .filter_map(|n| n.scalar_text())
                .collect();
            if items.len() != p.node.items().len() || items.is_empty() {
                return Err(err(
                    file,
                    &p,
                    "ports must be a non-empty list like [\"29500/TCP\", \"UDP 53\"]".to_owned(),
                ));
            }
            conns_of_port_list(&items).map_err(|m| err(file, &p, m))?
        }
    };
    Ok(Intent {
        name,
        expect,
        from,
        to,
        conns,
        origin: format!("{file}:{}", at.pos().line),
    })
}

fn end(file: &str, at: &At<'_>) -> Result<IntentEnd, InputError> {
    let mut e = IntentEnd::default();
    if !at.node.is_map() {
        return Err(err(file, at, "an intent end must be a mapping".to_owned()));
    }
    for (k, v) in at.entries() {
        match k {
            "namespace" => e.namespaces.push(
                v.str()
                    .ok_or_else(|| err(file, &v, "expected a namespace name".to_owned()))?
                    .to_owned(),
            ),
            "namespaces" => {
                for n in v.items() {
                    e.namespaces.push(
                        n.str()
                            .ok_or_else(|| err(file, &n, "expected a namespace name".to_owned()))?
                            .to_owned(),
                    );
                }
            }
            "namespaceSelector" | "podSelector" => {
                let s = Selector::parse(v.node).map_err(|m| err(file, &v, m))?;
                if k == "podSelector" {
                    e.pod_selector = Some(s);
                } else {
                    e.namespace_selector = Some(s);
                }
            }
            "workload" => {
                let s = v
                    .str()
                    .ok_or_else(|| err(file, &v, "expected ns/name[Kind]".to_owned()))?;
                e.workload = Some(EndpointRef::parse(s).map_err(|m| err(file, &v, m))?);
            }
            "cidr" => {
                let s = v
                    .str()
                    .ok_or_else(|| err(file, &v, "expected a CIDR".to_owned()))?;
                let c = Cidr::parse(s).map_err(|m| err(file, &v, m))?;
                e.addresses = Some(IpSet::from_range(c.range));
            }
            "except" => {}
            other => {
                return Err(err(
                    file,
                    &v,
                    format!(
                        "unknown field `{other}` (expected one of {})",
                        END_KEYS.join(", ")
                    ),
                ))
            }
        }
    }
    if let Some(ex) = at.get("except") {
        let Some(base) = e.addresses.clone() else {
            return Err(err(file, &ex, "except needs cidr".to_owned()));
        };
        let mut set = base;
        for x in ex.items() {
            let s = x
                .str()
                .ok_or_else(|| err(file, &x, "expected a CIDR".to_owned()))?;
            let c = Cidr::parse(s).map_err(|m| err(file, &x, m))?;
            set = set.subtract(&IpSet::from_range(c.range));
        }
        e.addresses = Some(set);
    }
    let kinds = usize::from(e.addresses.is_some())
        + usize::from(e.workload.is_some())
        + usize::from(
            !e.namespaces.is_empty() || e.namespace_selector.is_some() || e.pod_selector.is_some(),
        );
    if kinds > 1 {
        return Err(err(
            file,
            at,
            "use one of cidr, workload, or namespace/podSelector in an intent end".to_owned(),
        ));
    }
    Ok(e)
}

// ------------------------------------------------------------------ built-in set

/// Settings of the built-in `training-isolation` intents.
#[derive(Debug, Clone, Default)]
pub struct IsolationSettings {
    /// Pod and Service CIDRs: traffic there is in-cluster.
    pub cluster: Vec<IpSet>,
    /// Model storage endpoints: CIDR and optional ports (none: any TCP port reaches it).
    pub storage: Vec<(IpSet, Option<Conns>)>,
}

impl IsolationSettings {
    /// Read `CIDR` or `CIDR:PORT[,PORT]` storage entries and plain CIDRs for the cluster.
    pub fn parse(cluster: &[String], storage: &[String]) -> Result<Self, String> {
        let mut s = IsolationSettings::default();
        for c in cluster {
            s.cluster.push(IpSet::from_range(Cidr::parse(c)?.range));
        }
        for e in storage {
            let (cidr, ports) = match e.split_once('/').and_then(|(a, rest)| {
                rest.split_once(':')
                    .map(|(pfx, ports)| (format!("{a}/{pfx}"), ports.to_owned()))
            }) {
                Some((c, p)) => {
                    let items: Vec<String> =
                        p.split(',').map(|x| format!("{}/TCP", x.trim())).collect();
                    (c, Some(conns_of_port_list(&items)?))
                }
                None => (e.clone(), None),
            };
            s.storage
                .push((IpSet::from_range(Cidr::parse(&cidr)?.range), ports));
        }
        Ok(s)
    }
}

/// TCP ports the replicas of a job need between them: all TCP, or with a pinned ephemeral
/// range, that range plus torchrun's MASTER_PORT 29500 and c10d's 29400.
pub fn replica_ports(pinned: Option<(u16, u16)>) -> Conns {
    match pinned {
        None => Conns::of(Protocol::Tcp, PortSet::all()),
        Some((a, b)) => Conns::of(
            Protocol::Tcp,
            PortSet::range(a, b)
                .union(&PortSet::single(29500))
                .union(&PortSet::single(29400)),
        ),
    }
}

/// A distributed training job found in the inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingJob {
    pub ns: String,
    /// `ns/name[Kind]`.
    pub display: String,
    /// The pinned ephemeral port range, when a pod of the job sets one.
    pub pinned: Option<(u16, u16)>,
}

/// Training jobs of the analysed network, by job key ([`crate::network::Pod::job_key`]).
pub fn training_jobs(a: &Analysis<'_>) -> BTreeMap<String, TrainingJob> {
    let mut jobs = BTreeMap::new();
    for p in &a.net.pods {
        if p.class != WorkloadClass::Training {
            continue;
        }
        let w = &a.net.workloads[p.workload];
        let name = match w.object {
            Some(_) if w.role.is_some() => {
                let role = w.role.as_deref().unwrap_or_default().to_lowercase();
                w.name
                    .strip_suffix(role.as_str())
                    .and_then(|n| n.strip_suffix('-'))
                    .unwrap_or(&w.name)
                    .to_owned()
            }
            _ => w.name.clone(),
        };
        let e = jobs.entry(p.job_key()).or_insert_with(|| TrainingJob {
            ns: p.ns.clone(),
            display: format!("{}/{name}[{}]", p.ns, w.kind),
            pinned: None,
        });
        if p.local_port_range.is_some() {
            e.pinned = p.local_port_range;
        }
    }
    jobs
}

fn whole_space() -> IpSet {
    IpSet::from_range(IpRange::whole(Family::V4))
        .union(&IpSet::from_range(IpRange::whole(Family::V6)))
}

/// The built-in `training-isolation` intents, one group per training job.
pub fn training_isolation(a: &Analysis<'_>, s: &IsolationSettings) -> Vec<Intent> {
    let mut out = Vec::new();
    let origin = ORIGIN.to_owned();
    for (key, tj) in training_jobs(a) {
        let TrainingJob {
            display, pinned, ..
        } = &tj;
        let pinned = *pinned;
        let job = IntentEnd {
            job: Some(key.clone()),
            ..Default::default()
        };
        out.push(Intent {
            name: format!("{display}: replicas reach each other"),
            expect: Expect::Allow,
            from: job.clone(),
            to: job.clone(),
            conns: replica_ports(pinned),
            origin: origin.clone(),
        });
        let dns = IntentEnd {
            namespaces: vec!["kube-system".to_owned()],
            pod_selector: Some(Selector {
                requirements: vec![Requirement::In(
                    "k8s-app".to_owned(),
                    vec!["kube-dns".to_owned()],
                )],
            }),
            ..Default::default()
        };
        out.push(Intent {
            name: format!("{display}: DNS (UDP and TCP 53 to kube-dns)"),
            expect: Expect::Allow,
            from: job.clone(),
            to: dns,
            conns: Conns::of(Protocol::Udp, PortSet::single(53))
                .union(&Conns::of(Protocol::Tcp, PortSet::single(53))),
            origin: origin.clone(),
        });
        for (set, ports) in &s.storage {
            out.push(Intent {
                name: format!(
                    "{display}: model storage {}",
                    set.ranges()
                        .first()
                        .map(|r| r.to_string())
                        .unwrap_or_default()
                ),
                expect: if ports.is_some() {
                    Expect::Allow
                } else {
                    Expect::Reachable
                },
                from: job.clone(),
                to: IntentEnd {
                    addresses: Some(set.clone()),
                    ..Default::default()
                },
                conns: ports
                    .clone()
                    .unwrap_or_else(|| Conns::of(Protocol::Tcp, PortSet::all())),
                origin: origin.clone(),
            });
        }
        out.push(outside_the_cluster(&key, &tj, s));
    }
    out
}

const ORIGIN: &str = "built-in training-isolation";

/// The last intent of a job's `training-isolation` group: its pods reach nothing outside
/// the cluster but model storage. MLG-NET-002 checks it alone.
pub fn outside_the_cluster(key: &str, job: &TrainingJob, s: &IsolationSettings) -> Intent {
    let mut outside = whole_space();
    for c in s.cluster.iter().chain(s.storage.iter().map(|(c, _)| c)) {
        outside = outside.subtract(c);
    }
    Intent {
        name: format!("{}: nothing else outside the cluster", job.display),
        expect: Expect::Deny,
        from: IntentEnd {
            job: Some(key.to_owned()),
            ..Default::default()
        },
        to: IntentEnd {
            addresses: Some(outside),
            ..Default::default()
        },
        conns: Conns::all(),
        origin: ORIGIN.to_owned(),
    }
}

// ------------------------------------------------------------------ evaluation

/// Verdicts per class, computed once and shared by all questions.
#[derive(Debug)]
pub struct Reach<'a, 'n> {
    pub a: &'a Analysis<'n>,
    cache: Mutex<HashMap<(usize, u8), std::sync::Arc<Verdicts>>>,
    /// Job key -> classes of its pods, built on first use.
    jobs: std::sync::OnceLock<HashMap<String, Vec<usize>>>,
}

/// A side of a flow: a pod class or an address range (index into `Analysis::ranges`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    Class(usize),
    Range(usize),
}

impl<'a, 'n> Reach<'a, 'n> {
    pub fn new(a: &'a Analysis<'n>) -> Self {
        Reach {
            a,
            cache: Mutex::new(HashMap::default()),
            jobs: std::sync::OnceLock::new(),
        }
    }

    /// The verdicts of class `c` in direction `d`, computed once for every class that shares
    /// them ([`Analysis::verdict_source`]).
    pub fn verdicts(&self, c: usize, d: Direction) -> std::sync::Arc<Verdicts> {
        let source = self.a.verdict_source(c, d);
        let key = (source, u8::from(d == Direction::Egress));
        if let Some(v) = self.cache.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return v;
        }
        let v = std::sync::Arc::new(self.a.verdicts(source, d));
        if let Ok(mut m) = self.cache.lock() {
            m.insert(key, v.clone());
        }
        v
    }

    /// Allowed connections from `s` to `d`.
    pub fn allowed(&self, s: Side, d: Side) -> Conns {
        match (s, d) {
            (Side::Class(s), Side::Class(d)) => {
                let eg = self.verdicts(s, Direction::Egress);
                let e = eg.get(d);
                if e.is_empty() {
                    return Conns::none();
                }
                e.intersect(self.verdicts(d, Direction::Ingress).get(s))
            }
            (Side::Class(s), Side::Range(r)) => self
                .verdicts(s, Direction::Egress)
                .get(self.a.range_target(r))
                .clone(),
            (Side::Range(r), Side::Class(d)) => self
                .verdicts(d, Direction::Ingress)
                .get(self.a.range_target(r))
                .clone(),
            (Side::Range(_), Side::Range(_)) => Conns::all(),
        }
    }

    /// How many pods class `c` stands for.
    pub fn pods_in_class(&self, c: usize) -> u64 {
        self.a.classes[c]
            .pods
            .iter()
            .map(|&p| u64::from(self.a.net.pods[p].replicas))
            .sum()
    }

    pub fn name(&self, s: Side) -> String {
        match s {
            Side::Class(c) => {
                let p = &self.a.net.pods[self.a.classes[c].rep];
                self.a.net.workloads[p.workload].display()
            }
            Side::Range(r) => {
                let mut out = String::with_capacity(41);
                self.a.ranges[r].push_span(&mut out);
                out.push_str("[External]");
                out
            }
        }
    }

    /// Sides an intent end stands for; `as_dst` picks destination-side address ranges.
    pub fn sides(&self, e: &IntentEnd, as_dst: bool) -> Vec<Side> {
        let a = self.a;
        if let Some(set) = &e.addresses {
            let (lo, hi) = if as_dst {
                (a.n_in, a.ranges.len())
            } else {
                (0, a.n_in)
            };
            return (lo..hi)
                .filter(|&r| set.overlaps_range(&a.ranges[r]))
                .map(Side::Range)
                .collect();
        }
        if let Some(w) = &e.workload {
            return crate::explain::resolve(a, w, as_dst)
                .unwrap_or_default()
                .into_iter()
                .map(|end| match end {
                    crate::explain::End::Pod { class, .. } => Side::Class(class),
                    crate::explain::End::External { range, .. } => Side::Range(range),
                })
                .collect();
        }
        if let Some(j) = &e.job {
            let index = self.jobs.get_or_init(|| {
                let mut m: HashMap<String, Vec<usize>> = HashMap::default();
                for (i, p) in a.net.pods.iter().enumerate() {
                    if let Some(c) = a.class_of[i] {
                        let v = m.entry(p.job_key()).or_default();
                        if !v.contains(&(c as usize)) {
                            v.push(c as usize);
                        }
                    }
                }
                m
            });
            let mut v: Vec<Side> = index
                .get(j)
                .map(|cs| cs.iter().map(|&c| Side::Class(c)).collect())
                .unwrap_or_default();
            v.sort();
            return v;
        }
        let mut out = BTreeSet::new();
        for (i, p) in a.net.pods.iter().enumerate() {
            if !e.namespaces.is_empty() && !e.namespaces.contains(&p.ns) {
                continue;
            }
            if let Some(ns) = &e.namespace_selector {
                if !ns.matches(&a.net.namespace_labels(&p.ns)) {
                    continue;
                }
            }
            if let Some(ps) = &e.pod_selector {
                if !ps.matches(&p.labels) {
                    continue;
                }
            }
            if let Some(c) = a.class_of[i] {
                out.insert(Side::Class(c as usize));
            }
        }
        out.into_iter().collect()
    }

    /// The explanation of the traffic from `s` to `d` (all ports).
    pub fn explain_pair(&self, s: Side, d: Side) -> crate::explain::Explanation {
        use crate::explain::End;
        let end = |x: Side| match x {
            Side::Class(c) => End::Pod {
                class: c,
                display: self.name(x),
            },
            Side::Range(r) => End::External {
                ip: self.a.ranges[r].first(),
                range: r,
            },
        };
        crate::explain::between(self.a, &end(s), &end(d), None)
    }

    /// Check one intent.
    pub fn check(&self, intent: &Intent) -> IntentResult {
        self.check_with(intent, true)
    }

    /// As [`Reach::check`]; without `explain`, the result has no explanation (a caller that
    /// reads only the violations saves explaining the first one).
    pub fn check_with(&self, intent: &Intent, explain: bool) -> IntentResult {
        let from = self.sides(&intent.from, false);
        let to = self.sides(&intent.to, true);
        let mut res = IntentResult {
            intent: intent.clone(),
            pairs: 0,
            violations: Vec::new(),
            unresolved: None,
            explanation: None,
        };
        if from.is_empty() || to.is_empty() {
            res.unresolved = Some(format!(
                "{} matches nothing in the inputs, so the intent cannot be judged",
                if from.is_empty() {
                    intent.from.describe()
                } else {
                    intent.to.describe()
                }
            ));
            return res;
        }
        for &s in &from {
            for &d in &to {
                if matches!((s, d), (Side::Range(_), Side::Range(_))) {
                    continue;
                }
                // Within one class, traffic is between two of its pods: only when there are
                // two (a pod always reaches itself).
                if let (Side::Class(x), Side::Class(y)) = (s, d) {
                    if x == y && self.pods_in_class(x) < 2 {
                        continue;
                    }
                }
                res.pairs += 1;
                let allowed = self.allowed(s, d);
                let problem = match intent.expect {
                    Expect::Allow => intent.conns.subtract(&allowed),
                    Expect::Deny => intent.conns.intersect(&allowed),
                    Expect::Reachable => {
                        if intent.conns.intersect(&allowed).is_empty() {
                            intent.conns.clone()
                        } else {
                            Conns::none()
                        }
                    }
                };
                if !problem.is_empty() {
                    if explain && res.explanation.is_none() {
                        res.explanation = Some(self.explain_pair(s, d));
                    }
                    res.violations.push(Violation {
                        src: self.name(s),
                        dst: self.name(d),
                        allowed,
                        problem,
                    });
                }
            }
        }
        res
    }
}

/// Text report of intent results.
pub fn render_text(results: &[IntentResult], verbose_limit: usize) -> String {
    let mut o = String::new();
    for r in results {
        let i = &r.intent;
        let mark = if r.holds() { "PASS" } else { "FAIL" };
        let _ = writeln!(
            o,
            "{mark} {} (expect {} {} from {} to {}; {})",
            i.name,
            i.expect.as_str(),
            i.conns,
            i.from.describe(),
            i.to.describe(),
            i.origin
        );
        if let Some(u) = &r.unresolved {
            let _ = writeln!(o, "  cannot judge: {u}");
        }
        for v in r.violations.iter().take(verbose_limit) {
            let what = match i.expect {
                Expect::Allow | Expect::Reachable => "missing",
                Expect::Deny => "allowed",
            };
            let _ = writeln!(
                o,
                "  {} => {}: {what} {} (allowed: {})",
                v.src, v.dst, v.problem, v.allowed
            );
        }
        if r.violations.len() > verbose_limit {
            let _ = writeln!(o, "  ... {} more pairs", r.violations.len() - verbose_limit);
        }
        if let Some(e) = &r.explanation {
            let _ = writeln!(o, "  why (first pair):");
            for line in crate::explain::render_text(e).lines().skip(1) {
                let _ = writeln!(o, "  {line}");
            }
        }
    }
    let failed = results.iter().filter(|r| !r.holds()).count();
    let _ = writeln!(
        o,
        "{} intents: {} hold, {failed} fail",
        results.len(),
        results.len() - failed
    );
    o
}

/// JSON report (see docs/netpol-intents.md).
pub fn to_json(results: &[IntentResult]) -> serde_json::Value {
    serde_json::Value::Array(
        results
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.intent.name,
                    "expect": r.intent.expect.as_str(),
                    "conn": r.intent.conns.to_string(),
                    "from": r.intent.from.describe(),
                    "to": r.intent.to.describe(),
                    "origin": r.intent.origin,
                    "holds": r.holds(),
                    "pairs": r.pairs,
                    "unresolved": r.unresolved,
                    "violations": r.violations.iter().map(|v| serde_json::json!({
                        "src": v.src, "dst": v.dst, "allowed": v.allowed.to_string(), "problem": v.problem.to_string()
                    })).collect::<Vec<_>>(),
                    "explanation": r.explanation.as_ref().map(crate::explain::to_json),
                })
            })
            .collect(),
    )
}
