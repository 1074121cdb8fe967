//! Reading an audit.k8s.io/v1 `Policy` with positions, validated as the API server validates it.
//!
//! Unknown fields are not errors (the API server drops them with a warning, and the rule then
//! matches more than its author meant); they are kept in [`Policy::unknown_fields`] for lint.

use mlguard_core::load::Object;
use mlguard_core::{At, InputError, Origin};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// How much of a request is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    None,
    Metadata,
    Request,
    RequestResponse,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s {
            "None" => Level::None,
            "Metadata" => Level::Metadata,
            "Request" => Level::Request,
            "RequestResponse" => Level::RequestResponse,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "None",
            Level::Metadata => "Metadata",
            Level::Request => "Request",
            Level::RequestResponse => "RequestResponse",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Stages of request handling an audit event can be generated at. Ordered by name, the order
/// the JSON contract prints them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Panic,
    RequestReceived,
    ResponseComplete,
    ResponseStarted,
}

impl Stage {
    pub fn parse(s: &str) -> Option<Stage> {
        Some(match s {
            "RequestReceived" => Stage::RequestReceived,
            "ResponseStarted" => Stage::ResponseStarted,
            "ResponseComplete" => Stage::ResponseComplete,
            "Panic" => Stage::Panic,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::RequestReceived => "RequestReceived",
            Stage::ResponseStarted => "ResponseStarted",
            Stage::ResponseComplete => "ResponseComplete",
            Stage::Panic => "Panic",
        }
    }
}

/// `resources[]` of a rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupResources {
    /// `""` is the core group (also when the field is absent); `"*"` is any group.
    pub group: String,
    pub resources: Vec<String>,
    pub resource_names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRule {
    pub level: Level,
    pub users: Vec<String>,
    pub user_groups: Vec<String>,
    pub verbs: Vec<String>,
    pub resources: Vec<GroupResources>,
    pub namespaces: Vec<String>,
    pub non_resource_urls: Vec<String>,
    pub omit_stages: BTreeSet<Stage>,
    /// `None`: not set, the policy's value applies.
    pub omit_managed_fields: Option<bool>,
    pub origin: Origin,
    /// Where each field and list item was written, keyed by its path inside the rule:
    /// `level`, `namespaces[0]`, `resources[1].group`, `resources[1].resources[0]`...
    pub fields: BTreeMap<String, Origin>,
}

impl PolicyRule {
    /// Where `key` (a path inside the rule) was written, else the rule itself.
    pub fn origin_of(&self, key: &str) -> &Origin {
        self.fields.get(key).unwrap_or(&self.origin)
    }

    /// Whether the rule applies to resource requests only (it names namespaces or resources).
    pub fn is_resource_rule(&self) -> bool {
        !self.namespaces.is_empty() || !self.resources.is_empty()
    }

    /// Whether the rule applies to non-resource requests only.
    pub fn is_non_resource_rule(&self) -> bool {
        !self.is_resource_rule() && !self.non_resource_urls.is_empty()
    }
}

/// A field the API server does not know: it drops it with a warning, and the rule (or group)
/// it sat in then matches more than its author meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    pub origin: Origin,
    pub name: String,
    /// The fields that are known where this one was written.
    pub known: &'static [&'static str],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub rules: Vec<PolicyRule>,
    pub omit_stages: BTreeSet<Stage>,
    pub omit_managed_fields: bool,
    /// Fields the API server would drop with a warning.
    pub unknown_fields: Vec<UnknownField>,
    /// The Policy object itself.
    pub origin: Origin,
    /// Where the policy-level `omitStages` was written (the policy when absent).
    pub omit_stages_origin: Origin,
}

pub const POLICY_KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "rules",
    "omitStages",
    "omitManagedFields",
];
pub const RULE_KEYS: &[&str] = &[
    "level",
    "users",
    "userGroups",
    "verbs",
    "resources",
    "namespaces",
    "nonResourceURLs",
    "omitStages",
    "omitManagedFields",
];
pub const GROUP_KEYS: &[&str] = &["group", "resources", "resourceNames"];

struct Cx<'a> {
    file: &'a str,
    errors: Vec<InputError>,
    unknown: Vec<UnknownField>,
    /// Field origins of the rule being read.
    fields: BTreeMap<String, Origin>,
}

