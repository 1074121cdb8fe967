//! One test per point of the NetworkPolicy / ClusterNetworkPolicy semantics the engine
//! implements (docs/netpol.md). Each builds a small cluster and asks the engine.

use mlguard_core::Inventory;
use mlguard_netpol::connlist::{connectivity, display};
use mlguard_netpol::explain::{explain, EndpointRef, PortQuery};
use mlguard_netpol::{Analysis, HostNetwork, Level, Network};

/// A Deployment `name` in `ns` with labels and container ports (`name:port/PROTO` or `port`).
fn deploy(ns: &str, name: &str, labels: &str, ports: &[&str]) -> String {
    let mut p = String::new();
    for spec in ports {
        let (named, rest) = match spec.split_once(':') {
            Some((n, r)) => (Some(n), r),
            None => (None, *spec),
        };
        let (num, proto) = rest.split_once('/').unwrap_or((rest, "TCP"));
        p.push_str(&format!(
            "\n        - containerPort: {num}\n          protocol: {proto}"
        ));
        if let Some(n) = named {
            p.push_str(&format!("\n          name: {n}"));
        }
    }
    let ports = if ports.is_empty() {
        String::new()
    } else {
        format!("\n        ports:{p}")
    };
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  selector: {{matchLabels: {labels}}}\n  template:\n    metadata: {{labels: {labels}}}\n    spec:\n      containers:\n      - name: c\n        image: registry.example.com/x@sha256:0000000000000000000000000000000000000000000000000000000000000000{ports}\n---\n"
    )
}

fn ns(name: &str, labels: &str) -> String {
    format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {labels}}}\n---\n")
}

struct Cluster {
    net: Network,
}

impl Cluster {
    fn new(yaml: &str) -> Self {
        Self::with(yaml, HostNetwork::Ignored)
    }
    fn with(yaml: &str, host: HostNetwork) -> Self {
        let inv = Inventory::from_text("t.yaml", yaml, "default");
        assert!(inv.errors.is_empty(), "{:?}", inv.errors);
        let net = Network::from_inventory_with(&inv, Level::Workload, host);
        assert!(net.errors.is_empty(), "{:?}", net.errors);
        Cluster { net }
    }
    /// Allowed connections from `src` to `dst` as printed (`No Connections` when absent).
    fn conn(&self, src: &str, dst: &str) -> String {
        let a = Analysis::new(&self.net);
        connectivity(&a)
            .into_iter()
            .find(|c| display(&a, &c.src) == src && display(&a, &c.dst) == dst)
            .map_or("No Connections".to_owned(), |c| c.conns.to_string())
    }
    fn lines(&self) -> Vec<String> {
        let a = Analysis::new(&self.net);
        connectivity(&a)
            .into_iter()
            .map(|c| {
                format!(
                    "{} => {} : {}",
                    display(&a, &c.src),
                    display(&a, &c.dst),
                    c.conns
                )
            })
            .collect()
    }
}

const A: &str = "x/a[Deployment]";
const B: &str = "x/b[Deployment]";

fn ab() -> String {
    ns("x", "{}")
        + &deploy("x", "a", "{app: a}", &[])
        + &deploy("x", "b", "{app: b}", &["http:8080", "53/UDP", "dns:53/UDP"])
}

fn np(name: &str, spec: &str) -> String {
    format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: x}}\nspec:\n{spec}\n---\n")
}

#[test]
fn unselected_pod_is_open_in_that_direction() {
    let c = Cluster::new(&ab());
    assert_eq!(c.conn(A, B), "All Connections");
    assert_eq!(c.conn(B, A), "All Connections");
    assert_eq!(
        c.conn("0.0.0.0-255.255.255.255[External]", A),
        "All Connections"
    );
    assert_eq!(
        c.conn(A, "0.0.0.0-255.255.255.255[External]"),
        "All Connections"
    );
}

#[test]
fn a_connection_needs_egress_of_the_source_and_ingress_of_the_destination() {
    // b admits a on 8080; a may send only to 9090: nothing gets through.
    let y = ab()
        + &np("in", "  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: a}}}]\n    ports: [{port: 8080}]")
        + &np("out", "  podSelector: {matchLabels: {app: a}}\n  policyTypes: [Egress]\n  egress:\n  - ports: [{port: 9090}]");
    let c = Cluster::new(&y);
    assert_eq!(c.conn(A, B), "No Connections");
    let y2 = y.replace(
        "ports: [{port: 9090}]",
        "ports: [{port: 8000, endPort: 9000}]",
    );
    assert_eq!(Cluster::new(&y2).conn(A, B), "TCP 8080");
}

