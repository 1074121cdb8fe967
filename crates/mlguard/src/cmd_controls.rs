//! `mlguard controls list|show`.

use crate::cli::ControlsCommand;
use crate::exit;
use crate::output::write_to;
use anyhow::{bail, Context, Result};
use mlguard_controls::{Catalog, ControlDef, CustomControls, Framework, State};
use std::fmt::Write as _;

fn catalog(files: &[String]) -> Result<Catalog> {
    let mut custom = CustomControls::default();
    for f in files {
        let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {f}"))?;
        let c = CustomControls::parse(f, &text).map_err(|e| anyhow::anyhow!("{e}"))?;
        custom.extend(c).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(mlguard_controls::engine::catalog_with(&custom))
}

fn state(c: &ControlDef) -> String {
    match &c.state {
        State::Implemented => "checked".to_owned(),
        State::Pending { lands_with } => format!("not yet checked (lands with {lands_with})"),
        State::Custom { source } => format!("custom ({source})"),
    }
}

fn clauses(c: &ControlDef) -> String {
    Framework::ALL
        .iter()
        .flat_map(|f| {
            c.frameworks
                .of(*f)
                .iter()
                .map(move |cl| format!("{} {cl}", f.as_str().to_uppercase()))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn to_json(c: &ControlDef) -> serde_json::Value {
    serde_json::json!({
        "id": c.id,
        "title": c.title,
        "severity": c.severity,
        "regulatedSeverity": c.regulated_severity,
        "layer": c.layer,
        "looksAt": c.looks_at,
        "remediation": c.remediation,
        "frameworks": c.frameworks,
        "state": state(c),
    })
}

pub fn run(cmd: ControlsCommand) -> Result<u8> {
    match cmd {
        ControlsCommand::List {
            framework,
            format,
            controls,
        } => {
            let cat = catalog(&controls)?;
            let fw = framework
                .as_deref()
                .map(|f| {
                    Framework::parse(f)
                        .with_context(|| format!("unknown --framework `{f}` (hipaa, soc2, gdpr)"))
                })
                .transpose()?;
            let list: Vec<&ControlDef> = cat
                .controls
                .iter()
                .filter(|c| fw.is_none_or(|f| !c.frameworks.of(f).is_empty()))
                .collect();
            let mut out = String::new();
            match format.as_str() {
                "json" => {
                    let v: Vec<_> = list.iter().map(|c| to_json(c)).collect();
                    out = serde_json::to_string_pretty(&v)? + "\n";
                }
                "table" => {
                    for c in &list {
                        let sev = match c.regulated_severity {
                            Some(r) => format!("{}/{}", c.severity, r),
                            None => c.severity.to_string(),
                        };
                        let mark = if matches!(c.state, State::Pending { .. }) {
                            " (not yet checked)"
                        } else {
                            ""
                        };
                        let _ = writeln!(out, "{:<14} {:<15} {}{}", c.id, sev, c.title, mark);
                        if let Some(f) = fw {
                            let _ = writeln!(
                                out,
                                "{:<30} {}: {}",
                                "",
                                f.as_str(),
                                c.frameworks.of(f).join(", ")
                            );
                        }
                    }
                    let checked = list
                        .iter()
                        .filter(|c| !matches!(c.state, State::Pending { .. }))
                        .count();
                    let _ = writeln!(
                        out,
                        "\n{} controls, {} checked by this version",
                        list.len(),
                        checked
                    );
                }
                other => bail!("unknown --format `{other}` (table or json)"),
            }
            write_to(None, out.as_bytes())?;
            Ok(exit::CLEAN)
        }
        ControlsCommand::Show {
            id,
            format,
            controls,
        } => {
            let cat = catalog(&controls)?;
            let Some(c) = cat.get(&id).or_else(|| cat.get(&id.to_ascii_uppercase())) else {
                let near: Vec<&str> = cat
                    .controls
                    .iter()
                    .map(|c| c.id.as_str())
                    .filter(|c| c.contains(&id.to_ascii_uppercase().replace("MLG-", "")))
                    .collect();
                let hint = if near.is_empty() {
                    String::new()
                } else {
                    format!(" (did you mean {}?)", near.join(", "))
                };
                eprintln!("error: no control `{id}`{hint}; `mlguard controls list` shows them all");
                return Ok(exit::ERROR);
            };
            let out = match format.as_str() {
                "json" => serde_json::to_string_pretty(&to_json(c))? + "\n",
                "table" => {
                    let mut s = String::new();
                    let _ = writeln!(s, "{}  {}", c.id, c.title);
                    let _ = writeln!(s, "severity:     {}", c.severity);
                    if let Some(r) = c.regulated_severity {
                        let _ =
                            writeln!(s, "regulated:    {r} (namespaces labelled pii, phi or pci)");
                    }
                    let _ = writeln!(s, "layer:        {}", c.layer);
                    let _ = writeln!(s, "looks at:     {}", c.looks_at);
                    let _ = writeln!(s, "state:        {}", state(c));
                    let _ = writeln!(s, "evidence for: {}", clauses(c));
                    let _ = writeln!(s, "remediation:  {}", c.remediation);
                    s
                }
                other => bail!("unknown --format `{other}` (table or json)"),
            };
            write_to(None, out.as_bytes())?;
            Ok(exit::CLEAN)
        }
    }
}
