//! Custom controls in Kubernetes CEL (docs/custom-controls.md).
//!
//! A YAML file of controls with the catalog's fields plus `match` and a ValidatingAdmissionPolicy
//! style `expression` (true means the object complies) and optional `messageExpression`, over
//! `object` and `namespaceObject`. Compiled when loaded: a syntax error names the file and line.

use crate::catalog::{parse_control, CatalogError, ControlDef};
use crate::checks::{Ctx, RawFinding};
use kube_cel::{CompiledVapExpression, VapError, VapEvaluator, VapExpression};
use mlguard_core::node::{Node, Pos};
use mlguard_core::yaml::{parse_stream, Limits};

/// Which objects a custom control looks at. Empty lists match everything.
#[derive(Debug, Clone, Default)]
pub struct Match {
    pub kinds: Vec<String>,
    pub api_groups: Vec<String>,
    pub namespaces: Vec<String>,
}

#[derive(Debug)]
pub struct CustomControl {
    pub def: ControlDef,
    pub matches: Match,
    pub expression: String,
    pub file: String,
    pub pos: Pos,
    compiled: Vec<Result<CompiledVapExpression, VapError>>,
}

#[derive(Debug, Default)]
pub struct CustomControls {
    pub controls: Vec<CustomControl>,
}

const KNOWN: &[&str] = &[
    "id",
    "title",
    "severity",
    "regulatedSeverity",
    "layer",
    "looksAt",
    "remediation",
    "frameworks",
    "match",
    "expression",
    "messageExpression",
    "message",
];

fn strs(file: &str, n: Option<&Node>, what: &str) -> Result<Vec<String>, CatalogError> {
    let Some(n) = n else { return Ok(Vec::new()) };
    n.items()
        .iter()
        .map(|i| {
            i.as_str().map(str::to_owned).ok_or_else(|| CatalogError {
                file: file.to_owned(),
                pos: i.pos,
                message: format!("match.{what}: expected a string"),
            })
        })
        .collect()
}

impl CustomControls {
    pub fn parse(file: &str, text: &str) -> Result<CustomControls, CatalogError> {
        let err = |pos: Pos, message: String| CatalogError::at(file, pos, message);
        let s = parse_stream(text, Limits::default());
        if let Some(e) = s.error {
            return Err(err(e.pos, e.message));
        }
        let mut out = CustomControls::default();
        let compiler = VapEvaluator::builder().build();
        for doc in s.documents {
            if doc.root.is_null() {
                continue;
            }
            let list = doc
                .root
                .get("controls")
                .filter(|l| l.is_seq())
                .ok_or_else(|| {
                    err(
                        doc.root.pos,
                        "expected `controls:` with a list of controls".to_owned(),
                    )
                })?;
            for c in list.items() {
                if let Some(e) = c
                    .entries()
                    .iter()
                    .find(|e| !KNOWN.contains(&e.key.as_str()))
                {
                    return Err(err(
                        e.key_pos,
                        format!("unknown field `{}` (known: {})", e.key, KNOWN.join(", ")),
                    ));
                }
                let def = parse_control(file, c, Some(file))?;
                if def.id.starts_with("MLG-") {
                    return Err(err(
                        c.get("id").map_or(c.pos, |n| n.pos),
                        format!(
                            "control ID `{}` uses the reserved MLG- prefix; pick your own prefix",
                            def.id
                        ),
                    ));
                }
                if out.controls.iter().any(|x| x.def.id == def.id) {
                    return Err(err(c.pos, format!("duplicate control ID `{}`", def.id)));
                }
                let expr_node = c.get("expression").ok_or_else(|| {
                    err(
                        c.pos,
                        format!("control `{}`: missing field `expression`", def.id),
                    )
                })?;
                let expression = expr_node
                    .as_str()
                    .ok_or_else(|| {
                        err(
                            expr_node.pos,
                            "field `expression`: expected a string".to_owned(),
                        )
                    })?
                    .to_owned();
                let message_expression = c
                    .get("messageExpression")
                    .and_then(Node::as_str)
                    .map(str::to_owned);
                let message = c.get("message").and_then(Node::as_str).map(str::to_owned);
                let compiled = compiler.compile_expressions(&[VapExpression {
                    expression: expression.clone(),
                    message,
                    message_expression: message_expression.clone(),
                }]);
                if let Some(Err(e)) = compiled.first() {
                    let bad_msg_expr = message_expression.as_deref() == Some(e.expression.as_str());
                    let at = if bad_msg_expr {
                        c.get("messageExpression").map_or(expr_node.pos, |n| n.pos)
                    } else {
                        expr_node.pos
                    };
                    let src = std::error::Error::source(e)
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    return Err(err(
                        at,
                        format!(
                            "control `{}`: CEL {} does not compile: {}",
                            def.id,
                            if bad_msg_expr {
                                "messageExpression"
                            } else {
                                "expression"
                            },
                            src.lines().next().unwrap_or("syntax error")
                        ),
                    ));
                }
                let m = c.get("match");
                let matches = Match {
                    kinds: strs(file, m.and_then(|m| m.get("kinds")), "kinds")?,
                    api_groups: strs(file, m.and_then(|m| m.get("apiGroups")), "apiGroups")?,
                    namespaces: strs(file, m.and_then(|m| m.get("namespaces")), "namespaces")?,
                };
                out.controls.push(CustomControl {
                    def,
                    matches,
                    expression,
                    file: file.to_owned(),
                    pos: c.pos,
                    compiled,
                });
            }
        }
        Ok(out)
    }

