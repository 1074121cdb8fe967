//! The HTML evidence report (docs/report.md): one self-contained page (inline CSS and SVG, no
//! scripts, fonts or external resources) an auditor reads or prints to PDF.
//!
//! Every string that comes from input is escaped ([`E`]). Large inputs are aggregated: counts
//! per control and clause, and at most [`HtmlExtras::evidence_per_clause`] evidence objects per
//! clause (and as many findings in the other lists) followed by "and K more", so the page stays
//! small whatever the number of findings. A control that was not evaluated is shown as such,
//! never as passed.

mod svg;

use crate::view::{fw_label, View};
use crate::RenderOptions;
use mlguard_controls::{
    Catalog, ControlStatus, Finding, FindingStatus, Framework, Report, Severity,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::{self, Write as _};
use std::io;

/// `write!` into a `String`, which cannot fail.
macro_rules! w {
    ($s:expr, $($arg:tt)*) => {{
        let _ = write!($s, $($arg)*);
    }};
}
pub(crate) use w;

/// Displays a string HTML-escaped (for text and attribute values alike).
pub(crate) struct E<'a>(pub &'a str);

impl fmt::Display for E<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut start = 0;
        for (i, c) in self.0.char_indices() {
            let rep = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                // Control characters (an ANSI escape in a message) would make the page
                // invalid; show them as the replacement character.
                c if c.is_control() && c != '\n' && c != '\t' => "\u{FFFD}",
                _ => continue,
            };
            f.write_str(&self.0[start..i])?;
            f.write_str(rep)?;
            start = i + c.len_utf8();
        }
        f.write_str(&self.0[start..])
    }
}

/// What the HTML report draws besides the findings report itself.
#[derive(Debug, Clone)]
pub struct HtmlExtras<'a> {
    /// An earlier report: the page adds what changed since (new and resolved findings,
    /// controls whose status changed).
    pub previous: Option<&'a Report>,
    /// Image scan results (`mlguard.image-scan/v1`), each with the file it was read from.
    pub image_scans: &'a [(String, Value)],
    /// Model scan results (`mlguard-model-scan`), each with the file it was read from.
    pub model_scans: &'a [(String, Value)],
    /// The most evidence objects listed per clause (and findings per list); the rest are
    /// counted.
    pub evidence_per_clause: usize,
}

impl Default for HtmlExtras<'_> {
    fn default() -> Self {
        HtmlExtras {
            previous: None,
            image_scans: &[],
            model_scans: &[],
            evidence_per_clause: 50,
        }
    }
}

/// Render the HTML report of `report` to `out`. `opts.framework` keeps only that framework's
/// section and the findings mapped to it.
pub fn render_html(
    report: &Report,
    catalog: &Catalog,
    opts: &RenderOptions,
    extras: &HtmlExtras<'_>,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let page = page(report, catalog, opts, extras);
    out.write_all(page.as_bytes())
}

