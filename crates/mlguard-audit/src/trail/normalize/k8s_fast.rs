//! The fast path of a Kubernetes Event: for the events most receivers see (well-formed, nothing
//! to redact), the fields a record needs are read into a typed view that borrows from the bytes,
//! instead of building the whole event as a JSON tree.
//!
//! Owns: [`event`], which answers `Some` only with the record the general path
//! ([`super::k8s`]'s `event`) gives for the same bytes, and `None` for anything it does not handle
//! the same way: malformed or unexpected input (the general path words the error), something to
//! redact, a duplicate member, a request on `secrets`. Must not: word errors, redact.
//!
//! The equality with the general path is tested on every event of the tests' corpora and by the
//! `audit_record` fuzz target on every input (`k8s_event` against
//! [`super::k8s::k8s_event_general`]).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::k8s::{model_facts, object_name, Head, API_VERSION};
use super::ISVC_GROUPS;
use crate::trail::record::{parse_rfc3339, Record};

type Str<'a> = Option<Cow<'a, str>>;

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow, default)]
    kind: Str<'a>,
    #[serde(borrow, default, rename = "apiVersion")]
    api_version: Str<'a>,
    #[serde(borrow, default, rename = "auditID")]
    audit_id: Str<'a>,
    #[serde(borrow, default)]
    stage: Str<'a>,
    #[serde(borrow, default)]
    verb: Str<'a>,
    #[serde(borrow, default, rename = "requestURI")]
    request_uri: Str<'a>,
    #[serde(borrow, default)]
    level: Str<'a>,
    #[serde(borrow, default, rename = "userAgent")]
    user_agent: Str<'a>,
    #[serde(borrow, default)]
    user: Option<User<'a>>,
    #[serde(borrow, default, rename = "impersonatedUser")]
    impersonated_user: Option<User<'a>>,
    #[serde(borrow, default, rename = "sourceIPs")]
    source_ips: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, default, rename = "stageTimestamp")]
    stage_timestamp: Str<'a>,
    #[serde(borrow, default, rename = "requestReceivedTimestamp")]
    request_received_timestamp: Str<'a>,
    #[serde(borrow, default)]
    timestamp: Str<'a>,
    #[serde(default, rename = "responseStatus")]
    response_status: Option<Status>,
    #[serde(borrow, default, rename = "objectRef")]
    object_ref: Option<ObjectRef<'a>>,
    #[serde(borrow, default, rename = "requestObject")]
    request_object: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "responseObject")]
    response_object: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct User<'a> {
    #[serde(borrow, default)]
    username: Str<'a>,
    #[serde(borrow, default)]
    groups: Option<Vec<Cow<'a, str>>>,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    code: Option<u64>,
}

#[derive(Deserialize)]
struct ObjectRef<'a> {
    #[serde(borrow, default)]
    resource: Str<'a>,
    #[serde(borrow, default)]
    subresource: Str<'a>,
    #[serde(borrow, default, rename = "apiGroup")]
    api_group: Str<'a>,
    #[serde(borrow, default, rename = "apiVersion")]
    api_version: Str<'a>,
    #[serde(borrow, default)]
    namespace: Str<'a>,
    #[serde(borrow, default)]
    name: Str<'a>,
}

/// A member that is there and not empty.
fn non_empty<'s>(v: &'s Str<'_>) -> Option<&'s str> {
    v.as_deref().filter(|s| !s.is_empty())
}

fn owned(v: &Option<Vec<Cow<'_, str>>>) -> Vec<String> {
    v.iter().flatten().map(|s| s.as_ref().to_owned()).collect()
}

/// A time member: `Some(None)` when absent, `None` when it does not parse.
fn time(v: &Str<'_>) -> Option<Option<i64>> {
    match v {
        None => Some(None),
        Some(s) => parse_rfc3339(s).map(Some),
    }
}

