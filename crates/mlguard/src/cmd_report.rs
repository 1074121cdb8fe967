//! `mlguard report render|pack|verify|keygen`: the HTML evidence report from a saved scan, and
//! the signed evidence pack (docs/report.md).

use crate::cli_report::{PackArgs, RenderArgs, ReportCommand, SourceArgs};
use crate::exit;
use crate::output::{write_to, write_with};
use anyhow::{bail, Context, Result};
use mlguard_controls::{Catalog, Framework, Report};
use mlguard_report::pack::{self, PackInput, PackSpec, Signer, Verifier};
use mlguard_report::{render_html, Format, HtmlExtras, RenderOptions};
use serde_json::Value;

pub fn run(c: ReportCommand) -> Result<u8> {
    let r = match c {
        ReportCommand::Render(a) => render(a),
        ReportCommand::Pack(a) => pack_cmd(a),
        ReportCommand::Verify { pack, key, quiet } => return verify(&pack, &key, quiet),
        ReportCommand::Keygen { output, name } => keygen(&output, &name),
    };
    match r {
        Ok(()) => Ok(exit::CLEAN),
        Err(e) if crate::output::is_broken_pipe(&e) => Ok(exit::CLEAN),
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(exit::ERROR)
        }
    }
}

fn read_bytes(path: &str) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {path}"))
}

/// A findings JSON (docs/findings.md); the error names the file, and serde names the field,
/// line and column.
/// A findings JSON file read and parsed, as `read_findings` names its errors.
pub fn read_findings_file(path: &str) -> Result<Report> {
    read_findings(path, &read_bytes(path)?)
}

pub fn read_findings(path: &str, bytes: &[u8]) -> Result<Report> {
    serde_json::from_slice(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{path}: not a findings JSON of `mlguard scan --format json` (docs/findings.md): {e}"
        )
    })
}

/// A JSON results file whose field `key` must be `want` (`image scan` or `model scan`
/// results).
fn read_results(path: &str, key: &str, want: &str, what: &str) -> Result<(String, Value)> {
    let bytes = read_bytes(path)?;
    let v: Value =
        serde_json::from_slice(&bytes).map_err(|e| anyhow::anyhow!("{path}: not JSON: {e}"))?;
    let got = v.get(key).and_then(Value::as_str);
    if got != Some(want) {
        bail!(
            "{path}: field `{key}` is {}, expected `{want}` (the JSON results of `{what} --format json`)",
            got.map_or_else(|| "missing".to_owned(), |g| format!("`{g}`"))
        );
    }
    Ok((path.to_owned(), v))
}

pub fn read_image_scans(paths: &[String]) -> Result<Vec<(String, Value)>> {
    paths
        .iter()
        .map(|p| read_results(p, "format", "mlguard.image-scan/v1", "mlguard image scan"))
        .collect()
}

pub fn read_model_scans(paths: &[String]) -> Result<Vec<(String, Value)>> {
    paths
        .iter()
        .map(|p| {
            let r = read_results(p, "kind", "mlguard-model-scan", "mlguard model scan")?;
            let version = r.1.get("version").and_then(Value::as_str).unwrap_or("");
            if version.split('.').next() != Some("1") {
                bail!("{p}: field `version` is `{version}`; this mlguard reads version 1");
            }
            Ok(r)
        })
        .collect()
}

/// Everything a report is drawn from, read and validated.
struct Sources {
    findings_bytes: Vec<u8>,
    report: Report,
    previous: Option<(Vec<u8>, Report)>,
    images: Vec<(String, Value)>,
    models: Vec<(String, Value)>,
    framework: Option<Framework>,
    evidence_per_clause: usize,
}

impl Sources {
    fn read(a: &SourceArgs) -> Result<Sources> {
        let framework = a
            .framework
            .as_deref()
            .map(|f| {
                Framework::parse(f).with_context(|| {
                    format!("unknown --framework `{f}` (expected hipaa, soc2 or gdpr)")
                })
            })
            .transpose()?;
        if a.evidence_per_clause == 0 {
            bail!("--evidence-per-clause must be at least 1");
        }
        let findings_bytes = read_bytes(&a.findings)?;
        let report = read_findings(&a.findings, &findings_bytes)?;
        let previous = match &a.previous {
            Some(p) => {
                let b = read_bytes(p)?;
                let r = read_findings(p, &b)?;
                Some((b, r))
            }
            None => None,
        };
        Ok(Sources {
            findings_bytes,
            report,
            previous,
            images: read_image_scans(&a.image_scan)?,
            models: read_model_scans(&a.model_scan)?,
            framework,
            evidence_per_clause: a.evidence_per_clause,
        })
    }

    fn html(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let extras = HtmlExtras {
            previous: self.previous.as_ref().map(|p| &p.1),
            image_scans: &self.images,
            model_scans: &self.models,
            evidence_per_clause: self.evidence_per_clause,
        };
        let opts = RenderOptions {
            framework: self.framework,
            ..RenderOptions::default()
        };
        render_html(&self.report, Catalog::builtin(), &opts, &extras, out)
    }
}

fn render(a: RenderArgs) -> Result<()> {
    let src = Sources::read(&a.source)?;
    write_with(a.output.as_deref().map(std::path::Path::new), |w| {
        src.html(w)
    })
}

/// Now (or `SOURCE_DATE_EPOCH`), RFC 3339 UTC to the second.
fn created_time() -> Result<String> {
    let secs = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse::<i64>()
            .with_context(|| format!("SOURCE_DATE_EPOCH `{v}` is not a number of seconds"))?,
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0),
    };
    let (y, m, d) = mlguard_core::text::civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    Ok(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        t / 3600,
        t % 3600 / 60,
        t % 60
    ))
}

