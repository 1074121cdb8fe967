// The body of the `netpol` fuzz target, shared word for word with the corpus replay test
// (crates/mlguard-netpol/tests/fuzz_corpus.rs) through `include!`. Arbitrary manifests go
// through the network policy engine: Network, Analysis, the connectivity list in every format,
// explain, and the built-in training-isolation intents. Nothing may panic or hang, and:
// - every input error (a policy the API server would reject, a bad pod IP) names the file, a
//   line and the field;
// - every listed connection allows something, prints as one Txt line, and its printed
//   connections parse back to the same set;
// - `explain`'s step-by-step trace agrees with the engine's verdicts for every class and target
//   it is asked about (two implementations of the same tier semantics);
// - explain resolves a workload of the network by its own `ns/name`.

/// Inputs above this size are skipped so one iteration stays fast (the engine is quadratic in
/// pod classes).
pub const NETPOL_FUZZ_MAX_INPUT: usize = 64 * 1024;

/// Run the network policy engine over one fuzz input.
pub fn check_netpol_input(data: &[u8]) {
    use mlguard_netpol::{HostNetwork, Level, Network};

    if data.len() > NETPOL_FUZZ_MAX_INPUT {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let inv = mlguard_core::Inventory::from_text("fuzz.yaml", text, "default");

    let mut net = Network::from_inventory(&inv, Level::Workload);
    netpol_check_errors(&net);
    net.ensure_kube_dns();
    netpol_check_network(&net, true);

    // The other model of hostNetwork pods, at pod granularity (connectivity only).
    let mut pods = Network::from_inventory_with(&inv, Level::Pod, HostNetwork::AsPods);
    netpol_check_errors(&pods);
    pods.ensure_kube_dns();
    netpol_check_network(&pods, false);
}

fn netpol_check_errors(net: &mlguard_netpol::Network) {
    for e in &net.errors {
        assert_eq!(e.file, "fuzz.yaml", "input error names another file: {e}");
        assert!(
            !e.message.is_empty(),
            "input error without a message: {e:?}"
        );
        assert!(
            e.pos.is_some_and(|p| p.line >= 1),
            "input error without a line: {e:?}"
        );
        assert!(e.field.is_some(), "input error without a field: {e:?}");
    }
    for w in &net.warnings {
        assert_eq!(w.file, "fuzz.yaml", "warning names another file: {w:?}");
    }
}

fn netpol_check_network(net: &mlguard_netpol::Network, full: bool) {
    use mlguard_netpol::connlist::{connectivity, render, Format};
    use mlguard_netpol::explain::{self, EndpointRef, PortQuery};
    use mlguard_netpol::intents::{self, Reach};
    use mlguard_netpol::policy::Direction;
    use mlguard_netpol::ports::parse_conns;
    use mlguard_netpol::Analysis;

    let a = Analysis::new(net);
    let conns = connectivity(&a);
    for c in &conns {
        assert!(
            !c.conns.is_empty(),
            "a listed connection allows nothing: {c:?}"
        );
        assert_ne!(c.src, c.dst, "a workload listed as reaching itself: {c:?}");
        assert_eq!(
            parse_conns(&c.conns.to_string()).as_ref(),
            Some(&c.conns),
            "`{}` does not parse back to the same connections",
            c.conns
        );
    }
    let txt = render(&a, &conns, Format::Txt);
    assert_eq!(
        txt.lines().count(),
        conns.len(),
        "Txt output is not one line per connection:\n{txt}"
    );
    if !full {
        return;
    }
    for format in [Format::Json, Format::Csv, Format::Md, Format::Dot] {
        let out = render(&a, &conns, format);
        assert!(
            out.ends_with('\n'),
            "{format:?} output does not end with a newline"
        );
    }

    // explain's trace and the engine's verdicts are two implementations of the tier order:
    // they must agree (bounded, so one iteration stays fast).
    let nt = a.n_targets();
    for c in 0..a.classes.len().min(12) {
        for d in [Direction::Ingress, Direction::Egress] {
            let v = a.verdicts(c, d);
            for t in (0..nt).take(48) {
                let (steps, traced) = a.trace(c, t, d);
                assert_eq!(
                    &traced,
                    v.get(t),
                    "trace and verdicts disagree for class {c}, target {t:?}, {d:?}",
                    t = a.target(t)
                );
                for s in &steps {
                    assert!(
                        !s.conns.is_empty(),
                        "an explain step that decides nothing: {s:?}"
                    );
                }
            }
        }
    }

    // explain between the first two workloads, by their printed `ns/name`.
    let mut ends = Vec::new();
    for w in net.workloads.iter().take(2) {
        let want = EndpointRef::Named {
            ns: w.ns.clone(),
            name: w.name.clone(),
            kind: None,
        };
        match EndpointRef::parse(&format!("{}/{}", w.ns, w.name)) {
            // Names the API server would reject ('/', brackets, surrounding blanks, ...)
            // cannot be written as an endpoint; only a faithful parse must resolve.
            Ok(e) if e == want => ends.push(e),
            _ => {}
        }
    }
    let port = PortQuery::parse("29500/TCP").expect("a valid port query");
    for from in &ends {
        for to in &ends {
            for q in [None, Some(&port)] {
                let ex = explain::explain(&a, from, to, q)
                    .unwrap_or_else(|e| panic!("explain {from:?} -> {to:?} failed: {e}"));
                assert!(
                    !ex.is_empty(),
                    "explain {from:?} -> {to:?} gave no explanation"
                );
                for e in &ex {
                    assert!(
                        e.egress.allowed.contains(&e.allowed)
                            && e.ingress.allowed.contains(&e.allowed),
                        "allowed connections exceed a side's: {e:?}"
                    );
                    let _ = explain::render_text(e);
                    let _ = explain::to_json(e);
                }
            }
        }
    }
    // explain towards the first Service, on its first port (Service port translation).
    if let (Some(from), Some(svc)) = (ends.first(), net.services.first()) {
        let to = EndpointRef::Named {
            ns: svc.ns.clone(),
            name: svc.name.clone(),
            kind: Some("Service".to_owned()),
        };
        let q = svc
            .ports
            .first()
            .map(|p| PortQuery::Number(p.proto, p.port));
        if let Ok(ex) = explain::explain(&a, from, &to, q.as_ref()) {
            for e in &ex {
                let _ = explain::render_text(e);
            }
        }
    }

    // The built-in training-isolation intents.
    let reach = Reach::new(&a);
    let mut results = Vec::new();
    for intent in intents::training_isolation(&a, &Default::default()) {
        let r = reach.check(&intent);
        if r.unresolved.is_some() {
            assert!(
                r.violations.is_empty(),
                "an unresolved intent with violations: {r:?}"
            );
        }
        for v in &r.violations {
            assert!(
                !v.problem.is_empty(),
                "a violation without a problem: {v:?}"
            );
            assert!(
                intent.conns.contains(&v.problem),
                "a problem outside the intent: {v:?}"
            );
        }
        results.push(r);
    }
    let _ = intents::render_text(&results, 3);
    let _ = intents::to_json(&results);
}
