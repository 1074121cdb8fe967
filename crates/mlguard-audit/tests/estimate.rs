//! Volume estimates: how each event is accounted (rule, level None, omitted stage, bodies
//! removed below Request/RequestResponse, raised levels), timestamps, and bad lines.

use mlguard_audit::estimate::{parse_time, replay, Volume};
use mlguard_audit::{Compiled, Policy};

fn event(
    level: &str,
    stage: &str,
    verb: &str,
    user: &str,
    object_ref: &str,
    extra: &str,
) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"{level}","auditID":"x","stage":"{stage}","requestURI":"/healthz?verbose","verb":"{verb}","user":{{"username":"{user}","groups":["g"]}}{object_ref}{extra},"stageTimestamp":"2026-11-27T10:00:00Z"}}"#
    )
}

const POLICY: &str =
    "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n\
- level: None\n  nonResourceURLs: ['/healthz*']\n\
- level: Metadata\n  resources: [{group: '', resources: [secrets]}]\n\
- level: Request\n  verbs: [create]\n  resources: [{group: kubeflow.org}]\n\
- level: RequestResponse\n  users: [alice]\n";

#[test]
fn events_are_accounted_to_the_deciding_rule_with_bodies_trimmed() {
    let p = Policy::parse("p.yaml", POLICY).expect("policy");
    let c = Compiled::new(&p);
    let secret =
        r#","objectRef":{"resource":"secrets","namespace":"a","name":"k","apiVersion":"v1"}"#;
    let job = r#","objectRef":{"resource":"pytorchjobs","namespace":"a","name":"j","apiGroup":"kubeflow.org","apiVersion":"v1"}"#;
    let req_body = r#","requestObject":{"spec":{"x":1}}"#;
    let resp_body = r#","responseObject":{"status":{"y":2}}"#;
    let lines = [
        // 0: health check, rule 0 (None): counted on the rule, no bytes.
        event("Metadata", "ResponseComplete", "get", "kubelet", "", ""),
        // 1: a secret recorded at RequestResponse: rule 1 (Metadata) drops both bodies.
        event(
            "RequestResponse",
            "ResponseComplete",
            "update",
            "bob",
            secret,
            &format!("{req_body}{resp_body}"),
        ),
        // 2: create of a job at RequestResponse: rule 2 (Request) keeps the request body only.
        event(
            "RequestResponse",
            "ResponseComplete",
            "create",
            "bob",
            job,
            &format!("{req_body}{resp_body}"),
        ),
        // 3: alice's get recorded at Metadata: rule 3 (RequestResponse) raises the level.
        event("Metadata", "ResponseComplete", "get", "alice", job, ""),
        // 4: an omitted stage.
        event("Metadata", "RequestReceived", "create", "bob", job, ""),
        // 5: no rule matches (bob reading a job).
        event("Metadata", "ResponseComplete", "get", "bob", job, ""),
    ];
    let text = lines.join("\n") + "\n";
    let est = replay(&c, text.as_bytes(), |_| {}).expect("replay");
    assert_eq!(est.events, 6);
    assert_eq!(est.error_count, 0);
    assert_eq!(est.bytes, text.len() as u64);
    let size = |i: usize| lines[i].len() as u64 + 1;
    assert_eq!(
        est.rules[0],
        Volume {
            events: 1,
            bytes: 0
        }
    );
    let body = |s: &str| s.len() as u64;
    assert_eq!(
        est.rules[1],
        Volume {
            events: 1,
            bytes: size(1) - body(req_body) - body(resp_body)
        }
    );
    assert_eq!(
        est.rules[2],
        Volume {
            events: 1,
            bytes: size(2) - body(resp_body)
        }
    );
    assert_eq!(
        est.rules[3],
        Volume {
            events: 1,
            bytes: size(3)
        }
    );
    assert_eq!(est.level_raised, 1);
    assert_eq!(est.stage_omitted.events, 1);
    assert_eq!(
        est.unmatched,
        Volume {
            events: 1,
            bytes: size(5)
        }
    );
    // All timestamps equal: no span, no per-day figures.
    assert_eq!(est.span(), None);
    assert_eq!(est.per_day(10), None);
    // The policy omits RequestReceived, and the log has one: nothing missing.
    assert_eq!(est.missing_request_received(), Volume::default());
}

#[test]
fn bad_lines_are_reported_by_number_and_the_rest_counted() {
    let p = Policy::parse("p.yaml", POLICY).expect("policy");
    let c = Compiled::new(&p);
    let good = event("Metadata", "ResponseComplete", "get", "kubelet", "", "");
    let text = format!(
        "{good}\n\n{{not json\n{good}\n{}\n{good}",
        good.replace("\"level\":\"Metadata\"", "\"level\":\"Everything\"")
    );
    // Read in tiny chunks, to cross block boundaries.
    struct Slow<'a>(&'a [u8]);
    impl std::io::Read for Slow<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(7).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let est = replay(&c, Slow(text.as_bytes()), |_| {}).expect("replay");
    assert_eq!(
        est.events, 3,
        "the last line has no newline and still counts"
    );
    assert_eq!(est.error_count, 2);
    assert_eq!(
        est.errors.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![3, 5]
    );
    assert!(
        est.errors[1].1.contains("unknown level `Everything`"),
        "{:?}",
        est.errors
    );
}

#[test]
fn timestamps() {
    assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0.0));
    assert_eq!(parse_time("2017-09-11T19:55:05Z"), Some(1_505_159_705.0));
    assert_eq!(
        parse_time("2024-05-01T10:00:00.5+02:00"),
        Some(1_714_550_400.5)
    );
    assert_eq!(parse_time("2000-02-29T23:59:59Z"), Some(951_868_799.0));
    for bad in [
        "",
        "2017-09-11",
        "2017-13-01T00:00:00Z",
        "2017-09-11T25:00:00Z",
        "2017-09-11T19:55:05",
        "2017-09-11T19:55:05.Z",
        "2017-09-11T19:55:05+2:00",
        "２０１７-09-11T19:55:05Z",
    ] {
        assert_eq!(parse_time(bad), None, "{bad}");
    }
}

#[test]
fn newline_search_agrees_with_a_plain_scan() {
    use mlguard_audit::estimate::find_newline;
    let mut buf = vec![b'x'; 40];
    assert_eq!(find_newline(&buf), None);
    for i in 0..40 {
        buf[i] = b'\n';
        for start in 0..=i {
            assert_eq!(find_newline(&buf[start..]), Some(i - start), "{i} {start}");
        }
        // Bytes that differ from `\n` in one bit, and high bytes, are not newlines.
        buf[i] = b'\n' ^ 0x80;
        assert_eq!(find_newline(&buf), None);
        buf[i] = b'\x0b';
        assert_eq!(find_newline(&buf), None);
        buf[i] = b'x';
    }
}
