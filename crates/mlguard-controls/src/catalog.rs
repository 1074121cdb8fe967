//! The control catalog: data (`data/catalog.yaml`), loaded once at start and validated.

use crate::model::{Clauses, Framework, Severity};
use mlguard_core::node::{Node, Pos};
use mlguard_core::yaml::{parse_stream, Limits};
use std::sync::OnceLock;

/// Whether this build checks a control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Checked by the built-in engine.
    Implemented,
    /// Specified in the catalog but not checked yet; reported as `not_evaluated`, never passed.
    Pending { lands_with: String },
    /// A user's CEL control, from the file named.
    Custom { source: String },
}

/// One control of the catalog.
#[derive(Debug, Clone)]
pub struct ControlDef {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// Severity when the namespace is regulated (pii, phi, pci), where CONTROLS.md raises it.
    pub regulated_severity: Option<Severity>,
    pub layer: String,
    pub looks_at: String,
    pub remediation: String,
    pub frameworks: Clauses,
    pub state: State,
}

impl ControlDef {
    pub fn severity_for(&self, regulated: bool) -> Severity {
        match (regulated, self.regulated_severity) {
            (true, Some(s)) => s,
            _ => self.severity,
        }
    }
}

/// The catalog: built-in controls plus any custom ones added for a scan.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub version: u32,
    pub controls: Vec<ControlDef>,
}

/// A catalog (or custom controls) file problem, with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{}:{}: {message}", pos.line, pos.column)]
pub struct CatalogError {
    pub file: String,
    pub pos: Pos,
    pub message: String,
}

impl CatalogError {
    pub fn at(file: &str, pos: Pos, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            pos,
            message: message.into(),
        }
    }
}

const BUILTIN: &str = include_str!("../data/catalog.yaml");

impl Catalog {
    /// The built-in catalog. Panics only if the embedded data file is invalid, which a unit
    /// test rules out.
    pub fn builtin() -> &'static Catalog {
        static CAT: OnceLock<Catalog> = OnceLock::new();
        CAT.get_or_init(|| {
            #[allow(clippy::expect_used)]
            Catalog::parse("catalog.yaml", BUILTIN).expect("embedded catalog is valid")
        })
    }

    pub fn get(&self, id: &str) -> Option<&ControlDef> {
        self.controls.iter().find(|c| c.id == id)
    }

    /// Controls giving evidence for a framework.
    pub fn for_framework(&self, fw: Framework) -> impl Iterator<Item = &ControlDef> {
        self.controls
            .iter()
            .filter(move |c| !c.frameworks.of(fw).is_empty())
    }

    pub fn parse(file: &str, text: &str) -> Result<Catalog, CatalogError> {
        let stream = parse_stream(text, Limits::default());
        let err = |pos: Pos, message: String| CatalogError::at(file, pos, message);
        if let Some(e) = stream.error {
            return Err(err(e.pos, e.message));
        }
        let root = stream
            .documents
            .into_iter()
            .next()
            .map(|d| d.root)
            .ok_or_else(|| err(Pos { line: 1, column: 1 }, "empty catalog".to_owned()))?;
        let version = root
            .get("version")
            .and_then(Node::as_i64)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| err(root.pos, "`version` must be a positive integer".to_owned()))?;
        let mut controls = Vec::new();
        for c in root.get("controls").map(Node::items).unwrap_or_default() {
            controls.push(parse_control(file, c, None)?);
        }
        Ok(Catalog { version, controls })
    }
}

pub(crate) fn req_str<'a>(file: &str, n: &'a Node, key: &str) -> Result<&'a str, CatalogError> {
    match n.get(key) {
        Some(v) => v.as_str().ok_or_else(|| CatalogError {
            file: file.to_owned(),
            pos: v.pos,
            message: format!("field `{key}`: expected a string, found {}", v.type_name()),
        }),
        None => Err(CatalogError {
            file: file.to_owned(),
            pos: n.pos,
            message: format!("missing field `{key}`"),
        }),
    }
}

pub(crate) fn parse_severity(
    file: &str,
    n: &Node,
    key: &str,
) -> Result<Option<Severity>, CatalogError> {
    let Some(v) = n.get(key) else { return Ok(None) };
    v.as_str()
        .and_then(Severity::parse)
        .map(Some)
        .ok_or_else(|| CatalogError {
            file: file.to_owned(),
            pos: v.pos,
            message: format!("field `{key}`: expected one of critical, high, medium, low"),
        })
}

pub(crate) fn parse_clauses(file: &str, n: Option<&Node>) -> Result<Clauses, CatalogError> {
    let mut out = Clauses::default();
    let Some(n) = n else { return Ok(out) };
    for e in n.entries() {
        let fw = Framework::parse(&e.key).ok_or_else(|| CatalogError {
            file: file.to_owned(),
            pos: e.key_pos,
            message: format!(
                "unknown framework `{}` (expected hipaa, soc2 or gdpr)",
                e.key
            ),
        })?;
        for c in e.value.items() {
            let s = c.scalar_text().ok_or_else(|| CatalogError {
                file: file.to_owned(),
                pos: c.pos,
                message: "clause must be a string".to_owned(),
            })?;
            out.of_mut(fw).push(s);
        }
    }
    Ok(out)
}

