//! Normalizing audit events of three sources into [`Record`]s, removing secrets from the raw
//! event first, and resolving which model an event is about.
//!
//! Owns: reading Kubernetes audit events ([`k8s_event`], [`k8s_event_list`],
//! [`k8s_event_list_items`]), MinIO audit entries ([`minio`], [`minio_entries`] for a webhook POST of several) and KServe inference logger
//! CloudEvents ([`kserve`] for HTTP binary mode, [`kserve_structured`] for structured mode); the
//! redaction rules ([`is_secret_header`], [`is_secret_json_key`]); the model map
//! ([`ModelMap`]).
//!
//! Must not: store records, deduplicate (the store does, on [`Record::idempotency_key`]), read a
//! clock (a record's time is the event's own, see [`super::record`]), do I/O or print.
//!
//! # Fields per source
//!
//! Kubernetes (`audit.k8s.io/v1` Event; the JSON-lines log backend or the webhook's `EventList`):
//! - `actor` = `user.username` (the authenticated user), `groups` = `user.groups`,
//!   `on_behalf_of` = `impersonatedUser.username`;
//! - `verb` = `verb`; `resource` = `objectRef.resource`, with `/objectRef.subresource` when
//!   there is one, or the path of `requestURI` (no query) for a non-resource request;
//!   `namespace`, `name` from `objectRef` (the name falls back to `metadata.name` of the
//!   response, then the request object);
//! - `outcome` from `responseStatus.code`; a `Panic` stage without a code is a failure;
//! - `time_ns` = `stageTimestamp`, else `requestReceivedTimestamp`, else the pre-v1 `timestamp`;
//! - `source_ip` = the first of `sourceIPs` (the client as the API server saw it, X-Forwarded-For
//!   first), `user_agent` = `userAgent`, `event_id` = `auditID`, `stage` = `stage`;
//! - `detail`: `level`, `request_uri`, `api_group`, `api_version` (from `objectRef`),
//!   `source_ips` (JSON array, when more than one), `on_behalf_of_groups` (JSON array of the
//!   impersonated groups), `storage_uri` (of an InferenceService or TrainedModel in the request
//!   or response object), `inference_service` (a TrainedModel's `spec.inferenceService`).
//!
//! Storage (MinIO audit webhook entry, `version` `"1"`):
//! - `actor` = `accessKey` (else `requestClaims.accessKey`, else the access key of the
//!   `Credential=` of the request's SigV4 `Authorization` header or `X-Amz-Credential` query,
//!   read before those are removed); `groups` = `requestClaims.groups` when a string array;
//! - `verb` from `api.name`: `Get*`/`Head*`/`Select*` are `get`, `Put*`/`Copy*`/`Post*`/`Make*`/
//!   `NewMultipartUpload`/`CreateMultipartUpload`/`CompleteMultipartUpload` are `put`,
//!   `Delete*`/`Remove*`/`AbortMultipartUpload` are `delete`, `List*` are `list`, any other is
//!   `other`;
//! - `resource` = `objects` (or `buckets` without `api.object`), `name` = `s3://bucket/object`
//!   (`s3://bucket`); `outcome` from `api.statusCode`; `time_ns` = `time`;
//!   `source_ip` = `remotehost` (without a port), `user_agent` = `userAgent`,
//!   `event_id` = `requestID`, no stage;
//! - `detail`: `api` (the API name), `bucket`, `object`, `status` (`api.status`),
//!   `deployment_id`, `trigger`, `parent_user`, `error`, `rx`, `tx` (bytes received and sent).
//!
//! Inference (KServe inference logger CloudEvent, type `org.kubeflow.serving.inference.request`
//! or `.response`, spec version 1.0):
//! - `actor` = the first non-empty value of the first of the configured identity headers present
//!   in the `metadata` extension (the request headers the logger copies, as named in the
//!   InferenceService's `logger.metadataHeaders`); a secret-like identity header (see
//!   [`is_secret_header`]) is never used;
//! - `verb` = `query`; `resource` = `inferenceservices`; `namespace` = `namespace`,
//!   `name` = `inferenceservicename`; `stage` = `request` or `response`;
//! - `outcome`: unknown for a request (logged before the model answers), success 200 for a
//!   response (the logger only logs responses of status 200);
//! - `time_ns` = `time`; `event_id` = `id` (shared by a request and its response);
//!   `source_ip` = the first address of `X-Forwarded-For` (else `X-Real-Ip`) and `user_agent` =
//!   `User-Agent` when those are among the metadata headers;
//! - `detail`: `ce_type`, `ce_source`, `component`, `endpoint`, `content_mode` (`binary` or
//!   `structured`), `identity_header` (the header the actor came from).
//!
//! Every source: `detail["redacted"]` lists, comma-separated, the places secrets were removed
//! from (`requestHeader.Authorization`, `responseObject.status.token`, `items[].data`), absent
//! when nothing was.
//!
//! # Redaction (before compression)
//!
//! Removed entirely, name and value, so neither appears in [`Record::raw`]:
//! - HTTP headers, URL query parameters and CloudEvent attributes whose name contains, ignoring
//!   case, `authorization`, `cookie`, `token`, `secret`, `password`, `passwd`, `api-key`,
//!   `apikey`, `api_key` or `signature` ([`is_secret_header`]): the CloudEvent's own HTTP
//!   headers, the `metadata` extension's headers, MinIO's `requestHeader`, `responseHeader` and
//!   `requestQuery`;
//! - JSON members with a string value whose key, ignoring case, `-` and `_`, is one of `token`,
//!   `accesstoken`, `idtoken`, `refreshtoken`, `bearertoken`, `sessiontoken`, `securitytoken`,
//!   `webidentitytoken`, `password`, `passwd`, `secret`, `clientsecret`, `secretkey`,
//!   `secretaccesskey`, `privatekey`, `apikey`, `authorization` or `cookie`
//!   ([`is_secret_json_key`]), anywhere in a Kubernetes event (the bearer token of a
//!   TokenReview, the token a TokenRequest returns) and in a MinIO entry (its claims);
//! - of every JSON object with `"kind": "Secret"` in a Kubernetes event, and of the request and
//!   response objects (and their `items`) of a request on core `secrets`: `data`, `stringData`
//!   and the `kubectl.kubernetes.io/last-applied-configuration` annotation; a request or
//!   response object of `secrets` that is not a JSON object (a JSON patch) is removed whole.
//!
//! Not redacted: the inference payload (the CloudEvent `data`, kept as the model received it:
//! it may hold personal data, and the store's retention applies to it), ConfigMap values and
//! environment variables that happen to hold credentials, URLs with embedded credentials.
//!
//! [`Record::raw`] is byte for byte the event received when nothing was removed; when something
//! was, it is the event re-serialized as compact JSON (members sorted by key) without it.
//!
//! # Model map
//!
//! [`ModelMap`] is built from configuration ([`ModelMapConfig`], in mlguard.yaml's style):
//!
//! ```yaml
//! prefixes:
//!   - {prefix: "s3://models/llama-7b/", model: llama-7b}
//!   - {prefix: "gs://kfserving-examples/models/sklearn", model: iris}
//! inferenceServices:
//!   - {namespace: team-a, name: chat, model: llama-7b}
//!   - {name: iris-demo, model: iris}      # any namespace
//! ```
//!
//! A prefix matches whole path segments, with or without its trailing `/`: `s3://models/llama/`
//! and `s3://models/llama` both match `s3://models/llama` and `s3://models/llama/x`, never
//! `s3://models/llama-2/x`; the longest matching prefix wins.
//! [`ModelMap::resolve`] sets [`Record::model`]:
//! - inference: the InferenceService rule (one naming the namespace before one that does not),
//!   else what was learned for that InferenceService, else the InferenceService's name;
//! - Kubernetes `inferenceservices` (`serving.kserve.io`): the InferenceService rule, else the
//!   prefix matching the `storage_uri` of the event, else what was learned, else the name;
//!   `trainedmodels`: the prefix matching its `storage_uri`, else its name;
//! - storage: the longest prefix, configured or learned, matching the object URI (`name`).
//!
//! When a successful Kubernetes event shows an InferenceService or TrainedModel with a
//! `storageUri`, `resolve` returns a [`Binding`]; [`ModelMap::learn`] then maps that
//! InferenceService and that storage prefix to the model, so later downloads from the prefix and
//! queries of the service resolve to it. Configured rules always win over learned ones.

