//! The MLTenant resource (`mlguard.io/v1alpha1`, cluster-scoped): its types, and reading it
//! from YAML with errors at file, line and field.
//!
//! Decoding is strict: an unknown field is an error (a misspelled `namespace` must not silently
//! drop a restriction). After decoding, [`validate`] checks what the types cannot say (names,
//! CIDRs, quantities, port ranges, subjects), and across tenants that no namespace belongs to
//! two of them.

use kube::CustomResource;
use mlguard_core::{At, InputError, Object};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const API_VERSION: &str = "mlguard.io/v1alpha1";
pub const KIND: &str = "MLTenant";

/// Data classification (`mlguard.io/data-classification`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Classification {
    Public,
    Internal,
    Confidential,
    Pii,
    Phi,
    Pci,
}

impl Classification {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Internal => "internal",
            Self::Confidential => "confidential",
            Self::Pii => "pii",
            Self::Phi => "phi",
            Self::Pci => "pci",
        }
    }

    pub fn is_regulated(self) -> bool {
        matches!(self, Self::Pii | Self::Phi | Self::Pci)
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Framework {
    Hipaa,
    Soc2,
    Gdpr,
}

impl Framework {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hipaa => "hipaa",
            Self::Soc2 => "soc2",
            Self::Gdpr => "gdpr",
        }
    }
}

/// What a namespace is for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Training,
    Serving,
    Notebooks,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Training => "training",
            Self::Serving => "serving",
            Self::Notebooks => "notebooks",
        }
    }
}

/// Pod Security Standards level enforced on the namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum PodSecurity {
    #[default]
    Restricted,
    Baseline,
    Privileged,
}

impl PodSecurity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Restricted => "restricted",
            Self::Baseline => "baseline",
            Self::Privileged => "privileged",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantNamespace {
    pub name: String,
    pub role: Role,
    /// Overrides the tenant's quota for this namespace.
    #[serde(default)]
    pub quota: Option<Quota>,
    /// Overrides the tenant's Pod Security level (RDMA training needs `privileged` for
    /// IPC_LOCK; prefer a device plugin resource where possible).
    #[serde(default)]
    pub pod_security: Option<PodSecurity>,
}

/// Who holds a role.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subjects {
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub users: Vec<String>,
    /// `namespace/name`, or `name` for that service account in every tenant namespace.
    #[serde(default)]
    pub service_accounts: Vec<String>,
}

impl Subjects {
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.users.is_empty() && self.service_accounts.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Members {
    /// Run and manage ML workloads; read logs. No Secrets, no exec in regulated namespaces.
    #[serde(default)]
    pub engineers: Subjects,
    /// Read ML workloads and logs.
    #[serde(default)]
    pub viewers: Subjects,
    /// Engineers, plus writing (never reading) Secrets and managing service accounts.
    #[serde(default)]
    pub admins: Subjects,
}

/// Resource quota of a namespace. GPU keys are always `requests.` keys (extended resources
/// have no `limits.` quota).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Quota {
    /// Whole GPUs (`requests.nvidia.com/gpu`); 0 when absent, so GPU use is always bounded.
    #[serde(default)]
    pub gpus: Option<u32>,
    /// MIG profiles: `1g.10gb: 4` is `requests.nvidia.com/mig-1g.10gb: 4`.
    #[serde(default)]
    pub mig: BTreeMap<String, u32>,
    /// DRA device classes: `gpu.nvidia.com: 2` is
    /// `gpu.nvidia.com.deviceclass.resource.k8s.io/devices: 2`.
    #[serde(default)]
    pub device_classes: BTreeMap<String, u32>,
    #[serde(default)]
    pub cpu: Option<String>,
    #[serde(default)]
    pub memory: Option<String>,
    #[serde(default)]
    pub pvcs: Option<u32>,
    #[serde(default)]
    pub storage: Option<String>,
}

/// LimitRange for containers: defaults and maxima.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Limits {
    #[serde(default)]
    pub default_cpu: Option<String>,
    #[serde(default)]
    pub default_memory: Option<String>,
    #[serde(default)]
    pub default_request_cpu: Option<String>,
    #[serde(default)]
    pub default_request_memory: Option<String>,
    #[serde(default)]
    pub max_cpu: Option<String>,
    #[serde(default)]
    pub max_memory: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Kueue {
    /// The ClusterQueue the tenant's LocalQueue points at.
    pub cluster_queue: String,
    /// The LocalQueue's name in each training namespace (default `default`).
    #[serde(default)]
    pub name: Option<String>,
}