impl Cx<'_> {
    fn err(&mut self, at: &At<'_>, msg: impl Into<String>) {
        self.errors.push(InputError::at(self.file, at, msg));
    }

    fn origin(&self, at: &At<'_>) -> Origin {
        Origin::of(self.file, at)
    }

    fn check_keys(&mut self, at: &At<'_>, known: &'static [&'static str]) {
        for (k, v) in at.entries() {
            if !known.contains(&k) {
                let origin = self.origin(&v);
                self.unknown.push(UnknownField {
                    origin,
                    name: k.to_owned(),
                    known,
                });
            }
        }
    }

    /// Remember where `at` was written, under `key` (a path inside the rule).
    fn note(&mut self, key: String, at: &At<'_>) {
        let o = self.origin(at);
        self.fields.insert(key, o);
    }

    /// A list of strings at `at.key`; items' origins are noted under `prefix` + `key[i]`.
    fn strings_noted(&mut self, at: &At<'_>, key: &str, prefix: &str) -> Vec<String> {
        let out = self.strings(at, key);
        if let Some(list) = at.get(key) {
            self.note(format!("{prefix}{key}"), &list);
            for (i, it) in list.items().enumerate() {
                self.note(format!("{prefix}{key}[{i}]"), &it);
            }
        }
        out
    }

    fn strings(&mut self, at: &At<'_>, key: &str) -> Vec<String> {
        let Some(list) = at.get(key) else {
            return Vec::new();
        };
        if list.node.is_null() {
            return Vec::new();
        }
        if !list.node.is_seq() {
            self.err(
                &list,
                format!(
                    "expected a list of strings, found {}",
                    list.node.type_name()
                ),
            );
            return Vec::new();
        }
        let mut out = Vec::new();
        for it in list.items() {
            match it.str() {
                Some(s) => out.push(s.to_owned()),
                None => self.err(
                    &it,
                    format!("expected a string, found {}", it.node.type_name()),
                ),
            }
        }
        out
    }

    fn stages(&mut self, at: &At<'_>) -> BTreeSet<Stage> {
        let mut out = BTreeSet::new();
        let Some(list) = at.get("omitStages") else {
            return out;
        };
        for it in list.items() {
            match it.str().and_then(Stage::parse) {
                Some(s) => {
                    out.insert(s);
                }
                None => self.err(
                    &it,
                    format!(
                        "unknown stage `{}` (RequestReceived, ResponseStarted, ResponseComplete or Panic)",
                        it.node.scalar_text().unwrap_or_default()
                    ),
                ),
            }
        }
        out
    }

    fn flag(&mut self, at: &At<'_>) -> Option<bool> {
        let v = at.get("omitManagedFields")?;
        match v.bool() {
            Some(b) => Some(b),
            None => {
                self.err(&v, "expected true or false");
                None
            }
        }
    }
}

impl Policy {
    /// Parse the first `Policy` document of `text`. Errors name file, line and field.
    pub fn parse(file: &str, text: &str) -> Result<Policy, Vec<InputError>> {
        let (objects, errors, _) =
            mlguard_core::load::load_text(file, text, &mlguard_core::LoadOptions::default());
        if !errors.is_empty() {
            return Err(errors);
        }
        let Some(o) = objects.first() else {
            return Err(vec![InputError {
                file: file.to_owned(),
                pos: None,
                field: None,
                message: "no audit Policy in the file".to_owned(),
            }]);
        };
        Policy::from_object(file, o)
    }

    /// Whether `o` is an audit.k8s.io Policy (of any version).
    pub fn is_policy(o: &Object) -> bool {
        o.kind == "Policy" && o.group() == "audit.k8s.io"
    }

    /// Read a loaded object (from `file`) as an audit.k8s.io/v1 Policy.
    pub fn from_object(file: &str, o: &Object) -> Result<Policy, Vec<InputError>> {
        let mut errors = Vec::new();
        let root = o.at();
        if o.kind != "Policy" || o.api_version != "audit.k8s.io/v1" {
            errors.push(InputError {
                file: file.to_owned(),
                pos: Some(root.pos()),
                field: Some("kind".to_owned()),
                message: format!(
                    "expected an audit.k8s.io/v1 Policy, found {} {}",
                    o.api_version, o.kind
                ),
            });
            return Err(errors);
        }
        let mut cx = Cx {
            file,
            errors: Vec::new(),
            unknown: Vec::new(),
            fields: BTreeMap::new(),
        };
        cx.check_keys(&root, POLICY_KEYS);
        let origin = cx.origin(&root);
        let omit_stages_origin = root
            .get("omitStages")
            .map_or_else(|| origin.clone(), |a| cx.origin(&a));
        let omit_stages = cx.stages(&root);
        let omit_managed_fields = cx.flag(&root).unwrap_or(false);
        let mut rules = Vec::new();
        match root.get("rules") {
            Some(list) if list.node.is_seq() => {
                for r in list.items() {
                    if let Some(rule) = read_rule(&mut cx, &r) {
                        rules.push(rule);
                    }
                }
            }
            Some(list) if !list.node.is_null() => {
                cx.err(&list, "expected a list of rules");
            }
            _ => {}
        }
        if cx.errors.is_empty() {
            Ok(Policy {
                rules,
                omit_stages,
                omit_managed_fields,
                unknown_fields: cx.unknown,
                origin,
                omit_stages_origin,
            })
        } else {
            Err(cx.errors)
        }
    }
}

