//! Admission decisions: an AdmissionReview in, an AdmissionReview out.
//!
//! The object under review is judged by the whole control catalog over an Inventory made of
//! the webhook's context (namespaces, quotas, policies, ...) plus the object, and only the
//! findings on that object count. What they do depends on the namespace's enforcement mode,
//! from its label `mlguard.io/enforcement`:
//!
//! | mode | findings at or above the deny severity | other findings |
//! |---|---|---|
//! | `enforce` (default) | denied, the message lists control IDs and reasons | warnings |
//! | `warn` | allowed, with warnings | warnings |
//! | `audit` | allowed | audit annotations only |
//!
//! Every decision carries the audit annotation `controls` (the IDs found, comma-separated)
//! and `mode`. Excepted findings (the exceptions file) never deny or warn.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};
use kube::core::DynamicObject;
use mlguard_controls::{
    scan_prepared, scan_with_rbac, Config, CustomControls, Date, Exceptions, Finding,
    FindingStatus, Prepared, ScanOptions, Severity,
};
use mlguard_core::inventory::is_cluster_scoped;
use mlguard_core::node::{sorted_entries, JsonKey};
use mlguard_core::{Entry, Inventory, Loaded, Node, Pos};
use mlguard_rbac::Rbac;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The largest AdmissionReview body read (the API server sends at most 3 MiB objects).
pub const MAX_BODY: usize = 3 * 1024 * 1024;
/// Kubernetes shows warnings of at most this many characters.
pub const MAX_WARNING: usize = 120;
/// The namespace label that sets the enforcement mode.
pub const ENFORCEMENT_LABEL: &str = "mlguard.io/enforcement";

/// Why a body is not an AdmissionReview request; the webhook answers 400 with this message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("the body is {0} bytes, over the {MAX_BODY}-byte limit")]
    TooLarge(usize),
    #[error("the body is not JSON: {0}")]
    Json(String),
    #[error("expected apiVersion admission.k8s.io/v1 and kind AdmissionReview, found `{api_version}` `{kind}`")]
    WrongType { api_version: String, kind: String },
    #[error("the AdmissionReview has no `request`")]
    NoRequest,
    #[error("the AdmissionReview's request is malformed: {0}")]
    BadRequest(String),
}

/// A decoded AdmissionReview request: what a decision, a mutation and an answer read.
/// Every field keeps kube's `AdmissionRequest` meaning.
#[derive(Debug, Clone, PartialEq)]
pub struct Admission {
    pub uid: String,
    /// The kind of the object under review (`request.kind`).
    pub kind: kube::core::GroupVersionKind,
    /// `request.name` (empty on a CREATE whose object has only `generateName`).
    pub name: String,
    pub namespace: Option<String>,
    pub operation: Operation,
    pub dry_run: bool,
    /// The object's new state (none for DELETE and CONNECT).
    pub object: Option<ObjectTree>,
}

/// An object under review, read for the loader: its metadata as kube's `ObjectMeta` reads it
/// (metadata it refuses makes the request malformed), and the whole object as the loader's
/// tree, built once when the request is decoded (decisions and mutations both load it).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectTree {
    pub metadata: ObjectMeta,
    /// The tree `Node::from_json` builds from the object's JSON with the request's facts set
    /// (see [`ObjectTree::new`]): shared, so loading it copies nothing.
    document: Arc<Node>,
    /// The name the object is judged under.
    name: String,
}

/// Where the tree of a review's object points: nowhere in a file, so line 1, column 1.
const OBJECT_POS: Pos = Pos { line: 1, column: 1 };

impl ObjectTree {
    /// The object's tree: keys in JSON order (i.e. sorted), every position 1:1. apiVersion
    /// and kind are the request's `kind`; `metadata` is kube's `ObjectMeta` as JSON, with
    /// `name` the object's name, else its `generateName` (a CREATE), else the request's name,
    /// and `namespace` the request's. `fields` are the other fields, in key order. The test
    /// `object_tree_is_the_json_tree` compares the result with the tree of kube's object.
    fn new(
        metadata: ObjectMeta,
        fields: Vec<Entry>,
        kind: &kube::core::GroupVersionKind,
        namespace: Option<&str>,
        request_name: &str,
    ) -> ObjectTree {
        use mlguard_core::node::Value as N;
        use serde::de::DeserializeSeed;
        let text = |s: &str| Node::new(N::Str(s.into()), OBJECT_POS);
        let name = metadata
            .name
            .clone()
            .or_else(|| metadata.generate_name.clone())
            .unwrap_or_else(|| request_name.to_owned());
        let group_version = if kind.group.is_empty() {
            kind.version.clone()
        } else {
            format!("{}/{}", kind.group, kind.version)
        };
        // kube's JSON of the metadata, read as the loader's tree, with the two facts set.
        let meta_json = serde_json::to_string(&metadata).unwrap_or_else(|_| "{}".to_owned());
        let mut json = serde_json::Deserializer::from_str(&meta_json);
        let mut meta: Vec<Entry> = match Node::json_seed(OBJECT_POS).deserialize(&mut json) {
            Ok(Node {
                value: N::Map(entries),
                ..
            }) => entries.into_vec(),
            _ => Vec::new(),
        };
        set_entry(&mut meta, "name", text(&name));
        if let Some(ns) = namespace {
            set_entry(&mut meta, "namespace", text(ns));
        }
        let mut entries = fields;
        for (k, value) in [
            ("apiVersion", text(&group_version)),
            ("kind", text(&kind.kind)),
            ("metadata", Node::new(N::Map(meta.into()), OBJECT_POS)),
        ] {
            set_entry(&mut entries, k, value);
        }
        ObjectTree {
            metadata,
            document: Arc::new(Node::new(N::Map(entries.into()), OBJECT_POS)),
            name,
        }
    }

