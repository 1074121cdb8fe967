//! The findings model: what a scan produces and every renderer consumes. Serialized as the
//! Findings JSON contract of docs/findings.md.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Severity, ordered low < medium < high < critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "low" => Self::Low,
            "medium" => Self::Medium,
            "high" => Self::High,
            "critical" => Self::Critical,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The three frameworks clauses are mapped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Framework {
    Hipaa,
    Soc2,
    Gdpr,
}

impl Framework {
    pub const ALL: [Framework; 3] = [Self::Hipaa, Self::Soc2, Self::Gdpr];

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "hipaa" => Self::Hipaa,
            "soc2" | "soc-2" => Self::Soc2,
            "gdpr" => Self::Gdpr,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hipaa => "hipaa",
            Self::Soc2 => "soc2",
            Self::Gdpr => "gdpr",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Hipaa => "HIPAA Security Rule",
            Self::Soc2 => "SOC 2 (TSC 2017)",
            Self::Gdpr => "GDPR",
        }
    }
}

/// Clauses per framework a control gives evidence for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clauses {
    pub hipaa: Vec<String>,
    pub soc2: Vec<String>,
    pub gdpr: Vec<String>,
}

impl Clauses {
    pub fn of(&self, fw: Framework) -> &[String] {
        match fw {
            Framework::Hipaa => &self.hipaa,
            Framework::Soc2 => &self.soc2,
            Framework::Gdpr => &self.gdpr,
        }
    }

    pub fn of_mut(&mut self, fw: Framework) -> &mut Vec<String> {
        match fw {
            Framework::Hipaa => &mut self.hipaa,
            Framework::Soc2 => &mut self.soc2,
            Framework::Gdpr => &mut self.gdpr,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.hipaa.is_empty() && self.soc2.is_empty() && self.gdpr.is_empty()
    }
}

/// A finding is either open (`failed`) or covered by an exception (`excepted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingStatus {
    Failed,
    Excepted,
}

/// Why a finding is excepted (or, with `expired`, why an exception no longer applies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionInfo {
    pub reason: String,
    /// ISO date (`YYYY-MM-DD`) after which the exception no longer applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Where the exception was declared: `annotation` or `file:line`.
    pub source: String,
    /// True when the exception matched but had expired: the finding stays failed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expired: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceRef {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// Where in the inputs a finding points. `line` and `column` are 1-based; `path` is the YAML
/// path of the field within its document.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub control: String,
    pub title: String,
    pub severity: Severity,
    pub status: FindingStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<ExceptionInfo>,
    pub resource: ResourceRef,
    pub location: Location,
    pub message: String,
    pub remediation: String,
    pub frameworks: Clauses,
}

/// Per-control outcome of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlStatus {
    Passed,
    Failed,
    Excepted,
    NotEvaluated,
}

impl ControlStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Excepted => "excepted",
            Self::NotEvaluated => "not_evaluated",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlSummary {
    pub id: String,
    pub status: ControlStatus,
    /// Findings of this control (failed and excepted).
    pub findings: usize,
    /// Objects the control looked at.
    pub evaluated: usize,
    /// Why a control was not evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Per-clause counts of controls by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClauseCounts {
    pub passed: usize,
    pub failed: usize,
    pub excepted: usize,
    pub not_evaluated: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub controls: Vec<ControlSummary>,
    /// framework -> clause -> counts of controls.
    pub frameworks: BTreeMap<Framework, BTreeMap<String, ClauseCounts>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    pub file: String,
    pub sha256: String,
}

/// An input problem, as reported in the Findings JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputProblem {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

/// The whole result of a scan: the Findings JSON document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub tool: Tool,
    pub inputs: Vec<InputFile>,
    pub summary: Summary,
    pub findings: Vec<Finding>,
    /// Inputs that could not be read (the scan exits 2 when there are any).
    #[serde(default)]
    pub errors: Vec<InputProblem>,
    /// Informational notes (skipped files).
    #[serde(default)]
    pub notes: Vec<InputProblem>,
    /// Sections other analyses add (connectivity, quotas, audit coverage...).
    #[serde(default)]
    pub context: serde_json::Map<String, serde_json::Value>,
}

impl Report {
    /// Highest severity among failed (not excepted) findings.
    pub fn worst_failed(&self) -> Option<Severity> {
        self.findings
            .iter()
            .filter(|f| f.status == FindingStatus::Failed)
            .map(|f| f.severity)
            .max()
    }
}
