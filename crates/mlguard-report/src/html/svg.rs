//! Inline SVG charts and graphs for the HTML report: no scripts, no external resources; every
//! label goes through [`E`] (escaped).

use super::{w, E};
use std::fmt::Write as _;

/// One bar of a stacked horizontal bar chart: a label and its segments `(value, css class,
/// legend name)`.
pub(crate) struct Bar<'a> {
    pub label: String,
    pub segments: Vec<(usize, &'a str, &'a str)>,
}

/// A stacked horizontal bar chart with a legend; `id` is the element id, `title` its
/// accessible name.
pub(crate) fn bar_chart(s: &mut String, id: &str, title: &str, bars: &[Bar<'_>]) {
    const LABEL_W: usize = 170;
    const BAR_W: usize = 420;
    const ROW_H: usize = 26;
    let max = bars
        .iter()
        .map(|b| b.segments.iter().map(|x| x.0).sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(1);
    let width = LABEL_W + BAR_W + 80;
    // Legend: the distinct segment classes, in first-seen order, wrapped to the width.
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for b in bars {
        for (_, class, name) in &b.segments {
            if !seen.iter().any(|(c, _)| c == class) {
                seen.push((class, name));
            }
        }
    }
    let mut legend: Vec<(usize, usize, &str, &str)> = Vec::new();
    let (mut lx, mut row) = (8, 0);
    for (class, name) in seen {
        let item_w = 24 + name.chars().count() * 7;
        if lx + item_w > width && lx > 8 {
            lx = 8;
            row += 1;
        }
        legend.push((lx, row, class, name));
        lx += item_w;
    }
    let legend_y = bars.len() * ROW_H + 8;
    let height = legend_y + (row + 1) * 18 + 4;
    w!(
        s,
        "<svg id=\"{}\" class=\"chart\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>",
        E(id),
        E(title),
        E(title)
    );
    for (i, b) in bars.iter().enumerate() {
        let y = i * ROW_H + 4;
        let total: usize = b.segments.iter().map(|x| x.0).sum();
        w!(
            s,
            "<g class=\"bar\" data-label=\"{}\" data-value=\"{total}\"><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            E(&b.label),
            LABEL_W - 8,
            y + 15,
            E(&b.label)
        );
        let mut x = LABEL_W as f64;
        for (v, class, name) in &b.segments {
            if *v == 0 {
                continue;
            }
            let wd = (*v as f64) * (BAR_W as f64) / (max as f64);
            w!(
                s,
                "<rect class=\"{}\" x=\"{x:.1}\" y=\"{y}\" width=\"{:.1}\" height=\"{}\"><title>{}: {v}</title></rect>",
                E(class),
                wd.max(1.0),
                ROW_H - 8,
                E(name)
            );
            x += wd;
        }
        w!(
            s,
            "<text x=\"{:.1}\" y=\"{}\">{total}</text></g>",
            x + 6.0,
            y + 15
        );
    }
    for (x, row, class, name) in legend {
        let y = legend_y + row * 18;
        w!(
            s,
            "<rect class=\"{}\" x=\"{x}\" y=\"{y}\" width=\"12\" height=\"12\"/><text x=\"{}\" y=\"{}\">{}</text>",
            E(class),
            x + 16,
            y + 11,
            E(name)
        );
    }
    s.push_str("</svg>");
}

/// A directed graph with nodes on a circle: `nodes` are labels (the first `highlight` of
/// them drawn as the namespace's own workloads), `edges` index pairs with a tooltip.
pub(crate) fn graph(
    s: &mut String,
    id: &str,
    title: &str,
    nodes: &[(String, bool)],
    edges: &[(usize, usize, String)],
) {
    let n = nodes.len().max(1);
    // Labels go left and right of the circle: wide margins there, narrow above and below.
    let r = (n as f64 * 18.0).max(70.0);
    let (margin_x, margin_y) = (270.0, 20.0);
    let (width, height) = (2.0 * (r + margin_x), 2.0 * (r + margin_y));
    let (c, cy) = (width / 2.0, height / 2.0);
    let pos = |i: usize| -> (f64, f64) {
        let a = (i as f64) * std::f64::consts::TAU / (n as f64) - std::f64::consts::FRAC_PI_2;
        (c + r * a.cos(), cy + r * a.sin())
    };
    w!(
        s,
        "<svg id=\"{}\" class=\"graph\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{:.0}\" height=\"{:.0}\" xmlns=\"http://www.w3.org/2000/svg\" data-nodes=\"{}\" data-edges=\"{}\"><title>{}</title>",
        E(id),
        E(title),
        width.min(1100.0),
        height * width.min(1100.0) / width,
        nodes.len(),
        edges.len(),
        E(title)
    );
    w!(
        s,
        "<defs><marker id=\"{}-arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" class=\"arrowhead\"/></marker></defs>",
        E(id)
    );
    for (a, b, conn) in edges {
        let ((x1, y1), (x2, y2)) = (pos(*a), pos(*b));
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / len, dy / len);
        let node_r = 7.0;
        w!(
            s,
            "<line class=\"edge\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" marker-end=\"url(#{}-arrow)\"><title>{} =&gt; {} : {}</title></line>",
            x1 + ux * node_r,
            y1 + uy * node_r,
            x2 - ux * node_r,
            y2 - uy * node_r,
            E(id),
            E(&nodes[*a].0),
            E(&nodes[*b].0),
            E(conn)
        );
    }
    for (i, (label, own)) in nodes.iter().enumerate() {
        let (x, y) = pos(i);
        let right = x >= c;
        let shown: String = if label.chars().count() > 38 {
            let mut t: String = label.chars().take(37).collect();
            t.push('…');
            t
        } else {
            label.clone()
        };
        w!(
            s,
            "<g class=\"node{}\"><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"7\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{}\">{}<title>{}</title></text></g>",
            if *own { " own" } else { "" },
            if right { x + 11.0 } else { x - 11.0 },
            y + 4.0,
            if right { "start" } else { "end" },
            E(&shown),
            E(label)
        );
    }
    s.push_str("</svg>");
}