#[test]
fn policies_are_unions() {
    let y =
        ab() + &np(
            "p1",
            "  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - ports: [{port: 80}]",
        ) + &np(
            "p2",
            "  podSelector: {}\n  ingress:\n  - ports: [{port: 443}]",
        );
    assert_eq!(Cluster::new(&y).conn(A, B), "TCP 80,443");
}

#[test]
fn policy_types_default_like_the_api_server() {
    // Egress rules without policyTypes: both directions are isolated (Ingress always).
    let y = ab() + &np(
        "eg",
        "  podSelector: {matchLabels: {app: b}}\n  egress:\n  - ports: [{port: 53, protocol: UDP}]",
    );
    let c = Cluster::new(&y);
    assert_eq!(c.conn(A, B), "No Connections", "ingress of b is denied too");
    assert_eq!(c.conn(B, A), "UDP 53");
    // Only ingress rules: egress stays open.
    let y = ab()
        + &np(
            "in",
            "  podSelector: {matchLabels: {app: b}}\n  ingress: []",
        );
    let c = Cluster::new(&y);
    assert_eq!(c.conn(A, B), "No Connections");
    assert_eq!(c.conn(B, A), "All Connections");
    // Explicit policyTypes: [Egress] leaves ingress open.
    let y = ab()
        + &np(
            "eg",
            "  podSelector: {matchLabels: {app: b}}\n  policyTypes: [Egress]",
        );
    let c = Cluster::new(&y);
    assert_eq!(c.conn(A, B), "All Connections");
    assert_eq!(c.conn(B, A), "No Connections");
}

#[test]
fn empty_and_absent_lists() {
    let sel = "  podSelector: {matchLabels: {app: b}}\n";
    // No rules: deny. One empty rule: allow all. from: [] and ports: [] mean all.
    for (rules, want) in [
        ("  ingress: []", "No Connections"),
        ("  policyTypes: [Ingress]", "No Connections"),
        ("  ingress:\n  - {}", "All Connections"),
        ("  ingress:\n  - from: []", "All Connections"),
        ("  ingress:\n  - ports: []", "All Connections"),
        (
            "  ingress:\n  - from: []\n    ports: [{port: 8080}]",
            "TCP 8080",
        ),
    ] {
        let c = Cluster::new(&(ab() + &np("p", &format!("{sel}{rules}"))));
        assert_eq!(c.conn(A, B), want, "{rules}");
    }
    // An ANP rule with `ports: []` matches nothing (the Go type keeps an empty list).
    let anp = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec:\n  priority: 1\n  subject: {namespaces: {}}\n  ingress:\n  - action: Deny\n    from: [{namespaces: {}}]\n    ports: []\n";
    assert_eq!(Cluster::new(&(ab() + anp)).conn(A, B), "All Connections");
}

#[test]
fn protocol_defaults_to_tcp_and_a_port_without_number_means_all_ports() {
    let y = ab() + &np("p", "  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - ports: [{port: 53}, {protocol: UDP}]");
    assert_eq!(Cluster::new(&y).conn(A, B), "TCP 53,UDP 1-65535");
}

#[test]
fn named_ports_resolve_on_the_destination_with_their_protocol() {
    // `http` is TCP 8080 on b; `dns` is UDP 53 on b, so {port: dns} (TCP by default) matches nothing.
    let y = ab() + &np("p", "  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - ports: [{port: http}, {port: dns}]");
    assert_eq!(Cluster::new(&y).conn(A, B), "TCP 8080");
    let y = ab() + &np("p", "  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - ports: [{port: dns, protocol: UDP}]");
    assert_eq!(Cluster::new(&y).conn(A, B), "UDP 53");
    // Egress named ports resolve on the destination too (b), not on the sender (a).
    let y = ab() + &np("p", "  podSelector: {matchLabels: {app: a}}\n  policyTypes: [Egress]\n  egress:\n  - ports: [{port: http}]");
    let c = Cluster::new(&y);
    assert_eq!(c.conn(A, B), "TCP 8080");
    assert_eq!(
        c.conn(A, "0.0.0.0-255.255.255.255[External]"),
        "No Connections",
        "a name matches no address"
    );
}

