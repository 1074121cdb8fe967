//! Normalizing Kubernetes, MinIO and KServe audit events into trail records: the real audit log
//! of ../shared/corpus/audit, hand-written samples in tests/data/trail (see its README), the
//! redaction of secrets from the raw event, model resolution, the canonical encoding (golden
//! bytes) and idempotency keys. The `audit_record` fuzz target's body
//! (fuzz/common/audit_record_check.rs) runs over every sample too.

use std::path::PathBuf;

use mlguard_audit::trail::normalize::{
    is_secret_header, is_secret_json_key, k8s_event, k8s_event_list, k8s_event_list_items, kserve,
    kserve_structured, minio, ModelMap, ModelMapConfig, ModelMapError, NormalizeError,
};
use mlguard_audit::trail::record::{
    format_rfc3339, parse_rfc3339, Outcome, OutcomeKind, Record, RecordError, Source,
};

include!("../../../fuzz/common/audit_record_check.rs");

fn corpus_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/audit/audit2rbac-demo.log")
}

fn corpus_lines() -> Vec<Vec<u8>> {
    let p = corpus_path();
    let text = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    text.split(|&b| b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn data(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/trail")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn ml_events() -> Vec<Vec<u8>> {
    data("k8s-ml-events.jsonl")
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn ids(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn raw_text(r: &Record) -> String {
    String::from_utf8(r.raw_event().expect("raw event decompresses")).expect("raw event is UTF-8")
}

fn time(s: &str) -> i64 {
    parse_rfc3339(s).unwrap_or_else(|| panic!("{s} parses"))
}

fn model_map(json: &str) -> ModelMap {
    let config: ModelMapConfig = serde_json::from_str(json).expect("model map config");
    ModelMap::new(&config).expect("model map")
}

// ---------------------------------------------------------------------------------------------
// Kubernetes

#[test]
fn every_corpus_event_normalizes() {
    let lines = corpus_lines();
    assert_eq!(lines.len(), 37, "events in {}", corpus_path().display());
    let records: Vec<Record> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| k8s_event(l).unwrap_or_else(|e| panic!("line {}: {e}", i + 1)))
        .collect();

    let count = |f: &dyn Fn(&Record) -> bool| records.iter().filter(|r| f(r)).count();
    assert_eq!(count(&|r| r.source == Source::K8s), 37);
    assert_eq!(count(&|r| r.actor == "system:admin"), 37);
    assert_eq!(
        count(&|r| r.groups == ["system:masters", "system:authenticated"]),
        37
    );
    assert_eq!(count(&|r| r.on_behalf_of.as_deref() == Some("bob")), 29);
    assert_eq!(
        count(&|r| r.on_behalf_of.as_deref() == Some("system:serviceaccount:ns1:sa1")),
        5
    );
    assert_eq!(count(&|r| r.on_behalf_of.as_deref() == Some("alice")), 3);
    assert_eq!(
        count(&|r| r.outcome
            == Outcome {
                kind: OutcomeKind::Failure,
                code: Some(403)
            }),
        11
    );
    assert_eq!(
        count(&|r| r.outcome
            == Outcome {
                kind: OutcomeKind::Success,
                code: Some(200)
            }),
        26
    );
    // Non-resource requests (/api, /apis/...) have the request path as their resource.
    assert_eq!(count(&|r| r.resource.starts_with('/')), 23);
    assert_eq!(count(&|r| r.verb == "get"), 23);
    assert_eq!(count(&|r| r.verb == "list"), 14);
    assert_eq!(
        count(&|r| r.stage.as_deref() == Some("ResponseComplete")),
        37
    );
    assert_eq!(count(&|r| r.source_ip.as_deref() == Some("::1")), 37);

    // Nothing to redact: the raw event is the line, byte for byte.
    for (r, l) in records.iter().zip(&lines) {
        assert_eq!(&r.raw_event().unwrap(), l);
        assert!(!r.detail.contains_key("redacted"));
    }
    // Every (auditID, stage) is distinct in this log.
    let keys: std::collections::BTreeSet<_> = records.iter().map(Record::idempotency_key).collect();
    assert_eq!(keys.len(), 37);

    // The last event: alice (impersonated by system:admin) may not list secrets in ns1.
    let r = &records[36];
    assert_eq!(r.event_id, "4b814005-0bfa-4756-bf3e-3750de5b8769");
    assert_eq!(r.verb, "list");
    assert_eq!(r.resource, "secrets");
    assert_eq!(r.namespace.as_deref(), Some("ns1"));
    assert_eq!(r.name, None);
    assert_eq!(r.actor, "system:admin");
    assert_eq!(r.on_behalf_of.as_deref(), Some("alice"));
    assert_eq!(
        r.detail["on_behalf_of_groups"],
        r#"["system:authenticated"]"#
    );
    assert_eq!(r.outcome.kind, OutcomeKind::Failure);
    assert_eq!(r.outcome.code, Some(403));
    // This log predates stageTimestamp: its `timestamp` is the time.
    assert_eq!(r.time_ns, 1_505_161_744_000_000_000);
    assert_eq!(r.time_rfc3339(), "2017-09-11T20:29:04Z");
    assert_eq!(r.detail["request_uri"], "/api/v1/namespaces/ns1/secrets");
    assert_eq!(r.detail["level"], "Metadata");
    assert_eq!(r.detail["api_version"], "v1");
    assert!(!r.detail.contains_key("api_group"));

    // A non-resource request keeps its path without the query.
    let r = &records[9];
    assert_eq!((r.verb.as_str(), r.resource.as_str()), ("get", "/api"));
    assert_eq!(r.namespace, None);
    let r = &records[33];
    assert_eq!(r.resource, "nodes");
    assert_eq!(
        r.detail["request_uri"],
        "/api/v1/nodes?includeUninitialized=true"
    );
}

#[test]
fn ml_events_spot_checks() {
    let lines = ml_events();
    assert_eq!(lines.len(), 8);
    let r: Vec<Record> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| k8s_event(l).unwrap_or_else(|e| panic!("line {}: {e}", i + 1)))
        .collect();

    // The create of an InferenceService, stage by stage.
    let (received, complete) = (&r[0], &r[1]);
    assert_eq!(received.event_id, complete.event_id);
    assert_eq!(received.stage.as_deref(), Some("RequestReceived"));
    assert_eq!(received.outcome, Outcome::UNKNOWN);
    assert_ne!(received.idempotency_key(), complete.idempotency_key());
    assert_eq!(complete.stage.as_deref(), Some("ResponseComplete"));
    assert_eq!(complete.verb, "create");
    assert_eq!(complete.resource, "inferenceservices");
    assert_eq!(complete.namespace.as_deref(), Some("team-a"));
    assert_eq!(complete.name.as_deref(), Some("llama-chat"));
    assert_eq!(complete.actor, "alice@example.com");
    assert_eq!(complete.on_behalf_of, None);
    assert_eq!(complete.outcome, Outcome::from_status(201));
    assert_eq!(complete.time_ns, time("2026-03-02T09:15:04.123456Z"));
    assert_eq!(received.time_ns, time("2026-03-02T09:15:04.101220Z"));
    assert_eq!(
        complete.user_agent.as_deref(),
        Some("kubectl/v1.33.1 (linux/amd64) kubernetes/8adc0f0")
    );
    assert_eq!(complete.detail["api_group"], "serving.kserve.io");
    assert_eq!(complete.detail["storage_uri"], "s3://models/llama-7b");
    assert!(!received.detail.contains_key("storage_uri"));

    // The create of a Deployment takes its name from the object; nothing is redacted from it
    // (a secretName, a *_PASSWORD variable name, automountServiceAccountToken are no secrets).
    let d = &r[2];
    assert_eq!(
        (d.verb.as_str(), d.resource.as_str()),
        ("create", "deployments")
    );
    assert_eq!(d.name.as_deref(), Some("feature-store"));
    assert_eq!(d.detail["api_group"], "apps");
    assert_eq!(d.raw_event().unwrap(), lines[2]);
    assert!(!d.detail.contains_key("redacted"));

    // The get of a Secret: its values are gone from the raw event, its name stays.
    let s = &r[3];
    assert_eq!((s.verb.as_str(), s.resource.as_str()), ("get", "secrets"));
    assert_eq!(s.name.as_deref(), Some("hf-token"));
    assert_eq!(s.actor, "system:serviceaccount:team-a:notebook");
    let raw = raw_text(s);
    assert!(
        !raw.contains("aGZfc2VjcmV0X3ZhbHVlX2RvX25vdF9sb2c"),
        "{raw}"
    );
    assert!(!raw.contains("last-applied-configuration"), "{raw}");
    assert!(
        raw.contains("\"hf-token\"") && raw.contains("\"Opaque\""),
        "{raw}"
    );
    assert_eq!(
        s.detail["redacted"],
        "responseObject.data,responseObject.metadata.annotations.kubectl.kubernetes.io/last-applied-configuration"
    );
    let v: serde_json::Value = serde_json::from_str(&raw).expect("redacted raw is JSON");
    assert_eq!(v["auditID"], "b8d0f2a4-6c8e-4a0b-9d1f-3e5a7c9b1d2f");

    // The TokenRequest: the token it returned is gone.
    let t = &r[4];
    assert_eq!(t.resource, "serviceaccounts/token");
    assert_eq!(t.actor, "system:node:gpu-node-3");
    let raw = raw_text(t);
    assert!(!raw.contains("projected-sa-token-signature"), "{raw}");
    assert!(!raw.contains("\"token\":"), "{raw}");
    assert!(raw.contains("expirationTimestamp"), "{raw}");
    assert_eq!(
        t.detail["redacted"],
        "requestObject.status.token,responseObject.status.token"
    );

    // The impersonated, denied JSON patch of a Secret behind a proxy.
    let p = &r[5];
    assert_eq!(p.actor, "carol@example.com");
    assert_eq!(p.groups, ["platform-admins", "system:authenticated"]);
    assert_eq!(
        p.on_behalf_of.as_deref(),
        Some("system:serviceaccount:team-a:notebook")
    );
    assert_eq!(
        p.detail["on_behalf_of_groups"],
        r#"["system:serviceaccounts","system:serviceaccounts:team-a","system:authenticated"]"#
    );
    assert_eq!(p.outcome, Outcome::from_status(403));
    assert_eq!(p.outcome.kind, OutcomeKind::Failure);
    assert_eq!(p.source_ip.as_deref(), Some("192.0.2.10"));
    assert_eq!(p.detail["source_ips"], r#"["192.0.2.10","10.0.0.5"]"#);
    let raw = raw_text(p);
    assert!(!raw.contains("bmV3X2hmX3NlY3JldF92YWx1ZQ"), "{raw}");
    assert!(!raw.contains("requestObject"), "{raw}");
    assert_eq!(p.detail["redacted"], "requestObject");

    // The TrainedModel.
    let m = &r[6];
    assert_eq!(m.resource, "trainedmodels");
    assert_eq!(
        m.detail["storage_uri"],
        "gs://kfserving-examples/models/sklearn/1.0/model"
    );
    assert_eq!(m.detail["inference_service"], "sklearn-iris-example");

    // A panic without a code is a failure.
    let k = &r[7];
    assert_eq!(k.stage.as_deref(), Some("Panic"));
    assert_eq!(
        k.outcome,
        Outcome {
            kind: OutcomeKind::Failure,
            code: None
        }
    );
    assert_eq!(k.resource, "pytorchjobs/status");
    assert_eq!(k.detail["api_group"], "kubeflow.org");
}

#[test]
fn event_lists_round_trip() {
    // The corpus as one EventList: the same records as line by line, raw bytes included.
    let lines = corpus_lines();
    let mut list =
        br#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":["#.to_vec();
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            list.extend_from_slice(b",\n");
        }
        list.extend_from_slice(l);
    }
    list.extend_from_slice(b"]}");
    let from_list = k8s_event_list(&list).expect("corpus EventList");
    let one_by_one: Vec<Record> = lines.iter().map(|l| k8s_event(l).unwrap()).collect();
    assert_eq!(from_list, one_by_one);

    // The webhook's shape: items without kind and apiVersion.
    let text = data("k8s-eventlist.json");
    let records = k8s_event_list(&text).expect("webhook EventList");
    assert_eq!(records.len(), 3);
    let singles: Vec<Record> = ml_events()[1..4]
        .iter()
        .map(|l| k8s_event(l).unwrap())
        .collect();
    for (a, b) in records.iter().zip(&singles) {
        let mut a = a.clone();
        a.raw = b.raw.clone();
        assert_eq!(&a, b, "list item and line differ beyond kind/apiVersion");
    }
    for r in &records {
        assert_eq!(Record::from_canonical(&r.canonical()).unwrap(), *r);
    }
    // An item's raw event is its own bytes.
    let v: serde_json::Value = serde_json::from_slice(&text).unwrap();
    let raw: serde_json::Value = serde_json::from_slice(&records[1].raw_event().unwrap()).unwrap();
    assert_eq!(raw, v["items"][1]);
    assert!(raw.get("kind").is_none());

    // An empty list, and `items: null`, are no events.
    for l in [
        r#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}"#,
        r#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":null}"#,
    ] {
        assert_eq!(k8s_event_list(l.as_bytes()).unwrap(), Vec::new());
    }
}

fn assert_field(e: &NormalizeError, item: Option<usize>, field: &str) {
    assert_eq!(e.item(), item, "{e}");
    assert_eq!(e.field(), Some(field), "{e}");
    let text = e.to_string();
    assert!(text.contains(&format!("`{field}`")), "{text}");
    if let Some(i) = item {
        assert!(text.starts_with(&format!("item {i}: ")), "{text}");
    }
}

#[test]
fn bad_kubernetes_input_is_refused_naming_item_and_field() {
    let line = |i: usize| String::from_utf8(corpus_lines()[i].clone()).unwrap();
    let list = |items: &[String]| {
        format!(
            r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{}]}}"#,
            items.join(",")
        )
    };
    let good = [line(0), line(1), line(2)];

    // List-level errors.
    let e = k8s_event_list(line(0).as_bytes()).unwrap_err();
    assert_field(&e, None, "kind");
    assert!(
        e.to_string()
            .contains(r#"expected "EventList", found "Event""#),
        "{e}"
    );
    let v1beta1 = list(&good).replace("audit.k8s.io/v1\"", "audit.k8s.io/v1beta1\"");
    assert_field(
        &k8s_event_list(v1beta1.as_bytes()).unwrap_err(),
        None,
        "apiVersion",
    );
    let no_items = r#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1"}"#;
    assert!(matches!(
        k8s_event_list(no_items.as_bytes()).unwrap_err(),
        NormalizeError::Missing { item: None, ref field } if field == "items"
    ));
    let not_array = r#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":{}}"#;
    assert_field(
        &k8s_event_list(not_array.as_bytes()).unwrap_err(),
        None,
        "items",
    );
    assert!(matches!(
        k8s_event_list(b"[1,2]").unwrap_err(),
        NormalizeError::NotAnObject {
            item: None,
            found: "an array"
        }
    ));
    let truncated = &list(&good)[..200];
    match k8s_event_list(truncated.as_bytes()).unwrap_err() {
        NormalizeError::Json {
            item: None,
            line: 1,
            column,
            ..
        } => assert!(column > 0),
        e => panic!("{e:?}"),
    }
    match k8s_event(b"{\"kind\":\"Event\",\n\"auditID\":}").unwrap_err() {
        NormalizeError::Json {
            item: None,
            line: 2,
            ..
        } => {}
        e => panic!("{e:?}"),
    }

    // Item errors: index and field, while the other items still normalize.
    let no_audit_id = line(1).replace(r#""auditID":"d857fef6-5a24-4889-9597-ffbcb6108444","#, "");
    let pod = line(2).replace(r#""kind":"Event""#, r#""kind":"Pod""#);
    let text = list(&[line(0), no_audit_id, pod, "7".to_owned()]);
    let e = k8s_event_list(text.as_bytes()).unwrap_err();
    assert_field(&e, Some(1), "auditID");
    assert!(matches!(e, NormalizeError::Missing { .. }));
    let items = k8s_event_list_items(text.as_bytes()).unwrap();
    assert_eq!(items.len(), 4);
    assert!(items[0].is_ok());
    assert_field(items[1].as_ref().unwrap_err(), Some(1), "auditID");
    assert_field(items[2].as_ref().unwrap_err(), Some(2), "kind");
    assert!(matches!(
        items[3].as_ref().unwrap_err(),
        NormalizeError::NotAnObject {
            item: Some(3),
            found: "a number"
        }
    ));

    // One event: each field checked.
    let cases: &[(&str, &str, &str)] = &[
        (r#""apiVersion":"audit.k8s.io/v1","#, "", "apiVersion"),
        (
            r#""kind":"Event","#,
            r#""kind":"Event","kind":"EventList","#,
            "kind",
        ),
        (r#""verb":"list","#, r#""verb":7,"#, "verb"),
        (r#""stage":"ResponseComplete","#, r#""stage":"","#, "stage"),
        (
            r#""timestamp":"2017-09-11T19:55:05Z""#,
            r#""timestamp":"2017-09-11 7pm""#,
            "timestamp",
        ),
        (
            r#""timestamp":"2017-09-11T19:55:05Z","#,
            "",
            "stageTimestamp",
        ),
        (
            r#""groups":["system:masters","#,
            r#""groups":[1,"#,
            "user.groups[0]",
        ),
        (
            r#""username":"bob""#,
            r#""username":["bob"]"#,
            "impersonatedUser.username",
        ),
        (r#""code":403"#, r#""code":70000"#, "responseStatus.code"),
        (
            r#""resource":"pods""#,
            r#""resource":{}"#,
            "objectRef.resource",
        ),
        (
            r#""sourceIPs":["::1"]"#,
            r#""sourceIPs":"::1""#,
            "sourceIPs",
        ),
    ];
    for (from, to, field) in cases {
        let l = line(0);
        assert!(l.contains(from), "{from}");
        let bad = l.replacen(from, to, 1);
        let e = k8s_event(bad.as_bytes()).unwrap_err();
        assert_field(&e, None, field);
    }
    let no_user = line(0).replace(
        r#""user":{"username":"system:admin","groups":["system:masters","system:authenticated"]},"#,
        "",
    );
    assert_field(&k8s_event(no_user.as_bytes()).unwrap_err(), None, "user");
    // A stageTimestamp wins over the older fields, and a bad one is not papered over.
    let staged = line(0).replace(
        r#""timestamp":"2017-09-11T19:55:05Z""#,
        r#""timestamp":"2017-09-11T19:55:05Z","requestReceivedTimestamp":"2017-09-11T19:55:05.1Z","stageTimestamp":"2017-09-11T21:55:05.25+02:00""#,
    );
    assert_eq!(
        k8s_event(staged.as_bytes()).unwrap().time_ns,
        1_505_159_705_250_000_000
    );
    let bad_stage = staged.replace("21:55:05.25+02:00", "21:55:05.25+2:00");
    assert_field(
        &k8s_event(bad_stage.as_bytes()).unwrap_err(),
        None,
        "stageTimestamp",
    );
}

// ---------------------------------------------------------------------------------------------
// MinIO

#[test]
fn minio_get_and_put_resolve_models_by_prefix() {
    let map = model_map(
        r#"{"prefixes":[{"prefix":"s3://models/","model":"unlisted-model"},
                        {"prefix":"s3://models/llama-7b/","model":"llama-7b"},
                        {"prefix":"s3://models/llama","model":"wrong-segment"}]}"#,
    );

    let mut get = minio(&data("minio-getobject.json")).expect("GetObject");
    assert_eq!(get.source, Source::Storage);
    assert_eq!(get.verb, "get");
    assert_eq!(get.actor, "svc-kserve-team-a");
    assert_eq!(get.groups, ["ml-serving", "team-a"]);
    assert_eq!(get.resource, "objects");
    assert_eq!(
        get.name.as_deref(),
        Some("s3://models/llama-7b/model-00001-of-00002.safetensors")
    );
    assert_eq!(get.namespace, None);
    assert_eq!(get.outcome, Outcome::from_status(200));
    assert_eq!(get.source_ip.as_deref(), Some("10.12.3.44"));
    assert_eq!(get.event_id, "17F8A2C3D4E5B6A7");
    assert_eq!(get.stage, None);
    assert_eq!(get.time_ns, time("2026-03-02T09:18:42.918273645Z"));
    assert_eq!(get.time_ns % 1_000_000_000, 918_273_645);
    assert_eq!(get.detail["api"], "GetObject");
    assert_eq!(get.detail["bucket"], "models");
    assert_eq!(get.detail["parent_user"], "team-a-serving");
    assert_eq!(get.detail["tx"], "4938201088");
    assert_eq!(get.detail["trigger"], "incoming");
    assert_eq!(get.detail["redacted"], "requestHeader.Authorization");
    assert_eq!(map.resolve(&mut get), None);
    assert_eq!(get.model.as_deref(), Some("llama-7b"));
    let raw = raw_text(&get);
    assert!(!raw.to_ascii_lowercase().contains("authorization"), "{raw}");
    assert!(!raw.contains("5d672d79c15b"), "{raw}");
    assert!(raw.contains("X-Amz-Content-Sha256"), "{raw}");

    let mut put = minio(&data("minio-putobject.json")).expect("PutObject");
    assert_eq!(put.verb, "put");
    assert_eq!(put.actor, "train-pipeline", "access key from Credential=");
    assert_eq!(put.source_ip.as_deref(), Some("10.12.7.9"), "port stripped");
    assert_eq!(
        put.name.as_deref(),
        Some("s3://models/llama-7b/tokenizer.json")
    );
    assert_eq!(put.detail.get("parent_user"), None);
    assert_eq!(
        put.detail["redacted"],
        "requestHeader.Authorization,requestHeader.X-Amz-Security-Token"
    );
    map.resolve(&mut put);
    assert_eq!(put.model.as_deref(), Some("llama-7b"));
    let raw = raw_text(&put);
    assert!(!raw.contains("sts-session-secret"), "{raw}");
    assert!(!raw.contains("Security-Token"), "{raw}");
    assert!(!raw.contains("d3f02a6aeddeb29b"), "{raw}");

    let mut denied = minio(&data("minio-presigned-denied.json")).expect("presigned GetObject");
    assert_eq!(
        denied.actor, "analyst-eve",
        "access key from X-Amz-Credential"
    );
    assert_eq!(denied.outcome, Outcome::from_status(403));
    assert_eq!(denied.outcome.kind, OutcomeKind::Failure);
    assert_eq!(denied.detail["error"], "Access Denied.");
    assert_eq!(denied.detail["redacted"], "requestQuery.X-Amz-Signature");
    map.resolve(&mut denied);
    assert_eq!(denied.model, None, "datasets/ is no model's prefix");
    let raw = raw_text(&denied);
    assert!(!raw.contains("7a1b9c3d5e7f"), "{raw}");
    assert!(raw.contains("analyst-eve/20260302"), "{raw}");

    // Longest prefix, on segment boundaries.
    let mut other = get.clone();
    other.name = Some("s3://models/llama-70b/x.bin".into());
    map.resolve(&mut other);
    assert_eq!(other.model.as_deref(), Some("unlisted-model"));
    other.name = Some("s3://models/llama/x.bin".into());
    map.resolve(&mut other);
    assert_eq!(other.model.as_deref(), Some("wrong-segment"));
    other.name = Some("s3://datasets/x".into());
    map.resolve(&mut other);
    assert_eq!(other.model, None);
}

#[test]
fn minio_verbs_and_errors() {
    let entry = |name: &str, object: &str| {
        format!(
            r#"{{"version":"1","time":"2026-03-02T09:00:00Z","requestID":"R1","api":{{"name":"{name}","bucket":"b"{object},"statusCode":200}}}}"#
        )
    };
    for (api, verb) in [
        ("HeadObject", "get"),
        ("SelectObjectContent", "get"),
        ("GetObjectTagging", "get"),
        ("PutObjectPart", "put"),
        ("CopyObject", "put"),
        ("NewMultipartUpload", "put"),
        ("CompleteMultipartUpload", "put"),
        ("PostPolicyBucket", "put"),
        ("DeleteObject", "delete"),
        ("DeleteMultipleObjects", "delete"),
        ("AbortMultipartUpload", "delete"),
        ("ListObjectsV2", "list"),
        ("ListObjectVersions", "list"),
        ("AssumeRoleWithWebIdentity", "other"),
    ] {
        let r = minio(entry(api, r#","object":"k""#).as_bytes()).unwrap();
        assert_eq!(r.verb, verb, "{api}");
        assert_eq!(r.detail["api"], api);
        assert_eq!(r.actor, "", "anonymous");
    }
    let r = minio(entry("MakeBucket", "").as_bytes()).unwrap();
    assert_eq!((r.verb.as_str(), r.resource.as_str()), ("put", "buckets"));
    assert_eq!(r.name.as_deref(), Some("s3://b"));
    let r = minio(
        br#"{"version":"1","time":"2026-03-02T09:00:00Z","requestID":"R2","api":{"name":"ListBuckets"}}"#,
    )
    .unwrap();
    assert_eq!((r.verb.as_str(), r.name.as_deref()), ("list", None));
    assert_eq!(r.outcome, Outcome::UNKNOWN);

    let good = entry("GetObject", r#","object":"k""#);
    for (from, to, field) in [
        (r#""version":"1""#, r#""version":"2""#, "version"),
        (r#""version":"1","#, "", "version"),
        (
            r#""time":"2026-03-02T09:00:00Z""#,
            r#""time":"yesterday""#,
            "time",
        ),
        (r#""requestID":"R1","#, "", "requestID"),
        (r#""name":"GetObject","#, "", "api.name"),
        (
            r#""statusCode":200"#,
            r#""statusCode":"200""#,
            "api.statusCode",
        ),
        (r#""bucket":"b""#, r#""bucket":["b"]"#, "api.bucket"),
    ] {
        assert!(good.contains(from), "{from}");
        let e = minio(good.replacen(from, to, 1).as_bytes()).unwrap_err();
        assert_field(&e, None, field);
    }
    assert!(matches!(
        minio(b"{\"version\":").unwrap_err(),
        NormalizeError::Json { .. }
    ));
}

// ---------------------------------------------------------------------------------------------
// KServe

fn http(name: &str) -> (Vec<(String, String)>, Vec<u8>) {
    let bytes = data(name);
    let (headers, body) = audit_record_split_http(&bytes);
    (headers, body.to_vec())
}

#[test]
fn kserve_binary_mode_with_identity_headers() {
    // `authorization` first: a secret-like identity header is never used.
    let identity = ids(&["authorization", "x-user", "x-forwarded-email"]);
    let (headers, body) = http("kserve-binary-request.http");
    assert_eq!(headers.len(), 17);
    let req = kserve(&headers, &body, &identity).expect("request event");
    assert_eq!(req.source, Source::Inference);
    assert_eq!(req.verb, "query");
    assert_eq!(req.actor, "alice@example.com");
    assert_eq!(req.detail["identity_header"], "X-User");
    assert_eq!(req.resource, "inferenceservices");
    assert_eq!(req.name.as_deref(), Some("llama-chat"));
    assert_eq!(req.namespace.as_deref(), Some("team-a"));
    assert_eq!(req.stage.as_deref(), Some("request"));
    assert_eq!(req.outcome, Outcome::UNKNOWN);
    assert_eq!(req.event_id, "5bd6d6a6-0b4e-4d6e-9a5b-6f3e0c2d1a77");
    assert_eq!(req.time_ns, time("2026-03-02T09:20:11.048217337Z"));
    assert_eq!(req.source_ip.as_deref(), Some("10.12.0.7"));
    assert_eq!(req.user_agent.as_deref(), Some("python-requests/2.31.0"));
    assert_eq!(req.detail["component"], "predictor");
    assert_eq!(req.detail["content_mode"], "binary");
    assert_eq!(
        req.detail["ce_type"],
        "org.kubeflow.serving.inference.request"
    );
    assert_eq!(
        req.detail["redacted"],
        "Authorization,ce-metadata.Authorization"
    );

    let raw = raw_text(&req);
    assert!(!raw.to_ascii_lowercase().contains("authorization"), "{raw}");
    assert!(!raw.contains("Bearer"), "{raw}");
    assert!(!raw.contains("sink-token"), "{raw}");
    assert!(
        raw.contains("Ce-Id: 5bd6d6a6-0b4e-4d6e-9a5b-6f3e0c2d1a77\r\n"),
        "{raw}"
    );
    assert!(
        raw.contains("%22X-User%22:[%22alice@example.com%22]"),
        "{raw}"
    );
    assert!(
        raw.ends_with("\r\n\r\n{\"instances\":[[6.8,2.8,4.8,1.4],[6.0,3.4,4.5,1.6]]}"),
        "{raw}"
    );

    let (headers, body) = http("kserve-binary-response.http");
    let resp = kserve(&headers, &body, &identity).expect("response event");
    assert_eq!(resp.stage.as_deref(), Some("response"));
    assert_eq!(resp.outcome, Outcome::from_status(200));
    assert_eq!(resp.event_id, req.event_id);
    assert_ne!(resp.idempotency_key(), req.idempotency_key());
    assert!(!raw_text(&resp)
        .to_ascii_lowercase()
        .contains("authorization"));

    // Without a usable identity header the actor is empty (unknown caller).
    let anon = kserve(&headers, &body, &ids(&["x-remote-user", "authorization"])).unwrap();
    assert_eq!(anon.actor, "");
    assert!(!anon.detail.contains_key("identity_header"));

    // A quoted header value is unquoted (older senders), names are matched in any case.
    let mut quoted = headers.clone();
    for (n, v) in &mut quoted {
        *n = n.to_ascii_uppercase();
        if n == "CE-NAMESPACE" {
            *v = "\"team-a\"".into();
        }
    }
    quoted.retain(|(n, _)| n != "CE-SOURCE");
    quoted.push(("CE-SOURCE".into(), "Euro%20%E2%82%ac%20%F0%9F%98%80".into()));
    let q = kserve(&quoted, &body, &identity).unwrap();
    assert_eq!(q.namespace.as_deref(), Some("team-a"));
    assert_eq!(q.detail["ce_source"], "Euro \u{20ac} \u{1f600}");
    assert_eq!(q.actor, "alice@example.com");
    assert!(!raw_text(&q).to_ascii_lowercase().contains("authorization"));
}

#[test]
fn kserve_structured_mode() {
    let identity = ids(&["x-user", "x-forwarded-email"]);
    let body = data("kserve-structured-request.json");
    let r = kserve_structured(&body, &identity).expect("structured event");
    assert_eq!(r.actor, "bob@example.com");
    assert_eq!(r.detail["identity_header"], "X-Forwarded-Email");
    assert_eq!(r.name.as_deref(), Some("sklearn-iris"));
    assert_eq!(r.namespace.as_deref(), Some("team-b"));
    assert_eq!(
        r.time_ns,
        time("2026-03-02T09:02:45.5Z"),
        "+01:00 offset applied"
    );
    assert_eq!(r.detail["content_mode"], "structured");
    assert_eq!(
        r.detail["redacted"],
        "metadata.Authorization,metadata.Cookie"
    );
    assert_eq!(r.source_ip, None);
    let raw = raw_text(&r);
    for secret in [
        "authorization",
        "bearer",
        "cookie",
        "_oauth2_proxy",
        "c2Vzc2lvbi1ib2I",
    ] {
        assert!(
            !raw.to_ascii_lowercase()
                .contains(&secret.to_ascii_lowercase()),
            "{secret}: {raw}"
        );
    }
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(v["data"]["instances"][0][0], 6.8);
    let md: serde_json::Value = serde_json::from_str(v["metadata"].as_str().unwrap()).unwrap();
    assert_eq!(md["X-Forwarded-Email"][0], "bob@example.com");

    // Through the HTTP entry point with the structured content type: the same record.
    let headers = vec![(
        "Content-Type".to_owned(),
        "application/cloudevents+json; charset=UTF-8".to_owned(),
    )];
    assert_eq!(kserve(&headers, &body, &identity).unwrap(), r);

    // The model: a configured InferenceService rule, else the InferenceService's name.
    let mut a = r.clone();
    model_map("{}").resolve(&mut a);
    assert_eq!(a.model.as_deref(), Some("sklearn-iris"));
    let mut b = r.clone();
    model_map(r#"{"inferenceServices":[{"namespace":"team-a","name":"sklearn-iris","model":"other-ns"},{"name":"sklearn-iris","model":"iris"}]}"#)
        .resolve(&mut b);
    assert_eq!(b.model.as_deref(), Some("iris"));
}

#[test]
fn bad_kserve_input_is_refused_naming_the_attribute() {
    let identity = ids(&["x-user"]);
    let (headers, body) = http("kserve-binary-request.http");
    let with = |name: &str, value: Option<&str>| -> Vec<(String, String)> {
        let mut h: Vec<(String, String)> = headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
            .cloned()
            .collect();
        if let Some(v) = value {
            h.push((name.to_owned(), v.to_owned()));
        }
        h
    };
    for (name, value, field) in [
        ("Ce-Type", Some("com.example.other"), "ce-type"),
        ("Ce-Id", None, "ce-id"),
        ("Ce-Id", Some(""), "ce-id"),
        ("Ce-Specversion", Some("0.3"), "ce-specversion"),
        ("Ce-Time", Some("2026-03-02T09:20:11"), "ce-time"),
        ("Ce-Time", None, "ce-time"),
        ("Ce-Source", None, "ce-source"),
        ("Ce-Inferenceservicename", None, "ce-inferenceservicename"),
        ("Ce-Metadata", Some("%7B%22X-User%22"), "ce-metadata"),
        (
            "Ce-Metadata",
            Some("%7B%22X-User%22:7%7D"),
            "ce-metadata.X-User",
        ),
        ("Ce-Metadata", Some("%ZZ"), "ce-metadata"),
        ("Ce-Metadata", Some("%C0%A0"), "ce-metadata"),
        (
            "Content-Type",
            Some("application/cloudevents-batch+json"),
            "content-type",
        ),
    ] {
        let e = kserve(&with(name, value), &body, &identity).unwrap_err();
        assert_field(&e, None, field);
    }
    let mut twice = headers.clone();
    twice.push(("ce-id".into(), "other".into()));
    assert_field(
        &kserve(&twice, &body, &identity).unwrap_err(),
        None,
        "ce-id",
    );

    let s = String::from_utf8(data("kserve-structured-request.json")).unwrap();
    let e = kserve_structured(s.replace("\"1.0\"", "\"0.3\"").as_bytes(), &identity).unwrap_err();
    assert_field(&e, None, "specversion");
    let e = kserve_structured(s.replace("\"time\"", "\"at\"").as_bytes(), &identity).unwrap_err();
    assert_field(&e, None, "time");
    assert!(matches!(
        kserve_structured(b"[]", &identity).unwrap_err(),
        NormalizeError::NotAnObject { .. }
    ));
}

// ---------------------------------------------------------------------------------------------
// Model map

#[test]
fn model_map_learns_from_inference_services() {
    let mut map =
        model_map(r#"{"prefixes":[{"prefix":"s3://models/llama-7b/","model":"llama-7b"}]}"#);
    let events: Vec<Record> = ml_events().iter().map(|l| k8s_event(l).unwrap()).collect();
    let (headers, body) = http("kserve-binary-request.http");
    let query = kserve(&headers, &body, &ids(&["x-user"])).unwrap();

    // Before anything is learned, a query resolves to the InferenceService's name.
    let mut q = query.clone();
    map.resolve(&mut q);
    assert_eq!(q.model.as_deref(), Some("llama-chat"));

    // The RequestReceived stage has no object and no outcome: nothing to learn.
    let mut received = events[0].clone();
    assert_eq!(map.resolve(&mut received), None);
    assert_eq!(received.model.as_deref(), Some("llama-chat"));

    // The successful create shows storageUri s3://models/llama-7b, under the configured prefix.
    let mut created = events[1].clone();
    let binding = map.resolve(&mut created).expect("binding");
    assert_eq!(created.model.as_deref(), Some("llama-7b"));
    assert_eq!(binding.resource, "inferenceservices");
    assert_eq!(binding.namespace.as_deref(), Some("team-a"));
    assert_eq!(binding.name, "llama-chat");
    assert_eq!(binding.storage_uri, "s3://models/llama-7b");
    assert_eq!(binding.model, "llama-7b");
    map.learn(&binding);
    let mut q = query.clone();
    map.resolve(&mut q);
    assert_eq!(q.model.as_deref(), Some("llama-7b"));

    // A failed create teaches nothing.
    let mut failed = events[1].clone();
    failed.outcome = Outcome::from_status(403);
    assert_eq!(map.resolve(&mut failed), None);

    // The TrainedModel's storage becomes a prefix of its model.
    let mut tm = events[6].clone();
    let binding = map.resolve(&mut tm).expect("trained model binding");
    assert_eq!(tm.model.as_deref(), Some("model1-sklearn"));
    map.learn(&binding);
    let mut gs = query.clone();
    gs.source = Source::Storage;
    gs.name = Some("gs://kfserving-examples/models/sklearn/1.0/model/model.joblib".into());
    map.resolve(&mut gs);
    assert_eq!(gs.model.as_deref(), Some("model1-sklearn"));
    gs.name = Some("gs://kfserving-examples/models/sklearn/1.0/model-v2/model.joblib".into());
    map.resolve(&mut gs);
    assert_eq!(gs.model, None);

    // A learned prefix never beats a configured one of the same length.
    let mut map =
        model_map(r#"{"prefixes":[{"prefix":"s3://models/llama-7b","model":"configured"}]}"#);
    let mut created = events[1].clone();
    let mut binding = map.resolve(&mut created).expect("binding");
    assert_eq!(binding.model, "configured");
    binding.model = "learned".into();
    map.learn(&binding);
    assert_eq!(
        map.model_for_uri("s3://models/llama-7b/config.json"),
        Some("configured")
    );

    // Other resources are no model's business.
    let mut secret = events[3].clone();
    assert_eq!(map.resolve(&mut secret), None);
    assert_eq!(secret.model, None);
}

#[test]
fn model_map_config_is_checked() {
    let err = |json: &str| {
        let c: ModelMapConfig = serde_json::from_str(json).unwrap();
        ModelMap::new(&c).unwrap_err()
    };
    assert_eq!(
        err(r#"{"prefixes":[{"prefix":"","model":"m"}]}"#),
        ModelMapError::Empty {
            list: "prefixes",
            index: 0,
            field: "prefix"
        }
    );
    let e =
        err(r#"{"prefixes":[{"prefix":"s3://a/","model":"m"},{"prefix":"s3://a/","model":"n"}]}"#);
    assert!(matches!(e, ModelMapError::Conflict { index: 1, .. }), "{e}");
    assert!(e.to_string().contains("prefixes[1]"), "{e}");
    let e = err(r#"{"inferenceServices":[{"name":"a","model":"m"},{"name":"a","model":"n"}]}"#);
    assert!(matches!(
        e,
        ModelMapError::Conflict {
            list: "inferenceServices",
            index: 1,
            ..
        }
    ));
    assert!(
        serde_json::from_str::<ModelMapConfig>(r#"{"prefix":[]}"#).is_err(),
        "unknown key"
    );
    // The same rule twice is fine.
    model_map(
        r#"{"prefixes":[{"prefix":"s3://a/","model":"m"},{"prefix":"s3://a/","model":"m"}]}"#,
    );
}

// ---------------------------------------------------------------------------------------------
// Canonical encoding, time, idempotency

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn full_record() -> Record {
    let mut r = Record::new(Source::Inference, "5bd6d6a6", 1_772_442_904_123_456_789);
    r.stage = Some("request".into());
    r.actor = "alice@example.com".into();
    r.on_behalf_of = Some("bob".into());
    r.groups = ids(&["ml-team-a", "system:authenticated"]);
    r.verb = "query".into();
    r.resource = "inferenceservices".into();
    r.namespace = Some("team-a".into());
    r.name = Some("llama-chat".into());
    r.model = Some("llama-7b".into());
    r.outcome = Outcome::from_status(403);
    r.source_ip = Some("10.12.0.7".into());
    r.detail.insert("identity_header".into(), "X-User".into());
    r.detail.insert("content_mode".into(), "binary".into());
    r.raw = vec![0x1f, 0x8b, 0x08, 0x00, 0xff];
    r
}

#[test]
fn canonical_encoding_is_fixed() {
    // The example of the record module's documentation.
    let mut small = Record::new(Source::K8s, "a", 1);
    small.verb = "get".into();
    small.outcome = Outcome::from_status(200);
    small.raw = b"x".to_vec();
    assert_eq!(
        hex(&small.canonical()),
        "4d4c4752010000000000000001000000000161000000000000000000000000000367657400000000000000010100c80000000000000000000178"
    );
    // Every field set. These bytes are the version 1 format: they must never change.
    let full = full_record();
    assert_eq!(full.time_rfc3339(), "2026-03-02T09:15:04.123456789Z");
    assert_eq!(
        hex(&full.canonical()),
        "4d4c4752011898fb6e34f0bd150200000008356264366436613601000000077265717565737400000011\
         616c696365406578616d706c652e636f6d0100000003626f6200000002000000096d6c2d7465616d2d61\
         0000001473797374656d3a61757468656e7469636174656400000005717565727900000011696e666572\
         656e6365736572766963657301000000067465616d2d61010000000a6c6c616d612d636861740100000008\
         6c6c616d612d376202010193010000000931302e31322e302e3700000000020000000c636f6e74656e745f\
         6d6f64650000000662696e6172790000000f6964656e746974795f68656164657200000006582d557365\
         72000000051f8b0800ff"
    );
    for r in [small, full] {
        assert_eq!(Record::from_canonical(&r.canonical()).unwrap(), r);
    }
}

#[test]
fn canonical_decoding_refuses_anything_else() {
    let good = full_record().canonical();
    let mut v = good.clone();
    v[0] = b'X';
    assert_eq!(Record::from_canonical(&v), Err(RecordError::Magic));
    let mut v = good.clone();
    v[4] = 2;
    assert_eq!(Record::from_canonical(&v), Err(RecordError::Version(2)));
    for cut in [0, 3, 5, 12, 13, 20, good.len() - 1] {
        assert!(
            matches!(
                Record::from_canonical(&good[..cut]),
                Err(RecordError::Truncated(_) | RecordError::Magic)
            ),
            "cut at {cut}"
        );
    }
    let mut v = good.clone();
    v.push(0);
    assert_eq!(Record::from_canonical(&v), Err(RecordError::Trailing(1)));
    let mut v = good.clone();
    v[13] = 4; // source (0-3 are k8s, storage, inference, audit)
    assert_eq!(
        Record::from_canonical(&v),
        Err(RecordError::Tag {
            field: "source",
            tag: 4
        })
    );
    let mut v = good.clone();
    v[26] = 2; // stage option tag
    assert_eq!(
        Record::from_canonical(&v),
        Err(RecordError::Tag {
            field: "stage",
            tag: 2
        })
    );
    let mut v = good.clone();
    v[18] = 0xff; // inside event_id
    assert_eq!(
        Record::from_canonical(&v),
        Err(RecordError::Utf8("event_id"))
    );
    // Detail keys out of order have no encoding.
    let s = hex(&good);
    let swapped = s.replace(
        "0000000c636f6e74656e745f6d6f64650000000662696e6172790000000f6964656e746974795f68656164657200000006582d55736572",
        "0000000f6964656e746974795f68656164657200000006582d557365720000000c636f6e74656e745f6d6f64650000000662696e617279",
    );
    assert_ne!(s, swapped);
    let bytes: Vec<u8> = (0..swapped.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&swapped[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(
        Record::from_canonical(&bytes),
        Err(RecordError::DetailOrder("content_mode".into()))
    );
}

#[test]
fn records_serialize_as_json() {
    let r = full_record();
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains(r#""raw":"H4sIAP8=""#), "{json}");
    assert!(json.contains(r#""source":"inference""#), "{json}");
    assert!(
        json.contains(r#""outcome":{"kind":"failure","code":403}"#),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), r);
}

#[test]
fn the_same_event_twice_has_the_same_key_and_record() {
    let line = &corpus_lines()[5];
    let (a, b) = (k8s_event(line).unwrap(), k8s_event(line).unwrap());
    assert_eq!(a, b);
    assert_eq!(a.idempotency_key(), b.idempotency_key());
    assert_eq!(a.canonical(), b.canonical());
    assert_eq!(
        a.idempotency_key(),
        (
            Source::K8s,
            "d7cd2b04-940b-42cb-ad2a-b4b8f937aa0e",
            Some("ResponseComplete"),
            a.time_ns
        )
    );
    // The same audit ID and stage at another time (a client may set the Audit-ID header):
    // another key, so the later event is not taken for a duplicate.
    let reused = String::from_utf8(line.to_vec())
        .unwrap()
        .replace(&a.time_rfc3339()[..19], "2031-01-01T00:00:00");
    let later = k8s_event(reused.as_bytes()).unwrap();
    assert_eq!(later.event_id, a.event_id);
    assert_ne!(later.time_ns, a.time_ns);
    assert_ne!(later.idempotency_key(), a.idempotency_key());
    // Delivered again in a webhook batch: the same key.
    let mut list = br#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":["#.to_vec();
    list.extend_from_slice(line);
    list.extend_from_slice(b"]}");
    assert_eq!(
        k8s_event_list(&list).unwrap()[0].idempotency_key(),
        a.idempotency_key()
    );
    // MinIO and KServe likewise.
    let m = data("minio-getobject.json");
    assert_eq!(minio(&m).unwrap(), minio(&m).unwrap());
    assert_eq!(
        minio(&m).unwrap().idempotency_key(),
        (
            Source::Storage,
            "17F8A2C3D4E5B6A7",
            None,
            minio(&m).unwrap().time_ns
        )
    );
    let (h, body) = http("kserve-binary-request.http");
    assert_eq!(
        kserve(&h, &body, &[]).unwrap().idempotency_key(),
        kserve(&h, &body, &[]).unwrap().idempotency_key()
    );
}

#[test]
fn rfc3339_times() {
    assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(
        parse_rfc3339("2017-09-11T19:55:05Z"),
        Some(1_505_159_705_000_000_000)
    );
    assert_eq!(
        parse_rfc3339("2017-09-11T21:55:05.5+02:00"),
        Some(1_505_159_705_500_000_000)
    );
    assert_eq!(
        parse_rfc3339("2017-09-11t14:25:05.5-05:30"),
        Some(1_505_159_705_500_000_000)
    );
    assert_eq!(parse_rfc3339("1969-12-31T23:59:59.999999999999z"), Some(-1));
    assert_eq!(
        parse_rfc3339("2016-12-31T23:59:60Z"),
        parse_rfc3339("2017-01-01T00:00:00Z")
    );
    assert!(parse_rfc3339("2024-02-29 00:00:00Z").is_some());
    for bad in [
        "2024-02-30T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T00:00:00",
        "2024-01-01T00:00:00.Z",
        "2024-01-01T00:00:00+2:00",
        "2024-01-01T00:00:00+24:00",
        "2024-01-01T00:00:00Z ",
        "2300-01-01T00:00:00Z",
        "2024-01-01T00:00:00\u{e9}",
        "+024-01-01T00:00:00Z",
    ] {
        assert_eq!(parse_rfc3339(bad), None, "{bad}");
    }
    for t in [
        "2026-03-02T09:15:04.123456Z",
        "1677-09-21T00:12:43.145224192Z",
        "2262-04-11T23:47:16.854775807Z",
        "2000-02-29T23:59:59Z",
    ] {
        assert_eq!(format_rfc3339(parse_rfc3339(t).unwrap()), t);
    }
    assert_eq!(
        parse_rfc3339("1677-09-21T00:12:43.145224192Z"),
        Some(i64::MIN)
    );
    assert_eq!(parse_rfc3339("2262-04-11T23:47:16.854775808Z"), None);
}

#[test]
fn secret_names() {
    for h in [
        "Authorization",
        "proxy-authorization",
        "Cookie",
        "Set-Cookie",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
        "x-api-key",
        "WebIdentityToken",
        "x-forwarded-access-token",
    ] {
        assert!(is_secret_header(h), "{h}");
    }
    for h in [
        "X-Amz-Credential",
        "User-Agent",
        "X-User",
        "x-request-id",
        "X-Amz-Date",
    ] {
        assert!(!is_secret_header(h), "{h}");
    }
    for k in [
        "token",
        "access_token",
        "clientSecret",
        "Password",
        "id-token",
        "secretAccessKey",
    ] {
        assert!(is_secret_json_key(k), "{k}");
    }
    for k in [
        "secretName",
        "max_tokens",
        "tokenRequests",
        "kind",
        "automountServiceAccountToken",
    ] {
        assert!(!is_secret_json_key(k), "{k}");
    }
}

// ---------------------------------------------------------------------------------------------
// The fuzz target's body over every sample

#[test]
fn fuzz_body_accepts_every_sample() {
    let mut inputs: Vec<Vec<u8>> = corpus_lines();
    inputs.extend(ml_events());
    for name in [
        "k8s-eventlist.json",
        "minio-getobject.json",
        "minio-putobject.json",
        "minio-presigned-denied.json",
        "kserve-binary-request.http",
        "kserve-binary-response.http",
        "kserve-structured-request.json",
    ] {
        inputs.push(data(name));
    }
    inputs.push(full_record().canonical());
    inputs.push(b"2026-03-02T09:15:04.5+01:00".to_vec());
    inputs.push(Vec::new());
    for input in &inputs {
        check_audit_record_input(input);
    }
    // The samples are accepted by the reader they are for (so the body's checks ran on them).
    assert!(k8s_event_list(&data("k8s-eventlist.json")).is_ok());
    let response = data("kserve-binary-response.http");
    let (h, b) = audit_record_split_http(&response);
    assert!(kserve(&h, b, &[]).is_ok());
}

/// The fast path of an Event (a typed view borrowing from the bytes) gives the general path's
/// record for every event of the corpus and the ML samples, alone and as a list item, and it
/// takes most of them; the variants it must leave to the general path (something to redact, a
/// member twice, a request on secrets, a bad time) it leaves, and those read as the general
/// path reads them.
#[test]
fn the_fast_path_of_an_event_gives_the_general_paths_record() {
    use mlguard_audit::trail::normalize::k8s_paths::{fast, general};
    let mut events = corpus_lines();
    events.extend(ml_events());
    let mut taken = 0;
    for e in &events {
        for item in [None, Some(1)] {
            if let Some(r) = fast(e, item) {
                taken += 1;
                assert_eq!(general(e, item), Ok(r), "{}", String::from_utf8_lossy(e));
            }
        }
        let text = String::from_utf8(e.clone()).unwrap();
        let inserted = |member: &str| text.replacen('{', &format!("{{{member},"), 1);
        let mut variants = vec![
            inserted(r#""token":"s3cr3t""#),
            inserted(r#""nested":[{"a":{"Client_Secret":"x"}}]"#),
            inserted(r#""object":{"kind":"Secret"}"#),
            inserted(r#""auditID":"twice""#),
            inserted(r#""objectRef":{"resource":"secrets","name":"x"}"#),
        ];
        for key in [r#""stageTimestamp":""#, r#""timestamp":""#] {
            if let Some(t) = text.find(key) {
                let at = t + key.len();
                variants.push(format!("{}x{}", &text[..at], &text[at + 1..]));
            }
        }
        for v in &variants {
            assert_eq!(fast(v.as_bytes(), None), None, "{v}");
            assert_eq!(k8s_event(v.as_bytes()), general(v.as_bytes(), None), "{v}");
        }
    }
    assert!(
        taken * 4 >= events.len() * 2 * 3,
        "the fast path took {taken} of {} events",
        events.len() * 2
    );
}
