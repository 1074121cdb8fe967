//! One policy rule and the Kubernetes matching semantics (as the RBAC authorizer applies them).

use crate::RoleRef;

/// One entry of a Role's or ClusterRole's `rules`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub verbs: Vec<String>,
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub resource_names: Vec<String>,
    pub non_resource_urls: Vec<String>,
    /// Index into `Inventory::objects` of the Role/ClusterRole that wrote this rule; None for
    /// the rules of built-in roles that are not in the inputs.
    pub object: Option<usize>,
    /// YAML path of the rule within its document, the object's base path included
    /// (`rules[2]`, `items[4].rules[0]`). For built-in roles, the index in the built-in table.
    pub path: String,
    /// Position of the rule (0 for built-in roles).
    pub line: u32,
    pub column: u32,
    /// The role that wrote the rule. For an aggregated ClusterRole this is the aggregated
    /// source, not the role that was bound.
    pub source: RoleRef,
}

impl Rule {
    /// A rule with no origin, for tests and for callers that build requests by hand.
    pub fn new(verbs: &[&str], api_groups: &[&str], resources: &[&str]) -> Rule {
        let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        Rule {
            verbs: owned(verbs),
            api_groups: owned(api_groups),
            resources: owned(resources),
            resource_names: Vec::new(),
            non_resource_urls: Vec::new(),
            object: None,
            path: String::new(),
            line: 0,
            column: 0,
            source: RoleRef {
                kind: String::new(),
                name: String::new(),
                namespace: None,
            },
        }
    }

    /// Whether the rule allows a resource request, with the RBAC authorizer's semantics:
    ///
    /// - verbs and apiGroups: `*` or an exact (case-sensitive) match;
    /// - resources: `*` matches every resource and subresource; otherwise `resource` (as
    ///   `pods` or `pods/exec`) must match exactly, or the rule names `*/exec` and the request
    ///   is for the `exec` subresource of any resource. `pods/*` is not a wildcard in
    ///   Kubernetes (it only names a subresource literally called `*`), and `pods` does not
    ///   cover `pods/exec`;
    /// - resourceNames restrict only when non-empty, and then the request must name one of
    ///   them (a request without a name — list, watch of all, create — is not allowed).
    pub fn allows(&self, verb: &str, api_group: &str, resource: &str, name: Option<&str>) -> bool {
        self.allows_any_name(verb, api_group, resource)
            && (self.resource_names.is_empty()
                || name.is_some_and(|n| self.resource_names.iter().any(|r| r == n)))
    }

    /// Like [`allows`](Rule::allows) for at least one object name: resourceNames are ignored.
    /// Use it to ask "can read some Secrets" rather than "can read every Secret".
    pub fn allows_any_name(&self, verb: &str, api_group: &str, resource: &str) -> bool {
        self.matches_verb(verb)
            && self.api_groups.iter().any(|g| g == "*" || g == api_group)
            && self.matches_resource(resource)
    }

    /// Whether the rule allows a non-resource request (`get /metrics`): the URL matches
    /// exactly, the rule names `*`, or the rule ends in `*` and the URL starts with the rest.
    /// Only ClusterRoleBindings grant non-resource URLs.
    pub fn allows_non_resource(&self, verb: &str, url: &str) -> bool {
        self.matches_verb(verb)
            && self.non_resource_urls.iter().any(|u| {
                u == "*" || u == url || u.strip_suffix('*').is_some_and(|p| url.starts_with(p))
            })
    }

    /// Whether verbs, apiGroups or resources use a wildcard: `*` in any of them, or a
    /// `*/subresource` resource.
    pub fn has_wildcard(&self) -> bool {
        self.verbs.iter().any(|v| v == "*")
            || self.api_groups.iter().any(|g| g == "*")
            || self.resources.iter().any(|r| r.starts_with('*'))
    }

    /// The rule's content (verbs, groups, resources, names, URLs) equals `other`'s; origins
    /// are not compared. Aggregation uses it to drop duplicates as the controller does.
    pub fn same_content(&self, other: &Rule) -> bool {
        self.verbs == other.verbs
            && self.api_groups == other.api_groups
            && self.resources == other.resources
            && self.resource_names == other.resource_names
            && self.non_resource_urls == other.non_resource_urls
    }