#[test]
fn end_port_ranges() {
    let y = ab() + &np("p", "  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - ports: [{port: 32000, endPort: 32768}, {port: 80, endPort: 80, protocol: UDP}]");
    assert_eq!(Cluster::new(&y).conn(A, B), "TCP 32000-32768,UDP 80");
}

#[test]
fn ip_block_except_masks_host_bits_and_matches_pod_ips() {
    let y = ab() + &np("p", "  podSelector: {matchLabels: {app: a}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{ipBlock: {cidr: 10.1.2.3/8, except: [10.20.0.7/16]}}]");
    let c = Cluster::new(&y);
    let lines = c.lines();
    assert!(
        lines.contains(&format!(
            "{A} => 10.0.0.0-10.19.255.255[External] : All Connections"
        )),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&format!(
            "{A} => 10.21.0.0-10.255.255.255[External] : All Connections"
        )),
        "{lines:#?}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with(A) && l.contains("10.20.0.0-10.20.255.255")),
        "{lines:#?}"
    );
    assert_eq!(c.conn(A, B), "No Connections", "b has no IP in the ipBlock");
    // A live pod whose IP is in the block is matched by it.
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x, labels: {app: p}}\nspec: {containers: [{name: c, image: i}]}\nstatus: {podIP: 10.1.0.5}\n---\n";
    let c = Cluster::new(&(y.clone() + pod));
    assert_eq!(c.conn(A, "x/p[Pod]"), "All Connections");
    let pod2 = pod
        .replace("10.1.0.5", "10.20.0.5")
        .replace("name: p,", "name: q,");
    assert_eq!(
        Cluster::new(&(y + &pod2)).conn(A, "x/q[Pod]"),
        "No Connections",
        "excepted IP"
    );
}

#[test]
fn namespace_and_pod_selector_in_one_peer_is_and_in_two_peers_is_or() {
    let base = ns("x", "{}")
        + &ns("y", "{team: ml}")
        + &deploy("x", "dst", "{app: dst}", &[])
        + &deploy("x", "a", "{role: client}", &[])
        + &deploy("y", "b", "{role: client}", &[])
        + &deploy("y", "c", "{role: other}", &[]);
    let and = np("p", "  podSelector: {matchLabels: {app: dst}}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {team: ml}}\n      podSelector: {matchLabels: {role: client}}");
    let c = Cluster::new(&(base.clone() + &and));
    assert_eq!(
        c.conn("y/b[Deployment]", "x/dst[Deployment]"),
        "All Connections"
    );
    assert_eq!(
        c.conn("y/c[Deployment]", "x/dst[Deployment]"),
        "No Connections"
    );
    assert_eq!(
        c.conn("x/a[Deployment]", "x/dst[Deployment]"),
        "No Connections"
    );
    let or = np("p", "  podSelector: {matchLabels: {app: dst}}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {team: ml}}\n    - podSelector: {matchLabels: {role: client}}");
    let c = Cluster::new(&(base + &or));
    assert_eq!(
        c.conn("y/b[Deployment]", "x/dst[Deployment]"),
        "All Connections"
    );
    assert_eq!(
        c.conn("y/c[Deployment]", "x/dst[Deployment]"),
        "All Connections"
    );
    assert_eq!(
        c.conn("x/a[Deployment]", "x/dst[Deployment]"),
        "All Connections",
        "podSelector alone: own namespace"
    );
}

#[test]
fn sctp_never_opens_tcp() {
    let y = ab() + &np("p", "  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - ports: [{port: 9003, protocol: SCTP}]");
    assert_eq!(Cluster::new(&y).conn(A, B), "SCTP 9003");
}

#[test]
fn a_pod_always_reaches_itself() {
    let y = ab()
        + &np(
            "deny",
            "  podSelector: {}\n  policyTypes: [Ingress, Egress]",
        );
    let c = Cluster::new(&y);
    assert!(c.lines().is_empty(), "{:?}", c.lines());
    let a = Analysis::new(&c.net);
    let ex = explain(
        &a,
        &EndpointRef::parse(A).unwrap(),
        &EndpointRef::parse(A).unwrap(),
        None,
    )
    .unwrap();
    assert!(
        ex[0]
            .notes
            .iter()
            .any(|n| n.contains("always reaches itself")),
        "{:?}",
        ex[0].notes
    );
}

