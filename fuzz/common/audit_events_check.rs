// The body of the `audit_events` fuzz target, shared word for word with the corpus replay test
// (crates/mlguard-audit/tests/fuzz_corpus.rs) through `include!`. Arbitrary bytes are replayed
// as a JSON-lines audit log (audit.k8s.io Events) through `estimate::replay` under two fixed
// policies: the generated production policy (with a phi namespace, so every level occurs) and
// a small hand-written one that keeps RequestReceived and omits other stages per rule. Nothing
// may panic or hang, and the accounting must add up:
// - every non-blank line is either an event or a bad line: events + error_count <= the
//   number of non-blank lines;
// - each event lands in exactly one bucket: the rules' events + unmatched + stage-omitted ==
//   events, and the per-stage counts sum to events;
// - bad lines are reported by 1-based line number, in order, at most MAX_ERRORS of them, each
//   with a message;
// - `bytes` is the input's length, and no bucket holds more bytes than its lines had;
// - timestamps are ordered (first <= last) and `parse_time` does not panic on any line.

/// Inputs above this size are skipped so one iteration stays fast.
pub const AUDIT_EVENTS_FUZZ_MAX_INPUT: usize = 1 << 20;

/// The hand-written policy: no policy-level omitStages (so RequestReceived is estimated), rule
/// level omissions, every level, a non-resource rule and a user rule.
pub const AUDIT_EVENTS_FUZZ_POLICY: &str = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n\
- level: None\n  nonResourceURLs: ['/healthz*', /version]\n\
- level: Metadata\n  omitStages: [RequestReceived, ResponseStarted]\n  resources: [{group: '', resources: [secrets, serviceaccounts/token]}]\n\
- level: RequestResponse\n  users: [alice]\n  verbs: [create, update, patch]\n\
- level: Request\n  namespaces: [team-a, '']\n  resources: [{group: kubeflow.org}, {group: '*', resources: ['*/status']}]\n\
- level: Metadata\n  omitStages: [ResponseComplete]\n  userGroups: [system:nodes]\n\
- level: Metadata\n  omitManagedFields: true\n";

fn audit_events_policies() -> &'static [mlguard_audit::Compiled<'static>] {
    use std::sync::OnceLock;
    static POLICIES: OnceLock<Vec<mlguard_audit::Policy>> = OnceLock::new();
    static COMPILED: OnceLock<Vec<mlguard_audit::Compiled<'static>>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let policies = POLICIES.get_or_init(|| {
            let generated = mlguard_audit::generate::generate(&[
                "team-a=phi".parse().expect("namespace class"),
                "team-b=internal".parse().expect("namespace class"),
            ]);
            [
                ("generated.yaml", generated.as_str()),
                ("fixed.yaml", AUDIT_EVENTS_FUZZ_POLICY),
            ]
            .iter()
            .map(|(f, t)| {
                mlguard_audit::Policy::parse(f, t).unwrap_or_else(|e| panic!("{f}: {e:?}"))
            })
            .collect()
        });
        policies.iter().map(mlguard_audit::Compiled::new).collect()
    })
}

/// Replay one fuzz input as an audit log and check the accounting.
pub fn check_audit_events_input(data: &[u8]) {
    use mlguard_audit::estimate::{parse_time, replay, MAX_ERRORS};

    if data.len() > AUDIT_EVENTS_FUZZ_MAX_INPUT {
        return;
    }
    // Lines as replay sees them: split at '\n', without the empty piece after a final one.
    let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let line_count = lines.len() as u64;
    let non_blank = lines.iter().filter(|l| !l.trim_ascii().is_empty()).count() as u64;
    // Each accounted event weighs at most its trimmed line and a newline.
    let max_bytes: u64 = lines.iter().map(|l| l.trim_ascii().len() as u64 + 1).sum();

    for l in &lines {
        if let Ok(s) = std::str::from_utf8(l) {
            let _ = parse_time(s);
            let _ = parse_time(s.trim());
        }
    }

    for compiled in audit_events_policies() {
        let mut last_progress = 0;
        let e = replay(compiled, data, |n| {
            assert!(
                n >= last_progress,
                "progress went back: {n} < {last_progress}"
            );
            last_progress = n;
        })
        .expect("reading from a slice cannot fail");
        assert_eq!(e.bytes, data.len() as u64, "bytes read");
        assert_eq!(last_progress, data.len() as u64, "last progress report");
        assert!(
            e.events + e.error_count <= non_blank,
            "{} events and {} bad lines in {non_blank} non-blank lines",
            e.events,
            e.error_count
        );
        assert_eq!(e.rules.len(), compiled.policy().rules.len());
        let per_rule: u64 = e.rules.iter().map(|v| v.events).sum();
        assert_eq!(
            per_rule + e.unmatched.events + e.stage_omitted.events,
            e.events,
            "events per rule {per_rule} + unmatched {} + stage-omitted {} != events {}",
            e.unmatched.events,
            e.stage_omitted.events,
            e.events
        );
        assert_eq!(
            e.stages.iter().sum::<u64>(),
            e.events,
            "stages {:?}",
            e.stages
        );
        let bucket_bytes: u64 = e.rules.iter().map(|v| v.bytes).sum::<u64>()
            + e.unmatched.bytes
            + e.stage_omitted.bytes;
        assert!(
            bucket_bytes <= max_bytes,
            "{bucket_bytes} bytes accounted from lines of {max_bytes}"
        );
        assert!(e.level_raised <= e.events);
        assert!(e.request_received_extra.events <= e.events);
        assert!(e.request_received_extra.bytes <= bucket_bytes);
        assert_eq!(
            e.errors.len() as u64,
            e.error_count.min(MAX_ERRORS as u64),
            "kept errors"
        );
        for w in e.errors.windows(2) {
            assert!(w[0].0 < w[1].0, "errors out of order: {:?}", e.errors);
        }
        for (line, message) in &e.errors {
            assert!(
                (1..=line_count).contains(line),
                "error at line {line} of {line_count}: {message}"
            );
            assert!(
                !message.is_empty(),
                "error without a message at line {line}"
            );
            let text = lines[(*line - 1) as usize];
            assert!(
                !text.trim_ascii().is_empty(),
                "error on blank line {line}: {message}"
            );
        }
        match (e.first, e.last) {
            (Some(a), Some(b)) => assert!(a <= b, "first {a} after last {b}"),
            (None, None) => {}
            other => panic!("only one of first and last: {other:?}"),
        }
        if let Some(s) = e.span() {
            assert!(s > 0.0);
            let _ = e.per_day(e.events);
        }
        let _ = e.missing_request_received();
    }
}
