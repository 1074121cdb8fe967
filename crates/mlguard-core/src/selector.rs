//! Kubernetes label selectors (`matchLabels` + `matchExpressions`), as the API server reads them.

use crate::node::Node;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed selector. An empty selector (`{}`) matches everything; an absent one is the
/// caller's business (it means different things in different fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    pub requirements: Vec<Requirement>,
}

impl Selector {
    /// Parse a `LabelSelector` node. Unknown operators or malformed parts yield an error text.
    pub fn parse(n: &Node) -> Result<Selector, String> {
        let mut requirements = Vec::new();
        if n.is_null() {
            return Ok(Selector::default());
        }
        if !n.is_map() {
            return Err(format!(
                "selector must be a mapping, found {}",
                n.type_name()
            ));
        }
        if let Some(ml) = n.get("matchLabels") {
            for e in ml.entries() {
                let v = e
                    .value
                    .scalar_text()
                    .ok_or_else(|| format!("matchLabels.{}: expected a string", e.key))?;
                requirements.push(Requirement::In(e.key.to_string(), vec![v]));
            }
        }
        if let Some(me) = n.get("matchExpressions") {
            for x in me.items() {
                let key = x
                    .get("key")
                    .and_then(Node::as_str)
                    .ok_or("matchExpressions: missing key")?
                    .to_owned();
                let values: Vec<String> = x
                    .get("values")
                    .map(|v| v.items().iter().filter_map(Node::scalar_text).collect())
                    .unwrap_or_default();
                let op = x.get("operator").and_then(Node::as_str).unwrap_or_default();
                requirements.push(match op {
                    "In" => Requirement::In(key, values),
                    "NotIn" => Requirement::NotIn(key, values),
                    "Exists" => Requirement::Exists(key),
                    "DoesNotExist" => Requirement::DoesNotExist(key),
                    other => return Err(format!("matchExpressions: unknown operator `{other}`")),
                });
            }
        }
        Ok(Selector { requirements })
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| match r {
            Requirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
        })
    }

    /// The selector only pins `kubernetes.io/metadata.name` (it names namespaces).
    pub fn only_names_namespaces(&self) -> bool {
        !self.requirements.is_empty()
            && self.requirements.iter().all(|r| {
                matches!(r, Requirement::In(k, _) | Requirement::NotIn(k, _) if k == crate::inventory::LABEL_NS_NAME)
            })
    }
}

/// Labels of a node (`metadata.labels` style mapping), scalars rendered as text.
pub fn labels_of(n: Option<&Node>) -> BTreeMap<String, String> {
    n.map(|l| {
        l.entries()
            .iter()
            .filter_map(|e| e.value.scalar_text().map(|v| (e.key.to_string(), v)))
            .collect()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{parse_stream, Limits};

    fn sel(t: &str) -> Selector {
        let d = parse_stream(t, Limits::default());
        Selector::parse(&d.documents[0].root).expect("valid")
    }

    #[test]
    fn match_labels_and_expressions() {
        let l: BTreeMap<String, String> =
            [("app".into(), "a".into()), ("tier".into(), "x".into())].into();
        assert!(sel("{}").matches(&l));
        assert!(sel("matchLabels: {app: a}").matches(&l));
        assert!(!sel("matchLabels: {app: b}").matches(&l));
        assert!(sel("matchExpressions: [{key: tier, operator: In, values: [x, y]}]").matches(&l));
        assert!(!sel("matchExpressions: [{key: tier, operator: NotIn, values: [x]}]").matches(&l));
        assert!(sel("matchExpressions: [{key: zz, operator: NotIn, values: [x]}]").matches(&l));
        assert!(sel("matchExpressions: [{key: app, operator: Exists}]").matches(&l));
        assert!(!sel("matchExpressions: [{key: app, operator: DoesNotExist}]").matches(&l));
        let d = parse_stream(
            "matchExpressions: [{key: a, operator: Gt}]",
            Limits::default(),
        );
        assert!(Selector::parse(&d.documents[0].root).is_err());
    }
}