mod k8s;
mod k8s_fast;
mod kserve;
mod minio;
mod scan;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use k8s::{k8s_event, k8s_event_list, k8s_event_list_items, paths as k8s_paths};
pub use kserve::{kserve, kserve_structured};
pub use minio::{minio, minio_entries};

use super::record::{Record, Source};

/// Why an event could not be normalized. `item` is the 0-based index in an `EventList`; `field`
/// the event's field as a dotted path (`objectRef.resource`, `api.name`, `ce-id`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NormalizeError {
    #[error("{}malformed JSON at line {line}, column {column}: {message}", at(*.item))]
    Json {
        item: Option<usize>,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}expected a JSON object, found {found}", at(*.item))]
    NotAnObject {
        item: Option<usize>,
        found: &'static str,
    },
    #[error("{}field `{field}` is missing", at(*.item))]
    Missing { item: Option<usize>, field: String },
    #[error("{}field `{field}`: {message}", at(*.item))]
    Invalid {
        item: Option<usize>,
        field: String,
        message: String,
    },
}

impl NormalizeError {
    /// The index of the `EventList` item the error is in.
    pub fn item(&self) -> Option<usize> {
        match self {
            NormalizeError::Json { item, .. }
            | NormalizeError::NotAnObject { item, .. }
            | NormalizeError::Missing { item, .. }
            | NormalizeError::Invalid { item, .. } => *item,
        }
    }

