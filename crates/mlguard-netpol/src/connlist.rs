//! The connectivity list (`SRC => DST : CONNS`) and its output formats.

use crate::engine::{Analysis, Verdicts};
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
    let ingress: Vec<Verdicts> = (0..nc)
        .into_par_iter()
        .map(|c| a.verdicts(c, Direction::Ingress))
        .collect();
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
            let eg = a.verdicts(s, Direction::Egress);
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

/// Printed name of an end: `ns/name[Kind]` or `a.b.c.d-e.f.g.h[External]`.
pub fn display(a: &Analysis<'_>, n: &Node) -> String {
    match n {
        Node::Workload(w) => a.net.workloads[*w].display(),
        Node::Range(r) => format!("{}[External]", r.span()),
    }
}

/// Render connections in one of the formats.
pub fn render(a: &Analysis<'_>, conns: &[Connection], format: Format) -> String {
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
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|(s, d, c)| serde_json::json!({"src": s, "dst": d, "conn": c}))
                .collect();
            out = serde_json::to_string_pretty(&v).unwrap_or_default();
            out.push('\n');
        }
        Format::Csv => {
            out.push_str("src,dst,conn\n");
            for (s, d, c) in &rows {
                let _ = writeln!(out, "{},{},{}", csv(s), csv(d), csv(c));
            }
        }
        Format::Md => {
            out.push_str("| src | dst | conn |\n|-----|-----|------|\n");
            for (s, d, c) in &rows {
                let _ = writeln!(out, "| {s} | {d} | {c} |");
            }
        }
        Format::Dot => {
            out.push_str("digraph {\n");
            let mut nodes: Vec<&String> = rows.iter().flat_map(|(s, d, _)| [s, d]).collect();
            nodes.sort();
            nodes.dedup();
            for n in nodes {
                let shape = if n.ends_with("[External]") {
                    "box"
                } else {
                    "ellipse"
                };
                let _ = writeln!(out, "\t{} [label={} shape={shape}]", dot_id(n), dot_id(n));
            }
            for (s, d, c) in &rows {
                let _ = writeln!(out, "\t{} -> {} [label={}]", dot_id(s), dot_id(d), dot_id(c));
            }
            out.push_str("}\n");
        }
    }
    out
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
