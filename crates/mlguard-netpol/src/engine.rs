//! The connectivity engine.
//!
//! Pods are grouped into classes of identical policy behaviour (namespace, labels, named
//! ports, and which address peers contain their IPs); the address space outside the cluster
//! is split into ranges at every policy boundary. Each rule's peers are resolved once into a
//! bit set over classes and ranges; each class's verdict per direction is then computed by
//! walking only the rules of the policies that select it, over only the targets those rules
//! match. Nothing loops over pods × rules.

use crate::ip::{split_at_boundaries, Family, IpRange, IpSet};
use crate::network::{Network, Pod};
use crate::policy::{Action, Direction, NsSel, Peer, Policy, PortSpec, Rule, Tier};
use crate::ports::{Conns, PortSet};
use mlguard_core::FastMap as HashMap;
use std::collections::BTreeMap;

thread_local! {
    /// Scratch target-to-slot map for [`Analysis::verdicts`], all `u32::MAX` between calls.
    static SLOTS: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A fixed-size bit set; up to 128 targets (a decision's few classes and ranges) inline.
#[derive(Debug, Clone)]
pub(crate) struct Bits(smallvec::SmallVec<[u64; 2]>);

impl Bits {
    fn new(n: usize) -> Self {
        Bits(smallvec::smallvec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    pub(crate) fn get(&self, i: usize) -> bool {
        self.0[i / 64] >> (i % 64) & 1 == 1
    }
    fn or(&mut self, o: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&o.0) {
            *a |= b;
        }
    }
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &word)| {
            let mut x = word;
            std::iter::from_fn(move || {
                if x == 0 {
                    return None;
                }
                let b = x.trailing_zeros() as usize;
                x &= x - 1;
                Some(w * 64 + b)
            })
        })
    }
}

/// Pods that behave identically under every policy.
#[derive(Debug, Clone)]
pub struct Class {
    /// Index of one pod of the class (its labels, namespace and ports stand for all).
    pub rep: usize,
    pub pods: Vec<usize>,
}

/// What a rule matches: every target, or a set.
#[derive(Debug, Clone)]
pub(crate) enum Matched {
    All,
    Some(Bits),
}

impl Matched {
    fn contains(&self, t: usize) -> bool {
        match self {
            Matched::All => true,
            Matched::Some(b) => b.get(t),
        }
    }
}

/// A target of a connection seen from a pod: another class, or an address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    Class(u32),
    Range(u32),
}

/// Verdicts of one class in one direction: a default for untouched targets, and exceptions.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdicts {
    pub default: Conns,
    /// Sorted by target index.
    pub entries: Vec<(u32, Conns)>,
}

impl Verdicts {
    pub fn get(&self, t: usize) -> &Conns {
        match self.entries.binary_search_by_key(&(t as u32), |e| e.0) {
            Ok(i) => &self.entries[i].1,
            Err(_) => &self.default,
        }
    }
}

/// One decision step for `explain`.
#[derive(Debug, Clone)]
pub struct Step {
    pub policy: usize,
    pub direction: Direction,
    /// Index of the rule within its direction; `None` for "selected, no rule matched".
    pub rule: Option<usize>,
    pub action: Action,
    /// The connections this step decided.
    pub conns: Conns,
}

/// The analysis of one [`Network`].
#[derive(Debug)]
pub struct Analysis<'n> {
    pub net: &'n Network,
    pub classes: Vec<Class>,
    /// Class of each pod.
    pub class_of: Vec<Option<u32>>,
    /// Address ranges outside the cluster, split at policy boundaries: `ranges[..n_in]` as
    /// sources (split at ingress ipBlocks), `ranges[n_in..]` as destinations (egress).
    pub ranges: Vec<IpRange>,
    pub n_in: usize,
    /// Matched targets of every rule of the policies that select a class:
    /// `rule_sets[policy][dir][rule]` (empty for a policy that selects none).
    rule_sets: Vec<[Vec<Matched>; 2]>,
    /// Policies selecting each class, by direction, in evaluation order (tier, priority, name).
    selected_by: Vec<[Vec<u32>; 2]>,
    /// For each class and direction, the first class whose verdicts are the same by
    /// construction (see [`Analysis::verdict_source`]).
    verdict_source: Vec<[u32; 2]>,
}

