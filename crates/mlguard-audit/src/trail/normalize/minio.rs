//! MinIO audit log entries (the audit webhook's JSON, `version` `"1"`), one per S3 API call.

use serde_json::{Map, Value};

use super::{
    parse_object, raw_json, redact_header_map, redact_json, Fields, NormalizeError, Redactions,
};
use crate::trail::record::{Outcome, Record, Source};

/// Normalizes one MinIO audit entry (surrounding whitespace is ignored).
pub fn minio(bytes: &[u8]) -> Result<Record, NormalizeError> {
    entry(bytes, None)
}

/// Normalizes the body of one MinIO audit webhook POST: one entry, or several separated by
/// whitespace (MinIO's batches with `batch_size` above 1 are JSON lines), entry by entry. The
/// outer error is about the body (malformed JSON between entries, or no entry at all); each
/// entry has its own result, in order, whose error names the entry (`item`).
pub fn minio_entries(bytes: &[u8]) -> Result<Vec<Result<Record, NormalizeError>>, NormalizeError> {
    let mut out = Vec::new();
    // As `minio` does, so that one entry reads the same either way.
    let bytes = bytes.trim_ascii();
    let stream =
        serde_json::Deserializer::from_slice(bytes).into_iter::<&serde_json::value::RawValue>();
    for (i, v) in stream.enumerate() {
        match v {
            Ok(raw) => out.push(entry(raw.get().as_bytes(), Some(i))),
            Err(e) => {
                return Err(NormalizeError::Json {
                    item: None,
                    line: e.line(),
                    column: e.column(),
                    message: format!("entry {i}: {e}"),
                })
            }
        }
    }
    if out.is_empty() {
        return Err(NormalizeError::Invalid {
            item: None,
            field: "body".into(),
            message: "holds no MinIO audit entry".into(),
        });
    }
    Ok(out)
}

fn entry(bytes: &[u8], item: Option<usize>) -> Result<Record, NormalizeError> {
    let bytes = bytes.trim_ascii();
    let mut m = parse_object(bytes, item)?;
    let f = Fields { item };
    match f.str(&m, "version", "version")? {
        Some("1") => {}
        Some(v) => {
            return Err(f.invalid(
                "version",
                format!("MinIO audit version {v:?} is not supported (this build reads \"1\")"),
            ))
        }
        None => return Err(f.missing("version")),
    }
    let time_ns = f
        .time(&m, "time", "time")?
        .ok_or_else(|| f.missing("time"))?;
    let request_id = f.req_str(&m, "requestID", "requestID")?;
    let api = f.obj(&m, "api", "api")?.ok_or_else(|| f.missing("api"))?;
    let api_name = f.req_str(api, "name", "api.name")?;
    let bucket = f
        .str(api, "bucket", "api.bucket")?
        .filter(|s| !s.is_empty());
    let object = f
        .str(api, "object", "api.object")?
        .filter(|s| !s.is_empty());
    let status = f.str(api, "status", "api.status")?;
    let code = f.code(api, "statusCode", "api.statusCode")?;
    let rx = count(&f, api, "rx", "api.rx")?;
    let tx = count(&f, api, "tx", "api.tx")?;
    let remote = f
        .str(&m, "remotehost", "remotehost")?
        .filter(|s| !s.is_empty());
    let user_agent = f
        .str(&m, "userAgent", "userAgent")?
        .filter(|s| !s.is_empty());
    let claims = f.obj(&m, "requestClaims", "requestClaims")?;
    let headers = f.obj(&m, "requestHeader", "requestHeader")?;
    let query = f.obj(&m, "requestQuery", "requestQuery")?;
    f.obj(&m, "responseHeader", "responseHeader")?;

    let access_key = f
        .str(&m, "accessKey", "accessKey")?
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .or_else(|| claim_str(claims, "accessKey"))
        .or_else(|| header(headers, "authorization").and_then(sigv4_access_key))
        .or_else(|| {
            header(query, "x-amz-credential")
                .and_then(|c| c.split('/').next())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let groups = match claims.and_then(|c| c.get("groups")) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };

    let mut r = Record::new(Source::Storage, request_id, time_ns);
    r.actor = access_key;
    r.groups = groups;
    r.verb = verb(api_name).to_owned();
    (r.resource, r.name) = match (bucket, object) {
        (Some(b), Some(o)) => ("objects".to_owned(), Some(format!("s3://{b}/{o}"))),
        (Some(b), None) => ("buckets".to_owned(), Some(format!("s3://{b}"))),
        (None, _) => ("buckets".to_owned(), None),
    };
    r.outcome = code.map_or(Outcome::UNKNOWN, Outcome::from_status);
    r.source_ip = remote.map(strip_port);
    r.user_agent = user_agent.map(str::to_owned);
    let d = &mut r.detail;
    d.insert("api".into(), api_name.to_owned());
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            d.insert(k.to_owned(), v.to_owned());
        }
    };
    put("bucket", bucket);
    put("object", object);
    put("status", status);
    put("deployment_id", f.str(&m, "deploymentid", "deploymentid")?);
    put(
        "trigger",
        f.str(&m, "event", "event")?
            .filter(|s| !s.is_empty())
            .or(f.str(&m, "trigger", "trigger")?),
    );
    put("parent_user", f.str(&m, "parentUser", "parentUser")?);
    put("error", f.str(&m, "error", "error")?);
    put("rx", rx.map(|n| n.to_string()).as_deref());
    put("tx", tx.map(|n| n.to_string()).as_deref());

    let mut red = Redactions::default();
    for key in ["requestHeader", "responseHeader", "requestQuery"] {
        if let Some(Value::Object(h)) = m.get_mut(key) {
            redact_header_map(h, key, &mut red);
        }
    }
    let mut v = Value::Object(m);
    redact_json(&mut v, "", &mut red);
    let Value::Object(m) = v else {
        unreachable!("redaction keeps an object an object")
    };
    r.raw = raw_json(bytes, &m, &red);
    red.note(&mut r.detail);
    Ok(r)
}

