//! `mlguard audit policy eval|lint|generate|estimate`: flags in, mlguard-audit out.

use crate::cli::AuditPolicyCommand;
use crate::exit;
use anyhow::{bail, Context, Result};
use mlguard_audit::estimate::{replay, Estimate};
use mlguard_audit::eval::{decision_json, parse_requests};
use mlguard_audit::generate::{generate, NamespaceClass};
use mlguard_audit::lint::{lint, Diagnostic};
use mlguard_audit::{Compiled, Policy, Request};
use mlguard_controls::catalog::Catalog;
use mlguard_controls::model::Severity;
use std::io::{IsTerminal, Read};
use std::path::Path;

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

/// Read and validate a policy; input errors are printed and give `Err(exit code)`.
fn load_policy(path: &str) -> Result<std::result::Result<(Policy, String), u8>> {
    let text = read(path)?;
    match Policy::parse(path, &text) {
        Ok(p) => Ok(Ok((p, text))),
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            Ok(Err(exit::ERROR))
        }
    }
}

pub fn run(cmd: AuditPolicyCommand) -> Result<u8> {
    match cmd {
        AuditPolicyCommand::Eval { .. } => eval(cmd),
        AuditPolicyCommand::Lint {
            policy,
            format,
            fail_on,
            output,
        } => run_lint(&policy, &format, &fail_on, output.as_deref()),
        AuditPolicyCommand::Generate {
            namespace,
            tenants,
            output,
            estimate,
        } => run_generate(&namespace, &tenants, output.as_deref(), estimate.as_deref()),
        AuditPolicyCommand::Estimate {
            policy,
            estimate,
            format,
            output,
            quiet,
        } => {
            if !matches!(format.as_str(), "txt" | "json") {
                bail!("unknown --format `{format}` (txt or json)");
            }
            let (policy, _) = match load_policy(&policy)? {
                Ok(p) => p,
                Err(code) => return Ok(code),
            };
            let (body, code) = run_estimate(&policy, &estimate, &format, quiet)?;
            crate::output::write_to(output.as_deref().map(Path::new), body.as_bytes())?;
            Ok(code)
        }
    }
}

