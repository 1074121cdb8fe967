//! The human-readable table: input errors, findings grouped by severity and control, excepted
//! findings, then a summary with control and framework counts (and, for one framework, its
//! clause coverage).

use crate::view::{fw_label, View};
use crate::RenderOptions;
use mlguard_controls::{
    Catalog, ClauseCounts, Finding, FindingStatus, Framework, InputProblem, Report, Severity,
};
use std::borrow::Cow;
use std::io::{self, Write};

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";

struct Painter {
    color: bool,
}

impl Painter {
    fn paint<'s>(&self, style: &str, s: &'s str) -> Cow<'s, str> {
        if self.color && !s.is_empty() {
            Cow::Owned(format!("{style}{s}{RESET}"))
        } else {
            Cow::Borrowed(s)
        }
    }

    fn severity(&self, s: Severity) -> Cow<'static, str> {
        let word = match s {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
        };
        let style = match s {
            Severity::Critical => "\x1b[1;97;41m",
            Severity::High => "\x1b[1;31m",
            Severity::Medium => "\x1b[33m",
            Severity::Low => "\x1b[36m",
        };
        self.paint(style, word)
    }
}

/// Text from the inputs can hold terminal control sequences: show them escaped, never raw.
/// Tabs and newlines are kept (newlines are re-indented by the caller).
fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if c.is_control() && c != '\n' && c != '\t' {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// Write `text` with every line indented by `indent`.
fn write_indented(out: &mut dyn Write, indent: &str, text: &str) -> io::Result<()> {
    for line in clean(text).lines() {
        writeln!(out, "{indent}{line}")?;
    }
    Ok(())
}

fn location(f: &Finding) -> String {
    let l = &f.location;
    match (l.line, l.column) {
        (0, _) => l.file.clone(),
        (line, 0) => format!("{}:{line}", l.file),
        (line, col) => format!("{}:{line}:{col}", l.file),
    }
}

/// `file:line:col: field `x`: message`, leaving out what is unknown.
pub(crate) fn problem_line(p: &InputProblem) -> String {
    let mut s = p.file.clone();
    if let Some(line) = p.line {
        s.push_str(&format!(":{line}"));
        if let Some(col) = p.column {
            s.push_str(&format!(":{col}"));
        }
    }
    s.push_str(": ");
    if let Some(field) = &p.field {
        s.push_str(&format!("field `{field}`: "));
    }
    s.push_str(&p.message);
    s
}

fn counts_text(c: &ClauseCounts) -> String {
    format!(
        "{} passed, {} failed, {} excepted, {} not evaluated",
        c.passed, c.failed, c.excepted, c.not_evaluated
    )
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub(crate) fn render(
    report: &Report,
    catalog: &Catalog,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let view = View::new(report, catalog, opts.framework);
    let p = Painter { color: opts.color };

    if !report.errors.is_empty() {
        writeln!(
            out,
            "{} ({}):",
            p.paint(BOLD, "Input errors"),
            report.errors.len()
        )?;
        for e in &report.errors {
            write_indented(out, "  ", &problem_line(e))?;
        }
        writeln!(out)?;
    }

    if let Some(fw) = opts.framework {
        writeln!(
            out,
            "Findings of controls that give evidence for {}",
            fw.title()
        )?;
        writeln!(out)?;
    }

    // Failed findings, grouped by (severity, control) in view order.
    let failed: Vec<&Finding> = view
        .findings
        .iter()
        .copied()
        .filter(|f| f.status == FindingStatus::Failed)
        .collect();
    let mut group: Option<(Severity, &str)> = None;
    for f in &failed {
        if group != Some((f.severity, f.control.as_str())) {
            if group.is_some() {
                writeln!(out)?;
            }
            group = Some((f.severity, f.control.as_str()));
            writeln!(
                out,
                "{} {} {}",
                p.severity(f.severity),
                p.paint(BOLD, &f.control),
                clean(&f.title)
            )?;
            if opts.verbose {
                for (i, line) in clean(&f.remediation).lines().enumerate() {
                    let label = if i == 0 { "fix:" } else { "    " };
                    writeln!(out, "  {label} {line}")?;
                }
            }
        }
        writeln!(
            out,
            "  {}  {}  {}",
            p.paint(DIM, &clean(&location(f))),
            clean(&f.resource.to_string()),
            clean(&f.location.path)
        )?;
        write_indented(out, "    ", &f.message)?;
        if let Some(x) = f.exception.as_ref().filter(|x| x.expired) {
            let until = x.expires.as_deref().unwrap_or("?");
            write_indented(
                out,
                "    ",
                &format!("exception expired {until} ({}): {}", x.source, x.reason),
            )?;
        }
    }
    if failed.is_empty() {
        writeln!(out, "{}", p.paint(GREEN, "No failed findings."))?;
    }

    // Excepted findings: listed with their reasons when verbose, counted otherwise.
    let excepted: Vec<&Finding> = view
        .findings
        .iter()
        .copied()
        .filter(|f| f.status == FindingStatus::Excepted)
        .collect();
    if !excepted.is_empty() {
        writeln!(out)?;
        if opts.verbose {
            writeln!(out, "{} ({}):", p.paint(YELLOW, "Excepted"), excepted.len())?;
            for f in &excepted {
                writeln!(
                    out,
                    "  {} {}  {}  {}  {}",
                    p.severity(f.severity),
                    f.control,
                    p.paint(DIM, &clean(&location(f))),
                    clean(&f.resource.to_string()),
                    clean(&f.location.path)
                )?;
                write_indented(out, "    ", &f.message)?;
                if let Some(x) = &f.exception {
                    let expires = x
                        .expires
                        .as_deref()
                        .map(|d| format!(", expires {d}"))
                        .unwrap_or_default();
                    write_indented(
                        out,
                        "    ",
                        &format!("excepted ({}{expires}): {}", x.source, x.reason),
                    )?;
                }
            }
        } else {
            writeln!(
                out,
                "{} not shown (verbose output lists them with their reasons).",
                plural(excepted.len(), "excepted finding", "excepted findings")
            )?;
        }
    }

    // Summary.
    writeln!(out)?;
    writeln!(out, "{}", p.paint(BOLD, "Summary"))?;
    let mut by_sev = [0usize; 4];
    for f in &failed {
        by_sev[f.severity as usize] += 1;
    }
    writeln!(
        out,
        "  Findings: {} failed ({} critical, {} high, {} medium, {} low), {} excepted",
        failed.len(),
        by_sev[Severity::Critical as usize],
        by_sev[Severity::High as usize],
        by_sev[Severity::Medium as usize],
        by_sev[Severity::Low as usize],
        excepted.len()
    )?;
    let mut statuses = ClauseCounts::default();
    for c in &view.controls {
        crate::view::add_status(&mut statuses, c.status);
    }
    let status_text = counts_text(&statuses);
    let status_text = if statuses.failed > 0 {
        p.paint(RED, &status_text).into_owned()
    } else {
        status_text
    };
    writeln!(
        out,
        "  Controls: {status_text} ({} total)",
        view.controls.len()
    )?;
    let fws: Vec<Framework> = match opts.framework {
        Some(fw) => vec![fw],
        None => Framework::ALL.to_vec(),
    };
    for fw in &fws {
        let clauses = view.clause_rows(*fw).len();
        let (n, counts) = view.framework_controls(*fw);
        writeln!(
            out,
            "  {}: {}, evidence from {}: {}",
            fw_label(*fw),
            plural(clauses, "clause", "clauses"),
            plural(n, "control", "controls"),
            counts_text(&counts)
        )?;
    }
    if !report.errors.is_empty() {
        writeln!(
            out,
            "  {}",
            p.paint(
                RED,
                &format!(
                    "{} (listed above)",
                    plural(report.errors.len(), "input error", "input errors")
                )
            )
        )?;
    }
    if !report.notes.is_empty() {
        if opts.verbose {
            writeln!(out, "  Notes:")?;
            for n in &report.notes {
                write_indented(out, "    ", &problem_line(n))?;
            }
        } else {
            writeln!(
                out,
                "  {} (verbose output lists them)",
                plural(report.notes.len(), "note", "notes")
            )?;
        }
    }

    if let Some(fw) = opts.framework {
        writeln!(out)?;
        clause_table(&view, fw, &p, out)?;
    }
    Ok(())
}

/// Clause coverage of one framework: per clause, the controls giving evidence for it and the
/// counts of those controls by status.
fn clause_table(
    view: &View<'_>,
    fw: Framework,
    p: &Painter,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(
        out,
        "{}",
        p.paint(
            BOLD,
            &format!("{} clause coverage (counts of controls)", fw.title())
        )
    )?;
    let rows = view.clause_rows(fw);
    let header = [
        "CLAUSE",
        "CONTROLS",
        "PASSED",
        "FAILED",
        "EXCEPTED",
        "NOT EVALUATED",
        "EVIDENCE FROM",
    ];
    let mut table: Vec<[String; 7]> = vec![header.map(str::to_owned)];
    for (clause, (c, ids)) in &rows {
        table.push([
            clause.clone(),
            ids.len().to_string(),
            c.passed.to_string(),
            c.failed.to_string(),
            c.excepted.to_string(),
            c.not_evaluated.to_string(),
            if ids.is_empty() {
                "(no control of this scan)".to_owned()
            } else {
                ids.join(", ")
            },
        ]);
    }
    let mut width = [0usize; 7];
    for row in &table {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for (i, row) in table.iter().enumerate() {
        let mut line = String::from(" ");
        for (j, cell) in row.iter().enumerate() {
            line.push(' ');
            if j == 0 {
                line.push_str(&format!("{cell:<w$}", w = width[j]));
            } else if j == 6 {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:>w$}", w = width[j]));
            }
            line.push(' ');
        }
        let line = line.trim_end();
        if i == 0 {
            writeln!(out, "{}", p.paint(DIM, line))?;
        } else {
            writeln!(out, "{line}")?;
        }
    }
    if rows.is_empty() {
        writeln!(out, "  (no controls of this scan map to {})", fw_label(fw))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::testdata::{render_to_string, sample_report};
    use crate::{Format, RenderOptions};
    use mlguard_controls::Framework;

    #[test]
    fn table_groups_by_severity_and_counts() {
        let r = sample_report();
        let text = render_to_string(&r, Format::Table, &RenderOptions::default());
        assert!(!text.contains('\x1b'), "no colour unless asked:\n{text}");
        let crit = text.find("CRITICAL MLG-RBAC-005 Binding to").unwrap();
        let high = text.find("HIGH MLG-ENC-002 Model artifacts").unwrap();
        assert!(crit < high);
        // One header per control, both findings under it.
        assert_eq!(text.matches("HIGH MLG-ENC-002").count(), 1);
        assert!(text.contains(
            "  manifests/team a/isvc.yaml:9:21  InferenceService/team-a/llm  spec.predictor.model.storageUri\n    storageUri `http://models.internal/llm` is plaintext\n"
        ));
        assert!(text.contains(
            "Input errors (1):\n  manifests/bad.yaml:3:7: field `spec.replicas`: expected an integer, found a string\n"
        ));
        // The excepted finding is counted, not listed, without verbose.
        assert!(text.contains("1 excepted finding not shown"));
        assert!(!text.contains("ML-142"));
        assert!(
            text.contains("Findings: 3 failed (1 critical, 2 high, 0 medium, 0 low), 1 excepted")
        );
        assert!(
            text.contains("Controls: 2 passed, 2 failed, 1 excepted, 1 not evaluated (6 total)")
        );
        assert!(text.contains("  HIPAA: 7 clauses, evidence from 4 controls: 1 passed, 2 failed, 0 excepted, 1 not evaluated\n"));
        assert!(text.contains("  SOC2: "));
        assert!(text.contains("  GDPR: "));
        // A terminal escape in a message is shown escaped, never raw.
        assert!(text.contains("\\u{1b}[31m"));
        insta::assert_snapshot!("table", text);
    }

    #[test]
    fn table_verbose_lists_exceptions_and_notes() {
        let r = sample_report();
        let opts = RenderOptions {
            verbose: true,
            ..RenderOptions::default()
        };
        let text = render_to_string(&r, Format::Table, &opts);
        assert!(text.contains("Excepted (1):"));
        assert!(text.contains(
            "excepted (annotation, expires 2026-12-31): base image needs root until ML-142 lands"
        ));
        assert!(text.contains("fix: Use `https://` for model storage."));
        assert!(text.contains("manifests/README.md: not YAML or JSON; skipped"));
        insta::assert_snapshot!("table_verbose", text);
    }

    #[test]
    fn table_colour_only_when_asked() {
        let r = sample_report();
        let opts = RenderOptions {
            color: true,
            ..RenderOptions::default()
        };
        let text = render_to_string(&r, Format::Table, &opts);
        assert!(text.contains("\x1b[1;31mHIGH\x1b[0m"));
        // Only our own escapes: the one inside the message stays escaped.
        assert!(!text.contains("\x1b[31m\n"));
    }

    #[test]
    fn table_framework_view_has_clause_coverage() {
        let r = sample_report();
        let opts = RenderOptions {
            framework: Some(Framework::Hipaa),
            ..RenderOptions::default()
        };
        let text = render_to_string(&r, Format::Table, &opts);
        assert!(!text.contains("MLG-POD-004"), "SOC 2 only:\n{text}");
        assert!(!text.contains("excepted finding not shown"));
        assert!(!text.contains("SOC2:"));
        assert!(text.contains("HIPAA Security Rule clause coverage"));
        assert!(
            text.contains("Controls: 1 passed, 2 failed, 0 excepted, 1 not evaluated (4 total)")
        );
        let row = text
            .lines()
            .find(|l| l.trim_start().starts_with("164.312(e)(1)"))
            .unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            cells,
            [
                "164.312(e)(1)",
                "3",
                "1",
                "1",
                "0",
                "1",
                "MLG-ENC-002,",
                "MLG-NET-001,",
                "MLG-NET-002"
            ]
        );
        insta::assert_snapshot!("table_hipaa", text);
    }
}