/// The record of one Event (`item` as in the general path), or `None` to take the general
/// path. The event is read as text: its UTF-8 checked once, not string by string.
pub(super) fn event(bytes: &[u8], item: Option<usize>) -> Option<Record> {
    let text = std::str::from_utf8(bytes).ok()?;
    if !super::scan::nothing_to_redact(text) {
        return None;
    }
    let e: Event<'_> = serde_json::from_str(text).ok()?;
    if (item.is_none() || e.kind.is_some()) && e.kind.as_deref() != Some("Event") {
        return None;
    }
    if (item.is_none() || e.api_version.is_some()) && e.api_version.as_deref() != Some(API_VERSION)
    {
        return None;
    }
    let audit_id = non_empty(&e.audit_id)?;
    let stage = non_empty(&e.stage)?;
    let verb = non_empty(&e.verb)?;
    let request_uri = non_empty(&e.request_uri)?;
    let user = e.user.as_ref()?;
    let actor = user.username.as_deref().unwrap_or("");
    let (on_behalf_of, on_behalf_of_groups) = match &e.impersonated_user {
        Some(u) => (u.username.as_deref(), owned(&u.groups)),
        None => (None, Vec::new()),
    };

    let stage_ts = time(&e.stage_timestamp)?;
    let received_ts = time(&e.request_received_timestamp)?;
    let legacy_ts = time(&e.timestamp)?;
    let time_ns = stage_ts.or(received_ts).or(legacy_ts)?;

    let code = match e.response_status.as_ref().and_then(|s| s.code) {
        None | Some(0) => None,
        Some(c) => Some(u16::try_from(c).ok()?),
    };
    let mut r = Head {
        audit_id,
        time_ns,
        stage,
        verb,
        request_uri,
        level: e.level.as_deref(),
        actor,
        groups: owned(&user.groups),
        on_behalf_of,
        on_behalf_of_groups,
        source_ips: owned(&e.source_ips),
        user_agent: e.user_agent.as_deref(),
        code,
    }
    .record();

    let resource = e.object_ref.as_ref().and_then(|o| non_empty(&o.resource));
    match (&e.object_ref, resource) {
        (Some(o), Some(resource)) => {
            let sub = non_empty(&o.subresource);
            let group = non_empty(&o.api_group);
            if resource == "secrets" && group.is_none() {
                // The general path redacts the request and response objects of these.
                return None;
            }
            r.resource = match sub {
                Some(s) => format!("{resource}/{s}"),
                None => resource.to_owned(),
            };
            r.namespace = non_empty(&o.namespace).map(str::to_owned);
            r.name = non_empty(&o.name).map(str::to_owned);
            let isvc = group.is_some_and(|g| ISVC_GROUPS.contains(&g)) && sub.is_none();
            let objects = if (r.name.is_none() && verb == "create") || isvc {
                Some(objects(&e)?)
            } else {
                None
            };
            if r.name.is_none() && verb == "create" {
                let m = objects.as_ref()?;
                r.name = ["responseObject", "requestObject"]
                    .iter()
                    .find_map(|k| object_name(m.get(*k)));
            }
            if let Some(g) = group {
                r.detail.insert("api_group".into(), g.to_owned());
            }
            if let Some(v) = non_empty(&o.api_version) {
                r.detail.insert("api_version".into(), v.to_owned());
            }
            if isvc {
                model_facts(objects.as_ref()?, resource, &mut r.detail);
            }
        }
        _ => {
            let path = request_uri.split('?').next().unwrap_or(request_uri);
            r.resource = path.to_owned();
        }
    }
    r.raw = crate::trail::gzip::compress(bytes);
    Some(r)
}

/// The request and response objects, built (the general path reads names and storage URIs from
/// them), under their member names.
fn objects(e: &Event<'_>) -> Option<Map<String, Value>> {
    let mut m = Map::new();
    for (key, raw) in [
        ("requestObject", e.request_object),
        ("responseObject", e.response_object),
    ] {
        if let Some(raw) = raw {
            m.insert(key.to_owned(), serde_json::from_str(raw.get()).ok()?);
        }
    }
    Some(m)
}