    pub fn extend(&mut self, other: CustomControls) -> Result<(), CatalogError> {
        for c in other.controls {
            if let Some(dup) = self.controls.iter().find(|x| x.def.id == c.def.id) {
                return Err(CatalogError {
                    file: c.file.clone(),
                    pos: c.pos,
                    message: format!(
                        "control ID `{}` is already defined in {}",
                        c.def.id, dup.file
                    ),
                });
            }
            self.controls.push(c);
        }
        Ok(())
    }

    pub fn defs(&self) -> impl Iterator<Item = &ControlDef> {
        self.controls.iter().map(|c| &c.def)
    }

    /// Evaluate every custom control over every matching object.
    pub fn run(&self, ctx: &mut Ctx<'_>) {
        if self.controls.is_empty() {
            return;
        }
        for (idx, o) in ctx.inv.objects.iter().enumerate() {
            let wanted: Vec<&CustomControl> = self
                .controls
                .iter()
                .filter(|c| {
                    (c.matches.kinds.is_empty()
                        || c.matches.kinds.iter().any(|k| k == &o.kind || k == "*"))
                        && (c.matches.api_groups.is_empty()
                            || c.matches
                                .api_groups
                                .iter()
                                .any(|g| g == o.group() || g == "*"))
                        && (c.matches.namespaces.is_empty()
                            || o.namespace
                                .as_ref()
                                .is_some_and(|n| c.matches.namespaces.contains(n)))
                })
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let mut b = VapEvaluator::builder().object(o.root.to_json());
            if let Some(ns) = o.namespace.as_deref().and_then(|n| ctx.inv.namespace(n)) {
                let ns_json = match ns.object {
                    Some(i) => ctx.inv.objects[i].root.to_json(),
                    None => {
                        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns.name, "labels": ns.labels}})
                    }
                };
                b = b.namespace_object(ns_json);
            }
            let ev = b.build();
            for c in wanted {
                ctx.eval(&c.def.id);
                for r in ev.evaluate_compiled(&c.compiled) {
                    if !r.passed {
                        let msg = r
                            .message
                            .unwrap_or_else(|| format!("`{}` is false", c.expression));
                        ctx.raw.push(RawFinding {
                            control: c.def.id.clone(),
                            object: idx,
                            path: o.base.clone(),
                            pos: o.root.pos,
                            message: msg,
                        });
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compile_errors_name_the_line() {
        let text = "controls:\n- id: ACME-001\n  title: t\n  severity: high\n  remediation: r\n  expression: \"object.spec.replicas >= \"\n";
        let e = CustomControls::parse("c.yaml", text).expect_err("syntax error");
        assert_eq!(e.pos.line, 6);
        assert!(e.message.contains("does not compile"), "{}", e.message);
        let reserved = "controls:\n- id: MLG-X-1\n  title: t\n  severity: high\n  remediation: r\n  expression: 'true'\n";
        assert!(CustomControls::parse("c.yaml", reserved)
            .expect_err("reserved")
            .message
            .contains("reserved"));
    }
}
