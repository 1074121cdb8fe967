//! `diff`: connections added, removed and changed between two manifest sets.
//!
//! Address ranges of the two sides are refined to common pieces before comparing, and pieces
//! with the same verdicts on both sides are merged back, so a range split differently by the
//! two policy sets compares correctly.

use crate::connlist::{display, Connection, Node};
use crate::engine::Analysis;
use crate::ip::{split_at_boundaries, Family, IpRange, IpSet};
use crate::ports::Conns;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    Changed,
    Added,
    Removed,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Changed => "changed",
            Change::Added => "added",
            Change::Removed => "removed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub change: Change,
    pub src: String,
    pub dst: String,
    pub old: Conns,
    pub new: Conns,
    /// `workload X added` / `workload X removed` when an end exists on one side only.
    pub info: Option<String>,
}

/// A side's connections with names resolved; ranges kept apart for refinement.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum End {
    Name(String),
    Range(IpRange),
}

fn side(a: &Analysis<'_>, conns: &[Connection]) -> Vec<(End, End, Conns)> {
    conns
        .iter()
        .map(|c| {
            let end = |n: &Node| match n {
                Node::Range(r) => End::Range(*r),
                n => End::Name(display(a, n)),
            };
            (end(&c.src), end(&c.dst), c.conns.clone())
        })
        .collect()
}

/// Split every range end at the boundaries of both sides (sources and destinations apart).
fn refine(
    lines: &[(End, End, Conns)],
    src_cuts: &[IpRange],
    dst_cuts: &[IpRange],
) -> BTreeMap<(End, End), Conns> {
    let mut out = BTreeMap::new();
    let pieces = |r: &IpRange, cuts: &[IpRange]| -> Vec<IpRange> {
        cuts.iter().filter(|c| r.contains(c)).copied().collect()
    };
    for (s, d, c) in lines {
        match (s, d) {
            (End::Range(r), d) => {
                for p in pieces(r, src_cuts) {
                    out.insert((End::Range(p), d.clone()), c.clone());
                }
            }
            (s, End::Range(r)) => {
                for p in pieces(r, dst_cuts) {
                    out.insert((s.clone(), End::Range(p)), c.clone());
                }
            }
            (s, d) => {
                out.insert((s.clone(), d.clone()), c.clone());
            }
        }
    }
    out
}

fn cuts(lines: &[&[(End, End, Conns)]], src: bool) -> Vec<IpRange> {
    let mut sets = Vec::new();
    for l in lines {
        for (s, d, _) in l.iter() {
            let e = if src { s } else { d };
            if let End::Range(r) = e {
                sets.push(IpSet::from_range(*r));
            }
        }
    }
    let refs: Vec<&IpSet> = sets.iter().collect();
    let mut fams: Vec<Family> = sets
        .iter()
        .flat_map(|s| s.ranges().iter().map(|r| r.family))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if fams.is_empty() {
        fams.push(Family::V4);
    }
    split_at_boundaries(&fams, &refs)
}