    /// The object's tree (built as `ObjectTree::new` says).
    pub fn document(&self) -> &Node {
        &self.document
    }

    /// The name the object is judged under: its name, else its `generateName`, else the
    /// request's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The object as kube's `DynamicObject` holds it (the careful decoding's result).
    fn from_dynamic(
        obj: &DynamicObject,
        kind: &kube::core::GroupVersionKind,
        namespace: Option<&str>,
        request_name: &str,
    ) -> ObjectTree {
        let mut fields = Vec::new();
        if let Value::Object(data) = &obj.data {
            for (k, v) in data {
                if !matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    fields.push(Entry {
                        key: k.as_str().into(),
                        key_pos: OBJECT_POS,
                        value: Node::from_json(v, OBJECT_POS),
                    });
                }
            }
        }
        ObjectTree::new(
            obj.metadata.clone(),
            sorted_entries(fields),
            kind,
            namespace,
            request_name,
        )
    }
}

/// Set `key` of a key-ordered list of entries to `value`, keeping the order.
fn set_entry(entries: &mut Vec<Entry>, key: &str, value: Node) {
    match entries.binary_search_by(|e| e.key.as_str().cmp(key)) {
        Ok(i) => entries[i].value = value,
        Err(i) => entries.insert(
            i,
            Entry {
                key: key.into(),
                key_pos: OBJECT_POS,
                value,
            },
        ),
    }
}

impl Admission {
    /// What a decision reads of kube's request (the careful decoding's result).
    fn from_request(req: AdmissionRequest<DynamicObject>) -> Admission {
        Admission {
            object: req.object.as_ref().map(|o| {
                ObjectTree::from_dynamic(o, &req.kind, req.namespace.as_deref(), &req.name)
            }),
            uid: req.uid,
            kind: req.kind,
            name: req.name,
            namespace: req.namespace,
            operation: req.operation,
            dry_run: req.dry_run,
        }
    }

    /// An answer to this request: allowed, nothing else set yet.
    fn response(&self) -> AdmissionResponse {
        // kube's type is non-exhaustive and its `From` wants kube's request: start from its
        // one other constructor and set every field `From` would.
        let mut resp = AdmissionResponse::invalid("");
        resp.types = kube::core::TypeMeta {
            api_version: "admission.k8s.io/v1".to_owned(),
            kind: "AdmissionReview".to_owned(),
        };
        resp.uid = self.uid.clone();
        resp.allowed = true;
        resp.result = kube::core::Status::default();
        resp
    }
}

/// An AdmissionReview as it is decoded on the fast path: each field as kube's
/// `AdmissionReview` reads it, but for the objects (see [`FastObject`]). kube's type flattens
/// its type fields, which makes serde buffer the whole body before reading it.
#[derive(serde::Deserialize)]
struct Review {
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: String,
    request: Option<Request>,
    #[serde(default)]
    #[allow(dead_code)]
    response: Option<AdmissionResponse>,
}

/// kube's `AdmissionRequest` field for field (the same names, types and defaults, so the same
/// bodies are refused), with the objects read by [`FastObject`].
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Request {
    uid: String,
    kind: kube::core::GroupVersionKind,
    resource: kube::core::GroupVersionResource,
    #[serde(default)]
    sub_resource: Option<String>,
    #[serde(default)]
    request_kind: Option<kube::core::GroupVersionKind>,
    #[serde(default)]
    request_resource: Option<kube::core::GroupVersionResource>,
    #[serde(default)]
    request_sub_resource: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: Option<String>,
    operation: Operation,
    user_info: k8s_openapi::api::authentication::v1::UserInfo,
    object: Option<FastObject<true>>,
    old_object: Option<FastObject<false>>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    options: Option<k8s_openapi::apimachinery::pkg::runtime::RawExtension>,
}

/// An object of a review read in one pass: the metadata as `ObjectMeta`, the other fields
/// straight into the loader's tree (`TREE`), or only checked to be JSON (the old object, which
/// no decision reads). Only for an object whose type fields are both strings; any other
/// object is an error here, so the review takes the careful path, where kube's
/// `DynamicObject` reads it (its reading of odd type fields is kube's).
struct FastObject<const TREE: bool> {
    metadata: ObjectMeta,
    /// The fields besides apiVersion, kind and metadata, in key order.
    fields: Vec<Entry>,
}

