// Body of the `pickle` fuzz target, also `include!`d by crates/mlguard-modelscan/tests/fuzz_models.rs:
// the bytes through the pickle machine emulation with small limits (so limit paths are reached).
// Invariants: no panic; an incomplete analysis always carries a high "not verifiably safe"
// finding (never a silent pass); findings stay within their bound; every reported global has
// a verdict-consistent finding.

#[allow(dead_code)]
fn check_pickle_input(data: &[u8]) {
    use mlguard_modelscan::{scan_pickle_with, Limits, Severity, Verdict};
    let mut limits = Limits::default();
    limits.max_stack = 4096;
    limits.max_memo = 4096;
    limits.max_nesting = 4;
    limits.max_findings = 64;
    let r = scan_pickle_with(data, &limits);
    if !r.complete {
        assert!(
            r.findings
                .iter()
                .any(|f| f.severity >= Severity::High && f.reason.starts_with("not verifiably safe")),
            "incomplete without a not-verifiably-safe finding: {r:?}"
        );
    }
    assert!(r.findings.len() <= limits.max_findings + 1);
    for g in &r.globals {
        if g.verdict == Verdict::Denied && r.findings.len() < limits.max_findings {
            assert!(
                r.findings.iter().any(|f| f.global.as_deref() == Some(g.name.as_str())),
                "denied global {} without a finding",
                g.name
            );
        }
    }
}
