//! `mlguard model scan`: flags into options, mlguard-modelscan does the work, then the report
//! (table, JSON results of docs/model-scan.md, or SARIF) and the exit code.

use crate::cli::ModelCommand;
use crate::exit;
use anyhow::{bail, Context, Result};
use mlguard_modelscan::finding::CODES;
use mlguard_modelscan::results::{severity_name, Results};
use mlguard_modelscan::{FileReport, Options, Severity};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

pub fn run(cmd: ModelCommand) -> Result<u8> {
    let ModelCommand::Scan {
        paths,
        format,
        output,
        fail_on,
        all,
        quiet,
    } = cmd
    else {
        unreachable!("cmd_model_scan::run is only called for `model scan`")
    };
    let fail_on = parse_fail_on(&fail_on)?;
    if !matches!(format.as_str(), "table" | "json" | "sarif") {
        bail!("--format {format:?} is not one of table, json, sarif");
    }
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let files = mlguard_modelscan::scan::collect(&paths)
        .map_err(|(p, e)| anyhow::anyhow!("cannot read {}: {e}", p.display()))?;
    let bar = if quiet || !std::io::stderr().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(files.len() as u64).with_style(
            indicatif::ProgressStyle::with_template("scanning {bar:30} {pos}/{len} files ({eta})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        )
    };
    let opts = Options::default();
    let reports = mlguard_modelscan::scan::scan_files(&files, &opts, &|_| bar.inc(1));
    bar.finish_and_clear();
    let fail_name = fail_on.map_or("none", severity_name);
    let out = output.as_deref().map(std::path::Path::new);
    let written = match format.as_str() {
        "json" => {
            let r = Results::new(&reports, fail_name);
            crate::output::write_with(out, |w| {
                serde_json::to_writer_pretty(&mut *w, &r)?;
                writeln!(w)
            })
        }
        "sarif" => {
            let s = sarif(&reports);
            crate::output::write_with(out, |w| {
                serde_json::to_writer_pretty(&mut *w, &s)?;
                writeln!(w)
            })
        }
        _ => crate::output::write_with(out, |w| table(w, &reports, all)),
    };
    if let Err(e) = written {
        if crate::output::is_broken_pipe(&e) {
            return Ok(exit::CLEAN);
        }
        return Err(e);
    }
    for r in &reports {
        if let Some(e) = &r.error {
            eprintln!("error: {e}");
        }
    }
    if reports.iter().any(|r| r.error.is_some()) {
        return Ok(exit::ERROR);
    }
    let failed = fail_on.is_some_and(|t| {
        reports
            .iter()
            .any(|r| r.max_severity().is_some_and(|s| s >= t))
    });
    Ok(if failed { exit::FINDINGS } else { exit::CLEAN })
}

/// `model decrypt --scan SEVERITY`: none is not a gate.
pub fn parse_gate(s: &str) -> Result<Severity> {
    parse_fail_on(s)?.context(
        "--scan needs a severity (critical, high, medium, low); leave --scan out to skip the scan",
    )
}

/// The model scan refused a decrypted model (exit 1).
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Scan a decrypted model (a file or a staging folder) before it becomes visible: an error
/// ([`Refused`]) listing the findings at or above `at`, or an unreadable file.
pub fn gate(path: &std::path::Path, at: Severity) -> Result<()> {
    let files = mlguard_modelscan::scan::collect(&[path.to_path_buf()])
        .map_err(|(p, e)| anyhow::anyhow!("cannot read {}: {e}", p.display()))?;
    let reports = mlguard_modelscan::scan::scan_files(&files, &Options::default(), &|_| {});
    let mut bad = Vec::new();
    for r in &reports {
        let name = r
            .path
            .strip_prefix(path)
            .unwrap_or(&r.path)
            .display()
            .to_string();
        if let Some(e) = &r.error {
            bad.push(format!("{name}: {e}"));
        }
        for f in r.findings.iter().filter(|f| f.severity >= at) {
            let member = f
                .member
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            bad.push(format!(
                "{name}{member}: {} {}: {}",
                f.code,
                severity_name(f.severity),
                f.reason
            ));
        }
    }
    if bad.is_empty() {
        return Ok(());
    }
    Err(Refused(format!(
        "the model scan refused the decrypted model, nothing was written:\n  {}",
        bad.join("\n  ")
    ))
    .into())
}

fn parse_fail_on(s: &str) -> Result<Option<Severity>> {
    Ok(Some(match s.to_ascii_lowercase().as_str() {
        "none" => return Ok(None),
        "low" => Severity::Low,
        "medium" => Severity::Medium,
        "high" => Severity::High,
        "critical" => Severity::Critical,
        other => bail!("--fail-on {other:?} is not one of critical, high, medium, low, none"),
    }))
}

fn table(w: &mut dyn Write, reports: &[FileReport], all: bool) -> std::io::Result<()> {
    let mut shown = 0;
    for r in reports {
        let v = r.verdict();
        if !all && matches!(v, "clean" | "skipped") && r.findings.is_empty() {
            continue;
        }
        shown += 1;
        writeln!(
            w,
            "{}  [{}]  {}",
            r.path.display(),
            r.format,
            v.to_uppercase()
        )?;
        if let Some(e) = &r.error {
            writeln!(w, "    {e}")?;
        }
        for f in &r.findings {
            let mut at = String::new();
            if let Some(m) = &f.member {
                at.push_str(m);
            }
            if let Some(o) = f.offset {
                if !at.is_empty() {
                    at.push(' ');
                }
                at.push_str(&format!("@{o}"));
            }
            if let Some(op) = &f.opcode {
                at.push_str(&format!(" {op}"));
            }
            writeln!(
                w,
                "    {} {:<8} {}{}",
                f.code,
                severity_name(f.severity),
                if at.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", at.trim())
                },
                f.reason
            )?;
        }
    }
    let r = Results::new(reports, "");
    let s = &r.summary;
    if shown > 0 {
        writeln!(w)?;
    }
    writeln!(
        w,
        "{} files: {} clean, {} suspicious, {} not verifiably safe, {} unsafe, {} skipped (not a model format), {} unreadable",
        s.files, s.clean, s.suspicious, s.not_verifiably_safe, s.unsafe_, s.skipped, s.errors
    )
}

