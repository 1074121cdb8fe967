//! MLG-AUD-001..004 over the audit Policy files among the inputs (the API server's
//! `--audit-policy-file`; it is not an API object, so a live-cluster scan needs the file given
//! next to it). Each policy is judged on its own: lint for 002..004, and for 001 the requests
//! on ML resources and credentials in every ML namespace, against the namespace's
//! classification. Findings point at the rule that decides (or the policy when none does).

use super::Ctx;
use mlguard_audit::coverage::coverage;
use mlguard_audit::lint::lint;
use mlguard_audit::{Compiled, Policy};
use mlguard_core::node::PathBuf;
use mlguard_core::{InputError, Origin};

const AUD: [&str; 4] = ["MLG-AUD-001", "MLG-AUD-002", "MLG-AUD-003", "MLG-AUD-004"];

fn emit(ctx: &mut Ctx<'_>, control: &str, object: usize, o: &Origin, message: String) {
    ctx.raw.push(super::RawFinding {
        control: control.to_owned(),
        object,
        path: PathBuf::parse(&o.path),
        pos: o.pos,
        message,
    });
}

pub fn run(ctx: &mut Ctx<'_>) -> Vec<InputError> {
    let inv = ctx.inv;
    let found: Vec<usize> = inv
        .objects
        .iter()
        .enumerate()
        .filter(|(_, o)| Policy::is_policy(o))
        .map(|(i, _)| i)
        .collect();
    if found.is_empty() {
        for id in AUD {
            ctx.skipped.insert(
                id.to_owned(),
                "no audit Policy (audit.k8s.io/v1) among the inputs: add the API server's --audit-policy-file to the scanned paths".to_owned(),
            );
        }
        return Vec::new();
    }
    let mut errors = Vec::new();
    let mut evidence = Vec::new();
    for idx in found {
        let o = &inv.objects[idx];
        let policy = match Policy::from_object(inv.file_of(o), o) {
            Ok(p) => p,
            Err(e) => {
                errors.extend(e);
                continue;
            }
        };
        for id in &AUD[1..] {
            ctx.eval(id);
        }
        for d in lint(&policy) {
            emit(ctx, d.control, idx, &d.origin, d.message);
        }
        let compiled = Compiled::new(&policy);
        let ml: Vec<String> = inv.ml_namespaces().map(|n| n.name.clone()).collect();
        let mut namespaces = Vec::new();
        for ns in ml {
            ctx.eval(AUD[0]);
            let class = inv.classification(&ns);
            let cov = coverage(&compiled, &ns, class.is_regulated());
            let mut classes = Vec::new();
            for c in cov {
                classes.push(serde_json::json!({
                    "class": c.class,
                    "need": c.need.to_string(),
                    "lowest": c.lowest.as_str(),
                    "highest": c.highest.as_str(),
                    "requests": c.requests,
                    "met": c.met(),
                }));
                for g in c.gaps {
                    let at = g
                        .rule
                        .map_or(&policy.origin, |i| policy.rules[i].origin_of("level"));
                    emit(ctx, AUD[0], idx, at, g.message(&ns, class.as_str()));
                }
            }
            namespaces.push(serde_json::json!({
                "namespace": ns,
                "classification": class.as_str(),
                "classes": classes,
            }));
        }
        evidence.push(serde_json::json!({
            "policy": inv.file_of(o),
            "rules": policy.rules.len(),
            "namespaces": namespaces,
        }));
    }
    ctx.context.insert(
        "auditCoverage".to_owned(),
        serde_json::Value::Array(evidence),
    );
    errors
}
