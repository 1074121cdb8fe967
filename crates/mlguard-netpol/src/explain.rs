//! `explain`: is traffic from X to Y allowed, and which policy and rule decided each direction.

use crate::engine::{Analysis, Step};
use crate::network::{Pod, ServiceTarget};
use crate::policy::{Direction, Tier};
use crate::ports::{Conns, PortSet, Protocol};
use std::fmt::Write as _;
use std::net::IpAddr;

/// An end named on the command line or in an intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointRef {
    /// `ns/name` or `ns/name[Kind]` (Kind `Service` resolves to the Service's backends).
    Named {
        ns: String,
        name: String,
        kind: Option<String>,
    },
    Ip(IpAddr),
}

impl EndpointRef {
    /// Parse `ns/name`, `ns/name[Kind]` or an IP address.
    pub fn parse(s: &str) -> Result<EndpointRef, String> {
        let s = s.trim();
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(EndpointRef::Ip(ip));
        }
        let (body, kind) = match s.strip_suffix(']').and_then(|b| b.split_once('[')) {
            Some((b, k)) if !k.is_empty() => (b, Some(k.to_owned())),
            _ => (s, None),
        };
        match body.split_once('/') {
            Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
                Ok(EndpointRef::Named {
                    ns: ns.to_owned(),
                    name: name.to_owned(),
                    kind,
                })
            }
            _ => Err(format!(
                "`{s}` is not an endpoint: use ns/name, ns/name[Kind] or an IP address"
            )),
        }
    }
}

/// A port asked about: `29500/TCP`, `53/UDP`, `29500` (TCP), or a named port `http/TCP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortQuery {
    Number(Protocol, u16),
    Named(Option<Protocol>, String),
}

impl PortQuery {
    pub fn parse(s: &str) -> Result<PortQuery, String> {
        let (p, proto) = match s.split_once('/') {
            Some((p, pr)) => (
                p,
                Some(Protocol::parse(&pr.to_ascii_uppercase()).ok_or_else(|| {
                    format!("unknown protocol `{pr}` in `{s}` (TCP, UDP or SCTP)")
                })?),
            ),
            None => (s, None),
        };
        match p.parse::<u16>() {
            Ok(0) => Err(format!("port 0 in `{s}`: ports are 1-65535")),
            Ok(n) => Ok(PortQuery::Number(proto.unwrap_or(Protocol::Tcp), n)),
            Err(_)
                if !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
            {
                Ok(PortQuery::Named(proto, p.to_owned()))
            }
            Err(_) => Err(format!(
                "`{s}` is not a port: use 29500/TCP, 53/UDP or a port name"
            )),
        }
    }
}

/// Where one end of the traffic sits.
#[derive(Debug, Clone)]
pub enum End {
    /// A pod class (index), with the printed workload name.
    Pod { class: usize, display: String },
    /// An address outside the cluster (the index of its range as source or destination).
    External { ip: IpAddr, range: usize },
}

/// How one direction was decided.
#[derive(Debug, Clone)]
pub struct Side {
    pub direction: Direction,
    /// What this side is: "selected by ...", "no policy selects it", "outside the cluster"...
    pub status: String,
    pub steps: Vec<StepView>,
    /// Connections this side lets through.
    pub allowed: Conns,
}

/// A step with its policy spelled out.
#[derive(Debug, Clone)]
pub struct StepView {
    pub policy: String,
    pub tier: Tier,
    pub rule: String,
    pub action: String,
    pub conns: Conns,
    pub location: String,
}

#[derive(Debug, Clone)]
pub struct Explanation {
    pub from: String,
    pub to: String,
    pub port: Option<(Protocol, u16)>,
    /// Overall allowed connections (egress ∩ ingress).
    pub allowed: Conns,
    pub egress: Side,
    pub ingress: Side,
    pub notes: Vec<String>,
}

impl Explanation {
    /// Is the asked port (or anything, without a port) allowed?
    pub fn is_allowed(&self) -> bool {
        match self.port {
            Some((p, n)) => self.allowed.allows(p, n),
            None => !self.allowed.is_empty(),
        }
    }
}

