//! `mlguard netpol reach|explain|verify|diff`: flags in, mlguard-netpol out.

use crate::cli::{NetpolCommand, NetpolCommon};
use crate::exit;
use crate::output::write_to;
use anyhow::{bail, Context, Result};
use mlguard_controls::config::Config;
use mlguard_core::{Inventory, LoadOptions};
use mlguard_netpol::connlist::{self, Connection, Format, Node};
use mlguard_netpol::explain::{self, EndpointRef, PortQuery};
use mlguard_netpol::intents::{self, IsolationSettings, Reach};
use mlguard_netpol::{diff, Analysis, HostNetwork, Level, Network};
use std::path::Path;

/// Validated common flags.
struct Common {
    default_namespace: String,
    host: HostNetwork,
    output: Option<String>,
}

fn common(c: NetpolCommon) -> Result<Common> {
    let host = match c.host_network.as_str() {
        "ignored" => HostNetwork::Ignored,
        "as-pods" => HostNetwork::AsPods,
        other => bail!("unknown --host-network `{other}` (ignored or as-pods)"),
    };
    Ok(Common {
        default_namespace: c.default_namespace,
        host,
        output: c.output,
    })
}

/// Load inputs and build the network. Input errors are printed; the analysis goes on with
/// what is valid, and the caller exits 2.
fn network(paths: &[String], c: &Common, level: Level) -> (Inventory, bool) {
    let loaded = mlguard_core::load(paths, &LoadOptions::default());
    let inv = Inventory::new(loaded, &c.default_namespace);
    let mut failed = false;
    for e in &inv.errors {
        eprintln!("error: {e}");
        failed = true;
    }
    let _ = level;
    (inv, failed)
}

fn report(net: &Network) -> bool {
    for e in &net.errors {
        eprintln!("error: {e}");
    }
    for w in &net.warnings {
        match w.pos {
            Some(p) => eprintln!("warning: {}:{}:{}: {}", w.file, p.line, p.column, w.message),
            None => eprintln!("warning: {}: {}", w.file, w.message),
        }
    }
    !net.errors.is_empty()
}

/// Exit code: 2 after input errors, else 0 when the answer is the good one, else 1.
fn exit_code(input_failed: bool, good: bool) -> u8 {
    if input_failed {
        exit::ERROR
    } else if good {
        exit::CLEAN
    } else {
        exit::FINDINGS
    }
}

fn out(c: &Common, body: &str) -> Result<()> {
    write_to(c.output.as_deref().map(Path::new), body.as_bytes())
}

