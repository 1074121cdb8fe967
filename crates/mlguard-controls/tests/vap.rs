//! The exported ValidatingAdmissionPolicies give the built-in checks' verdict: for every
//! object of examples/ and the shared corpus (../shared/corpus/manifests) that the policies
//! match, and every exported control, the CEL (evaluated by kube-cel, exactly as exported)
//! passes if and only if `mlguard scan` (scope: all) finds no failure of that control on the
//! object. An evaluation error counts as a mismatch, and every exported control must fail on
//! some object, so a CEL that always passes cannot slip through.

use kube_cel::{VapEvaluator, VapExpression};
use mlguard_controls::config::Scope;
use mlguard_controls::vap::exported;
use mlguard_controls::{
    scan, Config, CustomControls, Date, Exceptions, FindingStatus, ScanOptions,
};
use mlguard_core::{Inventory, LoadOptions};
use std::collections::{HashMap, HashSet};

type Key = (String, String, Option<String>, String);

#[test]
fn vap_matches_builtin() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut folders = vec![
        format!("{root}/examples"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vap_cases").to_owned(),
    ];
    if let Ok(entries) = std::fs::read_dir(format!("{root}/../shared/corpus/manifests")) {
        folders.extend(
            entries
                .flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.path().display().to_string()),
        );
    }
    let controls = exported();
    let compiled: Vec<_> = controls
        .iter()
        .map(|e| {
            let c = VapEvaluator::builder()
                .build()
                .compile_expressions(&[VapExpression {
                    expression: e.expression.clone(),
                    message: Some(e.message.to_owned()),
                    message_expression: None,
                }]);
            assert!(
                c[0].is_ok(),
                "{} does not compile: {:?}",
                e.control,
                c[0].as_ref().err()
            );
            c
        })
        .collect();
    let config = Config {
        scope: Scope::All,
        ..Config::default()
    };
    let (exceptions, custom) = (Exceptions::default(), CustomControls::default());
    let mut judged = 0;
    let mut denials: HashMap<&str, usize> = HashMap::new();
    let mut mismatches = Vec::new();
    for dir in &folders {
        let loaded = mlguard_core::load(std::slice::from_ref(dir), &LoadOptions::default());
        let inv = Inventory::new(loaded, "default");
        let opts = ScanOptions {
            config: &config,
            exceptions: &exceptions,
            custom: &custom,
            focus: None,
            external: None,
            today: Date::today(),
        };
        let (report, _) = scan(&inv, &opts);
        let failed: HashSet<(Key, String)> = report
            .findings
            .into_iter()
            .filter(|f| f.status == FindingStatus::Failed)
            .map(|f| {
                let r = f.resource;
                ((r.api_version, r.kind, r.namespace, r.name), f.control)
            })
            .collect();
        let key = |o: &mlguard_core::Object| -> Key {
            (
                o.api_version.clone(),
                o.kind.clone(),
                o.namespace.clone(),
                o.name.clone(),
            )
        };
        let mut seen: HashMap<Key, usize> = HashMap::new();
        for o in &inv.objects {
            *seen.entry(key(o)).or_default() += 1;
        }
        for o in &inv.objects {
            let k = key(o);
            // The same object twice in a folder is one object to the API server: skip it.
            if !controls.iter().any(|e| e.matches(o.group(), &o.kind)) || seen[&k] > 1 {
                continue;
            }
            judged += 1;
            let ev = VapEvaluator::builder().object(o.root.to_json()).build();
            for (e, c) in controls.iter().zip(&compiled) {
                if !e.matches(o.group(), &o.kind) {
                    continue;
                }
                let r = &ev.evaluate_compiled(c)[0];
                let builtin = !failed.contains(&(k.clone(), e.control.to_owned()));
                if !builtin {
                    *denials.entry(e.control).or_default() += 1;
                }
                let error = r.message.as_deref().is_some_and(|m| {
                    m.starts_with("evaluation error") || m.contains("non-boolean")
                });
                if r.passed != builtin || error {
                    mismatches.push(format!(
                        "{dir}: {} {}/{} {}: CEL {} ({:?}), built-in {}",
                        o.kind,
                        o.namespace.as_deref().unwrap_or("-"),
                        o.name,
                        e.control,
                        if r.passed { "passes" } else { "fails" },
                        r.message,
                        if builtin { "passes" } else { "fails" }
                    ));
                }
            }
        }
    }
    let mut counts: Vec<_> = denials.iter().collect();
    counts.sort();
    eprintln!("{judged} objects judged; objects failing each control: {counts:?}");
    assert!(
        judged > 150,
        "only {judged} objects judged: are the folders there?"
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches over {judged} objects:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    for e in &controls {
        assert!(
            denials.get(e.control).copied().unwrap_or(0) > 0,
            "no object fails {}: the test could not see a CEL that always passes",
            e.control
        );
    }
}
