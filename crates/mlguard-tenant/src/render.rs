//! Rendering an MLTenant into the objects that set its team up, correct by construction:
//! every object passes the scan's controls (the dogfooding tests hold it to that).

use crate::spec::{
    Classification, CollectiveMode, KeyProviderKind, PodSecurity, Quota, Role, Subjects, Tenant,
    TenantNamespace,
};
use mlguard_audit::generate::NamespaceClass;
use mlguard_audit::ml::ML_RESOURCES;
use serde_json::{json, Map, Value};

pub const MANAGED_BY: &str = "mlguard";

/// Labels that pod selectors of training jobs' replicas carry, by the operator that makes
/// them: Kubeflow training-operator, JobSet (Kubeflow Trainer v2) and KubeRay.
pub const JOB_LABELS: &[(&str, &str)] = &[
    ("kubeflow", "training.kubeflow.org/job-name"),
    ("jobset", "jobset.sigs.k8s.io/jobset-name"),
    ("ray", "ray.io/cluster"),
];

/// The c10d rendezvous and the default torch.distributed master port.
pub const COLLECTIVE_FIXED_PORTS: &[u16] = &[29400, 29500];

fn labels(t: &Tenant) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("app.kubernetes.io/managed-by".into(), MANAGED_BY.into());
    m.insert("mlguard.io/tenant".into(), t.name.clone().into());
    m
}

fn meta(t: &Tenant, name: &str, ns: &str) -> Value {
    json!({"name": name, "namespace": ns, "labels": labels(t)})
}

fn namespace(t: &Tenant, ns: &TenantNamespace) -> Value {
    let pss = ns
        .pod_security
        .or(t.spec.pod_security)
        .unwrap_or(PodSecurity::Restricted)
        .as_str();
    let mut l = labels(t);
    l.insert(
        "mlguard.io/data-classification".into(),
        t.spec.classification.as_str().into(),
    );
    l.insert("mlguard.io/namespace-role".into(), ns.role.as_str().into());
    for mode in ["enforce", "audit", "warn"] {
        l.insert(format!("pod-security.kubernetes.io/{mode}"), pss.into());
    }
    let mut meta = json!({"name": ns.name, "labels": l});
    let mut ann = Map::new();
    if !t.spec.frameworks.is_empty() {
        let f: Vec<&str> = t.spec.frameworks.iter().map(|f| f.as_str()).collect();
        ann.insert("mlguard.io/frameworks".into(), f.join(",").into());
    }
    if let Some(kp) = &t.spec.key_provider {
        ann.insert("mlguard.io/key-provider".into(), kp.kind.as_str().into());
    }
    if !ann.is_empty() {
        meta["annotations"] = Value::Object(ann);
    }
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})
}

fn netpol(t: &Tenant, ns: &str, name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(t, name, ns),
        "spec": spec,
    })
}

fn network_policies(t: &Tenant, ns: &TenantNamespace) -> Vec<Value> {
    let n = &ns.name;
    let mut out = vec![
        netpol(
            t,
            n,
            "default-deny",
            json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        ),
        netpol(
            t,
            n,
            "allow-dns",
            json!({
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [{
                    "to": [{
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                    }],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                }],
            }),
        ),
    ];
    if ns.role == Role::Training {
        let c = &t.spec.network.collective;
        let ports: Vec<Value> = match c.mode {
            CollectiveMode::AllTcp => vec![json!({"protocol": "TCP"})],
            CollectiveMode::PortRange => {
                let mut p = vec![
                    json!({"protocol": "TCP", "port": c.from.unwrap_or(0), "endPort": c.to.unwrap_or(0)}),
                ];
                for fixed in COLLECTIVE_FIXED_PORTS {
                    let inside = c
                        .from
                        .zip(c.to)
                        .is_some_and(|(f, to)| (f..=to).contains(fixed));
                    if !inside {
                        p.push(json!({"protocol": "TCP", "port": fixed}));
                    }
                }
                p
            }
        };
        for (short, key) in JOB_LABELS {
            let sel = json!({"matchExpressions": [{"key": key, "operator": "Exists"}]});
            out.push(netpol(
                t,
                n,
                &format!("allow-collective-{short}"),
                json!({
                    "podSelector": sel,
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [{"from": [{"podSelector": sel}], "ports": ports}],
                    "egress": [{"to": [{"podSelector": sel}], "ports": ports}],
                }),
            ));
        }
    }
    let endpoints = &t.spec.network.storage_endpoints;
    if !endpoints.is_empty() {
        let rules: Vec<Value> = endpoints
            .iter()
            .map(|e| {
                let peer = match &e.cidr {
                    Some(c) => json!({"ipBlock": {"cidr": c}}),
                    None => {
                        let mut p = Map::new();
                        if let Some(s) = &e.namespace_selector {
                            p.insert("namespaceSelector".into(), json!(s));
                        }
                        if let Some(s) = &e.pod_selector {
                            p.insert("podSelector".into(), json!(s));
                        }
                        Value::Object(p)
                    }
                };
                let mut rule = json!({"to": [peer]});
                if !e.ports.is_empty() {
                    rule["ports"] = e
                        .ports
                        .iter()
                        .map(|p| json!({"protocol": "TCP", "port": p}))
                        .collect();
                }
                rule
            })
            .collect();
        out.push(netpol(
            t,
            n,
            "allow-model-storage",
            json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": rules}),
        ));
    }
    if ns.role == Role::Serving && !t.spec.network.serving_callers.is_empty() {
        out.push(netpol(
            t,
            n,
            "allow-serving-callers",
            json!({
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"namespaceSelector": {"matchExpressions": [{
                    "key": "kubernetes.io/metadata.name",
                    "operator": "In",
                    "values": t.spec.network.serving_callers,
                }]}}]}],
            }),
        ));
    }
    out
}

