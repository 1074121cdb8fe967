//! The connectivity list (`SRC => DST : CONNS`) and its output formats.

use crate::engine::Analysis;
use crate::ip::IpRange;
use crate::policy::Direction;
use crate::ports::Conns;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One end of a connection.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    /// Index into `Network::workloads`.
    Workload(usize),
    /// Address range outside the cluster.
    Range(IpRange),
}

/// An allowed connection between two ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub src: Node,
    pub dst: Node,
    pub conns: Conns,
}

/// Output formats of `netpol reach`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Txt,
    Json,
    Csv,
    Md,
    Dot,
}

/// Every allowed connection at workload granularity (use a Network built at pod level for
/// pod granularity), sorted as printed. Self-connections of a workload are left out.
pub fn connectivity(a: &Analysis<'_>) -> Vec<Connection> {
    let nc = a.classes.len();
    // Every class is wanted, so every entry is there.
    let all = |d| -> Vec<_> {
        a.verdicts_of_classes(d, |_| true)
            .into_iter()
            .flatten()
            .collect()
    };
    let (ingress, egress) = (all(Direction::Ingress), all(Direction::Egress));
    // Workloads of each class.
    let wl_of: Vec<Vec<usize>> = a
        .classes
        .iter()
        .map(|c| {
            let mut v: Vec<usize> = c.pods.iter().map(|&p| a.net.pods[p].workload).collect();
            v.sort_unstable();
            v.dedup();
            v
        })
        .collect();
    let per_src: Vec<BTreeMap<(Node, Node), Conns>> = (0..nc)
        .into_par_iter()
        .map(|s| {
            let eg = &egress[s];
            let mut out: BTreeMap<(Node, Node), Conns> = BTreeMap::new();
            let mut add = |src: Node, dst: Node, c: Conns| {
                if c.is_empty() {
                    return;
                }
                out.entry((src, dst))
                    .and_modify(|e| e.union_in_place(&c))
                    .or_insert(c);
            };
            for (d, ing) in ingress.iter().enumerate() {
                let c = eg.get(d).intersect(ing.get(s));
                if c.is_empty() {
                    continue;
                }
                for &ws in &wl_of[s] {
                    for &wd in &wl_of[d] {
                        if ws != wd {
                            add(Node::Workload(ws), Node::Workload(wd), c.clone());
                        }
                    }
                }
            }
            for (r, range) in a.ranges.iter().enumerate() {
                let t = a.range_target(r);
                if r < a.n_in {
                    let c = ingress[s].get(t).clone();
                    for &ws in &wl_of[s] {
                        add(Node::Range(*range), Node::Workload(ws), c.clone());
                    }
                } else {
                    let c = eg.get(t).clone();
                    for &ws in &wl_of[s] {
                        add(Node::Workload(ws), Node::Range(*range), c.clone());
                    }
                }
            }
            out
        })
        .collect();
    let mut all: BTreeMap<(Node, Node), Conns> = BTreeMap::new();
    for m in per_src {
        for (k, c) in m {
            all.entry(k)
                .and_modify(|e| e.union_in_place(&c))
                .or_insert(c);
        }
    }
    let mut out: Vec<Connection> = all
        .into_iter()
        .map(|((src, dst), conns)| Connection { src, dst, conns })
        .collect();
    let names: Vec<String> = (0..a.net.workloads.len())
        .map(|w| a.net.workloads[w].display())
        .collect();
    out.sort_by_cached_key(|c| (node_name(&names, &c.src), node_name(&names, &c.dst)));
    out
}

fn node_name(names: &[String], n: &Node) -> String {
    match n {
        Node::Workload(w) => names[*w].clone(),
        Node::Range(r) => format!("{}[External]", r.span()),
    }
}

/// Does an end match a focus name: the workload's `name`, `ns/name` or `ns/name[Kind]`?
/// Address ranges never match.
pub fn focus_matches(a: &Analysis<'_>, n: &Node, focus: &[String]) -> bool {
    let Node::Workload(w) = n else { return false };
    let w = &a.net.workloads[*w];
    focus
        .iter()
        .any(|f| *f == w.name || *f == format!("{}/{}", w.ns, w.name) || *f == w.display())
}

/// Keep the connections to or from a focus workload (netpol-analyzer's `--focusworkload`).
pub fn focus(a: &Analysis<'_>, conns: &mut Vec<Connection>, names: &[String]) {
    conns.retain(|c| focus_matches(a, &c.src, names) || focus_matches(a, &c.dst, names));
}

/// Printed name of an end: `ns/name[Kind]` or `a.b.c.d-e.f.g.h[External]`.
pub fn display(a: &Analysis<'_>, n: &Node) -> String {
    match n {
        Node::Workload(w) => a.net.workloads[*w].display(),
        Node::Range(r) => format!("{}[External]", r.span()),
    }
}

