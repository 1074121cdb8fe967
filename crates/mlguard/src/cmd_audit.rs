//! `mlguard audit policy eval`: flags in, mlguard-audit out.

use crate::cli::{AuditCommand, AuditPolicyCommand};
use crate::exit;
use anyhow::{bail, Context, Result};
use mlguard_audit::eval::{decision_json, parse_requests};
use mlguard_audit::{Policy, Request};
use std::io::Read;

fn read(path: &str) -> Result<String> {
    if path == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading stdin")?;
        return Ok(s);
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {path}"))
}

pub fn run(cmd: AuditCommand) -> Result<u8> {
    let AuditCommand::Policy(AuditPolicyCommand::Eval {
        policy,
        request,
        user,
        group,
        verb,
        namespace,
        api_group,
        resource,
        subresource,
        name,
        path,
        format,
    }) = cmd;
    if !matches!(format.as_str(), "txt" | "json") {
        bail!("unknown --format `{format}` (txt or json)");
    }
    let text = read(&policy)?;
    let policy = match Policy::parse(&policy, &text) {
        Ok(p) => p,
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            return Ok(exit::ERROR);
        }
    };
    for (o, field) in &policy.unknown_fields {
        eprintln!(
            "warning: {}:{}:{}: unknown field `{field}` in {}: the API server drops it, and the rule matches more than written",
            o.file, o.pos.line, o.pos.column, o.path
        );
    }
    let (requests, array) = match request {
        Some(f) => parse_requests(&read(&f)?).map_err(|e| anyhow::anyhow!("{f}: {e}"))?,
        None => {
            let Some(verb) = verb else {
                bail!("give --verb (and --resource or --path), or --request FILE");
            };
            let resource = resource.unwrap_or_default();
            let path = path.unwrap_or_default();
            if resource.is_empty() == path.is_empty() {
                bail!("give --resource (a resource request) or --path (a non-resource request)");
            }
            (
                vec![Request {
                    user: Some(user.unwrap_or_default()),
                    groups: group,
                    verb,
                    namespace: namespace.unwrap_or_default(),
                    api_group: api_group.unwrap_or_default(),
                    resource_request: !resource.is_empty(),
                    resource,
                    subresource: subresource.unwrap_or_default(),
                    name: name.unwrap_or_default(),
                    path,
                }],
                false,
            )
        }
    };
    let decisions: Vec<_> = requests.iter().map(|r| policy.eval(r)).collect();
    let body = if format == "json" {
        let v: Vec<serde_json::Value> = decisions.iter().map(decision_json).collect();
        let v = if array {
            serde_json::Value::Array(v)
        } else {
            v.into_iter().next().unwrap_or_default()
        };
        serde_json::to_string_pretty(&v)? + "\n"
    } else {
        let mut s = String::new();
        for d in &decisions {
            let rule = match d.rule {
                Some(i) => {
                    let o = &policy.rules[i].origin;
                    format!("rule {i} ({}:{})", o.file, o.pos.line)
                }
                None => "no rule matched".to_owned(),
            };
            let stages: Vec<&str> = d.omit_stages.iter().map(|s| s.as_str()).collect();
            s.push_str(&format!(
                "{} by {rule}; omitStages: [{}]; omitManagedFields: {}\n",
                d.level,
                stages.join(", "),
                d.omit_managed_fields
            ));
        }
        s
    };
    crate::output::write_to(None, body.as_bytes())?;
    Ok(exit::CLEAN)
}