/// How replicas of a training job talk to each other (NCCL, Gloo, c10d).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum CollectiveMode {
    /// Every TCP port (NCCL picks ephemeral ports).
    #[default]
    AllTcp,
    /// The pinned `net.ipv4.ip_local_port_range` of the pods, plus 29500 and 29400.
    PortRange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Collective {
    #[serde(default)]
    pub mode: CollectiveMode,
    /// With `port-range`: the first and last port of the pods' ip_local_port_range.
    #[serde(default)]
    pub from: Option<u16>,
    #[serde(default)]
    pub to: Option<u16>,
}

/// A Kubernetes label selector.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelectorRequirement {
    pub key: String,
    pub operator: SelectorOperator,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum SelectorOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// Where models and data live: an address block, or pods in the cluster (MinIO).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StorageEndpoint {
    #[serde(default)]
    pub cidr: Option<String>,
    /// Namespaces whose pods serve the storage (with `podSelector`: those pods only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<LabelSelector>,
    /// TCP ports; empty: all.
    #[serde(default)]
    pub ports: Vec<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Network {
    #[serde(default)]
    pub collective: Collective,
    #[serde(default)]
    pub storage_endpoints: Vec<StorageEndpoint>,
    /// Namespaces whose pods may call the tenant's serving endpoints.
    #[serde(default)]
    pub serving_callers: Vec<String>,
    /// Mutual TLS between pods, enforced by the service mesh: `istio` renders a STRICT
    /// PeerAuthentication in every namespace of the tenant.
    #[serde(default)]
    pub mtls: Option<Mesh>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mesh {
    Istio,
}

/// Where model keys come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum KeyProviderKind {
    Vault,
    AwsKms,
    Pkcs11,
    Age,
    Secret,
}

impl KeyProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vault => "vault",
            Self::AwsKms => "aws-kms",
            Self::Pkcs11 => "pkcs11",
            Self::Age => "age",
            Self::Secret => "secret",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyProvider {
    #[serde(rename = "type")]
    pub kind: KeyProviderKind,
    /// Provider parameters (Vault: address, role, keyPath; AWS KMS: region, keyId; PKCS#11:
    /// module, tokenLabel, keyLabel; age: recipientsSecret; Secret: secretName).
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
}

/// Audit logging of the tenant's ML objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub enum AuditWrites {
    Request,
    RequestResponse,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Audit {
    /// Level for writes of ML objects; default by classification (RequestResponse when
    /// regulated, else Request). Never below what the classification needs.
    #[serde(default)]
    pub writes: Option<AuditWrites>,
}

/// An ML team on a shared cluster: its namespaces, members, classification, quota, network
/// needs, model key provider and audit level. Rendered into the objects that set the team up
/// (docs/tenants.md) and kept by `mlguard operator`.
#[derive(CustomResource, Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[kube(
    group = "mlguard.io",
    version = "v1alpha1",
    kind = "MLTenant",
    shortname = "mlt",
    status = "MLTenantStatus",
    printcolumn = r#"{"name":"Classification","type":"string","jsonPath":".spec.classification"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MLTenantSpec {
    pub classification: Classification,
    #[serde(default)]
    pub frameworks: Vec<Framework>,
    pub namespaces: Vec<TenantNamespace>,
    #[serde(default)]
    pub members: Members,
    #[serde(default)]
    pub quota: Quota,
    #[serde(default)]
    pub limits: Option<Limits>,
    #[serde(default)]
    pub kueue: Option<Kueue>,
    #[serde(default)]
    pub network: Network,
    #[serde(default)]
    pub key_provider: Option<KeyProvider>,
    #[serde(default)]
    pub audit: Audit,
    #[serde(default)]
    pub pod_security: Option<PodSecurity>,
}

/// What the operator reports on a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct MLTenantStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// A status condition (`Ready`, `Degraded`), as Kubernetes conditions are written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    pub reason: String,
    pub message: String,
    pub last_transition_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// A tenant as read: its name, spec, and where it was written.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub name: String,
    pub spec: MLTenantSpec,
    pub file: String,
    /// The object's root, to point errors found later (overlaps) at fields.
    pub object: Object,
}

fn err(file: &str, at: &At<'_>, msg: impl Into<String>) -> InputError {
    InputError::at(file, at, msg)
}