fn eval(cmd: AuditPolicyCommand) -> Result<u8> {
    let AuditPolicyCommand::Eval {
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
    } = cmd
    else {
        unreachable!("eval is called with Eval")
    };
    if !matches!(format.as_str(), "txt" | "json") {
        bail!("unknown --format `{format}` (txt or json)");
    }
    let (policy, _) = match load_policy(&policy)? {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    for u in &policy.unknown_fields {
        let o = &u.origin;
        eprintln!(
            "warning: {}:{}:{}: unknown field `{}` in {}: the API server drops it, and the rule matches more than written",
            o.file, o.pos.line, o.pos.column, u.name, o.path
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

fn severity_of(control: &str) -> Severity {
    Catalog::builtin()
        .get(control)
        .map_or(Severity::High, |c| c.severity)
}

fn parse_fail_on(s: &str) -> Result<Option<Severity>> {
    Ok(match s {
        "none" | "never" => None,
        s => Some(Severity::parse(s).with_context(|| {
            format!("unknown --fail-on `{s}` (expected critical, high, medium, low or none)")
        })?),
    })
}

/// A diagnostic as text, with the line it points at.
fn render_diagnostic(d: &Diagnostic, text: &str) -> String {
    let o = &d.origin;
    let mut s = format!(
        "{}[{}/{}]: {}\n  --> {}:{}:{}\n",
        severity_of(d.control).as_str(),
        d.control,
        d.code,
        d.message,
        o.file,
        o.pos.line,
        o.pos.column
    );
    if let Some(line) = text.lines().nth((o.pos.line as usize).saturating_sub(1)) {
        let n = o.pos.line.to_string();
        let pad = " ".repeat(n.len());
        s.push_str(&format!(
            "{pad} |\n{n} | {line}\n{pad} | {}^\n",
            " ".repeat((o.pos.column as usize).saturating_sub(1))
        ));
    }
    s
}

fn run_lint(path: &str, format: &str, fail_on: &str, output: Option<&str>) -> Result<u8> {
    if !matches!(format, "txt" | "json") {
        bail!("unknown --format `{format}` (txt or json)");
    }
    let fail_on = parse_fail_on(fail_on)?;
    let (policy, text) = match load_policy(path)? {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let diags = lint(&policy);
    let body = if format == "json" {
        let v: Vec<serde_json::Value> = diags
            .iter()
            .map(|d| {
                serde_json::json!({
                    "control": d.control,
                    "code": d.code,
                    "severity": severity_of(d.control).as_str(),
                    "file": d.origin.file,
                    "line": d.origin.pos.line,
                    "column": d.origin.pos.column,
                    "path": d.origin.path,
                    "rule": d.rule,
                    "message": d.message,
                })
            })
            .collect();
        serde_json::to_string_pretty(
            &serde_json::json!({"policy": path, "rules": policy.rules.len(), "diagnostics": v}),
        )? + "\n"
    } else {
        let mut s = String::new();
        for d in &diags {
            s.push_str(&render_diagnostic(d, &text));
            s.push('\n');
        }
        s.push_str(&if diags.is_empty() {
            format!("{path}: {} rules, no problems found\n", policy.rules.len())
        } else {
            format!(
                "{path}: {} rules, {} problems\n",
                policy.rules.len(),
                diags.len()
            )
        });
        s
    };
    crate::output::write_to(output.map(Path::new), body.as_bytes())?;
    let worst = diags.iter().map(|d| severity_of(d.control)).max();
    Ok(match (fail_on, worst) {
        (Some(t), Some(w)) if w >= t => exit::FINDINGS,
        _ => exit::CLEAN,
    })
}

fn run_generate(
    namespaces: &[String],
    tenants: &[String],
    output: Option<&str>,
    estimate: Option<&str>,
) -> Result<u8> {
    let mut ns: Vec<NamespaceClass> = namespaces
        .iter()
        .map(|s| {
            s.parse()
                .map_err(|e: String| anyhow::anyhow!("--namespace {e}"))
        })
        .collect::<Result<_>>()?;
    if !tenants.is_empty() {
        let t = match crate::cmd_tenant::read_tenants(tenants) {
            Ok(t) => t,
            Err(code) => return Ok(code),
        };
        for tenant in &t {
            ns.extend(mlguard_tenant::audit_namespaces(tenant));
        }
    }
    let text = generate(&ns);
    // The generated policy must read back and lint clean: a failure here is a bug, not input.
    let policy = Policy::parse("<generated>", &text).map_err(|e| {
        anyhow::anyhow!("internal error: the generated policy does not read back: {e:?}")
    })?;
    crate::output::write_to(output.map(Path::new), text.as_bytes())?;
    if let Some(log) = estimate {
        let (body, code) = run_estimate(&policy, log, "txt", false)?;
        eprint!("{body}");
        return Ok(code);
    }
    Ok(exit::CLEAN)
}

fn progress(total: Option<u64>, quiet: bool) -> Option<indicatif::ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = match total {
        Some(n) => indicatif::ProgressBar::new(n).with_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} replaying {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        ),
        None => indicatif::ProgressBar::new_spinner(),
    };
    Some(pb)
}

/// Replay `log` through `policy`; the rendered estimate and the exit code.
fn run_estimate(policy: &Policy, log: &str, format: &str, quiet: bool) -> Result<(String, u8)> {
    let compiled = Compiled::new(policy);
    let t0 = std::time::Instant::now();
    let (est, pb) = if log == "-" {
        let pb = progress(None, quiet);
        let est = replay(&compiled, std::io::stdin(), |n| {
            if let Some(pb) = &pb {
                pb.set_position(n);
            }
        })
        .context("reading stdin")?;
        (est, pb)
    } else {
        let f = std::fs::File::open(log).with_context(|| format!("reading {log}"))?;
        let len = f.metadata().ok().map(|m| m.len());
        let pb = progress(len, quiet);
        let est = replay(&compiled, f, |n| {
            if let Some(pb) = &pb {
                pb.set_position(n);
            }
        })
        .with_context(|| format!("reading {log}"))?;
        (est, pb)
    };
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    let secs = t0.elapsed().as_secs_f64();
    for (line, msg) in &est.errors {
        eprintln!("error: {log}:{line}: {msg}");
    }
    if est.error_count > est.errors.len() as u64 {
        eprintln!(
            "error: {log}: {} more lines are not audit events",
            est.error_count - est.errors.len() as u64
        );
    }
    let body = if format == "json" {
        serde_json::to_string_pretty(&estimate_json(policy, log, &est))? + "\n"
    } else {
        estimate_text(policy, log, &est, secs)
    };
    let code = if est.error_count > 0 {
        exit::ERROR
    } else {
        exit::CLEAN
    };
    Ok((body, code))
}

fn per_day(est: &Estimate, n: u64) -> serde_json::Value {
    est.per_day(n).map_or(serde_json::Value::Null, |x| {
        serde_json::json!(x.round() as u64)
    })
}

fn estimate_json(policy: &Policy, log: &str, est: &Estimate) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = est
        .rules
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let r = &policy.rules[i];
            serde_json::json!({
                "rule": i, "line": r.origin.pos.line, "level": r.level.as_str(),
                "events": v.events, "bytes": v.bytes,
                "eventsPerDay": per_day(est, v.events), "bytesPerDay": per_day(est, v.bytes),
            })
        })
        .collect();
    let logged: u64 = est
        .rules
        .iter()
        .zip(&policy.rules)
        .filter(|(_, r)| r.level != mlguard_audit::Level::None)
        .map(|(v, _)| v.events)
        .sum();
    let logged_bytes: u64 = est.rules.iter().map(|v| v.bytes).sum();
    serde_json::json!({
        "log": log,
        "events": est.events,
        "logBytes": est.bytes,
        "spanSeconds": est.span(),
        "rules": rules,
        "unmatched": {"events": est.unmatched.events},
        "stageOmitted": {"events": est.stage_omitted.events},
        "levelRaised": est.level_raised,
        "requestReceivedNotInLog": {"events": est.missing_request_received().events, "bytes": est.missing_request_received().bytes},
        "logged": {"events": logged, "bytes": logged_bytes,
                   "eventsPerDay": per_day(est, logged), "bytesPerDay": per_day(est, logged_bytes)},
        "errors": est.error_count,
    })
}

