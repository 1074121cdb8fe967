// The body of the `audit_record` fuzz target, shared word for word with the normalization tests
// (crates/mlguard-audit/tests/trail_normalize.rs) through `include!`. Arbitrary bytes are read
// as every event the audit trail normalizes: a Kubernetes Event line, an `EventList` (item by
// item and strictly), a MinIO audit entry (alone, and as a webhook body of one or more entries),
// a KServe CloudEvent in structured mode and in HTTP binary mode (the input split at its first
// blank line into `name: value` header lines and a body, see `audit_record_split_http`); also as
// a canonical record and as an RFC 3339 time.
// Nothing may panic, and:
// - normalizing is deterministic: the same bytes give an equal record;
// - where the fast path of a Kubernetes Event takes the event, its record is the general path's;
// - every accepted record's canonical encoding decodes back to an equal record, and bytes that
//   decode as a canonical record re-encode to exactly themselves;
// - any bytes gzip-compress (the raw-event encoder) and read back through flate2, the same each
//   time;
// - every accepted record's raw event decompresses; in binary mode its header lines hold no
//   header a redaction rule removes;
// - the strict `k8s_event_list` accepts exactly the lists whose items all normalize;
// - the model map resolves every record, and learning what it returns does not break it;
// - a time that parses formats back to text that parses to the same instant.

/// Inputs above this size are skipped so one iteration stays fast.
pub const AUDIT_RECORD_FUZZ_MAX_INPUT: usize = 1 << 20;

/// The identity headers the binary and structured KServe readers are given.
pub const AUDIT_RECORD_FUZZ_IDENTITY: &[&str] = &["x-user", "authorization", "x-forwarded-email"];

/// Splits an HTTP message without its request line into headers and body: `name: value` lines
/// (LF or CRLF; lines without a colon or not UTF-8 are skipped) up to the first empty line, the
/// rest is the body. Without an empty line everything is headers.
pub fn audit_record_split_http(data: &[u8]) -> (Vec<(String, String)>, &[u8]) {
    let mut headers = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return (headers, rest);
        }
        let Ok(text) = std::str::from_utf8(line) else {
            continue;
        };
        if let Some((name, value)) = text.split_once(':') {
            headers.push((name.to_owned(), value.trim_start().to_owned()));
        }
    }
    (headers, rest)
}

fn audit_record_fuzz_model_map() -> mlguard_audit::trail::normalize::ModelMap {
    use mlguard_audit::trail::normalize::{ModelMap, ModelMapConfig};
    let config: ModelMapConfig = serde_json::from_str(
        r#"{"prefixes":[{"prefix":"s3://models/llama-7b/","model":"llama-7b"},
                        {"prefix":"s3://models","model":"any-model"}],
            "inferenceServices":[{"namespace":"team-a","name":"chat","model":"llama-7b"},
                                 {"name":"iris","model":"iris"}]}"#,
    )
    .expect("fuzz model map config");
    ModelMap::new(&config).expect("fuzz model map")
}

/// Checks one accepted record: canonical round trip, raw event, model resolution.
fn audit_record_check_record(
    record: &mlguard_audit::trail::record::Record,
    map: &mut mlguard_audit::trail::normalize::ModelMap,
) {
    use mlguard_audit::trail::record::Record;

    let bytes = record.canonical();
    assert_eq!(
        bytes,
        record.canonical(),
        "canonical encoding is not deterministic"
    );
    let back = Record::from_canonical(&bytes)
        .unwrap_or_else(|e| panic!("canonical bytes do not decode: {e}\n{record:?}"));
    assert_eq!(&back, record, "canonical round trip");
    let raw = record
        .raw_event()
        .unwrap_or_else(|e| panic!("raw event does not decompress: {e}"));
    assert!(!raw.is_empty(), "an accepted event has an empty raw event");
    let mut resolved = record.clone();
    if let Some(binding) = map.resolve(&mut resolved) {
        assert_eq!(resolved.model.as_deref(), Some(binding.model.as_str()));
        map.learn(&binding);
        let mut again = record.clone();
        let _ = map.resolve(&mut again);
    }
    assert_eq!(
        resolved.idempotency_key(),
        (
            record.source,
            record.event_id.as_str(),
            record.stage.as_deref(),
            record.time_ns
        ),
        "resolving changed the idempotency key"
    );
}