/// The node at a serde path like `spec.namespaces[1].role`, or the nearest existing parent.
fn node_at<'a>(root: At<'a>, path: &str) -> At<'a> {
    let mut cur = root;
    for seg in path.split('.') {
        let (key, idx) = match seg.find('[') {
            Some(p) => (&seg[..p], Some(&seg[p..])),
            None => (seg, None),
        };
        if !key.is_empty() {
            match cur.get(key) {
                Some(n) => cur = n,
                None => return cur,
            }
        }
        if let Some(idx) = idx {
            for part in idx.split(']').filter(|s| !s.is_empty()) {
                let Ok(i) = part.trim_start_matches('[').parse::<usize>() else {
                    return cur;
                };
                let next = cur.items().nth(i);
                match next {
                    Some(n) => cur = n,
                    None => return cur,
                }
            }
        }
    }
    cur
}

/// Read the MLTenant objects of loaded files. Objects of other kinds are ignored.
pub fn read(objects: &[(String, Object)]) -> (Vec<Tenant>, Vec<InputError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (file, o) in objects {
        if o.kind != KIND {
            continue;
        }
        let root = o.at();
        if o.api_version != API_VERSION {
            errors.push(InputError {
                file: file.clone(),
                pos: Some(root.pos()),
                field: Some("apiVersion".to_owned()),
                message: format!("expected {API_VERSION}, found {}", o.api_version),
            });
            continue;
        }
        if o.name.is_empty() {
            errors.push(err(file, &root, "an MLTenant needs metadata.name"));
            continue;
        }
        if o.namespace.is_some() {
            let at = root.at(&["metadata", "namespace"]).unwrap_or(root.clone());
            errors.push(err(
                file,
                &at,
                "MLTenant is cluster-scoped: remove metadata.namespace",
            ));
            continue;
        }
        let Some(spec_at) = root.get("spec") else {
            errors.push(err(file, &root, "an MLTenant needs a spec"));
            continue;
        };
        let value = spec_at.node.to_json();
        let spec: MLTenantSpec = match serde_path_to_error::deserialize(&value) {
            Ok(s) => s,
            Err(e) => {
                let path = e.path().to_string();
                let at = node_at(spec_at.clone(), &path);
                let mut msg = e.inner().to_string();
                if let Some(p) = msg.find(" at line ") {
                    msg.truncate(p);
                }
                errors.push(InputError {
                    file: file.clone(),
                    pos: Some(at.pos()),
                    field: Some(format!("spec.{path}")),
                    message: msg,
                });
                continue;
            }
        };
        let before = errors.len();
        validate(file, &spec_at, &spec, &mut errors);
        if errors.len() == before {
            out.push(Tenant {
                name: o.name.clone(),
                spec,
                file: file.clone(),
                object: o.clone(),
            });
        }
    }
    // A namespace belongs to one tenant.
    let mut owner: BTreeMap<&str, &Tenant> = BTreeMap::new();
    for t in &out {
        for (i, ns) in t.spec.namespaces.iter().enumerate() {
            if let Some(prev) = owner.insert(&ns.name, t) {
                if prev.name != t.name {
                    let root = t.object.at();
                    let at = node_at(root, &format!("spec.namespaces[{i}].name"));
                    errors.push(err(
                        &t.file,
                        &at,
                        format!(
                            "namespace `{}` already belongs to MLTenant `{}` ({})",
                            ns.name, prev.name, prev.file
                        ),
                    ));
                }
            }
        }
    }
    if errors.is_empty() {
        (out, errors)
    } else {
        // Nothing half-applied: with any error, no tenant is rendered.
        (Vec::new(), errors)
    }
}

pub use mlguard_audit::probe::is_dns_label;

