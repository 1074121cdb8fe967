// The body of the `admission` fuzz target, shared with the corpus replay test
// (crates/mlguard-server/tests/fuzz_corpus.rs) through `include!`: AdmissionReview bodies
// decoded and, when they decode, judged and answered as `POST /validate` does.
//
// Invariants: decoding never panics and an error has a message; a body the fast decoder
// takes decodes to the same request on the careful path; an answer carries the
// request's uid; a denial names at least one control; warnings are at most 120 characters;
// the answer serializes as an admission.k8s.io/v1 AdmissionReview.

/// Decode, judge and answer one fuzz input.
pub fn check_admission_input(data: &[u8]) {
    use mlguard_server::admission::{decode, decode_both, respond, Judge, MAX_WARNING};
    static JUDGE: std::sync::OnceLock<Judge> = std::sync::OnceLock::new();
    let judge = JUDGE.get_or_init(Judge::default);
    if let (Some(fast), careful) = decode_both(data) {
        assert_eq!(Ok(&fast), careful.as_ref(), "the fast and careful decoders differ");
    }
    let req = match decode(data) {
        Ok(r) => r,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let d = judge.decide(&req);
    if !d.allowed {
        assert!(d.message.as_deref().is_some_and(|m| m.contains("MLG-")), "{d:?}");
    }
    assert!(d.warnings.iter().all(|w| w.chars().count() <= MAX_WARNING));
    let out = serde_json::to_value(respond(&req, &d)).expect("the answer serializes");
    assert_eq!(out["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(out["kind"], "AdmissionReview");
    assert_eq!(out["response"]["uid"].as_str(), Some(req.uid.as_str()));
    assert_eq!(out["response"]["allowed"].as_bool(), Some(d.allowed));
}