#[test]
fn host_network_pods_are_outside_network_policy() {
    let hn = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: h, namespace: x}\nspec:\n  selector: {matchLabels: {app: h}}\n  template:\n    metadata: {labels: {app: h}}\n    spec:\n      hostNetwork: true\n      containers: [{name: c, image: i}]\n---\n";
    let deny = np("deny", "  podSelector: {}\n  policyTypes: [Ingress, Egress]")
        + &np("allow-h", "  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: h}}}]");
    let y = ab() + hn + &deny;
    let c = Cluster::new(&y);
    // Default model: no policy selects h; it is open both ways and reported.
    assert_eq!(
        c.conn("x/h[Deployment]", A),
        "No Connections",
        "a's ingress is isolated"
    );
    assert_eq!(
        c.conn("x/h[Deployment]", "0.0.0.0-255.255.255.255[External]"),
        "All Connections"
    );
    assert_eq!(
        c.conn("x/h[Deployment]", B),
        "No Connections",
        "a podSelector does not pick a hostNetwork pod"
    );
    assert_eq!(c.net.warnings.len(), 1);
    assert!(c.net.warnings[0].message.contains("hostNetwork"));
    // netpol-analyzer's model: policies apply to it like to any pod.
    let c = Cluster::with(&y, HostNetwork::AsPods);
    assert_eq!(
        c.conn("x/h[Deployment]", "0.0.0.0-255.255.255.255[External]"),
        "No Connections"
    );
    let a = Analysis::new(&c.net);
    let ex = explain(
        &a,
        &EndpointRef::parse("x/h").unwrap(),
        &EndpointRef::parse(B).unwrap(),
        None,
    )
    .unwrap();
    assert!(
        ex[0].ingress.allowed.is_all(),
        "b's policy admits h by its labels"
    );
    assert!(
        ex[0].egress.allowed.is_empty(),
        "default deny isolates h's egress"
    );
    assert!(c.net.warnings.is_empty());
}

fn cnp(name: &str, tier: &str, prio: u32, body: &str) -> String {
    format!("apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {{name: {name}}}\nspec:\n  tier: {tier}\n  priority: {prio}\n  subject: {{namespaces: {{}}}}\n{body}\n---\n")
}

#[test]
fn cluster_network_policy_tiers_priorities_and_actions() {
    let to_b = "    to: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: b}}}}]";
    // Admin Deny beats a NetworkPolicy allow.
    let y = ab() + &cnp("deny-b", "Admin", 10, &format!("  egress:\n  - action: Deny\n{to_b}\n    protocols: [{{tcp: {{destinationPort: {{number: 8080}}}}}}]"));
    assert_eq!(
        Cluster::new(&y).conn(A, B),
        "SCTP 1-65535,TCP 1-8079,8081-65535,UDP 1-65535"
    );
    // First matching rule wins, per port: Accept 8080 then Deny all.
    let y = ab() + &cnp("p", "Admin", 10, &format!("  egress:\n  - action: Accept\n{to_b}\n    protocols: [{{tcp: {{destinationPort: {{number: 8080}}}}}}]\n  - action: Deny\n{to_b}"));
    assert_eq!(Cluster::new(&y).conn(A, B), "TCP 8080");
    // Lower priority number first: Deny (1) before Accept (2).
    let y =
        ab() + &cnp(
            "accept",
            "Admin",
            2,
            &format!("  egress:\n  - action: Accept\n{to_b}"),
        ) + &cnp(
            "deny",
            "Admin",
            1,
            &format!("  egress:\n  - action: Deny\n{to_b}"),
        );
    assert_eq!(Cluster::new(&y).conn(A, B), "No Connections");
    // Pass hands over to NetworkPolicy; with no NetworkPolicy, to Baseline; Baseline Deny holds.
    let base_deny = cnp(
        "base",
        "Baseline",
        5,
        &format!("  egress:\n  - action: Deny\n{to_b}"),
    );
    let pass = cnp(
        "pass",
        "Admin",
        1,
        &format!("  egress:\n  - action: Pass\n{to_b}"),
    );
    assert_eq!(
        Cluster::new(&(ab() + &pass + &base_deny)).conn(A, B),
        "No Connections"
    );
    // A NetworkPolicy selecting the pod overrides Baseline entirely.
    let allow = np("allow", "  podSelector: {matchLabels: {app: a}}\n  policyTypes: [Egress]\n  egress:\n  - ports: [{port: 8080}]");
    assert_eq!(
        Cluster::new(&(ab() + &pass + &base_deny + &allow)).conn(A, B),
        "TCP 8080"
    );
    // Admin Accept is final even when a NetworkPolicy isolates the pod.
    let accept = cnp(
        "acc",
        "Admin",
        1,
        &format!("  egress:\n  - action: Accept\n{to_b}"),
    );
    let isolate = np(
        "iso",
        "  podSelector: {matchLabels: {app: a}}\n  policyTypes: [Egress]",
    );
    assert_eq!(
        Cluster::new(&(ab() + &accept + &isolate)).conn(A, B),
        "All Connections"
    );
    // Nothing decides: default allow.
    assert_eq!(
        Cluster::new(
            &(ab() + &cnp(
                "x",
                "Baseline",
                1,
                "  ingress:\n  - action: Deny\n    from: [{namespaces: {matchLabels: {nope: x}}}]"
            ))
        )
        .conn(A, B),
        "All Connections"
    );
}