/// The record verb of a MinIO API name.
fn verb(api: &str) -> &'static str {
    const PUT: &[&str] = &[
        "NewMultipartUpload",
        "CreateMultipartUpload",
        "CompleteMultipartUpload",
    ];
    let starts = |ps: &[&str]| ps.iter().any(|p| api.starts_with(p));
    if starts(&["Get", "Head", "Select"]) {
        "get"
    } else if starts(&["Put", "Copy", "Post", "Make"]) || PUT.contains(&api) {
        "put"
    } else if starts(&["Delete", "Remove"]) || api == "AbortMultipartUpload" {
        "delete"
    } else if api.starts_with("List") {
        "list"
    } else {
        "other"
    }
}

/// A non-negative integer member (a byte count).
fn count(
    f: &Fields,
    m: &Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<Option<u64>, NormalizeError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| f.invalid(field, format!("{n} is not a byte count"))),
        Some(v) => Err(f.wrong(field, "a number", v)),
    }
}

fn claim_str(claims: Option<&Map<String, Value>>, key: &str) -> Option<String> {
    claims?
        .get(key)?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A header (or query parameter) by name, ignoring case.
fn header<'a>(m: Option<&'a Map<String, Value>>, name: &str) -> Option<&'a str> {
    m?.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))?
        .1
        .as_str()
}

/// The access key of an S3 `Authorization` header: `AWS4-HMAC-SHA256 Credential=KEY/date/...`
/// (signature version 4) or `AWS KEY:signature` (version 2). The key identifies, the signature
/// is what is secret.
fn sigv4_access_key(auth: &str) -> Option<String> {
    let key = if let Some(i) = auth.find("Credential=") {
        auth[i + "Credential=".len()..]
            .split(['/', ',', ' '])
            .next()
    } else {
        auth.strip_prefix("AWS ").and_then(|r| r.split(':').next())
    };
    key.map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
}

/// `10.0.0.1:52114` or `[::1]:52114` to the address alone; anything else as it is.
fn strip_port(s: &str) -> String {
    s.parse::<std::net::SocketAddr>()
        .map_or_else(|_| s.to_owned(), |a| a.ip().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const E: &str = r#"{"version":"1","time":"2026-03-02T09:00:00Z","requestID":"R1","api":{"name":"GetObject","bucket":"b","object":"k","statusCode":200}}"#;

    #[test]
    fn minio_entries_one_or_several() {
        let one = minio_entries(format!(" {E}\n").as_bytes()).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].as_ref().unwrap(), &minio(E.as_bytes()).unwrap());
        let bad = E.replace("R1", "");
        let body = format!("{E}\n{bad}\n{}\n", E.replace("R1", "R2"));
        let items = minio_entries(body.as_bytes()).unwrap();
        assert_eq!(items.len(), 3);
        assert!(items[0].is_ok() && items[2].is_ok());
        let err = items[1].as_ref().unwrap_err();
        assert_eq!(err.item(), Some(1));
        assert!(
            err.to_string().starts_with("item 1: field `requestID`"),
            "{err}"
        );
        let err = minio_entries(format!("{E}\n{{\"version\":").as_bytes()).unwrap_err();
        assert_eq!(err.item(), None);
        assert!(err.to_string().contains("entry 1"), "{err}");
        assert!(minio_entries(b"  \n").is_err());
        assert!(minio_entries(b"[1]").unwrap()[0].is_err());
    }
}