impl<'de, const TREE: bool> serde::Deserialize<'de> for FastObject<TREE> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<const TREE: bool>;
        impl<'de, const TREE: bool> serde::de::Visitor<'de> for Visit<TREE> {
            type Value = FastObject<TREE>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<FastObject<TREE>, A::Error> {
                use serde::de::Error;
                // As a JSON map keeps them: the last of duplicate keys counts.
                let (mut api_version, mut kind) = (false, false);
                let mut metadata = None;
                let mut fields = Vec::new();
                while let Some(JsonKey(key)) = map.next_key()? {
                    match key.as_str() {
                        "apiVersion" | "kind" => {
                            let text = map
                                .next_value_seed(Node::json_seed(OBJECT_POS))?
                                .as_str()
                                .is_some();
                            *if key == "kind" {
                                &mut kind
                            } else {
                                &mut api_version
                            } = text;
                        }
                        "metadata" => metadata = Some(map.next_value::<ObjectMeta>()?),
                        _ if !TREE => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                        _ => fields.push(Entry {
                            key,
                            key_pos: OBJECT_POS,
                            value: map.next_value_seed(Node::json_seed(OBJECT_POS))?,
                        }),
                    }
                }
                if !(api_version && kind) {
                    return Err(A::Error::custom("an object without string type fields"));
                }
                Ok(FastObject {
                    metadata: metadata.unwrap_or_default(),
                    fields: sorted_entries(fields),
                })
            }
        }
        d.deserialize_map(Visit::<TREE>)
    }
}

/// Decode an AdmissionReview request body.
pub fn decode(body: &[u8]) -> Result<Admission, DecodeError> {
    if body.len() > MAX_BODY {
        return Err(DecodeError::TooLarge(body.len()));
    }
    // The fast path, for a well-formed review. Anything else takes the careful path, which
    // names the problem.
    match decode_fast(body) {
        Some(req) => Ok(req),
        None => decode_careful(body).map(Admission::from_request),
    }
}

/// Decode `body` on both paths: the fast one (None when it does not take the body) and the
/// careful one. For the fuzz target, which requires the two to agree.
#[doc(hidden)]
pub fn decode_both(body: &[u8]) -> (Option<Admission>, Result<Admission, DecodeError>) {
    (
        decode_fast(body),
        decode_careful(body).map(Admission::from_request),
    )
}

/// One typed pass over the bytes of a well-formed review; None for anything else. The body is
/// checked to be UTF-8 once, as a whole: reading from bytes checks every string on its own.
fn decode_fast(body: &[u8]) -> Option<Admission> {
    let text = std::str::from_utf8(body).ok()?;
    if let Ok(Review {
        api_version,
        kind,
        request: Some(r),
        ..
    }) = serde_json::from_str::<Review>(text)
    {
        if api_version == "admission.k8s.io/v1" && kind == "AdmissionReview" && !r.uid.is_empty() {
            let object = r.object.map(|o| {
                ObjectTree::new(
                    o.metadata,
                    o.fields,
                    &r.kind,
                    r.namespace.as_deref(),
                    &r.name,
                )
            });
            return Some(Admission {
                uid: r.uid,
                kind: r.kind,
                name: r.name,
                namespace: r.namespace,
                operation: r.operation,
                dry_run: r.dry_run,
                object,
            });
        }
    }
    None
}

/// Decode with an error that says what is wrong.
fn decode_careful(body: &[u8]) -> Result<AdmissionRequest<DynamicObject>, DecodeError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| DecodeError::Json(e.to_string()))?;
    let field = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (api_version, kind) = (field("apiVersion"), field("kind"));
    if api_version != "admission.k8s.io/v1" || kind != "AdmissionReview" {
        return Err(DecodeError::WrongType { api_version, kind });
    }
    if v.get("request").is_none_or(Value::is_null) {
        return Err(DecodeError::NoRequest);
    }
    let review: AdmissionReview<DynamicObject> =
        serde_json::from_value(v).map_err(|e| DecodeError::BadRequest(e.to_string()))?;
    let req: AdmissionRequest<DynamicObject> =
        review.try_into().map_err(|_| DecodeError::NoRequest)?;
    if req.uid.is_empty() {
        return Err(DecodeError::BadRequest("`request.uid` is empty".to_owned()));
    }
    Ok(req)
}

/// A namespace's enforcement mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Enforce,
    Warn,
    Audit,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "enforce" => Some(Mode::Enforce),
            "warn" => Some(Mode::Warn),
            "audit" => Some(Mode::Audit),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Warn => "warn",
            Mode::Audit => "audit",
        }
    }
}

/// Controls whose findings on an object depend on workloads of other namespaces (a pod of
/// another tenant reaching it). The webhook does not judge them: its context is namespaces,
/// quotas, policies and RBAC, not every workload of the cluster; `mlguard scan` does.
pub const CROSS_NAMESPACE: &[&str] = &["MLG-NET-005"];

/// The webhook's context (namespaces, quotas, policies, RBAC...), indexed once per change so
/// that a decision reads only what it can depend on.
///
/// Judging an object in namespace N reads the cluster-scoped objects (Namespaces, ClusterRoles
/// and their bindings, admin network policies...) and the objects of N. Objects of other
/// namespaces cannot change a finding on an object of N (a namespace's isolation, quota,
/// RBAC and serving exposure are all decided inside it, and other namespaces are seen
/// through their Namespace objects' labels), and audit Policy files are judged on their own
/// (findings land on their rules, never on an API object). The test
/// `fast_path_matches_full_scan` checks this over examples/ and the shared corpus: every
/// object judged this way gets exactly the findings a scan of everything gives it.
///
/// A namespaced object written without a namespace is in `default`, as `kubectl apply`
/// would put it.
#[derive(Debug, Default)]
pub struct Context {
    loaded: Loaded,
    /// Indices of cluster-scoped objects.
    shared: Vec<usize>,
    by_namespace: HashMap<String, Vec<usize>>,
    modes: HashMap<String, Mode>,
    /// What judging in a namespace reads, built on first use (`""`: cluster-scoped objects).
    slices: Mutex<HashMap<String, Arc<Slice>>>,
}

