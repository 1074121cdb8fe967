//! `mlguard image scan`: flags into options, mlguard-vuln does the work (reading the image,
//! matching, VEX, SARIF and CycloneDX), then the table or document and the exit code. Also
//! MLG-IMG-002's inputs for `mlguard scan` (`--image-scan RESULTS.json`, `--images OCI_DIR`).

use crate::cli::ImageScanArgs;
use crate::exit;
use anyhow::{bail, Context, Result};
use mlguard_vuln::db::{self, Db};
use mlguard_vuln::image::{ImageInventory, Progress};
use mlguard_vuln::scan::{self, ScanReport, Source, Target};
use mlguard_vuln::severity::Severity;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Validated flags.
struct Plan {
    source: Source,
    name: String,
    format: Format,
    output: Option<PathBuf>,
    sbom: Option<PathBuf>,
    vex: Vec<PathBuf>,
    fail_on: Option<Severity>,
    db_dir: PathBuf,
    max_db_age_days: u64,
    registry: mlguard_vuln::registry::RegistryOptions,
    all: bool,
    quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Table,
    Json,
    Sarif,
    CycloneDx,
}

/// `--fail-on`: a severity, or none.
pub fn parse_fail_on(s: &str) -> Result<Option<Severity>> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    match Severity::parse(s) {
        Some(Severity::Unknown) | None => {
            bail!("--fail-on {s:?} is not one of critical, high, medium, low, none")
        }
        Some(sev) => Ok(Some(sev)),
    }
}

fn plan(a: ImageScanArgs) -> Result<Plan> {
    let format = match a.format.as_str() {
        "table" => Format::Table,
        "json" => Format::Json,
        "sarif" => Format::Sarif,
        "cyclonedx" => Format::CycloneDx,
        f => bail!("--format {f:?} is not one of table, json, sarif, cyclonedx"),
    };
    let source = Source::parse(&a.target).map_err(anyhow::Error::msg)?;
    let mut registry = mlguard_vuln::registry::RegistryOptions::from_env();
    registry.ca_file = a.registry_ca.map(PathBuf::from);
    registry.plain_http = a.plain_http;
    let (os, arch) = a
        .platform
        .split_once('/')
        .filter(|(o, r)| !o.is_empty() && !r.is_empty())
        .with_context(|| format!("--platform {:?} is not OS/ARCH (linux/amd64)", a.platform))?;
    registry.platform = (os.to_string(), arch.to_string());
    Ok(Plan {
        source,
        name: a.target,
        format,
        output: a.output.map(PathBuf::from),
        sbom: a.sbom.map(PathBuf::from),
        vex: a.vex.iter().map(PathBuf::from).collect(),
        fail_on: parse_fail_on(&a.fail_on)?,
        db_dir: a.db.map(PathBuf::from).unwrap_or_else(db::default_dir),
        max_db_age_days: a.max_db_age,
        registry,
        all: a.all,
        quiet: a.quiet,
    })
}

/// A progress bar over the bytes of layer blobs.
struct Bar(indicatif::ProgressBar);

