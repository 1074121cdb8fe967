//! Reading NetworkPolicy v1, ClusterNetworkPolicy v1alpha2 and the legacy AdminNetworkPolicy /
//! BaselineAdminNetworkPolicy v1alpha1 into one model, with the API server's validation.
//!
//! A policy the API server would reject is reported as an [`InputError`] (file, line, field)
//! and left out of the analysis, as it could not exist in a cluster.

use crate::ip::{Cidr, IpSet};
use crate::ports::{PortSet, Protocol};
use mlguard_core::selector::{Requirement, Selector};
use mlguard_core::{At, InputError, Inventory, Object, Origin};

/// Which tier a policy sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Admin,
    NetworkPolicy,
    Baseline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Allow,
    Deny,
    Pass,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "Allow",
            Action::Deny => "Deny",
            Action::Pass => "Pass",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// Which namespaces a pod selector looks in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NsSel {
    /// The policy's own namespace (NetworkPolicy podSelector without namespaceSelector).
    Named(String),
    /// Namespaces matching the selector (empty selector: all).
    Matching(Selector),
}

/// A peer of a rule, or the subject of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// Pods in namespaces; `pods: None` means all pods of those namespaces.
    Pods { ns: NsSel, pods: Option<Selector> },
    /// Addresses (ipBlock minus except, or `networks`). Also matches pods with those IPs.
    Addresses(IpSet),
    /// Nodes by label (ANP/CNP egress). Nodes are not in the inputs: matches no address we
    /// know, and is reported.
    Nodes(Selector),
}

/// One port clause of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSpec {
    Numbers {
        proto: Protocol,
        ports: PortSet,
    },
    /// A container port name; `proto: None` (ANP/CNP) takes the container port's protocol.
    Named {
        proto: Option<Protocol>,
        name: String,
    },
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub action: Action,
    /// `None`: every peer (NetworkPolicy `from`/`to` absent or empty).
    pub peers: Option<Vec<Peer>>,
    /// `None`: all ports and protocols. `Some(empty)` (an ANP `ports: []`) matches nothing.
    pub ports: Option<Vec<PortSpec>>,
    /// Name (ANP/CNP) when given.
    pub name: Option<String>,
    pub origin: Origin,
}

impl Rule {
    pub fn has_named_ports(&self) -> bool {
        self.ports
            .iter()
            .flatten()
            .any(|p| matches!(p, PortSpec::Named { .. }))
    }
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub tier: Tier,
    /// Kind as written (NetworkPolicy, ClusterNetworkPolicy, AdminNetworkPolicy, ...).
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub object: usize,
    pub priority: i32,
    /// The selected pods.
    pub subject: Peer,
    /// `None`: the policy does not affect this direction.
    pub ingress: Option<Vec<Rule>>,
    pub egress: Option<Vec<Rule>>,
    pub origin: Origin,
}

impl Policy {
    pub fn rules(&self, d: Direction) -> Option<&[Rule]> {
        match d {
            Direction::Ingress => self.ingress.as_deref(),
            Direction::Egress => self.egress.as_deref(),
        }
    }

    /// `ns/name[Kind]` or `name[Kind]` for cluster-scoped policies.
    pub fn display(&self) -> String {
        use crate::network::printable as p;
        match &self.namespace {
            Some(ns) => format!("{}/{}[{}]", p(ns), p(&self.name), p(&self.kind)),
            None => format!("{}[{}]", p(&self.name), p(&self.kind)),
        }
    }
}

/// Kinds this module reads, for callers that filter inventories.
pub fn is_policy_kind(o: &Object) -> bool {
    matches!(
        (o.group(), o.kind.as_str()),
        ("networking.k8s.io", "NetworkPolicy")
            | (
                "policy.networking.k8s.io",
                "ClusterNetworkPolicy" | "AdminNetworkPolicy" | "BaselineAdminNetworkPolicy"
            )
    )
}

struct Cx<'a> {
    file: &'a str,
    errors: Vec<InputError>,
}

