//! `mlguard scan`: flags -> a validated plan -> load, scan, render.

use crate::cli::ScanArgs;
use crate::exit;
use crate::output::write_with;
use anyhow::{bail, Context, Result};
use mlguard_controls::{
    Config, CustomControls, Date, Exceptions, Framework, ScanOptions, Severity,
};
use mlguard_core::{Inventory, LoadOptions};
use mlguard_report::{Format, RenderOptions};
use std::io::IsTerminal;
use std::path::PathBuf;

/// The validated form of [`ScanArgs`].
#[derive(Debug)]
pub struct ScanPlan {
    pub paths: Vec<String>,
    /// Read a live cluster too: `Some(context)` (`None` inside: the default one).
    pub cluster: Option<Option<String>>,
    /// Where to write the cluster snapshot, with --cluster.
    pub save_snapshot: Option<PathBuf>,
    pub outputs: Vec<(Format, Option<PathBuf>)>,
    /// None: never fail on findings.
    pub fail_on: Option<Severity>,
    pub framework: Option<Framework>,
    pub config: Config,
    /// Where the settings came from, when a file was read.
    pub config_path: Option<String>,
    pub custom: CustomControls,
    pub exceptions: Exceptions,
    pub load: LoadOptions,
    pub default_namespace: String,
    pub color: bool,
    pub verbose: bool,
    pub quiet: bool,
    pub today: Date,
    pub timings: bool,
    /// MLG-MOD-001's findings from model scan results (--model-scan).
    pub external: Option<mlguard_controls::ExternalResults>,
    /// The --image-scan and --model-scan results, read again for the HTML report's summaries
    /// (only when an html output is asked for).
    pub html_image_scans: Vec<(String, serde_json::Value)>,
    pub html_model_scans: Vec<(String, serde_json::Value)>,
    /// The earlier scan `--previous` names (only with an html output).
    pub html_previous: Option<mlguard_controls::Report>,
}

fn format_for_extension(p: &str) -> Option<Format> {
    let ext = std::path::Path::new(p)
        .extension()?
        .to_str()?
        .to_ascii_lowercase();
    Some(match ext.as_str() {
        "json" => Format::Json,
        "sarif" => Format::Sarif,
        "xml" => Format::Junit,
        "yaml" | "yml" => Format::PolicyReport,
        "txt" => Format::Table,
        "html" | "htm" => Format::Html,
        _ => return None,
    })
}

fn parse_format(s: &str) -> Result<Format> {
    s.parse::<Format>().map_err(|_| {
        anyhow::anyhow!(
            "unknown --format `{s}` (expected table, json, sarif, junit, policyreport or html)"
        )
    })
}

/// Pair each `-o` with the `--format` given before it on the command line.
pub fn pair_outputs(
    formats: &[(usize, String)],
    outputs: &[(usize, String)],
) -> Result<Vec<(Format, Option<PathBuf>)>> {
    let mut events: Vec<(usize, bool, &str)> = formats
        .iter()
        .map(|(i, f)| (*i, true, f.as_str()))
        .chain(outputs.iter().map(|(i, o)| (*i, false, o.as_str())))
        .collect();
    events.sort_by_key(|e| e.0);
    let mut out = Vec::new();
    let mut pending: Option<Format> = None;
    for (_, is_format, v) in events {
        if is_format {
            if let Some(p) = pending.take() {
                out.push((p, None));
            }
            pending = Some(parse_format(v)?);
        } else if let Some(p) = pending.take() {
            out.push((p, Some(PathBuf::from(v))));
        } else {
            let f = format_for_extension(v).with_context(|| {
                format!(
                    "-o {v}: give --format before it (cannot tell the format from the file name)"
                )
            })?;
            out.push((f, Some(PathBuf::from(v))));
        }
    }
    if let Some(p) = pending {
        out.push((p, None));
    }
    if out.is_empty() {
        out.push((Format::Table, None));
    }
    if out.iter().filter(|(_, p)| p.is_none()).count() > 1 {
        bail!("only one --format can go to stdout; give -o PATH for the others");
    }
    Ok(out)
}

fn read(path: &str) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))
}

