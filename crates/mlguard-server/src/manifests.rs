//! What installs the admission webhook (`mlguard webhook manifests`): its ServiceAccount, the
//! ClusterRole that lets it watch its decision context (list and watch on the kinds of
//! `cache::CONTEXT_KINDS`, nothing else) and its binding, the Deployment (two replicas,
//! `--in-cluster`, non-root, read-only root filesystem, probes), a PodDisruptionBudget, the
//! Service, NetworkPolicies, and the
//! ValidatingWebhookConfiguration (caBundle, a namespaceSelector that never includes
//! kube-system or mlguard's own namespace, matchConditions, failurePolicy Fail, timeoutSeconds 5).
//!
//! With mutations asked for (`--mutate`), also the MutatingWebhookConfiguration (`/mutate`,
//! reinvocationPolicy IfNeeded, the same namespaceSelector, failurePolicy Fail), and the
//! Deployment passes `--mutate` to the server.

use serde_json::{json, Value};

pub const NAMESPACE: &str = "mlguard-system";
pub const NAME: &str = "mlguard-webhook";
pub const PORT: u16 = 8443;
/// The Secret holding tls.crt and tls.key (cert-manager's, or from `mlguard webhook certs`).
pub const TLS_SECRET: &str = "mlguard-webhook-tls";
/// The ClusterRole (and binding) for watching the decision context.
pub const CONTEXT_ROLE: &str = "mlguard-webhook-context";

fn labels() -> Value {
    json!({"app.kubernetes.io/name": NAME, "app.kubernetes.io/managed-by": "mlguard"})
}

/// The kinds judged at admission, by API group.
const RULES: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "pods",
            "services",
            "configmaps",
            "serviceaccounts",
            "resourcequotas",
            "limitranges",
        ],
    ),
    (
        "apps",
        &["deployments", "statefulsets", "daemonsets", "replicasets"],
    ),
    ("batch", &["jobs", "cronjobs"]),
    ("networking.k8s.io", &["networkpolicies", "ingresses"]),
    ("rbac.authorization.k8s.io", &["roles", "rolebindings"]),
    (
        "kubeflow.org",
        &[
            "pytorchjobs",
            "tfjobs",
            "mpijobs",
            "xgboostjobs",
            "paddlejobs",
            "jaxjobs",
            "notebooks",
        ],
    ),
    ("trainer.kubeflow.org", &["trainjobs", "trainingruntimes"]),
    (
        "serving.kserve.io",
        &[
            "inferenceservices",
            "servingruntimes",
            "inferencegraphs",
            "llminferenceservices",
        ],
    ),
    ("ray.io", &["rayclusters", "rayjobs", "rayservices"]),
    ("secrets-store.csi.x-k8s.io", &["secretproviderclasses"]),
];

