//! Label selectors (`matchLabels` + `matchExpressions`) as used by
//! `aggregationRule.clusterRoleSelectors`.

use mlguard_core::{At, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requirement {
    key: String,
    op: Op,
    values: Vec<String>,
}

/// A parsed selector. An empty selector (`{}`) matches every label set, as in Kubernetes; a
/// selector that could not be read matches nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selector {
    Match(Vec<Requirement>),
    Nothing,
}

impl Selector {
    /// A selector of one `key: "true"` label (the shape of the built-in aggregation rules).
    pub(crate) fn label_true(key: &str) -> Selector {
        Selector::Match(vec![Requirement {
            key: key.to_owned(),
            op: Op::In,
            values: vec!["true".to_owned()],
        }])
    }

    pub(crate) fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Selector::Nothing => false,
            Selector::Match(reqs) => reqs.iter().all(|r| {
                let v = labels.get(&r.key);
                match r.op {
                    Op::In => v.is_some_and(|v| r.values.contains(v)),
                    Op::NotIn => v.is_none_or(|v| !r.values.contains(v)),
                    Op::Exists => v.is_some(),
                    Op::DoesNotExist => v.is_none(),
                }
            }),
        }
    }

    /// Read a selector; every problem is passed to `bad` with the field it concerns, and makes
    /// the selector match nothing (the API server would reject it).
    pub(crate) fn read(at: &At<'_>, bad: &mut dyn FnMut(&At<'_>, String)) -> Selector {
        if at.node.is_null() {
            return Selector::Nothing;
        }
        if !at.node.is_map() {
            bad(
                at,
                format!(
                    "a label selector must be a mapping, not a {}",
                    at.node.type_name()
                ),
            );
            return Selector::Nothing;
        }
        let mut reqs = Vec::new();
        let mut ok = true;
        if let Some(ml) = at.get("matchLabels") {
            if ml.node.is_map() {
                for (k, v) in ml.entries() {
                    match v.node.scalar_text() {
                        Some(val) => reqs.push(Requirement {
                            key: k.to_owned(),
                            op: Op::In,
                            values: vec![val],
                        }),
                        None => {
                            bad(&v, "a label value must be a string".to_owned());
                            ok = false;
                        }
                    }
                }
            } else if !ml.node.is_null() {
                bad(&ml, "`matchLabels` must be a mapping".to_owned());
                ok = false;
            }
        }
        if let Some(me) = at.get("matchExpressions") {
            if me.node.is_seq() {
                for e in me.items() {
                    match read_requirement(&e) {
                        Ok(r) => reqs.push(r),
                        Err(m) => {
                            bad(&e, m);
                            ok = false;
                        }
                    }
                }
            } else if !me.node.is_null() {
                bad(&me, "`matchExpressions` must be a list".to_owned());
                ok = false;
            }
        }
        if ok {
            Selector::Match(reqs)
        } else {
            Selector::Nothing
        }
    }
}

fn read_requirement(e: &At<'_>) -> Result<Requirement, String> {
    let key = e
        .get("key")
        .and_then(|k| k.str())
        .filter(|k| !k.is_empty())
        .ok_or("a match expression needs a string `key`")?;
    let op = match e.get("operator").and_then(|o| o.str()) {
        Some("In") => Op::In,
        Some("NotIn") => Op::NotIn,
        Some("Exists") => Op::Exists,
        Some("DoesNotExist") => Op::DoesNotExist,
        Some(other) => {
            return Err(format!(
                "unknown operator `{other}`; use In, NotIn, Exists or DoesNotExist"
            ))
        }
        None => return Err("a match expression needs an `operator`".to_owned()),
    };
    let mut values = Vec::new();
    if let Some(vs) = e.get("values") {
        match &vs.node.value {
            Value::Null => {}
            Value::Seq(items) => {
                for v in items {
                    values.push(
                        v.scalar_text()
                            .ok_or("`values` must be a list of strings")?,
                    );
                }
            }
            _ => return Err("`values` must be a list of strings".to_owned()),
        }
    }
    match op {
        Op::In | Op::NotIn if values.is_empty() => {
            Err("operators In and NotIn need at least one value".to_owned())
        }
        Op::Exists | Op::DoesNotExist if !values.is_empty() => {
            Err("operators Exists and DoesNotExist take no values".to_owned())
        }
        _ => Ok(Requirement {
            key: key.to_owned(),
            op,
            values,
        }),
    }
}