    /// The field the error is about, when it is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            NormalizeError::Missing { field, .. } | NormalizeError::Invalid { field, .. } => {
                Some(field)
            }
            _ => None,
        }
    }
}

fn at(item: Option<usize>) -> String {
    item.map_or_else(String::new, |i| format!("item {i}: "))
}

/// Parses bytes as one JSON object.
fn parse_object(bytes: &[u8], item: Option<usize>) -> Result<Map<String, Value>, NormalizeError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(v) => Err(NormalizeError::NotAnObject {
            item,
            found: json_type(&v),
        }),
        Err(e) => Err(NormalizeError::Json {
            item,
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }),
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Typed access to the fields of one event, with errors naming the item and the field.
struct Fields {
    item: Option<usize>,
}

impl Fields {
    fn missing(&self, field: &str) -> NormalizeError {
        NormalizeError::Missing {
            item: self.item,
            field: field.to_owned(),
        }
    }

    fn invalid(&self, field: &str, message: impl Into<String>) -> NormalizeError {
        NormalizeError::Invalid {
            item: self.item,
            field: field.to_owned(),
            message: message.into(),
        }
    }

    fn wrong(&self, field: &str, expected: &str, v: &Value) -> NormalizeError {
        self.invalid(
            field,
            format!("expected {expected}, found {}", json_type(v)),
        )
    }

    /// A string member; none when absent or null.
    fn str<'a>(
        &self,
        m: &'a Map<String, Value>,
        key: &str,
        field: &str,
    ) -> Result<Option<&'a str>, NormalizeError> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.wrong(field, "a string", v)),
        }
    }

    /// A string member that must be there and not be empty.
    fn req_str<'a>(
        &self,
        m: &'a Map<String, Value>,
        key: &str,
        field: &str,
    ) -> Result<&'a str, NormalizeError> {
        match self.str(m, key, field)? {
            Some(s) if !s.is_empty() => Ok(s),
            Some(_) => Err(self.invalid(field, "is empty")),
            None => Err(self.missing(field)),
        }
    }

    /// An object member; none when absent or null.
    fn obj<'a>(
        &self,
        m: &'a Map<String, Value>,
        key: &str,
        field: &str,
    ) -> Result<Option<&'a Map<String, Value>>, NormalizeError> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(v) => Err(self.wrong(field, "an object", v)),
        }
    }

    /// An array of strings; empty when absent or null.
    fn strs(
        &self,
        m: &Map<String, Value>,
        key: &str,
        field: &str,
    ) -> Result<Vec<String>, NormalizeError> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    v => Err(self.wrong(&format!("{field}[{i}]"), "a string", v)),
                })
                .collect(),
            Some(v) => Err(self.wrong(field, "an array of strings", v)),
        }
    }

    /// An RFC 3339 time member; none when absent or null.
    fn time(
        &self,
        m: &Map<String, Value>,
        key: &str,
        field: &str,
    ) -> Result<Option<i64>, NormalizeError> {
        self.str(m, key, field)?
            .map(|s| self.parse_time(s, field))
            .transpose()
    }

    fn parse_time(&self, s: &str, field: &str) -> Result<i64, NormalizeError> {
        super::record::parse_rfc3339(s).ok_or_else(|| {
            self.invalid(
                field,
                format!(
                    "{s:?} is not an RFC 3339 time between 1677 and 2262 \
                     (such as 2024-05-01T12:00:00.5Z)"
                ),
            )
        })
    }

    /// A status code member: an integer 0..=65535; none when absent, null or 0.
    fn code(
        &self,
        m: &Map<String, Value>,
        key: &str,
        field: &str,
    ) -> Result<Option<u16>, NormalizeError> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_u64().map(u16::try_from) {
                Some(Ok(0)) => Ok(None),
                Some(Ok(c)) => Ok(Some(c)),
                _ => Err(self.invalid(field, format!("{n} is not a status code"))),
            },
            Some(v) => Err(self.wrong(field, "a number", v)),
        }
    }
}

