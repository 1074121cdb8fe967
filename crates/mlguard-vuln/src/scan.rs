//! An image scan: the inventory of an image (crate::image) matched against the local database
//! (crate::db), as one versioned result document (`mlguard.image-scan/v1`, documented in
//! docs/image-scan.md) that the table, SARIF, CycloneDX and MLG-IMG-002 are all made from.
//!
//! A record that cannot be evaluated for a package (a bound that does not parse, an ecosystem
//! without a version scheme) is kept as `notEvaluated`, never dropped: the caller counts it as
//! a finding of unknown severity, because "could not tell" is not "clean".

use crate::db::Db;
use crate::image::ImageInventory;
use crate::inventory::Package;
use crate::severity::Severity;
use serde::{Deserialize, Serialize};

/// The `format` of a result document.
pub const FORMAT: &str = "mlguard.image-scan/v1";

/// A whole scan result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScanReport {
    pub format: String,
    pub target: Target,
    pub database: DbSummary,
    /// Every package found, in a stable order (ecosystem, name, version, path).
    pub packages: Vec<PackageEntry>,
    /// One per (package, vulnerability); vulnerabilities merged through their aliases.
    pub findings: Vec<Finding>,
    /// Records that could not be evaluated for a package.
    #[serde(default)]
    pub not_evaluated: Vec<NotEvaluated>,
    /// Record files that could not be read (the packages they hold are missing).
    #[serde(default)]
    pub errors: Vec<RecordErrorEntry>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// What was scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Target {
    /// As given on the command line (a path or a registry reference).
    pub name: String,
    /// `oci-layout`, `docker-archive`, `rootfs`, `python-env` or `registry`.
    pub kind: String,
    /// The image manifest's digest, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    pub layers: usize,
}

/// The database the scan used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DbSummary {
    pub path: String,
    pub records: usize,
    /// Unix seconds of the last import.
    pub updated_at: u64,
    pub age_days: u64,
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PackageEntry {
    /// `PyPI`, `Debian`, `Alpine`, `conda`, `NVIDIA`.
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    /// The record file it was read from, inside the image.
    pub path: String,
    /// The layer digest it came from (`rootfs` for a folder, `config` for the image config).
    pub layer: String,
    /// Debian and Alpine: the source package (advisories are keyed by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// Package URL (https://github.com/package-url/purl-spec).
    pub purl: String,
}

/// A vulnerability affecting a package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Finding {
    /// The preferred ID (GHSA, then PYSEC, then CVE, then the rest).
    pub id: String,
    /// Every ID and alias of the merged records, `id` first.
    pub ids: Vec<String>,
    /// Index into `packages`.
    pub package: usize,
    pub severity: Severity,
    /// CVSS base score, when a record gives a CVSS v3 vector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Versions that fix it (empty: no fix known).
    pub fixed: Vec<String>,
    /// Set when a VEX document says this package is not affected (or the vulnerability is
    /// fixed in it): the finding is kept for the record but does not count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vex: Option<VexMark>,
}

/// What a VEX statement said about a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VexMark {
    /// `not_affected` or `fixed` (OpenVEX terms; CycloneDX states are mapped to them).
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    /// The VEX file.
    pub document: String,
}

/// A record that could not be evaluated for a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotEvaluated {
    pub package: usize,
    pub reason: String,
}

/// A record file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordErrorEntry {
    pub path: String,
    pub reason: String,
}

impl Finding {
    /// Does this finding count (for `--fail-on`, tables, MLG-IMG-002)? Not when VEX says the
    /// package is not affected or the vulnerability is fixed.
    pub fn counts(&self) -> bool {
        self.vex.is_none()
    }
}

