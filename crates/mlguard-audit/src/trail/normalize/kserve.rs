//! KServe inference logger CloudEvents (spec version 1.0): HTTP binary mode (attributes in
//! `ce-*` headers, the payload as the body) and structured mode (one JSON object,
//! `application/cloudevents+json`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{
    is_secret_header, parse_object, redact_header_map, Fields, NormalizeError, Redactions,
};
use crate::trail::record::{Outcome, Record, Source};

const REQUEST: &str = "org.kubeflow.serving.inference.request";
const RESPONSE: &str = "org.kubeflow.serving.inference.response";

/// Normalizes a CloudEvent received over HTTP: `headers` as received (names in any case),
/// `body` the payload. A `Content-Type` of `application/cloudevents+json` is structured mode
/// and goes to [`kserve_structured`]. `identity_headers` names the request headers, in order of
/// preference, that carry the caller's identity (`x-user`, `x-forwarded-email`...); they are
/// looked up in the event's `metadata` extension.
pub fn kserve(
    headers: &[(String, String)],
    body: &[u8],
    identity_headers: &[String],
) -> Result<Record, NormalizeError> {
    let f = Fields { item: None };
    let content_type = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.trim().to_ascii_lowercase());
    if let Some(ct) = &content_type {
        if ct.starts_with("application/cloudevents+json") {
            return kserve_structured(body, identity_headers);
        }
        if ct.starts_with("application/cloudevents-batch") {
            return Err(f.invalid(
                "content-type",
                "batched CloudEvents are not supported; configure binary or structured mode",
            ));
        }
    }
    let mut attrs = BTreeMap::new();
    let mut metadata_header = None;
    for (i, (name, value)) in headers.iter().enumerate() {
        let lower = name.to_ascii_lowercase();
        let Some(attr) = lower.strip_prefix("ce-") else {
            continue;
        };
        let decoded = decode_header_value(value).map_err(|m| f.invalid(&lower, m))?;
        if attrs.insert(attr.to_owned(), decoded).is_some() {
            return Err(f.invalid(&lower, "appears more than once"));
        }
        if attr == "metadata" {
            metadata_header = Some(i);
        }
    }
    let metadata = match attrs.get("metadata") {
        Some(text) => parse_metadata(&f, "ce-metadata", text)?,
        None => Map::new(),
    };
    let mut r = build(&f, &attrs, &metadata, identity_headers, "ce-")?;
    r.detail.insert("content_mode".into(), "binary".into());

    // The raw event: the headers as `name: value` lines (secret ones left out, the metadata
    // extension without its secret headers), a blank line, the body.
    let mut red = Redactions::default();
    let mut raw = Vec::with_capacity(body.len() + 64 * headers.len());
    for (i, (name, value)) in headers.iter().enumerate() {
        if is_secret_header(name) {
            red.add("", name);
            continue;
        }
        let mut value = value.clone();
        if metadata_header == Some(i) {
            let mut md = metadata.clone();
            redact_header_map(&mut md, "ce-metadata", &mut red);
            if md.len() != metadata.len() {
                value = encode_header_value(&Value::Object(md).to_string());
            }
        }
        raw.extend_from_slice(name.as_bytes());
        raw.extend_from_slice(b": ");
        raw.extend_from_slice(value.as_bytes());
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"\r\n");
    raw.extend_from_slice(body);
    r.raw = crate::trail::gzip::compress(&raw);
    red.note(&mut r.detail);
    Ok(r)
}

/// Normalizes a CloudEvent in structured mode: the JSON object with the attributes as members
/// (the `metadata` extension a JSON-encoded string, as KServe writes it, or an object) and the
/// payload as `data` or `data_base64`. `identity_headers` as for [`kserve`].
pub fn kserve_structured(
    body: &[u8],
    identity_headers: &[String],
) -> Result<Record, NormalizeError> {
    let f = Fields { item: None };
    let body = body.trim_ascii();
    let mut m = parse_object(body, None)?;
    let mut attrs = BTreeMap::new();
    for (k, v) in &m {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => continue,
        };
        attrs.insert(k.clone(), text);
    }
    let metadata = match m.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::String(s)) => parse_metadata(&f, "metadata", s)?,
        Some(Value::Object(o)) => o.clone(),
        Some(v) => return Err(f.wrong("metadata", "a JSON string or an object", v)),
    };
    let mut r = build(&f, &attrs, &metadata, identity_headers, "")?;
    r.detail.insert("content_mode".into(), "structured".into());

    let mut red = Redactions::default();
    m.retain(|k, _| {
        let secret = k != "data" && k != "data_base64" && is_secret_header(k);
        if secret {
            red.add("", k);
        }
        !secret
    });
    let mut md = metadata.clone();
    redact_header_map(&mut md, "metadata", &mut red);
    if md.len() != metadata.len() {
        let v = match m.get("metadata") {
            Some(Value::String(_)) => Value::String(Value::Object(md).to_string()),
            _ => Value::Object(md),
        };
        m.insert("metadata".into(), v);
    }
    r.raw = if red.is_empty() {
        crate::trail::gzip::compress(body)
    } else {
        crate::trail::gzip::compress(&serde_json::to_vec(&m).expect("a JSON value serializes"))
    };
    red.note(&mut r.detail);
    Ok(r)
}