impl Cx<'_> {
    fn err(&mut self, at: &At<'_>, msg: impl Into<String>) {
        self.errors.push(InputError::at(self.file, at, msg));
    }

    fn origin(&self, at: &At<'_>) -> Origin {
        Origin::of(self.file, at)
    }
}

/// Read every policy of the inventory. Invalid policies are left out and their errors returned.
pub fn read_policies(inv: &Inventory) -> (Vec<Policy>, Vec<InputError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (idx, o) in inv.objects.iter().enumerate() {
        if !is_policy_kind(o) {
            continue;
        }
        let mut cx = Cx {
            file: inv.file_of(o),
            errors: Vec::new(),
        };
        let p = match o.kind.as_str() {
            "NetworkPolicy" => read_netpol(&mut cx, idx, o),
            "ClusterNetworkPolicy" => read_cluster(&mut cx, idx, o, Flavor::Cnp),
            "AdminNetworkPolicy" => read_cluster(&mut cx, idx, o, Flavor::Anp),
            _ => read_cluster(&mut cx, idx, o, Flavor::Banp),
        };
        if cx.errors.is_empty() {
            out.extend(p);
        }
        errors.append(&mut cx.errors);
    }
    (out, errors)
}

/// A label selector with the API server's checks (operators, values present or absent).
fn selector(cx: &mut Cx<'_>, at: &At<'_>) -> Option<Selector> {
    if !at.node.is_map() && !at.node.is_null() {
        cx.err(
            at,
            format!(
                "a label selector must be a mapping, found {}",
                at.node.type_name()
            ),
        );
        return None;
    }
    if let Some(me) = at.get("matchExpressions") {
        for (i, x) in me.items().enumerate() {
            let op = x.get("operator");
            let opv = op.as_ref().and_then(At::str).unwrap_or("");
            let nvals = x.get("values").map_or(0, |v| v.node.items().len());
            let bad = match opv {
                "In" | "NotIn" if nvals == 0 => {
                    Some(format!("operator {opv} needs at least one value"))
                }
                "Exists" | "DoesNotExist" if nvals > 0 => {
                    Some(format!("operator {opv} takes no values"))
                }
                "In" | "NotIn" | "Exists" | "DoesNotExist" => None,
                other => Some(format!(
                    "unknown operator `{other}` (expected In, NotIn, Exists or DoesNotExist)"
                )),
            };
            if let Some(m) = bad {
                let where_ = op.unwrap_or_else(|| x.clone());
                cx.err(&where_, m);
                return None;
            }
            if x.get("key")
                .and_then(|k| k.str().map(str::to_owned))
                .is_none()
            {
                cx.err(&x, format!("matchExpressions[{i}] needs a key"));
                return None;
            }
        }
    }
    match Selector::parse(at.node) {
        Ok(s) => Some(s),
        Err(e) => {
            cx.err(at, e);
            None
        }
    }
}

fn ns_name_selector(ns: &str) -> Selector {
    Selector {
        requirements: vec![Requirement::In(
            mlguard_core::inventory::LABEL_NS_NAME.to_owned(),
            vec![ns.to_owned()],
        )],
    }
}

fn cidr(cx: &mut Cx<'_>, at: &At<'_>) -> Option<Cidr> {
    let Some(s) = at.str() else {
        cx.err(at, "expected a CIDR string");
        return None;
    };
    match Cidr::parse(s) {
        Ok(c) => Some(c),
        Err(e) => {
            cx.err(at, e);
            None
        }
    }
}

fn protocol(cx: &mut Cx<'_>, at: Option<At<'_>>) -> Option<Protocol> {
    let Some(at) = at else {
        return Some(Protocol::Tcp);
    };
    match at.str().and_then(Protocol::parse) {
        Some(p) => Some(p),
        None => {
            cx.err(
                &at,
                format!(
                    "unsupported protocol `{}` (expected TCP, UDP or SCTP)",
                    at.node.scalar_text().unwrap_or_default()
                ),
            );
            None
        }
    }
}