/// The objects judging in one namespace reads, their RBAC model, and what the scan reads
/// of them that the object under review does not change (its network policies, parsed).
#[derive(Debug)]
struct Slice {
    /// Indexed with the default namespace `default` (a context object written without a
    /// namespace is in `default`).
    inv: Inventory,
    rbac: Rbac,
    prepared: Prepared,
    /// The same without what a decision on an object of most kinds never reads (see [`lean`]).
    lean: Option<Box<Slice>>,
}

/// The slice of namespace `key` without what judging one object of another kind than those
/// of [`reads_the_whole_slice`] never reads, which a decision would otherwise copy and walk:
/// - its RBAC objects (Roles, ClusterRoles and their bindings; a cluster's ClusterRoles are
///   many and large): RBAC checks run only on RBAC objects, and no other check reads them;
/// - the Namespace objects of other namespaces than `key` and kube-system (a cluster has
///   hundreds): their labels matter only to pods in them, and a slice holds no pods of other
///   namespaces; only NetworkPolicy peers (MLG-NET-008: a namespaceSelector that matches no
///   namespace) and Namespace objects themselves are judged against them. kube-system stays
///   for the DNS pod every network has.
///
/// Only when the slice holds the Namespace object: namespace-level findings land on it, where
/// without it they would land on the namespace's first object, which could be an RBAC object.
/// None when there is nothing to leave out, or for the slice of every object (`*`). The tests
/// `prepared_facts_change_no_decision` (every object of examples/ and of the shared corpus)
/// and `lean_slices_change_no_decision` (a cluster whose NetworkPolicy selects other
/// namespaces by label) require the same decisions as with the whole slice.
fn lean(key: &str, inv: &Inventory) -> Option<Box<Slice>> {
    let left_out = |o: &mlguard_core::Object| {
        (o.group() == "rbac.authorization.k8s.io" && is_rbac_kind(&o.kind))
            || (o.kind == "Namespace"
                && o.api_version == "v1"
                && o.name != key
                && o.name != "kube-system")
    };
    if key == "*"
        || !inv.objects.iter().any(left_out)
        || !inv
            .objects
            .iter()
            .any(|o| o.kind == "Namespace" && o.api_version == "v1" && o.name == key)
    {
        return None;
    }
    let objects = inv
        .objects
        .iter()
        .filter(|o| !left_out(o))
        .cloned()
        .collect();
    let inv = Inventory::new(with_their_files(objects, &inv.files), "default");
    Some(Box::new(Slice {
        rbac: Rbac::new(&inv),
        prepared: Prepared::new(&inv),
        inv,
        lean: None,
    }))
}

/// `objects` with only the files they come from, in their order (a decision copies them),
/// each object's `file` renumbered.
fn with_their_files(
    mut objects: Vec<mlguard_core::Object>,
    files: &[mlguard_core::load::SourceFile],
) -> Loaded {
    let mut used: Vec<usize> = objects.iter().map(|o| o.file).collect();
    used.sort_unstable();
    used.dedup();
    for o in &mut objects {
        o.file = used.partition_point(|&f| f < o.file);
    }
    Loaded {
        files: used.iter().map(|&f| files[f].clone()).collect(),
        objects,
        errors: Vec::new(),
        notes: Vec::new(),
    }
}

/// Kinds whose decisions read what a lean slice leaves out (see [`lean`]): RBAC objects, and
/// the checks on a NetworkPolicy or a Namespace that look at other namespaces.
fn reads_the_whole_slice(kind: &str) -> bool {
    is_rbac_kind(kind) || matches!(kind, "NetworkPolicy" | "Namespace")
}

/// Kinds whose objects make the RBAC model: replacing one of them rebuilds it.
fn is_rbac_kind(kind: &str) -> bool {
    matches!(
        kind,
        "Role" | "RoleBinding" | "ClusterRole" | "ClusterRoleBinding"
    )
}

impl Context {
    pub fn new(mut loaded: Loaded) -> Context {
        let mut shared = Vec::new();
        let mut by_namespace: HashMap<String, Vec<usize>> = HashMap::new();
        let mut modes = HashMap::new();
        for (i, o) in loaded.objects.iter_mut().enumerate() {
            if o.kind == "Policy" && o.group() == "audit.k8s.io" {
                continue;
            }
            if is_cluster_scoped(&o.kind) {
                if o.kind == "Namespace" && o.api_version == "v1" {
                    // An unknown value is `enforce`, the strict reading.
                    let mode = o.label(ENFORCEMENT_LABEL).and_then(Mode::parse);
                    modes.insert(o.name.clone(), mode.unwrap_or_default());
                }
                shared.push(i);
                continue;
            }
            let ns = o.namespace.get_or_insert_with(|| "default".to_owned());
            by_namespace.entry(ns.clone()).or_default().push(i);
        }
        Context {
            loaded,
            shared,
            by_namespace,
            modes,
            slices: Mutex::default(),
        }
    }

    /// Every object of the context, as read.
    pub fn loaded(&self) -> &Loaded {
        &self.loaded
    }

