//! The MLTenant CustomResourceDefinition: the schema generated from the Rust types (schemars,
//! through kube's derive), with CEL validation rules (`x-kubernetes-validations`) for what a
//! schema cannot say, so the API server rejects what `mlguard tenant render` would. What CEL
//! cannot see (a namespace claimed by two tenants) the operator reports as Degraded.

use crate::spec::MLTenant;
use kube::CustomResourceExt;
use serde_json::{json, Value};

/// (path of properties from the spec schema, rule, message).
const RULES: &[(&[&str], &str, &str)] = &[
    (
        &[],
        "self.namespaces.all(n, self.namespaces.exists_one(m, m.name == n.name))",
        "each namespace is listed once",
    ),
    (
        &[],
        "!(self.classification in ['pii', 'phi', 'pci']) || !has(self.audit) || !has(self.audit.writes) || self.audit.writes == 'RequestResponse'",
        "regulated data (pii, phi, pci) needs writes logged at RequestResponse (MLG-AUD-001)",
    ),
    (
        &["namespaces", "*"],
        "!self.name.startsWith('kube-') && self.name != 'default'",
        "a tenant namespace cannot be a system namespace",
    ),
    (
        &["network", "collective"],
        "!has(self.mode) || self.mode != 'port-range' || (has(self.from) && has(self.to) && self.from >= 1024 && self.from <= self.to)",
        "mode port-range needs from and to (1024 <= from <= to), the pods' net.ipv4.ip_local_port_range",
    ),
    (
        &["network", "collective"],
        "(has(self.mode) && self.mode == 'port-range') || (!has(self.from) && !has(self.to))",
        "from and to are for mode port-range",
    ),
    (
        &["network", "storageEndpoints", "*"],
        "has(self.cidr) != (has(self.namespaceSelector) || has(self.podSelector))",
        "a storage endpoint is a cidr, or a namespaceSelector and/or podSelector",
    ),
    (
        &["network", "storageEndpoints", "*"],
        "!has(self.cidr) || isCIDR(self.cidr)",
        "cidr must be an IPv4 or IPv6 CIDR",
    ),
    (
        &["keyProvider"],
        "self.type != 'vault' || ('address' in self.parameters && self.parameters['address'].startsWith('https://'))",
        "the Vault key provider needs an https:// address",
    ),
    (
        &["quota"],
        "(!has(self.cpu) || isQuantity(self.cpu)) && (!has(self.memory) || isQuantity(self.memory)) && (!has(self.storage) || isQuantity(self.storage))",
        "cpu, memory and storage must be quantities",
    ),
    (
        &["members", "engineers"],
        "!has(self.groups) || self.groups.all(g, !(g in ['system:authenticated', 'system:unauthenticated', 'system:serviceaccounts', 'system:masters']))",
        "a group that reaches everyone cannot hold a tenant role",
    ),
    (
        &["members", "viewers"],
        "!has(self.groups) || self.groups.all(g, !(g in ['system:authenticated', 'system:unauthenticated', 'system:serviceaccounts', 'system:masters']))",
        "a group that reaches everyone cannot hold a tenant role",
    ),
    (
        &["members", "admins"],
        "!has(self.groups) || self.groups.all(g, !(g in ['system:authenticated', 'system:unauthenticated', 'system:serviceaccounts', 'system:masters']))",
        "a group that reaches everyone cannot hold a tenant role",
    ),
];

/// Follow `path` (property names; `*` for array items) from `schema`.
fn at<'a>(mut schema: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    for p in path {
        schema = if *p == "*" {
            schema.get_mut("items")?
        } else {
            schema.get_mut("properties")?.get_mut(*p)?
        };
    }
    Some(schema)
}

/// Remove the `default`s schemars derives from `#[serde(default)]`: the API server would write
/// them (nulls included) into every object, and mlguard applies its defaults itself.
fn strip_defaults(v: &mut Value) {
    match v {
        Value::Object(o) => {
            o.remove("default");
            for x in o.values_mut() {
                strip_defaults(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(strip_defaults),
        _ => {}
    }
}

/// The CRD as JSON, with the CEL rules and name patterns added.
pub fn crd() -> Value {
    let mut v = serde_json::to_value(MLTenant::crd()).unwrap_or(Value::Null);
    if let Some(s) = v.pointer_mut("/spec/versions/0/schema/openAPIV3Schema") {
        strip_defaults(s);
    }
    let Some(spec) = v.pointer_mut("/spec/versions/0/schema/openAPIV3Schema/properties/spec")
    else {
        return v;
    };
    for (path, rule, message) in RULES {
        if let Some(node) = at(spec, path) {
            let rules = node.as_object_mut().map(|o| {
                o.entry("x-kubernetes-validations")
                    .or_insert_with(|| json!([]))
            });
            if let Some(Value::Array(a)) = rules {
                a.push(json!({"rule": rule, "message": message}));
            }
        }
    }
    if let Some(name) = at(spec, &["namespaces", "*", "name"]) {
        name["pattern"] = json!("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
        name["maxLength"] = json!(63);
    }
    if let Some(ns) = at(spec, &["namespaces"]) {
        ns["minItems"] = json!(1);
    }
    v
}

/// The spec schema of the CRD (openAPIV3Schema), for validating objects client-side.
pub fn schema() -> Value {
    crd()
        .pointer("/spec/versions/0/schema/openAPIV3Schema")
        .cloned()
        .unwrap_or(Value::Null)
}

/// Every rule's (path, rule): for documentation and for checking each one is in the CRD.
pub fn rules() -> impl Iterator<Item = (String, &'static str)> {
    RULES.iter().map(|(p, r, _)| (p.join("."), *r))
}
