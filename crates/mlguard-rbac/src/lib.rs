//! mlguard-rbac: effective RBAC permissions — who can do what, where — from the Roles,
//! ClusterRoles, RoleBindings and ClusterRoleBindings of an [`Inventory`].
//!
//! Owns: reading RBAC objects into [`Rule`]s and [`Binding`]s with the file position and YAML
//! path of every rule and subject; the Kubernetes RBAC authorizer's semantics (wildcards,
//! subresources, resourceNames, RoleBindings to ClusterRoles, ClusterRole aggregation,
//! implicit group memberships); the built-in `cluster-admin`, `admin`, `edit` and `view`
//! ClusterRoles; and the queries [`Rbac::grants_for`], [`Rbac::can`] and [`Rbac::who_can`].
//!
//! Must not: do I/O, print, or judge. It states facts ("this group can read Secrets in `ml`
//! through this binding and this rule"); whether that is a finding, and how severe, is decided
//! by the controls in mlguard-controls. Malformed pieces of RBAC objects are skipped and
//! listed in [`Rbac::problems`], never a panic.
//!
//! Not modelled: the `system:masters` group (it bypasses RBAC altogether), other authorizers
//! (Node, webhook), and the `escalate`/`bind`/`impersonate` verbs beyond plain rule matching.

mod builtin;
mod rule;
mod selector;
mod subject;

pub use rule::Rule;
pub use subject::{Subject, ALL_SERVICE_ACCOUNTS, ANONYMOUS, AUTHENTICATED, UNAUTHENTICATED};

use builtin::{BOOTSTRAP_LABEL, BUILTIN_ROLES};
use mlguard_core::{At, Inventory, Object, Value};
use selector::Selector;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The RBAC API group.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// A reference to a role, as a binding's `roleRef` resolves it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleRef {
    /// `Role` or `ClusterRole`.
    pub kind: String,
    pub name: String,
    /// The namespace of a `Role` (the binding's); None for a `ClusterRole`.
    pub namespace: Option<String>,
}

impl RoleRef {
    pub fn cluster_role(name: &str) -> RoleRef {
        RoleRef {
            kind: "ClusterRole".to_owned(),
            name: name.to_owned(),
            namespace: None,
        }
    }

    pub fn role(namespace: &str, name: &str) -> RoleRef {
        RoleRef {
            kind: "Role".to_owned(),
            name: name.to_owned(),
            namespace: Some(namespace.to_owned()),
        }
    }
}

impl std::fmt::Display for RoleRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// A RoleBinding or ClusterRoleBinding.
#[derive(Debug, Clone)]
pub struct Binding {
    /// Index into `Inventory::objects`.
    pub object: usize,
    /// `RoleBinding` or `ClusterRoleBinding`.
    pub kind: String,
    pub name: String,
    /// The RoleBinding's namespace; None for a ClusterRoleBinding.
    pub namespace: Option<String>,
    pub role_ref: RoleRef,
    /// The subjects that could be read, each with the YAML path, line and column of its entry.
    /// A ServiceAccount written without a namespace has the binding's namespace.
    pub subjects: Vec<(Subject, String, u32, u32)>,
}

impl Binding {
    pub fn is_cluster_wide(&self) -> bool {
        self.namespace.is_none()
    }
}

/// One rule that applies to a subject through one binding.
#[derive(Debug, Clone)]
pub struct Grant<'r> {
    /// The subject as written in the binding through which the grant applies (for
    /// [`Rbac::grants_for`] that may be a group the requester implicitly belongs to, such as
    /// `system:authenticated`).
    pub subject: Subject,
    /// Where the rule applies: the RoleBinding's namespace, or None (cluster-wide) for a
    /// ClusterRoleBinding.
    pub namespace: Option<String>,
    pub rule: &'r Rule,
    /// The role the binding refers to (for aggregated ClusterRoles `rule.source` names the
    /// role the rule came from).
    pub role: &'r RoleRef,
    pub binding: &'r Binding,
}

/// A malformed piece of an RBAC object: (object index, YAML path, line, column, message).
pub type Problem = (usize, String, u32, u32, String);

