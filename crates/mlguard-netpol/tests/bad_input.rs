//! What the API server would reject is an input error naming file, line and field; the
//! rejected policy is left out (it could not exist in a cluster) and the rest is analysed.

use mlguard_core::Inventory;
use mlguard_netpol::connlist::{connectivity, display};
use mlguard_netpol::{Analysis, Level, Network};

const BASE: &str = "apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {app: b}}
spec: {containers: [{name: c, image: i, ports: [{name: http, containerPort: 8080}]}]}
---
# a valid policy: b admits only TCP 8080
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: good, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress:
  - ports: [{port: 8080}]
---
";

/// Errors of `bad` appended to the base; also checks the valid policy still applies.
fn errors(bad: &str) -> Vec<String> {
    let text = format!("{BASE}{bad}");
    let inv = Inventory::from_text("t.yaml", &text, "default");
    let net = Network::from_inventory(&inv, Level::Workload);
    let a = Analysis::new(&net);
    let ab = connectivity(&a)
        .into_iter()
        .find(|c| display(&a, &c.src) == "x/a[Pod]" && display(&a, &c.dst) == "x/b[Pod]")
        .map(|c| c.conns.to_string());
    assert_eq!(
        ab.as_deref(),
        Some("TCP 8080"),
        "the valid policy is still analysed"
    );
    net.errors.iter().map(ToString::to_string).collect()
}

fn np(spec: &str) -> String {
    format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: bad, namespace: x}}\nspec:\n  podSelector: {{matchLabels: {{app: a}}}}\n{spec}\n")
}

fn one(bad: &str, want_field: &str, want_msg: &str) {
    let e = errors(bad);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("t.yaml:"), "{}", e[0]);
    assert!(e[0].contains(&format!("field `{want_field}`")), "{}", e[0]);
    assert!(e[0].contains(want_msg), "{}", e[0]);
    // The line points into the bad document (after the base's 19 lines).
    let line: u32 = e[0].split(':').nth(1).unwrap().parse().unwrap();
    assert!(line > 19, "{}", e[0]);
}

#[test]
fn invalid_cidr() {
    one(
        &np("  egress:\n  - to: [{ipBlock: {cidr: 10.0.0.0/33}}]"),
        "spec.egress[0].to[0].ipBlock.cidr",
        "prefix length 33",
    );
    one(
        &np("  egress:\n  - to: [{ipBlock: {cidr: 10.0.0/8}}]"),
        "spec.egress[0].to[0].ipBlock.cidr",
        "bad address",
    );
}

#[test]
fn except_outside_the_cidr() {
    one(
        &np("  egress:\n  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}}]"),
        "spec.egress[0].to[0].ipBlock.except[0]",
        "strict subset",
    );
    one(
        &np("  egress:\n  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}]"),
        "spec.egress[0].to[0].ipBlock.except[0]",
        "strict subset",
    );
}

#[test]
fn end_port_below_port() {
    one(
        &np("  ingress:\n  - ports: [{port: 9000, endPort: 8000}]"),
        "spec.ingress[0].ports[0].endPort",
        "below port 9000",
    );
    one(
        &np("  ingress:\n  - ports: [{port: http, endPort: 9000}]"),
        "spec.ingress[0].ports[0].endPort",
        "named port",
    );
}

#[test]
fn named_port_with_address_peers() {
    let anp = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: bad}\nspec:\n  priority: 5\n  subject: {namespaces: {}}\n  egress:\n  - action: Deny\n    to: [{networks: [10.0.0.0/8]}]\n    ports: [{namedPort: http}]\n";
    one(anp, "spec.egress[0]", "named port");
    let cnp = "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: bad}\nspec:\n  tier: Admin\n  priority: 5\n  subject: {namespaces: {}}\n  egress:\n  - action: Deny\n    to: [{networks: [10.0.0.0/8]}]\n    protocols: [{destinationNamedPort: http}]\n";
    one(cnp, "spec.egress[0]", "named port");
}