/// Every object, in apply order. `ca_bundle_b64` is the base64 of the CA that signed the
/// serving certificate.
pub fn manifests(image: &str, ca_bundle_b64: &str, mutate: &str) -> Vec<Value> {
    let mut out = Vec::new();
    out.push(json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": labels()},
        // Only the webhook's own pods mount its token (they say so in their spec).
        "automountServiceAccountToken": false}));
    // Read-only, and only what decisions read: no Secrets, no workloads, no writes.
    let mut by_group: Vec<(&str, Vec<&str>)> = Vec::new();
    for (group, _, plural, _) in crate::cache::CONTEXT_KINDS {
        match by_group.iter_mut().find(|(g, _)| g == group) {
            Some((_, plurals)) => plurals.push(plural),
            None => by_group.push((group, vec![plural])),
        }
    }
    let rules: Vec<Value> = by_group
        .iter()
        .map(|(g, r)| json!({"apiGroups": [g], "resources": r, "verbs": ["list", "watch"]}))
        .collect();
    out.push(
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": CONTEXT_ROLE, "labels": labels()}, "rules": rules}),
    );
    out.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": CONTEXT_ROLE, "labels": labels()},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": CONTEXT_ROLE},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]}));
    let mut args = vec![
        "webhook".to_owned(),
        "serve".to_owned(),
        "--listen".to_owned(),
        format!("0.0.0.0:{PORT}"),
        "--tls-cert".to_owned(),
        "/etc/mlguard/tls/tls.crt".to_owned(),
        "--tls-key".to_owned(),
        "/etc/mlguard/tls/tls.key".to_owned(),
        "--in-cluster".to_owned(),
    ];
    if !mutate.trim().is_empty() {
        args.extend(["--mutate".to_owned(), mutate.trim().to_owned()]);
    }
    let probe = |path: &str| json!({"httpGet": {"path": path, "port": PORT, "scheme": "HTTPS"}, "periodSeconds": 10, "failureThreshold": 3});
    out.push(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": labels()},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
            "template": {
                "metadata": {"labels": labels()},
                "spec": {
                    "serviceAccountName": NAME,
                    // It watches its context (namespaces, quotas, policies, RBAC).
                    "automountServiceAccountToken": true,
                    "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    // One replica per node, so a node drain never takes both.
                    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": {"app.kubernetes.io/name": NAME}}}],
                    "containers": [{
                        "name": "webhook",
                        "image": image,
                        "args": args,
                        "ports": [{"name": "https", "containerPort": PORT}],
                        "livenessProbe": probe("/healthz"),
                        "readinessProbe": probe("/readyz"),
                        "resources": {"requests": {"cpu": "200m", "memory": "128Mi"},
                                      "limits": {"cpu": "2", "memory": "512Mi"}},
                        "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                                            "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [
                            {"name": "tls", "mountPath": "/etc/mlguard/tls", "readOnly": true},
                        ],
                    }],
                    "volumes": [
                        {"name": "tls", "secret": {"secretName": TLS_SECRET, "defaultMode": 0o400}},
                    ],
                },
            },
        },
    }));
    out.push(json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": labels()},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": NAME}}}}));
    out.push(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": labels()},
        "spec": {"selector": {"app.kubernetes.io/name": NAME},
                 "ports": [{"name": "https", "port": 443, "targetPort": PORT, "protocol": "TCP"}]}}));
    let np = |name: &str, spec: Value| {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels()}, "spec": spec})
    };
    out.push(np(
        "mlguard-webhook",
        json!({
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
            "policyTypes": ["Ingress", "Egress"],
            // The API server calls it (from outside the pod network on most clusters); the kubelet
            // probes it. It calls only the API server (its watches), by the address in
            // KUBERNETES_SERVICE_HOST, so no DNS.
            "ingress": [{"ports": [{"protocol": "TCP", "port": PORT}]}],
            "egress": [{"ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]}],
        }),
    ));
    let rules: Vec<Value> = RULES
        .iter()
        .map(|(g, r)| {
            json!({"apiGroups": [g], "apiVersions": ["*"], "resources": r,
                              "operations": ["CREATE", "UPDATE"], "scope": "Namespaced"})
        })
        .collect();
    // The same namespaces the exported ValidatingAdmissionPolicies never bind.
    let selector = json!({"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn",
        "values": mlguard_controls::vap::NEVER_JUDGED}]});
    if !mutate.trim().is_empty() {
        let rules: Vec<Value> = RULES
            .iter()
            .filter(|(g, _)| {
                !matches!(
                    *g,
                    "networking.k8s.io"
                        | "rbac.authorization.k8s.io"
                        | "secrets-store.csi.x-k8s.io"
                )
            })
            .map(|(g, r)| {
                json!({"apiGroups": [g], "apiVersions": ["*"], "resources": r,
                                  "operations": ["CREATE"], "scope": "Namespaced"})
            })
            .collect();
        out.push(json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": NAME, "labels": labels()},
            "webhooks": [{
                "name": "mutate.mlguard.io",
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "failurePolicy": "Fail",
                "timeoutSeconds": 5,
                "matchPolicy": "Equivalent",
                // Called again when a later webhook changes the object: the patches are idempotent.
                "reinvocationPolicy": "IfNeeded",
                "clientConfig": {"caBundle": ca_bundle_b64,
                                 "service": {"name": NAME, "namespace": NAMESPACE, "path": "/mutate", "port": 443}},
                "rules": rules,
                "namespaceSelector": selector,
                "matchConditions": [
                    {"name": "not-node-identities", "expression": "!request.userInfo.username.startsWith('system:node:')"},
                ],
            }],
        }));
    }
    out.push(json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": NAME, "labels": labels()},
        "webhooks": [{
            "name": "validate.mlguard.io",
            "admissionReviewVersions": ["v1"],
            "sideEffects": "None",
            "failurePolicy": "Fail",
            "timeoutSeconds": 5,
            "matchPolicy": "Equivalent",
            "clientConfig": {"caBundle": ca_bundle_b64,
                             "service": {"name": NAME, "namespace": NAMESPACE, "path": "/validate", "port": 443}},
            "rules": rules,
            // Never the control plane's namespaces, nor mlguard's own (it could lock itself out).
            "namespaceSelector": selector,
            "matchConditions": [
                {"name": "not-node-identities", "expression": "!request.userInfo.username.startsWith('system:node:')"},
                {"name": "not-status-updates", "expression": "!has(request.subResource) || request.subResource == ''"},
            ],
        }],
    }));
    out
}