    fn matches_verb(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == "*" || v == verb)
    }

    fn matches_resource(&self, resource: &str) -> bool {
        let sub = resource.split_once('/').map(|(_, s)| s);
        self.resources.iter().any(|r| {
            r == "*" || r == resource || sub.is_some_and(|s| r.strip_prefix("*/") == Some(s))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_expand() {
        let all = Rule::new(&["*"], &["*"], &["*"]);
        assert!(all.allows("delete", "apps", "deployments", None));
        assert!(all.allows("create", "", "pods/exec", Some("p")));
        assert!(all.has_wildcard());

        let verbs = Rule::new(&["*"], &[""], &["secrets"]);
        assert!(verbs.allows("get", "", "secrets", None));
        assert!(verbs.allows("escalate", "", "secrets", None));
        assert!(!verbs.allows("get", "apps", "secrets", None));
        assert!(verbs.has_wildcard());

        let groups = Rule::new(&["get"], &["*"], &["secrets"]);
        assert!(groups.allows("get", "anything.example.com", "secrets", None));
        assert!(!groups.allows("list", "", "secrets", None));

        let plain = Rule::new(&["get", "list"], &[""], &["pods"]);
        assert!(!plain.has_wildcard());
        assert!(!plain.allows("get", "", "secrets", None));
        // An empty apiGroups list matches nothing, not the core group.
        assert!(!Rule::new(&["get"], &[], &["pods"]).allows("get", "", "pods", None));
    }

    #[test]
    fn subresources_follow_kubernetes() {
        let pods = Rule::new(&["*"], &[""], &["pods"]);
        assert!(pods.allows("get", "", "pods", None));
        assert!(!pods.allows("create", "", "pods/exec", None));

        let exec = Rule::new(&["create"], &[""], &["pods/exec"]);
        assert!(exec.allows("create", "", "pods/exec", None));
        assert!(!exec.allows("create", "", "pods", None));
        assert!(!exec.allows("create", "", "pods/attach", None));

        let any_exec = Rule::new(&["create"], &[""], &["*/exec"]);
        assert!(any_exec.allows("create", "", "pods/exec", None));
        assert!(any_exec.allows("create", "", "nodes/exec", None));
        assert!(!any_exec.allows("create", "", "pods", None));
        assert!(!any_exec.allows("create", "", "pods/attach", None));
        assert!(any_exec.has_wildcard());

        // `pods/*` is not a wildcard in Kubernetes.
        let pods_star = Rule::new(&["create"], &[""], &["pods/*"]);
        assert!(!pods_star.allows("create", "", "pods/exec", None));
        assert!(!pods_star.allows("create", "", "pods", None));
        // `*/*` only names the subresource `*`.
        assert!(!Rule::new(&["get"], &[""], &["*/*"]).allows("get", "", "pods/log", None));
    }

    #[test]
    fn resource_names_restrict_only_when_present() {
        let mut r = Rule::new(&["get", "list"], &[""], &["secrets"]);
        assert!(r.allows("get", "", "secrets", Some("any")));
        r.resource_names = vec!["model-key".into()];
        assert!(r.allows("get", "", "secrets", Some("model-key")));
        assert!(!r.allows("get", "", "secrets", Some("other")));
        assert!(!r.allows("list", "", "secrets", None));
        assert!(r.allows_any_name("list", "", "secrets"));
    }

    #[test]
    fn non_resource_urls() {
        let mut r = Rule::new(&["get"], &[], &[]);
        r.non_resource_urls = vec!["/healthz".into(), "/metrics/*".into()];
        assert!(r.allows_non_resource("get", "/healthz"));
        assert!(r.allows_non_resource("get", "/metrics/slis"));
        assert!(!r.allows_non_resource("get", "/version"));
        assert!(!r.allows_non_resource("post", "/healthz"));
        assert!(!r.allows("get", "", "healthz", None));
    }
}
