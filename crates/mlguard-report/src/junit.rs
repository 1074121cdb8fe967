//! JUnit XML: a `<testsuite>` per control (sorted by ID), a `<testcase>` per finding. Failed
//! findings are `<failure>`s, excepted ones `<skipped>`; a control without findings is one
//! testcase: passing when it passed, `<skipped>` when it was not evaluated. Input errors are
//! `<error>`s in a first suite, `mlguard.inputs`.

use crate::table::problem_line;
use crate::view::{clause_tags, View};
use crate::RenderOptions;
use mlguard_controls::{Catalog, ControlStatus, Finding, FindingStatus, Report};
use std::fmt::Write as _;
use std::io::{self, Write};

/// Escape text for XML 1.0 character data and attribute values. Characters XML 1.0 cannot
/// carry at all (most C0 controls, U+FFFE, U+FFFF) become `\u{..}` text; in attributes, tab,
/// newline and carriage return are written as character references so they survive attribute
/// normalisation.
pub(crate) fn escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\'' if attr => out.push_str("&apos;"),
            '\t' | '\n' | '\r' if attr => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            '\t' | '\n' => out.push(c),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                out.push_str(&c.escape_unicode().to_string());
            }
            c => out.push(c),
        }
    }
    out
}

struct Case {
    name: String,
    /// `(element, message, type, body)`; `None` for a passing testcase.
    outcome: Option<(&'static str, String, Option<String>, Option<String>)>,
}

fn finding_case(f: &Finding) -> Case {
    let l = &f.location;
    let name = if l.path.is_empty() {
        f.resource.to_string()
    } else {
        format!("{} {}", f.resource, l.path)
    };
    let outcome = match (f.status, &f.exception) {
        (FindingStatus::Excepted, x) => {
            let reason = x.as_ref().map_or("exception", |x| x.reason.as_str());
            Some(("skipped", format!("excepted: {reason}"), None, None))
        }
        (FindingStatus::Failed, _) => {
            let mut body = format!("{}:{}:{} {}", l.file, l.line, l.column, f.resource);
            if !l.path.is_empty() {
                let _ = write!(body, " {}", l.path);
            }
            let _ = write!(body, "\n{}\nRemediation: {}", f.message, f.remediation);
            let tags = clause_tags(&f.frameworks);
            if !tags.is_empty() {
                let _ = write!(body, "\nEvidence for: {}", tags.join(", "));
            }
            Some((
                "failure",
                f.message.clone(),
                Some(f.severity.as_str().to_owned()),
                Some(body),
            ))
        }
    };
    Case { name, outcome }
}

struct Suite {
    name: String,
    properties: Vec<(&'static str, String)>,
    cases: Vec<Case>,
}

fn write_suite(out: &mut String, s: &Suite) -> (usize, usize, usize, usize) {
    let count = |el: &str| {
        s.cases
            .iter()
            .filter(|c| c.outcome.as_ref().is_some_and(|o| o.0 == el))
            .count()
    };
    let (tests, failures, errors, skipped) = (
        s.cases.len(),
        count("failure"),
        count("error"),
        count("skipped"),
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">",
        escape(&s.name, true)
    );
    if !s.properties.is_empty() {
        out.push_str("    <properties>\n");
        for (k, v) in &s.properties {
            let _ = writeln!(
                out,
                "      <property name=\"{}\" value=\"{}\"/>",
                escape(k, true),
                escape(v, true)
            );
        }
        out.push_str("    </properties>\n");
    }
    for c in &s.cases {
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\"",
            escape(&s.name, true),
            escape(&c.name, true)
        );
        match &c.outcome {
            None => out.push_str("/>\n"),
            Some((el, message, ty, body)) => {
                out.push_str(">\n");
                let _ = write!(out, "      <{el} message=\"{}\"", escape(message, true));
                if let Some(ty) = ty {
                    let _ = write!(out, " type=\"{}\"", escape(ty, true));
                }
                match body {
                    Some(b) => {
                        let _ = writeln!(out, ">{}</{el}>", escape(b, false));
                    }
                    None => out.push_str("/>\n"),
                }
                out.push_str("    </testcase>\n");
            }
        }
    }
    out.push_str("  </testsuite>\n");
    (tests, failures, errors, skipped)
}

pub(crate) fn render(
    report: &Report,
    catalog: &Catalog,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let view = View::new(report, catalog, opts.framework);
    let mut suites = Vec::new();
    if !report.errors.is_empty() {
        suites.push(Suite {
            name: "mlguard.inputs".to_owned(),
            properties: Vec::new(),
            cases: report
                .errors
                .iter()
                .map(|e| Case {
                    name: e.file.clone(),
                    outcome: Some(("error", problem_line(e), Some("input".to_owned()), None)),
                })
                .collect(),
        });
    }
    for id in view.control_ids() {
        let summary = view.summary_of(&id);
        let mut properties = vec![("title", view.title(&id)), ("layer", view.layer(&id))];
        if let Some(d) = view.def(&id) {
            properties.push(("severity", d.severity.as_str().to_owned()));
        }
        if let Some(s) = summary {
            properties.push(("status", s.status.as_str().to_owned()));
            properties.push(("evaluated", s.evaluated.to_string()));
        }
        let tags = clause_tags(&view.clauses(&id));
        if !tags.is_empty() {
            properties.push(("evidence", tags.join(", ")));
        }
        let mut cases: Vec<Case> = view.findings_of(&id).map(finding_case).collect();
        if cases.is_empty() {
            let (status, evaluated, reason) = summary
                .map_or((ControlStatus::NotEvaluated, 0, None), |s| {
                    (s.status, s.evaluated, s.reason.clone())
                });
            let objects = if evaluated == 1 { "object" } else { "objects" };
            let case = |outcome| Case {
                name: format!("{evaluated} {objects} evaluated"),
                outcome,
            };
            cases.push(match status {
                ControlStatus::Passed => case(None),
                ControlStatus::NotEvaluated => Case {
                    name: "not evaluated".to_owned(),
                    outcome: Some((
                        "skipped",
                        format!(
                            "not evaluated: {}",
                            reason.as_deref().unwrap_or("no reason given")
                        ),
                        None,
                        None,
                    )),
                },
                // Findings of the control are not in this report (filtered out upstream).
                ControlStatus::Failed => case(Some((
                    "failure",
                    "failed; findings not listed".to_owned(),
                    None,
                    None,
                ))),
                ControlStatus::Excepted => case(Some((
                    "skipped",
                    "excepted; findings not listed".to_owned(),
                    None,
                    None,
                ))),
            });
        }
        suites.push(Suite {
            name: id,
            properties,
            cases,
        });
    }

    let mut body = String::new();
    let mut totals = (0, 0, 0, 0);
    for s in &suites {
        let (t, f, e, sk) = write_suite(&mut body, s);
        totals = (totals.0 + t, totals.1 + f, totals.2 + e, totals.3 + sk);
    }
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        out,
        "<testsuites name=\"mlguard\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
        totals.0, totals.1, totals.2, totals.3
    )?;
    out.write_all(body.as_bytes())?;
    writeln!(out, "</testsuites>")
}