#[test]
fn legacy_admin_and_baseline_admin_network_policies_map_onto_the_tiers() {
    let anp = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec:\n  priority: 3\n  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: b}}}}\n  ingress:\n  - name: pass-dns\n    action: Pass\n    from: [{namespaces: {}}]\n    ports: [{portNumber: {protocol: UDP, port: 53}}]\n  - name: allow-http\n    action: Allow\n    from: [{namespaces: {}}]\n    ports: [{namedPort: http}]\n---\n";
    let banp = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: default}\nspec:\n  subject: {namespaces: {}}\n  ingress:\n  - action: Deny\n    from: [{namespaces: {}}]\n    ports: [{portRange: {protocol: UDP, start: 1, end: 100}}]\n";
    let c = Cluster::new(&(ab() + anp + banp));
    // UDP 53 passed to Baseline, which denies UDP 1-100; the named port `http` is TCP 8080.
    assert_eq!(c.conn(A, B), "SCTP 1-65535,TCP 1-65535,UDP 101-65535");
}

#[test]
fn workloads_become_one_synthetic_identity_each() {
    let y = ab().replace(
        "spec:\n  selector: {matchLabels: {app: a}}",
        "spec:\n  replicas: 5\n  selector: {matchLabels: {app: a}}",
    );
    let c = Cluster::new(&y);
    assert_eq!(c.net.workloads.len(), 2);
    assert_eq!(c.net.pods.iter().filter(|p| p.name == "a").count(), 1);
    assert_eq!(
        c.net.pods.iter().find(|p| p.name == "a").unwrap().replicas,
        5
    );
    // Live pods owned by a ReplicaSet collapse into that workload.
    let pods: String = (0..3)
        .map(|i| format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-{i}\n  namespace: x\n  labels: {{app: web}}\n  ownerReferences: [{{kind: ReplicaSet, name: web-5d8f, controller: true}}]\nspec: {{containers: [{{name: c, image: i}}]}}\n---\n"))
        .collect();
    let c = Cluster::new(&(ns("x", "{}") + &pods));
    assert_eq!(c.net.workloads.len(), 1);
    assert_eq!(c.net.workloads[0].display(), "x/web-5d8f[ReplicaSet]");
}

#[test]
fn services_translate_to_the_target_port() {
    let svc = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: x}\nspec:\n  selector: {app: b}\n  ports:\n  - {port: 80, targetPort: http}\n  - {port: 5353, targetPort: 53, protocol: UDP}\n---\n";
    let y = ab()
        + svc
        + &np(
            "p",
            "  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - ports: [{port: 8080}]",
        );
    let c = Cluster::new(&y);
    let a = Analysis::new(&c.net);
    let from = EndpointRef::parse(A).unwrap();
    let to = EndpointRef::parse("x/web[Service]").unwrap();
    let ex = explain(&a, &from, &to, Some(&PortQuery::parse("80").unwrap())).unwrap();
    assert_eq!(ex[0].port, Some((mlguard_netpol::Protocol::Tcp, 8080)));
    assert!(ex[0].is_allowed());
    let ex = explain(&a, &from, &to, Some(&PortQuery::parse("5353/UDP").unwrap())).unwrap();
    assert_eq!(ex[0].port, Some((mlguard_netpol::Protocol::Udp, 53)));
    assert!(!ex[0].is_allowed());
}