/// Effective permissions of everything in an Inventory.
#[derive(Debug, Default)]
pub struct Rbac {
    bindings: Vec<Binding>,
    cluster_roles: HashMap<String, Vec<Rule>>,
    /// namespace -> name -> rules.
    roles: HashMap<String, HashMap<String, Vec<Rule>>>,
    problems: Vec<Problem>,
}

/// A ClusterRole before aggregation.
#[derive(Debug)]
struct ClusterRoleDef {
    labels: BTreeMap<String, String>,
    /// Some for aggregated roles.
    selectors: Option<Vec<Selector>>,
    rules: Vec<Rule>,
}

impl Rbac {
    pub fn new(inv: &Inventory) -> Rbac {
        let mut rb = Rbac::default();
        let mut defs = builtin_defs();
        let mut input_cluster_roles: HashSet<String> = HashSet::new();
        for (idx, obj) in inv.objects_of("ClusterRole") {
            if obj.group() != RBAC_GROUP {
                continue;
            }
            let source = RoleRef::cluster_role(&obj.name);
            let root = obj.at();
            let selectors = match root.get("aggregationRule") {
                Some(ar) if ar.node.is_map() => Some(rb.read_selectors(idx, &ar)),
                Some(ar) if !ar.node.is_null() => {
                    rb.problem(
                        idx,
                        &ar,
                        format!(
                            "`aggregationRule` must be a mapping, not a {}; it is ignored",
                            ar.node.type_name()
                        ),
                    );
                    None
                }
                _ => None,
            };
            // The aggregation controller replaces the rules of an aggregated role with the
            // union of the selected roles' rules, so its own rules are not read.
            let rules = if selectors.is_some() {
                Vec::new()
            } else {
                rb.read_rules(idx, &root, &source)
            };
            if !input_cluster_roles.insert(obj.name.clone()) {
                rb.duplicate(idx, obj);
            }
            defs.insert(
                obj.name.clone(),
                ClusterRoleDef {
                    labels: obj.labels(),
                    selectors,
                    rules,
                },
            );
        }
        rb.cluster_roles = aggregate(&defs);

        for (idx, obj) in inv.objects_of("Role") {
            if obj.group() != RBAC_GROUP {
                continue;
            }
            let ns = obj
                .namespace
                .clone()
                .unwrap_or_else(|| "default".to_owned());
            let source = RoleRef::role(&ns, &obj.name);
            let rules = rb.read_rules(idx, &obj.at(), &source);
            let previous = rb
                .roles
                .entry(ns)
                .or_default()
                .insert(obj.name.clone(), rules);
            if previous.is_some() {
                rb.duplicate(idx, obj);
            }
        }

        let mut seen: HashMap<(String, Option<String>, String), usize> = HashMap::new();
        for kind in ["ClusterRoleBinding", "RoleBinding"] {
            for (idx, obj) in inv.objects_of(kind) {
                if obj.group() != RBAC_GROUP {
                    continue;
                }
                let Some(b) = rb.read_binding(idx, obj) else {
                    continue;
                };
                let key = (b.kind.clone(), b.namespace.clone(), b.name.clone());
                if let Some(&at) = seen.get(&key) {
                    rb.duplicate(idx, obj);
                    rb.bindings[at] = b;
                } else {
                    seen.insert(key, rb.bindings.len());
                    rb.bindings.push(b);
                }
            }
        }
        rb.bindings.sort_by_key(|b| b.object);
        rb
    }

    /// Every RoleBinding and ClusterRoleBinding that could be read, in input order.
    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// Malformed rules, selectors, bindings and subjects that were skipped, and duplicate
    /// definitions (the last one is used).
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The effective rules of a role: for aggregated ClusterRoles, the union of the rules of
    /// the ClusterRoles their selectors match (transitively, duplicates removed). None when the
    /// role is neither in the inputs nor built in. A `Role` reference needs its namespace.
    pub fn role_rules(&self, role: &RoleRef) -> Option<&[Rule]> {
        match role.kind.as_str() {
            "ClusterRole" => self.cluster_roles.get(&role.name).map(Vec::as_slice),
            "Role" => self
                .roles
                .get(role.namespace.as_deref()?)?
                .get(&role.name)
                .map(Vec::as_slice),
            _ => None,
        }
    }