/// Whether an HTTP header, URL query parameter or CloudEvent attribute named `name` carries a
/// credential (see the module doc for the list).
pub fn is_secret_header(name: &str) -> bool {
    const PARTS: &[&str] = &[
        "authorization",
        "cookie",
        "token",
        "secret",
        "password",
        "passwd",
        "api-key",
        "apikey",
        "api_key",
        "signature",
    ];
    let n = name.to_ascii_lowercase();
    PARTS.iter().any(|p| n.contains(p))
}

/// Whether a JSON member named `key` with a string value is a credential (see the module doc for
/// the list).
pub fn is_secret_json_key(key: &str) -> bool {
    const KEYS: &[&str] = &[
        "token",
        "accesstoken",
        "idtoken",
        "refreshtoken",
        "bearertoken",
        "sessiontoken",
        "securitytoken",
        "webidentitytoken",
        "password",
        "passwd",
        "secret",
        "clientsecret",
        "secretkey",
        "secretaccesskey",
        "privatekey",
        "apikey",
        "authorization",
        "cookie",
    ];
    if key.len() > 24 {
        return false;
    }
    // The key without `-` and `_`, ASCII letters lowered (other bytes kept as they are).
    let mut k = [0u8; 24];
    let mut n = 0;
    for b in key.bytes().filter(|b| *b != b'-' && *b != b'_') {
        k[n] = b.to_ascii_lowercase();
        n += 1;
    }
    KEYS.iter().any(|s| s.as_bytes() == &k[..n])
}

/// Places secrets were removed from, as paths with array indices elided (`items[].data`).
#[derive(Default)]
struct Redactions(BTreeSet<String>);

impl Redactions {
    fn add(&mut self, path: &str, key: &str) {
        self.0.insert(if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        });
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Writes `detail["redacted"]` when anything was removed.
    fn note(self, detail: &mut BTreeMap<String, String>) {
        if !self.0.is_empty() {
            detail.insert(
                "redacted".to_owned(),
                self.0.into_iter().collect::<Vec<_>>().join(","),
            );
        }
    }
}

/// Removes the members of a string map (headers, query) whose names are secret-like.
fn redact_header_map(m: &mut Map<String, Value>, path: &str, red: &mut Redactions) {
    m.retain(|k, _| {
        let secret = is_secret_header(k);
        if secret {
            red.add(path, k);
        }
        !secret
    });
}

/// Removes secret-like string members everywhere in `v`, and the data of Kubernetes Secrets.
fn redact_json(v: &mut Value, path: &str, red: &mut Redactions) {
    match v {
        Value::Object(m) => {
            if m.get("kind").and_then(Value::as_str) == Some("Secret") {
                redact_secret_object(m, path, red);
            }
            m.retain(|k, v| {
                let secret = v.is_string() && is_secret_json_key(k);
                if secret {
                    red.add(path, k);
                }
                !secret
            });
            for (k, child) in m.iter_mut() {
                if child.is_object() || child.is_array() {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    redact_json(child, &p, red);
                }
            }
        }
        Value::Array(a) => {
            let p = format!("{path}[]");
            for child in a {
                redact_json(child, &p, red);
            }
        }
        _ => {}
    }
}

/// Removes a Secret's values: `data`, `stringData`, and the last-applied annotation that kubectl
/// copies them into.
fn redact_secret_object(m: &mut Map<String, Value>, path: &str, red: &mut Redactions) {
    for k in ["data", "stringData"] {
        if m.remove(k).is_some() {
            red.add(path, k);
        }
    }
    let annotations = m
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .and_then(|md| md.get_mut("annotations"))
        .and_then(Value::as_object_mut);
    if let Some(a) = annotations {
        const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
        if a.remove(LAST_APPLIED).is_some() {
            red.add(path, &format!("metadata.annotations.{LAST_APPLIED}"));
        }
    }
}

