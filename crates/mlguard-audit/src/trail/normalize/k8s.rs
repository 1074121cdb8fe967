//! Kubernetes audit events (`audit.k8s.io/v1`): one Event per line of the log backend, an
//! `EventList` per POST of the webhook backend.

use std::collections::BTreeMap;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{
    parse_object, raw_json, redact_json, redact_secret_object, Fields, NormalizeError, Redactions,
    ISVC_GROUPS,
};
use crate::trail::record::{Outcome, OutcomeKind, Record, Source};

pub(super) const API_VERSION: &str = "audit.k8s.io/v1";

/// Normalizes one Event (a line of the log backend; surrounding whitespace is ignored). Its
/// `kind` must be `Event` and its `apiVersion` `audit.k8s.io/v1`.
pub fn k8s_event(bytes: &[u8]) -> Result<Record, NormalizeError> {
    event(bytes.trim_ascii(), None)
}

/// Normalizes an `EventList` (a webhook POST), failing on the first item that cannot be read.
pub fn k8s_event_list(bytes: &[u8]) -> Result<Vec<Record>, NormalizeError> {
    k8s_event_list_items(bytes)?.into_iter().collect()
}

/// Normalizes an `EventList` item by item: the outer error is about the list itself (JSON,
/// `apiVersion`, `kind`, `items`), each item has its own result, in order, so one bad event does
/// not cost the batch. Items need not repeat `kind` and `apiVersion` (the API server leaves them
/// out), but when they do, they must be `Event` and `audit.k8s.io/v1`.
pub fn k8s_event_list_items(
    bytes: &[u8],
) -> Result<Vec<Result<Record, NormalizeError>>, NormalizeError> {
    let f = Fields { item: None };
    let top: BTreeMap<String, &RawValue> = match serde_json::from_slice(bytes) {
        Ok(t) => t,
        Err(e) if e.is_data() => {
            // Valid JSON, but not an object: say what it is.
            return Err(match serde_json::from_slice::<Value>(bytes) {
                Ok(v) => NormalizeError::NotAnObject {
                    item: None,
                    found: super::json_type(&v),
                },
                Err(e) => json_error(e),
            });
        }
        Err(e) => return Err(json_error(e)),
    };
    let string = |key: &str| -> Result<Option<String>, NormalizeError> {
        match top.get(key) {
            None => Ok(None),
            Some(raw) => match serde_json::from_str::<Value>(raw.get()) {
                Ok(Value::Null) => Ok(None),
                Ok(Value::String(s)) => Ok(Some(s)),
                Ok(v) => Err(f.wrong(key, "a string", &v)),
                Err(e) => Err(json_error(e)),
            },
        }
    };
    expect(
        &f,
        "apiVersion",
        string("apiVersion")?.as_deref(),
        API_VERSION,
    )?;
    expect(&f, "kind", string("kind")?.as_deref(), "EventList")?;
    let items: Vec<&RawValue> = match top.get("items") {
        None => return Err(f.missing("items")),
        Some(raw) if raw.get() == "null" => Vec::new(),
        Some(raw) => serde_json::from_str(raw.get()).map_err(|_| {
            let v: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
            f.wrong("items", "an array", &v)
        })?,
    };
    Ok(items
        .iter()
        .enumerate()
        .map(|(i, raw)| event(raw.get().as_bytes(), Some(i)))
        .collect())
}

fn json_error(e: serde_json::Error) -> NormalizeError {
    NormalizeError::Json {
        item: None,
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    }
}

fn expect(
    f: &Fields,
    field: &str,
    found: Option<&str>,
    expected: &str,
) -> Result<(), NormalizeError> {
    match found {
        Some(v) if v == expected => Ok(()),
        Some(v) => Err(f.invalid(field, format!("expected {expected:?}, found {v:?}"))),
        None => Err(f.missing(field)),
    }
}

/// One Event; `item` is its index in a list (where kind and apiVersion may be left out): the
/// fast path ([`super::k8s_fast`]) when it takes the event, else the general one.
fn event(bytes: &[u8], item: Option<usize>) -> Result<Record, NormalizeError> {
    match super::k8s_fast::event(bytes, item) {
        Some(r) => Ok(r),
        None => general(bytes, item),
    }
}

/// The two paths of one Event apart, for the tests and the fuzz target that hold them equal.
#[doc(hidden)]
pub mod paths {
    use super::{NormalizeError, Record};

    /// The general path: the event built as a JSON tree, redacted, read.
    pub fn general(bytes: &[u8], item: Option<usize>) -> Result<Record, NormalizeError> {
        super::general(bytes, item)
    }