/// Resolve an endpoint to pod classes (several for a workload with pod variants) or to an
/// external address.
pub fn resolve(a: &Analysis<'_>, e: &EndpointRef, as_dst: bool) -> Result<Vec<End>, String> {
    match e {
        EndpointRef::Ip(ip) => {
            // A pod with this IP?
            for (i, p) in a.net.pods.iter().enumerate() {
                if p.ips.contains(ip) {
                    if let Some(c) = a.class_of[i] {
                        return Ok(vec![End::Pod {
                            class: c as usize,
                            display: a.net.workloads[p.workload].display(),
                        }]);
                    }
                }
            }
            let (lo, hi) = if as_dst {
                (a.n_in, a.ranges.len())
            } else {
                (0, a.n_in)
            };
            let r = (lo..hi)
                .find(|&r| a.ranges[r].contains_ip(*ip))
                .ok_or_else(|| format!("{ip}: no address range holds it"))?;
            Ok(vec![End::External { ip: *ip, range: r }])
        }
        EndpointRef::Named { ns, name, kind } => {
            if kind.as_deref() == Some("Service") {
                let svc = a
                    .net
                    .services
                    .iter()
                    .find(|s| &s.ns == ns && &s.name == name)
                    .ok_or_else(|| format!("no Service {ns}/{name} in the inputs"))?;
                let sel = svc.selector.as_ref().ok_or_else(|| {
                    format!("Service {ns}/{name} has no selector: its endpoints are not in the manifests")
                })?;
                let ends = pods_to_ends(a, |p| &p.ns == ns && sel.matches(&p.labels));
                if ends.is_empty() {
                    return Err(format!("Service {ns}/{name} selects no pod in the inputs"));
                }
                return Ok(ends);
            }
            let ends = pods_to_ends(a, |p| {
                let w = &a.net.workloads[p.workload];
                &w.ns == ns
                    && (&w.name == name || &p.name == name)
                    && kind.as_ref().is_none_or(|k| k == &w.kind || k == "Pod")
            });
            if ends.is_empty() {
                let mut known: Vec<String> = a
                    .net
                    .workloads
                    .iter()
                    .filter(|w| &w.ns == ns)
                    .map(|w| w.display())
                    .collect();
                known.sort();
                known.truncate(8);
                return Err(format!(
                    "no workload {ns}/{name}{} in the inputs{}",
                    kind.as_ref().map(|k| format!("[{k}]")).unwrap_or_default(),
                    if known.is_empty() {
                        String::new()
                    } else {
                        format!(" (in {ns}: {})", known.join(", "))
                    }
                ));
            }
            Ok(ends)
        }
    }
}

fn pods_to_ends(a: &Analysis<'_>, f: impl Fn(&Pod) -> bool) -> Vec<End> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for (i, p) in a.net.pods.iter().enumerate() {
        if !f(p) {
            continue;
        }
        if let Some(c) = a.class_of[i] {
            if seen.insert(c) {
                out.push(End::Pod {
                    class: c as usize,
                    display: a.net.workloads[p.workload].display(),
                });
            }
        }
    }
    out
}

/// Translate a Service port to the backend's target port (number, or a container port name
/// resolved on the backend pod).
pub fn service_target(
    a: &Analysis<'_>,
    e: &EndpointRef,
    backend: &End,
    q: &PortQuery,
) -> Option<PortQuery> {
    let EndpointRef::Named { ns, name, kind } = e else {
        return None;
    };
    if kind.as_deref() != Some("Service") {
        return None;
    }
    let svc = a
        .net
        .services
        .iter()
        .find(|s| &s.ns == ns && &s.name == name)?;
    let (proto, num) = match q {
        PortQuery::Number(p, n) => (*p, *n),
        PortQuery::Named(..) => return None,
    };
    let sp = svc
        .ports
        .iter()
        .find(|p| p.port == num && p.proto == proto)?;
    Some(match &sp.target {
        ServiceTarget::Number(n) => PortQuery::Number(proto, *n),
        ServiceTarget::Name(n) => {
            let End::Pod { class, .. } = backend else {
                return None;
            };
            let rep = &a.net.pods[a.classes[*class].rep];
            let np = rep
                .named_ports
                .iter()
                .find(|x| &x.name == n && x.proto == proto)?;
            PortQuery::Number(proto, np.port)
        }
    })
}

/// Resolve a named port query against the destination.
fn concrete_port(a: &Analysis<'_>, dst: &End, q: &PortQuery) -> Result<(Protocol, u16), String> {
    match q {
        PortQuery::Number(p, n) => Ok((*p, *n)),
        PortQuery::Named(proto, name) => {
            let End::Pod { class, display } = dst else {
                return Err(format!("named port `{name}` needs a pod destination"));
            };
            let rep = &a.net.pods[a.classes[*class].rep];
            rep.named_ports
                .iter()
                .find(|x| &x.name == name && proto.is_none_or(|p| p == x.proto))
                .map(|x| (x.proto, x.port))
                .ok_or_else(|| format!("{display} has no container port named `{name}`"))
        }
    }
}