#[cfg(test)]
mod tests {
    use super::escape;
    use crate::testdata::{render_to_string, sample_report};
    use crate::{Format, RenderOptions};

    #[test]
    fn escaping() {
        assert_eq!(
            escape("a<b>&\"c' \n\t\r\u{1}", true),
            "a&lt;b&gt;&amp;&quot;c&apos; &#10;&#9;&#13;\\u{1}"
        );
        assert_eq!(escape("a<b\n\"x\"\r", false), "a&lt;b\n\"x\"&#13;");
        assert_eq!(escape("\u{1b}[31m", false), "\\u{1b}[31m");
    }

    #[test]
    fn junit_suites_per_control() {
        let r = sample_report();
        let text = render_to_string(&r, Format::Junit, &RenderOptions::default());
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
        // 1 input error + 6 controls.
        assert!(text.contains(
            "<testsuites name=\"mlguard\" tests=\"8\" failures=\"3\" errors=\"1\" skipped=\"2\">"
        ));
        assert!(text.contains(
            "<testsuite name=\"MLG-ENC-002\" tests=\"2\" failures=\"2\" errors=\"0\" skipped=\"0\">"
        ));
        assert!(text.contains("<testcase classname=\"MLG-NET-001\" name=\"3 objects evaluated\"/>"));
        assert!(text.contains("<skipped message=\"not evaluated: no objects this control applies to in the inputs\"/>"));
        assert!(text
            .contains("<skipped message=\"excepted: base image needs root until ML-142 lands\"/>"));
        assert!(text.contains(
            "<failure message=\"binds cluster-admin to &quot;system:authenticated&quot; &amp; &lt;every&gt; user&#10;see ticket ‘SEC-7’ \\u{1b}[31m\" type=\"critical\">"
        ));
        assert!(!text.contains('\u{1b}'));
        assert!(text.contains("<error message=\"manifests/bad.yaml:3:7: field `spec.replicas`: expected an integer, found a string\" type=\"input\"/>"));
        insta::assert_snapshot!("junit", text);
    }

    /// The output is well-formed XML: a tiny checker for balanced tags and clean text.
    #[test]
    fn junit_is_well_formed() {
        let text = render_to_string(&sample_report(), Format::Junit, &RenderOptions::default());
        let body = text.split_once("?>\n").unwrap().1;
        let mut stack: Vec<String> = Vec::new();
        let mut rest = body;
        while let Some(i) = rest.find('<') {
            let text_part = &rest[..i];
            assert!(!text_part.contains('>'), "raw > in text: {text_part}");
            let end = rest[i..].find('>').unwrap() + i;
            let tag = &rest[i + 1..end];
            assert!(!tag.contains('<'), "raw < in tag: {tag}");
            // Attribute values are quoted and contain no raw quote.
            assert_eq!(tag.matches('"').count() % 2, 0, "{tag}");
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '/')
                .collect();
            if tag.starts_with('/') {
                assert_eq!(stack.pop().as_deref(), Some(name.as_str()));
            } else if !tag.ends_with('/') {
                stack.push(name);
            }
            rest = &rest[end + 1..];
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
    }
}