impl Progress for Bar {
    fn total(&self, bytes: u64) {
        self.0.set_length(bytes);
        self.0.set_style(
            indicatif::ProgressStyle::with_template(
                "reading layers {bar:30} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    }
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

/// Read the packages of `source`.
pub fn read(
    source: &Source,
    registry: &mlguard_vuln::registry::RegistryOptions,
    progress: &dyn Progress,
) -> Result<ImageInventory> {
    use mlguard_vuln::image;
    Ok(match source {
        Source::OciLayout(p) => image::read_oci_layout_with(p, progress)?,
        Source::DockerArchive(p) => image::read_docker_archive_with(p, progress)?,
        Source::Rootfs(p) | Source::PythonEnv(p) => image::read_rootfs(p)?,
        Source::Registry(r) => mlguard_vuln::registry::read_registry(r, registry, progress)?,
        other => bail!("{} targets cannot be read", other.kind()),
    })
}

/// Open the database.
pub fn open_db(dir: &Path) -> Result<Db> {
    Ok(Db::open(dir)?)
}

pub fn run(a: ImageScanArgs) -> Result<u8> {
    let p = plan(a)?;
    let db = open_db(&p.db_dir)?;
    let vexes = p
        .vex
        .iter()
        .map(|v| mlguard_vuln::output::vex::load(v).map_err(anyhow::Error::new))
        .collect::<Result<Vec<_>>>()?;
    let bar = if p.quiet || !std::io::stderr().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new_spinner().with_message("reading the image")
    };
    let inv = read(&p.source, &p.registry, &Bar(bar.clone()))
        .with_context(|| format!("cannot read {}", p.name))?;
    bar.finish_and_clear();
    let target = Target {
        name: p.name.clone(),
        kind: p.source.kind().to_string(),
        digest: inv.digest.clone(),
        layers: inv.layers,
    };
    let mut report = scan::scan(&inv, &db, target, &p.db_dir.display().to_string());
    for v in &vexes {
        v.apply(&mut report);
    }
    if report.database.age_days > p.max_db_age_days {
        report.warnings.push(format!(
            "the vulnerability database {} was last imported {} days ago (more than {}): import fresh records with `mlguard vuln db import`",
            p.db_dir.display(),
            report.database.age_days,
            p.max_db_age_days
        ));
    }
    let written = write(&p, &report);
    if let Err(e) = written {
        if crate::output::is_broken_pipe(&e) {
            return Ok(exit::CLEAN);
        }
        return Err(e);
    }
    // Warnings print even with --quiet (which hides only the progress bar): they say what
    // the results cannot be trusted for.
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    for e in &report.errors {
        eprintln!("error: {}: {}", e.path, e.reason);
    }
    for n in &report.not_evaluated {
        let pk = &report.packages[n.package];
        eprintln!(
            "error: {} {} ({}): not evaluated: {}",
            pk.name, pk.version, pk.ecosystem, n.reason
        );
    }
    if !report.errors.is_empty() || !report.not_evaluated.is_empty() {
        return Ok(exit::ERROR);
    }
    let failed = p
        .fail_on
        .is_some_and(|t| report.worst().is_some_and(|w| w.reaches(t)));
    Ok(if failed { exit::FINDINGS } else { exit::CLEAN })
}

fn write(p: &Plan, report: &ScanReport) -> Result<()> {
    use mlguard_vuln::output::{cyclonedx, sarif};
    let json = |v: &serde_json::Value, out: Option<&Path>| {
        crate::output::write_with(out, |w| {
            serde_json::to_writer_pretty(&mut *w, v)?;
            writeln!(w)
        })
    };
    if let Some(s) = &p.sbom {
        json(&cyclonedx::sbom(report, false), Some(s))?;
    }
    let out = p.output.as_deref();
    match p.format {
        Format::Json => crate::output::write_with(out, |w| {
            serde_json::to_writer_pretty(&mut *w, report)?;
            writeln!(w)
        }),
        Format::Sarif => json(&sarif::render(report), out),
        Format::CycloneDx => json(&cyclonedx::sbom(report, true), out),
        Format::Table => crate::output::write_with(out, |w| table(w, report, p.all)),
    }
}

/// The table: packages with vulnerabilities (all packages with `--all`), each vulnerability
/// under its package with severity, fix versions and summary; then a summary line.
fn table(w: &mut dyn Write, r: &ScanReport, all: bool) -> std::io::Result<()> {
    let mut by_pkg: Vec<Vec<&scan::Finding>> = vec![Vec::new(); r.packages.len()];
    for f in &r.findings {
        by_pkg[f.package].push(f);
    }
    let mut shown = 0;
    for (i, pk) in r.packages.iter().enumerate() {
        let fs = &mut by_pkg[i];
        if fs.is_empty() && !all {
            continue;
        }
        fs.sort_by(|a, b| {
            b.severity
                .rank()
                .cmp(&a.severity.rank())
                .then(a.id.cmp(&b.id))
        });
        shown += 1;
        let layer = short_layer(&pk.layer);
        writeln!(
            w,
            "{} {} ({})  {}  [{layer}]",
            pk.name, pk.version, pk.ecosystem, pk.path
        )?;
        for f in fs.iter() {
            let fix = if f.fixed.is_empty() {
                "no fix".to_string()
            } else {
                format!("fix {}", f.fixed.join(", "))
            };
            let aliases = if f.ids.len() > 1 {
                format!(" ({})", f.ids[1..].join(", "))
            } else {
                String::new()
            };
            let vex = f
                .vex
                .as_ref()
                .map(|v| format!("  [VEX: {}]", v.status))
                .unwrap_or_default();
            writeln!(
                w,
                "    {:<20} {:<8} {:<16} {}{aliases}{vex}",
                f.id,
                f.severity.as_str(),
                fix,
                f.summary.as_deref().unwrap_or("")
            )?;
        }
    }
    if shown > 0 {
        writeln!(w)?;
    }
    let counting: Vec<&scan::Finding> = r.findings.iter().filter(|f| f.counts()).collect();
    let count = |s: Severity| counting.iter().filter(|f| f.severity == s).count();
    let affected = {
        let mut v: Vec<usize> = counting.iter().map(|f| f.package).collect();
        v.sort_unstable();
        v.dedup();
        v.len()
    };
    let suppressed = r.findings.len() - counting.len();
    write!(
        w,
        "{} packages, {} vulnerabilities in {affected} packages ({} critical, {} high, {} medium, {} low, {} unknown)",
        r.packages.len(),
        counting.len(),
        count(Severity::Critical),
        count(Severity::High),
        count(Severity::Medium),
        count(Severity::Low),
        count(Severity::Unknown),
    )?;
    if suppressed > 0 {
        write!(w, "; {suppressed} not affected per VEX")?;
    }
    if !r.not_evaluated.is_empty() {
        write!(w, "; {} records not evaluated", r.not_evaluated.len())?;
    }
    writeln!(w)
}

fn short_layer(l: &str) -> &str {
    match l.strip_prefix("sha256:") {
        Some(h) if h.len() > 12 => &l[..7 + 12],
        _ => l,
    }
}

/// MLG-IMG-002 from image scan results: one finding per affected package of each image,
/// severity of its worst vulnerability, placed on the containers that run the image.
pub fn external_results(
    files: &[String],
    images_dir: Option<&str>,
    db_dir: Option<&str>,
    out: &mut mlguard_controls::ExternalResults,
) -> Result<()> {
    let mut reports: Vec<(String, Vec<u32>, ScanReport)> = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
        let r = ScanReport::from_json(text.as_bytes()).map_err(|e| {
            anyhow::anyhow!("{path}: not image scan results ({e}); write them with `mlguard image scan IMAGE --format json -o {path}`")
        })?;
        // The line of each package's entry (its first field, `ecosystem`, is written one per
        // line in pretty JSON; findings have none).
        let lines: Vec<u32> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim_start().starts_with("\"ecosystem\":"))
            .map(|(i, _)| i as u32 + 1)
            .collect();
        reports.push((path.clone(), lines, r));
    }
    if let Some(dir) = images_dir {
        let dir_p = Path::new(dir);
        let db_p = db_dir.map(PathBuf::from).unwrap_or_else(db::default_dir);
        let db = open_db(&db_p)?;
        for (name, digest) in mlguard_vuln::image::list_oci_layout(dir_p)
            .with_context(|| format!("--images {dir}: not an OCI image layout"))?
        {
            let inv = mlguard_vuln::image::read_oci_layout_digest(dir_p, &digest, &())
                .with_context(|| format!("cannot read image {name} ({digest}) in {dir}"))?;
            let target = Target {
                name: name.clone(),
                kind: "oci-layout".into(),
                digest: Some(digest.clone()),
                layers: inv.layers,
            };
            let r = scan::scan(&inv, &db, target, &db_p.display().to_string());
            reports.push((format!("{dir}/index.json"), Vec::new(), r));
        }
    }
    for (file, lines, r) in reports {
        fold(out, &file, &lines, &r);
    }
    Ok(())
}

fn to_control(s: Severity) -> mlguard_controls::Severity {
    use mlguard_controls::Severity as C;
    match s {
        Severity::Low => C::Low,
        Severity::Medium => C::Medium,
        Severity::High => C::High,
        // Unknown: the control's own severity (high) would understate a critical; report it
        // as critical, the worst it can be.
        Severity::Critical | Severity::Unknown => C::Critical,
    }
}

fn fold(out: &mut mlguard_controls::ExternalResults, file: &str, lines: &[u32], r: &ScanReport) {
    use mlguard_controls::{ExternalFinding, ImageFinding, Location, ResourceRef};
    const ID: &str = "MLG-IMG-002";
    *out.evaluated.entry(ID.to_string()).or_default() += r.packages.len().max(1);
    let mut by_pkg: Vec<Vec<&scan::Finding>> = vec![Vec::new(); r.packages.len()];
    for f in r.findings.iter().filter(|f| f.counts()) {
        by_pkg[f.package].push(f);
    }
    for (i, pk) in r.packages.iter().enumerate() {
        let fs = &by_pkg[i];
        let unevaluated = r.not_evaluated.iter().filter(|n| n.package == i).count();
        if fs.is_empty() && unevaluated == 0 {
            continue;
        }
        let worst = fs
            .iter()
            .map(|f| f.severity)
            .chain((unevaluated > 0).then_some(Severity::Unknown))
            .max_by_key(|s| s.rank())
            .unwrap_or(Severity::Unknown);
        let ids: Vec<&str> = fs.iter().map(|f| f.id.as_str()).collect();
        let fixes: Vec<&str> = {
            let mut v: Vec<&str> = fs
                .iter()
                .flat_map(|f| f.fixed.iter().map(String::as_str))
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let mut message = format!(
            "{} {} ({}, {}) has {} known vulnerabilities: {}",
            pk.name,
            pk.version,
            pk.ecosystem,
            pk.path,
            fs.len(),
            ids.join(", ")
        );
        if !fixes.is_empty() {
            message.push_str(&format!("; fixed in {}", fixes.join(", ")));
        }
        if unevaluated > 0 {
            message.push_str(&format!(
                "; {unevaluated} advisories could not be evaluated"
            ));
        }
        let line = lines.get(i).copied().unwrap_or(1);
        out.images.push(ImageFinding {
            reference: r.target.name.clone(),
            digest: r.target.digest.clone(),
            finding: ExternalFinding {
                control: ID.to_string(),
                severity: Some(to_control(worst)),
                resource: ResourceRef {
                    api_version: "mlguard.io/v1".into(),
                    kind: "ContainerImage".into(),
                    namespace: None,
                    name: r.target.name.clone(),
                },
                location: Location {
                    file: file.to_string(),
                    line,
                    column: 1,
                    path: format!("packages[{i}]"),
                },
                message,
            },
        });
    }
}