fn read_key_text(path: &str) -> Result<String> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("cannot read key {path}"))?,
    );
    Ok(text.trim().to_owned())
}

fn pack_cmd(a: PackArgs) -> Result<()> {
    let key_text = zeroize::Zeroizing::new(read_key_text(&a.key)?);
    let signer = Signer::from_key_text(&key_text).map_err(|e| {
        anyhow::anyhow!("{}: {e} (expected a signer key PRIVATE+KEY+<name>+<id>+<base64>, as `mlguard report keygen` writes)", a.key)
    })?;
    drop(key_text);
    let mut src = Sources::read(&a.source)?;
    let mut html = Vec::new();
    src.html(&mut html)?;
    let mut sarif = Vec::new();
    let ropts = RenderOptions {
        framework: src.framework,
        ..RenderOptions::default()
    };
    mlguard_report::render(
        &src.report,
        Catalog::builtin(),
        Format::Sarif,
        &ropts,
        &mut sarif,
    )?;
    let mut inputs: Vec<PackInput> = src
        .report
        .inputs
        .iter()
        .map(|i| PackInput {
            file: i.file.clone(),
            sha256: i.sha256.clone(),
            role: "scanned".to_owned(),
        })
        .collect();
    inputs.push(PackInput {
        file: a.source.findings.clone(),
        sha256: pack::sha256_hex(&src.findings_bytes),
        role: "findings".to_owned(),
    });
    let mut files = vec![
        ("report.html".to_owned(), html),
        (
            "findings.json".to_owned(),
            std::mem::take(&mut src.findings_bytes),
        ),
        ("findings.sarif".to_owned(), sarif),
    ];
    if let (Some(p), Some((bytes, _))) = (&a.source.previous, &mut src.previous) {
        inputs.push(PackInput {
            file: p.clone(),
            sha256: pack::sha256_hex(bytes),
            role: "previous".to_owned(),
        });
        files.push(("inputs/previous.json".to_owned(), std::mem::take(bytes)));
    }
    for (role, list) in [
        ("image-scan", &a.source.image_scan),
        ("model-scan", &a.source.model_scan),
    ] {
        for (i, p) in list.iter().enumerate() {
            let bytes = read_bytes(p)?;
            inputs.push(PackInput {
                file: p.clone(),
                sha256: pack::sha256_hex(&bytes),
                role: role.to_owned(),
            });
            files.push((format!("inputs/{role}-{}.json", i + 1), bytes));
        }
    }
    let spec = PackSpec {
        files,
        inputs,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        created: created_time()?,
    };
    let bytes = pack::build(&spec, &signer).map_err(|e| anyhow::anyhow!("{e}"))?;
    write_to(Some(std::path::Path::new(&a.output)), &bytes)?;
    eprintln!(
        "wrote {} ({} files, signed by {} {:08x})",
        a.output,
        spec.files.len() + 2,
        signer.name(),
        signer.key_id()
    );
    Ok(())
}

fn verify(pack_path: &str, key_path: &str, quiet: bool) -> Result<u8> {
    let usage = |e: anyhow::Error| -> Result<u8> {
        eprintln!("error: {e:#}");
        Ok(exit::ERROR)
    };
    let key = match read_key_text(key_path) {
        Ok(k) => k,
        Err(e) => return usage(e),
    };
    if key.starts_with("PRIVATE+KEY+") {
        return usage(anyhow::anyhow!(
            "{key_path}: this is a signing (private) key; verify with the public key (NAME.pub)"
        ));
    }
    let verifier = match Verifier::from_key_text(&key) {
        Ok(v) => v,
        Err(e) => {
            return usage(anyhow::anyhow!(
                "{key_path}: {e} (expected a verifier key <name>+<id>+<base64>)"
            ))
        }
    };
    let bytes = match read_bytes(pack_path) {
        Ok(b) => b,
        Err(e) => return usage(e),
    };
    match pack::verify(&bytes, &verifier) {
        Ok(v) => {
            if !quiet {
                let created = v.manifest["created"].as_str().unwrap_or("?");
                println!(
                    "{pack_path}: verified: signed by {} ({:08x}), created {created}, {} files match the manifest:",
                    v.key_name,
                    verifier.key_id(),
                    v.files.len()
                );
                for (name, size) in &v.files {
                    println!("  {name} ({size} bytes)");
                }
            }
            Ok(exit::CLEAN)
        }
        Err(e) => {
            eprintln!("error: {pack_path}: verification failed: {e}");
            Ok(exit::FINDINGS)
        }
    }
}

fn keygen(dir: &str, name: &str) -> Result<()> {
    let (secret, public) = Signer::generate(name).map_err(|e| anyhow::anyhow!("--name: {e}"))?;
    let dir = std::path::Path::new(dir);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let key_path = dir.join(format!("{name}.key"));
    let pub_path = dir.join(format!("{name}.pub"));
    for p in [&key_path, &pub_path] {
        if p.exists() {
            bail!("{} exists; not overwriting a key", p.display());
        }
    }
    write_new(&key_path, format!("{}\n", secret.as_str()).as_bytes(), true)?;
    write_new(&pub_path, format!("{public}\n").as_bytes(), false)?;
    eprintln!(
        "wrote {} (secret: keep it safe) and {} (give it to whoever verifies packs)",
        key_path.display(),
        pub_path.display()
    );
    Ok(())
}

fn write_new(path: &std::path::Path, body: &[u8], secret: bool) -> Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut f = o
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(body)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