fn human_bytes(b: f64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut x = b;
    let mut u = 0;
    while x >= 1000.0 && u + 1 < units.len() {
        x /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{x:.0} {}", units[u])
    } else {
        format!("{x:.1} {}", units[u])
    }
}

fn estimate_text(policy: &Policy, log: &str, est: &Estimate, secs: f64) -> String {
    let mut s = String::new();
    let span = match est.span() {
        Some(x) if x >= 86_400.0 => format!("{:.1} days", x / 86_400.0),
        Some(x) if x >= 3600.0 => format!("{:.1} hours", x / 3600.0),
        Some(x) => format!("{x:.0} s"),
        None => "no time span (per-day figures need two timestamps)".to_owned(),
    };
    s.push_str(&format!(
        "{log}: {} events, {} read in {secs:.2} s; span {span}\n\n",
        est.events,
        human_bytes(est.bytes as f64)
    ));
    s.push_str(&format!(
        "{:>4}  {:>5}  {:<15}  {:>10}  {:>10}  {:>12}  {:>12}\n",
        "RULE", "LINE", "LEVEL", "EVENTS", "BYTES", "EVENTS/DAY", "BYTES/DAY"
    ));
    let day = |n: u64, bytes: bool| match est.per_day(n) {
        Some(x) if bytes => human_bytes(x),
        Some(x) => format!("{:.0}", x),
        None => "-".to_owned(),
    };
    let mut logged = (0u64, 0u64);
    for (i, v) in est.rules.iter().enumerate() {
        let r = &policy.rules[i];
        if r.level != mlguard_audit::Level::None {
            logged.0 += v.events;
            logged.1 += v.bytes;
        }
        s.push_str(&format!(
            "{:>4}  {:>5}  {:<15}  {:>10}  {:>10}  {:>12}  {:>12}\n",
            i,
            r.origin.pos.line,
            r.level.as_str(),
            v.events,
            if r.level == mlguard_audit::Level::None {
                "-".to_owned()
            } else {
                human_bytes(v.bytes as f64)
            },
            day(v.events, false),
            if r.level == mlguard_audit::Level::None {
                "-".to_owned()
            } else {
                day(v.bytes, true)
            },
        ));
    }
    s.push_str(&format!(
        "\nlogged: {} events ({}), {} events/day, {}/day\n",
        logged.0,
        human_bytes(logged.1 as f64),
        day(logged.0, false),
        day(logged.1, true)
    ));
    s.push_str(&format!(
        "not logged: {} events match no rule, {} are at an omitted stage\n",
        est.unmatched.events, est.stage_omitted.events
    ));
    let rr = est.missing_request_received();
    if rr.events > 0 {
        s.push_str(&format!(
            "note: the log has no RequestReceived events, but the policy keeps that stage for {} of its events: expect about that many more ({}, {}/day) on top of the figures above\n",
            rr.events,
            human_bytes(rr.bytes as f64),
            day(rr.bytes, true)
        ));
    }
    if est.level_raised > 0 {
        s.push_str(&format!(
            "note: {} events would be logged above their recorded level; the log lacks the bodies that adds, so their bytes are a lower bound\n",
            est.level_raised
        ));
    }
    s
}
