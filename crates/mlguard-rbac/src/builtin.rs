//! The default ClusterRoles every cluster has, as facts from the Kubernetes bootstrap policy
//! (`plugin/pkg/auth/authorizer/rbac/bootstrappolicy`), so bindings to them can be evaluated
//! when the inputs are manifests rather than a cluster snapshot.
//!
//! `admin`, `edit` and `view` are aggregated roles: `view` collects the roles labelled
//! `aggregate-to-view`, `edit` those labelled `aggregate-to-edit` (which includes `view`), and
//! `admin` those labelled `aggregate-to-admin` (which includes `edit`). Their base rules live in
//! `system:aggregate-to-{view,edit,admin}`, modelled here as well, so ClusterRoles in the inputs
//! that carry an aggregation label extend the built-in roles exactly as in a cluster.
//!
//! What the facts amount to: `view` reads most namespaced objects but not Secrets (nor
//! pods/exec, pods/attach, pods/portforward), and cannot write anything; `edit` adds
//! read and write of Secrets, ConfigMaps, workloads, Services, Ingresses and NetworkPolicies,
//! create on pods/exec, pods/attach and pods/portforward, and impersonation of service
//! accounts, but only reads ResourceQuotas and LimitRanges; `admin` adds write of Roles and
//! RoleBindings (still only reads ResourceQuotas and LimitRanges); `cluster-admin` is `*` on
//! everything including non-resource URLs.

/// A ClusterRole of the bootstrap policy.
#[derive(Debug)]
pub(crate) struct BuiltinRole {
    pub name: &'static str,
    /// Labels whose value is `"true"` (besides `kubernetes.io/bootstrapping: rbac-defaults`).
    pub true_labels: &'static [&'static str],
    /// For aggregated roles: the label (value `"true"`) its single selector matches.
    pub aggregates: Option<&'static str>,
    pub rules: &'static [BuiltinRule],
}

/// One rule: the verbs on the resources of one API group, or on non-resource URLs.
#[derive(Debug)]
pub(crate) struct BuiltinRule {
    pub verbs: &'static [&'static str],
    pub group: Option<&'static str>,
    pub resources: &'static [&'static str],
    pub urls: &'static [&'static str],
}

pub(crate) const BOOTSTRAP_LABEL: (&str, &str) = ("kubernetes.io/bootstrapping", "rbac-defaults");

const TO_ADMIN: &str = "rbac.authorization.k8s.io/aggregate-to-admin";
const TO_EDIT: &str = "rbac.authorization.k8s.io/aggregate-to-edit";
const TO_VIEW: &str = "rbac.authorization.k8s.io/aggregate-to-view";

const READ: &[&str] = &["get", "list", "watch"];
/// The mutating verbs the bootstrap policy grants together.
const MUTATE: &[&str] = &["create", "delete", "deletecollection", "patch", "update"];
const READ_MUTATE: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

const fn on(
    verbs: &'static [&'static str],
    group: &'static str,
    resources: &'static [&'static str],
) -> BuiltinRule {
    BuiltinRule {
        verbs,
        group: Some(group),
        resources,
        urls: &[],
    }
}

const CLUSTER_ADMIN: &[BuiltinRule] = &[
    on(&["*"], "*", &["*"]),
    BuiltinRule {
        verbs: &["*"],
        group: None,
        resources: &[],
        urls: &["*"],
    },
];

/// Base of `admin` beyond `edit`: manage RBAC inside the namespace.
const ADMIN_EXTRA: &[BuiltinRule] = &[
    on(
        READ_MUTATE,
        "rbac.authorization.k8s.io",
        &["roles", "rolebindings"],
    ),
    on(
        &["create"],
        "authorization.k8s.io",
        &["localsubjectaccessreviews"],
    ),
];