fn dir_idx(d: Direction) -> usize {
    match d {
        Direction::Ingress => 0,
        Direction::Egress => 1,
    }
}

impl<'n> Analysis<'n> {
    pub fn new(net: &'n Network) -> Self {
        // Address peers: ingress ones split the sources outside the cluster, egress ones the
        // destinations (for IP-based class keys, both).
        let mut in_sets: Vec<&IpSet> = Vec::new();
        let mut out_sets: Vec<&IpSet> = Vec::new();
        for p in net.policies.iter() {
            for d in [Direction::Ingress, Direction::Egress] {
                for r in p.rules(d).unwrap_or_default() {
                    for peer in r.peers.iter().flatten() {
                        if let Peer::Addresses(s) = peer {
                            match d {
                                Direction::Ingress => in_sets.push(s),
                                Direction::Egress => out_sets.push(s),
                            }
                        }
                    }
                }
            }
        }
        let families = |sets: &[&IpSet]| {
            let mut f = vec![Family::V4];
            if sets
                .iter()
                .any(|s| s.ranges().iter().any(|r| r.family == Family::V6))
            {
                f.push(Family::V6);
            }
            f
        };
        let mut ranges = split_at_boundaries(&families(&in_sets), &in_sets);
        let n_in = ranges.len();
        ranges.extend(split_at_boundaries(&families(&out_sets), &out_sets));
        let addr_sets: Vec<&IpSet> = in_sets.iter().chain(&out_sets).copied().collect();

        // Classes.
        let mut key_to_class: HashMap<ClassKey<'_>, u32> = HashMap::default();
        let mut classes: Vec<Class> = Vec::new();
        let mut class_of = vec![None; net.pods.len()];
        for (i, pod) in net.pods.iter().enumerate() {
            let ip_sig: Vec<u32> = addr_sets
                .iter()
                .enumerate()
                .filter(|(_, s)| pod.ips.iter().any(|ip| s.contains_ip(*ip)))
                .map(|(k, _)| k as u32)
                .collect();
            let key = ClassKey {
                host_network: pod.host_network,
                ns: &pod.ns,
                labels: &pod.labels,
                ports: &pod.named_ports,
                ip_sig,
            };
            let c = *key_to_class.entry(key).or_insert_with(|| {
                classes.push(Class {
                    rep: i,
                    pods: Vec::new(),
                });
                (classes.len() - 1) as u32
            });
            classes[c as usize].pods.push(i);
            class_of[i] = Some(c);
        }

        let mut a = Analysis {
            net,
            classes,
            class_of,
            ranges,
            n_in,
            rule_sets: Vec::new(),
            selected_by: Vec::new(),
            verdict_source: Vec::new(),
        };
        a.resolve();
        a
    }

    pub fn n_targets(&self) -> usize {
        self.classes.len() + self.ranges.len()
    }

    pub fn target(&self, t: usize) -> Target {
        if t < self.classes.len() {
            Target::Class(t as u32)
        } else {
            Target::Range((t - self.classes.len()) as u32)
        }
    }

    pub fn range_target(&self, r: usize) -> usize {
        self.classes.len() + r
    }

    fn rep(&self, c: usize) -> &Pod {
        &self.net.pods[self.classes[c].rep]
    }

