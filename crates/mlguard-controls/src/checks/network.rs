//! Reachability controls on the netpol engine: MLG-NET-002 (exfiltration), 003 (replicas of a
//! job), 004 (DNS), 005 (cross-tenant) and 006 (exposed endpoints).

use super::Ctx;
use mlguard_core::{InputError, WorkloadClass};
use mlguard_netpol::intents::{self, IntentEnd, IsolationSettings, Reach, Side};
use mlguard_netpol::policy::Direction;
use mlguard_netpol::{Analysis, Conns, Level, Network, PortSet, Protocol};
use std::collections::{BTreeMap, BTreeSet};

const NET_002: &str = "MLG-NET-002";
const NET_003: &str = "MLG-NET-003";
const NET_004: &str = "MLG-NET-004";
const NET_005: &str = "MLG-NET-005";
const NET_006: &str = "MLG-NET-006";

/// Run the reachability controls. Policy errors the API server would reject are returned as
/// input errors.
pub fn run(ctx: &mut Ctx<'_>) -> Vec<InputError> {
    let host = mlguard_netpol::HostNetwork::default();
    let mut net = match ctx.prepared {
        Some(p) => Network::from_templates_with_policies(
            ctx.inv,
            &ctx.templates,
            Level::Workload,
            host,
            &p.policies,
        ),
        None => Network::from_templates(ctx.inv, &ctx.templates, Level::Workload, host),
    };
    let errors = std::mem::take(&mut net.errors);
    net.ensure_kube_dns();
    let cluster: Vec<String> = ctx
        .cfg
        .cluster_cidrs
        .iter()
        .chain(&ctx.cfg.service_cidrs)
        .cloned()
        .collect();
    let settings = match IsolationSettings::parse(&cluster, &ctx.cfg.storage_endpoints) {
        Ok(s) => s,
        Err(e) => {
            for id in [NET_002, NET_003] {
                ctx.skipped
                    .insert(id.to_owned(), format!("mlguard.yaml CIDRs unreadable: {e}"));
            }
            IsolationSettings::default()
        }
    };
    let a = Analysis::new(&net);
    let reach = Reach::new(&a);
    training(ctx, &reach, &settings);
    dns(ctx, &reach);
    tenants(ctx, &reach);
    endpoints(ctx, &reach);
    connectivity_context(ctx, &a);
    errors
}

/// Above this many workloads the report's network view is left out of a scan (it would be a
/// quadratic list no one reads in a page); `mlguard netpol reach` gives it in full.
const CONNECTIVITY_MAX_WORKLOADS: usize = 2_000;

/// The report's `connectivity` section: every allowed connection from or to a workload in an
/// ML namespace, as `mlguard netpol reach --format json` prints it.
fn connectivity_context(ctx: &mut Ctx<'_>, a: &Analysis<'_>) {
    if ctx.focus.is_some() || a.net.workloads.len() > CONNECTIVITY_MAX_WORKLOADS {
        return;
    }
    use mlguard_netpol::connlist::{self, Node};
    let ml = |n: &Node| match n {
        Node::Workload(w) => ctx.inv.is_ml_namespace(&a.net.workloads[*w].ns),
        Node::Range(_) => false,
    };
    let mut conns = connlist::connectivity(a);
    conns.retain(|c| ml(&c.src) || ml(&c.dst));
    if conns.is_empty() {
        return;
    }
    let json = connlist::render(a, &conns, connlist::Format::Json);
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&json) {
        ctx.context.insert("connectivity".to_owned(), v);
    }
}

/// The object and YAML node to point a finding at for a pod class.
fn anchor(ctx: &Ctx<'_>, r: &Reach<'_, '_>, c: usize) -> Option<usize> {
    let p = &r.a.net.pods[r.a.classes[c].rep];
    r.a.net.workloads[p.workload]
        .object
        .or((p.object < ctx.inv.objects.len()).then_some(p.object))
}

/// Pod classes grouped by the workload they print as, with the object to report on; only
/// classes `keep` accepts. A workload whose pods differ (several classes) is judged on all.
struct Group {
    name: String,
    object: usize,
    classes: Vec<usize>,
}