/// Namespaced ML resources by group (training jobs, notebooks, serving, Ray).
fn ml_rules(verbs: &[&str]) -> Vec<Value> {
    ML_RESOURCES
        .iter()
        .map(|(g, rs)| {
            let rs: Vec<&str> = rs
                .iter()
                .copied()
                .filter(|r| !r.starts_with("cluster"))
                .collect();
            json!({"apiGroups": [g], "resources": rs, "verbs": verbs})
        })
        .collect()
}

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];

fn role(t: &Tenant, ns: &str, name: &str, rules: Vec<Value>) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": meta(t, name, ns),
        "rules": rules,
    })
}

fn viewer_rules() -> Vec<Value> {
    let mut r = ml_rules(READ);
    r.push(json!({"apiGroups": [""], "resources": ["pods", "pods/log", "services", "events", "persistentvolumeclaims"], "verbs": READ}));
    r
}

fn engineer_rules(regulated: bool) -> Vec<Value> {
    let mut r = ml_rules(WRITE);
    r.push(json!({"apiGroups": [""], "resources": ["pods", "pods/log", "services", "events"], "verbs": READ}));
    r.push(json!({"apiGroups": [""], "resources": ["configmaps", "persistentvolumeclaims"], "verbs": WRITE}));
    r.push(json!({"apiGroups": ["kueue.x-k8s.io"], "resources": ["workloads"], "verbs": READ}));
    if !regulated {
        // Interactive debugging, only where no regulated data is.
        r.push(json!({"apiGroups": [""], "resources": ["pods/exec", "pods/portforward"], "verbs": ["create", "get"]}));
    }
    r
}

fn admin_rules(regulated: bool) -> Vec<Value> {
    let mut r = engineer_rules(regulated);
    // Write credentials for model storage without being able to read any back.
    r.push(json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "update", "patch", "delete"]}));
    r.push(json!({"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": WRITE}));
    r
}