    pub fn is_known_role(&self, role: &RoleRef) -> bool {
        self.role_rules(role).is_some()
    }

    /// Every distinct subject named by a binding, sorted.
    pub fn subjects(&self) -> Vec<Subject> {
        let set: BTreeSet<&Subject> = self
            .bindings
            .iter()
            .flat_map(|b| b.subjects.iter().map(|s| &s.0))
            .collect();
        set.into_iter().cloned().collect()
    }

    /// Every grant that applies to `subject` in `namespace`: the RoleBindings of that namespace
    /// and all ClusterRoleBindings, through the subject itself or a group it implicitly belongs
    /// to (see [`Subject::is_covered_by`]). `namespace` None: ClusterRoleBindings only (the
    /// grants for cluster-scoped resources). When several subjects of one binding cover the
    /// requester, the first one is reported.
    pub fn grants_for(&self, subject: &Subject, namespace: Option<&str>) -> Vec<Grant<'_>> {
        self.collect(Some(subject), namespace, |_| true)
    }

    /// The grants that allow `subject` to do `verb` on `resource` (`pods` or `pods/exec`) of
    /// `api_group` in `namespace` (None for cluster-scoped resources), for a request that
    /// names no object: rules restricted by resourceNames do not count (see
    /// [`can_any_name`](Rbac::can_any_name)). Empty when not allowed.
    pub fn can(
        &self,
        subject: &Subject,
        verb: &str,
        api_group: &str,
        resource: &str,
        namespace: Option<&str>,
    ) -> Vec<Grant<'_>> {
        self.collect(Some(subject), namespace, |r| {
            r.allows(verb, api_group, resource, None)
        })
    }

    /// Like [`can`](Rbac::can), also counting rules restricted by resourceNames: the subject can
    /// do it to at least one named object.
    pub fn can_any_name(
        &self,
        subject: &Subject,
        verb: &str,
        api_group: &str,
        resource: &str,
        namespace: Option<&str>,
    ) -> Vec<Grant<'_>> {
        self.collect(Some(subject), namespace, |r| {
            r.allows_any_name(verb, api_group, resource)
        })
    }

    /// Which subjects, as written in bindings (groups included), can do `verb` on `resource`
    /// in `namespace` (None: cluster-wide, ClusterRoleBindings only), and through which
    /// binding and rule. One grant per (binding, subject entry, rule). resourceNames-restricted
    /// rules do not count (see [`who_can_any_name`](Rbac::who_can_any_name)).
    pub fn who_can(
        &self,
        verb: &str,
        api_group: &str,
        resource: &str,
        namespace: Option<&str>,
    ) -> Vec<Grant<'_>> {
        self.collect(None, namespace, |r| {
            r.allows(verb, api_group, resource, None)
        })
    }

    /// Like [`who_can`](Rbac::who_can), also counting rules restricted by resourceNames.
    pub fn who_can_any_name(
        &self,
        verb: &str,
        api_group: &str,
        resource: &str,
        namespace: Option<&str>,
    ) -> Vec<Grant<'_>> {
        self.collect(None, namespace, |r| {
            r.allows_any_name(verb, api_group, resource)
        })
    }

    /// The grants that allow `subject` a non-resource request (`get /metrics`). Only
    /// ClusterRoleBindings grant these.
    pub fn can_non_resource(&self, subject: &Subject, verb: &str, url: &str) -> Vec<Grant<'_>> {
        self.collect(Some(subject), None, |r| r.allows_non_resource(verb, url))
    }

    /// Grants of the bindings that apply in `namespace`, for `subject` (or every subject
    /// entry when None), whose rule satisfies `keep`.
    fn collect(
        &self,
        subject: Option<&Subject>,
        namespace: Option<&str>,
        keep: impl Fn(&Rule) -> bool,
    ) -> Vec<Grant<'_>> {
        let mut out = Vec::new();
        for b in &self.bindings {
            if let Some(bns) = &b.namespace {
                if namespace != Some(bns.as_str()) {
                    continue;
                }
            }
            let rules = self.role_rules(&b.role_ref).unwrap_or_default();
            let entries: Vec<&Subject> = match subject {
                Some(who) => b
                    .subjects
                    .iter()
                    .map(|s| &s.0)
                    .find(|w| who.is_covered_by(w))
                    .into_iter()
                    .collect(),
                None => b.subjects.iter().map(|s| &s.0).collect(),
            };
            for w in entries {
                for rule in rules.iter().filter(|r| keep(r)) {
                    out.push(Grant {
                        subject: w.clone(),
                        namespace: b.namespace.clone(),
                        rule,
                        role: &b.role_ref,
                        binding: b,
                    });
                }
            }
        }
        out
    }

    // ----- reading -----

    fn problem(&mut self, object: usize, at: &At<'_>, message: String) {
        self.problems.push((
            object,
            at.path().to_string(),
            at.pos().line,
            at.pos().column,
            message,
        ));
    }

    fn duplicate(&mut self, idx: usize, obj: &Object) {
        let ns = obj
            .namespace
            .as_deref()
            .filter(|_| obj.kind == "Role" || obj.kind == "RoleBinding")
            .map(|n| format!("{n}/"))
            .unwrap_or_default();
        let message = format!(
            "{} {ns}{} is defined more than once; this later definition is used",
            obj.kind, obj.name
        );
        self.problem(idx, &obj.at(), message);
    }

    fn read_selectors(&mut self, idx: usize, ar: &At<'_>) -> Vec<Selector> {
        let Some(list) = ar.get("clusterRoleSelectors") else {
            return Vec::new();
        };
        if !list.node.is_seq() {
            if !list.node.is_null() {
                self.problem(
                    idx,
                    &list,
                    format!(
                        "`clusterRoleSelectors` must be a list, not a {}; the role aggregates nothing",
                        list.node.type_name()
                    ),
                );
            }
            return Vec::new();
        }
        let mut bad = Vec::new();
        let selectors = list
            .items()
            .map(|s| {
                Selector::read(&s, &mut |at, m| {
                    bad.push((at.path().to_string(), at.pos(), m));
                })
            })
            .collect();
        for (path, pos, m) in bad {
            self.problems.push((
                idx,
                path,
                pos.line,
                pos.column,
                format!("{m}; this selector matches nothing"),
            ));
        }
        selectors
    }

    /// `root.<key>` when it is a list; a present non-list is recorded as a problem.
    fn list_field<'a>(
        &mut self,
        idx: usize,
        root: &At<'a>,
        key: &str,
        consequence: &str,
    ) -> Option<At<'a>> {
        let list = root.get(key)?;
        if !list.node.is_seq() {
            if !list.node.is_null() {
                self.problem(
                    idx,
                    &list,
                    format!(
                        "`{key}` must be a list, not a {}; {consequence}",
                        list.node.type_name()
                    ),
                );
            }
            return None;
        }
        Some(list)
    }

    fn read_rules(&mut self, idx: usize, root: &At<'_>, source: &RoleRef) -> Vec<Rule> {
        let Some(list) = self.list_field(idx, root, "rules", "the role grants nothing") else {
            return Vec::new();
        };
        let mut rules = Vec::new();
        // Each rule's path is the list's and its index: the list's path is found once.
        let at = list.path();
        for (i, item) in list.items().enumerate() {
            if !item.node.is_map() {
                self.problem(
                    idx,
                    &item,
                    format!(
                        "a rule must be a mapping, not a {}; it is skipped",
                        item.node.type_name()
                    ),
                );
                continue;
            }
            rules.push(Rule {
                verbs: self.strings(idx, &item, "verbs"),
                api_groups: self.strings(idx, &item, "apiGroups"),
                resources: self.strings(idx, &item, "resources"),
                resource_names: self.strings(idx, &item, "resourceNames"),
                non_resource_urls: self.strings(idx, &item, "nonResourceURLs"),
                object: Some(idx),
                path: at.index(i).to_string(),
                line: item.pos().line,
                column: item.pos().column,
                source: source.clone(),
            });
        }
        rules
    }

    /// A list of strings; null items read as "" (as the API server decodes them), other
    /// non-strings are skipped with a problem.
    fn strings(&mut self, idx: usize, parent: &At<'_>, key: &str) -> Vec<String> {
        let Some(at) = parent.get(key) else {
            return Vec::new();
        };
        match &at.node.value {
            Value::Null => Vec::new(),
            Value::Seq(_) => {
                let mut out = Vec::new();
                for item in at.items() {
                    match &item.node.value {
                        Value::Str(s) => out.push(s.to_string()),
                        Value::Null => out.push(String::new()),
                        _ => self.problem(
                            idx,
                            &item,
                            format!(
                                "`{key}` entries must be strings, not a {}; this entry is skipped",
                                item.node.type_name()
                            ),
                        ),
                    }
                }
                out
            }
            _ => {
                self.problem(
                    idx,
                    &at,
                    format!(
                        "`{key}` must be a list of strings, not a {}; it is read as empty",
                        at.node.type_name()
                    ),
                );
                Vec::new()
            }
        }
    }

    fn read_binding(&mut self, idx: usize, obj: &Object) -> Option<Binding> {
        let root = obj.at();
        let cluster = obj.kind == "ClusterRoleBinding";
        let namespace = if cluster {
            None
        } else {
            Some(
                obj.namespace
                    .clone()
                    .unwrap_or_else(|| "default".to_owned()),
            )
        };
        let Some(rr) = root.get("roleRef").filter(|r| r.node.is_map()) else {
            let at = root.get("roleRef").unwrap_or_else(|| root.clone());
            self.problem(
                idx,
                &at,
                "a binding needs a `roleRef` mapping with `kind` and `name`; it is skipped"
                    .to_owned(),
            );
            return None;
        };
        if let Some(g) = rr.get("apiGroup") {
            if g.str() != Some(RBAC_GROUP) && !g.node.is_null() {
                self.problem(
                    idx,
                    &g,
                    format!("`roleRef.apiGroup` must be {RBAC_GROUP}; the binding is skipped"),
                );
                return None;
            }
        }
        let kind = rr.get("kind").and_then(|k| k.str());
        let name = rr
            .get("name")
            .and_then(|n| n.str())
            .filter(|n| !n.is_empty());
        let (kind, name) = match (kind, name) {
            (Some(k @ ("Role" | "ClusterRole")), Some(n)) => (k, n),
            (Some(k), Some(_)) => {
                let at = rr.get("kind").unwrap_or_else(|| rr.clone());
                self.problem(
                    idx,
                    &at,
                    format!(
                        "`roleRef.kind` must be Role or ClusterRole, not `{k}`; the binding is skipped"
                    ),
                );
                return None;
            }
            _ => {
                self.problem(
                    idx,
                    &rr,
                    "`roleRef` needs string `kind` and `name`; the binding is skipped".to_owned(),
                );
                return None;
            }
        };
        if cluster && kind == "Role" {
            let at = rr.get("kind").unwrap_or_else(|| rr.clone());
            self.problem(
                idx,
                &at,
                "a ClusterRoleBinding can only refer to a ClusterRole; the binding is skipped"
                    .to_owned(),
            );
            return None;
        }
        let role_ref = RoleRef {
            kind: kind.to_owned(),
            name: name.to_owned(),
            namespace: if kind == "Role" {
                namespace.clone()
            } else {
                None
            },
        };
        let subjects = self.read_subjects(idx, &root, namespace.as_deref());
        Some(Binding {
            object: idx,
            kind: obj.kind.clone(),
            name: obj.name.clone(),
            namespace,
            role_ref,
            subjects,
        })
    }

    fn read_subjects(
        &mut self,
        idx: usize,
        root: &At<'_>,
        namespace: Option<&str>,
    ) -> Vec<(Subject, String, u32, u32)> {
        let Some(list) = self.list_field(idx, root, "subjects", "the binding grants nothing")
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        // As for rules: the list's path is found once.
        let at = list.path();
        for (i, item) in list.items().enumerate() {
            match read_subject(&item, namespace) {
                Ok(s) => out.push((
                    s,
                    at.index(i).to_string(),
                    item.pos().line,
                    item.pos().column,
                )),
                Err(m) => self.problem(idx, &item, format!("{m}; this subject is skipped")),
            }
        }
        out
    }
}

