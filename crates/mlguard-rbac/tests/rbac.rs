//! Effective permissions computed from small inventories written as YAML.

use mlguard_core::Inventory;
use mlguard_rbac::{Rbac, RoleRef, Subject};

fn inv(text: &str) -> Inventory {
    let i = Inventory::from_text("t.yaml", text, "default");
    assert!(i.errors.is_empty(), "{:?}", i.errors);
    i
}

fn user(n: &str) -> Subject {
    Subject::User(n.into())
}

fn group(n: &str) -> Subject {
    Subject::Group(n.into())
}

fn sa(ns: &str, n: &str) -> Subject {
    Subject::ServiceAccount {
        namespace: ns.into(),
        name: n.into(),
    }
}

fn names(grants: &[mlguard_rbac::Grant<'_>]) -> Vec<String> {
    grants
        .iter()
        .map(|g| format!("{} via {}", g.subject, g.binding.name))
        .collect()
}

#[test]
fn wildcard_role_grants_everything_in_its_namespace() {
    let i = inv(r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: all, namespace: ml}
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: team-all, namespace: ml}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: all}
subjects:
- {kind: Group, name: ml-team, apiGroup: rbac.authorization.k8s.io}
"#);
    let r = Rbac::new(&i);
    assert!(r.problems().is_empty(), "{:?}", r.problems());
    let g = group("ml-team");
    for (verb, api, res) in [
        ("get", "", "secrets"),
        ("create", "", "pods/exec"),
        ("delete", "networking.k8s.io", "networkpolicies"),
        ("update", "kubeflow.org", "pytorchjobs"),
    ] {
        let grants = r.can(&g, verb, api, res, Some("ml"));
        assert_eq!(grants.len(), 1, "{verb} {api} {res}");
        assert!(grants[0].rule.has_wildcard());
        assert_eq!(grants[0].namespace.as_deref(), Some("ml"));
        assert_eq!(grants[0].rule.path, "rules[0]");
        assert_eq!(grants[0].rule.line, 6);
    }
    assert!(r.can(&g, "get", "", "secrets", Some("other")).is_empty());
    assert!(r.can(&g, "get", "", "nodes", None).is_empty());
    assert!(r
        .can(&group("other"), "get", "", "secrets", Some("ml"))
        .is_empty());
}

#[test]
fn subresources_match_exactly_or_through_star_slash() {
    let i = inv(r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: ml}
rules:
- {apiGroups: [""], resources: ["pods"], verbs: ["*"]}
- {apiGroups: [""], resources: ["pods/log"], verbs: ["get"]}
- {apiGroups: [""], resources: ["*/portforward"], verbs: ["create"]}
- {apiGroups: [""], resources: ["pods/*"], verbs: ["create"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b, namespace: ml}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
subjects: [{kind: User, name: alice}]
"#);
    let r = Rbac::new(&i);
    let a = user("alice");
    assert_eq!(r.can(&a, "delete", "", "pods", Some("ml")).len(), 1);
    assert!(r.can(&a, "create", "", "pods/exec", Some("ml")).is_empty());
    assert_eq!(r.can(&a, "get", "", "pods/log", Some("ml")).len(), 1);
    let pf = r.can(&a, "create", "", "pods/portforward", Some("ml"));
    assert_eq!(pf.len(), 1);
    assert_eq!(pf[0].rule.path, "rules[2]");
    assert!(r
        .can(&a, "create", "", "pods/attach", Some("ml"))
        .is_empty());
}

#[test]
fn rolebinding_to_clusterrole_applies_only_in_its_namespace() {
    let i = inv(r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: secret-reader}
rules:
- {apiGroups: [""], resources: ["secrets"], verbs: ["get", "list"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read-secrets, namespace: ml}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: secret-reader}
subjects: [{kind: User, name: alice}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: read-secrets-everywhere}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: secret-reader}
subjects: [{kind: User, name: bob}]
"#);
    let r = Rbac::new(&i);
    let a = user("alice");
    let g = r.can(&a, "list", "", "secrets", Some("ml"));
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].role, &RoleRef::cluster_role("secret-reader"));
    assert_eq!(g[0].namespace.as_deref(), Some("ml"));
    assert!(r.can(&a, "list", "", "secrets", Some("prod")).is_empty());
    assert!(r.can(&a, "list", "", "secrets", None).is_empty());

    let b = user("bob");
    for ns in [Some("ml"), Some("prod"), None] {
        let g = r.can(&b, "get", "", "secrets", ns);
        assert_eq!(g.len(), 1, "{ns:?}");
        assert_eq!(g[0].namespace, None);
        assert!(g[0].binding.is_cluster_wide());
    }
}