/// Compare `old` and `new`.
pub fn diff(
    old_a: &Analysis<'_>,
    old: &[Connection],
    new_a: &Analysis<'_>,
    new: &[Connection],
) -> Vec<DiffLine> {
    let o = side(old_a, old);
    let n = side(new_a, new);
    let src_cuts = cuts(&[&o, &n], true);
    let dst_cuts = cuts(&[&o, &n], false);
    let om = refine(&o, &src_cuts, &dst_cuts);
    let nm = refine(&n, &src_cuts, &dst_cuts);
    let old_wl: BTreeSet<String> = old_a.net.workloads.iter().map(|w| w.display()).collect();
    let new_wl: BTreeSet<String> = new_a.net.workloads.iter().map(|w| w.display()).collect();
    let keys: BTreeSet<&(End, End)> = om.keys().chain(nm.keys()).collect();
    // Group range rows by (the other end, both verdicts) to merge touching pieces.
    let mut rows: Vec<(Change, End, End, Conns, Conns)> = Vec::new();
    for k in keys {
        let (c1, c2) = (om.get(k), nm.get(k));
        let change = match (c1, c2) {
            (Some(a), Some(b)) if a == b => continue,
            (Some(_), Some(_)) => Change::Changed,
            (None, Some(_)) => Change::Added,
            (Some(_), None) => Change::Removed,
            (None, None) => continue,
        };
        rows.push((
            change,
            k.0.clone(),
            k.1.clone(),
            c1.cloned().unwrap_or_default(),
            c2.cloned().unwrap_or_default(),
        ));
    }
    let mut merged: Vec<(Change, End, End, Conns, Conns)> = Vec::new();
    rows.sort_by_cached_key(|r| {
        let (dir, other, range) = match (&r.1, &r.2) {
            (End::Range(x), other) => (0, other.clone(), Some((x.family, x.lo))),
            (other, End::Range(x)) => (1, other.clone(), Some((x.family, x.lo))),
            (s, d) => (2, End::Name(format!("{s:?}{d:?}")), None),
        };
        (dir, other, r.0, r.3.to_string(), r.4.to_string(), range)
    });
    for r in rows {
        if let Some(last) = merged.last_mut() {
            let same_verdicts = last.0 == r.0 && last.3 == r.3 && last.4 == r.4;
            let joined = match (&mut last.1, &mut last.2, &r.1, &r.2) {
                (End::Range(a), d1, End::Range(b), d2) if d1 == d2 && same_verdicts => touch(a, b),
                (s1, End::Range(a), s2, End::Range(b)) if s1 == s2 && same_verdicts => touch(a, b),
                _ => false,
            };
            if joined {
                continue;
            }
        }
        merged.push(r);
    }
    let name = |e: &End| match e {
        End::Name(n) => n.clone(),
        End::Range(r) => format!("{}[External]", r.span()),
    };
    let mut out: Vec<DiffLine> = merged
        .into_iter()
        .map(|(change, s, d, c1, c2)| {
            let mut missing = Vec::new();
            for e in [&s, &d] {
                if let End::Name(n) = e {
                    let (here, there) = match change {
                        Change::Removed => (&old_wl, &new_wl),
                        _ => (&new_wl, &old_wl),
                    };
                    if here.contains(n) && !there.contains(n) {
                        missing.push(n.clone());
                    }
                }
            }
            let verb = if change == Change::Removed {
                "removed"
            } else {
                "added"
            };
            let info = match missing.len() {
                0 => None,
                1 => Some(format!("workload {} {verb}", missing[0])),
                _ => Some(format!("workload {} and {} {verb}", missing[0], missing[1])),
            };
            DiffLine {
                change,
                src: name(&s),
                dst: name(&d),
                old: c1,
                new: c2,
                info,
            }
        })
        .collect();
    out.sort_by(|a, b| (a.change, &a.src, &a.dst).cmp(&(b.change, &b.src, &b.dst)));
    out
}

/// Extend `a` by `b` when they touch; true when merged.
fn touch(a: &mut IpRange, b: &IpRange) -> bool {
    if a.family == b.family && a.hi.checked_add(1) == Some(b.lo) {
        a.hi = b.hi;
        true
    } else {
        false
    }
}

/// Text form, as netpol-analyzer prints it (`ref1` is the old side, `ref2` the new one).
pub fn render_text(lines: &[DiffLine]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut o = String::from("Connectivity diff:\n");
    for l in lines {
        let _ = write!(
            o,
            "diff-type: {}, source: {}, destination: {}, ref1: {}, ref2: {}",
            l.change.as_str(),
            l.src,
            l.dst,
            l.old,
            l.new
        );
        if let Some(i) = &l.info {
            let _ = write!(o, ", workloads-diff-info: {i}");
        }
        o.push('\n');
    }
    o
}

/// JSON form: `[{"diff","src","dst","old","new","info"}]`.
pub fn to_json(lines: &[DiffLine]) -> serde_json::Value {
    serde_json::Value::Array(
        lines
            .iter()
            .map(|l| {
                serde_json::json!({
                    "diff": l.change.as_str(),
                    "src": l.src,
                    "dst": l.dst,
                    "old": l.old.to_string(),
                    "new": l.new.to_string(),
                    "info": l.info,
                })
            })
            .collect(),
    )
}