fn step_view(a: &Analysis<'_>, s: &Step) -> StepView {
    let p = &a.net.policies[s.policy];
    let (rule, location) = match s.rule {
        Some(ri) => {
            let r = &p.rules(s.direction).unwrap_or_default()[ri];
            (
                match &r.name {
                    Some(n) => format!("{} rule {ri} `{n}`", s.direction.as_str()),
                    None => format!("{} rule {ri}", s.direction.as_str()),
                },
                format!(
                    "{}:{}:{} ({})",
                    r.origin.file, r.origin.pos.line, r.origin.pos.column, r.origin.path
                ),
            )
        }
        None => (
            String::new(),
            format!(
                "{}:{}:{}",
                p.origin.file, p.origin.pos.line, p.origin.pos.column
            ),
        ),
    };
    StepView {
        policy: p.display(),
        tier: p.tier,
        rule,
        action: s.action.as_str().to_owned(),
        conns: s.conns.clone(),
        location,
    }
}

fn side(a: &Analysis<'_>, subject: &End, other: &End, d: Direction) -> Side {
    let End::Pod { class, display } = subject else {
        return Side {
            direction: d,
            status: "outside the cluster: no policy restricts this side".to_owned(),
            steps: Vec::new(),
            allowed: Conns::all(),
        };
    };
    let t = match other {
        End::Pod { class, .. } => *class,
        End::External { range, .. } => a.range_target(*range),
    };
    let rep = &a.net.pods[a.classes[*class].rep];
    let selecting: Vec<String> = a
        .policies_selecting(*class, d)
        .map(|p| p.display())
        .collect();
    let status = if rep.host_network && a.net.host_network == crate::network::HostNetwork::Ignored {
        format!("{display} uses hostNetwork: NetworkPolicy does not apply to it")
    } else if selecting.is_empty() {
        format!("no policy selects {display} for {}", d.as_str())
    } else {
        let isolated = a.np_isolated(*class, d);
        format!(
            "{display} is selected for {} by {}{}",
            d.as_str(),
            selecting.join(", "),
            if isolated {
                " (NetworkPolicy isolation: only what a rule allows gets through)"
            } else {
                ""
            }
        )
    };
    let (steps, allowed) = a.trace(*class, t, d);
    Side {
        direction: d,
        status,
        steps: steps.iter().map(|s| step_view(a, s)).collect(),
        allowed,
    }
}

/// Explain traffic from `from` to `to` (optionally one port). One explanation per pair of pod
/// variants the two ends resolve to.
pub fn explain(
    a: &Analysis<'_>,
    from: &EndpointRef,
    to: &EndpointRef,
    port: Option<&PortQuery>,
) -> Result<Vec<Explanation>, String> {
    let srcs = resolve(a, from, false)?;
    let dsts = resolve(a, to, true)?;
    if matches!(srcs[0], End::External { .. }) && matches!(dsts[0], End::External { .. }) {
        return Err(
            "both ends are outside the cluster: NetworkPolicy says nothing about that".into(),
        );
    }
    let mut out = Vec::new();
    for s in &srcs {
        for d in &dsts {
            let mut notes = Vec::new();
            let port = match port {
                None => None,
                Some(q) => {
                    let q2 = service_target(a, to, d, q);
                    if let Some(PortQuery::Number(p, n)) = &q2 {
                        notes.push(format!(
                            "Service port {} translates to target port {n}/{} on the backend",
                            match q {
                                PortQuery::Number(p, n) => format!("{n}/{}", p.as_str()),
                                PortQuery::Named(_, n) => n.clone(),
                            },
                            p.as_str()
                        ));
                    }
                    Some(concrete_port(a, d, q2.as_ref().unwrap_or(q))?)
                }
            };
            let mut e = between(a, s, d, port);
            notes.append(&mut e.notes);
            e.notes = notes;
            out.push(e);
        }
    }
    Ok(out)
}

/// Explain the traffic between two resolved ends.
pub fn between(a: &Analysis<'_>, s: &End, d: &End, port: Option<(Protocol, u16)>) -> Explanation {
    let egress = side(a, s, d, Direction::Egress);
    let ingress = side(a, d, s, Direction::Ingress);
    let allowed = egress.allowed.intersect(&ingress.allowed);
    let name = |e: &End| match e {
        End::Pod { display, .. } => display.clone(),
        End::External { ip, .. } => format!("{ip}[External]"),
    };
    let mut notes = Vec::new();
    if let (End::Pod { class: c1, .. }, End::Pod { class: c2, .. }) = (s, d) {
        if c1 == c2 {
            notes.push(
                "same pod class: a pod always reaches itself; between two pods of it the policies below apply"
                    .to_owned(),
            );
        }
    }
    Explanation {
        from: name(s),
        to: name(d),
        port,
        allowed,
        egress,
        ingress,
        notes,
    }
}