fn by_workload(ctx: &Ctx<'_>, r: &Reach<'_, '_>, keep: impl Fn(usize) -> bool) -> Vec<Group> {
    // Keyed by workload: `Network::build` makes one per (namespace, name, kind); the only
    // other one, the synthetic kube-dns, has no object to anchor on. Two workloads that print
    // alike (a name with `/` or a control character, which the API server rejects) are two
    // groups. Names are built only for the groups kept (with a focus, the one whose findings
    // are wanted).
    let mut by_wl: BTreeMap<usize, (usize, Vec<usize>)> = BTreeMap::new();
    for c in (0..r.a.classes.len()).filter(|&c| keep(c)) {
        let Some(object) = anchor(ctx, r, c) else {
            continue;
        };
        let wl = r.a.net.pods[r.a.classes[c].rep].workload;
        by_wl
            .entry(wl)
            .or_insert_with(|| (object, Vec::new()))
            .1
            .push(c);
    }
    let mut groups: Vec<Group> = by_wl
        .into_values()
        .filter(|(object, _)| ctx.wants(*object))
        .map(|(object, classes)| Group {
            name: r.name(Side::Class(classes[0])),
            object,
            classes,
        })
        .collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    groups
}

fn emit_on(ctx: &mut Ctx<'_>, id: &str, object: usize, msg: String) {
    let o = &ctx.inv.objects[object];
    let at = o.at();
    let at = at.get("spec").unwrap_or(at);
    ctx.emit(id, object, &at, msg);
}

fn in_scope_class(ctx: &Ctx<'_>, r: &Reach<'_, '_>, c: usize) -> bool {
    let p = &r.a.net.pods[r.a.classes[c].rep];
    ctx.in_scope(Some(&p.ns))
}

fn ranges_text(r: &Reach<'_, '_>, v: &[(Side, Conns)]) -> String {
    let mut parts: Vec<String> = v
        .iter()
        .take(3)
        .map(|(s, c)| format!("{} ({c})", r.name(*s)))
        .collect();
    if v.len() > 3 {
        parts.push(format!("and {} more", v.len() - 3));
    }
    parts.join(", ")
}

/// MLG-NET-002 and MLG-NET-003, per training job.
fn training(ctx: &mut Ctx<'_>, r: &Reach<'_, '_>, s: &IsolationSettings) {
    let jobs = intents::training_jobs(r.a);
    for (key, job) in &jobs {
        let intents::TrainingJob {
            ns,
            display,
            pinned,
        } = job;
        if !ctx.in_scope(Some(ns)) {
            continue;
        }
        let job_end = IntentEnd {
            job: Some(key.clone()),
            ..Default::default()
        };
        let classes = r.sides(&job_end, false);
        let Some(object) = classes.iter().find_map(|s| match s {
            Side::Class(c) => anchor(ctx, r, *c),
            Side::Range(_) => None,
        }) else {
            continue;
        };
        // Both findings land on `object`.
        if !ctx.wants(object) {
            continue;
        }
        // NET-002: the built-in "nothing else outside the cluster" intent of this job.
        ctx.eval(NET_002);
        // Only the violations are reported, not the explanation.
        let res = r.check_with(&intents::outside_the_cluster(key, job, s), false);
        if !res.violations.is_empty() {
            let mut by_dst: BTreeMap<String, Conns> = BTreeMap::new();
            for v in &res.violations {
                by_dst
                    .entry(v.dst.clone())
                    .and_modify(|c| c.union_in_place(&v.allowed))
                    .or_insert_with(|| v.allowed.clone());
            }
            let shown: Vec<String> = by_dst
                .iter()
                .take(3)
                .map(|(d, c)| format!("{d} ({c})"))
                .collect();
            let more = if by_dst.len() > 3 {
                format!(" and {} more ranges", by_dst.len() - 3)
            } else {
                String::new()
            };
            let hint = if s.cluster.is_empty() {
                " (clusterCIDRs and serviceCIDRs are not set in mlguard.yaml, so in-cluster addresses count as outside)"
            } else {
                ""
            };
            emit_on(
                ctx,
                NET_002,
                object,
                format!(
                    "training pods of {display} can reach addresses outside the cluster: {}{more}{hint}",
                    shown.join(", ")
                ),
            );
        }
        // NET-003: replicas reach each other on what the framework needs.
        let total: u64 = classes
            .iter()
            .filter_map(|s| match s {
                Side::Class(c) => Some(r.pods_in_class(*c)),
                Side::Range(_) => None,
            })
            .sum();
        if total < 2 {
            continue;
        }
        ctx.eval(NET_003);
        let need = intents::replica_ports(*pinned);
        let mut broken = Vec::new();
        for &x in &classes {
            for &y in &classes {
                let (Side::Class(cx), Side::Class(cy)) = (x, y) else {
                    continue;
                };
                if cx == cy && r.pods_in_class(cx) < 2 {
                    continue;
                }
                let allowed = r.allowed(x, y);
                let missing = need.subtract(&allowed);
                if !missing.is_empty() {
                    broken.push(format!("{} => {} allows {allowed}", r.name(x), r.name(y)));
                }
            }
        }
        if !broken.is_empty() {
            let need_text = match pinned {
                Some((a, b)) => format!("TCP {a}-{b} (the pinned ephemeral range) plus 29500 and 29400"),
                None => "all TCP ports (NCCL and Gloo use ephemeral ports besides MASTER_PORT 29500 and c10d's 29400)".to_owned(),
            };
            emit_on(
                ctx,
                NET_003,
                object,
                format!(
                    "replicas of {display} cannot reach each other on {need_text}: {}",
                    broken.into_iter().take(3).collect::<Vec<_>>().join("; ")
                ),
            );
        }
    }
}