/// A Kubernetes quantity (`500m`, `16Gi`, `1.5`, `2e3`).
pub fn is_quantity(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let digits_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(digits_end);
    let dots = num.matches('.').count();
    if num.is_empty() || num == "." || dots > 1 {
        return false;
    }
    matches!(
        suffix,
        "" | "Ki"
            | "Mi"
            | "Gi"
            | "Ti"
            | "Pi"
            | "Ei"
            | "n"
            | "u"
            | "m"
            | "k"
            | "M"
            | "G"
            | "T"
            | "P"
            | "E"
    ) || (suffix.len() > 1 && matches!(suffix.as_bytes()[0], b'e' | b'E') && {
        let exp = &suffix[1..];
        let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        !exp.is_empty() && exp.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The value of a Kubernetes quantity (`500m` is 0.5, `16Gi` is 17179869184), for
/// comparisons; `None` when it is not one.
pub fn quantity_value(s: &str) -> Option<f64> {
    if !is_quantity(s) {
        return None;
    }
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-')))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(end);
    let n: f64 = num.parse().ok()?;
    let k: f64 = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        e => 10f64.powi(e[1..].parse().ok()?),
    };
    Some(n * k)
}

/// Groups no tenant may bind (they reach everyone): MLG-RBAC-005.
const FORBIDDEN_GROUPS: &[&str] = &[
    "system:authenticated",
    "system:unauthenticated",
    "system:serviceaccounts",
    "system:masters",
];

fn validate(file: &str, spec_at: &At<'_>, spec: &MLTenantSpec, errors: &mut Vec<InputError>) {
    let at = |path: &str| node_at(spec_at.clone(), path);
    if spec.namespaces.is_empty() {
        errors.push(err(
            file,
            &at("namespaces"),
            "an MLTenant needs at least one namespace",
        ));
    }
    let mut seen = BTreeMap::new();
    for (i, ns) in spec.namespaces.iter().enumerate() {
        let p = format!("namespaces[{i}].name");
        if !is_dns_label(&ns.name) {
            errors.push(err(
                file,
                &at(&p),
                format!(
                    "`{}` is not a namespace name (lowercase letters, digits and `-`, at most 63)",
                    ns.name
                ),
            ));
        }
        if ns.name.starts_with("kube-") || ns.name == "default" {
            errors.push(err(
                file,
                &at(&p),
                format!("`{}` is a system namespace", ns.name),
            ));
        }
        if seen.insert(ns.name.clone(), i).is_some() {
            errors.push(err(
                file,
                &at(&p),
                format!("namespace `{}` is listed twice", ns.name),
            ));
        }
        if let Some(q) = &ns.quota {
            quota(file, &at(&format!("namespaces[{i}].quota")), q, errors);
        }
    }
    quota(file, &at("quota"), &spec.quota, errors);
    if let Some(l) = &spec.limits {
        for (k, v) in [
            ("defaultCpu", &l.default_cpu),
            ("defaultMemory", &l.default_memory),
            ("defaultRequestCpu", &l.default_request_cpu),
            ("defaultRequestMemory", &l.default_request_memory),
            ("maxCpu", &l.max_cpu),
            ("maxMemory", &l.max_memory),
        ] {
            if let Some(v) = v {
                if !is_quantity(v) {
                    errors.push(err(
                        file,
                        &at(&format!("limits.{k}")),
                        format!("`{v}` is not a quantity"),
                    ));
                }
            }
        }
    }
    for (role, s, key) in [
        ("engineers", &spec.members.engineers, "members.engineers"),
        ("viewers", &spec.members.viewers, "members.viewers"),
        ("admins", &spec.members.admins, "members.admins"),
    ] {
        for (i, g) in s.groups.iter().enumerate() {
            if FORBIDDEN_GROUPS.contains(&g.as_str()) || g.is_empty() {
                errors.push(err(
                    file,
                    &at(&format!("{key}.groups[{i}]")),
                    format!("{role}: group `{g}` would grant the role to everyone in it; name the team's own group"),
                ));
            }
        }
        for (i, u) in s.users.iter().enumerate() {
            if u.is_empty() || u.starts_with("system:") {
                errors.push(err(
                    file,
                    &at(&format!("{key}.users[{i}]")),
                    format!("{role}: `{u}` is not a team user"),
                ));
            }
        }
        for (i, sa) in s.service_accounts.iter().enumerate() {
            let ok = match sa.split_once('/') {
                Some((ns, name)) => is_dns_label(ns) && !name.is_empty() && !name.contains('/'),
                None => !sa.is_empty(),
            };
            if !ok {
                errors.push(err(
                    file,
                    &at(&format!("{key}.serviceAccounts[{i}]")),
                    format!("{role}: `{sa}` is not `namespace/name` or `name`"),
                ));
            }
        }
    }
    let c = &spec.network.collective;
    match c.mode {
        CollectiveMode::AllTcp => {
            if c.from.is_some() || c.to.is_some() {
                errors.push(err(
                    file,
                    &at("network.collective"),
                    "from/to are for `mode: port-range`",
                ));
            }
        }
        CollectiveMode::PortRange => match (c.from, c.to) {
            (Some(f), Some(t)) if f >= 1024 && f <= t => {}
            _ => errors.push(err(
                file,
                &at("network.collective"),
                "`mode: port-range` needs `from` and `to` (1024 <= from <= to), the pods' net.ipv4.ip_local_port_range",
            )),
        },
    }
    for (i, e) in spec.network.storage_endpoints.iter().enumerate() {
        let p = format!("network.storageEndpoints[{i}]");
        match (
            &e.cidr,
            e.namespace_selector.is_some() || e.pod_selector.is_some(),
        ) {
            (Some(c), false) => {
                if let Err(m) = mlguard_netpol::ip::Cidr::parse(c) {
                    errors.push(err(file, &at(&format!("{p}.cidr")), format!("`{c}`: {m}")));
                }
            }
            (None, true) => {}
            _ => errors.push(err(
                file,
                &at(&p),
                "a storage endpoint is a `cidr`, or a `namespaceSelector` and/or `podSelector`",
            )),
        }
        for (j, port) in e.ports.iter().enumerate() {
            if *port == 0 {
                errors.push(err(file, &at(&format!("{p}.ports[{j}]")), "port 0"));
            }
        }
    }
    for (i, n) in spec.network.serving_callers.iter().enumerate() {
        if !is_dns_label(n) {
            errors.push(err(
                file,
                &at(&format!("network.servingCallers[{i}]")),
                format!("`{n}` is not a namespace name"),
            ));
        }
    }
    if let Some(k) = &spec.kueue {
        if !is_dns_label(&k.cluster_queue) {
            errors.push(err(
                file,
                &at("kueue.clusterQueue"),
                format!("`{}` is not a queue name", k.cluster_queue),
            ));
        }
    }
    if let Some(kp) = &spec.key_provider {
        let need: &[&str] = match kp.kind {
            KeyProviderKind::Vault => &["address", "role", "keyPath"],
            KeyProviderKind::AwsKms => &["region", "keyId"],
            KeyProviderKind::Pkcs11 => &["module", "tokenLabel", "keyLabel"],
            KeyProviderKind::Age => &["recipientsSecret"],
            KeyProviderKind::Secret => &["secretName"],
        };
        let missing: Vec<&str> = need
            .iter()
            .filter(|k| !kp.parameters.contains_key(**k))
            .copied()
            .collect();
        if !missing.is_empty() {
            errors.push(err(
                file,
                &at("keyProvider.parameters"),
                format!(
                    "keyProvider {} needs parameters {}",
                    kp.kind.as_str(),
                    missing.join(", ")
                ),
            ));
        }
        for (k, v) in &kp.parameters {
            if !need.contains(&k.as_str()) {
                errors.push(err(
                    file,
                    &at(&format!("keyProvider.parameters.{k}")),
                    format!(
                        "unknown parameter `{k}` for keyProvider {} (known: {})",
                        kp.kind.as_str(),
                        need.join(", ")
                    ),
                ));
            }
            if kp.kind == KeyProviderKind::Vault && k == "address" && v.starts_with("http://") {
                errors.push(err(
                    file,
                    &at("keyProvider.parameters.address"),
                    "the key provider must be reached over TLS (https://)",
                ));
            }
        }
    }
    if let Some(AuditWrites::Request) = spec.audit.writes {
        if spec.classification.is_regulated() {
            errors.push(err(
                file,
                &at("audit.writes"),
                format!(
                    "{} data needs writes logged at RequestResponse (MLG-AUD-001)",
                    spec.classification.as_str()
                ),
            ));
        }
    }
}

fn quota(file: &str, at: &At<'_>, q: &Quota, errors: &mut Vec<InputError>) {
    for (k, v) in [
        ("cpu", &q.cpu),
        ("memory", &q.memory),
        ("storage", &q.storage),
    ] {
        if let Some(v) = v {
            if !is_quantity(v) {
                let a = at.get(k).unwrap_or(at.clone());
                errors.push(err(file, &a, format!("`{v}` is not a quantity")));
            }
        }
    }
    for p in q.mig.keys() {
        let ok = !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.');
        if !ok {
            let a = at.at(&["mig", p]).unwrap_or(at.clone());
            errors.push(err(
                file,
                &a,
                format!("`{p}` is not a MIG profile (such as 1g.10gb)"),
            ));
        }
    }
    for c in q.device_classes.keys() {
        let ok = !c.is_empty() && c.len() <= 200 && c.split('.').all(is_dns_label);
        if !ok {
            let a = at.at(&["deviceClasses", c]).unwrap_or(at.clone());
            errors.push(err(file, &a, format!("`{c}` is not a DeviceClass name")));
        }
    }
}