/// The package URL of a package.
pub fn purl(p: &Package) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' | b'+' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
            .replace('+', "%2B")
    };
    match p.ecosystem {
        "PyPI" => format!(
            "pkg:pypi/{}@{}",
            enc(&crate::version::pypi::normalize_name(&p.name)),
            enc(&p.version)
        ),
        "Debian" => {
            let mut s = format!("pkg:deb/debian/{}@{}", enc(&p.name), enc(&p.version));
            if let Some((src, _)) = &p.source {
                if src != &p.name {
                    s.push_str(&format!("?upstream={}", enc(src)));
                }
            }
            s
        }
        "Alpine" => format!("pkg:apk/alpine/{}@{}", enc(&p.name), enc(&p.version)),
        "conda" => format!("pkg:conda/{}@{}", enc(&p.name), enc(&p.version)),
        crate::cuda::ECOSYSTEM => {
            format!("pkg:generic/nvidia/{}@{}", enc(&p.name), enc(&p.version))
        }
        other => format!(
            "pkg:generic/{}/{}@{}",
            enc(&other.to_ascii_lowercase()),
            enc(&p.name),
            enc(&p.version)
        ),
    }
}

/// The (name, version) advisories for a package are keyed by: Debian's and Alpine's source
/// package, otherwise the package itself.
fn advisory_key(p: &Package) -> (&str, &str) {
    match &p.source {
        Some((src, ver)) => (src.as_str(), ver.as_deref().unwrap_or(&p.version)),
        None => (&p.name, &p.version),
    }
}

/// The ecosystem a package's advisories are looked up in: OS packages take the release of
/// the image's distribution (`Debian:12`) when os-release names it.
fn query_ecosystem(p: &Package, inv: &ImageInventory) -> String {
    let os = inv.os.as_ref().and_then(|o| o.ecosystem());
    match (p.ecosystem, os) {
        ("Debian", Some(e)) if e.starts_with("Debian:") || e.starts_with("Ubuntu:") => e,
        ("Alpine", Some(e)) if e.starts_with("Alpine:") => e,
        (e, _) => e.to_string(),
    }
}

/// Match an inventory against a database.
pub fn scan(inv: &ImageInventory, db: &Db, target: Target, db_path: &str) -> ScanReport {
    let mut packages: Vec<PackageEntry> = inv
        .packages
        .iter()
        .map(|(p, layer)| PackageEntry {
            ecosystem: query_ecosystem(p, inv),
            name: p.name.clone(),
            version: p.version.clone(),
            path: p.path.clone(),
            layer: layer.clone(),
            source: p.source.as_ref().map(|(s, _)| s.clone()),
            source_version: p.source.as_ref().and_then(|(_, v)| v.clone()),
            purl: purl(p),
        })
        .collect();
    let mut order: Vec<usize> = (0..packages.len()).collect();
    order.sort_by(|&a, &b| packages[a].cmp(&packages[b]));
    packages = order.iter().map(|&i| packages[i].clone()).collect();
    let mut findings = Vec::new();
    let mut not_evaluated = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        let p = &inv.packages[i].0;
        let (name, version) = advisory_key(p);
        let (hits, errors) = db.check(&packages[k].ecosystem, name, version);
        for h in hits {
            let (severity, score) = db.severity_of(&h.ids);
            findings.push(Finding {
                id: h.ids[0].clone(),
                ids: h.ids,
                package: k,
                severity,
                score,
                summary: h.summary,
                fixed: h.fixed,
                vex: None,
            });
        }
        for e in errors {
            not_evaluated.push(NotEvaluated {
                package: k,
                reason: e.to_string(),
            });
        }
    }
    let mut warnings = Vec::new();
    let os_packages = inv
        .packages
        .iter()
        .any(|(p, _)| matches!(p.ecosystem, "Debian" | "Alpine"));
    if os_packages && inv.os.as_ref().and_then(|o| o.ecosystem()).is_none() {
        warnings.push(
            "the distribution release is unknown (no os-release file naming it): OS packages were matched against the advisories of every release"
                .to_string(),
        );
    }
    if inv.packages.is_empty() {
        warnings.push(
            "no packages found: no Python metadata, conda-meta, dpkg or apk records in the target"
                .to_string(),
        );
    }
    ScanReport {
        format: FORMAT.to_string(),
        target,
        database: DbSummary {
            path: db_path.to_string(),
            records: db.meta.records,
            updated_at: db.meta.updated_at,
            age_days: db.age() / 86_400,
        },
        packages,
        findings,
        not_evaluated,
        errors: inv
            .errors
            .iter()
            .map(|e| RecordErrorEntry {
                path: e.path.clone(),
                reason: e.why.clone(),
            })
            .collect(),
        warnings,
    }
}

