//! `mlguard rbac who-can|can`.

use crate::cli::RbacCommand;
use crate::exit;
use crate::output::write_to;
use anyhow::{bail, Result};
use mlguard_core::{Inventory, LoadOptions};
use mlguard_rbac::{Grant, Rbac, Subject};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// `pods/exec` -> ("", "pods/exec"); `deployments.apps` -> ("apps", "deployments");
/// `pytorchjobs.kubeflow.org/status` -> ("kubeflow.org", "pytorchjobs/status").
pub fn split_resource(r: &str) -> (String, String) {
    let (main, sub) = match r.split_once('/') {
        Some((m, s)) => (m, Some(s)),
        None => (r, None),
    };
    let (res, group) = match main.split_once('.') {
        Some((res, g)) => (res, g),
        None => (main, ""),
    };
    let res = match sub {
        Some(s) => format!("{res}/{s}"),
        None => res.to_owned(),
    };
    (group.to_owned(), res)
}

fn load(paths: &[String]) -> Result<Option<Inventory>> {
    let loaded = mlguard_core::load(paths, &LoadOptions::default());
    if !loaded.errors.is_empty() {
        for e in &loaded.errors {
            eprintln!("error: {e}");
        }
        return Ok(None);
    }
    Ok(Some(Inventory::new(loaded, "default")))
}

fn row(g: &Grant<'_>) -> serde_json::Value {
    serde_json::json!({
        "subject": g.subject.to_string(),
        "namespace": g.namespace,
        "binding": {"kind": g.binding.kind, "name": g.binding.name, "namespace": g.binding.namespace},
        "role": {"kind": g.role.kind, "name": g.role.name},
        "rule": {
            "verbs": g.rule.verbs, "apiGroups": g.rule.api_groups, "resources": g.rule.resources,
            "resourceNames": g.rule.resource_names, "nonResourceURLs": g.rule.non_resource_urls,
        },
    })
}

fn render(grants: &[Grant<'_>], format: &str, empty: &str) -> Result<String> {
    match format {
        "json" => {
            Ok(serde_json::to_string_pretty(&grants.iter().map(row).collect::<Vec<_>>())? + "\n")
        }
        "table" => {
            let mut s = String::new();
            if grants.is_empty() {
                let _ = writeln!(s, "{empty}");
            }
            let mut seen = BTreeSet::new();
            for g in grants {
                let scope = g
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "(cluster)".to_owned());
                let line = format!(
                    "{:<34} {:<14} verbs={} resources={} groups={}{}  via {} {} -> {} {}",
                    g.subject.to_string(),
                    scope,
                    g.rule.verbs.join(","),
                    g.rule.resources.join(","),
                    g.rule
                        .api_groups
                        .iter()
                        .map(|x| if x.is_empty() { "\"\"" } else { x })
                        .collect::<Vec<_>>()
                        .join(","),
                    if g.rule.resource_names.is_empty() {
                        String::new()
                    } else {
                        format!(" names={}", g.rule.resource_names.join(","))
                    },
                    g.binding.kind,
                    g.binding.name,
                    g.role.kind,
                    g.role.name
                );
                if seen.insert(line.clone()) {
                    let _ = writeln!(s, "{line}");
                }
            }
            Ok(s)
        }
        other => bail!("unknown --format `{other}` (table or json)"),
    }
}

pub fn run(cmd: RbacCommand) -> Result<u8> {
    match cmd {
        RbacCommand::WhoCan {
            verb,
            resource,
            paths,
            namespace,
            format,
        } => {
            let Some(inv) = load(&paths)? else {
                return Ok(exit::ERROR);
            };
            let rbac = Rbac::new(&inv);
            let (group, res) = split_resource(&resource);
            let grants = rbac.who_can(&verb, &group, &res, namespace.as_deref());
            let where_ = namespace
                .as_deref()
                .map_or("cluster-wide".to_owned(), |n| format!("in namespace {n}"));
            let out = render(
                &grants,
                &format,
                &format!("nobody can {verb} {resource} {where_}"),
            )?;
            write_to(None, out.as_bytes())?;
            Ok(exit::CLEAN)
        }
        RbacCommand::Can {
            subject,
            paths,
            namespace,
            format,
        } => {
            let s = match Subject::parse(&subject) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: subject `{subject}`: {e} (use user:NAME, group:NAME or sa:NAMESPACE/NAME)");
                    return Ok(exit::ERROR);
                }
            };
            let Some(inv) = load(&paths)? else {
                return Ok(exit::ERROR);
            };
            let rbac = Rbac::new(&inv);
            let mut grants = Vec::new();
            match &namespace {
                Some(ns) => grants.extend(rbac.grants_for(&s, Some(ns))),
                None => {
                    grants.extend(rbac.grants_for(&s, None));
                    for ns in inv.namespaces.keys() {
                        grants.extend(
                            rbac.grants_for(&s, Some(ns))
                                .into_iter()
                                .filter(|g| g.namespace.is_some()),
                        );
                    }
                }
            }
            let out = render(
                &grants,
                &format,
                &format!("{s} has no grants in these manifests"),
            )?;
            write_to(None, out.as_bytes())?;
            Ok(exit::CLEAN)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_resource;

    #[test]
    fn resources_split_like_kubectl() {
        assert_eq!(split_resource("secrets"), (String::new(), "secrets".into()));
        assert_eq!(
            split_resource("pods/exec"),
            (String::new(), "pods/exec".into())
        );
        assert_eq!(
            split_resource("deployments.apps"),
            ("apps".into(), "deployments".into())
        );
        assert_eq!(
            split_resource("pytorchjobs.kubeflow.org/status"),
            ("kubeflow.org".into(), "pytorchjobs/status".into())
        );
    }
}
