//! `diff` against netpol-analyzer's expected diff outputs (an extra beyond the connlist
//! harness): every `test_outputs/diff/diff_between_<new>_and_<old>.txt` whose two folders
//! exist and hold only kinds we model.

mod common;

use common::{applicable_inventory, oracle};
use mlguard_netpol::connlist::connectivity;
use mlguard_netpol::diff::{diff, render_text};
use mlguard_netpol::{Analysis, HostNetwork, Level, Network};
use std::collections::BTreeSet;

#[test]
fn netpol_analyzer_diff_conformance() {
    let Some(root) = oracle() else {
        return;
    };
    let tests = root.join("tests");
    let mut dirs: Vec<String> = std::fs::read_dir(&tests)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.len()));
    let (mut passed, mut failed) = (0, Vec::new());
    let mut files: Vec<String> = std::fs::read_dir(root.join("test_outputs/diff"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("diff_between_") && n.ends_with(".txt"))
        .collect();
    files.sort();
    for f in files {
        let pair = f
            .trim_start_matches("diff_between_")
            .trim_end_matches(".txt");
        // `<new>_and_<old>`: find the split where both names are folders.
        let Some((new, old)) = dirs.iter().find_map(|d| {
            let rest = pair.strip_prefix(d.as_str())?.strip_prefix("_and_")?;
            dirs.contains(&rest.to_owned())
                .then(|| (d.clone(), rest.to_owned()))
        }) else {
            continue;
        };
        let (Some(ni), Some(oi)) = (
            applicable_inventory(&tests.join(&new)),
            applicable_inventory(&tests.join(&old)),
        ) else {
            continue;
        };
        let nn = Network::from_inventory_with(&ni, Level::Workload, HostNetwork::AsPods);
        let on = Network::from_inventory_with(&oi, Level::Workload, HostNetwork::AsPods);
        let (na, oa) = (Analysis::new(&nn), Analysis::new(&on));
        let got = render_text(&diff(&oa, &connectivity(&oa), &na, &connectivity(&na)));
        let want = std::fs::read_to_string(root.join("test_outputs/diff").join(&f)).unwrap();
        let lines = |s: &str| {
            s.lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect::<BTreeSet<_>>()
        };
        if lines(&got) == lines(&want) {
            passed += 1;
        } else {
            let (g, w) = (lines(&got), lines(&want));
            eprintln!(
                "FAIL {f}\n  missing {:?}\n  extra {:?}",
                w.difference(&g).take(3).collect::<Vec<_>>(),
                g.difference(&w).take(3).collect::<Vec<_>>()
            );
            failed.push(f);
        }
    }
    eprintln!("diff: {passed} passed, {} failed", failed.len());
    assert!(passed >= 20, "too few diff cases: {passed}");
    assert!(failed.is_empty(), "diff failures: {failed:?}");
}