/// The raw bytes to keep: the original when nothing was removed, else the redacted JSON.
fn raw_json(original: &[u8], value: &Map<String, Value>, red: &Redactions) -> Vec<u8> {
    if red.is_empty() {
        super::gzip::compress(original)
    } else {
        super::gzip::compress(&serde_json::to_vec(value).expect("a JSON value serializes"))
    }
}

/// Model resolution settings: storage prefixes and InferenceService names mapped to models.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelMapConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefixes: Vec<PrefixRule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inference_services: Vec<ServiceRule>,
}

/// Objects under `prefix` (a storage URI such as `s3://models/llama-7b/`) belong to `model`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixRule {
    pub prefix: String,
    pub model: String,
}

/// The InferenceService `name` (in `namespace`, or in any namespace) serves `model`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    pub model: String,
}

/// Why a [`ModelMapConfig`] was refused; `index` is the rule's 0-based position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelMapError {
    #[error("model map: {list}[{index}]: `{field}` is empty")]
    Empty {
        list: &'static str,
        index: usize,
        field: &'static str,
    },
    #[error(
        "model map: {list}[{index}]: {key:?} is already mapped to {first:?}; \
         remove one of the two rules"
    )]
    Conflict {
        list: &'static str,
        index: usize,
        key: String,
        first: String,
    },
}

/// What a Kubernetes event showed: InferenceService or TrainedModel `name` loads its model from
/// `storage_uri`, resolved to `model`. Hand it to [`ModelMap::learn`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Binding {
    /// `inferenceservices` or `trainedmodels`.
    pub resource: String,
    pub namespace: Option<String>,
    pub name: String,
    pub storage_uri: String,
    pub model: String,
}

/// Resolves [`Record::model`]; see the module doc.
#[derive(Debug, Clone, Default)]
pub struct ModelMap {
    /// Configured prefixes, then learned ones.
    prefixes: Vec<(String, String, bool)>,
    /// (namespace or none for any, name) to model, configured.
    services: BTreeMap<(Option<String>, String), String>,
    /// (namespace, name) to model, learned.
    learned_services: BTreeMap<(Option<String>, String), String>,
}

const ISVC_GROUPS: &[&str] = &["serving.kserve.io", "serving.kubeflow.org"];

impl ModelMap {
    /// A model map from configuration; refuses empty fields and a prefix or InferenceService
    /// mapped twice to different models.
    pub fn new(config: &ModelMapConfig) -> Result<ModelMap, ModelMapError> {
        let mut map = ModelMap::default();
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for (index, r) in config.prefixes.iter().enumerate() {
            let empty = |field| ModelMapError::Empty {
                list: "prefixes",
                index,
                field,
            };
            if r.prefix.is_empty() {
                return Err(empty("prefix"));
            }
            if r.model.is_empty() {
                return Err(empty("model"));
            }
            match seen.insert(&r.prefix, &r.model) {
                Some(first) if first != r.model => {
                    return Err(ModelMapError::Conflict {
                        list: "prefixes",
                        index,
                        key: r.prefix.clone(),
                        first: first.to_owned(),
                    })
                }
                Some(_) => {}
                None => map.prefixes.push((r.prefix.clone(), r.model.clone(), true)),
            }
        }
        for (index, r) in config.inference_services.iter().enumerate() {
            let empty = |field| ModelMapError::Empty {
                list: "inferenceServices",
                index,
                field,
            };
            if r.name.is_empty() {
                return Err(empty("name"));
            }
            if r.model.is_empty() {
                return Err(empty("model"));
            }
            if r.namespace.as_deref() == Some("") {
                return Err(empty("namespace"));
            }
            let key = (r.namespace.clone(), r.name.clone());
            match map.services.get(&key) {
                Some(first) if *first != r.model => {
                    return Err(ModelMapError::Conflict {
                        list: "inferenceServices",
                        index,
                        key: match &r.namespace {
                            Some(ns) => format!("{ns}/{}", r.name),
                            None => r.name.clone(),
                        },
                        first: first.clone(),
                    })
                }
                _ => {
                    map.services.insert(key, r.model.clone());
                }
            }
        }
        Ok(map)
    }

