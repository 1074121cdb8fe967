//! Evaluating a request against a policy, as the API server's policy checker does.

use crate::policy::{Level, Policy, PolicyRule, Stage};
use std::collections::BTreeSet;

/// The attributes of a request the policy looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// `None`: the request has no user at all (rules naming users or groups do not match).
    pub user: Option<String>,
    pub groups: Vec<String>,
    pub verb: String,
    pub namespace: String,
    pub api_group: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
    /// The URL path of a non-resource request (`/healthz`).
    pub path: String,
    /// A resource request (`resource` set) or a non-resource one (`path`).
    pub resource_request: bool,
}

/// What gets logged for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub level: Level,
    pub omit_stages: BTreeSet<Stage>,
    pub omit_managed_fields: bool,
    /// Index of the rule that matched; `None` when none did (level None).
    pub rule: Option<usize>,
}

impl Policy {
    /// The level, omitted stages and omitManagedFields for `req`: the first matching rule
    /// decides; with no match the level is None.
    pub fn eval(&self, req: &Request) -> Decision {
        for (i, r) in self.rules.iter().enumerate() {
            if rule_matches(r, req) {
                return Decision {
                    level: r.level,
                    omit_stages: self.omit_stages.union(&r.omit_stages).copied().collect(),
                    omit_managed_fields: r.omit_managed_fields.unwrap_or(self.omit_managed_fields),
                    rule: Some(i),
                };
            }
        }
        Decision {
            level: Level::None,
            omit_stages: self.omit_stages.clone(),
            omit_managed_fields: self.omit_managed_fields,
            rule: None,
        }
    }
}

/// Does rule `r` match `req`? Users, groups, verbs and namespaces compare exactly.
pub fn rule_matches(r: &PolicyRule, req: &Request) -> bool {
    if !r.users.is_empty() {
        match &req.user {
            Some(u) if r.users.contains(u) => {}
            _ => return false,
        }
    }
    if !r.user_groups.is_empty()
        && (req.user.is_none() || !req.groups.iter().any(|g| r.user_groups.contains(g)))
    {
        return false;
    }
    if !r.verbs.is_empty() && !r.verbs.contains(&req.verb) {
        return false;
    }
    if !r.namespaces.is_empty() || !r.resources.is_empty() {
        return matches_resource(r, req);
    }
    if !r.non_resource_urls.is_empty() {
        return matches_non_resource(r, req);
    }
    true
}

fn matches_non_resource(r: &PolicyRule, req: &Request) -> bool {
    if req.resource_request {
        return false;
    }
    r.non_resource_urls.iter().any(|spec| {
        spec == "*"
            || *spec == req.path
            || spec
                .strip_suffix('*')
                .is_some_and(|prefix| req.path.starts_with(prefix.trim_end_matches('*')))
    })
}

fn matches_resource(r: &PolicyRule, req: &Request) -> bool {
    if !req.resource_request {
        return false;
    }
    // An empty list matches every namespace; "" in it matches cluster-scoped requests.
    if !r.namespaces.is_empty() && !r.namespaces.contains(&req.namespace) {
        return false;
    }
    if r.resources.is_empty() {
        return true;
    }
    for gr in &r.resources {
        if gr.group != req.api_group && gr.group != "*" {
            continue;
        }
        if gr.resources.is_empty() {
            return true;
        }
        for res in &gr.resources {
            if !gr.resource_names.is_empty() && !gr.resource_names.contains(&req.name) {
                continue;
            }
            if resource_pattern_matches(res, &req.resource, &req.subresource) {
                return true;
            }
        }
    }
    false
}

/// Does the `resources` entry `pattern` match `resource` with `subresource` (maybe empty)?
/// `res`, `res/sub` and `*` compare with `res[/sub]`; `*/sub` matches any resource's `sub`;
/// `res/*` matches `res` and every subresource of it.
pub fn resource_pattern_matches(pattern: &str, resource: &str, subresource: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    // pattern == combined, without building `res/sub`.
    let combined = if subresource.is_empty() {
        pattern == resource
    } else {
        pattern.len() == resource.len() + 1 + subresource.len()
            && pattern.starts_with(resource)
            && pattern.as_bytes()[resource.len()] == b'/'
            && pattern.ends_with(subresource)
    };
    if combined {
        return true;
    }
    if !subresource.is_empty() && pattern.strip_prefix("*/") == Some(subresource) {
        return true;
    }
    pattern.strip_suffix("/*") == Some(resource)
}

/// Read requests in the JSON contract: one object or an array of them, each
/// `{"user","groups","verb","namespace","apiGroup","resource","subresource","name","path"}`.
/// A request needs `verb` and one of `resource` and `path`; unknown keys are errors.
pub fn parse_requests(text: &str) -> Result<(Vec<Request>, bool), String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let (items, array) = match v {
        serde_json::Value::Array(a) => (a, true),
        o @ serde_json::Value::Object(_) => (vec![o], false),
        _ => return Err("expected a request object or an array of them".to_owned()),
    };
    const KEYS: &[&str] = &[
        "user",
        "groups",
        "verb",
        "namespace",
        "apiGroup",
        "resource",
        "subresource",
        "name",
        "path",
    ];
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let at = if array {
            format!("request [{i}]")
        } else {
            "the request".to_owned()
        };
        let Some(o) = it.as_object() else {
            return Err(format!("{at}: expected an object"));
        };
        for k in o.keys() {
            if !KEYS.contains(&k.as_str()) {
                return Err(format!(
                    "{at}: unknown field `{k}` (known: {})",
                    KEYS.join(", ")
                ));
            }
        }
        let s = |k: &str| -> Result<String, String> {
            match o.get(k) {
                None | Some(serde_json::Value::Null) => Ok(String::new()),
                Some(serde_json::Value::String(x)) => Ok(x.clone()),
                Some(_) => Err(format!("{at}: field `{k}` must be a string")),
            }
        };
        let groups = match o.get("groups") {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .map(|g| {
                    g.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("{at}: field `groups` must hold strings"))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(format!("{at}: field `groups` must be a list of strings")),
        };
        let mut missing = Vec::new();
        if s("verb")?.is_empty() {
            missing.push("verb");
        }
        let resource = s("resource")?;
        let path = s("path")?;
        if resource.is_empty() && path.is_empty() {
            missing.push("resource or path");
        }
        if !missing.is_empty() {
            return Err(format!("{at}: missing {}", missing.join(" and ")));
        }
        if !resource.is_empty() && !path.is_empty() {
            return Err(format!(
                "{at}: give `resource` (a resource request) or `path` (a non-resource request), not both"
            ));
        }
        out.push(Request {
            // Absent strings are empty: a request always has a user, maybe named "".
            user: Some(s("user")?),
            groups,
            verb: s("verb")?,
            namespace: s("namespace")?,
            api_group: s("apiGroup")?,
            resource_request: !resource.is_empty(),
            resource,
            subresource: s("subresource")?,
            name: s("name")?,
            path,
        });
    }
    Ok((out, array))
}

/// The JSON contract's answer for one request.
pub fn decision_json(d: &Decision) -> serde_json::Value {
    serde_json::json!({
        "level": d.level.as_str(),
        "omitStages": d.omit_stages.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "omitManagedFields": d.omit_managed_fields,
        "rule": d.rule,
    })
}