/// Render connections in one of the formats.
pub fn render(a: &Analysis<'_>, conns: &[Connection], format: Format) -> String {
    render_focused(a, conns, format, false)
}

/// Render a list narrowed by `--focus`: the dot graph then draws only the workloads in it.
pub fn render_focused(
    a: &Analysis<'_>,
    conns: &[Connection],
    format: Format,
    focused: bool,
) -> String {
    let rows: Vec<(String, String, String)> = conns
        .iter()
        .map(|c| (display(a, &c.src), display(a, &c.dst), c.conns.to_string()))
        .collect();
    let mut out = String::new();
    match format {
        Format::Txt => {
            for (s, d, c) in &rows {
                let _ = writeln!(out, "{s} => {d} : {c}");
            }
        }
        Format::Json => {
            // Keys in netpol-analyzer's order (src, dst, conn), two-space indent.
            let q = |x: &str| serde_json::to_string(x).unwrap_or_default();
            if rows.is_empty() {
                out.push_str("[]\n");
            } else {
                out.push_str("[\n");
                for (i, (s, d, c)) in rows.iter().enumerate() {
                    let _ = write!(
                        out,
                        "  {{\n    \"src\": {},\n    \"dst\": {},\n    \"conn\": {}\n  }}{}\n",
                        q(s),
                        q(d),
                        q(c),
                        if i + 1 < rows.len() { "," } else { "" }
                    );
                }
                out.push_str("]\n");
            }
        }
        Format::Csv => {
            out.push_str("src,dst,conn\n");
            for (s, d, c) in &rows {
                let _ = writeln!(out, "{},{},{}", csv(s), csv(d), csv(c));
            }
        }
        Format::Md => {
            out.push_str("| src | dst | conn |\n|-----|-----|------|\n");
            let cell = |x: &str| x.replace('|', "\\|");
            for (s, d, c) in &rows {
                let _ = writeln!(out, "| {} | {} | {} |", cell(s), cell(d), cell(c));
            }
        }
        Format::Dot => dot(a, conns, &rows, focused, &mut out),
    }
    out
}

/// Graphviz, laid out as netpol-analyzer draws it: one cluster per namespace holding its
/// workloads, external ranges in red, edges labelled with the connections.
fn dot(
    a: &Analysis<'_>,
    conns: &[Connection],
    rows: &[(String, String, String)],
    focused: bool,
    out: &mut String,
) {
    out.push_str("digraph {\n");
    // Workloads: all of them, unless the list was narrowed (focus): then those in it.
    let mut in_rows = std::collections::BTreeSet::new();
    for c in conns {
        for n in [&c.src, &c.dst] {
            if let Node::Workload(w) = n {
                in_rows.insert(*w);
            }
        }
    }
    let all = !focused;
    let mut by_ns: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, w) in a.net.workloads.iter().enumerate() {
        if all || in_rows.contains(&i) {
            by_ns.entry(w.ns.clone()).or_default().push(format!(
                "\t\t{} [label={} color=\"blue\" fontcolor=\"blue\"]",
                dot_id(&w.display()),
                dot_id(&format!("{}[{}]", w.name, w.kind))
            ));
        }
    }
    for (ns, mut nodes) in by_ns {
        nodes.sort();
        nodes.dedup();
        let _ = writeln!(
            out,
            "\tsubgraph {} {{",
            dot_id(&format!("cluster_{}[namespace]", ns.replace('-', "_")))
        );
        out.push_str("\t\tcolor=\"black\"\n\t\tfontcolor=\"black\"\n");
        for n in nodes {
            let _ = writeln!(out, "{n}");
        }
        let _ = writeln!(out, "\t\tlabel={}", dot_id(&format!("{ns}[namespace]")));
        out.push_str("\t}\n");
    }
    let mut ext: Vec<&String> = rows
        .iter()
        .flat_map(|(s, d, _)| [s, d])
        .filter(|n| n.ends_with("[External]"))
        .collect();
    ext.sort();
    ext.dedup();
    for n in ext {
        let _ = writeln!(
            out,
            "\t{} [label={} color=\"red2\" fontcolor=\"red2\"]",
            dot_id(n),
            dot_id(n)
        );
    }
    let mut edges: Vec<String> = rows
        .iter()
        .map(|(s, d, c)| {
            let weight = if s <= d { "0.5" } else { "1" };
            format!(
                "\t{} -> {} [label={} color=\"gold2\" fontcolor=\"darkgreen\" weight={weight}]",
                dot_id(s),
                dot_id(d),
                dot_id(c)
            )
        })
        .collect();
    edges.sort();
    for e in edges {
        let _ = writeln!(out, "{e}");
    }
    out.push_str("}\n");
}

fn csv(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn dot_id(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