fn read_rule(cx: &mut Cx<'_>, r: &At<'_>) -> Option<PolicyRule> {
    if !r.node.is_map() {
        cx.err(r, "a rule must be a mapping");
        return None;
    }
    cx.fields.clear();
    cx.check_keys(r, RULE_KEYS);
    let level = match r.get("level") {
        None => {
            cx.err(
                r,
                "a rule needs a level (None, Metadata, Request or RequestResponse)",
            );
            return None;
        }
        Some(l) => match l.str().and_then(Level::parse) {
            Some(x) => {
                cx.note("level".to_owned(), &l);
                x
            }
            None => {
                cx.err(
                    &l,
                    format!(
                        "unknown level `{}` (None, Metadata, Request or RequestResponse)",
                        l.node.scalar_text().unwrap_or_default()
                    ),
                );
                return None;
            }
        },
    };
    let users = cx.strings_noted(r, "users", "");
    let user_groups = cx.strings_noted(r, "userGroups", "");
    let verbs = cx.strings_noted(r, "verbs", "");
    let namespaces = cx.strings_noted(r, "namespaces", "");
    let non_resource_urls = cx.strings_noted(r, "nonResourceURLs", "");
    let mut resources = Vec::new();
    if let Some(list) = r.get("resources") {
        cx.note("resources".to_owned(), &list);
        for (gi, g) in list.items().enumerate() {
            let prefix = format!("resources[{gi}].");
            cx.note(format!("resources[{gi}]"), &g);
            if !g.node.is_map() {
                cx.err(
                    &g,
                    "expected a mapping with group, resources, resourceNames",
                );
                continue;
            }
            cx.check_keys(&g, GROUP_KEYS);
            if let Some(x) = g.get("group") {
                cx.note(format!("{prefix}group"), &x);
            }
            let group = match g.get("group") {
                None => String::new(),
                Some(x) if x.node.is_null() => String::new(),
                Some(x) => match x.str() {
                    Some(s) => s.to_owned(),
                    None => {
                        cx.err(&x, "expected a group name");
                        String::new()
                    }
                },
            };
            let res = cx.strings_noted(&g, "resources", &prefix);
            let names = cx.strings_noted(&g, "resourceNames", &prefix);
            if !names.is_empty() && res.is_empty() {
                if let Some(n) = g.get("resourceNames") {
                    cx.err(&n, "resourceNames require at least one resource");
                }
            }
            resources.push(GroupResources {
                group,
                resources: res,
                resource_names: names,
            });
        }
    }
    if !non_resource_urls.is_empty() && (!resources.is_empty() || !namespaces.is_empty()) {
        let at = r.get("nonResourceURLs").unwrap_or_else(|| r.clone());
        cx.err(
            &at,
            "a rule cannot apply to both resources (resources, namespaces) and nonResourceURLs",
        );
    }
    if let Some(list) = r.get("nonResourceURLs") {
        for (i, u) in non_resource_urls.iter().enumerate() {
            let bad = if u == "*" {
                None
            } else if !u.starts_with('/') {
                Some("must start with `/`")
            } else if u.strip_suffix('*').unwrap_or(u).contains('*') {
                // A `*` anywhere but last (by char: a multibyte last char is not cut).
                Some("may only have `*` at the end")
            } else {
                None
            };
            if let Some(why) = bad {
                if let Some(it) = list.items().nth(i) {
                    cx.err(&it, format!("nonResourceURL `{u}` {why}"));
                }
            }
        }
    }
    let omit_stages = cx.stages(r);
    if let Some(x) = r.get("omitStages") {
        cx.note("omitStages".to_owned(), &x);
    }
    let omit_managed_fields = cx.flag(r);
    let origin = cx.origin(r);
    Some(PolicyRule {
        level,
        users,
        user_groups,
        verbs,
        resources,
        namespaces,
        non_resource_urls,
        omit_stages,
        omit_managed_fields,
        origin,
        fields: std::mem::take(&mut cx.fields),
    })
}