pub fn run(cmd: NetpolCommand) -> Result<u8> {
    match cmd {
        NetpolCommand::Reach {
            paths,
            level,
            focus,
            format,
            common: c,
        } => {
            let c = common(c)?;
            let level = match level.as_str() {
                "workload" => Level::Workload,
                "pod" => Level::Pod,
                other => bail!("unknown --level `{other}` (workload or pod)"),
            };
            let format = match format.as_str() {
                "txt" => Format::Txt,
                "json" => Format::Json,
                "csv" => Format::Csv,
                "md" => Format::Md,
                "dot" => Format::Dot,
                other => bail!("unknown --format `{other}` (txt, json, csv, md or dot)"),
            };
            let (inv, mut failed) = network(&paths, &c, level);
            let net = Network::from_inventory_with(&inv, level, c.host);
            failed |= report(&net);
            let a = Analysis::new(&net);
            let mut conns: Vec<Connection> = connlist::connectivity(&a);
            if !focus.is_empty() {
                let known = (0..net.workloads.len())
                    .any(|i| connlist::focus_matches(&a, &Node::Workload(i), &focus));
                if !known {
                    eprintln!("warning: no workload matches --focus {}", focus.join(", "));
                }
                connlist::focus(&a, &mut conns, &focus);
            }
            out(
                &c,
                &connlist::render_focused(&a, &conns, format, !focus.is_empty()),
            )?;
            Ok(exit_code(failed, true))
        }
        NetpolCommand::Explain {
            paths,
            from,
            to,
            port,
            format,
            common: c,
        } => {
            let c = common(c)?;
            if !matches!(format.as_str(), "txt" | "json") {
                bail!("unknown --format `{format}` (txt or json)");
            }
            let from = EndpointRef::parse(&from).map_err(|e| anyhow::anyhow!("--from: {e}"))?;
            let to = EndpointRef::parse(&to).map_err(|e| anyhow::anyhow!("--to: {e}"))?;
            let port = port
                .as_deref()
                .map(PortQuery::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--port: {e}"))?;
            let (inv, mut failed) = network(&paths, &c, Level::Workload);
            let net = Network::from_inventory_with(&inv, Level::Workload, c.host);
            failed |= report(&net);
            let a = Analysis::new(&net);
            let ex =
                explain::explain(&a, &from, &to, port.as_ref()).map_err(|e| anyhow::anyhow!(e))?;
            let body = if format == "json" {
                serde_json::to_string_pretty(&ex.iter().map(explain::to_json).collect::<Vec<_>>())?
                    + "\n"
            } else {
                ex.iter()
                    .map(explain::render_text)
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            out(&c, &body)?;
            Ok(exit_code(
                failed,
                ex.iter().all(explain::Explanation::is_allowed),
            ))
        }
        NetpolCommand::Verify {
            paths,
            intents: files,
            config,
            format,
            common: c,
        } => {
            let c = common(c)?;
            if !matches!(format.as_str(), "txt" | "json") {
                bail!("unknown --format `{format}` (txt or json)");
            }
            let config_path = config.or_else(|| {
                std::iter::once(std::path::PathBuf::from("mlguard.yaml"))
                    .chain(
                        paths
                            .iter()
                            .filter(|p| Path::new(p).is_dir())
                            .take(1)
                            .map(|d| Path::new(d).join("mlguard.yaml")),
                    )
                    .find(|p| p.is_file())
                    .map(|p| p.display().to_string())
            });
            let cfg = match &config_path {
                Some(p) => {
                    let text =
                        std::fs::read_to_string(p).with_context(|| format!("reading {p}"))?;
                    Config::parse(p, &text).map_err(|e| anyhow::anyhow!("{e}"))?
                }
                None => Config::default(),
            };
            let cluster: Vec<String> = cfg
                .cluster_cidrs
                .iter()
                .chain(&cfg.service_cidrs)
                .cloned()
                .collect();
            let settings =
                IsolationSettings::parse(&cluster, &cfg.storage_endpoints).map_err(|e| {
                    anyhow::anyhow!("{}: {e}", config_path.as_deref().unwrap_or("mlguard.yaml"))
                })?;
            let mut parsed = Vec::new();
            let mut builtin = false;
            let mut input_error = false;
            for f in &files {
                if f == "training-isolation" && !Path::new(f).exists() {
                    builtin = true;
                    continue;
                }
                let text = std::fs::read_to_string(f)
                    .with_context(|| format!("reading intents file {f}"))?;
                match intents::parse(f, &text) {
                    Ok(v) => parsed.extend(v),
                    Err(errs) => {
                        for e in errs {
                            eprintln!("error: {e}");
                        }
                        input_error = true;
                    }
                }
            }
            if input_error {
                return Ok(exit::ERROR);
            }
            let (inv, mut failed) = network(&paths, &c, Level::Workload);
            let mut net = Network::from_inventory_with(&inv, Level::Workload, c.host);
            failed |= report(&net);
            net.ensure_kube_dns();
            let a = Analysis::new(&net);
            if builtin {
                let b = intents::training_isolation(&a, &settings);
                if b.is_empty() {
                    eprintln!("note: training-isolation: no training job in the inputs");
                }
                parsed.extend(b);
            }
            let r = Reach::new(&a);
            let results: Vec<_> = parsed.iter().map(|i| r.check(i)).collect();
            let body = if format == "json" {
                serde_json::to_string_pretty(&intents::to_json(&results))? + "\n"
            } else {
                intents::render_text(&results, 10)
            };
            out(&c, &body)?;
            Ok(exit_code(
                failed,
                results.iter().all(intents::IntentResult::holds),
            ))
        }
        NetpolCommand::Diff {
            old,
            new,
            format,
            common: c,
        } => {
            let c = common(c)?;
            if !matches!(format.as_str(), "txt" | "json") {
                bail!("unknown --format `{format}` (txt or json)");
            }
            let (oi, f1) = network(std::slice::from_ref(&old), &c, Level::Workload);
            let (ni, f2) = network(std::slice::from_ref(&new), &c, Level::Workload);
            let on = Network::from_inventory_with(&oi, Level::Workload, c.host);
            let nn = Network::from_inventory_with(&ni, Level::Workload, c.host);
            let failed = f1 | f2 | report(&on) | report(&nn);
            let (oa, na) = (Analysis::new(&on), Analysis::new(&nn));
            let lines = diff::diff(
                &oa,
                &connlist::connectivity(&oa),
                &na,
                &connlist::connectivity(&na),
            );
            let body = if format == "json" {
                serde_json::to_string_pretty(&diff::to_json(&lines))? + "\n"
            } else {
                diff::render_text(&lines)
            };
            out(&c, &body)?;
            Ok(exit_code(failed, lines.is_empty()))
        }
    }
}
