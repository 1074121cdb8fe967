//! What every renderer needs from a report: findings and controls filtered to a framework and
//! sorted deterministically, and the clauses of each control.

use mlguard_controls::{
    Catalog, ClauseCounts, Clauses, ControlDef, ControlStatus, ControlSummary, Finding,
    FindingStatus, Framework, Report, Severity,
};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

/// Short label of a framework, as used in tags and summary lines.
pub(crate) fn fw_label(fw: Framework) -> &'static str {
    match fw {
        Framework::Hipaa => "HIPAA",
        Framework::Soc2 => "SOC2",
        Framework::Gdpr => "GDPR",
    }
}

/// `HIPAA 164.312(a)(1)`, `SOC2 CC6.6`, `GDPR Art.32`, in framework order.
pub(crate) fn clause_tags(c: &Clauses) -> Vec<String> {
    Framework::ALL
        .iter()
        .flat_map(|fw| {
            c.of(*fw)
                .iter()
                .map(move |clause| format!("{} {clause}", fw_label(*fw)))
        })
        .collect()
}

/// A report seen through the render options: findings sorted (severity, highest first; control;
/// failed before excepted; location; resource; message) and controls sorted by ID, both
/// restricted to the framework when one is given.
#[derive(Debug)]
pub(crate) struct View<'a> {
    pub report: &'a Report,
    pub catalog: &'a Catalog,
    pub findings: Vec<&'a Finding>,
    pub controls: Vec<&'a ControlSummary>,
}

impl<'a> View<'a> {
    pub fn new(report: &'a Report, catalog: &'a Catalog, framework: Option<Framework>) -> Self {
        let mut view = View {
            report,
            catalog,
            findings: Vec::new(),
            controls: Vec::new(),
        };
        let mut findings: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| framework.is_none_or(|fw| !f.frameworks.of(fw).is_empty()))
            .collect();
        findings.sort_by(|a, b| finding_key(a).cmp(&finding_key(b)));
        let mut controls: Vec<&ControlSummary> = report
            .summary
            .controls
            .iter()
            .filter(|c| framework.is_none_or(|fw| !view.clauses(&c.id).of(fw).is_empty()))
            .collect();
        controls.sort_by(|a, b| a.id.cmp(&b.id));
        view.findings = findings;
        view.controls = controls;
        view
    }

    pub fn def(&self, id: &str) -> Option<&'a ControlDef> {
        self.catalog.get(id)
    }

    /// Clauses of a control: the catalog's, else those its findings carry.
    pub fn clauses(&self, id: &str) -> Clauses {
        if let Some(d) = self.catalog.get(id) {
            return d.frameworks.clone();
        }
        self.report
            .findings
            .iter()
            .find(|f| f.control == id)
            .map(|f| f.frameworks.clone())
            .unwrap_or_default()
    }

    /// Title of a control: the catalog's, else its findings', else the ID.
    pub fn title(&self, id: &str) -> String {
        self.catalog
            .get(id)
            .map(|d| d.title.clone())
            .or_else(|| {
                self.report
                    .findings
                    .iter()
                    .find(|f| f.control == id)
                    .map(|f| f.title.clone())
            })
            .unwrap_or_else(|| id.to_owned())
    }

    /// Layer of a control (`custom` when the catalog does not know it).
    pub fn layer(&self, id: &str) -> String {
        self.catalog
            .get(id)
            .map_or_else(|| "custom".to_owned(), |d| d.layer.clone())
    }

    /// Findings of the view for one control, in view order.
    pub fn findings_of<'s>(&'s self, id: &'s str) -> impl Iterator<Item = &'a Finding> + 's {
        self.findings
            .iter()
            .copied()
            .filter(move |f| f.control == id)
    }

    /// IDs of every control in the view: the summary's plus any that only appear in findings.
    pub fn control_ids(&self) -> Vec<String> {
        let mut ids: BTreeSet<String> = self.controls.iter().map(|c| c.id.clone()).collect();
        ids.extend(self.findings.iter().map(|f| f.control.clone()));
        ids.into_iter().collect()
    }

    pub fn summary_of(&self, id: &str) -> Option<&'a ControlSummary> {
        self.controls.iter().copied().find(|c| c.id == id)
    }

    /// Clause rows of one framework: every clause the catalog maps a control to (so a clause
    /// without evidence in this scan shows as a row of zeros), with the report's per-clause
    /// counts, plus clauses only the summary's controls name (counted from their statuses);
    /// each with the controls of the summary that give evidence for it.
    pub fn clause_rows(&self, fw: Framework) -> BTreeMap<String, (ClauseCounts, Vec<String>)> {
        let mut rows: BTreeMap<String, (ClauseCounts, Vec<String>)> = BTreeMap::new();
        for d in self.catalog.for_framework(fw) {
            for clause in d.frameworks.of(fw) {
                rows.entry(clause.clone()).or_default();
            }
        }
        let reported = self.report.summary.frameworks.get(&fw);
        if let Some(m) = reported {
            for (clause, counts) in m {
                rows.insert(clause.clone(), (*counts, Vec::new()));
            }
        }
        for c in &self.report.summary.controls {
            for clause in self.clauses(&c.id).of(fw) {
                let row = rows.entry(clause.clone()).or_default();
                row.1.push(c.id.clone());
                if !reported.is_some_and(|m| m.contains_key(clause)) {
                    add_status(&mut row.0, c.status);
                }
            }
        }
        for row in rows.values_mut() {
            row.1.sort();
            row.1.dedup();
        }
        rows
    }

    /// Distinct controls of the summary mapped to `fw`, counted by status.
    pub fn framework_controls(&self, fw: Framework) -> (usize, ClauseCounts) {
        let mut n = 0;
        let mut counts = ClauseCounts::default();
        for c in &self.report.summary.controls {
            if !self.clauses(&c.id).of(fw).is_empty() {
                n += 1;
                add_status(&mut counts, c.status);
            }
        }
        (n, counts)
    }
}