/// The record of a CloudEvent's attributes; `prefix` is `ce-` in binary mode, so errors name the
/// header.
fn build(
    f: &Fields,
    attrs: &BTreeMap<String, String>,
    metadata: &Map<String, Value>,
    identity_headers: &[String],
    prefix: &str,
) -> Result<Record, NormalizeError> {
    let field = |a: &str| format!("{prefix}{a}");
    let get = |a: &str| attrs.get(a).map(String::as_str).filter(|s| !s.is_empty());
    let need = |a: &str| get(a).ok_or_else(|| f.missing(&field(a)));
    match need("specversion")? {
        "1.0" => {}
        v => {
            return Err(f.invalid(
                &field("specversion"),
                format!("CloudEvents spec version {v:?} is not supported (expected \"1.0\")"),
            ))
        }
    }
    let stage = match need("type")? {
        REQUEST => "request",
        RESPONSE => "response",
        t => {
            return Err(f.invalid(
                &field("type"),
                format!("expected {REQUEST:?} or {RESPONSE:?}, found {t:?}"),
            ))
        }
    };
    let id = need("id")?;
    let source = need("source")?;
    let time_ns = f.parse_time(need("time")?, &field("time"))?;
    let service = need("inferenceservicename")?;

    let mut r = Record::new(Source::Inference, id, time_ns);
    r.stage = Some(stage.to_owned());
    r.verb = "query".to_owned();
    r.resource = "inferenceservices".to_owned();
    r.name = Some(service.to_owned());
    r.namespace = get("namespace").map(str::to_owned);
    r.outcome = if stage == "response" {
        Outcome::from_status(200)
    } else {
        Outcome::UNKNOWN
    };
    for h in identity_headers.iter().filter(|h| !is_secret_header(h)) {
        if let Some((name, value)) = meta(metadata, h) {
            r.actor = value.to_owned();
            r.detail.insert("identity_header".into(), name.to_owned());
            break;
        }
    }
    r.source_ip = meta(metadata, "x-forwarded-for")
        .and_then(|(_, v)| v.split(',').map(str::trim).find(|s| !s.is_empty()))
        .or_else(|| meta(metadata, "x-real-ip").map(|(_, v)| v.trim()))
        .map(str::to_owned);
    r.user_agent = meta(metadata, "user-agent").map(|(_, v)| v.to_owned());
    let d = &mut r.detail;
    d.insert("ce_type".into(), attrs["type"].clone());
    d.insert("ce_source".into(), source.to_owned());
    for (a, k) in [("component", "component"), ("endpoint", "endpoint")] {
        if let Some(v) = get(a) {
            d.insert(k.to_owned(), v.to_owned());
        }
    }
    Ok(r)
}

/// The `metadata` extension: the JSON object of request header names to their values (Go's
/// `map[string][]string`); a single string value is taken as one value.
fn parse_metadata(
    f: &Fields,
    field: &str,
    text: &str,
) -> Result<Map<String, Value>, NormalizeError> {
    let m = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => m,
        Ok(Value::Null) => Map::new(),
        Ok(v) => return Err(f.wrong(field, "a JSON object of headers", &v)),
        Err(e) => return Err(f.invalid(field, format!("not JSON: {e}"))),
    };
    for (k, v) in &m {
        let ok = match v {
            Value::String(_) | Value::Null => true,
            Value::Array(a) => a.iter().all(Value::is_string),
            _ => false,
        };
        if !ok {
            return Err(f.wrong(&format!("{field}.{k}"), "an array of strings", v));
        }
    }
    Ok(m)
}

/// The first non-empty value of a metadata header, by name ignoring case, with the name as the
/// event spells it.
fn meta<'a>(m: &'a Map<String, Value>, name: &str) -> Option<(&'a str, &'a str)> {
    m.iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .find_map(|(k, v)| {
            let value = match v {
                Value::String(s) => Some(s.as_str()),
                Value::Array(a) => a.iter().filter_map(Value::as_str).find(|s| !s.is_empty()),
                _ => None,
            };
            value.filter(|s| !s.is_empty()).map(|s| (k.as_str(), s))
        })
}

/// Decodes a CloudEvents HTTP header value: a double-quoted string is unquoted first
/// (backslash escapes), then one round of percent-decoding, which must give UTF-8.
fn decode_header_value(v: &str) -> Result<String, String> {
    let v = v.trim_matches([' ', '\t']);
    let unquoted;
    let v = if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        let mut out = String::with_capacity(v.len());
        let mut chars = v[1..v.len() - 1].chars();
        while let Some(c) = chars.next() {
            out.push(if c == '\\' {
                chars.next().ok_or("a quoted value ends in a backslash")?
            } else {
                c
            });
        }
        unquoted = out;
        unquoted.as_str()
    } else {
        v
    };
    let out = mlguard_core::text::percent_decode(v)
        .map_err(|i| format!("invalid percent-encoding at byte {i}"))?;
    String::from_utf8(out).map_err(|_| "percent-decoding gives bytes that are not UTF-8".into())
}

/// Encodes a header value as the CloudEvents HTTP binding asks: space, `"`, `%` and every byte
/// outside printable ASCII percent-encoded.
fn encode_header_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b == b' ' || b == b'"' || b == b'%' || !(0x21..=0x7e).contains(&b) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    out
}
