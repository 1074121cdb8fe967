//! OSV records (https://ossf.github.io/osv-schema/) and their evaluation: is package `name` at
//! `version` in `ecosystem` affected? Implements the schema's `IsVulnerable` pseudocode:
//! explicit `versions` lists, and `ECOSYSTEM`/`SEMVER` ranges whose events (sorted by version,
//! `introduced: "0"` first) switch the state on at `introduced`, off at `fixed` and after
//! `last_affected`, with `limit` events bounding the range (`*` is infinity). `GIT` ranges
//! cannot be evaluated on a version number and are skipped (their records also list the
//! affected `versions`). Withdrawn records affect nothing.
//!
//! A bound that cannot be parsed in the ecosystem's scheme is an error, not a silent
//! "unaffected": a false clean is the worst answer a scanner can give.

use crate::version::{pypi, Scheme, VersionError};
use serde::Deserialize;
use std::cmp::Ordering;

/// One OSV record (the fields matching needs; others are ignored).
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct Record {
    pub id: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub withdrawn: Option<String>,
    #[serde(default)]
    pub modified: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub details: Option<String>,
    #[serde(default)]
    pub affected: Vec<Affected>,
    /// CVSS vectors (`{"type": "CVSS_V3", "score": "CVSS:3.1/..."}`).
    #[serde(default)]
    pub severity: Vec<SeverityScore>,
    /// GitHub's records rate severity here (`{"severity": "HIGH"}`).
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

/// One entry of a record's `severity` list.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct SeverityScore {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct Affected {
    #[serde(default)]
    pub package: Option<Package>,
    #[serde(default)]
    pub ranges: Vec<Range>,
    #[serde(default)]
    pub versions: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct Package {
    pub ecosystem: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub events: Vec<Event>,
}

/// Exactly one of the fields is set (the schema's requirement; more than one is an error when
/// evaluated).
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct Event {
    pub introduced: Option<String>,
    pub fixed: Option<String>,
    pub last_affected: Option<String>,
    pub limit: Option<String>,
}

/// Why a record could not be evaluated for a package.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MatchError {
    #[error("{record}: {source}")]
    Version {
        record: String,
        #[source]
        source: VersionError,
    },
    #[error("{record}: an event must set exactly one of introduced, fixed, last_affected, limit")]
    Event { record: String },
    #[error("ecosystem {0:?} has no version scheme here")]
    Ecosystem(String),
}

/// The version scheme of an OSV ecosystem (`Debian:12` is Debian).
pub fn scheme_of(ecosystem: &str) -> Option<Scheme> {
    let base = ecosystem.split(':').next().unwrap_or(ecosystem);
    match base {
        "PyPI" => Some(Scheme::Pypi),
        // NVIDIA components (crate::cuda): dotted numbers, ordered as dpkg orders them.
        "Debian" | "Ubuntu" | "NVIDIA" => Some(Scheme::Debian),
        _ => None,
    }
}

/// Package names compare as the ecosystem does (PyPI: PEP 503 normalised).
fn same_name(ecosystem: &str, a: &str, b: &str) -> bool {
    if scheme_of(ecosystem) == Some(Scheme::Pypi) {
        pypi::normalize_name(a) == pypi::normalize_name(b)
    } else {
        a == b
    }
}

/// Ecosystems match on their base name, then on the release when both name one: a record for
/// `Debian:12` applies to a package of `Debian:12` (not `Debian:11`), a record for plain
/// `Debian` to any release, and a package whose release is unknown (an image without
/// `/etc/os-release`) to the records of every release (a false alarm over a false clean).
/// `Ubuntu:22.04:LTS` records apply to `Ubuntu:22.04` packages.
fn same_ecosystem(record: &str, package: &str) -> bool {
    let (rb, rr) = record.split_once(':').unwrap_or((record, ""));
    let (pb, pr) = package.split_once(':').unwrap_or((package, ""));
    rb == pb
        && (rr.is_empty()
            || pr.is_empty()
            || rr == pr
            || rr
                .strip_prefix(pr)
                .is_some_and(|rest| rest.starts_with(':')))
}

impl Record {
    /// The record's severity (see crate::severity) and CVSS v3 base score, when it has them.
    pub fn rating(&self) -> (Option<crate::severity::Severity>, Option<f64>) {
        use crate::severity::{cvss3_base, Severity};
        let score = self
            .severity
            .iter()
            .filter(|s| s.kind == "CVSS_V3")
            .find_map(|s| cvss3_base(&s.score));
        let named = self
            .database_specific
            .as_ref()
            .and_then(|d| d.get("severity"))
            .and_then(|s| s.as_str())
            .and_then(Severity::parse)
            .filter(|s| *s != Severity::Unknown);
        (named.or(score.map(Severity::of_score)), score)
    }

    /// The summary, else the first line of the details, at most 120 characters.
    pub fn title(&self) -> Option<String> {
        let t = self
            .summary
            .as_deref()
            .or_else(|| self.details.as_deref().and_then(|d| d.lines().next()))?
            .trim();
        if t.is_empty() {
            return None;
        }
        Some(match t.char_indices().nth(120) {
            Some((i, _)) => format!("{}...", &t[..i]),
            None => t.to_string(),
        })
    }