fn port_number(cx: &mut Cx<'_>, at: &At<'_>) -> Option<u16> {
    match at.node.as_i64() {
        Some(n) if (1..=65535).contains(&n) => Some(n as u16),
        Some(n) => {
            cx.err(at, format!("port {n} is outside 1-65535"));
            None
        }
        None => {
            cx.err(at, "expected a port number");
            None
        }
    }
}

/// IANA service name rules the API server applies to named ports.
fn valid_port_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

fn netpol_ports(cx: &mut Cx<'_>, rule: &At<'_>) -> Vec<PortSpec> {
    let mut out = Vec::new();
    let Some(ports) = rule.get("ports") else {
        return out;
    };
    for p in ports.items() {
        let Some(proto) = protocol(cx, p.get("protocol")) else {
            continue;
        };
        let end = p.get("endPort");
        match p.get("port") {
            None => {
                if let Some(e) = end {
                    cx.err(&e, "endPort needs a numeric port");
                    continue;
                }
                out.push(PortSpec::Numbers {
                    proto,
                    ports: PortSet::all(),
                });
            }
            Some(pa) => {
                if let Some(name) = pa.str().filter(|s| s.parse::<i64>().is_err()) {
                    if !valid_port_name(name) {
                        cx.err(&pa, format!("`{name}` is not a valid port name (IANA service name: up to 15 lowercase letters, digits and '-')"));
                        continue;
                    }
                    if let Some(e) = end {
                        cx.err(&e, "endPort may not be used with a named port");
                        continue;
                    }
                    out.push(PortSpec::Named {
                        proto: Some(proto),
                        name: name.to_owned(),
                    });
                    continue;
                }
                let Some(lo) = port_number(cx, &pa) else {
                    continue;
                };
                let hi = match end {
                    None => lo,
                    Some(e) => {
                        let Some(hi) = port_number(cx, &e) else {
                            continue;
                        };
                        if hi < lo {
                            cx.err(&e, format!("endPort {hi} is below port {lo}"));
                            continue;
                        }
                        hi
                    }
                };
                out.push(PortSpec::Numbers {
                    proto,
                    ports: PortSet::range(lo, hi),
                });
            }
        }
    }
    out
}

fn ip_block(cx: &mut Cx<'_>, at: &At<'_>) -> Option<IpSet> {
    let Some(c) = at.get("cidr") else {
        cx.err(at, "ipBlock needs a cidr");
        return None;
    };
    let base = cidr(cx, &c)?;
    let mut set = IpSet::from_range(base.range);
    if let Some(ex) = at.get("except") {
        for e in ex.items() {
            let x = cidr(cx, &e)?;
            if x.range.family != base.range.family
                || !base.range.contains(&x.range)
                || x.prefix <= base.prefix
            {
                cx.err(
                    &e,
                    format!(
                        "except `{}` must be a strict subset of cidr `{}`",
                        e.str().unwrap_or_default(),
                        c.str().unwrap_or_default()
                    ),
                );
                return None;
            }
            set = set.subtract(&IpSet::from_range(x.range));
        }
    }
    Some(set)
}

fn netpol_peers(cx: &mut Cx<'_>, ns: &str, list: Option<At<'_>>) -> Option<Vec<Peer>> {
    let list = list?;
    if list.node.items().is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for p in list.items() {
        let ipb = p.get("ipBlock");
        let nss = p.get("namespaceSelector");
        let pods = p.get("podSelector");
        if let Some(ipb) = ipb {
            if nss.is_some() || pods.is_some() {
                cx.err(&p, "a peer may not combine ipBlock with a selector");
                continue;
            }
            if let Some(s) = ip_block(cx, &ipb) {
                out.push(Peer::Addresses(s));
            }
            continue;
        }
        if nss.is_none() && pods.is_none() {
            cx.err(
                &p,
                "must specify a peer (podSelector, namespaceSelector or ipBlock)",
            );
            continue;
        }
        let ns_sel = match &nss {
            Some(n) => match selector(cx, n) {
                Some(s) => NsSel::Matching(s),
                None => continue,
            },
            None => NsSel::Named(ns.to_owned()),
        };
        let pod_sel = match &pods {
            Some(n) => match selector(cx, n) {
                Some(s) => Some(s),
                None => continue,
            },
            None => None,
        };
        out.push(Peer::Pods {
            ns: ns_sel,
            pods: pod_sel,
        });
    }
    Some(out)
}