#[test]
fn rolebinding_to_role_uses_the_role_of_its_namespace() {
    let i = inv(r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: worker, namespace: prod}
rules:
- {apiGroups: [""], resources: ["secrets"], verbs: ["get"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: worker, namespace: ml}
rules:
- {apiGroups: [""], resources: ["configmaps"], verbs: ["get"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b, namespace: ml}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: worker}
subjects: [{kind: ServiceAccount, name: trainer}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dangling, namespace: staging}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: worker}
subjects: [{kind: ServiceAccount, name: trainer}]
"#);
    let r = Rbac::new(&i);
    // The ServiceAccount subject had no namespace: it is the binding's.
    let b = &r.bindings()[0];
    assert_eq!(b.subjects[0].0, sa("ml", "trainer"));
    assert_eq!(b.subjects[0].1, "subjects[0]");
    assert_eq!(b.role_ref, RoleRef::role("ml", "worker"));
    let t = sa("ml", "trainer");
    assert!(r.can(&t, "get", "", "secrets", Some("ml")).is_empty());
    assert_eq!(r.can(&t, "get", "", "configmaps", Some("ml")).len(), 1);
    assert!(r.can(&t, "get", "", "secrets", Some("prod")).is_empty());
    // Role worker does not exist in staging.
    assert!(!r.is_known_role(&r.bindings()[1].role_ref));
    assert!(r.role_rules(&RoleRef::role("staging", "worker")).is_none());
    assert!(r
        .grants_for(&sa("staging", "trainer"), Some("staging"))
        .is_empty());
    assert_eq!(
        r.role_rules(&RoleRef::role("prod", "worker"))
            .map(<[_]>::len),
        Some(1)
    );
}