const CSS: &str = r#"
:root{--fail:#c62828;--exc:#ef8f00;--pass:#2e7d32;--ne:#6d6d6d;--crit:#7b1fa2;--high:#c62828;--med:#ef8f00;--low:#1565c0;--line:#d0d4d9}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;font-size:14px;line-height:1.4;color:#1d1f21;margin:0 auto;max-width:1200px;padding:16px 24px}
h1{font-size:24px;margin:8px 0}h2{font-size:19px;border-bottom:2px solid #1d1f21;padding-bottom:4px;margin-top:32px}h3{font-size:16px;margin-top:20px}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{border:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}th{background:#eef1f4}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
nav ul{columns:3;list-style:none;padding:0}nav a{text-decoration:none}
.badge{display:inline-block;border-radius:3px;padding:0 5px;font-size:12px;font-weight:600;color:#fff;white-space:nowrap}
.st-passed{background:var(--pass)}.st-failed{background:var(--fail)}.st-excepted{background:var(--exc)}.st-not_evaluated,.st-partial,.st-no_evidence{background:var(--ne)}
.sev-critical{background:var(--crit)}.sev-high{background:var(--high)}.sev-medium{background:var(--med)}.sev-low{background:var(--low)}.sev-unknown{background:var(--ne)}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}.card{border:1px solid var(--line);border-radius:4px;padding:6px 12px;min-width:120px}.card b{display:block;font-size:20px}
.note{color:#444;font-style:italic}.ctl{white-space:nowrap}.more{color:#444;font-style:italic;list-style:none}
ul.evidence{margin:0;padding-left:16px}ul.evidence li{margin:2px 0}
svg text{font-size:12px;fill:#1d1f21}
rect.failed{fill:var(--fail)}rect.excepted{fill:var(--exc)}rect.passed{fill:var(--pass)}rect.not_evaluated{fill:var(--ne)}rect.new{fill:var(--fail)}rect.resolved{fill:var(--pass)}rect.gpu{fill:#1565c0}
rect.critical{fill:var(--crit)}rect.high{fill:var(--high)}rect.medium{fill:var(--med)}rect.low{fill:var(--low)}
.graph line.edge{stroke:#555;stroke-width:1.2}.graph .arrowhead{fill:#555}.graph circle{fill:#90a4ae}.graph .own circle{fill:#1565c0}
.met-yes{background:#e8f5e9}.met-no{background:#ffebee}
footer{margin-top:32px;color:#555;font-size:12px}
@media print{
 body{max-width:none;padding:0;font-size:11px}
 nav{display:none}
 h2{break-after:avoid}h3{break-after:avoid}
 section{break-before:auto}
 tr,li,svg{break-inside:avoid}
 thead{display:table-header-group}
 .badge{border:1px solid #000;-webkit-print-color-adjust:exact;print-color-adjust:exact}
 svg{-webkit-print-color-adjust:exact;print-color-adjust:exact;max-width:100%;height:auto}
 a{color:inherit;text-decoration:none}
}
"#;

fn status_badge(s: &mut String, st: ControlStatus) {
    let label = match st {
        ControlStatus::NotEvaluated => "not evaluated",
        other => other.as_str(),
    };
    w!(
        s,
        "<span class=\"badge st-{}\">{}</span>",
        st.as_str(),
        label
    );
}

fn sev_badge(s: &mut String, sev: &str) {
    w!(s, "<span class=\"badge sev-{}\">{}</span>", E(sev), E(sev));
}

/// `file:line` of a finding (`file` alone when the line is unknown).
fn file_line(f: &Finding) -> String {
    if f.location.line > 0 {
        format!("{}:{}", f.location.file, f.location.line)
    } else {
        f.location.file.clone()
    }
}

fn resource_name(f: &Finding) -> String {
    match &f.resource.namespace {
        Some(ns) => format!("{} {}/{}", f.resource.kind, ns, f.resource.name),
        None => format!("{} {}", f.resource.kind, f.resource.name),
    }
}

/// One evidence `<li>`: severity, file:line, object, message, exception.
fn evidence_item(s: &mut String, f: &Finding, with_control: bool) {
    w!(
        s,
        "<li class=\"finding\" data-control=\"{}\" data-status=\"{}\">",
        E(&f.control),
        match f.status {
            FindingStatus::Failed => "failed",
            FindingStatus::Excepted => "excepted",
        }
    );
    sev_badge(s, f.severity.as_str());
    if f.status == FindingStatus::Excepted {
        s.push_str(" <span class=\"badge st-excepted\">excepted</span>");
    }
    if with_control {
        w!(s, " <b>{}</b>", E(&f.control));
    }
    w!(
        s,
        " <code>{}</code> {}: {}",
        E(&file_line(f)),
        E(&resource_name(f)),
        E(&f.message)
    );
    if let Some(x) = &f.exception {
        w!(s, " <span class=\"note\">(exception: {}", E(&x.reason));
        if let Some(e) = &x.expires {
            w!(s, ", expires {}", E(e));
        }
        if x.expired {
            s.push_str(", expired");
        }
        w!(s, "; {})</span>", E(&x.source));
    }
    s.push_str("</li>");
}

fn more_item(s: &mut String, shown: usize, total: usize) {
    if total > shown {
        w!(
            s,
            "<li class=\"more\" data-more=\"{}\">and {} more (all are in the findings JSON)</li>",
            total - shown,
            total - shown
        );
    }
}

fn card(s: &mut String, label: &str, value: usize, key: &str) {
    w!(
        s,
        "<div class=\"card\" data-{}=\"{value}\"><b>{value}</b>{}</div>",
        E(key),
        E(label)
    );
}

fn page(
    report: &Report,
    catalog: &Catalog,
    opts: &RenderOptions,
    extras: &HtmlExtras<'_>,
) -> String {
    let view = View::new(report, catalog, opts.framework);
    let frameworks: Vec<Framework> = match opts.framework {
        Some(f) => vec![f],
        None => Framework::ALL.to_vec(),
    };
    let cap = extras.evidence_per_clause.max(1);
    let mut s = String::with_capacity(256 * 1024);
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    // No scripts, no external resources, nothing inline executes.
    s.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">");
    w!(
        s,
        "<title>mlguard compliance evidence report</title><style>{CSS}</style></head><body>"
    );
    let failed = view
        .findings
        .iter()
        .filter(|f| f.status == FindingStatus::Failed)
        .count();
    let excepted = view.findings.len() - failed;
    w!(
        s,
        "<header id=\"report\" data-tool-version=\"{}\"><h1>mlguard compliance evidence report</h1><p>Produced by {} {} from {} input files{}. Findings are <em>evidence for</em> framework clauses; neither a passed control nor a clause without failures is a statement of compliance. A control that did not run is shown as <span class=\"badge st-not_evaluated\">not evaluated</span>, never as passed.</p></header>",
        E(&report.tool.version),
        E(&report.tool.name),
        E(&report.tool.version),
        report.inputs.len(),
        match opts.framework {
            Some(fw) => format!(", filtered to {}", fw.title()),
            None => String::new(),
        }
    );

    // Table of contents.
    s.push_str("<nav><h2>Contents</h2><ul><li><a href=\"#summary\">Summary</a></li>");
    if extras.previous.is_some() {
        s.push_str("<li><a href=\"#changes\">Changes since the previous scan</a></li>");
    }
    for fw in &frameworks {
        w!(
            s,
            "<li><a href=\"#framework-{}\">{}</a></li>",
            fw.as_str(),
            E(fw.title())
        );
    }
    s.push_str(
        "<li><a href=\"#controls\">Controls</a></li><li><a href=\"#findings\">Findings</a></li>",
    );
    for (key, id, label) in [
        ("connectivity", "network", "Network view"),
        ("quotas", "tenants", "Tenants and GPU quotas"),
        ("auditCoverage", "audit-coverage", "Audit coverage"),
    ] {
        if report.context.contains_key(key) {
            w!(s, "<li><a href=\"#{id}\">{label}</a></li>");
        }
    }
    if !extras.image_scans.is_empty() {
        s.push_str("<li><a href=\"#image-scans\">Image scans</a></li>");
    }
    if !extras.model_scans.is_empty() {
        s.push_str("<li><a href=\"#model-scans\">Model scans</a></li>");
    }
    s.push_str("<li><a href=\"#inputs\">Inputs</a></li></ul></nav>");

    summary_section(&mut s, &view, failed, excepted);
    if let Some(prev) = extras.previous {
        changes_section(&mut s, &view, prev, opts.framework, cap);
    }
    for fw in &frameworks {
        framework_section(&mut s, &view, *fw, cap);
    }
    controls_section(&mut s, &view);
    findings_section(&mut s, &view, cap);
    if let Some(v) = report.context.get("connectivity") {
        network_section(&mut s, v);
    }
    if let Some(v) = report.context.get("quotas") {
        tenants_section(&mut s, v);
    }
    if let Some(v) = report.context.get("auditCoverage") {
        audit_section(&mut s, v);
    }
    if !extras.image_scans.is_empty() {
        image_section(&mut s, extras.image_scans, cap);
    }
    if !extras.model_scans.is_empty() {
        model_section(&mut s, extras.model_scans, cap);
    }
    inputs_section(&mut s, report, cap);
    w!(
        s,
        "<footer>mlguard {} &middot; {} findings ({} failed, {} excepted) &middot; {} controls</footer></body></html>\n",
        E(&report.tool.version),
        view.findings.len(),
        failed,
        excepted,
        view.controls.len()
    );
    s
}

fn summary_section(s: &mut String, view: &View<'_>, failed: usize, excepted: usize) {
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &view.controls {
        *by_status.entry(c.status.as_str()).or_default() += 1;
    }
    let count = |k: &str| by_status.get(k).copied().unwrap_or(0);
    w!(
        s,
        "<section id=\"summary\" data-findings=\"{}\" data-failed=\"{failed}\" data-excepted=\"{excepted}\" data-controls=\"{}\" data-controls-failed=\"{}\" data-controls-passed=\"{}\" data-controls-excepted=\"{}\" data-controls-not-evaluated=\"{}\"><h2>Summary</h2><div class=\"cards\">",
        view.findings.len(),
        view.controls.len(),
        count("failed"),
        count("passed"),
        count("excepted"),
        count("not_evaluated"),
    );
    card(s, "findings open", failed, "open");
    card(s, "findings excepted", excepted, "excepted");
    card(s, "controls failed", count("failed"), "cfailed");
    card(s, "controls excepted", count("excepted"), "cexcepted");
    card(s, "controls passed", count("passed"), "cpassed");
    card(s, "controls not evaluated", count("not_evaluated"), "cne");
    card(s, "input errors", view.report.errors.len(), "errors");
    s.push_str("</div>");
    if !view.report.errors.is_empty() {
        s.push_str("<p class=\"note\">Some inputs could not be read or understood (see Inputs): the evidence is incomplete.</p>");
    }

    // Findings by severity.
    let mut sev: BTreeMap<std::cmp::Reverse<Severity>, (usize, usize)> = BTreeMap::new();
    for s in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ] {
        sev.insert(std::cmp::Reverse(s), (0, 0));
    }
    let mut layer: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut layer_of: HashMap<&str, String> = HashMap::new();
    for f in &view.findings {
        let e = sev.entry(std::cmp::Reverse(f.severity)).or_default();
        let l = layer_of
            .entry(f.control.as_str())
            .or_insert_with(|| view.layer(&f.control));
        let le = layer.entry(l.clone()).or_default();
        match f.status {
            FindingStatus::Failed => {
                e.0 += 1;
                le.0 += 1;
            }
            FindingStatus::Excepted => {
                e.1 += 1;
                le.1 += 1;
            }
        }
    }
    let bars: Vec<svg::Bar<'_>> = sev
        .iter()
        .map(|(k, (f, e))| svg::Bar {
            label: k.0.as_str().to_owned(),
            segments: vec![(*f, "failed", "failed"), (*e, "excepted", "excepted")],
        })
        .collect();
    s.push_str("<h3>Findings by severity</h3>");
    svg::bar_chart(s, "chart-severity", "Findings by severity", &bars);
    let bars: Vec<svg::Bar<'_>> = layer
        .iter()
        .map(|(k, (f, e))| svg::Bar {
            label: k.clone(),
            segments: vec![(*f, "failed", "failed"), (*e, "excepted", "excepted")],
        })
        .collect();
    s.push_str("<h3>Findings by layer</h3>");
    if bars.is_empty() {
        s.push_str("<p class=\"note\">No findings.</p>");
    }
    svg::bar_chart(s, "chart-layer", "Findings by layer", &bars);
    s.push_str("</section>");
}

/// The identity of a finding across scans: control, object and field (not the message,
/// which may quote values that change).
fn identity(f: &Finding) -> (&str, &str, &str, Option<&str>, &str, &str) {
    (
        &f.control,
        &f.resource.api_version,
        &f.resource.kind,
        f.resource.namespace.as_deref(),
        &f.resource.name,
        &f.location.path,
    )
}

fn changes_section(
    s: &mut String,
    view: &View<'_>,
    prev: &Report,
    framework: Option<Framework>,
    cap: usize,
) {
    let prev_view = View::new(prev, view.catalog, framework);
    type Key<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, &'a str, &'a str);
    let mut before: HashMap<Key<'_>, usize> = HashMap::new();
    for f in &prev_view.findings {
        *before.entry(identity(f)).or_default() += 1;
    }
    let mut now: HashMap<Key<'_>, usize> = HashMap::new();
    for f in &view.findings {
        *now.entry(identity(f)).or_default() += 1;
    }
    // A multiset difference, in view order.
    let diff = |list: &[&'_ Finding], other: &HashMap<Key<'_>, usize>| -> Vec<usize> {
        let mut left = other.clone();
        let mut out = Vec::new();
        for (i, f) in list.iter().enumerate() {
            match left.get_mut(&identity(f)) {
                Some(n) if *n > 0 => *n -= 1,
                _ => out.push(i),
            }
        }
        out
    };
    let new = diff(&view.findings, &before);
    let resolved = diff(&prev_view.findings, &now);
    let mut status_changes: Vec<(String, Option<ControlStatus>, Option<ControlStatus>)> =
        Vec::new();
    let prev_status: BTreeMap<&str, ControlStatus> = prev
        .summary
        .controls
        .iter()
        .map(|c| (c.id.as_str(), c.status))
        .collect();
    let now_status: BTreeMap<&str, ControlStatus> = view
        .report
        .summary
        .controls
        .iter()
        .map(|c| (c.id.as_str(), c.status))
        .collect();
    let ids: BTreeSet<&str> = prev_status
        .keys()
        .chain(now_status.keys())
        .copied()
        .collect();
    for id in ids {
        let (a, b) = (prev_status.get(id).copied(), now_status.get(id).copied());
        if a != b {
            status_changes.push((id.to_owned(), a, b));
        }
    }
    w!(
        s,
        "<section id=\"changes\" data-new=\"{}\" data-resolved=\"{}\" data-status-changes=\"{}\"><h2>Changes since the previous scan</h2>",
        new.len(),
        resolved.len(),
        status_changes.len()
    );
    w!(
        s,
        "<p>Previous scan: mlguard {}, {} findings. Now: {} findings, {} new, {} resolved. Findings are matched by control, object and field.</p>",
        E(&prev.tool.version),
        prev_view.findings.len(),
        view.findings.len(),
        new.len(),
        resolved.len()
    );
    let sevs = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];
    let bars: Vec<svg::Bar<'_>> = sevs
        .iter()
        .map(|sv| svg::Bar {
            label: sv.as_str().to_owned(),
            segments: vec![
                (
                    new.iter()
                        .filter(|i| view.findings[**i].severity == *sv)
                        .count(),
                    "new",
                    "new",
                ),
                (
                    resolved
                        .iter()
                        .filter(|i| prev_view.findings[**i].severity == *sv)
                        .count(),
                    "resolved",
                    "resolved",
                ),
            ],
        })
        .collect();
    svg::bar_chart(
        s,
        "chart-changes",
        "New and resolved findings by severity",
        &bars,
    );
    if !status_changes.is_empty() {
        s.push_str("<h3>Controls whose status changed</h3><table id=\"status-changes\"><thead><tr><th>control</th><th>before</th><th>now</th></tr></thead><tbody>");
        for (id, a, b) in &status_changes {
            w!(s, "<tr><td>{}</td><td>", E(id));
            match a {
                Some(st) => status_badge(s, *st),
                None => s.push_str("absent"),
            }
            s.push_str("</td><td>");
            match b {
                Some(st) => status_badge(s, *st),
                None => s.push_str("absent"),
            }
            s.push_str("</td></tr>");
        }
        s.push_str("</tbody></table>");
    }
    w!(
        s,
        "<h3>New findings ({})</h3><ul class=\"evidence\" id=\"new-findings\">",
        new.len()
    );
    for i in new.iter().take(cap) {
        evidence_item(s, view.findings[*i], true);
    }
    more_item(s, new.len().min(cap), new.len());
    w!(
        s,
        "</ul><h3>Resolved findings ({})</h3><ul class=\"evidence\" id=\"resolved-findings\">",
        resolved.len()
    );
    for i in resolved.iter().take(cap) {
        evidence_item(s, prev_view.findings[*i], true);
    }
    more_item(s, resolved.len().min(cap), resolved.len());
    s.push_str("</ul></section>");
}

/// A clause's overall state: failed, excepted, passed only when every control mapped to it
/// ran and passed; otherwise partly or not evaluated.
fn clause_state(c: &mlguard_controls::ClauseCounts) -> (&'static str, &'static str) {
    if c.failed > 0 {
        ("failed", "failed")
    } else if c.excepted > 0 {
        ("excepted", "excepted")
    } else if c.passed == 0 && c.not_evaluated > 0 {
        ("not_evaluated", "not evaluated")
    } else if c.passed == 0 {
        ("no_evidence", "no evidence")
    } else if c.not_evaluated > 0 {
        ("partial", "partly evaluated")
    } else {
        ("passed", "passed")
    }
}

fn framework_section(s: &mut String, view: &View<'_>, fw: Framework, cap: usize) {
    let rows = view.clause_rows(fw);
    let (n, counts) = view.framework_controls(fw);
    // Evidence per clause: the first `cap` findings in view order, and the totals.
    let mut evidence: HashMap<&str, (Vec<&Finding>, usize, usize)> = HashMap::new();
    let (mut fw_failed, mut fw_excepted) = (0, 0);
    for f in &view.findings {
        let clauses = f.frameworks.of(fw);
        if clauses.is_empty() {
            continue;
        }
        match f.status {
            FindingStatus::Failed => fw_failed += 1,
            FindingStatus::Excepted => fw_excepted += 1,
        }
        for clause in clauses {
            let e = evidence.entry(clause.as_str()).or_default();
            if e.0.len() < cap {
                e.0.push(f);
            }
            match f.status {
                FindingStatus::Failed => e.1 += 1,
                FindingStatus::Excepted => e.2 += 1,
            }
        }
    }
    let status_of: HashMap<&str, ControlStatus> = view
        .report
        .summary
        .controls
        .iter()
        .map(|c| (c.id.as_str(), c.status))
        .collect();
    w!(
        s,
        "<section id=\"framework-{}\" class=\"framework\" data-framework=\"{}\" data-clauses=\"{}\" data-controls=\"{n}\" data-failed=\"{}\" data-passed=\"{}\" data-excepted=\"{}\" data-not-evaluated=\"{}\" data-findings=\"{}\"><h2>{}</h2>",
        fw.as_str(),
        fw.as_str(),
        rows.len(),
        counts.failed,
        counts.passed,
        counts.excepted,
        counts.not_evaluated,
        fw_failed + fw_excepted,
        E(fw.title())
    );
    s.push_str("<div class=\"cards\">");
    card(s, "clauses", rows.len(), "n-clauses");
    card(s, "controls mapped", n, "n-controls");
    card(s, "controls failed", counts.failed, "n-failed");
    card(s, "controls excepted", counts.excepted, "n-excepted");
    card(s, "controls passed", counts.passed, "n-passed");
    card(s, "controls not evaluated", counts.not_evaluated, "n-ne");
    card(s, "findings open", fw_failed, "n-open");
    card(s, "findings excepted", fw_excepted, "n-exc");
    s.push_str("</div>");
    let bars: Vec<svg::Bar<'_>> = rows
        .iter()
        .map(|(clause, (c, _))| svg::Bar {
            label: format!("{} {clause}", fw_label(fw)),
            segments: vec![
                (c.failed, "failed", "controls failed"),
                (c.excepted, "excepted", "controls excepted"),
                (c.passed, "passed", "controls passed"),
                (c.not_evaluated, "not_evaluated", "controls not evaluated"),
            ],
        })
        .collect();
    svg::bar_chart(
        s,
        &format!("chart-{}", fw.as_str()),
        &format!("{} clauses by control status", fw.title()),
        &bars,
    );
    s.push_str("<table class=\"clauses\"><thead><tr><th>clause</th><th>state</th><th>controls</th><th class=\"n\">passed</th><th class=\"n\">failed</th><th class=\"n\">excepted</th><th class=\"n\">not evaluated</th><th>evidence objects (file:line)</th></tr></thead><tbody>");
    for (clause, (c, ids)) in &rows {
        let (cls, label) = clause_state(c);
        let ev = evidence.get(clause.as_str());
        let (open, exc) = ev.map_or((0, 0), |e| (e.1, e.2));
        w!(
            s,
            "<tr class=\"clause\" data-clause=\"{}\" data-state=\"{cls}\" data-passed=\"{}\" data-failed=\"{}\" data-excepted=\"{}\" data-not-evaluated=\"{}\" data-evidence=\"{}\"><td><b>{} {}</b></td><td><span class=\"badge st-{cls}\">{label}</span></td><td>",
            E(clause),
            c.passed,
            c.failed,
            c.excepted,
            c.not_evaluated,
            open + exc,
            fw_label(fw),
            E(clause)
        );
        if ids.is_empty() {
            s.push_str("<span class=\"note\">no control in this scan</span>");
        }
        for id in ids {
            w!(s, "<div class=\"ctl\">{} ", E(id));
            match status_of.get(id.as_str()) {
                Some(st) => status_badge(s, *st),
                None => status_badge(s, ControlStatus::NotEvaluated),
            }
            s.push_str("</div>");
        }
        w!(
            s,
            "</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>",
            c.passed,
            c.failed,
            c.excepted,
            c.not_evaluated
        );
        match ev {
            None => s.push_str("<span class=\"note\">no findings</span>"),
            Some((list, open, exc)) => {
                w!(s, "{open} open, {exc} excepted<ul class=\"evidence\">");
                for f in list {
                    evidence_item(s, f, true);
                }
                more_item(s, list.len(), open + exc);
                s.push_str("</ul>");
            }
        }
        s.push_str("</td></tr>");
    }
    s.push_str("</tbody></table></section>");
}

fn controls_section(s: &mut String, view: &View<'_>) {
    let ids = view.control_ids();
    w!(
        s,
        "<section id=\"controls\" data-count=\"{}\"><h2>Controls</h2><table><thead><tr><th>control</th><th>title</th><th>layer</th><th>status</th><th class=\"n\">findings</th><th class=\"n\">objects evaluated</th><th>clauses</th></tr></thead><tbody>",
        ids.len()
    );
    for id in &ids {
        let sum = view.summary_of(id);
        w!(
            s,
            "<tr class=\"control\" data-control=\"{}\" data-status=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>",
            E(id),
            sum.map_or("not_evaluated", |c| c.status.as_str()),
            E(id),
            E(&view.title(id)),
            E(&view.layer(id))
        );
        match sum {
            Some(c) => {
                status_badge(s, c.status);
                if let Some(r) = &c.reason {
                    w!(s, " <span class=\"note\">{}</span>", E(r));
                }
            }
            None => {
                status_badge(s, ControlStatus::NotEvaluated);
                s.push_str(" <span class=\"note\">not in the summary</span>");
            }
        }
        let nfind = view.findings_of(id).count();
        w!(
            s,
            "</td><td class=\"n\">{nfind}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            sum.map_or(0, |c| c.evaluated),
            E(&crate::view::clause_tags(&view.clauses(id)).join(", "))
        );
    }
    s.push_str("</tbody></table></section>");
}

fn findings_section(s: &mut String, view: &View<'_>, cap: usize) {
    // Per control: worst severity, failed, excepted.
    let mut per: BTreeMap<&str, (Severity, usize, usize)> = BTreeMap::new();
    for f in &view.findings {
        let e = per.entry(f.control.as_str()).or_insert((f.severity, 0, 0));
        e.0 = e.0.max(f.severity);
        match f.status {
            FindingStatus::Failed => e.1 += 1,
            FindingStatus::Excepted => e.2 += 1,
        }
    }
    w!(
        s,
        "<section id=\"findings\" data-count=\"{}\"><h2>Findings</h2><h3>By control</h3><table><thead><tr><th>control</th><th>title</th><th>worst severity</th><th class=\"n\">open</th><th class=\"n\">excepted</th></tr></thead><tbody>",
        view.findings.len()
    );
    for (id, (sev, f, e)) in &per {
        w!(
            s,
            "<tr><td>{}</td><td>{}</td><td>",
            E(id),
            E(&view.title(id))
        );
        sev_badge(s, sev.as_str());
        w!(
            s,
            "</td><td class=\"n\">{f}</td><td class=\"n\">{e}</td></tr>"
        );
    }
    s.push_str("</tbody></table>");
    let shown = view.findings.len().min(cap * 2);
    w!(
        s,
        "<h3>Findings, most severe first</h3><ul class=\"evidence\" id=\"finding-list\" data-shown=\"{shown}\">"
    );
    for f in view.findings.iter().take(shown) {
        evidence_item(s, f, true);
    }
    more_item(s, shown, view.findings.len());
    s.push_str("</ul></section>");
}

/// `ns/name[Kind]` -> `ns`; address ranges and `{ingress-controller}` have none.
fn endpoint_namespace(e: &str) -> Option<&str> {
    if e.ends_with("[External]") || e.starts_with('{') {
        return None;
    }
    e.split_once('/').map(|(ns, _)| ns)
}

/// Connectivity entries `{src, dst, conn}` from the section: a list, or an object of lists
/// keyed by namespace.
fn connectivity_edges(v: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut take = |list: &Vec<Value>| {
        for e in list {
            let g = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_owned);
            if let (Some(a), Some(b)) = (g("src"), g("dst")) {
                out.push((a, b, g("conn").unwrap_or_default()));
            }
        }
    };
    match v {
        Value::Array(list) => take(list),
        Value::Object(m) => {
            for x in m.values() {
                if let Value::Array(list) = x {
                    take(list);
                }
            }
        }
        _ => {}
    }
    out.sort();
    out.dedup();
    out
}

fn network_section(s: &mut String, v: &Value) {
    const MAX_NS: usize = 40;
    const MAX_EDGES: usize = 150;
    let edges: Vec<_> = connectivity_edges(v)
        .into_iter()
        .filter(|(_, _, c)| c != "No Connections")
        .collect();
    let mut namespaces: BTreeSet<&str> = BTreeSet::new();
    for (a, b, _) in &edges {
        namespaces.extend(endpoint_namespace(a));
        namespaces.extend(endpoint_namespace(b));
    }
    w!(
        s,
        "<section id=\"network\" data-namespaces=\"{}\" data-edges=\"{}\"><h2>Network view</h2><p>Who reaches whom, per namespace, from the network policy engine (connections other than <code>No Connections</code>; hover an arrow for its ports).</p>",
        namespaces.len(),
        edges.len()
    );
    for ns in namespaces.iter().take(MAX_NS) {
        let mine: Vec<&(String, String, String)> = edges
            .iter()
            .filter(|(a, b, _)| {
                endpoint_namespace(a) == Some(ns) || endpoint_namespace(b) == Some(ns)
            })
            .take(MAX_EDGES)
            .collect();
        let total = edges
            .iter()
            .filter(|(a, b, _)| {
                endpoint_namespace(a) == Some(ns) || endpoint_namespace(b) == Some(ns)
            })
            .count();
        let mut nodes: Vec<(String, bool)> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        // The namespace's own workloads first, then the peers.
        let mut names: Vec<&str> = mine
            .iter()
            .flat_map(|(a, b, _)| [a.as_str(), b.as_str()])
            .collect();
        names.sort_by_key(|n| (endpoint_namespace(n) != Some(ns), *n));
        names.dedup();
        for n in names {
            index.insert(n, nodes.len());
            nodes.push((n.to_owned(), endpoint_namespace(n) == Some(ns)));
        }
        let gedges: Vec<(usize, usize, String)> = mine
            .iter()
            .filter(|(a, b, _)| a != b)
            .map(|(a, b, c)| (index[a.as_str()], index[b.as_str()], c.clone()))
            .collect();
        w!(
            s,
            "<h3 data-namespace=\"{}\">Namespace {}: {} connections</h3>",
            E(ns),
            E(ns),
            total
        );
        svg::graph(
            s,
            &format!(
                "net-{}",
                ns.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
            ),
            &format!("Who reaches whom in namespace {ns}"),
            &nodes,
            &gedges,
        );
        s.push_str("<table><thead><tr><th>source</th><th>destination</th><th>connections</th></tr></thead><tbody>");
        for (a, b, c) in &mine {
            w!(
                s,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                E(a),
                E(b),
                E(c)
            );
        }
        if total > mine.len() {
            w!(
                s,
                "<tr><td colspan=\"3\" class=\"more\">and {} more</td></tr>",
                total - mine.len()
            );
        }
        s.push_str("</tbody></table>");
    }
    if namespaces.len() > MAX_NS {
        w!(
            s,
            "<p class=\"more\">and {} more namespaces</p>",
            namespaces.len() - MAX_NS
        );
    }
    s.push_str("</section>");
}

fn quantity(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// A GPU count from a quantity (`8`, `8.5`); None when it is not a plain number.
fn gpu_number(q: &str) -> Option<f64> {
    q.trim().parse::<f64>().ok()
}

fn tenants_section(s: &mut String, v: &Value) {
    // `{namespace: {resource: quantity}}`, or a list of `{namespace, hard: {...}}`.
    let mut teams: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    match v {
        Value::Object(m) => {
            for (ns, q) in m {
                let e = teams.entry(ns.clone()).or_default();
                if let Value::Object(q) = q {
                    let q = q.get("hard").and_then(Value::as_object).unwrap_or(q);
                    for (k, x) in q {
                        e.insert(k.clone(), quantity(x));
                    }
                }
            }
        }
        Value::Array(list) => {
            for it in list {
                let Some(ns) = it.get("namespace").and_then(Value::as_str) else {
                    continue;
                };
                let e = teams.entry(ns.to_owned()).or_default();
                if let Some(q) = it.get("hard").and_then(Value::as_object) {
                    for (k, x) in q {
                        e.insert(k.clone(), quantity(x));
                    }
                }
            }
        }
        _ => {}
    }
    w!(
        s,
        "<section id=\"tenants\" data-count=\"{}\"><h2>Tenants and GPU quotas</h2>",
        teams.len()
    );
    // The chart: the teams with the largest GPU quota (all of them when few).
    const MAX_BARS: usize = 40;
    const MAX_ROWS: usize = 500;
    let mut gpus: Vec<(&String, usize)> = teams
        .iter()
        .map(|(ns, q)| {
            let gpu: f64 = q
                .iter()
                .filter(|(k, _)| k.starts_with("requests.") && k.contains("gpu"))
                .filter_map(|(_, x)| gpu_number(x))
                .sum();
            (ns, gpu.round() as usize)
        })
        .collect();
    if gpus.len() > MAX_BARS {
        gpus.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        gpus.truncate(MAX_BARS);
        w!(
            s,
            "<p class=\"note\">The chart shows the {MAX_BARS} teams with the largest GPU quota of {}.</p>",
            teams.len()
        );
    }
    let bars: Vec<svg::Bar<'_>> = gpus
        .iter()
        .map(|(ns, n)| svg::Bar {
            label: (*ns).clone(),
            segments: vec![(*n, "gpu", "GPU requests quota")],
        })
        .collect();
    svg::bar_chart(s, "chart-gpu", "GPU quota per team", &bars);
    s.push_str("<table><thead><tr><th>namespace</th><th>GPU quota</th><th>other quota</th></tr></thead><tbody>");
    for (ns, q) in teams.iter().take(MAX_ROWS) {
        let (gpu, other): (Vec<_>, Vec<_>) = q.iter().partition(|(k, _)| k.contains("gpu"));
        w!(
            s,
            "<tr class=\"tenant\" data-namespace=\"{}\"><td>{}</td><td>",
            E(ns),
            E(ns)
        );
        if gpu.is_empty() {
            s.push_str("<span class=\"note\">no GPU quota</span>");
        }
        for (k, x) in gpu {
            w!(s, "<div><code>{}</code> = {}</div>", E(k), E(x));
        }
        s.push_str("</td><td>");
        for (k, x) in other {
            w!(s, "<div><code>{}</code> = {}</div>", E(k), E(x));
        }
        s.push_str("</td></tr>");
    }
    if teams.len() > MAX_ROWS {
        w!(
            s,
            "<tr><td colspan=\"3\" class=\"more\">and {} more</td></tr>",
            teams.len() - MAX_ROWS
        );
    }
    s.push_str("</tbody></table></section>");
}

fn audit_section(s: &mut String, v: &Value) {
    let policies: Vec<&Value> = v.as_array().map(|a| a.iter().collect()).unwrap_or_default();
    w!(
        s,
        "<section id=\"audit-coverage\" data-policies=\"{}\"><h2>Audit coverage</h2><p>How each ML namespace's requests are logged by the audit policy, by class of request: the lowest level over every request of the class, and what the namespace's classification needs.</p>",
        policies.len()
    );
    for p in policies {
        let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let nss: Vec<&Value> = p
            .get("namespaces")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let mut classes: Vec<String> = Vec::new();
        for ns in &nss {
            for c in ns
                .get("classes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = str_of(c, "class");
                if !classes.contains(&name) {
                    classes.push(name);
                }
            }
        }
        w!(
            s,
            "<h3>Policy <code>{}</code> ({} rules)</h3><table class=\"audit-matrix\" data-namespaces=\"{}\"><thead><tr><th>namespace</th><th>classification</th>",
            E(&str_of(p, "policy")),
            p.get("rules").and_then(Value::as_u64).unwrap_or(0),
            nss.len()
        );
        for c in &classes {
            w!(s, "<th>{}</th>", E(c));
        }
        s.push_str("</tr></thead><tbody>");
        for ns in &nss {
            w!(
                s,
                "<tr><td>{}</td><td>{}</td>",
                E(&str_of(ns, "namespace")),
                E(&str_of(ns, "classification"))
            );
            let list = ns.get("classes").and_then(Value::as_array);
            for c in &classes {
                let cell = list.and_then(|l| l.iter().find(|x| &str_of(x, "class") == c));
                match cell {
                    None => s.push_str("<td class=\"note\">not enumerated</td>"),
                    Some(x) => {
                        let met = x.get("met").and_then(Value::as_bool).unwrap_or(false);
                        let (lo, hi) = (str_of(x, "lowest"), str_of(x, "highest"));
                        w!(
                            s,
                            "<td class=\"{}\" data-met=\"{met}\"><b>{}</b> {}<br><span class=\"note\">need {}; {} requests</span></td>",
                            if met { "met-yes" } else { "met-no" },
                            if met { "met" } else { "NOT MET" },
                            E(&if lo == hi { lo } else { format!("{lo} to {hi}") }),
                            E(&str_of(x, "need")),
                            x.get("requests").and_then(Value::as_u64).unwrap_or(0)
                        );
                    }
                }
            }
            s.push_str("</tr>");
        }
        s.push_str("</tbody></table>");
    }
    s.push_str("</section>");
}

fn image_section(s: &mut String, scans: &[(String, Value)], cap: usize) {
    w!(
        s,
        "<section id=\"image-scans\" data-count=\"{}\"><h2>Image scans</h2><table><thead><tr><th>image</th><th>results file</th><th class=\"n\">packages</th><th>vulnerabilities (not suppressed)</th><th class=\"n\">suppressed by VEX</th><th class=\"n\">not evaluated</th><th class=\"n\">unreadable records</th></tr></thead><tbody>",
        scans.len()
    );
    let mut worst: Vec<(String, &Value, &Value)> = Vec::new();
    for (file, doc) in scans {
        let target = doc.get("target");
        let name = target
            .and_then(|t| t.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("?");
        let packages = doc.get("packages").and_then(Value::as_array);
        let findings: Vec<&Value> = doc
            .get("findings")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let mut by_sev: BTreeMap<&str, usize> = BTreeMap::new();
        let mut suppressed = 0;
        for f in &findings {
            if f.get("vex").is_some() {
                suppressed += 1;
                continue;
            }
            let sev = f
                .get("severity")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            *by_sev.entry(sev).or_default() += 1;
            worst.push((name.to_owned(), f, doc));
        }
        let len = |k: &str| doc.get(k).and_then(Value::as_array).map_or(0, Vec::len);
        w!(
            s,
            "<tr class=\"image\" data-vulns=\"{}\"><td><code>{}</code> <span class=\"note\">{}</span></td><td><code>{}</code></td><td class=\"n\">{}</td><td>",
            findings.len() - suppressed,
            E(name),
            E(target.and_then(|t| t.get("kind")).and_then(Value::as_str).unwrap_or("")),
            E(file),
            packages.map_or(0, Vec::len)
        );
        if by_sev.is_empty() {
            s.push_str("none");
        }
        for sev in ["critical", "high", "medium", "low", "unknown"] {
            if let Some(n) = by_sev.get(sev) {
                sev_badge(s, sev);
                w!(s, " {n} ");
            }
        }
        w!(
            s,
            "</td><td class=\"n\">{suppressed}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            len("notEvaluated"),
            len("errors")
        );
    }
    s.push_str("</tbody></table>");
    let rank = |f: &Value| match f.get("severity").and_then(Value::as_str) {
        Some("critical") => 0,
        Some("unknown") => 1,
        Some("high") => 2,
        Some("medium") => 3,
        _ => 4,
    };
    worst.sort_by_key(|(_, f, _)| rank(f));
    w!(
        s,
        "<h3>Most severe vulnerabilities</h3><ul class=\"evidence\">"
    );
    for (img, f, doc) in worst.iter().take(cap) {
        let pkg = f
            .get("package")
            .and_then(Value::as_u64)
            .and_then(|i| doc.get("packages")?.get(i as usize));
        let g = |v: Option<&Value>, k: &str| {
            v.and_then(|x| x.get(k))
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned()
        };
        s.push_str("<li>");
        sev_badge(
            s,
            f.get("severity")
                .and_then(Value::as_str)
                .unwrap_or("unknown"),
        );
        let fixed: Vec<&str> = f
            .get("fixed")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        w!(
            s,
            " <b>{}</b> {} {} in <code>{}</code>: {} ({})</li>",
            E(&g(Some(f), "id")),
            E(&g(pkg, "name")),
            E(&g(pkg, "version")),
            E(img),
            E(&g(Some(f), "summary")),
            E(&if fixed.is_empty() {
                "no fix known".to_owned()
            } else {
                format!("fixed in {}", fixed.join(", "))
            })
        );
    }
    more_item(s, worst.len().min(cap), worst.len());
    s.push_str("</ul></section>");
}

fn model_section(s: &mut String, scans: &[(String, Value)], cap: usize) {
    w!(
        s,
        "<section id=\"model-scans\" data-count=\"{}\"><h2>Model scans</h2><table><thead><tr><th>results file</th><th class=\"n\">files</th><th class=\"n\">clean</th><th class=\"n\">suspicious</th><th class=\"n\">not verifiably safe</th><th class=\"n\">unsafe</th><th class=\"n\">skipped</th><th class=\"n\">errors</th></tr></thead><tbody>",
        scans.len()
    );
    let mut bad: Vec<&Value> = Vec::new();
    for (file, doc) in scans {
        let sum = doc.get("summary");
        let n = |k: &str| {
            sum.and_then(|x| x.get(k))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        w!(
            s,
            "<tr class=\"model-scan\" data-unsafe=\"{}\"><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            n("unsafe"),
            E(file),
            n("files"),
            n("clean"),
            n("suspicious"),
            n("notVerifiablySafe"),
            n("unsafe"),
            n("skipped"),
            n("errors")
        );
        for f in doc
            .get("files")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let v = f.get("verdict").and_then(Value::as_str).unwrap_or("");
            if v != "clean" && v != "skipped" {
                bad.push(f);
            }
        }
    }
    s.push_str("</tbody></table><h3>Model files that are not clean</h3><ul class=\"evidence\">");
    if bad.is_empty() {
        s.push_str("<li>none</li>");
    }
    for f in bad.iter().take(cap) {
        let g = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        s.push_str("<li>");
        let sev = g("severity");
        sev_badge(s, if sev.is_empty() { "unknown" } else { &sev });
        let reason = f
            .get("findings")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|x| x.get("reason"))
            .and_then(Value::as_str)
            .unwrap_or("");
        w!(
            s,
            " <code>{}</code> ({}, {}): {}</li>",
            E(&g("path")),
            E(&g("format")),
            E(&g("verdict")),
            E(reason)
        );
    }
    more_item(s, bad.len().min(cap), bad.len());
    s.push_str("</ul></section>");
}

fn problem(s: &mut String, p: &mlguard_controls::InputProblem) {
    let mut at = p.file.clone();
    if let Some(l) = p.line {
        at.push_str(&format!(":{l}"));
        if let Some(c) = p.column {
            at.push_str(&format!(":{c}"));
        }
    }
    w!(s, "<li><code>{}</code>: ", E(&at));
    if let Some(f) = &p.field {
        w!(s, "field <code>{}</code>: ", E(f));
    }
    w!(s, "{}</li>", E(&p.message));
}

fn inputs_section(s: &mut String, report: &Report, cap: usize) {
    let cap = cap * 4;
    w!(
        s,
        "<section id=\"inputs\" data-count=\"{}\" data-errors=\"{}\"><h2>Inputs</h2>",
        report.inputs.len(),
        report.errors.len()
    );
    if !report.errors.is_empty() {
        w!(
            s,
            "<h3>Input errors ({})</h3><ul class=\"evidence\" id=\"input-errors\">",
            report.errors.len()
        );
        for p in report.errors.iter().take(cap) {
            problem(s, p);
        }
        more_item(s, report.errors.len().min(cap), report.errors.len());
        s.push_str("</ul>");
    }
    if !report.notes.is_empty() {
        w!(
            s,
            "<h3>Notes ({})</h3><ul class=\"evidence\">",
            report.notes.len()
        );
        for p in report.notes.iter().take(cap) {
            problem(s, p);
        }
        more_item(s, report.notes.len().min(cap), report.notes.len());
        s.push_str("</ul>");
    }
    let shown_ctx: [&str; 3] = ["connectivity", "quotas", "auditCoverage"];
    let other: Vec<&String> = report
        .context
        .keys()
        .filter(|k| !shown_ctx.contains(&k.as_str()))
        .collect();
    if !other.is_empty() {
        s.push_str(
            "<p class=\"note\">Context sections in the findings JSON this report does not draw: ",
        );
        for (i, k) in other.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            w!(s, "<code>{}</code>", E(k));
        }
        s.push_str(".</p>");
    }
    w!(
        s,
        "<h3>Files read ({})</h3><table><thead><tr><th>file</th><th>SHA-256</th></tr></thead><tbody>",
        report.inputs.len()
    );
    for i in report.inputs.iter().take(cap) {
        w!(
            s,
            "<tr><td><code>{}</code></td><td><code>{}</code></td></tr>",
            E(&i.file),
            E(&i.sha256)
        );
    }
    if report.inputs.len() > cap {
        w!(
            s,
            "<tr><td colspan=\"2\" class=\"more\">and {} more</td></tr>",
            report.inputs.len() - cap
        );
    }
    s.push_str("</tbody></table></section>");
}

#[cfg(test)]
mod tests;