fn subjects(s: &Subjects, ns: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for g in &s.groups {
        out.push(json!({"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": g}));
    }
    for u in &s.users {
        out.push(json!({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": u}));
    }
    for sa in &s.service_accounts {
        let (sa_ns, name) = sa.split_once('/').unwrap_or((ns, sa));
        out.push(json!({"kind": "ServiceAccount", "namespace": sa_ns, "name": name}));
    }
    out
}

fn rbac(t: &Tenant, ns: &TenantNamespace) -> Vec<Value> {
    let regulated = t.spec.classification.is_regulated();
    let mut out = Vec::new();
    for (name, rules, who) in [
        ("mlguard-viewer", viewer_rules(), &t.spec.members.viewers),
        (
            "mlguard-engineer",
            engineer_rules(regulated),
            &t.spec.members.engineers,
        ),
        (
            "mlguard-admin",
            admin_rules(regulated),
            &t.spec.members.admins,
        ),
    ] {
        out.push(role(t, &ns.name, name, rules));
        if !who.is_empty() {
            out.push(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": meta(t, name, &ns.name),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                "subjects": subjects(who, &ns.name),
            }));
        }
    }
    out
}

fn quota(t: &Tenant, ns: &TenantNamespace) -> Value {
    let q: &Quota = ns.quota.as_ref().unwrap_or(&t.spec.quota);
    let mut hard = Map::new();
    // Always bounded: no GPU quota would mean unlimited GPUs (MLG-QUOTA-001).
    hard.insert(
        "requests.nvidia.com/gpu".into(),
        q.gpus.unwrap_or(0).to_string().into(),
    );
    for (p, n) in &q.mig {
        hard.insert(format!("requests.nvidia.com/mig-{p}"), n.to_string().into());
    }
    for (c, n) in &q.device_classes {
        hard.insert(
            format!("{c}.deviceclass.resource.k8s.io/devices"),
            n.to_string().into(),
        );
    }
    if let Some(c) = &q.cpu {
        hard.insert("requests.cpu".into(), c.clone().into());
    }
    if let Some(m) = &q.memory {
        hard.insert("requests.memory".into(), m.clone().into());
    }
    if let Some(n) = q.pvcs {
        hard.insert("persistentvolumeclaims".into(), n.to_string().into());
    }
    if let Some(s) = &q.storage {
        hard.insert("requests.storage".into(), s.clone().into());
    }
    json!({
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": meta(t, "mlguard-quota", &ns.name),
        "spec": {"hard": hard},
    })
}

fn limit_range(t: &Tenant, ns: &TenantNamespace) -> Option<Value> {
    let l = t.spec.limits.as_ref()?;
    let pair = |cpu: &Option<String>, mem: &Option<String>| {
        let mut m = Map::new();
        if let Some(c) = cpu {
            m.insert("cpu".into(), c.clone().into());
        }
        if let Some(x) = mem {
            m.insert("memory".into(), x.clone().into());
        }
        m
    };
    let mut item = Map::new();
    item.insert("type".into(), "Container".into());
    for (k, m) in [
        ("default", pair(&l.default_cpu, &l.default_memory)),
        (
            "defaultRequest",
            pair(&l.default_request_cpu, &l.default_request_memory),
        ),
        ("max", pair(&l.max_cpu, &l.max_memory)),
    ] {
        if !m.is_empty() {
            item.insert(k.into(), Value::Object(m));
        }
    }
    Some(json!({
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": meta(t, "mlguard-limits", &ns.name),
        "spec": {"limits": [item]},
    }))
}

fn local_queue(t: &Tenant, ns: &TenantNamespace) -> Option<Value> {
    let k = t.spec.kueue.as_ref()?;
    if ns.role != Role::Training {
        return None;
    }
    Some(json!({
        "apiVersion": "kueue.x-k8s.io/v1beta1",
        "kind": "LocalQueue",
        "metadata": meta(t, k.name.as_deref().unwrap_or("default"), &ns.name),
        "spec": {"clusterQueue": k.cluster_queue},
    }))
}

/// A SecretProviderClass (Secrets Store CSI driver) for the model key, where the key provider
/// is one the driver serves (Vault). The other providers are reached by mlguard itself (AWS
/// KMS through the pod's cloud identity, PKCS#11 through the module, age and Secret through a
/// mounted Secret) and need no object here.
fn secret_provider(t: &Tenant, ns: &TenantNamespace) -> Option<Value> {
    let kp = t.spec.key_provider.as_ref()?;
    if kp.kind != KeyProviderKind::Vault || ns.role == Role::Notebooks {
        return None;
    }
    let p = |k: &str| kp.parameters.get(k).cloned().unwrap_or_default();
    let objects = format!(
        "- objectName: model-key\n  secretPath: {}\n  secretKey: key\n",
        p("keyPath")
    );
    Some(json!({
        "apiVersion": "secrets-store.csi.x-k8s.io/v1",
        "kind": "SecretProviderClass",
        "metadata": meta(t, "mlguard-model-key", &ns.name),
        "spec": {
            "provider": "vault",
            "parameters": {"vaultAddress": p("address"), "roleName": p("role"), "objects": objects},
        },
    }))
}

fn peer_authentication(t: &Tenant, ns: &TenantNamespace) -> Option<Value> {
    t.spec.network.mtls?;
    Some(json!({
        "apiVersion": "security.istio.io/v1",
        "kind": "PeerAuthentication",
        "metadata": meta(t, "default", &ns.name),
        "spec": {"mtls": {"mode": "STRICT"}},
    }))
}

/// Every object of the tenant, namespace by namespace, Namespaces first.
pub fn render(t: &Tenant) -> Vec<Value> {
    let mut out: Vec<Value> = t
        .spec
        .namespaces
        .iter()
        .map(|ns| namespace(t, ns))
        .collect();
    for ns in &t.spec.namespaces {
        out.extend(network_policies(t, ns));
        out.extend(rbac(t, ns));
        out.push(quota(t, ns));
        out.extend(limit_range(t, ns));
        out.extend(local_queue(t, ns));
        out.extend(secret_provider(t, ns));
        out.extend(peer_authentication(t, ns));
    }
    out
}

/// The tenant's namespaces for the audit policy, with the level their writes need.
pub fn audit_namespaces(t: &Tenant) -> Vec<NamespaceClass> {
    let c: Classification = t.spec.classification;
    let bodies =
        c.is_regulated() || t.spec.audit.writes == Some(crate::spec::AuditWrites::RequestResponse);
    t.spec
        .namespaces
        .iter()
        .map(|ns| NamespaceClass {
            name: ns.name.clone(),
            classification: c.as_str().to_owned(),
            request_response: bodies,
        })
        .collect()
}