#[test]
fn clusterrole_aggregation_with_labels_and_expressions() {
    let i = inv(r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ml-edit}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {mlguard.io/aggregate-to-ml-edit: "true"}
  - matchExpressions:
    - {key: team, operator: In, values: [vision, nlp]}
    - {key: deprecated, operator: DoesNotExist}
rules:
- {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: ml-jobs
  labels: {mlguard.io/aggregate-to-ml-edit: "true"}
rules:
- {apiGroups: [kubeflow.org], resources: [pytorchjobs], verbs: [create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: vision-secrets
  labels: {team: vision}
rules:
- {apiGroups: [""], resources: [secrets], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: old-nlp
  labels: {team: nlp, deprecated: "yes"}
rules:
- {apiGroups: [""], resources: [pods/exec], verbs: [create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: ml-admin
aggregationRule:
  clusterRoleSelectors:
  - matchExpressions: [{key: kubernetes.io/metadata.name, operator: Exists}]
  - matchLabels: {rbac.example.com/aggregate-to-ml-admin: "true"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: ml-edit-wrapper
  labels: {rbac.example.com/aggregate-to-ml-admin: "true"}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {ml-edit-wrapper-source: "true"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: extra
  labels: {ml-edit-wrapper-source: "true"}
rules:
- {apiGroups: [""], resources: [configmaps], verbs: [list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: team, namespace: ml}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ml-edit}
subjects: [{kind: Group, name: ml-team}]
"#);
    let r = Rbac::new(&i);
    assert!(r.problems().is_empty(), "{:?}", r.problems());
    let rules = r.role_rules(&RoleRef::cluster_role("ml-edit")).unwrap();
    // The aggregated role's own (wildcard) rule is replaced by the union.
    assert_eq!(rules.len(), 2);
    assert!(rules.iter().all(|r| !r.has_wildcard()));
    let g = group("ml-team");
    let s = r.can(&g, "get", "", "secrets", Some("ml"));
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].role, &RoleRef::cluster_role("ml-edit"));
    assert_eq!(s[0].rule.source, RoleRef::cluster_role("vision-secrets"));
    assert_eq!(s[0].rule.object, Some(2));
    assert_eq!(s[0].rule.path, "rules[0]");
    assert_eq!(
        r.can(&g, "create", "kubeflow.org", "pytorchjobs", Some("ml"))
            .len(),
        1
    );
    // old-nlp is excluded by DoesNotExist.
    assert!(r.can(&g, "create", "", "pods/exec", Some("ml")).is_empty());
    assert!(r.can(&g, "delete", "", "nodes", None).is_empty());

    // Nested aggregation: ml-admin selects ml-edit-wrapper, which aggregates `extra`.
    let admin = r.role_rules(&RoleRef::cluster_role("ml-admin")).unwrap();
    assert_eq!(admin.len(), 1);
    assert_eq!(admin[0].source, RoleRef::cluster_role("extra"));
}

#[test]
fn aggregation_cycles_terminate_and_empty_selector_matches_all() {
    let i = inv(r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: a, labels: {x: "1"}}
aggregationRule: {clusterRoleSelectors: [{matchLabels: {y: "1"}}]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: b, labels: {y: "1"}}
aggregationRule: {clusterRoleSelectors: [{matchLabels: {x: "1"}}, {matchLabels: {z: "1"}}]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: c, labels: {z: "1"}}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: everything}
aggregationRule: {clusterRoleSelectors: [{}]}
"#);
    let r = Rbac::new(&i);
    for n in ["a", "b"] {
        let rules = r.role_rules(&RoleRef::cluster_role(n)).unwrap();
        assert_eq!(rules.len(), 1, "{n}");
        assert_eq!(rules[0].source.name, "c");
    }
    // `{}` selects every ClusterRole, the built-in ones included: cluster-admin's `*`.
    let all = r.role_rules(&RoleRef::cluster_role("everything")).unwrap();
    assert!(all.iter().any(|r| r.has_wildcard()));
}

#[test]
fn builtin_roles_are_known_with_bootstrap_facts() {
    let i = inv(r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: viewers, namespace: ml}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: User, name: viewer}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: editors, namespace: ml}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: User, name: editor}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: admins, namespace: ml}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}
subjects: [{kind: User, name: admin}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: root}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: User, name: root}]
"#);
    let r = Rbac::new(&i);
    for n in ["cluster-admin", "admin", "edit", "view"] {
        assert!(r.is_known_role(&RoleRef::cluster_role(n)), "{n}");
    }
    assert!(!r.is_known_role(&RoleRef::cluster_role("nope")));
    assert!(r.role_rules(&RoleRef::cluster_role("nope")).is_none());

    let ns = Some("ml");
    let can = |who: &str, verb: &str, group: &str, res: &str| {
        !r.can(&user(who), verb, group, res, ns).is_empty()
    };
    // view: reads, but not Secrets, and writes nothing.
    assert!(can("viewer", "list", "", "pods",));
    assert!(can("viewer", "get", "", "resourcequotas"));
    assert!(can("viewer", "get", "networking.k8s.io", "networkpolicies"));
    assert!(!can("viewer", "get", "", "secrets"));
    assert!(!can("viewer", "list", "", "secrets"));
    assert!(!can("viewer", "create", "", "pods/exec"));
    assert!(!can("viewer", "delete", "", "pods"));

    // edit: Secrets, pod exec/attach/port-forward, NetworkPolicies; quotas read-only; no RBAC.
    for v in ["get", "list", "watch"] {
        assert!(can("editor", v, "", "secrets"), "{v}");
    }
    for sub in ["pods/exec", "pods/attach", "pods/portforward"] {
        assert!(can("editor", "create", "", sub), "{sub}");
    }
    for v in ["create", "update", "patch", "delete"] {
        assert!(
            can("editor", v, "networking.k8s.io", "networkpolicies"),
            "{v}"
        );
        assert!(!can("editor", v, "", "resourcequotas"), "{v}");
        assert!(!can("editor", v, "", "limitranges"), "{v}");
        assert!(
            !can("editor", v, "rbac.authorization.k8s.io", "rolebindings"),
            "{v}"
        );
    }
    assert!(can("editor", "get", "", "resourcequotas"));
    assert!(can("editor", "create", "batch", "jobs"));
    assert!(can("editor", "impersonate", "", "serviceaccounts"));

    // admin: everything edit has, plus Roles and RoleBindings; quotas still read-only.
    assert!(can("admin", "get", "", "secrets"));
    assert!(can("admin", "create", "", "pods/exec"));
    assert!(can(
        "admin",
        "patch",
        "networking.k8s.io",
        "networkpolicies"
    ));
    for v in ["create", "update", "delete", "get"] {
        assert!(
            can("admin", v, "rbac.authorization.k8s.io", "rolebindings"),
            "{v}"
        );
        assert!(can("admin", v, "rbac.authorization.k8s.io", "roles"), "{v}");
    }
    assert!(!can("admin", "update", "", "resourcequotas"));
    assert!(!can("admin", "delete", "", "limitranges"));
    assert!(can("admin", "list", "", "resourcequotas"));

    // cluster-admin: everything, everywhere, non-resource URLs too.
    assert!(!r.can(&user("root"), "delete", "", "nodes", None).is_empty());
    assert!(!r
        .can(
            &user("root"),
            "escalate",
            "rbac.authorization.k8s.io",
            "clusterroles",
            None
        )
        .is_empty());
    assert!(!r
        .can_non_resource(&user("root"), "get", "/metrics")
        .is_empty());
    let rule = &r.can(&user("root"), "get", "", "secrets", ns)[0].rule;
    assert_eq!(rule.object, None);
    assert_eq!(rule.source, RoleRef::cluster_role("cluster-admin"));
}