/// Base of `edit` beyond `view`.
const EDIT_EXTRA: &[BuiltinRule] = &[
    // Core group: Secrets become readable here, and pod access (exec, attach, port-forward,
    // proxy) is granted for both the legacy GET and the current POST/create forms.
    on(
        READ,
        "",
        &[
            "secrets",
            "pods/exec",
            "pods/attach",
            "pods/portforward",
            "pods/proxy",
            "services/proxy",
        ],
    ),
    on(
        MUTATE,
        "",
        &[
            "pods",
            "pods/exec",
            "pods/attach",
            "pods/portforward",
            "pods/proxy",
        ],
    ),
    on(
        MUTATE,
        "",
        &[
            "secrets",
            "configmaps",
            "events",
            "persistentvolumeclaims",
            "services",
            "services/proxy",
            "serviceaccounts",
            "replicationcontrollers",
            "replicationcontrollers/scale",
        ],
    ),
    on(&["create"], "", &["pods/eviction", "serviceaccounts/token"]),
    on(&["impersonate"], "", &["serviceaccounts"]),
    on(
        MUTATE,
        "apps",
        &[
            "deployments",
            "deployments/rollback",
            "deployments/scale",
            "statefulsets",
            "statefulsets/scale",
            "daemonsets",
            "replicasets",
            "replicasets/scale",
        ],
    ),
    on(MUTATE, "batch", &["jobs", "cronjobs"]),
    on(MUTATE, "autoscaling", &["horizontalpodautoscalers"]),
    on(MUTATE, "policy", &["poddisruptionbudgets"]),
    on(
        MUTATE,
        "networking.k8s.io",
        &["networkpolicies", "ingresses"],
    ),
    on(
        MUTATE,
        "extensions",
        &[
            "networkpolicies",
            "ingresses",
            "deployments",
            "deployments/rollback",
            "deployments/scale",
            "daemonsets",
            "replicasets",
            "replicasets/scale",
            "replicationcontrollers/scale",
        ],
    ),
    on(READ_MUTATE, "coordination.k8s.io", &["leases"]),
];

/// Base of `view`: read-only, and no Secrets.
const VIEW_BASE: &[BuiltinRule] = &[
    on(
        READ,
        "",
        &[
            "pods",
            "pods/log",
            "pods/status",
            "configmaps",
            "endpoints",
            "events",
            "bindings",
            "persistentvolumeclaims",
            "persistentvolumeclaims/status",
            "services",
            "services/status",
            "serviceaccounts",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "replicationcontrollers/status",
            "limitranges",
            "resourcequotas",
            "resourcequotas/status",
            "namespaces",
            "namespaces/status",
        ],
    ),
    on(
        READ,
        "apps",
        &[
            "deployments",
            "deployments/scale",
            "deployments/status",
            "statefulsets",
            "statefulsets/scale",
            "statefulsets/status",
            "daemonsets",
            "daemonsets/status",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "controllerrevisions",
        ],
    ),
    on(
        READ,
        "batch",
        &["jobs", "jobs/status", "cronjobs", "cronjobs/status"],
    ),
    on(
        READ,
        "autoscaling",
        &[
            "horizontalpodautoscalers",
            "horizontalpodautoscalers/status",
        ],
    ),
    on(
        READ,
        "policy",
        &["poddisruptionbudgets", "poddisruptionbudgets/status"],
    ),
    on(
        READ,
        "networking.k8s.io",
        &["networkpolicies", "ingresses", "ingresses/status"],
    ),
    on(READ, "discovery.k8s.io", &["endpointslices"]),
    on(
        READ,
        "extensions",
        &[
            "networkpolicies",
            "ingresses",
            "ingresses/status",
            "deployments",
            "deployments/scale",
            "deployments/status",
            "daemonsets",
            "daemonsets/status",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "replicationcontrollers/scale",
        ],
    ),
];

/// Every built-in ClusterRole, sorted by name.
pub(crate) const BUILTIN_ROLES: &[BuiltinRole] = &[
    BuiltinRole {
        name: "admin",
        true_labels: &[],
        aggregates: Some(TO_ADMIN),
        rules: &[],
    },
    BuiltinRole {
        name: "cluster-admin",
        true_labels: &[],
        aggregates: None,
        rules: CLUSTER_ADMIN,
    },
    BuiltinRole {
        name: "edit",
        true_labels: &[TO_ADMIN],
        aggregates: Some(TO_EDIT),
        rules: &[],
    },
    BuiltinRole {
        name: "system:aggregate-to-admin",
        true_labels: &[TO_ADMIN],
        aggregates: None,
        rules: ADMIN_EXTRA,
    },
    BuiltinRole {
        name: "system:aggregate-to-edit",
        true_labels: &[TO_EDIT],
        aggregates: None,
        rules: EDIT_EXTRA,
    },
    BuiltinRole {
        name: "system:aggregate-to-view",
        true_labels: &[TO_VIEW],
        aggregates: None,
        rules: VIEW_BASE,
    },
    BuiltinRole {
        name: "view",
        true_labels: &[TO_EDIT],
        aggregates: Some(TO_VIEW),
        rules: &[],
    },
];