/// MLG-NET-004: pods under an egress policy need UDP and TCP 53 to kube-dns.
fn dns(ctx: &mut Ctx<'_>, r: &Reach<'_, '_>) {
    let dns_end = IntentEnd {
        namespaces: vec!["kube-system".to_owned()],
        pod_selector: Some(mlguard_core::selector::Selector {
            requirements: vec![mlguard_core::selector::Requirement::In(
                "k8s-app".to_owned(),
                vec!["kube-dns".to_owned()],
            )],
        }),
        ..Default::default()
    };
    let dns_sides = r.sides(&dns_end, true);
    let need = Conns::of(Protocol::Udp, PortSet::single(53))
        .union(&Conns::of(Protocol::Tcp, PortSet::single(53)));
    let groups = by_workload(ctx, r, |c| {
        in_scope_class(ctx, r, c)
            && r.a
                .policies_selecting(c, Direction::Egress)
                .next()
                .is_some()
    });
    for g in groups {
        ctx.eval(NET_004);
        let mut missing = Conns::none();
        for &c in &g.classes {
            let mut allowed = Conns::none();
            for &d in &dns_sides {
                allowed.union_in_place(&r.allowed(Side::Class(c), d));
            }
            missing.union_in_place(&need.subtract(&allowed));
        }
        if !missing.is_empty() {
            emit_on(
                ctx,
                NET_004,
                g.object,
                format!(
                    "{} is under an egress policy that does not allow {missing} to kube-dns: name resolution fails",
                    g.name
                ),
            );
        }
    }
}