/// Human-readable text.
pub fn render_text(e: &Explanation) -> String {
    let mut o = String::new();
    let what = match e.port {
        Some((p, n)) => format!(" on {n}/{}", p.as_str()),
        None => String::new(),
    };
    let verdict = if e.is_allowed() { "ALLOWED" } else { "DENIED" };
    let _ = writeln!(o, "{} => {}{what}: {verdict}", e.from, e.to);
    if e.port.is_none() {
        let _ = writeln!(o, "  allowed connections: {}", e.allowed);
    }
    for n in &e.notes {
        let _ = writeln!(o, "  note: {n}");
    }
    for s in [&e.egress, &e.ingress] {
        let _ = writeln!(
            o,
            "  {} ({}):",
            s.direction.as_str(),
            if port_ok(s, e.port) {
                "allows"
            } else {
                "denies"
            }
        );
        let _ = writeln!(o, "    {}", s.status);
        let relevant: Vec<&StepView> = s
            .steps
            .iter()
            .filter(|st| match e.port {
                Some((p, n)) => st.conns.allows(p, n),
                None => true,
            })
            .collect();
        for st in &relevant {
            let _ = writeln!(
                o,
                "    {} {} [{:?} tier] {}: {} {}",
                st.action, st.conns, st.tier, st.policy, st.rule, st.location
            );
        }
        if relevant.is_empty() && !s.steps.is_empty() && e.port.is_some() {
            let _ = writeln!(o, "    no rule matches this port");
        }
        if !port_ok(s, e.port) && relevant.iter().all(|st| st.action != "Deny") {
            let _ = writeln!(
                o,
                "    denied: the selecting NetworkPolicies allow nothing that matches"
            );
        }
    }
    o
}

fn port_ok(s: &Side, port: Option<(Protocol, u16)>) -> bool {
    match port {
        Some((p, n)) => s.allowed.allows(p, n),
        None => !s.allowed.is_empty(),
    }
}

/// JSON form (stable keys; see docs/netpol.md).
pub fn to_json(e: &Explanation) -> serde_json::Value {
    let side = |s: &Side| {
        serde_json::json!({
            "status": s.status,
            "allowed": s.allowed.to_string(),
            "steps": s.steps.iter().map(|st| serde_json::json!({
                "policy": st.policy,
                "tier": format!("{:?}", st.tier),
                "rule": st.rule,
                "action": st.action,
                "conn": st.conns.to_string(),
                "location": st.location,
            })).collect::<Vec<_>>(),
        })
    };
    serde_json::json!({
        "src": e.from,
        "dst": e.to,
        "port": e.port.map(|(p, n)| format!("{n}/{}", p.as_str())),
        "allowed": e.is_allowed(),
        "conn": e.allowed.to_string(),
        "egress": side(&e.egress),
        "ingress": side(&e.ingress),
        "notes": e.notes,
    })
}

/// Port sets for a protocol list like `TCP 1-65535,UDP 53` or `29500/TCP`.
pub fn conns_of_port_list(items: &[String]) -> Result<Conns, String> {
    let mut out = Conns::none();
    for it in items {
        if let Some(c) = crate::ports::parse_conns(it) {
            if c.is_empty() {
                return Err(format!(
                    "`{it}` names no connection: an intent about nothing checks nothing"
                ));
            }
            out = out.union(&c);
            continue;
        }
        // `29400-29500/TCP` or `53/UDP` or `53`
        let (p, proto) = match it.split_once('/') {
            Some((p, pr)) => (
                p,
                Protocol::parse(&pr.to_ascii_uppercase())
                    .ok_or_else(|| format!("unknown protocol in `{it}`"))?,
            ),
            None => (it.as_str(), Protocol::Tcp),
        };
        let set = match p.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u16, u16) = (
                    a.parse().map_err(|_| format!("bad port in `{it}`"))?,
                    b.parse().map_err(|_| format!("bad port in `{it}`"))?,
                );
                if a == 0 || b < a {
                    return Err(format!("bad port range in `{it}`"));
                }
                PortSet::range(a, b)
            }
            None => {
                let n: u16 = p.parse().map_err(|_| format!("bad port in `{it}`"))?;
                if n == 0 {
                    return Err(format!("port 0 in `{it}`"));
                }
                PortSet::single(n)
            }
        };
        out = out.union(&Conns::of(proto, set));
    }
    Ok(out)
}