#[test]
fn explain_names_the_policy_and_rule_with_file_and_line() {
    let y = ab()
        + &np(
            "allow-http",
            "  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - ports: [{port: 8080}]",
        );
    let c = Cluster::new(&y);
    let a = Analysis::new(&c.net);
    let ex = explain(
        &a,
        &EndpointRef::parse(A).unwrap(),
        &EndpointRef::parse(B).unwrap(),
        Some(&PortQuery::parse("8080/TCP").unwrap()),
    )
    .unwrap();
    let e = &ex[0];
    assert!(e.is_allowed());
    assert!(
        e.egress.status.contains("no policy selects"),
        "{}",
        e.egress.status
    );
    let step = &e.ingress.steps[0];
    assert_eq!(step.policy, "x/allow-http[NetworkPolicy]");
    assert!(step.location.starts_with("t.yaml:"), "{}", step.location);
    assert!(
        step.location.contains("spec.ingress[0]"),
        "{}",
        step.location
    );
    let ex = explain(
        &a,
        &EndpointRef::parse(A).unwrap(),
        &EndpointRef::parse(B).unwrap(),
        Some(&PortQuery::parse("22").unwrap()),
    )
    .unwrap();
    assert!(!ex[0].is_allowed());
}

#[test]
fn match_all_rules_and_specific_rules_combine_in_order() {
    // Admin: deny TCP 22 to b specifically; a NetworkPolicy on a allows every egress (a rule
    // matching all targets). Port 22 to b stays denied; everything else and every address is open.
    let anp = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: no-ssh}\nspec:\n  priority: 1\n  subject: {namespaces: {}}\n  egress:\n  - action: Deny\n    to: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: b}}}}]\n    ports: [{portNumber: {protocol: TCP, port: 22}}]\n---\n";
    let all = np(
        "all-out",
        "  podSelector: {matchLabels: {app: a}}\n  policyTypes: [Egress]\n  egress:\n  - {}",
    );
    let c = Cluster::new(&(ab() + anp + &all));
    assert_eq!(c.conn(A, B), "SCTP 1-65535,TCP 1-21,23-65535,UDP 1-65535");
    assert_eq!(
        c.conn(A, "0.0.0.0-255.255.255.255[External]"),
        "All Connections"
    );
    // An Admin Deny of everything to all namespaces, then the same NetworkPolicy: nothing.
    let deny_all = "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: d}\nspec:\n  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n  egress:\n  - action: Deny\n    to: [{namespaces: {}}]\n---\n";
    let c = Cluster::new(&(ab() + deny_all + &all));
    assert_eq!(c.conn(A, B), "No Connections");
    assert_eq!(
        c.conn(A, "0.0.0.0-255.255.255.255[External]"),
        "All Connections",
        "namespaces peers are pods, not addresses"
    );
}

#[test]
fn pod_level_names_live_pods() {
    let pods: String = (0..2)
        .map(|i| format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-{i}\n  namespace: x\n  labels: {{app: web}}\n  ownerReferences: [{{kind: ReplicaSet, name: web-5d8f, controller: true}}]\nspec: {{containers: [{{name: c, image: i}}]}}\n---\n"))
        .collect();
    let inv = Inventory::from_text("t.yaml", &(ns("x", "{}") + &pods), "default");
    let net = Network::from_inventory(&inv, Level::Pod);
    let a = Analysis::new(&net);
    let lines: Vec<String> = connectivity(&a)
        .iter()
        .filter(|c| {
            matches!(c.src, mlguard_netpol::Endpoint::Workload(_))
                && matches!(c.dst, mlguard_netpol::Endpoint::Workload(_))
        })
        .map(|c| format!("{} => {}", display(&a, &c.src), display(&a, &c.dst)))
        .collect();
    assert_eq!(
        lines,
        [
            "x/web-0[Pod] => x/web-1[Pod]",
            "x/web-1[Pod] => x/web-0[Pod]"
        ]
    );
}