    /// Does this record affect `name` at `version` in `ecosystem`?
    pub fn affects(&self, ecosystem: &str, name: &str, version: &str) -> Result<bool, MatchError> {
        if self.withdrawn.is_some() {
            return Ok(false);
        }
        let scheme =
            scheme_of(ecosystem).ok_or_else(|| MatchError::Ecosystem(ecosystem.to_string()))?;
        let verr = |source| MatchError::Version {
            record: self.id.clone(),
            source,
        };
        for a in &self.affected {
            let Some(p) = &a.package else { continue };
            if !same_ecosystem(&p.ecosystem, ecosystem) || !same_name(ecosystem, &p.name, name) {
                continue;
            }
            // An explicit list entry that does not parse (PYSEC-2022-288 lists joblib
            // "0.3.2d") can only be equal to the same string: the installed version is then
            // compared as text. The installed version itself must parse.
            for v in &a.versions {
                match scheme.compare(version, v) {
                    Ok(o) => {
                        if o == Ordering::Equal {
                            return Ok(true);
                        }
                    }
                    Err(e) => {
                        if scheme.compare(version, version).is_err() {
                            return Err(verr(e));
                        }
                        if v.trim() == version.trim() {
                            return Ok(true);
                        }
                    }
                }
            }
            for r in &a.ranges {
                let range_scheme = match r.kind.as_str() {
                    "ECOSYSTEM" => scheme,
                    "SEMVER" => Scheme::Semver,
                    _ => continue,
                };
                if in_range(range_scheme, version, &r.events).map_err(|e| match e {
                    RangeError::Version(v) => verr(v),
                    RangeError::Event => MatchError::Event {
                        record: self.id.clone(),
                    },
                })? {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// The `fixed` versions of the ranges that cover `name`, for reports ("fix: 2.2.0").
    pub fn fixed_versions(&self, ecosystem: &str, name: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .affected
            .iter()
            .filter(|a| {
                a.package.as_ref().is_some_and(|p| {
                    same_ecosystem(&p.ecosystem, ecosystem) && same_name(ecosystem, &p.name, name)
                })
            })
            .flat_map(|a| &a.ranges)
            .filter(|r| r.kind != "GIT")
            .flat_map(|r| &r.events)
            .filter_map(|e| e.fixed.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

enum RangeError {
    Version(VersionError),
    Event,
}

enum Kind<'a> {
    Introduced(&'a str),
    Fixed(&'a str),
    LastAffected(&'a str),
    Limit(&'a str),
}

fn kind(e: &Event) -> Result<Kind<'_>, RangeError> {
    match (&e.introduced, &e.fixed, &e.last_affected, &e.limit) {
        (Some(v), None, None, None) => Ok(Kind::Introduced(v)),
        (None, Some(v), None, None) => Ok(Kind::Fixed(v)),
        (None, None, Some(v), None) => Ok(Kind::LastAffected(v)),
        (None, None, None, Some(v)) => Ok(Kind::Limit(v)),
        _ => Err(RangeError::Event),
    }
}

/// The schema's `BeforeLimits` and the walk over sorted events.
fn in_range(scheme: Scheme, v: &str, events: &[Event]) -> Result<bool, RangeError> {
    let cmp = |a: &str, b: &str| scheme.compare(a, b).map_err(RangeError::Version);
    let kinds: Vec<Kind<'_>> = events.iter().map(kind).collect::<Result<_, _>>()?;
    let limits: Vec<&str> = kinds
        .iter()
        .filter_map(|k| match k {
            Kind::Limit(l) => Some(*l),
            _ => None,
        })
        .collect();
    if !limits.is_empty() {
        let mut before = false;
        for l in limits {
            if l.contains('*') || cmp(v, l)? == Ordering::Less {
                before = true;
                break;
            }
        }
        if !before {
            return Ok(false);
        }
    }
    // Sort by the event's version; introduced "0" before everything. Parse each once.
    let mut keyed: Vec<(Option<&str>, &Kind<'_>)> = Vec::new();
    for k in &kinds {
        let at = match k {
            Kind::Introduced("0") => None,
            Kind::Introduced(x) | Kind::Fixed(x) | Kind::LastAffected(x) => Some(*x),
            Kind::Limit(_) => continue,
        };
        if let Some(x) = at {
            // Fail loud on an unparseable bound before sorting swallows it.
            cmp(x, x)?;
        }
        keyed.push((at, k));
    }
    keyed.sort_by(|a, b| match (a.0, b.0) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => scheme.compare(x, y).unwrap_or(Ordering::Equal),
    });
    let mut vulnerable = false;
    for (at, k) in keyed {
        match (k, at) {
            (Kind::Introduced(_), None) => vulnerable = true,
            (Kind::Introduced(_), Some(x)) if cmp(v, x)? != Ordering::Less => vulnerable = true,
            (Kind::Fixed(_), Some(x)) if cmp(v, x)? != Ordering::Less => vulnerable = false,
            (Kind::LastAffected(_), Some(x)) if cmp(v, x)? == Ordering::Greater => {
                vulnerable = false
            }
            _ => {}
        }
    }
    Ok(vulnerable)
}