/// Parse one control entry. `custom` is the source file of a custom control (then `state` is
/// not read and extra keys are allowed by the caller).
pub(crate) fn parse_control(
    file: &str,
    c: &Node,
    custom: Option<&str>,
) -> Result<ControlDef, CatalogError> {
    const KNOWN: &[&str] = &[
        "id",
        "title",
        "severity",
        "regulatedSeverity",
        "layer",
        "looksAt",
        "remediation",
        "frameworks",
        "state",
        "landsWith",
    ];
    if custom.is_none() {
        if let Some(e) = c
            .entries()
            .iter()
            .find(|e| !KNOWN.contains(&e.key.as_str()))
        {
            return Err(CatalogError {
                file: file.to_owned(),
                pos: e.key_pos,
                message: format!("unknown field `{}`", e.key),
            });
        }
    }
    let severity = parse_severity(file, c, "severity")?.ok_or_else(|| CatalogError {
        file: file.to_owned(),
        pos: c.pos,
        message: "missing field `severity`".to_owned(),
    })?;
    let state = match custom {
        Some(src) => State::Custom {
            source: src.to_owned(),
        },
        None => match req_str(file, c, "state")? {
            "implemented" => State::Implemented,
            "pending" => State::Pending {
                lands_with: req_str(file, c, "landsWith")?.to_owned(),
            },
            other => {
                return Err(CatalogError {
                    file: file.to_owned(),
                    pos: c.get("state").map_or(c.pos, |n| n.pos),
                    message: format!("unknown state `{other}`"),
                })
            }
        },
    };
    Ok(ControlDef {
        id: req_str(file, c, "id")?.to_owned(),
        title: req_str(file, c, "title")?.to_owned(),
        severity,
        regulated_severity: parse_severity(file, c, "regulatedSeverity")?,
        layer: c
            .get("layer")
            .and_then(Node::as_str)
            .unwrap_or("custom")
            .to_owned(),
        looks_at: c
            .get("looksAt")
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_owned(),
        remediation: req_str(file, c, "remediation")?.to_owned(),
        frameworks: parse_clauses(file, c.get("frameworks"))?,
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The clause strings CONTROLS.md allows, exactly.
    const HIPAA: &[&str] = &[
        "164.308(a)(1)(ii)(D)",
        "164.308(a)(4)",
        "164.312(a)(1)",
        "164.312(a)(2)(iv)",
        "164.312(b)",
        "164.312(c)(1)",
        "164.312(d)",
        "164.312(e)(1)",
    ];
    const SOC2: &[&str] = &[
        "CC6.1", "CC6.3", "CC6.6", "CC6.7", "CC6.8", "CC7.1", "CC7.2", "CC8.1", "A1.1",
    ];
    const GDPR: &[&str] = &["Art.25", "Art.30", "Art.32", "Art.33"];

    #[test]
    fn builtin_catalog_matches_controls_md() {
        let cat = Catalog::builtin();
        assert_eq!(cat.version, 1);
        assert_eq!(cat.controls.len(), 39);
        let mut ids: Vec<_> = cat.controls.iter().map(|c| c.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 39, "IDs are unique");
        for c in &cat.controls {
            assert!(!c.frameworks.is_empty(), "{} maps to a clause", c.id);
            for h in &c.frameworks.hipaa {
                assert!(HIPAA.contains(&h.as_str()), "{}: {h}", c.id);
            }
            for s in &c.frameworks.soc2 {
                assert!(SOC2.contains(&s.as_str()), "{}: {s}", c.id);
            }
            for g in &c.frameworks.gdpr {
                assert!(GDPR.contains(&g.as_str()), "{}: {g}", c.id);
            }
        }
        let net2 = cat.get("MLG-NET-002").expect("NET-002");
        assert_eq!(net2.severity_for(true), Severity::Critical);
        assert_eq!(net2.severity_for(false), Severity::High);
    }

    /// When ../shared/CONTROLS.md is present, every row's ID, severity and clauses agree with
    /// the data file.
    #[test]
    fn catalog_agrees_with_the_spec_tables() {
        let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/CONTROLS.md");
        let Ok(text) = std::fs::read_to_string(spec) else {
            eprintln!("skipping: {spec} not present");
            return;
        };
        let cat = Catalog::builtin();
        let mut rows = 0;
        for line in text.lines().filter(|l| l.starts_with("| MLG-")) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let (id, sev, clauses) = (cells[1], cells[3], cells[5]);
            let c = cat
                .get(id)
                .unwrap_or_else(|| panic!("{id} missing from catalog"));
            assert!(
                sev.starts_with(c.severity.as_str()) || sev == "by advisory",
                "{id}: {sev}"
            );
            let mut want: Vec<String> = clauses.split(',').map(|s| s.trim().to_owned()).collect();
            want.sort();
            let mut have: Vec<String> = Framework::ALL
                .iter()
                .flat_map(|f| c.frameworks.of(*f).to_vec())
                .collect();
            have.sort();
            assert_eq!(have, want, "{id}");
            rows += 1;
        }
        assert_eq!(rows, 39);
    }
}