#[test]
fn input_roles_extend_or_replace_the_builtin_ones() {
    let i = inv(r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: kubeflow-edit-extra
  labels: {rbac.authorization.k8s.io/aggregate-to-edit: "true"}
rules:
- {apiGroups: [kubeflow.org], resources: [notebooks], verbs: [create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: view}
rules:
- {apiGroups: [""], resources: [secrets], verbs: [get]}
"#);
    let r = Rbac::new(&i);
    let has = |role: &str, verb: &str, group: &str, res: &str| {
        r.role_rules(&RoleRef::cluster_role(role))
            .unwrap()
            .iter()
            .any(|x| x.allows(verb, group, res, None))
    };
    // The labelled role flows into edit and, through edit, into admin; not into view.
    assert!(has("edit", "create", "kubeflow.org", "notebooks"));
    assert!(has("admin", "create", "kubeflow.org", "notebooks"));
    assert!(!has("view", "create", "kubeflow.org", "notebooks"));
    // The input `view` replaces the built-in one, and edit aggregates the input one.
    assert!(has("view", "get", "", "secrets"));
    assert!(!has("view", "list", "", "pods"));
    assert_eq!(
        r.role_rules(&RoleRef::cluster_role("view")).unwrap()[0].object,
        Some(1)
    );
}

#[test]
fn implicit_groups_apply_and_named_groups_are_not_assumed() {
    let i = inv(r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: secret-reader}
rules: [{apiGroups: [""], resources: [secrets], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: all-sas, namespace: ml}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: secret-reader}
subjects: [{kind: Group, name: "system:serviceaccounts:ml"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: authenticated-exec}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: Group, name: "system:authenticated"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: team, namespace: ml}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}
subjects: [{kind: Group, name: ml-team}]
"#);
    let r = Rbac::new(&i);
    let t = sa("ml", "trainer");
    let g = r.can(&t, "get", "", "secrets", Some("ml"));
    assert_eq!(
        names(&g),
        [
            "Group:system:serviceaccounts:ml via all-sas",
            "Group:system:authenticated via authenticated-exec"
        ]
    );
    assert_eq!(
        names(&r.can(&sa("other", "x"), "get", "", "secrets", Some("ml"))),
        ["Group:system:authenticated via authenticated-exec"]
    );
    let alice = user("alice");
    let exec = r.can(&alice, "create", "", "pods/exec", Some("prod"));
    assert_eq!(
        names(&exec),
        ["Group:system:authenticated via authenticated-exec"]
    );
    // alice might be in ml-team, but nothing says so.
    assert!(r
        .can(
            &alice,
            "create",
            "rbac.authorization.k8s.io",
            "rolebindings",
            Some("ml")
        )
        .is_empty());
    assert!(!r
        .can(
            &group("ml-team"),
            "create",
            "rbac.authorization.k8s.io",
            "rolebindings",
            Some("ml")
        )
        .is_empty());
    assert!(r
        .can(&user("system:anonymous"), "get", "", "secrets", Some("ml"))
        .is_empty());
    // grants_for covers the same paths, every rule of every applicable binding.
    let all = r.grants_for(&t, Some("ml"));
    assert!(all.iter().any(|g| g.binding.name == "all-sas"));
    assert!(all.iter().any(|g| g.binding.name == "authenticated-exec"));
    assert!(all.iter().all(|g| g.binding.name != "team"));
    assert!(r.grants_for(&t, None).iter().all(|g| g.namespace.is_none()));
}

#[test]
fn who_can_lists_subjects_as_written() {
    let i = inv(r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: editors, namespace: ml}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects:
- {kind: Group, name: ml-team}
- {kind: ServiceAccount, name: pipeline}
- {kind: User, name: "system:serviceaccount:ml:runner"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: viewers, namespace: ml}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: Group, name: auditors}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: elsewhere, namespace: prod}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: Group, name: prod-team}]
"#);
    let r = Rbac::new(&i);
    let w = r.who_can("get", "", "secrets", Some("ml"));
    assert_eq!(
        names(&w),
        [
            "Group:ml-team via editors",
            "ServiceAccount:ml/pipeline via editors",
            "User:system:serviceaccount:ml:runner via editors"
        ]
    );
    assert!(r.who_can("get", "", "secrets", None).is_empty());
    assert_eq!(r.who_can("list", "", "pods", Some("ml")).len(), 4);
    // The User form of a service account name covers the service account.
    assert_eq!(
        r.can(&sa("ml", "runner"), "get", "", "secrets", Some("ml"))
            .len(),
        1
    );
    assert_eq!(
        r.subjects(),
        [
            user("system:serviceaccount:ml:runner"),
            group("auditors"),
            group("ml-team"),
            group("prod-team"),
            sa("ml", "pipeline"),
        ]
    );
}