    /// Classes of the namespaces a namespace selector picks, one namespace's at a time.
    fn classes_in<'b>(by_ns: &'b ByNs<'_>, ns: &'b NsSel) -> impl Iterator<Item = &'b [u32]> + 'b {
        let (named, matching) = match ns {
            NsSel::Named(n) => (by_ns.get(n.as_str()).map(|(_, cs)| cs.as_slice()), None),
            NsSel::Matching(sel) => (
                None,
                Some(
                    by_ns
                        .values()
                        .filter(move |(labels, _)| sel.matches(labels))
                        .map(|(_, cs)| cs.as_slice()),
                ),
            ),
        };
        named.into_iter().chain(matching.into_iter().flatten())
    }

    fn peer_bits(&self, by_ns: &ByNs<'_>, peer: &Peer) -> Bits {
        let mut b = Bits::new(self.n_targets());
        match peer {
            Peer::Pods { ns, pods } => {
                for c in Self::classes_in(by_ns, ns).flatten().copied() {
                    // hostNetwork pods are outside NetworkPolicy: no selector picks them,
                    // as subject or as peer (their traffic carries the node's address).
                    if self.rep(c as usize).host_network
                        && self.net.host_network == crate::network::HostNetwork::Ignored
                    {
                        continue;
                    }
                    if pods
                        .as_ref()
                        .is_none_or(|s| s.matches(&self.rep(c as usize).labels))
                    {
                        b.set(c as usize);
                    }
                }
            }
            Peer::Addresses(set) => {
                for (c, class) in self.classes.iter().enumerate() {
                    if self.net.pods[class.rep]
                        .ips
                        .iter()
                        .any(|ip| set.contains_ip(*ip))
                    {
                        b.set(c);
                    }
                }
                for (r, range) in self.ranges.iter().enumerate() {
                    if set.contains_range(range) {
                        b.set(self.range_target(r));
                    }
                }
            }
            Peer::Nodes(_) => {}
        }
        b
    }

    fn resolve(&mut self) {
        let net = self.net;
        let mut by_ns: ByNs<'_> = BTreeMap::new();
        for (c, class) in self.classes.iter().enumerate() {
            let ns = net.pods[class.rep].ns.as_str();
            by_ns
                .entry(ns)
                .or_insert_with(|| (net.namespace_labels(ns), Vec::new()))
                .1
                .push(c as u32);
        }
        let mut rule_sets = Vec::with_capacity(self.net.policies.len());
        let mut selected_by: Vec<[Vec<u32>; 2]> =
            vec![[Vec::new(), Vec::new()]; self.classes.len()];
        for (pi, p) in self.net.policies.iter().enumerate() {
            let subj = self.peer_bits(&by_ns, &p.subject);
            let mut sets: [Vec<Matched>; 2] = [Vec::new(), Vec::new()];
            // Rule sets are read only for the policies in `selected_by`: one that selects no
            // class (a serving policy, when the network holds only a training job) needs none.
            if subj.iter().any(|c| c < self.classes.len()) {
                for d in [Direction::Ingress, Direction::Egress] {
                    for r in p.rules(d).unwrap_or_default() {
                        sets[dir_idx(d)].push(match &r.peers {
                            None => Matched::All,
                            Some(peers) => {
                                let mut b = Bits::new(self.n_targets());
                                for peer in peers {
                                    b.or(&self.peer_bits(&by_ns, peer));
                                }
                                Matched::Some(b)
                            }
                        });
                    }
                }
            }
            rule_sets.push(sets);
            for c in subj.iter().filter(|&c| c < self.classes.len()) {
                for d in [Direction::Ingress, Direction::Egress] {
                    if p.rules(d).is_some() {
                        selected_by[c][dir_idx(d)].push(pi as u32);
                    }
                }
            }
        }
        let pols = &self.net.policies;
        for s in &mut selected_by {
            for v in s.iter_mut() {
                v.sort_by(|&a, &b| {
                    let (a, b) = (&pols[a as usize], &pols[b as usize]);
                    (a.tier, a.priority, &a.name).cmp(&(b.tier, b.priority, &b.name))
                });
            }
        }
        // The inputs of `verdicts(c, d)`: the policies selecting `c` in `d`, and for ingress
        // the named ports of `c`'s pods (a rule's named ports resolve on the destination).
        // Classes sorted by them (stably, so each run of equal inputs starts with its first
        // class); no hashing, as a decision's few classes would pay more for a table.
        let nc = self.classes.len();
        let mut verdict_source = vec![[0u32; 2]; nc];
        let mut order: Vec<u32> = (0..nc as u32).collect();
        for d in [Direction::Ingress, Direction::Egress] {
            let di = dir_idx(d);
            let key = |c: u32| {
                let ports: &[crate::network::NamedPort] = match d {
                    Direction::Ingress => &self.rep(c as usize).named_ports,
                    Direction::Egress => &[],
                };
                (selected_by[c as usize][di].as_slice(), ports)
            };
            order.sort_by(|&x, &y| key(x).cmp(&key(y)).then(x.cmp(&y)));
            let mut first = 0;
            for (i, &c) in order.iter().enumerate() {
                if key(c) != key(order[first]) {
                    first = i;
                }
                verdict_source[c as usize][di] = order[first];
            }
        }
        self.verdict_source = verdict_source;
        self.rule_sets = rule_sets;
        self.selected_by = selected_by;
    }

    /// The first class whose verdicts in direction `d` are those of class `c`: the same
    /// policies select both in `d` and, for ingress, their pods have the same named ports.
    /// Classes differ by labels or namespace that no policy of `d` tells apart (a job's
    /// replica types; a namespace's pods under its default policies): their verdicts are
    /// computed once. The test `shared_verdicts_are_the_classes_own` checks this against
    /// [`Analysis::verdicts`] of every class.
    pub fn verdict_source(&self, c: usize, d: Direction) -> usize {
        self.verdict_source[c][dir_idx(d)] as usize
    }

    /// The verdicts in direction `d` of every class `want` accepts (`None` for the others),
    /// each distinct one computed once (see [`Analysis::verdict_source`]), in parallel. For
    /// callers that ask for most classes at once (the connectivity list); checks that ask
    /// class by class share [`crate::intents::Reach`]'s cache instead.
    pub fn verdicts_of_classes(
        &self,
        d: Direction,
        want: impl Fn(usize) -> bool + Sync,
    ) -> Vec<Option<std::sync::Arc<Verdicts>>> {
        use rayon::prelude::*;
        let nc = self.classes.len();
        let wanted: Vec<bool> = (0..nc).map(&want).collect();
        let mut needed = vec![false; nc];
        for c in (0..nc).filter(|&c| wanted[c]) {
            needed[self.verdict_source(c, d)] = true;
        }
        let computed: Vec<Option<std::sync::Arc<Verdicts>>> = (0..nc)
            .into_par_iter()
            .with_min_len(mlguard_core::PAR_MIN)
            .map(|c| needed[c].then(|| std::sync::Arc::new(self.verdicts(c, d))))
            .collect();
        (0..nc)
            .map(|c| {
                if wanted[c] {
                    computed[self.verdict_source(c, d)].clone()
                } else {
                    None
                }
            })
            .collect()
    }

    /// Policies selecting class `c` in direction `d`, in evaluation order.
    pub fn policies_selecting(&self, c: usize, d: Direction) -> impl Iterator<Item = &Policy> {
        self.selected_by[c][dir_idx(d)]
            .iter()
            .map(|&p| &self.net.policies[p as usize])
    }

    /// Is class `c` isolated by a NetworkPolicy in direction `d`?
    pub fn np_isolated(&self, c: usize, d: Direction) -> bool {
        self.policies_selecting(c, d)
            .any(|p| p.tier == Tier::NetworkPolicy)
    }

    /// The ports rule `r` opens towards `dst_class` (the pod whose container ports named
    /// ports refer to; `None` for an address range, where named ports match nothing).
    fn rule_ports(r: &Rule, dst: Option<&Pod>) -> Conns {
        let Some(ports) = &r.ports else {
            return Conns::all();
        };
        let mut out = Conns::none();
        for p in ports {
            match p {
                PortSpec::Numbers { proto, ports } => {
                    out = out.union(&Conns::of(*proto, ports.clone()));
                }
                PortSpec::Named { proto, name } => {
                    if let Some(dst) = dst {
                        for np in dst.named_ports.iter().filter(|np| &np.name == name) {
                            if proto.is_none_or(|x| x == np.proto) {
                                out = out.union(&Conns::of(np.proto, PortSet::single(np.port)));
                            }
                        }
                    }
                }
            }
        }
        out
    }

    fn dst_pod(&self, subject: usize, t: usize, d: Direction) -> Option<&Pod> {
        match d {
            Direction::Ingress => Some(self.rep(subject)),
            Direction::Egress => match self.target(t) {
                Target::Class(c) => Some(self.rep(c as usize)),
                Target::Range(_) => None,
            },
        }
    }

    /// Verdicts of class `c` in direction `d` over every target: what `c` may send to
    /// (egress) or receive from (ingress), as far as `c`'s own policies decide.
    pub fn verdicts(&self, c: usize, d: Direction) -> Verdicts {
        let sel = &self.selected_by[c][dir_idx(d)];
        if sel.is_empty() {
            return Verdicts {
                default: Conns::all(),
                entries: Vec::new(),
            };
        }
        let pols = &self.net.policies;
        let tier_of = |p: u32| pols[p as usize].tier;
        let admin: Vec<u32> = sel
            .iter()
            .copied()
            .filter(|&p| tier_of(p) == Tier::Admin)
            .collect();
        let np: Vec<u32> = sel
            .iter()
            .copied()
            .filter(|&p| tier_of(p) == Tier::NetworkPolicy)
            .collect();
        let base: Vec<u32> = sel
            .iter()
            .copied()
            .filter(|&p| tier_of(p) == Tier::Baseline)
            .collect();
        let np_isolated = !np.is_empty();
        // Only the tiers that take part matter: with NetworkPolicy isolation, baseline never
        // sees the traffic.
        let active: Vec<u32> = if np_isolated {
            admin.iter().chain(&np).copied().collect()
        } else {
            admin.iter().chain(&base).copied().collect()
        };

        // Targets a rule names specifically get their own slot; every other target shares
        // the default slot (index k), which sees only the rules that match every target.
        // Egress named ports resolve per destination, so a match-all rule with named ports
        // needs every target in its own slot.
        let n = self.n_targets();
        let mut targets: Vec<u32> = Vec::new();
        let mut dense = false;
        for &p in &active {
            let rules = pols[p as usize].rules(d).unwrap_or_default();
            for (ri, m) in self.rule_sets[p as usize][dir_idx(d)].iter().enumerate() {
                match m {
                    Matched::All => {
                        dense |= d == Direction::Egress && rules[ri].has_named_ports();
                    }
                    Matched::Some(b) => targets.extend(b.iter().map(|t| t as u32)),
                }
            }
        }
        if dense {
            targets = (0..n as u32).collect();
        } else {
            targets.sort_unstable();
            targets.dedup();
        }
        // target -> slot, in a per-thread buffer reused across calls (a fresh `n`-sized
        // vector per class would be quadratic in memory traffic).
        let mut slot = SLOTS.with(|s| std::mem::take(&mut *s.borrow_mut()));
        if slot.len() < n {
            slot.resize(n, u32::MAX);
        }
        for (i, &t) in targets.iter().enumerate() {
            slot[t as usize] = i as u32;
        }
        let k = targets.len();
        let slots = k + 1;
        let mut allow = vec![Conns::none(); slots];
        let mut remaining = vec![Conns::all(); slots];
        let mut passed = vec![Conns::none(); slots];
        let mut np_allow = vec![Conns::none(); slots];
        let subject = self.rep(c);

        // Run the rules of policies `ps` in order, calling `f(rule, slot, ports)` for each
        // slot a rule matches.
        let run = |ps: &[u32], f: &mut dyn FnMut(&Rule, usize, Conns)| {
            for &p in ps {
                let pol = &pols[p as usize];
                for (ri, r) in pol.rules(d).unwrap_or_default().iter().enumerate() {
                    // Ingress named ports resolve on the subject: the same for every target.
                    let uniform = match d {
                        Direction::Ingress => Some(Self::rule_ports(r, Some(subject))),
                        Direction::Egress => {
                            (!r.has_named_ports()).then(|| Self::rule_ports(r, None))
                        }
                    };
                    let ports_for = |t: usize| match &uniform {
                        Some(u) => u.clone(),
                        None => Self::rule_ports(r, self.dst_pod(c, t, d)),
                    };
                    match &self.rule_sets[p as usize][dir_idx(d)][ri] {
                        Matched::All => {
                            for (i, &t) in targets.iter().enumerate() {
                                f(r, i, ports_for(t as usize));
                            }
                            if let Some(u) = &uniform {
                                f(r, k, u.clone());
                            }
                        }
                        Matched::Some(b) => {
                            for t in b.iter() {
                                f(r, slot[t] as usize, ports_for(t));
                            }
                        }
                    }
                }
            }
        };
        let mut first_match = |r: &Rule, i: usize, ports: Conns, pass_ok: bool| {
            let x = ports.intersect(&remaining[i]);
            if x.is_empty() {
                return;
            }
            match r.action {
                Action::Allow => allow[i].union_in_place(&x),
                Action::Pass if pass_ok => passed[i].union_in_place(&x),
                _ => {}
            }
            remaining[i] = remaining[i].subtract(&x);
        };
        run(&admin, &mut |r, i, ports| first_match(r, i, ports, true));
        for i in 0..slots {
            let p = std::mem::take(&mut passed[i]);
            remaining[i].union_in_place(&p);
        }
        if np_isolated {
            run(&np, &mut |_, i, ports| np_allow[i].union_in_place(&ports));
            for i in 0..slots {
                let x = remaining[i].intersect(&np_allow[i]);
                allow[i].union_in_place(&x);
            }
        } else {
            let mut first_match = |r: &Rule, i: usize, ports: Conns| {
                let x = ports.intersect(&remaining[i]);
                if x.is_empty() {
                    return;
                }
                if r.action == Action::Allow {
                    allow[i].union_in_place(&x);
                }
                remaining[i] = remaining[i].subtract(&x);
            };
            run(&base, &mut |r, i, ports| first_match(r, i, ports));
            for i in 0..slots {
                let x = std::mem::take(&mut remaining[i]);
                allow[i].union_in_place(&x);
            }
        }
        for &t in &targets {
            slot[t as usize] = u32::MAX;
        }
        SLOTS.with(|s| *s.borrow_mut() = slot);
        let default = if dense {
            // Every target has its slot; the default is never consulted.
            Conns::none()
        } else {
            allow.pop().unwrap_or_default()
        };
        let entries = targets
            .into_iter()
            .zip(allow)
            .filter(|(_, a)| *a != default)
            .collect();
        Verdicts { default, entries }
    }

    /// Every step that decided traffic between class `c` and target `t` in direction `d`,
    /// in evaluation order, for `explain`. The last element is the resulting allowance.
    pub fn trace(&self, c: usize, t: usize, d: Direction) -> (Vec<Step>, Conns) {
        let sel = &self.selected_by[c][dir_idx(d)];
        let pols = &self.net.policies;
        let mut steps = Vec::new();
        let mut remaining = Conns::all();
        let mut allow = Conns::none();
        let np_isolated = sel
            .iter()
            .any(|&p| pols[p as usize].tier == Tier::NetworkPolicy);
        let mut passed = Conns::none();
        let mut np_allow = Conns::none();
        let mut admin_done = false;
        for &p in sel {
            let pol = &pols[p as usize];
            if pol.tier != Tier::Admin && !admin_done {
                admin_done = true;
                remaining.union_in_place(&std::mem::take(&mut passed));
            }
            if pol.tier == Tier::Baseline && np_isolated {
                continue;
            }
            for (ri, r) in pol.rules(d).unwrap_or_default().iter().enumerate() {
                if !self.rule_sets[p as usize][dir_idx(d)][ri].contains(t) {
                    continue;
                }
                let ports = Self::rule_ports(r, self.dst_pod(c, t, d));
                if pol.tier == Tier::NetworkPolicy {
                    if !ports.is_empty() {
                        np_allow.union_in_place(&ports);
                        steps.push(Step {
                            policy: p as usize,
                            direction: d,
                            rule: Some(ri),
                            action: Action::Allow,
                            conns: ports,
                        });
                    }
                    continue;
                }
                let x = ports.intersect(&remaining);
                if x.is_empty() {
                    continue;
                }
                match r.action {
                    Action::Allow => allow.union_in_place(&x),
                    Action::Pass if pol.tier == Tier::Admin => passed.union_in_place(&x),
                    _ => {}
                }
                remaining = remaining.subtract(&x);
                steps.push(Step {
                    policy: p as usize,
                    direction: d,
                    rule: Some(ri),
                    action: r.action,
                    conns: x,
                });
            }
        }
        if !admin_done {
            remaining.union_in_place(&passed);
        }
        let result = if np_isolated {
            allow.union(&remaining.intersect(&np_allow))
        } else {
            allow.union(&remaining)
        };
        (steps, result)
    }
}

/// Namespace name -> (its labels, its classes).
type ByNs<'a> = BTreeMap<&'a str, (std::borrow::Cow<'a, BTreeMap<String, String>>, Vec<u32>)>;

#[derive(PartialEq, Eq, Hash)]
struct ClassKey<'a> {
    host_network: bool,
    ns: &'a str,
    labels: &'a BTreeMap<String, String>,
    ports: &'a [crate::network::NamedPort],
    ip_sig: Vec<u32>,
}
