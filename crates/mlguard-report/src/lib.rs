//! mlguard-report: renders a scan's [`Report`] into the output formats mlguard prints or writes.
//!
//! Owns: every output format of a scan result — the human table, the Findings JSON contract
//! (docs/findings.md), SARIF 2.1.0 (docs/sarif.md), JUnit XML and Kubernetes `PolicyReport`
//! objects (docs/policyreport.md), the HTML evidence report and the signed evidence pack
//! (docs/report.md) — and the framework view of a report (findings and clause coverage for one
//! of HIPAA, SOC 2, GDPR).
//!
//! Must not: make judgements (which control failed, which finding is excepted, what a clause
//! counts: all of that comes in the [`Report`] from mlguard-controls), read inputs, look at the
//! clock or the environment, or decide whether the output is a terminal (the caller passes
//! [`RenderOptions::color`]). Findings never carry secret values and no renderer adds any.
//!
//! Every renderer is deterministic: the same report gives the same bytes (findings, controls and
//! namespaces are sorted; no timestamps), so outputs can be snapshot-tested and diffed.

use mlguard_controls::{Catalog, Framework, Report};
use std::fmt;
use std::io;
use std::str::FromStr;

mod html;
mod jsonout;
mod junit;
pub mod pack;
mod policyreport;
mod sarif;
mod sha256;
mod table;
mod view;
mod zip;

pub use html::{render_html, HtmlExtras};

