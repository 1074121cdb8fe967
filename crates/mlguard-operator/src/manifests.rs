//! What installs the operator: the CRD, its namespace, ServiceAccount, a least-privilege
//! ClusterRole and binding, the Role for its leader-election Lease, the Deployment (non-root, read-only root filesystem, probes) and
//! the namespace's NetworkPolicies.

use serde_json::{json, Value};

pub const NAMESPACE: &str = "mlguard-system";
pub const NAME: &str = "mlguard-operator";
/// The Role that lets the operator hold its leader-election Lease.
pub const LEASE_ROLE: &str = "mlguard-operator-leader-election";
/// Port of the health endpoints (`/healthz`, `/readyz`).
pub const HEALTH_PORT: u16 = 8080;

/// The verbs the operator needs on what it renders: read to watch drift, create and patch to
/// apply. Never delete (owner references let the garbage collector do it), never `*`.
const APPLY: &[&str] = &["get", "list", "watch", "create", "patch"];

/// Whether `image` is pinned by digest (`repo@sha256:<64 hex>`).
pub fn pinned(image: &str) -> bool {
    image.split_once("@sha256:").is_some_and(|(repo, d)| {
        !repo.is_empty() && d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

fn labels() -> Value {
    json!({"app.kubernetes.io/name": NAME, "app.kubernetes.io/managed-by": "mlguard"})
}

fn cluster_role() -> Value {
    let rule = |groups: &[&str], resources: &[&str], verbs: &[&str]| json!({"apiGroups": groups, "resources": resources, "verbs": verbs});
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": NAME, "labels": labels()},
        "rules": [
            rule(&["mlguard.io"], &["mltenants"], &["get", "list", "watch", "patch", "update"]),
            rule(&["mlguard.io"], &["mltenants/status"], &["get", "patch", "update"]),
            // Owner references with blockOwnerDeletion need update on the owner's finalizers.
            rule(&["mlguard.io"], &["mltenants/finalizers"], &["update"]),
            rule(&[""], &["namespaces", "resourcequotas", "limitranges"], APPLY),
            rule(&["networking.k8s.io"], &["networkpolicies"], APPLY),
            rule(&["rbac.authorization.k8s.io"], &["roles", "rolebindings"], APPLY),
            // Granting the tenant roles without holding their permissions: only these three.
            json!({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["escalate", "bind"],
                   "resourceNames": ["mlguard-viewer", "mlguard-engineer", "mlguard-admin"]}),
            rule(&["kueue.x-k8s.io"], &["localqueues"], APPLY),
            rule(&["secrets-store.csi.x-k8s.io"], &["secretproviderclasses"], APPLY),
            rule(&["security.istio.io"], &["peerauthentications"], APPLY),
            rule(&["", "events.k8s.io"], &["events"], &["create", "patch"]),
        ],
    })
}

/// Every object, in apply order.
pub fn manifests(image: &str) -> Vec<Value> {
    let mut out = vec![mlguard_tenant::crd::crd()];
    out.push(json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": NAMESPACE, "labels": {
            "app.kubernetes.io/managed-by": "mlguard",
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
        }},
    }));
    out.push(json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": labels()},
    }));
    out.push(cluster_role());
    out.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": NAME, "labels": labels()},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
    }));
    // Leader election: the one Lease, in the operator's own namespace only.
    out.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": LEASE_ROLE, "namespace": NAMESPACE, "labels": labels()},
        "rules": [
            // `create` cannot be limited by name (the object does not exist yet).
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "update"],
             "resourceNames": [NAME]},
        ],
    }));
    out.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": LEASE_ROLE, "namespace": NAMESPACE, "labels": labels()},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": LEASE_ROLE},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
    }));
    let probe = |path: &str| json!({"httpGet": {"path": path, "port": HEALTH_PORT}, "periodSeconds": 10, "failureThreshold": 3});
    out.push(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": labels()},
        "spec": {
            // Two replicas: the Lease lets one reconcile; the other takes over within 15 s.
            "replicas": 2,
            "selector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
            "template": {
                "metadata": {"labels": labels()},
                "spec": {
                    "serviceAccountName": NAME,
                    "securityContext": {
                        "runAsNonRoot": true,
                        "runAsUser": 65532,
                        "runAsGroup": 65532,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [{
                        "name": "operator",
                        "image": image,
                        "args": ["operator", "run", "--health-addr", format!("0.0.0.0:{HEALTH_PORT}")],
                        "ports": [{"name": "health", "containerPort": HEALTH_PORT}],
                        // The Lease holder's identity and namespace.
                        "env": [
                            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                        ],
                        "livenessProbe": probe("/healthz"),
                        "readinessProbe": probe("/readyz"),
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "128Mi"},
                            "limits": {"cpu": "1", "memory": "512Mi"},
                        },
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "readOnlyRootFilesystem": true,
                            "capabilities": {"drop": ["ALL"]},
                        },
                    }],
                },
            },
        },
    }));
    let np = |name: &str, spec: Value| {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
               "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels()}, "spec": spec})
    };
    out.push(np(
        "default-deny",
        json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
    ));
    out.push(np(
        "operator",
        json!({
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
            "policyTypes": ["Ingress", "Egress"],
            // The kubelet's probes come from the node; no other ingress.
            "ingress": [{"ports": [{"protocol": "TCP", "port": HEALTH_PORT}]}],
            "egress": [
                {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                         "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                 "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
                // The API server (its address is the cluster's; the port is fixed).
                {"ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]},
            ],
        }),
    ));
    out
}