/// MLG-NET-005: a pod of one tenant reaching a pod of another (reported on the destination).
///
/// Sparse over the verdicts: a destination is reached either by a source whose egress names it
/// (reverse index of egress entries) or by a source whose egress default lets it through; the
/// latter is checked against the destination's ingress default and entries only, so the work
/// grows with the policies' matches, not with pairs of pods.
fn tenants(ctx: &mut Ctx<'_>, r: &Reach<'_, '_>) {
    let a = r.a;
    let nc = a.classes.len();
    // Findings land on the anchors of destination classes: none is the focus, no work.
    if ctx.focus.is_some() && !(0..nc).any(|c| anchor(ctx, r, c) == ctx.focus) {
        return;
    }
    let tenant: Vec<Option<String>> = (0..nc)
        .map(|c| {
            let p = &a.net.pods[a.classes[c].rep];
            a.net
                .namespaces
                .get(&p.ns)
                .and_then(|n| n.labels.get("mlguard.io/tenant"))
                .cloned()
        })
        .collect();
    let groups = by_workload(ctx, r, |c| tenant[c].is_some());
    // The tenants of the destinations judged: a source of none of them or of every one of
    // them is never considered below, so its egress verdicts are not needed (a focused scan
    // judges one namespace, whose pods share a tenant).
    let judged: BTreeSet<&str> = groups
        .iter()
        .filter_map(|g| tenant[g.classes[0]].as_deref())
        .collect();
    let needed = |c: usize| {
        tenant[c]
            .as_deref()
            .is_some_and(|t| judged.iter().any(|td| *td != t))
    };
    // Through `Reach`'s cache, which the other checks fill and read too: a class's egress
    // verdicts are computed once for all of them (and once for the classes that share them).
    let eg: Vec<Option<std::sync::Arc<mlguard_netpol::engine::Verdicts>>> = {
        use rayon::prelude::*;
        (0..nc)
            .into_par_iter()
            .with_min_len(mlguard_core::PAR_MIN)
            .map(|c| needed(c).then(|| r.verdicts(c, Direction::Egress)))
            .collect()
    };
    // Who names d in its egress entries.
    let mut rev: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (s, v) in eg.iter().enumerate() {
        if let Some(v) = v {
            for (t, _) in &v.entries {
                if (*t as usize) < nc {
                    rev.entry(*t).or_default().push(s as u32);
                }
            }
        }
    }
    let open: Vec<usize> = (0..nc)
        .filter(|&s| eg[s].as_ref().is_some_and(|v| !v.default.is_empty()))
        .collect();
    let egress_to = |s: usize, d: usize| -> Conns {
        eg[s]
            .as_ref()
            .map_or_else(Conns::none, |v| v.get(d).clone())
    };
    for g in groups {
        let td = tenant[g.classes[0]].clone().unwrap_or_default();
        ctx.eval(NET_005);
        // Only a pod of another tenant is ever a source below: with none (the webhook's
        // context holds no pods), nothing is computed for the destination.
        if !tenant.iter().any(|t| t.as_deref().is_some_and(|t| t != td)) {
            continue;
        }
        let mut from: Vec<(Side, Conns)> = Vec::new();
        for &d in &g.classes {
            let ing = r.verdicts(d, Direction::Ingress);
            let consider = |s: usize, from: &mut Vec<(Side, Conns)>| {
                if tenant[s].as_ref().is_none_or(|ts| *ts == td) {
                    return;
                }
                let c = egress_to(s, d).intersect(ing.get(s));
                if !c.is_empty() && !from.iter().any(|(x, _)| *x == Side::Class(s)) {
                    from.push((Side::Class(s), c));
                }
            };
            for &s in rev.get(&(d as u32)).map(Vec::as_slice).unwrap_or_default() {
                consider(s as usize, &mut from);
            }
            if ing.default.is_empty() {
                for (s, _) in &ing.entries {
                    if (*s as usize) < nc {
                        consider(*s as usize, &mut from);
                    }
                }
            } else {
                for &s in &open {
                    if from.len() >= 4 {
                        break;
                    }
                    consider(s, &mut from);
                }
            }
        }
        if !from.is_empty() {
            from.sort_by_key(|(s, _)| r.name(*s));
            emit_on(
                ctx,
                NET_005,
                g.object,
                format!(
                    "{} (tenant {td}) can be reached by other tenants' pods: {}",
                    g.name,
                    ranges_text(r, &from)
                ),
            );
        }
    }
}