    /// The model of the longest prefix (configured or learned; configured on a tie) that
    /// `uri` lies under, matching whole path segments.
    pub fn model_for_uri(&self, uri: &str) -> Option<&str> {
        let mut best: Option<(usize, bool, &str)> = None;
        for (prefix, model, configured) in &self.prefixes {
            if !under_prefix(uri, prefix) {
                continue;
            }
            let len = prefix.trim_end_matches('/').len();
            let better = match best {
                None => true,
                Some((l, conf, _)) => len > l || (len == l && *configured && !conf),
            };
            if better {
                best = Some((len, *configured, model));
            }
        }
        best.map(|(_, _, m)| m)
    }

    fn configured_service(&self, namespace: Option<&str>, name: &str) -> Option<&str> {
        let exact =
            namespace.and_then(|ns| self.services.get(&(Some(ns.to_owned()), name.to_owned())));
        exact
            .or_else(|| self.services.get(&(None, name.to_owned())))
            .map(String::as_str)
    }

    fn learned_service(&self, namespace: Option<&str>, name: &str) -> Option<&str> {
        self.learned_services
            .get(&(namespace.map(str::to_owned), name.to_owned()))
            .map(String::as_str)
    }

    /// Sets `record.model` when the record is about a model (see the module doc), and returns
    /// the InferenceService or TrainedModel to storage binding a successful Kubernetes event
    /// shows, for [`ModelMap::learn`].
    pub fn resolve(&self, record: &mut Record) -> Option<Binding> {
        match record.source {
            Source::Inference => {
                let name = record.name.as_deref()?;
                let ns = record.namespace.as_deref();
                let model = self
                    .configured_service(ns, name)
                    .or_else(|| self.learned_service(ns, name))
                    .unwrap_or(name)
                    .to_owned();
                record.model = Some(model);
                None
            }
            Source::Storage => {
                let uri = record.name.as_deref()?;
                record.model = self.model_for_uri(uri).map(str::to_owned);
                None
            }
            Source::K8s => self.resolve_k8s(record),
            Source::Audit => None,
        }
    }

    fn resolve_k8s(&self, record: &mut Record) -> Option<Binding> {
        let group = record.detail.get("api_group").map(String::as_str);
        if !group.is_some_and(|g| ISVC_GROUPS.contains(&g)) {
            return None;
        }
        let name = record.name.as_deref()?;
        let ns = record.namespace.as_deref();
        let uri = record.detail.get("storage_uri").map(String::as_str);
        let by_uri = || uri.and_then(|u| self.model_for_uri(u));
        let model = match record.resource.as_str() {
            "inferenceservices" => self
                .configured_service(ns, name)
                .or_else(by_uri)
                .or_else(|| self.learned_service(ns, name))
                .unwrap_or(name),
            "trainedmodels" => by_uri().unwrap_or(name),
            _ => return None,
        }
        .to_owned();
        let binding = match uri {
            Some(u) if record.outcome.kind == super::record::OutcomeKind::Success => {
                Some(Binding {
                    resource: record.resource.clone(),
                    namespace: record.namespace.clone(),
                    name: name.to_owned(),
                    storage_uri: u.to_owned(),
                    model: model.clone(),
                })
            }
            _ => None,
        };
        record.model = Some(model);
        binding
    }

    /// Remembers a binding: its storage URI (as a prefix) and, for an InferenceService, the
    /// service itself map to its model. Configured rules keep winning; a later binding of the
    /// same URI or service replaces an earlier learned one.
    pub fn learn(&mut self, binding: &Binding) {
        if binding.storage_uri.is_empty() || binding.model.is_empty() {
            return;
        }
        let uri = binding.storage_uri.trim_end_matches('/');
        let uri = if uri.is_empty() {
            &binding.storage_uri
        } else {
            uri
        };
        match self
            .prefixes
            .iter_mut()
            .find(|(p, _, configured)| !configured && p == uri)
        {
            Some(entry) => entry.1 = binding.model.clone(),
            None => self
                .prefixes
                .push((uri.to_owned(), binding.model.clone(), false)),
        }
        if binding.resource == "inferenceservices" {
            self.learned_services.insert(
                (binding.namespace.clone(), binding.name.clone()),
                binding.model.clone(),
            );
        }
    }
}

/// Whether `uri` is `prefix` (trailing slashes aside) or lies under it, on a path segment
/// boundary.
fn under_prefix(uri: &str, prefix: &str) -> bool {
    let p = prefix.trim_end_matches('/');
    if p.is_empty() {
        return uri.starts_with(prefix);
    }
    uri.strip_prefix(p)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}