fn read_netpol(cx: &mut Cx<'_>, idx: usize, o: &Object) -> Option<Policy> {
    let root = o.at();
    let ns = o.namespace.clone().unwrap_or_else(|| "default".to_owned());
    let spec = root.get("spec").unwrap_or_else(|| root.clone());
    let subject_sel = match spec.get("podSelector") {
        Some(s) => selector(cx, &s)?,
        None => Selector::default(),
    };
    let ingress_at = spec.get("ingress");
    let egress_at = spec.get("egress");
    // policyTypes default as the API server sets it: Ingress always, Egress when egress rules
    // are present.
    let (mut has_in, mut has_eg) = (true, egress_at.is_some());
    if let Some(pt) = spec.get("policyTypes") {
        has_in = false;
        has_eg = false;
        if pt.node.items().len() > 2 {
            cx.err(&pt, "policyTypes may list at most Ingress and Egress");
        }
        for t in pt.items() {
            match t.str() {
                Some("Ingress") => has_in = true,
                Some("Egress") => has_eg = true,
                _ => cx.err(
                    &t,
                    format!(
                        "unknown policy type `{}` (expected Ingress or Egress)",
                        t.node.scalar_text().unwrap_or_default()
                    ),
                ),
            }
        }
    }
    let mut rules = |list: Option<At<'_>>, key: &str, on: bool| -> Option<Vec<Rule>> {
        if !on {
            return None;
        }
        let mut out = Vec::new();
        if let Some(list) = list {
            for r in list.items() {
                let peers = netpol_peers(cx, &ns, r.get(key));
                let ports = netpol_ports(cx, &r);
                let ports = (!ports.is_empty()).then_some(ports);
                out.push(Rule {
                    action: Action::Allow,
                    peers,
                    ports,
                    name: None,
                    origin: cx.origin(&r),
                });
            }
        }
        Some(out)
    };
    let ingress = rules(ingress_at, "from", has_in);
    let egress = rules(egress_at, "to", has_eg);
    Some(Policy {
        tier: Tier::NetworkPolicy,
        kind: o.kind.clone(),
        name: o.name.clone(),
        subject: Peer::Pods {
            ns: NsSel::Named(ns.clone()),
            pods: Some(subject_sel),
        },
        namespace: Some(ns),
        object: idx,
        priority: 0,
        ingress,
        egress,
        origin: cx.origin(&root),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Cnp,
    Anp,
    Banp,
}

fn namespaced_pods(cx: &mut Cx<'_>, at: &At<'_>) -> Option<Peer> {
    let ns = match at.get("namespaceSelector") {
        Some(n) => selector(cx, &n)?,
        None => Selector::default(),
    };
    // A missing podSelector reads as `{}` (all pods), as the Go types decode it.
    let pods = match at.get("podSelector") {
        Some(ps) => selector(cx, &ps)?,
        None => Selector::default(),
    };
    Some(Peer::Pods {
        ns: NsSel::Matching(ns),
        pods: Some(pods),
    })
}

/// `namespaces` / `pods` (and for egress `networks`, `nodes`): exactly one must be set.
fn cluster_peer(cx: &mut Cx<'_>, at: &At<'_>, egress: bool) -> Option<Peer> {
    let keys: Vec<&str> = at.node.entries().iter().map(|e| e.key.as_str()).collect();
    if keys.len() != 1 {
        cx.err(
            at,
            "exactly one of namespaces, pods, networks or nodes must be set",
        );
        return None;
    }
    let (k, v) = at.entries().next()?;
    match k {
        "namespaces" => Some(Peer::Pods {
            ns: NsSel::Matching(selector(cx, &v)?),
            pods: None,
        }),
        "pods" => namespaced_pods(cx, &v),
        "networks" if egress => {
            let mut set = IpSet::empty();
            for c in v.items() {
                set = set.union(&IpSet::from_range(cidr(cx, &c)?.range));
            }
            Some(Peer::Addresses(set))
        }
        "nodes" if egress => Some(Peer::Nodes(selector(cx, &v)?)),
        "domainNames" if egress => {
            cx.err(
                &v,
                "domainNames peers are not analysed (they depend on DNS answers); remove them or use networks",
            );
            None
        }
        other => {
            cx.err(at, format!("unknown peer field `{other}`"));
            None
        }
    }
}

/// `Some(None)`: no port clause (all ports); `Some(Some(v))`: those ports; `None`: error.
fn cluster_ports(cx: &mut Cx<'_>, rule: &At<'_>, flavor: Flavor) -> Option<Option<Vec<PortSpec>>> {
    let mut out = Vec::new();
    let key = if flavor == Flavor::Cnp {
        "protocols"
    } else {
        "ports"
    };
    let Some(list) = rule.get(key) else {
        return Some(None);
    };
    for p in list.items() {
        let Some((k, v)) = p.entries().next() else {
            cx.err(&p, "empty port entry");
            return None;
        };
        if p.node.entries().len() != 1 {
            cx.err(&p, "exactly one field must be set in a port entry");
            return None;
        }
        let spec = match (flavor, k) {
            (Flavor::Cnp, "tcp" | "udp" | "sctp") => {
                let proto = Protocol::parse(&k.to_uppercase())?;
                let ports = match v.get("destinationPort") {
                    None => PortSet::all(),
                    Some(dp) => {
                        if let Some(n) = dp.get("number") {
                            PortSet::single(port_number(cx, &n)?)
                        } else if let Some(r) = dp.get("range") {
                            range_of(cx, &r)?
                        } else {
                            cx.err(&dp, "destinationPort needs number or range");
                            return None;
                        }
                    }
                };
                PortSpec::Numbers { proto, ports }
            }
            (Flavor::Cnp, "destinationNamedPort") | (_, "namedPort") => {
                let Some(name) = v.str() else {
                    cx.err(&v, "expected a port name");
                    return None;
                };
                PortSpec::Named {
                    proto: None,
                    name: name.to_owned(),
                }
            }
            (Flavor::Anp | Flavor::Banp, "portNumber") => {
                let proto = protocol(cx, v.get("protocol"))?;
                let Some(n) = v.get("port") else {
                    cx.err(&v, "portNumber needs a port");
                    return None;
                };
                PortSpec::Numbers {
                    proto,
                    ports: PortSet::single(port_number(cx, &n)?),
                }
            }
            (Flavor::Anp | Flavor::Banp, "portRange") => {
                let proto = protocol(cx, v.get("protocol"))?;
                PortSpec::Numbers {
                    proto,
                    ports: range_of(cx, &v)?,
                }
            }
            (_, other) => {
                cx.err(&p, format!("unknown port field `{other}`"));
                return None;
            }
        };
        out.push(spec);
    }
    Some(Some(out))
}

fn range_of(cx: &mut Cx<'_>, r: &At<'_>) -> Option<PortSet> {
    let (Some(s), Some(e)) = (r.get("start"), r.get("end")) else {
        cx.err(r, "a port range needs start and end");
        return None;
    };
    let lo = port_number(cx, &s)?;
    let hi = port_number(cx, &e)?;
    if lo >= hi {
        cx.err(&e, format!("range end {hi} must be above start {lo}"));
        return None;
    }
    Some(PortSet::range(lo, hi))
}

fn read_cluster(cx: &mut Cx<'_>, idx: usize, o: &Object, flavor: Flavor) -> Option<Policy> {
    let root = o.at();
    let Some(spec) = root.get("spec") else {
        cx.err(&root, "missing spec");
        return None;
    };
    let tier = match flavor {
        Flavor::Anp => Tier::Admin,
        Flavor::Banp => Tier::Baseline,
        Flavor::Cnp => match spec.get("tier") {
            Some(t) if t.str() == Some("Admin") => Tier::Admin,
            Some(t) if t.str() == Some("Baseline") => Tier::Baseline,
            Some(t) => {
                cx.err(&t, "tier must be Admin or Baseline");
                return None;
            }
            None => {
                cx.err(&spec, "missing tier (Admin or Baseline)");
                return None;
            }
        },
    };
    let priority = match (flavor, spec.get("priority")) {
        (Flavor::Banp, _) => 0,
        (_, Some(p)) => match p.node.as_i64() {
            Some(n) if (0..=1000).contains(&n) => n as i32,
            _ => {
                cx.err(&p, "priority must be an integer from 0 to 1000");
                return None;
            }
        },
        (_, None) => {
            cx.err(&spec, "missing priority");
            return None;
        }
    };
    if flavor == Flavor::Banp && o.name != "default" {
        cx.err(
            &root.at(&["metadata", "name"]).unwrap_or_else(|| root.clone()),
            "a BaselineAdminNetworkPolicy must be named `default` (the API server rejects other names)",
        );
        return None;
    }
    let Some(subj) = spec.get("subject") else {
        cx.err(&spec, "missing subject");
        return None;
    };
    let subject = match subj.entries().next() {
        Some(("namespaces", v)) if subj.node.entries().len() == 1 => Peer::Pods {
            ns: NsSel::Matching(selector(cx, &v)?),
            pods: None,
        },
        Some(("pods", v)) if subj.node.entries().len() == 1 => namespaced_pods(cx, &v)?,
        _ => {
            cx.err(&subj, "subject needs exactly one of namespaces or pods");
            return None;
        }
    };
    let mut dir = |key: &str, peers_key: &str, egress: bool| -> Option<Option<Vec<Rule>>> {
        let Some(list) = spec.get(key) else {
            return Some(None);
        };
        if list.node.items().is_empty() {
            return Some(None);
        }
        let mut rules = Vec::new();
        for r in list.items() {
            let action = match (r.get("action").as_ref().and_then(At::str), flavor) {
                (Some("Accept"), Flavor::Cnp) | (Some("Allow"), Flavor::Anp | Flavor::Banp) => {
                    Action::Allow
                }
                (Some("Deny"), _) => Action::Deny,
                (Some("Pass"), Flavor::Cnp | Flavor::Anp) => Action::Pass,
                _ => {
                    let at = r.get("action").unwrap_or_else(|| r.clone());
                    let allowed = match flavor {
                        Flavor::Cnp => "Accept, Deny or Pass",
                        Flavor::Anp => "Allow, Deny or Pass",
                        Flavor::Banp => "Allow or Deny",
                    };
                    cx.err(&at, format!("action must be {allowed}"));
                    return None;
                }
            };
            let Some(pl) = r.get(peers_key).filter(|l| !l.node.items().is_empty()) else {
                cx.err(&r, format!("`{peers_key}` must list at least one peer"));
                return None;
            };
            let mut peers = Vec::new();
            for p in pl.items() {
                peers.push(cluster_peer(cx, &p, egress)?);
            }
            let ports = cluster_ports(cx, &r, flavor)?;
            if egress
                && ports
                    .iter()
                    .flatten()
                    .any(|p| matches!(p, PortSpec::Named { .. }))
                && peers
                    .iter()
                    .any(|p| matches!(p, Peer::Addresses(_) | Peer::Nodes(_)))
            {
                cx.err(
                    &r,
                    "a named port cannot be used with networks or nodes peers (they have no container ports)",
                );
                return None;
            }
            rules.push(Rule {
                action,
                peers: Some(peers),
                ports,
                name: r.get("name").and_then(|n| n.str().map(str::to_owned)),
                origin: cx.origin(&r),
            });
        }
        Some(Some(rules))
    };
    let ingress = dir("ingress", "from", false)?;
    let egress = dir("egress", "to", true)?;
    Some(Policy {
        tier,
        kind: o.kind.clone(),
        name: o.name.clone(),
        namespace: None,
        object: idx,
        priority,
        subject,
        ingress,
        egress,
        origin: cx.origin(&root),
    })
}

/// Selector matching one namespace by name (for NetworkPolicy subjects).
pub fn namespace_selector_for(ns: &str) -> Selector {
    ns_name_selector(ns)
}