    /// How many objects the context holds.
    pub fn len(&self) -> usize {
        self.loaded.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.loaded.objects.is_empty()
    }

    /// What judging an object of `kind` in `namespace` named `name` reads, with its RBAC
    /// model: the cluster-scoped objects and those of the object's namespace (for a
    /// Namespace, its own); for another cluster-scoped kind (a ClusterRoleBinding grants in
    /// every namespace), every object.
    fn slice(&self, kind: &str, namespace: Option<&str>, name: &str) -> Arc<Slice> {
        let key = match namespace {
            Some(ns) => ns,
            None if kind == "Namespace" => name,
            // Not a valid namespace name, so it cannot collide with one.
            None => "*",
        };
        let mut slices = self.slices.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = slices.get(key) {
            return s.clone();
        }
        let objects: Vec<mlguard_core::Object> = if key == "*" {
            let mut all: Vec<usize> = self.shared.clone();
            all.extend(self.by_namespace.values().flatten());
            all.sort_unstable();
            all.into_iter()
                .map(|i| self.loaded.objects[i].clone())
                .collect()
        } else {
            let own = self
                .by_namespace
                .get(key)
                .map(Vec::as_slice)
                .unwrap_or_default();
            self.shared
                .iter()
                .chain(own)
                .map(|&i| self.loaded.objects[i].clone())
                .collect()
        };
        let inv = Inventory::new(with_their_files(objects, &self.loaded.files), "default");
        let rbac = Rbac::new(&inv);
        let prepared = Prepared::new(&inv);
        let lean = lean(key, &inv);
        let slice = Arc::new(Slice {
            prepared,
            inv,
            rbac,
            lean,
        });
        slices.insert(key.to_owned(), slice.clone());
        slice
    }
}

/// What the webhook judges with: its context objects and the scan settings.
#[derive(Debug)]
pub struct Judge {
    /// Namespaces, quotas, policies, RBAC... read at start (offline: --context-dir) or kept by
    /// watches (in cluster).
    pub context: Context,
    pub config: Config,
    pub exceptions: Exceptions,
    pub custom: Arc<CustomControls>,
    /// Findings at or above this severity deny in `enforce` mode.
    pub deny_at: Severity,
    pub today: Date,
}

/// One decision, before it is written as an AdmissionResponse.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    pub mode: Mode,
    /// Failed findings on the object, most severe first.
    pub findings: Vec<Finding>,
    /// The deny message, when denied.
    pub message: Option<String>,
    pub warnings: Vec<String>,
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(3)).collect();
    out.push_str("...");
    out
}

impl Default for Judge {
    /// No context, default settings, deny at high (as `mlguard scan --fail-on` defaults), today.
    fn default() -> Self {
        Judge {
            context: Context::default(),
            config: Config::default(),
            exceptions: Exceptions::default(),
            custom: Arc::default(),
            deny_at: Severity::High,
            today: Date::today(),
        }
    }
}