impl ScanReport {
    /// Read a result document (`mlguard scan --image-scan`); unknown fields and other formats
    /// are errors.
    pub fn from_json(bytes: &[u8]) -> Result<ScanReport, String> {
        let r: ScanReport = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if r.format != FORMAT {
            return Err(format!("format {:?} is not {FORMAT:?}", r.format));
        }
        let n = r.packages.len();
        if let Some(f) = r.findings.iter().find(|f| f.package >= n) {
            return Err(format!(
                "finding {} names package {} of {n}",
                f.id, f.package
            ));
        }
        if let Some(f) = r.not_evaluated.iter().find(|f| f.package >= n) {
            return Err(format!("notEvaluated names package {} of {n}", f.package));
        }
        Ok(r)
    }

    /// The highest severity among counting findings and not-evaluated records (which count
    /// as unknown); `None` when there is nothing.
    pub fn worst(&self) -> Option<Severity> {
        self.findings
            .iter()
            .filter(|f| f.counts())
            .map(|f| f.severity)
            .chain(self.not_evaluated.iter().map(|_| Severity::Unknown))
            .max_by_key(|s| s.rank())
    }
}

/// What to scan, told from a command-line argument.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    OciLayout(std::path::PathBuf),
    DockerArchive(std::path::PathBuf),
    Rootfs(std::path::PathBuf),
    PythonEnv(std::path::PathBuf),
    Registry(String),
}

impl Source {
    /// The `kind` written in results.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::OciLayout(_) => "oci-layout",
            Source::DockerArchive(_) => "docker-archive",
            Source::Rootfs(_) => "rootfs",
            Source::PythonEnv(_) => "python-env",
            Source::Registry(_) => "registry",
        }
    }

    /// Tell a target apart by what is at the path (see `mlguard image scan --help`); a prefix
    /// (`oci:`, `docker-archive:`, `dir:`, `python:`, `registry:`, `docker://`) forces a kind.
    pub fn parse(arg: &str) -> Result<Source, String> {
        use std::path::{Path, PathBuf};
        for (prefix, make) in [
            ("oci:", Source::OciLayout as fn(PathBuf) -> Source),
            ("docker-archive:", Source::DockerArchive),
            ("dir:", Source::Rootfs),
            ("python:", Source::PythonEnv),
        ] {
            if let Some(rest) = arg.strip_prefix(prefix) {
                let p = PathBuf::from(rest);
                if !p.exists() {
                    return Err(format!("{rest}: no such file or folder"));
                }
                return Ok(make(p));
            }
        }
        if let Some(r) = arg
            .strip_prefix("registry:")
            .or_else(|| arg.strip_prefix("docker://"))
        {
            return Ok(Source::Registry(r.to_string()));
        }
        let p = Path::new(arg);
        if p.is_dir() {
            if p.join("oci-layout").is_file() && p.join("index.json").is_file() {
                return Ok(Source::OciLayout(p.to_path_buf()));
            }
            return Ok(if is_python_env(p) {
                Source::PythonEnv(p.to_path_buf())
            } else {
                Source::Rootfs(p.to_path_buf())
            });
        }
        if p.is_file() {
            return Ok(Source::DockerArchive(p.to_path_buf()));
        }
        if p.exists() {
            return Err(format!("{arg}: not a file or a folder"));
        }
        let looks_like_reference = !arg.is_empty()
            && !arg.starts_with(['.', '/', '~'])
            && arg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"./:-_@".contains(&b));
        if looks_like_reference {
            Ok(Source::Registry(arg.to_string()))
        } else {
            Err(format!(
                "{arg}: no such file or folder, and not an image reference"
            ))
        }
    }
}

/// A site-packages folder (dist-info or egg-info entries at its top), a conda prefix
/// (`conda-meta/`), or a virtual environment (`pyvenv.cfg`).
fn is_python_env(p: &std::path::Path) -> bool {
    if p.join("conda-meta").is_dir() || p.join("pyvenv.cfg").is_file() {
        return true;
    }
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten().take(10_000).any(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n.ends_with(".dist-info") || n.ends_with(".egg-info")
            })
        })
        .unwrap_or(false)
}
