//! Conformance with netpol-analyzer's expected connectivity lists (../shared/oracles).
//!
//! The applicable set: every `test_outputs/connlist/<dir>_connlist_output.txt` whose
//! `tests/<dir>` exists, minus folders holding kinds we do not model (Route, Ingress,
//! NetworkAttachmentDefinition, (Cluster)UserDefinedNetwork, VirtualMachine(Instance),
//! MultiNetworkPolicy). Results are compared as sets of (src, dst, connections).

mod common;

use common::{applicable_inventory, oracle};
use mlguard_core::{load, Inventory, LoadOptions};
use mlguard_netpol::connlist::{connectivity, display, render, Format};
use mlguard_netpol::ports::{parse_conns, Conns};
use mlguard_netpol::{Analysis, HostNetwork, Level, Network};
use std::collections::BTreeSet;
use std::path::Path;

/// Differences documented in docs/netpol-conformance.md, with the reason.
const KNOWN_DIFFERENCES: &[&str] = &[
    // IPv6: we analyse IPv6 CIDRs; netpol-analyzer skips them with a warning.
    "anp_and_banp_using_networks_with_ipv6_test",
    "anp_banp_test_multiple_warnings",
    // A named port with a `networks` peer: the CRD rejects this rule, so do we.
    "anp_test_named_ports_multiple_peers",
];

type Triple = (String, String, String);

fn parse_expected(text: &str) -> BTreeSet<Triple> {
    text.lines()
        .filter_map(|l| {
            let (src, rest) = l.split_once(" => ")?;
            let (dst, conns) = rest.rsplit_once(" : ")?;
            let c = parse_conns(conns).unwrap_or_else(|| panic!("cannot read `{conns}`"));
            Some((src.to_owned(), dst.to_owned(), c.to_string()))
        })
        .collect()
}

fn run(dir: &Path, host: HostNetwork) -> Option<BTreeSet<Triple>> {
    let inv = applicable_inventory(dir)?;
    let net = Network::from_inventory_with(&inv, Level::Workload, host);
    let a = Analysis::new(&net);
    Some(
        connectivity(&a)
            .into_iter()
            .map(|c| {
                (
                    display(&a, &c.src),
                    display(&a, &c.dst),
                    c.conns.to_string(),
                )
            })
            .collect(),
    )
}

#[test]
fn netpol_analyzer_connlist_conformance() {
    let Some(root) = oracle() else {
        return;
    };
    let only = std::env::var("NETPOL_CONFORMANCE_ONLY").ok();
    let mut names: Vec<String> = std::fs::read_dir(root.join("test_outputs/connlist"))
        .unwrap()
        .filter_map(|e| {
            let n = e.ok()?.file_name().into_string().ok()?;
            let dir = n.strip_suffix("_connlist_output.txt")?.to_owned();
            root.join("tests").join(&dir).is_dir().then_some(dir)
        })
        .collect();
    names.sort();
    assert_eq!(names.len(), 136, "candidate folders");
    let (mut passed, mut failed, mut applicable) = (0, Vec::new(), 0);
    let mut host_network_sensitive = 0;
    for n in &names {
        if only.as_deref().is_some_and(|o| o != n) {
            continue;
        }
        // netpol-analyzer applies policies to hostNetwork pods like any pod, one of the two
        // behaviours Kubernetes allows; compare in that model. The default model (hostNetwork
        // pods outside NetworkPolicy) is counted separately below.
        let Some(got) = run(&root.join("tests").join(n), HostNetwork::AsPods) else {
            continue;
        };
        if run(&root.join("tests").join(n), HostNetwork::Ignored).as_ref() != Some(&got) {
            host_network_sensitive += 1;
        }
        applicable += 1;
        let want = parse_expected(
            &std::fs::read_to_string(
                root.join(format!("test_outputs/connlist/{n}_connlist_output.txt")),
            )
            .unwrap(),
        );
        if got == want {
            passed += 1;
        } else {
            let missing: Vec<_> = want.difference(&got).take(5).collect();
            let extra: Vec<_> = got.difference(&want).take(5).collect();
            eprintln!(
                "FAIL {n}: {} missing, {} extra\n  missing e.g. {missing:?}\n  extra e.g. {extra:?}",
                want.difference(&got).count(),
                got.difference(&want).count()
            );
            failed.push(n.clone());
        }
    }
    eprintln!("{passed} passed, {} failed", failed.len());
    println!("{passed} passed, {} failed", failed.len());
    eprintln!("{host_network_sensitive} folders change when hostNetwork pods are outside NetworkPolicy (our default)");
    if only.is_some() {
        assert!(failed.is_empty());
        return;
    }
    assert_eq!(applicable, 96, "applicable folders");
    let unexplained: Vec<_> = failed
        .iter()
        .filter(|f| !KNOWN_DIFFERENCES.contains(&f.as_str()))
        .collect();
    assert!(
        unexplained.is_empty(),
        "undocumented differences: {unexplained:?}"
    );
    assert!(
        passed * 100 >= applicable * 95,
        "{passed}/{applicable} below 95%"
    );
    let _ = Conns::all();
}