    /// The fast path; `None` where it leaves the event to the general one.
    pub fn fast(bytes: &[u8], item: Option<usize>) -> Option<Record> {
        super::super::k8s_fast::event(bytes, item)
    }
}

/// One Event down the general path.
fn general(bytes: &[u8], item: Option<usize>) -> Result<Record, NormalizeError> {
    let mut m = parse_object(bytes, item)?;
    let f = Fields { item };
    let kind = f.str(&m, "kind", "kind")?;
    let api_version = f.str(&m, "apiVersion", "apiVersion")?;
    if item.is_none() || kind.is_some() {
        expect(&f, "kind", kind, "Event")?;
    }
    if item.is_none() || api_version.is_some() {
        expect(&f, "apiVersion", api_version, API_VERSION)?;
    }

    let audit_id = f.req_str(&m, "auditID", "auditID")?;
    let stage = f.req_str(&m, "stage", "stage")?;
    let verb = f.req_str(&m, "verb", "verb")?;
    let request_uri = f.req_str(&m, "requestURI", "requestURI")?;
    let user = f
        .obj(&m, "user", "user")?
        .ok_or_else(|| f.missing("user"))?;
    let actor = f.str(user, "username", "user.username")?.unwrap_or("");
    let groups = f.strs(user, "groups", "user.groups")?;
    let (on_behalf_of, on_behalf_of_groups) =
        match f.obj(&m, "impersonatedUser", "impersonatedUser")? {
            Some(u) => (
                f.str(u, "username", "impersonatedUser.username")?,
                f.strs(u, "groups", "impersonatedUser.groups")?,
            ),
            None => (None, Vec::new()),
        };
    let source_ips = f.strs(&m, "sourceIPs", "sourceIPs")?;
    let user_agent = f.str(&m, "userAgent", "userAgent")?;
    let level = f.str(&m, "level", "level")?;

    let stage_ts = f.time(&m, "stageTimestamp", "stageTimestamp")?;
    let received_ts = f.time(&m, "requestReceivedTimestamp", "requestReceivedTimestamp")?;
    let legacy_ts = f.time(&m, "timestamp", "timestamp")?;
    let time_ns = stage_ts
        .or(received_ts)
        .or(legacy_ts)
        .ok_or_else(|| f.missing("stageTimestamp"))?;

    let code = match f.obj(&m, "responseStatus", "responseStatus")? {
        Some(rs) => f.code(rs, "code", "responseStatus.code")?,
        None => None,
    };
    let mut r = Head {
        audit_id,
        time_ns,
        stage,
        verb,
        request_uri,
        level,
        actor,
        groups,
        on_behalf_of,
        on_behalf_of_groups,
        source_ips,
        user_agent,
        code,
    }
    .record();

    let mut secrets_resource = false;
    let object_ref = f.obj(&m, "objectRef", "objectRef")?;
    let resource = match object_ref {
        Some(o) => f
            .str(o, "resource", "objectRef.resource")?
            .filter(|s| !s.is_empty()),
        None => None,
    };
    match (object_ref, resource) {
        (Some(o), Some(resource)) => {
            let sub = f
                .str(o, "subresource", "objectRef.subresource")?
                .filter(|s| !s.is_empty());
            let group = f
                .str(o, "apiGroup", "objectRef.apiGroup")?
                .filter(|s| !s.is_empty());
            let version = f
                .str(o, "apiVersion", "objectRef.apiVersion")?
                .filter(|s| !s.is_empty());
            r.resource = match sub {
                Some(s) => format!("{resource}/{s}"),
                None => resource.to_owned(),
            };
            r.namespace = f
                .str(o, "namespace", "objectRef.namespace")?
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            r.name = f
                .str(o, "name", "objectRef.name")?
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            if r.name.is_none() && verb == "create" {
                r.name = ["responseObject", "requestObject"]
                    .iter()
                    .find_map(|k| object_name(m.get(*k)));
            }
            if let Some(g) = group {
                r.detail.insert("api_group".into(), g.to_owned());
            }
            if let Some(v) = version {
                r.detail.insert("api_version".into(), v.to_owned());
            }
            secrets_resource = resource == "secrets" && group.is_none();
            if group.is_some_and(|g| ISVC_GROUPS.contains(&g)) && sub.is_none() {
                model_facts(&m, resource, &mut r.detail);
            }
        }
        _ => {
            let path = request_uri.split('?').next().unwrap_or(request_uri);
            r.resource = path.to_owned();
        }
    }

    let mut red = Redactions::default();
    if secrets_resource {
        for key in ["requestObject", "responseObject"] {
            match m.get_mut(key) {
                None | Some(Value::Null) => {}
                Some(Value::Object(o)) => {
                    redact_secret_object(o, key, &mut red);
                    if let Some(Value::Array(items)) = o.get_mut("items") {
                        let path = format!("{key}.items[]");
                        for it in items.iter_mut().filter_map(Value::as_object_mut) {
                            redact_secret_object(it, &path, &mut red);
                        }
                    }
                }
                Some(_) => {
                    m.remove(key);
                    red.add("", key);
                }
            }
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

/// What both paths read from an Event before its object reference, as the record it starts.
pub(super) struct Head<'a> {
    pub audit_id: &'a str,
    pub time_ns: i64,
    pub stage: &'a str,
    pub verb: &'a str,
    pub request_uri: &'a str,
    pub level: Option<&'a str>,
    pub actor: &'a str,
    pub groups: Vec<String>,
    pub on_behalf_of: Option<&'a str>,
    pub on_behalf_of_groups: Vec<String>,
    pub source_ips: Vec<String>,
    pub user_agent: Option<&'a str>,
    /// `responseStatus.code`, none when absent or 0.
    pub code: Option<u16>,
}

impl Head<'_> {
    /// The record: its outcome (a `Panic` stage without a code is a failure) and the details
    /// of the module doc that do not depend on the object reference.
    pub fn record(self) -> Record {
        let outcome = match self.code {
            Some(c) => Outcome::from_status(c),
            None if self.stage == "Panic" => Outcome {
                kind: OutcomeKind::Failure,
                code: None,
            },
            None => Outcome::UNKNOWN,
        };
        let mut r = Record::new(Source::K8s, self.audit_id, self.time_ns);
        r.stage = Some(self.stage.to_owned());
        r.verb = self.verb.to_owned();
        r.actor = self.actor.to_owned();
        r.groups = self.groups;
        r.on_behalf_of = self
            .on_behalf_of
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        r.outcome = outcome;
        r.source_ip = self.source_ips.first().cloned();
        r.user_agent = self.user_agent.map(str::to_owned);
        let d = &mut r.detail;
        d.insert("request_uri".into(), self.request_uri.to_owned());
        if let Some(l) = self.level {
            d.insert("level".into(), l.to_owned());
        }
        if self.source_ips.len() > 1 {
            d.insert("source_ips".into(), json_strings(&self.source_ips));
        }
        if r.on_behalf_of.is_some() && !self.on_behalf_of_groups.is_empty() {
            d.insert(
                "on_behalf_of_groups".into(),
                json_strings(&self.on_behalf_of_groups),
            );
        }
        r
    }
}

fn json_strings(v: &[String]) -> String {
    serde_json::to_string(v).expect("strings serialize")
}

/// `metadata.name` of a request or response object.
pub(super) fn object_name(v: Option<&Value>) -> Option<String> {
    v?.get("metadata")?
        .get("name")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The `storageUri` of an InferenceService or TrainedModel in the response object (the object as
/// stored) or else the request object, and a TrainedModel's InferenceService.
pub(super) fn model_facts(
    m: &Map<String, Value>,
    resource: &str,
    detail: &mut BTreeMap<String, String>,
) {
    let spec = |key: &str| m.get(key)?.get("spec")?.as_object();
    let specs = || {
        ["responseObject", "requestObject"]
            .into_iter()
            .filter_map(spec)
    };
    let storage_uri = match resource {
        "inferenceservices" => specs().find_map(|s| {
            let predictor = s.get("predictor")?.as_object()?;
            predictor
                .get("model")
                .and_then(Value::as_object)
                .and_then(storage_uri_of)
                .or_else(|| storage_uri_of(predictor))
                .or_else(|| {
                    predictor
                        .values()
                        .filter_map(Value::as_object)
                        .find_map(storage_uri_of)
                })
                .map(str::to_owned)
        }),
        "trainedmodels" => {
            if let Some(isvc) = specs().find_map(|s| s.get("inferenceService")?.as_str()) {
                detail.insert("inference_service".into(), isvc.to_owned());
            }
            specs().find_map(|s| storage_uri_of(s.get("model")?.as_object()?).map(str::to_owned))
        }
        _ => None,
    };
    if let Some(u) = storage_uri {
        detail.insert("storage_uri".into(), u);
    }
}

fn storage_uri_of(o: &Map<String, Value>) -> Option<&str> {
    o.get("storageUri")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
}