pub(crate) fn add_status(c: &mut ClauseCounts, s: ControlStatus) {
    match s {
        ControlStatus::Passed => c.passed += 1,
        ControlStatus::Failed => c.failed += 1,
        ControlStatus::Excepted => c.excepted += 1,
        ControlStatus::NotEvaluated => c.not_evaluated += 1,
    }
}

type FindingKey<'a> = (
    Reverse<Severity>,
    &'a str,
    u8,
    &'a str,
    u32,
    u32,
    &'a str,
    &'a mlguard_controls::ResourceRef,
    &'a str,
);

fn finding_key(f: &Finding) -> FindingKey<'_> {
    (
        Reverse(f.severity),
        &f.control,
        match f.status {
            FindingStatus::Failed => 0,
            FindingStatus::Excepted => 1,
        },
        &f.location.file,
        f.location.line,
        f.location.column,
        &f.location.path,
        &f.resource,
        &f.message,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::sample_report;

    #[test]
    fn findings_sorted_by_severity_then_control_then_location() {
        let r = sample_report();
        let v = View::new(&r, Catalog::builtin(), None);
        let order: Vec<(&str, &str)> = v
            .findings
            .iter()
            .map(|f| (f.control.as_str(), f.location.file.as_str()))
            .collect();
        assert_eq!(
            order,
            vec![
                ("MLG-RBAC-005", "manifests/rbac.yaml"),
                ("MLG-ENC-002", "manifests/team a/isvc.yaml"),
                ("MLG-ENC-002", "manifests\\team-b\\isvc.yaml"),
                ("MLG-POD-004", "manifests/team-b/train.yaml"),
            ]
        );
    }

    #[test]
    fn clause_rows_count_controls_and_list_them() {
        let r = sample_report();
        let v = View::new(&r, Catalog::builtin(), Some(Framework::Hipaa));
        let rows = v.clause_rows(Framework::Hipaa);
        let (counts, ids) = &rows["164.312(e)(1)"];
        assert_eq!(ids, &["MLG-ENC-002", "MLG-NET-001", "MLG-NET-002"]);
        assert_eq!(
            (counts.passed, counts.failed, counts.not_evaluated),
            (1, 1, 1)
        );
        let (n, c) = v.framework_controls(Framework::Hipaa);
        assert_eq!(n, 4);
        assert_eq!(
            (c.passed, c.failed, c.excepted, c.not_evaluated),
            (1, 2, 0, 1)
        );
        // POD-004 and DATA-001 give no HIPAA evidence.
        assert!(v
            .controls
            .iter()
            .all(|c| c.id != "MLG-POD-004" && c.id != "MLG-DATA-001"));
    }
}