/// Reads one fuzz input as every source and checks the properties above.
pub fn check_audit_record_input(data: &[u8]) {
    use mlguard_audit::trail::normalize::{
        is_secret_header, k8s_event, k8s_event_list, k8s_event_list_items, kserve,
        kserve_structured, minio, minio_entries,
    };
    use mlguard_audit::trail::record::{format_rfc3339, parse_rfc3339, Record};

    if data.len() > AUDIT_RECORD_FUZZ_MAX_INPUT {
        return;
    }
    // The raw-event gzip encoder: any bytes come back through a standard gzip reader, and the
    // same bytes always compress the same.
    {
        use std::io::Read;
        let z = mlguard_audit::trail::gzip::compress(data);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&z[..])
            .read_to_end(&mut back)
            .expect("our gzip reads back");
        assert_eq!(back, data, "gzip round trip");
        assert_eq!(mlguard_audit::trail::gzip::compress(data), z, "gzip is deterministic");
    }
    let mut map = audit_record_fuzz_model_map();
    let identity: Vec<String> = AUDIT_RECORD_FUZZ_IDENTITY
        .iter()
        .map(|s| s.to_string())
        .collect();

    // Canonical bytes: accepted exactly when they are some record's unique encoding.
    if let Ok(r) = Record::from_canonical(data) {
        assert_eq!(r.canonical(), data, "decoded bytes re-encode differently");
    }
    // Times.
    if let Ok(s) = std::str::from_utf8(data) {
        for t in [s, s.trim()] {
            if let Some(ns) = parse_rfc3339(t) {
                let text = format_rfc3339(ns);
                assert_eq!(parse_rfc3339(&text), Some(ns), "{t:?} formats as {text:?}");
            }
        }
    }

    let first = k8s_event(data);
    assert_eq!(first, k8s_event(data), "k8s_event is not deterministic");
    {
        use mlguard_audit::trail::normalize::k8s_paths;
        let event = data.trim_ascii();
        for item in [None, Some(0)] {
            if let Some(fast) = k8s_paths::fast(event, item) {
                assert_eq!(
                    k8s_paths::general(event, item),
                    Ok(fast),
                    "the fast path of an Event gives another record"
                );
            }
        }
    }
    if let Ok(r) = &first {
        audit_record_check_record(r, &mut map);
    }

    match k8s_event_list_items(data) {
        Ok(items) => {
            let all_ok = items.iter().all(Result::is_ok);
            let strict = k8s_event_list(data);
            assert_eq!(
                strict.is_ok(),
                all_ok,
                "strict and item-wise lists disagree"
            );
            if let Ok(records) = strict {
                assert_eq!(records.len(), items.len());
            }
            for (i, item) in items.iter().enumerate() {
                match item {
                    Ok(r) => audit_record_check_record(r, &mut map),
                    Err(e) => assert_eq!(e.item(), Some(i), "item error names item {i}: {e}"),
                }
            }
        }
        Err(e) => {
            assert_eq!(e.item(), None, "a list-level error names an item: {e}");
            assert!(k8s_event_list(data).is_err());
        }
    }

    let single = minio(data);
    if let Ok(r) = &single {
        audit_record_check_record(r, &mut map);
    }
    // A webhook POST of one entry or several (JSON lines): one entry reads as `minio` does,
    // item errors name their entry.
    match minio_entries(data) {
        Ok(items) => {
            if let [only] = items.as_slice() {
                if let (Ok(a), Ok(b)) = (only, &single) {
                    assert_eq!(a, b, "one entry reads differently alone");
                }
            }
            for (i, item) in items.iter().enumerate() {
                match item {
                    Ok(r) => audit_record_check_record(r, &mut map),
                    Err(e) => assert_eq!(e.item(), Some(i), "entry error names entry {i}: {e}"),
                }
            }
        }
        Err(e) => {
            assert_eq!(e.item(), None, "a body-level error names an entry: {e}");
            assert!(single.is_err(), "minio accepts what minio_entries refuses");
        }
    }
    if let Ok(r) = kserve_structured(data, &identity) {
        audit_record_check_record(&r, &mut map);
    }

    let (headers, body) = audit_record_split_http(data);
    if let Ok(r) = kserve(&headers, body, &identity) {
        audit_record_check_record(&r, &mut map);
        let raw = r.raw_event().expect("checked above");
        let structured = r.detail.get("content_mode").map(String::as_str) == Some("structured");
        if !structured {
            let (kept, _) = audit_record_split_http(&raw);
            for (name, _) in &kept {
                assert!(
                    !is_secret_header(name),
                    "header {name:?} kept in the raw event"
                );
            }
        }
    }
}
