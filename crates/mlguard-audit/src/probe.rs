//! Enumerating the requests a policy can tell apart.
//!
//! A rule compares users, groups, verbs, namespaces and resource names exactly, so two values
//! the policy never names are indistinguishable to it. The requests built from the values the
//! policy names, plus one value it does not name per field, therefore reach every rule any
//! request can reach, and land where every other request would. Groups need only be tried
//! one at a time: a request with several groups is decided as the first rule matching one of
//! them decides, and the same request with only that group is decided by the same rule.

use crate::eval::Request;
use crate::policy::Policy;
use std::collections::BTreeSet;

/// A value no rule of the policy names, starting from `base`.
pub fn fresh(base: &str, taken: &BTreeSet<String>) -> String {
    let mut v = base.to_owned();
    let mut i = 1;
    while taken.contains(&v) {
        v = format!("{base}-{i}");
        i += 1;
    }
    v
}

/// Who makes a request: a user name and its groups.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
}

impl Identity {
    pub fn new(user: &str, groups: &[&str]) -> Self {
        Identity {
            user: user.to_owned(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        }
    }
}

/// The literal values a policy compares with.
#[derive(Debug, Clone, Default)]
pub struct Literals {
    pub users: BTreeSet<String>,
    pub groups: BTreeSet<String>,
    pub verbs: BTreeSet<String>,
    pub namespaces: BTreeSet<String>,
    pub names: BTreeSet<String>,
    /// (group, resource, subresource) named by the rules; `*` patterns expanded to a
    /// resource or subresource no rule names.
    pub resources: BTreeSet<(String, String, String)>,
}

impl Literals {
    pub fn of(policy: &Policy) -> Self {
        let mut l = Literals::default();
        for r in &policy.rules {
            l.users.extend(r.users.iter().cloned());
            l.groups.extend(r.user_groups.iter().cloned());
            l.verbs.extend(r.verbs.iter().cloned());
            l.namespaces.extend(r.namespaces.iter().cloned());
            for g in &r.resources {
                l.names.extend(g.resource_names.iter().cloned());
            }
        }
        let mut taken: BTreeSet<String> = BTreeSet::new();
        for r in &policy.rules {
            for g in &r.resources {
                taken.insert(g.group.clone());
                for p in &g.resources {
                    for part in p.split('/') {
                        taken.insert(part.to_owned());
                    }
                }
            }
        }
        let other_group = fresh("example.com", &taken);
        let other_res = fresh("widgets", &taken);
        let other_sub = fresh("status", &taken);
        for r in &policy.rules {
            for g in &r.resources {
                let group = if g.group == "*" {
                    other_group.clone()
                } else {
                    g.group.clone()
                };
                if g.resources.is_empty() {
                    l.resources
                        .insert((group.clone(), other_res.clone(), String::new()));
                }
                for p in &g.resources {
                    let (res, sub) = p.split_once('/').unwrap_or((p, ""));
                    let res = if res == "*" { other_res.as_str() } else { res };
                    let sub = if sub == "*" { other_sub.as_str() } else { sub };
                    l.resources
                        .insert((group.clone(), res.to_owned(), sub.to_owned()));
                    if !sub.is_empty() {
                        l.resources
                            .insert((group.clone(), res.to_owned(), String::new()));
                    }
                }
            }
        }
        l.resources
            .insert((String::new(), other_res.clone(), String::new()));
        l.resources.insert((other_group, other_res, String::new()));
        l
    }

    /// Identities that reach every rule: each named user and one unnamed, each with no group,
    /// with each named group alone, and with one unnamed group.
    pub fn identities(&self) -> Vec<Identity> {
        let other_user = fresh("someone@example.com", &self.users);
        let other_group = fresh("some-group", &self.groups);
        let mut out = Vec::new();
        for u in self.users.iter().chain(std::iter::once(&other_user)) {
            out.push(Identity {
                user: u.clone(),
                groups: Vec::new(),
            });
            for g in self.groups.iter().chain(std::iter::once(&other_group)) {
                out.push(Identity {
                    user: u.clone(),
                    groups: vec![g.clone()],
                });
            }
        }
        out
    }

    /// The named verbs plus `extra`, and one verb no rule names.
    pub fn verbs_with(&self, extra: &[&str]) -> Vec<String> {
        let mut v: BTreeSet<String> = self.verbs.clone();
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v.insert(fresh("proxy", &self.verbs));
        v.into_iter().collect()
    }

    /// The named namespaces, `""` (cluster-scoped) and one namespace no rule names.
    /// Named values that cannot be namespace names (`team-*`) are left out: no request has them.
    pub fn namespaces_all(&self) -> Vec<String> {
        let mut v: BTreeSet<String> = self
            .namespaces
            .iter()
            .filter(|n| is_dns_label(n))
            .cloned()
            .collect();
        v.insert(String::new());
        v.insert(fresh("some-namespace", &self.namespaces));
        v.into_iter().collect()
    }

    /// The named resource names and one no rule names.
    pub fn names_all(&self) -> Vec<String> {
        let mut v = self.names.clone();
        v.insert(fresh("some-name", &self.names));
        v.into_iter().collect()
    }
}

/// A cross product of request fields; [`Space::for_each`] visits every request in it.
#[derive(Debug, Clone, Default)]
pub struct Space {
    pub identities: Vec<Identity>,
    pub verbs: Vec<String>,
    pub namespaces: Vec<String>,
    /// (group, resource, subresource)
    pub resources: Vec<(String, String, String)>,
    pub names: Vec<String>,
}

impl Space {
    /// How many requests the space holds.
    pub fn size(&self) -> u128 {
        [
            self.identities.len(),
            self.verbs.len(),
            self.namespaces.len(),
            self.resources.len(),
            self.names.len(),
        ]
        .iter()
        .map(|&n| n as u128)
        .product()
    }

    /// Visit every resource request of the space; `f` returns false to stop.
    pub fn for_each(&self, mut f: impl FnMut(&Request) -> bool) {
        let mut req = Request {
            resource_request: true,
            ..Request::default()
        };
        for id in &self.identities {
            req.user = Some(id.user.clone());
            req.groups.clone_from(&id.groups);
            for (g, r, s) in &self.resources {
                req.api_group.clone_from(g);
                req.resource.clone_from(r);
                req.subresource.clone_from(s);
                for verb in &self.verbs {
                    req.verb.clone_from(verb);
                    for ns in &self.namespaces {
                        req.namespace.clone_from(ns);
                        for name in &self.names {
                            req.name.clone_from(name);
                            if !f(&req) {
                                return;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// How a request reads in a message: `create pytorchjobs.kubeflow.org in team-b by alice`.
pub fn describe(req: &Request) -> String {
    let who = match &req.user {
        Some(u) if req.groups.is_empty() => format!("`{u}`"),
        Some(u) => format!("`{u}` (groups {})", req.groups.join(", ")),
        None => "no user".to_owned(),
    };
    if !req.resource_request {
        return format!("{} {} by {who}", req.verb, req.path);
    }
    let mut what = req.resource.clone();
    if !req.subresource.is_empty() {
        what = format!("{what}/{}", req.subresource);
    }
    if !req.api_group.is_empty() {
        what = format!("{what}.{}", req.api_group);
    }
    let name = if req.name.is_empty() {
        String::new()
    } else {
        format!(" `{}`", req.name)
    };
    let ns = if req.namespace.is_empty() {
        String::new()
    } else {
        format!(" in {}", req.namespace)
    };
    format!("{} {what}{name}{ns} by {who}", req.verb)
}

/// A DNS-1123 label, as namespace names are.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}