/// Scan settings, custom controls and exceptions files, read and validated (shared with
/// `mlguard webhook serve`).
pub fn read_settings(
    config: Option<&str>,
    controls: &[String],
    exceptions: &[String],
) -> Result<(Config, CustomControls, Exceptions)> {
    let cfg = match config {
        Some(p) => Config::parse(p, &read(p)?).map_err(|e| anyhow::anyhow!("{e}"))?,
        None => Config::default(),
    };
    let mut custom = CustomControls::default();
    for f in controls {
        let c = CustomControls::parse(f, &read(f)?).map_err(|e| anyhow::anyhow!("{e}"))?;
        custom.extend(c).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let mut exc = Exceptions::default();
    for f in exceptions {
        let e = Exceptions::parse(f, &read(f)?).map_err(|e| anyhow::anyhow!("{e}"))?;
        exc.entries.extend(e.entries);
    }
    Ok((cfg, custom, exc))
}

impl ScanPlan {
    pub fn from_args(a: ScanArgs, format_idx: &[usize], output_idx: &[usize]) -> Result<ScanPlan> {
        let idx = |v: &[String], ix: &[usize], base: usize| -> Vec<(usize, String)> {
            v.iter()
                .enumerate()
                .map(|(i, s)| (ix.get(i).copied().unwrap_or(base + i * 2), s.clone()))
                .collect()
        };
        // Without command-line indices (values from the environment), pair in order.
        let outputs = pair_outputs(
            &idx(&a.format, format_idx, 0),
            &idx(&a.output, output_idx, 1),
        )?;
        let fail_on = match a.fail_on.as_str() {
            "none" | "never" => None,
            s => Some(Severity::parse(s).with_context(|| {
                format!("unknown --fail-on `{s}` (expected critical, high, medium, low or none)")
            })?),
        };
        let framework = a
            .framework
            .as_deref()
            .map(|f| {
                Framework::parse(f).with_context(|| {
                    format!("unknown --framework `{f}` (expected hipaa, soc2 or gdpr)")
                })
            })
            .transpose()?;
        // --config, else ./mlguard.yaml, else mlguard.yaml in the first folder scanned.
        let config_path = a.config.clone().or_else(|| {
            std::iter::once(std::path::PathBuf::from("mlguard.yaml"))
                .chain(
                    a.paths
                        .iter()
                        .filter(|p| std::path::Path::new(p).is_dir())
                        .take(1)
                        .map(|d| std::path::Path::new(d).join("mlguard.yaml")),
                )
                .find(|p| p.is_file())
                .map(|p| p.display().to_string())
        });
        let (config, custom, exceptions) =
            read_settings(config_path.as_deref(), &a.controls, &a.exceptions)?;
        let today = match &a.today {
            Some(d) => Date::parse(d)
                .with_context(|| format!("--today `{d}` is not a date (YYYY-MM-DD)"))?,
            None => Date::today(),
        };
        if a.paths.iter().filter(|p| *p == "-").count() > 1 {
            bail!("`-` (stdin) can be given only once");
        }
        let default_namespace = config
            .default_namespace
            .clone()
            .unwrap_or(a.default_namespace);
        let mut external = if a.model_scan.is_empty() {
            None
        } else {
            Some(crate::cmd_model_scan::external_results(&a.model_scan)?)
        };
        if !a.image_scan.is_empty() || a.images.is_some() {
            crate::cmd_image::external_results(
                &a.image_scan,
                a.images.as_deref(),
                a.vuln_db.as_deref(),
                external.get_or_insert_with(Default::default),
            )?;
        }
        let wants_html = outputs.iter().any(|(f, _)| *f == Format::Html);
        let (html_image_scans, html_model_scans) = if wants_html {
            (
                crate::cmd_report::read_image_scans(&a.image_scan)?,
                crate::cmd_report::read_model_scans(&a.model_scan)?,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        let html_previous = match &a.previous {
            Some(_) if !wants_html => {
                bail!("--previous only changes the HTML report: add --format html (or -o report.html)")
            }
            Some(p) => Some(crate::cmd_report::read_findings_file(p)?),
            None => None,
        };
        Ok(ScanPlan {
            html_previous,
            html_image_scans,
            html_model_scans,
            external,
            paths: a.paths,
            cluster: a.cluster.then_some(a.kube_context),
            save_snapshot: a.save_snapshot.map(PathBuf::from),
            outputs,
            fail_on,
            framework,
            config,
            config_path,
            custom,
            exceptions,
            load: LoadOptions {
                max_file_size: a.max_file_size.saturating_mul(1024 * 1024),
                ..LoadOptions::default()
            },
            default_namespace,
            color: a.color.stdout_color(),
            verbose: a.verbose,
            quiet: a.quiet,
            today,
            timings: a.timings,
        })
    }
}

pub fn run_with(a: ScanArgs, format_idx: &[usize], output_idx: &[usize]) -> Result<u8> {
    let plan = match ScanPlan::from_args(a, format_idx, output_idx) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(exit::ERROR);
        }
    };
    execute(&plan)
}

/// Write each snapshot document to `dir/<group_version>/<plural>.json` and rename it to that
/// path, so findings point at files that exist.
fn save_snapshot(dir: &std::path::Path, documents: &mut [(String, String)]) -> Result<()> {
    for (name, text) in documents.iter_mut() {
        // `cluster:<context>/<group/version...>/<plural>`: keep what follows the context.
        let rel = name
            .split_once('/')
            .map_or(name.as_str(), |(_, rest)| rest)
            .replace('/', "_");
        let (gv, plural) = rel.rsplit_once('_').unwrap_or(("", &rel));
        let folder = dir.join(gv);
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
        let path = folder.join(format!("{plural}.json"));
        std::fs::write(&path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        *name = path.display().to_string();
    }
    Ok(())
}

fn spinner(quiet: bool) -> Option<indicatif::ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(pb)
}

pub fn execute(plan: &ScanPlan) -> Result<u8> {
    let pb = spinner(plan.quiet);
    if let Some(pb) = &pb {
        pb.set_message("reading manifests");
    }
    let t0 = std::time::Instant::now();
    let mut phases: Vec<(&str, std::time::Duration)> = Vec::new();
    let mut lap = |name: &'static str, t: &mut std::time::Instant| {
        phases.push((name, t.elapsed()));
        *t = std::time::Instant::now();
    };
    let mut t = t0;
    let mut loaded = mlguard_core::load(&plan.paths, &plan.load);
    if let Some(context) = &plan.cluster {
        let mut progress = |kind: &str, n: usize| {
            if let Some(pb) = &pb {
                pb.set_message(format!("read {n} {kind} objects from the cluster"));
            }
        };
        let snap = match mlguard_operator::snapshot::read_cluster(context.as_deref(), &mut progress)
        {
            Ok(s) => s,
            Err(e) => {
                if let Some(pb) = &pb {
                    pb.finish_and_clear();
                }
                let cause = std::error::Error::source(&e)
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default();
                eprintln!("error: cannot read the cluster: {e}{cause}");
                return Ok(exit::ERROR);
            }
        };
        if !plan.quiet && !snap.absent.is_empty() {
            eprintln!(
                "note: the cluster does not serve {} kinds mlguard reads (their CRDs are not installed): {}",
                snap.absent.len(),
                snap.absent.join(", ")
            );
        }
        let mut documents = snap.documents;
        if let Some(dir) = &plan.save_snapshot {
            if let Err(e) = save_snapshot(dir, &mut documents) {
                eprintln!("error: {e:#}");
                return Ok(exit::ERROR);
            }
        }
        loaded.append(mlguard_core::load::load_documents(&documents, &plan.load));
    }
    lap("read", &mut t);
    if let Some(pb) = &pb {
        pb.set_message(format!(
            "checking {} objects from {} files",
            loaded.objects.len(),
            loaded.files.len()
        ));
    }
    let inv = Inventory::new(loaded, &plan.default_namespace);
    lap("index", &mut t);
    let opts = ScanOptions {
        config: &plan.config,
        exceptions: &plan.exceptions,
        custom: &plan.custom,
        focus: None,
        external: plan.external.as_ref(),
        today: plan.today,
    };
    let (report, catalog) = mlguard_controls::scan(&inv, &opts);
    lap("check", &mut t);
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    for (fmt, path) in &plan.outputs {
        let ropts = RenderOptions {
            color: path.is_none() && plan.color && *fmt == Format::Table,
            framework: plan.framework,
            verbose: plan.verbose,
        };
        write_with(path.as_deref(), |w| {
            if *fmt == Format::Html {
                let extras = mlguard_report::HtmlExtras {
                    image_scans: &plan.html_image_scans,
                    model_scans: &plan.html_model_scans,
                    previous: plan.html_previous.as_ref(),
                    ..mlguard_report::HtmlExtras::default()
                };
                mlguard_report::render_html(&report, &catalog, &ropts, &extras, w)
            } else {
                mlguard_report::render(&report, &catalog, *fmt, &ropts, w)
            }
        })?;
    }
    lap("render", &mut t);
    if plan.timings {
        for (name, d) in &phases {
            eprintln!("timing: {name:<7} {:>8.3} s", d.as_secs_f64());
        }
        eprintln!("timing: total   {:>8.3} s", t0.elapsed().as_secs_f64());
    }
    let to_stdout_table = plan
        .outputs
        .iter()
        .any(|(f, p)| *f == Format::Table && p.is_none());
    if !to_stdout_table {
        // The table prints input errors itself; otherwise say them on stderr.
        for e in &report.errors {
            eprintln!("error: {}", render_problem(e));
        }
    }
    if !plan.quiet {
        if let Some(p) = &plan.config_path {
            eprintln!("note: settings from {p}");
        }
        for n in &report.notes {
            eprintln!("note: {}", render_problem(n));
        }
    }
    // The process ends right after: returning the inventory's millions of nodes to the
    // allocator one by one would only add wall time.
    std::mem::forget(inv);
    if !report.errors.is_empty() {
        return Ok(exit::ERROR);
    }
    let worst = report.worst_failed();
    Ok(match (plan.fail_on, worst) {
        (Some(t), Some(w)) if w >= t => exit::FINDINGS,
        _ => exit::CLEAN,
    })
}