#[test]
fn unknown_protocol() {
    one(
        &np("  ingress:\n  - ports: [{port: 80, protocol: ICMP}]"),
        "spec.ingress[0].ports[0].protocol",
        "unsupported protocol `ICMP`",
    );
    one(
        &np("  ingress:\n  - ports: [{port: 80, protocol: tcp}]"),
        "spec.ingress[0].ports[0].protocol",
        "unsupported protocol `tcp`",
    );
}

#[test]
fn selector_with_invalid_operator() {
    one(
        &np("  ingress:\n  - from: [{podSelector: {matchExpressions: [{key: app, operator: Equals, values: [a]}]}}]"),
        "spec.ingress[0].from[0].podSelector.matchExpressions[0].operator",
        "unknown operator `Equals`",
    );
    one(
        &np(
            "  ingress:\n  - from: [{podSelector: {matchExpressions: [{key: app, operator: In}]}}]",
        ),
        "spec.ingress[0].from[0].podSelector.matchExpressions[0].operator",
        "at least one value",
    );
}

#[test]
fn other_rejections() {
    one(
        &np("  ingress:\n  - ports: [{port: 70000}]"),
        "spec.ingress[0].ports[0].port",
        "outside 1-65535",
    );
    one(
        &np("  ingress:\n  - from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]"),
        "spec.ingress[0].from[0]",
        "may not combine",
    );
    one(
        &np("  policyTypes: [Inbound]"),
        "spec.policyTypes[0]",
        "unknown policy type",
    );
    let banp = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: mine}\nspec:\n  subject: {namespaces: {}}\n";
    one(banp, "metadata.name", "named `default`");
    let anp = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: p}\nspec:\n  priority: 1001\n  subject: {namespaces: {}}\n";
    one(anp, "spec.priority", "0 to 1000");
}

#[test]
fn control_characters_in_names_are_escaped() {
    // Found writing the `netpol` fuzz check: a name with a newline printed as two lines.
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: \"a\\nb\", namespace: x}\nspec: {containers: [{name: c, image: i}]}\n";
    let inv = Inventory::from_text("t.yaml", text, "default");
    let net = Network::from_inventory(&inv, Level::Workload);
    let a = Analysis::new(&net);
    let conns = connectivity(&a);
    let txt = mlguard_netpol::connlist::render(&a, &conns, mlguard_netpol::Format::Txt);
    assert_eq!(txt.lines().count(), conns.len());
    assert!(txt.contains("x/a\\nb[Pod]"), "{txt}");
}

#[test]
fn intents_about_no_connection_are_refused() {
    for ports in [
        "\"TCP 0\"",
        "\"TCP 9-3\"",
        "\"No Connections\"",
        "\"0/TCP\"",
        "\"70000/UDP\"",
    ] {
        let text = format!("apiVersion: mlguard.io/v1alpha1\nkind: NetworkIntents\nspec:\n  intents:\n  - name: x\n    expect: deny\n    from: {{namespace: a}}\n    to: {{namespace: b}}\n    ports: [{ports}]\n");
        let e = mlguard_netpol::intents::parse("i.yaml", &text).expect_err(ports);
        assert!(
            e[0].to_string()
                .starts_with("i.yaml:9:12: field `spec.intents[0].ports`"),
            "{ports}: {}",
            e[0]
        );
    }
}

#[test]
fn what_cannot_be_modelled_is_a_warning() {
    let text = format!("{BASE}apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {{name: n1}}\nspec:\n  priority: 5\n  subject: {{namespaces: {{}}}}\n  egress:\n  - action: Deny\n    to: [{{nodes: {{}}}}]\n---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {{name: n2}}\nspec:\n  priority: 5\n  subject: {{namespaces: {{}}}}\n");
    let inv = Inventory::from_text("t.yaml", &text, "default");
    let net = Network::from_inventory(&inv, Level::Workload);
    assert!(net.errors.is_empty(), "{:?}", net.errors);
    let w: Vec<&str> = net.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].contains("`nodes` peers are not modelled"), "{w:?}");
    assert!(w[1].contains("priority 5 like `n1`"), "{w:?}");
}