fn sarif(reports: &[FileReport]) -> serde_json::Value {
    use serde_json::json;
    let rules: Vec<_> = CODES
        .iter()
        .map(|(id, sev, text)| {
            json!({
                "id": id,
                "shortDescription": {"text": text},
                "helpUri": "https://github.com/mlguard/mlguard/blob/main/docs/model-scan.md",
                "properties": {"severity": sev},
            })
        })
        .collect();
    let mut results = Vec::new();
    for r in reports {
        let uri = r.path.display().to_string();
        if let Some(e) = &r.error {
            results.push(json!({
                "ruleId": "MS003",
                "level": "error",
                "message": {"text": e},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}}}],
            }));
        }
        for f in &r.findings {
            let level = match f.severity {
                Severity::Low => "note",
                Severity::Medium => "warning",
                _ => "error",
            };
            let mut loc = json!({"artifactLocation": {"uri": uri}});
            if let (Some(o), None) = (f.offset, &f.member) {
                loc["region"] = json!({"byteOffset": o});
            }
            results.push(json!({
                "ruleId": f.code,
                "level": level,
                "message": {"text": f.reason},
                "locations": [{"physicalLocation": loc}],
                "properties": {
                    "severity": severity_name(f.severity),
                    "member": f.member,
                    "offset": f.offset,
                    "opcode": f.opcode,
                    "global": f.global,
                    "verdict": r.verdict(),
                },
            }));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "mlguard model scan",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/mlguard/mlguard",
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

/// `mlguard scan --model-scan FILE...`: each model file that fails the model scan is an
/// MLG-MOD-001 finding (critical when unsafe, high when not verifiably safe or unreadable,
/// medium when suspicious), pointing at its entry in the results file; every other model file
/// counts as evaluated. Skipped files (not a model format) are not counted.
pub fn external_results(files: &[String]) -> Result<mlguard_controls::ExternalResults> {
    use mlguard_controls::{ExternalFinding, ExternalResults, Location, ResourceRef};
    const ID: &str = "MLG-MOD-001";
    let mut out = ExternalResults::default();
    for path in files {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
        let results = Results::parse(&text).map_err(|e| {
            anyhow::anyhow!("{path}: not model scan results ({e}); write them with `mlguard model scan --format json -o {path}`")
        })?;
        // The line of each file's entry: results are written one `"path":` line per file.
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.starts_with("      \"path\":"))
            .map(|(i, _)| i as u32 + 1);
        for (i, f) in results.files.iter().enumerate() {
            let line = lines.next().unwrap_or(1);
            let severity = match f.verdict.as_str() {
                "clean" => None,
                "skipped" => continue,
                "unsafe" => Some(mlguard_controls::Severity::Critical),
                "suspicious" => Some(mlguard_controls::Severity::Medium),
                _ => Some(mlguard_controls::Severity::High),
            };
            *out.evaluated.entry(ID.to_string()).or_default() += 1;
            let Some(severity) = severity else { continue };
            let worst = f.findings.iter().max_by_key(|x| rank(&x.severity));
            let mut message = match (worst, &f.error) {
                (_, Some(e)) => format!("{}: {e}", f.verdict),
                (Some(w), None) => {
                    let at = w
                        .member
                        .as_deref()
                        .map(|m| format!(" in {m}"))
                        .unwrap_or_default();
                    format!(
                        "{} {} model file: {} {}{at}: {}",
                        f.verdict, f.format, w.code, w.severity, w.reason
                    )
                }
                (None, None) => f.verdict.clone(),
            };
            if f.findings.len() > 1 {
                message.push_str(&format!(" (and {} more findings)", f.findings.len() - 1));
            }
            out.findings.push(ExternalFinding {
                control: ID.to_string(),
                severity: Some(severity),
                resource: ResourceRef {
                    api_version: "mlguard.io/v1".into(),
                    kind: "ModelFile".into(),
                    namespace: None,
                    name: f.path.clone(),
                },
                location: Location {
                    file: path.clone(),
                    line,
                    column: 1,
                    path: format!("files[{i}]"),
                },
                message,
            });
        }
    }
    Ok(out)
}

fn rank(s: &str) -> u8 {
    match s {
        "critical" => 4,
        "high" => 3,
        "medium" => 2,
        "low" => 1,
        _ => 0,
    }
}