impl Judge {
    /// Judge one synthetic pod, so the first real request does not pay for what is built on
    /// first use (the control catalog, compiled patterns).
    pub fn warm_up(&self) {
        let review = serde_json::json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": "warm-up", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "name": "warm-up", "namespace": "mlguard-warm-up", "operation": "CREATE",
                "userInfo": {"username": "mlguard"},
                "object": {"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "warm-up", "labels": {"mlguard.io/workload": "training"}},
                    "spec": {"containers": [{"name": "c", "image": "x:latest",
                        "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}
            }
        });
        if let Ok(req) = decode(review.to_string().as_bytes()) {
            let _ = self.decide(&req);
        }
    }

    /// The same settings with another context.
    pub fn with_context(&self, context: Context) -> Judge {
        Judge {
            context,
            config: self.config.clone(),
            exceptions: self.exceptions.clone(),
            custom: self.custom.clone(),
            deny_at: self.deny_at,
            today: self.today,
        }
    }

    /// The enforcement mode of `namespace`: its label in the context, else `enforce`. An
    /// unknown value is `enforce` (the strict reading).
    pub fn mode(&self, namespace: Option<&str>) -> Mode {
        namespace
            .and_then(|ns| self.context.modes.get(ns))
            .copied()
            .unwrap_or_default()
    }

    /// Judge the object of `req` (its new state). DELETE, and requests without an object,
    /// are allowed: nothing is being created.
    pub fn decide(&self, req: &Admission) -> Decision {
        self.decide_with(req, true)
    }

    /// As [`Judge::decide`], without the facts prepared once per context (the policies of
    /// the namespace, parsed): every decision computes them again, as a scan does. The test
    /// `prepared_facts_change_no_decision` requires the same decisions from both.
    #[doc(hidden)]
    pub fn decide_unprepared(&self, req: &Admission) -> Decision {
        self.decide_with(req, false)
    }

    fn decide_with(&self, req: &Admission, use_prepared: bool) -> Decision {
        let mode = self.mode(req.namespace.as_deref());
        let allow = |findings: Vec<Finding>, warnings: Vec<String>| Decision {
            allowed: true,
            mode,
            findings,
            message: None,
            warnings,
        };
        let Some(obj) = req.object.as_ref() else {
            return allow(Vec::new(), Vec::new());
        };
        if matches!(req.operation, Operation::Delete | Operation::Connect) {
            return allow(Vec::new(), Vec::new());
        }
        let name = obj.name();
        let doc = document_name(req);
        let full = self
            .context
            .slice(&req.kind.kind, req.namespace.as_deref(), name);
        let object = load_object(req, obj);
        // An object of an RBAC kind (of any group: the RBAC checks go by kind), a
        // NetworkPolicy or a Namespace needs the whole slice; one other object is judged on
        // the lean slice when there is one.
        let slice: &Slice = match &full.lean {
            Some(lean)
                if use_prepared
                    && !reads_the_whole_slice(&req.kind.kind)
                    && object.objects.len() == 1
                    && !object
                        .objects
                        .iter()
                        .any(|o| reads_the_whole_slice(&o.kind)) =>
            {
                lean
            }
            _ => &full,
        };
        let base = &slice.inv;
        // The object takes the place of its stored version, if the context has one, so that
        // the other objects keep their indices (and the slice's RBAC model stays valid).
        let stored = base.objects.iter().position(|o| {
            o.kind == req.kind.kind && o.name == name && o.namespace == req.namespace
        });
        // The prepared facts hold while the policies are those of the slice: the object
        // neither is one nor replaces one.
        let keeps_policies = object.objects.len() == 1
            && !object.objects.iter().any(Prepared::changed_by)
            && stored.is_none_or(|k| !Prepared::changed_by(&base.objects[k]));
        let default_ns = req.namespace.as_deref().unwrap_or("default");
        // Where the object lands (only findings on it are wanted), in an Inventory of the
        // slice and the object.
        let (inv, focus) = match (stored, object.objects.len()) {
            (Some(k), 1) => {
                let mut loaded = Loaded {
                    files: base.files.clone(),
                    objects: base.objects.clone(),
                    errors: Vec::new(),
                    notes: Vec::new(),
                };
                let file = loaded.files.len();
                loaded.files.extend(object.files);
                let mut o = object.objects.into_iter().next().expect("one object");
                o.file = file;
                loaded.objects[k] = o;
                loaded.errors.extend(object.errors);
                loaded.notes.extend(object.notes);
                (Inventory::new(loaded, default_ns), Some(k))
            }
            // Added after the slice's objects (a single object that replaces one is matched
            // above): only the new objects are indexed and checked.
            (_, n) => {
                let at = base.objects.len();
                let mut inv = base.clone();
                inv.extend(object, default_ns);
                (inv, (n == 1).then_some(at))
            }
        };
        let opts = ScanOptions {
            config: &self.config,
            exceptions: &self.exceptions,
            custom: &self.custom,
            today: self.today,
            focus,
            external: None,
        };
        let fresh;
        // An RBAC object under review changes the RBAC model; anything else leaves it as built.
        let rbac = if req.kind.group == "rbac.authorization.k8s.io" && is_rbac_kind(&req.kind.kind)
        {
            fresh = Rbac::new(&inv);
            &fresh
        } else {
            &slice.rbac
        };
        let report = if use_prepared && keeps_policies {
            scan_prepared(&inv, rbac, &opts, Some(&slice.prepared))
        } else {
            scan_with_rbac(&inv, rbac, &opts).0
        };
        let mut findings: Vec<Finding> = report
            .findings
            .into_iter()
            .filter(|f| f.status == FindingStatus::Failed && f.location.file == doc)
            .collect();
        findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.control.cmp(&b.control)));
        let (blocking, minor): (Vec<&Finding>, Vec<&Finding>) =
            findings.iter().partition(|f| f.severity >= self.deny_at);
        let line = |f: &Finding| cut(&format!("{}: {}", f.control, f.message), MAX_WARNING);
        match mode {
            Mode::Audit => allow(findings, Vec::new()),
            Mode::Warn => {
                let warnings = findings.iter().map(line).collect();
                allow(findings, warnings)
            }
            Mode::Enforce if blocking.is_empty() => {
                let warnings = minor.iter().map(|f| line(f)).collect();
                allow(findings, warnings)
            }
            Mode::Enforce => {
                let mut ids: Vec<&str> = blocking.iter().map(|f| f.control.as_str()).collect();
                ids.dedup();
                let reasons: Vec<String> = blocking
                    .iter()
                    .map(|f| format!("{}: {}", f.control, f.message))
                    .collect();
                let message = format!(
                    "mlguard denied {} {}: {} ({})",
                    req.kind.kind,
                    name,
                    ids.join(", "),
                    reasons.join("; ")
                );
                let warnings = minor.iter().map(|f| line(f)).collect();
                Decision {
                    allowed: false,
                    mode,
                    message: Some(message),
                    warnings,
                    findings,
                }
            }
        }
    }
}

/// The object of `req` loaded as a document of its own, named `admission:<uid>` (its tree is
/// shared, not copied).
fn load_object(req: &Admission, obj: &ObjectTree) -> Loaded {
    mlguard_core::load::load_shared(&document_name(req), obj.document.clone())
}

/// The name of the document the object of `req` is loaded as; its findings name it.
fn document_name(req: &Admission) -> String {
    format!("admission:{}", req.uid)
}