/// The json, csv, md and dot renderings are byte-identical to netpol-analyzer's (up to the
/// final newline, which we always write) for every applicable folder that has them.
#[test]
fn netpol_analyzer_output_formats() {
    let Some(root) = oracle() else {
        return;
    };
    let out_dir = root.join("test_outputs/connlist");
    let (mut same, mut compared) = (0, 0);
    let mut differ = Vec::new();
    for e in std::fs::read_dir(root.join("tests")).unwrap() {
        let dir = e.unwrap().file_name().into_string().unwrap();
        if KNOWN_DIFFERENCES.contains(&dir.as_str()) {
            continue;
        }
        let Some(inv) = applicable_inventory(&root.join("tests").join(&dir)) else {
            continue;
        };
        let mut net = None;
        for (ext, fmt) in [
            ("json", Format::Json),
            ("csv", Format::Csv),
            ("md", Format::Md),
            ("dot", Format::Dot),
        ] {
            let Ok(want) =
                std::fs::read_to_string(out_dir.join(format!("{dir}_connlist_output.{ext}")))
            else {
                continue;
            };
            let net = net.get_or_insert_with(|| {
                Network::from_inventory_with(&inv, Level::Workload, HostNetwork::AsPods)
            });
            let a = Analysis::new(net);
            let got = render(&a, &connectivity(&a), fmt);
            compared += 1;
            if got.trim_end() == want.trim_end() {
                same += 1;
            } else {
                differ.push(format!("{dir}.{ext}"));
            }
        }
    }
    eprintln!("formats: {same} of {compared} identical; differ: {differ:?}");
    assert!(compared >= 40, "{compared}");
    assert!(differ.is_empty(), "{differ:?}");
}

/// The plain focus-workload variants among the applicable folders (an extra).
#[test]
fn netpol_analyzer_focus_workload() {
    let Some(root) = oracle() else {
        return;
    };
    for (dir, focus) in [
        ("anp_banp_blog_demo", vec!["myfoo", "mybar"]),
        ("onlineboutique_workloads", vec!["emailservice"]),
    ] {
        let inv = Inventory::new(
            load(
                &[root.join("tests").join(dir).to_string_lossy().into_owned()],
                &LoadOptions::default(),
            ),
            "default",
        );
        let net = Network::from_inventory_with(&inv, Level::Workload, HostNetwork::AsPods);
        let a = Analysis::new(&net);
        let mut conns = connectivity(&a);
        let names: Vec<String> = focus.iter().map(|s| (*s).to_owned()).collect();
        mlguard_netpol::connlist::focus(&a, &mut conns, &names);
        let got = render(&a, &conns, Format::Txt);
        let want = std::fs::read_to_string(root.join(format!(
            "test_outputs/connlist/{dir}_focus_workload_{}_connlist_output.txt",
            focus.join("_")
        )))
        .unwrap();
        assert_eq!(got, want, "{dir} focus {focus:?}");
    }
}

/// Classes that share their verdicts ([`Analysis::verdict_source`]) have the verdicts each
/// would get on its own, in both directions and both hostNetwork models, over every
/// applicable oracle folder and the examples; and the sharing happens (pods of one
/// namespace under the same policies, a job's replica types).
#[test]
fn shared_verdicts_are_the_classes_own() {
    use mlguard_netpol::policy::Direction;
    let mut dirs: Vec<std::path::PathBuf> = Vec::new();
    let with_oracle = oracle();
    if let Some(root) = &with_oracle {
        let mut tests: Vec<_> = std::fs::read_dir(root.join("tests"))
            .unwrap()
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.is_dir())
            .collect();
        tests.sort();
        dirs.extend(tests);
    }
    // The examples hold Ingresses, for which `applicable_inventory` refuses a folder (the
    // oracle's outputs model them); only verdicts are compared here, so they are read whole.
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let n_oracle = dirs.len();
    dirs.push(examples.join("platform"));
    dirs.push(examples.clone());
    let (mut checked, mut shared) = (0, 0);
    for (i, dir) in dirs.iter().enumerate() {
        let inv = if i < n_oracle {
            let Some(inv) = applicable_inventory(dir) else {
                continue;
            };
            inv
        } else {
            let loaded = load(
                &[dir.to_string_lossy().into_owned()],
                &LoadOptions::default(),
            );
            Inventory::new(loaded, "default")
        };
        for host in [HostNetwork::AsPods, HostNetwork::Ignored] {
            let net = Network::from_inventory_with(&inv, Level::Workload, host);
            let a = Analysis::new(&net);
            for d in [Direction::Ingress, Direction::Egress] {
                let all = a.verdicts_of_classes(d, |_| true);
                assert_eq!(all.len(), a.classes.len());
                for (c, from_all) in all.iter().enumerate() {
                    let own = a.verdicts(c, d);
                    let source = a.verdict_source(c, d);
                    assert!(source <= c, "{}: the source comes first", dir.display());
                    assert_eq!(
                        a.verdicts(source, d),
                        own,
                        "{}: class {c} {d:?} shares with class {source}",
                        dir.display()
                    );
                    assert_eq!(from_all.as_deref(), Some(&own), "{}", dir.display());
                    checked += 1;
                    shared += usize::from(source != c);
                }
            }
            let some: Vec<_> = a.verdicts_of_classes(Direction::Egress, |c| c % 2 == 0);
            for (c, v) in some.iter().enumerate() {
                assert_eq!(v.is_some(), c % 2 == 0);
            }
        }
    }
    eprintln!("{checked} verdicts checked, {shared} shared");
    // examples/ alone: 120 verdicts; with the oracle's folders, thousands.
    let least = if with_oracle.is_some() { 1_000 } else { 100 };
    assert!(checked > least, "{checked} verdicts checked");
    assert!(shared * 10 > checked, "only {shared} of {checked} shared");
}
