//! The JSON results of `mlguard model scan --format json` (docs/model-scan.md): written by the
//! CLI, read back by `mlguard scan --model-scan RESULTS.json` for control MLG-MOD-001.

use crate::finding::FileFinding;
use crate::pickle::Severity;
use crate::scan::{FileReport, Import};
use serde::{Deserialize, Serialize};

/// The format's version; readers reject other major versions.
pub const VERSION: &str = "1";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Results {
    /// Always `mlguard-model-scan`.
    pub kind: String,
    pub version: String,
    pub tool_version: String,
    pub fail_on: String,
    pub summary: Summary,
    pub files: Vec<FileResult>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Summary {
    pub files: usize,
    pub clean: usize,
    pub suspicious: usize,
    pub not_verifiably_safe: usize,
    #[serde(rename = "unsafe")]
    pub unsafe_: usize,
    pub skipped: usize,
    pub errors: usize,
    pub findings: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileResult {
    pub path: String,
    pub format: String,
    pub size: u64,
    /// clean, suspicious, not-verifiably-safe, unsafe, skipped or error.
    pub verdict: String,
    /// The worst finding's severity, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub members_scanned: u64,
    pub members_skipped: u64,
    pub findings: Vec<FindingResult>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<Import>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FindingResult {
    pub code: String,
    pub severity: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opcode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global: Option<String>,
    pub reason: String,
}

impl<'de> Deserialize<'de> for Import {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            name: String,
            verdict: String,
            #[serde(default)]
            member: Option<String>,
            count: u64,
        }
        let r = Raw::deserialize(d)?;
        let verdict = match r.verdict.as_str() {
            "allowed" => "allowed",
            "denied" => "denied",
            "unknown" => "unknown",
            other => {
                return Err(serde::de::Error::custom(format!(
                    "unknown import verdict {other:?}"
                )))
            }
        };
        Ok(Import {
            name: r.name,
            verdict,
            member: r.member,
            count: r.count,
        })
    }
}

pub fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        _ => "critical",
    }
}

fn finding(f: &FileFinding) -> FindingResult {
    FindingResult {
        code: f.code.to_string(),
        severity: severity_name(f.severity).to_string(),
        member: f.member.clone(),
        offset: f.offset,
        opcode: f.opcode.clone(),
        global: f.global.clone(),
        reason: f.reason.clone(),
    }
}

impl FileResult {
    pub fn from_report(r: &FileReport) -> Self {
        FileResult {
            path: r.path.display().to_string(),
            format: r.format.to_string(),
            size: r.size,
            verdict: r.verdict().to_string(),
            severity: r.max_severity().map(|s| severity_name(s).to_string()),
            error: r.error.clone(),
            members_scanned: r.members_scanned,
            members_skipped: r.members_skipped,
            findings: r.findings.iter().map(finding).collect(),
            imports: r.imports.clone(),
        }
    }
}

impl Results {
    pub fn new(reports: &[FileReport], fail_on: &str) -> Self {
        let files: Vec<FileResult> = reports.iter().map(FileResult::from_report).collect();
        let mut s = Summary {
            files: files.len(),
            ..Summary::default()
        };
        for f in &files {
            s.findings += f.findings.len();
            match f.verdict.as_str() {
                "clean" => s.clean += 1,
                "suspicious" => s.suspicious += 1,
                "not-verifiably-safe" => s.not_verifiably_safe += 1,
                "unsafe" => s.unsafe_ += 1,
                "skipped" => s.skipped += 1,
                _ => s.errors += 1,
            }
        }
        Results {
            kind: "mlguard-model-scan".into(),
            version: VERSION.into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            fail_on: fail_on.into(),
            summary: s,
            files,
        }
    }

    /// Read results back, checking the kind and version.
    pub fn parse(text: &str) -> Result<Self, String> {
        let r: Results = serde_json::from_str(text)
            .map_err(|e| format!("line {}, column {}: {e}", e.line(), e.column()))?;
        if r.kind != "mlguard-model-scan" {
            return Err(format!(
                "kind is {:?}, not \"mlguard-model-scan\" (the output of `mlguard model scan --format json`)",
                r.kind
            ));
        }
        if r.version.split('.').next() != Some(VERSION) {
            return Err(format!(
                "version {:?} is not supported (this mlguard reads {VERSION})",
                r.version
            ));
        }
        Ok(r)
    }
}