/// The JSON patch operations the enabled `mutations` make to the object of `req` (none for
/// DELETE, CONNECT or a request without an object).
pub fn mutations(req: &Admission, m: &crate::mutate::Mutations) -> Vec<Value> {
    let Some(obj) = req.object.as_ref() else {
        return Vec::new();
    };
    if !m.any() || matches!(req.operation, Operation::Delete | Operation::Connect) {
        return Vec::new();
    }
    let loaded = load_object(req, obj);
    let inv = Inventory::new(loaded, req.namespace.as_deref().unwrap_or("default"));
    if inv.objects.is_empty() {
        return Vec::new();
    }
    crate::mutate::patch(&inv, 0, m)
}

/// The AdmissionReview allowing `req` with the patch `ops` (none when empty), as JSON: the
/// patch is a base64 string, as the API server's Go types write `[]byte`.
pub fn respond_patch(req: &Admission, ops: Vec<Value>) -> Result<Value, String> {
    let mut resp = req.response();
    if !ops.is_empty() {
        let patch: json_patch::Patch =
            serde_json::from_value(Value::Array(ops)).map_err(|e| e.to_string())?;
        resp = resp.with_patch(patch).map_err(|e| e.to_string())?;
    }
    let mut out = serde_json::to_value(resp.into_review()).map_err(|e| e.to_string())?;
    if let Some(bytes) = out["response"]["patch"].as_array() {
        let raw: Vec<u8> = bytes
            .iter()
            .filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
            .collect();
        use base64::Engine;
        out["response"]["patch"] =
            Value::String(base64::engine::general_purpose::STANDARD.encode(raw));
    }
    Ok(out)
}