/// MLG-NET-006: inference, notebook and Ray endpoints exposed to every namespace or outside.
fn endpoints(ctx: &mut Ctx<'_>, r: &Reach<'_, '_>) {
    let net = r.a.net;
    let is_endpoint = |cl: WorkloadClass| {
        matches!(
            cl,
            WorkloadClass::Serving | WorkloadClass::Notebook | WorkloadClass::Ray
        )
    };
    // Endpoint pods by namespace, and the Services that front one.
    let mut endpoint_pods: std::collections::HashMap<&str, Vec<&mlguard_netpol::network::Pod>> =
        std::collections::HashMap::new();
    for p in net.pods.iter().filter(|p| is_endpoint(p.class)) {
        endpoint_pods.entry(p.ns.as_str()).or_default().push(p);
    }
    let fronts = |svc: &mlguard_netpol::network::Service| {
        svc.selector.as_ref().is_some_and(|sel| {
            endpoint_pods
                .get(svc.ns.as_str())
                .is_some_and(|ps| ps.iter().any(|p| sel.matches(&p.labels)))
        })
    };
    let fronting: BTreeSet<(&str, &str)> = net
        .services
        .iter()
        .filter(|s| fronts(s))
        .map(|s| (s.ns.as_str(), s.name.as_str()))
        .collect();
    let isvcs: BTreeSet<(&str, &str)> = ctx
        .inv
        .objects_of("InferenceService")
        .filter_map(|(_, x)| Some((x.namespace.as_deref()?, x.name.as_str())))
        .collect();
    // Services of type LoadBalancer or NodePort in front of an endpoint.
    for svc in &net.services {
        if !ctx.in_scope(Some(&svc.ns)) {
            continue;
        }
        if !fronting.contains(&(svc.ns.as_str(), svc.name.as_str())) {
            continue;
        }
        ctx.eval(NET_006);
        if matches!(svc.type_.as_str(), "LoadBalancer" | "NodePort") {
            let o = &ctx.inv.objects[svc.object];
            let at = o.at();
            let at = at.at(&["spec", "type"]).unwrap_or(at);
            ctx.emit(
                NET_006,
                svc.object,
                &at,
                format!(
                    "Service {}/{} of type {} exposes an ML endpoint outside the cluster",
                    svc.ns, svc.name, svc.type_
                ),
            );
        }
    }
    // Ingress objects routing to an endpoint's Service (KServe names it <isvc>-predictor).
    for (idx, o) in ctx.inv.objects_of("Ingress") {
        let Some(ns) = o.namespace.as_deref() else {
            continue;
        };
        if !ctx.in_scope(Some(ns)) {
            continue;
        }
        let mut backends = Vec::new();
        collect_backends(&o.root, &mut backends);
        let hit = backends.iter().find(|b| {
            fronting.contains(&(ns, b.as_str()))
                || isvcs.contains(&(ns, b.as_str()))
                || b.strip_suffix("-predictor")
                    .or_else(|| b.strip_suffix("-predictor-default"))
                    .is_some_and(|isvc| isvcs.contains(&(ns, isvc)))
        });
        ctx.eval(NET_006);
        if let Some(b) = hit {
            let at = o.at();
            let at = at.get("spec").unwrap_or(at);
            ctx.emit(
                NET_006,
                idx,
                &at,
                format!(
                    "Ingress {ns}/{} routes outside traffic to the ML endpoint behind Service `{b}`",
                    o.name
                ),
            );
        }
    }
    // Reachability of the endpoint pods themselves.
    let a = r.a;
    let namespaces: BTreeSet<&str> = net.pods.iter().map(|p| p.ns.as_str()).collect();
    let groups = by_workload(ctx, r, |c| {
        is_endpoint(net.pods[a.classes[c].rep].class) && in_scope_class(ctx, r, c)
    });
    for g in groups {
        ctx.eval(NET_006);
        let mut why = None;
        for &c in &g.classes {
            let p = &net.pods[a.classes[c].rep];
            let ing = r.verdicts(c, Direction::Ingress);
            let outside: Vec<(Side, Conns)> = (0..a.n_in)
                .filter_map(|x| {
                    let conns = ing.get(a.range_target(x));
                    (!conns.is_empty()).then(|| (Side::Range(x), conns.clone()))
                })
                .collect();
            let open_to_all = a.policies_selecting(c, Direction::Ingress).next().is_none();
            // Which other namespaces its ingress admits: all of them when unlisted sources
            // are admitted, else those of the admitted entries.
            let every_ns = if ing.default.is_empty() {
                let admitted: BTreeSet<&str> = ing
                    .entries
                    .iter()
                    .filter(|(t, conns)| (*t as usize) < a.classes.len() && !conns.is_empty())
                    .map(|(t, _)| net.pods[a.classes[*t as usize].rep].ns.as_str())
                    .collect();
                let others: Vec<&&str> = namespaces.iter().filter(|n| **n != p.ns).collect();
                !others.is_empty() && others.iter().all(|n| admitted.contains(**n))
            } else {
                true
            };
            why = if open_to_all {
                Some(format!("{} endpoint {}: no ingress policy selects it: every namespace and every outside address reach it", p.class.as_str(), g.name))
            } else if !outside.is_empty() {
                Some(format!(
                    "{} endpoint {}: reachable from outside the cluster: {}",
                    p.class.as_str(),
                    g.name,
                    ranges_text(r, &outside)
                ))
            } else if every_ns {
                Some(format!(
                    "{} endpoint {}: its ingress policy admits every other namespace",
                    p.class.as_str(),
                    g.name
                ))
            } else {
                None
            };
            if why.is_some() {
                break;
            }
        }
        if let Some(why) = why {
            emit_on(ctx, NET_006, g.object, why);
        }
    }
}

/// Backend service names of an Ingress (`spec.defaultBackend` and every rule path).
fn collect_backends(n: &mlguard_core::Node, out: &mut Vec<String>) {
    if let Some(name) = n.at("service.name").and_then(mlguard_core::Node::as_str) {
        out.push(name.to_owned());
    }
    if let Some(name) = n.get("serviceName").and_then(mlguard_core::Node::as_str) {
        out.push(name.to_owned());
    }
    for e in n.entries() {
        collect_backends(&e.value, out);
    }
    for i in n.items() {
        collect_backends(i, out);
    }
}