fn read_subject(item: &At<'_>, binding_ns: Option<&str>) -> Result<Subject, String> {
    if !item.node.is_map() {
        return Err(format!(
            "a subject must be a mapping, not a {}",
            item.node.type_name()
        ));
    }
    let name = item
        .get("name")
        .and_then(|n| n.str())
        .filter(|n| !n.is_empty())
        .ok_or("a subject needs a string `name`")?;
    match item.get("kind").and_then(|k| k.str()) {
        Some("User") => Ok(Subject::User(name.to_owned())),
        Some("Group") => Ok(Subject::Group(name.to_owned())),
        Some("ServiceAccount") => {
            let ns = item
                .get("namespace")
                .and_then(|n| n.str())
                .filter(|n| !n.is_empty())
                .or(binding_ns)
                .ok_or("a ServiceAccount subject of a ClusterRoleBinding needs a `namespace`")?;
            Ok(Subject::ServiceAccount {
                namespace: ns.to_owned(),
                name: name.to_owned(),
            })
        }
        Some(k) => Err(format!(
            "subject kind must be User, Group or ServiceAccount, not `{k}`"
        )),
        None => Err("a subject needs a string `kind`".to_owned()),
    }
}

/// The built-in ClusterRoles as definitions (input ClusterRoles of the same name replace them).
fn builtin_defs() -> BTreeMap<String, ClusterRoleDef> {
    let mut defs = BTreeMap::new();
    for b in BUILTIN_ROLES {
        let source = RoleRef::cluster_role(b.name);
        let mut labels =
            BTreeMap::from([(BOOTSTRAP_LABEL.0.to_owned(), BOOTSTRAP_LABEL.1.to_owned())]);
        for l in b.true_labels {
            labels.insert((*l).to_owned(), "true".to_owned());
        }
        let rules = b
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| Rule {
                verbs: r.verbs.iter().map(|s| (*s).to_owned()).collect(),
                api_groups: r.group.iter().map(|s| (*s).to_owned()).collect(),
                resources: r.resources.iter().map(|s| (*s).to_owned()).collect(),
                resource_names: Vec::new(),
                non_resource_urls: r.urls.iter().map(|s| (*s).to_owned()).collect(),
                object: None,
                path: format!("rules[{i}]"),
                line: 0,
                column: 0,
                source: source.clone(),
            })
            .collect();
        defs.insert(
            b.name.to_owned(),
            ClusterRoleDef {
                labels,
                selectors: b.aggregates.map(|l| vec![Selector::label_true(l)]),
                rules,
            },
        );
    }
    defs
}