#[test]
fn resource_names_and_any_name_queries() {
    let i = inv(r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: one-key, namespace: ml}
rules:
- {apiGroups: [""], resources: [secrets], resourceNames: [model-key], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b, namespace: ml}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: one-key}
subjects: [{kind: ServiceAccount, name: server}]
"#);
    let r = Rbac::new(&i);
    let s = sa("ml", "server");
    assert!(r.can(&s, "get", "", "secrets", Some("ml")).is_empty());
    let any = r.can_any_name(&s, "get", "", "secrets", Some("ml"));
    assert_eq!(any.len(), 1);
    assert!(any[0].rule.allows("get", "", "secrets", Some("model-key")));
    assert!(!any[0].rule.allows("get", "", "secrets", Some("other")));
    assert_eq!(
        r.who_can_any_name("get", "", "secrets", Some("ml")).len(),
        1
    );
    assert!(r.who_can("get", "", "secrets", Some("ml")).is_empty());
}

#[test]
fn paths_include_the_list_base_and_positions() {
    let i = inv(r#"apiVersion: v1
kind: List
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata: {name: r}
  rules:
  - apiGroups: [""]
    resources: [pods]
    verbs: [get]
  - apiGroups: [""]
    resources: [secrets]
    verbs: [get]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: b}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}
  subjects:
  - kind: ServiceAccount
    name: s
    namespace: ml
"#);
    let r = Rbac::new(&i);
    let g = r.can(&sa("ml", "s"), "get", "", "secrets", None);
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].rule.path, "items[0].rules[1]");
    assert_eq!((g[0].rule.line, g[0].rule.column), (11, 5));
    let b = &r.bindings()[0];
    assert_eq!(b.kind, "ClusterRoleBinding");
    assert_eq!(b.namespace, None);
    assert_eq!(b.subjects[0].1, "items[1].subjects[0]");
    assert_eq!((b.subjects[0].2, b.subjects[0].3), (19, 5));
}