/// The AdmissionReview answering `req` with `d`.
pub fn respond(req: &Admission, d: &Decision) -> AdmissionReview<DynamicObject> {
    let mut resp = req.response();
    if let Some(m) = &d.message {
        resp = resp.deny(m);
        // A proper Status: the API server shows code and reason with the message.
        resp.result = kube::core::Status::failure(m, "Forbidden").with_code(403);
    }
    let mut ids: Vec<&str> = d.findings.iter().map(|f| f.control.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    resp.audit_annotations
        .insert("controls".to_owned(), ids.join(","));
    resp.audit_annotations
        .insert("mode".to_owned(), d.mode.as_str().to_owned());
    if !d.warnings.is_empty() {
        resp.warnings = Some(d.warnings.clone());
    }
    resp.into_review()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast decoder gives what the careful one gives, field for field, for reviews whose
    /// objects have string type fields; the others take the careful path.
    #[test]
    fn fast_decode_matches_careful_decode() {
        let bodies = [
            r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"name":"x","namespace":"team-a","operation":"CREATE","userInfo":{"username":"u","groups":["g"]},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"a":"b"},"annotations":{"n":"1.50"}},"spec":{"containers":[{"name":"c","image":"i","resources":{"limits":{"cpu":1.5,"nvidia.com/gpu":8}}}]}},"oldObject":null,"dryRun":false,"options":{"apiVersion":"meta.k8s.io/v1","kind":"CreateOptions"}}}"#,
            r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u2","kind":{"group":"kubeflow.org","version":"v1","kind":"PyTorchJob"},"resource":{"group":"kubeflow.org","version":"v1","resource":"pytorchjobs"},"subResource":"status","requestKind":{"group":"kubeflow.org","version":"v1","kind":"PyTorchJob"},"name":"j","operation":"UPDATE","userInfo":{"username":"u"},"object":{"metadata":{"generateName":"j-"},"spec":{"x":[1,2.0,"3",null,true]}},"oldObject":{"metadata":{"name":"j"}}}}"#,
            // Objects whose type fields are missing, partial or not strings; an empty one; one
            // with only metadata; null objects.
            r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u4","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"operation":"UPDATE","userInfo":{},"object":{"apiVersion":"v1","spec":{"a":1}},"oldObject":{"kind":"Pod","apiVersion":7,"metadata":{"name":"o","uid":"x","labels":{}}}}}"#,
            r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u5","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE","userInfo":{"username":"u","extra":{"k":["v"]}},"object":{},"oldObject":null,"options":{"apiVersion":"meta.k8s.io/v1","kind":"CreateOptions","fieldManager":"kubectl"}}}"#,
            r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u6","kind":{"group":"","version":"v1","kind":"ConfigMap"},"resource":{"group":"","version":"v1","resource":"configmaps"},"operation":"CREATE","userInfo":{},"object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"c","creationTimestamp":"2026-01-02T03:04:05Z","ownerReferences":[{"apiVersion":"v1","kind":"Pod","name":"p","uid":"u"}]},"data":{"k":"v"},"binaryData":{}}}}"#,
            r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u7","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE","userInfo":{},"object":{"metadata":{"name":"m"}}}}"#,
            // An UPDATE whose old object is only checked, with duplicate keys (the last counts).
            r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u8","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"name":"p","namespace":"team-a","operation":"UPDATE","userInfo":{"username":"u"},"object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p"},"spec":{"b":1,"a":2,"b":[3]},"status":{}},"oldObject":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"x":"y"}},"spec":{"containers":[{"name":"c"}]}},"dryRun":true}}"#,
            r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u3","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"name":"x","operation":"DELETE","userInfo":{"username":"u"},"oldObject":{"metadata":{"name":"x"}}},"response":null}"#,
        ];
        let mut fast_ones = 0;
        for b in bodies {
            let review: Value = serde_json::from_str(b).expect("json");
            let typed =
                |o: &Value| o.is_null() || (o["apiVersion"].is_string() && o["kind"].is_string());
            let r = &review["request"];
            let careful = decode_careful(b.as_bytes()).expect("decodes");
            let careful = Admission::from_request(careful);
            match decode_fast(b.as_bytes()) {
                Some(fast) => {
                    assert_eq!(fast, careful, "{b}");
                    fast_ones += 1;
                }
                None => assert!(!(typed(&r["object"]) && typed(&r["oldObject"])), "{b}"),
            }
            assert_eq!(decode(b.as_bytes()).expect("decodes"), careful);
        }
        assert_eq!(fast_ones, 3);
    }
    /// The tree `ObjectTree::new` builds from an object's parts is the tree of the object's
    /// JSON (as written before: the whole object to JSON, type fields, name and namespace
    /// set), for every object of examples/ and the shared corpus, as CREATE (named, and
    /// with only `generateName`) in the request's namespace and without one.
    #[test]
    fn object_tree_is_the_json_tree() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let mut paths = vec![format!("{root}/examples")];
        let corpus = format!("{root}/../shared/corpus/manifests");
        if std::path::Path::new(&corpus).is_dir() {
            paths.push(corpus);
        }
        let all = mlguard_core::load(&paths, &mlguard_core::LoadOptions::default());
        assert!(all.objects.len() > 100, "{} objects", all.objects.len());
        let mut checked = 0;
        for o in &all.objects {
            let mut object = o.root.to_json();
            for (generate, namespace) in [(false, Some("team-a")), (true, None)] {
                if generate {
                    if let Some(m) = object["metadata"].as_object_mut() {
                        m.remove("name");
                        m.insert("generateName".into(), "g-".into());
                    }
                }
                let (group, version) = match o.api_version.split_once('/') {
                    Some((g, v)) => (g, v),
                    None => ("", o.api_version.as_str()),
                };
                let review = serde_json::json!({
                    "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                    "request": {
                        "uid": "u", "kind": {"group": group, "version": version, "kind": o.kind},
                        "resource": {"group": group, "version": version, "resource": "r"},
                        "name": "from-request", "namespace": namespace, "operation": "CREATE",
                        "userInfo": {}, "object": object,
                    }
                });
                let body = review.to_string();
                let Ok(req) = decode(body.as_bytes()) else {
                    continue; // metadata kube's types refuse: a 400 before any tree is built
                };
                assert!(
                    decode_fast(body.as_bytes()).is_some(),
                    "{} {}",
                    o.kind,
                    o.name
                );
                let obj = req.object.as_ref().expect("object");
                let (tree, name) = (obj.document(), obj.name().to_owned());
                let doc = load_object(&req, obj).files[0].path.clone();
                // As written before: kube's object to JSON, then the request's facts set.
                let careful = decode_careful(body.as_bytes()).expect("decodes");
                let mut want = serde_json::to_value(careful.object).expect("json");
                want["apiVersion"] = Value::String(o.api_version.clone());
                want["kind"] = Value::String(o.kind.clone());
                want["metadata"]["name"] = Value::String(name.clone());
                if let Some(ns) = namespace {
                    want["metadata"]["namespace"] = Value::String(ns.to_owned());
                }
                let want =
                    mlguard_core::Node::from_json(&want, mlguard_core::Pos { line: 1, column: 1 });
                assert_eq!(*tree, want, "{} {}", o.kind, o.name);
                assert_eq!(doc, "admission:u");
                if generate && o.root.at("metadata").is_some() {
                    assert_eq!(name, "g-");
                }
                checked += 1;
            }
        }
        assert!(checked > 200, "{checked} objects checked");
    }
    /// A slice keeps only the files its objects come from, and each object still names its
    /// own file (as its finding locations do): for every namespace's slice, the cluster-wide
    /// one and the lean ones, of examples/.
    #[test]
    fn slices_keep_their_objects_files() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
        let loaded = mlguard_core::load(&[root.to_owned()], &mlguard_core::LoadOptions::default());
        let path = |o: &mlguard_core::Object| loaded.files[o.file].path.clone();
        let want: HashMap<(String, Option<String>, String), String> = loaded
            .objects
            .iter()
            .map(|o| {
                (
                    (o.kind.clone(), o.namespace.clone(), o.name.clone()),
                    path(o),
                )
            })
            .collect();
        let context = Context::new(loaded.clone());
        let mut keys: Vec<Option<&str>> = context
            .by_namespace
            .keys()
            .map(|k| Some(k.as_str()))
            .collect();
        keys.push(None);
        let mut checked = 0;
        for ns in keys {
            let slice = context.slice("ConfigMap", ns, "x");
            for inv in std::iter::once(&slice.inv).chain(slice.lean.as_ref().map(|l| &l.inv)) {
                assert!(inv.files.len() < loaded.files.len() || ns.is_none());
                for o in &inv.objects {
                    // A namespaced object read without a namespace is in `default` here.
                    let key = (o.kind.clone(), o.namespace.clone(), o.name.clone());
                    let unset = (o.kind.clone(), None, o.name.clone());
                    let file = want
                        .get(&key)
                        .or_else(|| want.get(&unset))
                        .expect("known object");
                    assert_eq!(
                        inv.file_of(o),
                        file,
                        "{} {:?} {}",
                        o.kind,
                        o.namespace,
                        o.name
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 100, "{checked}");
    }
}