fn render_problem(p: &mlguard_controls::InputProblem) -> String {
    let mut s = p.file.clone();
    if let Some(l) = p.line {
        s.push_str(&format!(":{l}"));
        if let Some(c) = p.column {
            s.push_str(&format!(":{c}"));
        }
    }
    s.push_str(": ");
    if let Some(f) = &p.field {
        s.push_str(&format!("field `{f}`: "));
    }
    s.push_str(&p.message);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(f: &[(usize, &str)], o: &[(usize, &str)]) -> Result<Vec<(Format, Option<PathBuf>)>> {
        let f: Vec<_> = f.iter().map(|(i, s)| (*i, (*s).to_owned())).collect();
        let o: Vec<_> = o.iter().map(|(i, s)| (*i, (*s).to_owned())).collect();
        pair_outputs(&f, &o)
    }

    #[test]
    fn formats_pair_with_following_outputs() {
        let p = pairs(
            &[(1, "sarif"), (5, "json"), (9, "table")],
            &[(3, "a.sarif"), (7, "b.json")],
        )
        .expect("ok");
        assert_eq!(
            p,
            vec![
                (Format::Sarif, Some(PathBuf::from("a.sarif"))),
                (Format::Json, Some(PathBuf::from("b.json"))),
                (Format::Table, None)
            ]
        );
        assert_eq!(pairs(&[], &[]).expect("ok"), vec![(Format::Table, None)]);
        assert_eq!(
            pairs(&[], &[(1, "x.sarif")]).expect("ok"),
            vec![(Format::Sarif, Some(PathBuf::from("x.sarif")))]
        );
        assert!(pairs(&[(1, "json"), (3, "table")], &[]).is_err());
        assert!(pairs(&[], &[(1, "x.bin")]).is_err());
        assert_eq!(
            pairs(&[], &[(1, "report.html")]).expect("ok"),
            vec![(Format::Html, Some(PathBuf::from("report.html")))]
        );
        assert!(pairs(&[(1, "yaml")], &[]).is_err());
    }
}