/// Effective rules of every ClusterRole. An aggregated role gets the rules of every
/// non-aggregated role reachable through its selectors (an aggregated role selected by another
/// contributes what it aggregates itself, as the controller converges to), never its own:
/// breadth-first, in name order at each level, without duplicates.
fn aggregate(defs: &BTreeMap<String, ClusterRoleDef>) -> HashMap<String, Vec<Rule>> {
    let names: Vec<&String> = defs.keys().collect();
    // selects[i]: indices (into `names`) of the roles that aggregated role i selects.
    let selects: Vec<Vec<usize>> = names
        .iter()
        .enumerate()
        .map(|(i, n)| match &defs[*n].selectors {
            None => Vec::new(),
            Some(sels) => names
                .iter()
                .enumerate()
                .filter(|(j, m)| *j != i && sels.iter().any(|s| s.matches(&defs[**m].labels)))
                .map(|(j, _)| j)
                .collect(),
        })
        .collect();
    let mut out = HashMap::new();
    for (i, name) in names.iter().enumerate() {
        let def = &defs[*name];
        if def.selectors.is_none() {
            out.insert((*name).clone(), def.rules.clone());
            continue;
        }
        let mut seen = vec![false; names.len()];
        seen[i] = true;
        let mut queue = std::collections::VecDeque::from([i]);
        let mut rules: Vec<Rule> = Vec::new();
        while let Some(cur) = queue.pop_front() {
            for &j in &selects[cur] {
                if seen[j] {
                    continue;
                }
                seen[j] = true;
                let d = &defs[names[j]];
                if d.selectors.is_some() {
                    queue.push_back(j);
                } else {
                    for r in &d.rules {
                        if !rules.iter().any(|x| x.same_content(r)) {
                            rules.push(r.clone());
                        }
                    }
                }
            }
        }
        out.insert((*name).clone(), rules);
    }
    out
}