#[test]
fn malformed_rbac_objects_never_panic_and_are_reported() {
    let i = inv(r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: bad-rules, namespace: ml}
rules: {verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: mixed, namespace: ml}
rules:
- just-a-string
- {apiGroups: "", resources: [pods], verbs: [get]}
- {apiGroups: [""], resources: [pods, 7, {a: b}], verbs: [get, [list]]}
- {apiGroups: [~], resources: [configmaps], verbs: get}
- {apiGroups: [""], resources: [services], verbs: [list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: agg}
aggregationRule:
  clusterRoleSelectors:
  - matchExpressions: [{key: a, operator: Near, values: [x]}]
  - matchExpressions: [{key: a, operator: In}]
  - matchLabels: [nope]
  - 42
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: agg2}
aggregationRule: [x]
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: no-roleref, namespace: ml}
subjects: [{kind: User, name: a}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: bad-kind, namespace: ml}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Pod, name: x}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crb-to-role}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: mixed}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: wrong-group}
roleRef: {apiGroup: example.com, kind: ClusterRole, name: view}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: subjects, namespace: ml}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: mixed}
subjects:
- {kind: Robot, name: r2}
- {kind: User}
- 5
- {kind: User, name: ok}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: sa-no-ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {kind: ServiceAccount, name: s}
- {kind: Group, name: g}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: subjects-map, namespace: ml}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: mixed}
subjects: {kind: User, name: x}
---
apiVersion: example.com/v1
kind: Role
metadata: {name: not-rbac, namespace: ml}
rules: 5
"#);
    let r = Rbac::new(&i);
    let paths: Vec<&str> = r.problems().iter().map(|p| p.1.as_str()).collect();
    for expected in [
        "rules",
        "rules[0]",
        "rules[1].apiGroups",
        "rules[2].resources[1]",
        "rules[2].resources[2]",
        "rules[2].verbs[1]",
        "rules[3].verbs",
        "aggregationRule.clusterRoleSelectors[0].matchExpressions[0]",
        "aggregationRule.clusterRoleSelectors[1].matchExpressions[0]",
        "aggregationRule.clusterRoleSelectors[2].matchLabels",
        "aggregationRule.clusterRoleSelectors[3]",
        "aggregationRule",
        "roleRef.kind",
        "roleRef.apiGroup",
        "subjects[0]",
        "subjects[1]",
        "subjects[2]",
        "subjects",
    ] {
        assert!(paths.contains(&expected), "{expected} not in {paths:?}");
    }
    assert!(r.problems().iter().all(|p| p.2 > 0 && !p.4.is_empty()));
    // The readable parts are kept.
    let mixed = r.role_rules(&RoleRef::role("ml", "mixed")).unwrap();
    assert_eq!(mixed.len(), 4);
    assert_eq!(mixed[1].resources, ["pods"]);
    assert_eq!(mixed[1].verbs, ["get"]);
    assert_eq!(mixed[2].api_groups, [""]);
    let ok = user("ok");
    assert_eq!(r.can(&ok, "list", "", "services", Some("ml")).len(), 1);
    assert_eq!(r.can(&ok, "get", "", "pods", Some("ml")).len(), 1);
    assert!(r
        .role_rules(&RoleRef::cluster_role("agg"))
        .unwrap()
        .is_empty());
    assert_eq!(
        r.role_rules(&RoleRef::cluster_role("agg2")).unwrap().len(),
        1
    );
    let kinds: Vec<&str> = r.bindings().iter().map(|b| b.name.as_str()).collect();
    assert_eq!(kinds, ["subjects", "sa-no-ns", "subjects-map"]);
    assert_eq!(r.bindings()[1].subjects.len(), 1);
    assert!(r.bindings()[2].subjects.is_empty());
    // Non-RBAC kinds named Role are not read.
    assert!(r.role_rules(&RoleRef::role("ml", "not-rbac")).is_none());
}

#[test]
fn duplicate_definitions_use_the_last_one() {
    let i = inv(r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: ml}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: ml}
rules: [{apiGroups: [""], resources: [secrets], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b, namespace: ml}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
subjects: [{kind: User, name: a}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b, namespace: ml}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
subjects: [{kind: User, name: c}]
"#);
    let r = Rbac::new(&i);
    assert_eq!(r.problems().len(), 2);
    assert!(r.problems()[0]
        .4
        .contains("Role ml/r is defined more than once"));
    assert_eq!(r.bindings().len(), 1);
    assert_eq!(r.bindings()[0].object, 3);
    assert!(r
        .can(&user("a"), "get", "", "secrets", Some("ml"))
        .is_empty());
    assert_eq!(r.can(&user("c"), "get", "", "secrets", Some("ml")).len(), 1);
    assert!(r.can(&user("c"), "get", "", "pods", Some("ml")).is_empty());
}