#[cfg(test)]
mod testdata;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Human-readable text grouped by severity, with a summary (and ANSI colour on request).
    Table,
    /// The Findings JSON contract (docs/findings.md).
    Json,
    /// SARIF 2.1.0 (docs/sarif.md), for code-scanning tools.
    Sarif,
    /// JUnit XML: one test suite per control.
    Junit,
    /// `wgpolicyk8s.io/v1alpha2` PolicyReport / ClusterPolicyReport objects as a YAML stream.
    PolicyReport,
    /// The self-contained HTML evidence report (docs/report.md).
    Html,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 6] = [
        Self::Table,
        Self::Json,
        Self::Sarif,
        Self::Junit,
        Self::PolicyReport,
        Self::Html,
    ];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Table => "table",
            Self::Json => "json",
            Self::Sarif => "sarif",
            Self::Junit => "junit",
            Self::PolicyReport => "policyreport",
            Self::Html => "html",
        }
    }

    /// The usual file extension of the format (without the dot).
    pub fn extension(self) -> &'static str {
        match self {
            Self::Table => "txt",
            Self::Json => "json",
            Self::Sarif => "sarif",
            Self::Junit => "xml",
            Self::PolicyReport => "yaml",
            Self::Html => "html",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is not one of [`Format::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFormat(pub String);

impl fmt::Display for UnknownFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown format `{}` (expected one of ", self.0)?;
        for (i, fmt) in Format::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(fmt.as_str())?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for UnknownFormat {}

impl FromStr for Format {
    type Err = UnknownFormat;

    /// Parses a format name, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// How to render.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// ANSI colour in the table format (the caller decides whether the output is a terminal).
    /// Ignored by the machine formats.
    pub color: bool,
    /// Only findings (and controls) mapped to this framework; the table adds a clause coverage
    /// table for it, and JSON keeps only this framework in `summary.frameworks`.
    pub framework: Option<Framework>,
    /// Table: list excepted findings with their reasons, notes, and remediations.
    pub verbose: bool,
}

/// Render `report` in `format` to `out`. `catalog` supplies rule metadata (titles, remediation,
/// clauses, layers) for controls; findings carry their own copies, which win where they exist.
pub fn render(
    report: &Report,
    catalog: &Catalog,
    format: Format,
    opts: &RenderOptions,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    match format {
        Format::Table => table::render(report, catalog, opts, out),
        Format::Json => render_json(report, opts, out),
        Format::Sarif => sarif::render(report, catalog, opts, out),
        Format::Junit => junit::render(report, catalog, opts, out),
        Format::PolicyReport => policyreport::render(report, catalog, opts, out),
        Format::Html => render_html(report, catalog, opts, &HtmlExtras::default(), out),
    }
}

/// The Findings JSON: the report itself, pretty-printed. With a framework filter, findings not
/// mapped to it are dropped and `summary.frameworks` keeps only that framework; everything else
/// (controls, errors, notes, context) is unchanged.
fn render_json(report: &Report, opts: &RenderOptions, out: &mut dyn io::Write) -> io::Result<()> {
    let filtered;
    let report = match opts.framework {
        None => report,
        Some(fw) => {
            let mut r = report.clone();
            r.findings.retain(|f| !f.frameworks.of(fw).is_empty());
            r.summary.frameworks.retain(|k, _| *k == fw);
            filtered = r;
            &filtered
        }
    };
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{render_to_string, sample_report};
    use mlguard_controls::Framework;

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.to_string().parse::<Format>(), Ok(f));
        }
        assert_eq!("SARIF".parse::<Format>(), Ok(Format::Sarif));
        assert_eq!(" PolicyReport ".parse::<Format>(), Ok(Format::PolicyReport));
        let err = "xml".parse::<Format>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown format `xml` (expected one of table, json, sarif, junit, policyreport, html)"
        );
    }

    #[test]
    fn json_is_the_report_exactly() {
        let r = sample_report();
        let text = render_to_string(&r, Format::Json, &RenderOptions::default());
        let back: Report = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
        assert!(text.ends_with("}\n"));
        insta::assert_snapshot!("json", text);
    }

    #[test]
    fn json_framework_filter_drops_unmapped_findings() {
        let r = sample_report();
        let opts = RenderOptions {
            framework: Some(Framework::Hipaa),
            ..RenderOptions::default()
        };
        let text = render_to_string(&r, Format::Json, &opts);
        let back: Report = serde_json::from_str(&text).unwrap();
        // POD-004 maps to SOC 2 only.
        assert!(back.findings.iter().all(|f| f.control != "MLG-POD-004"));
        assert_eq!(back.findings.len(), r.findings.len() - 1);
        assert_eq!(
            back.summary.frameworks.keys().copied().collect::<Vec<_>>(),
            vec![Framework::Hipaa]
        );
        assert_eq!(back.summary.controls, r.summary.controls);
        assert_eq!(back.context, r.context);
    }
}

/// The examples in docs/ are what the renderers produce for the docs/findings.md report.
#[cfg(test)]
mod doc_examples {
    use super::*;
    use mlguard_controls::Catalog;
    use std::path::PathBuf;

    fn doc(name: &str) -> String {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The first fenced block of `lang` in a doc, with its final newline.
    fn block(text: &str, lang: &str) -> String {
        let open = format!("```{lang}\n");
        let start = text.find(&open).expect("fenced block") + open.len();
        let len = text[start..].find("\n```").expect("closing fence");
        format!("{}\n", &text[start..start + len])
    }

    fn example() -> Report {
        serde_json::from_str(&block(&doc("findings.md"), "json")).expect("findings.md example")
    }

    /// The built-in catalog reduced to the controls of the example, so the SARIF example lists
    /// only the rules it uses.
    fn example_catalog(r: &Report) -> Catalog {
        let mut cat = Catalog::builtin().clone();
        cat.controls
            .retain(|c| r.summary.controls.iter().any(|s| s.id == c.id));
        cat
    }

    /// Compare a doc block with the rendered output; with `MLGUARD_BLESS_DOCS=1` rewrite the
    /// block instead (after an intended change of the output).
    fn check_block(name: &str, lang: &str, got: &str) {
        let text = doc(name);
        let want = block(&text, lang);
        if got != want && std::env::var_os("MLGUARD_BLESS_DOCS").is_some() {
            let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../docs")
                .join(name);
            std::fs::write(&path, text.replacen(&want, got, 1)).unwrap();
            return;
        }
        assert_eq!(got, want, "docs/{name} {lang} example must be the renderer's output (MLGUARD_BLESS_DOCS=1 rewrites it)");
    }

    fn rendered(format: Format, catalog: &Catalog) -> String {
        let mut out = Vec::new();
        render(
            &example(),
            catalog,
            format,
            &RenderOptions::default(),
            &mut out,
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn findings_md_example_is_exactly_the_contract() {
        let r = example();
        check_block(
            "findings.md",
            "json",
            &rendered(Format::Json, Catalog::builtin()),
        );
        for c in &r.summary.controls {
            assert!(Catalog::builtin().get(&c.id).is_some(), "{}", c.id);
        }
    }

    #[test]
    fn sarif_md_example_is_rendered_output() {
        let r = example();
        check_block(
            "sarif.md",
            "json",
            &rendered(Format::Sarif, &example_catalog(&r)),
        );
    }

    #[test]
    fn policyreport_md_example_is_rendered_output() {
        check_block(
            "policyreport.md",
            "yaml",
            &rendered(Format::PolicyReport, Catalog::builtin()),
        );
    }
}
