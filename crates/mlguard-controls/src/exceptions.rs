//! Exceptions: accepted risks that turn a finding into `excepted` with its reason.
//!
//! Two sources (docs/exceptions.md):
//! - the annotation `mlguard.io/exempt: "MLG-POD-001=RDMA needs it;MLG-NET-007=..."` on the object
//!   a finding is about;
//! - an exceptions file (`--exceptions FILE`) of `{control, selector, reason, expires}` entries.
//!   After `expires` the exception no longer applies and the finding stays failed, marked with
//!   the expired exception.

use crate::catalog::CatalogError;
use crate::model::{ExceptionInfo, ResourceRef};
use mlguard_core::node::{Node, Pos};
use mlguard_core::yaml::{parse_stream, Limits};
use std::collections::BTreeMap;

pub const ANNOTATION: &str = "mlguard.io/exempt";

/// A calendar date, compared as (year, month, day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl Date {
    pub fn parse(s: &str) -> Option<Date> {
        let mut it = s.splitn(3, '-');
        let year = it.next()?.parse().ok()?;
        let month: u8 = it.next()?.parse().ok()?;
        let day: u8 = it.next()?.parse().ok()?;
        if s.len() != 10 || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// Today in UTC from the system clock.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self::from_days(i64::try_from(secs / 86_400).unwrap_or(0))
    }

    /// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    pub fn from_days(z: i64) -> Date {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        Date {
            year: i32::try_from(if m <= 2 { y + 1 } else { y }).unwrap_or(0),
            month: u8::try_from(m).unwrap_or(1),
            day: u8::try_from(d).unwrap_or(1),
        }
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Which objects an exceptions-file entry covers. Every field given must match; `name`
/// accepts `*` wildcards.
#[derive(Debug, Clone, Default)]
pub struct ExceptionSelector {
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct FileException {
    pub control: String,
    pub selector: ExceptionSelector,
    pub reason: String,
    pub expires: Date,
    pub file: String,
    pub pos: Pos,
}

/// All exceptions loaded from files.
#[derive(Debug, Clone, Default)]
pub struct Exceptions {
    pub entries: Vec<FileException>,
}

/// Glob match with `*` only.
pub fn glob(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let mut rest = s;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(p) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else if let Some(at) = rest.find(p) {
            rest = &rest[at + p.len()..];
        } else {
            return false;
        }
    }
    true
}

impl ExceptionSelector {
    pub fn matches(&self, r: &ResourceRef, labels: &BTreeMap<String, String>) -> bool {
        self.kind.as_ref().is_none_or(|k| k == &r.kind)
            && self
                .namespace
                .as_ref()
                .is_none_or(|n| r.namespace.as_ref().is_some_and(|rn| glob(n, rn)))
            && self.name.as_ref().is_none_or(|n| glob(n, &r.name))
            && self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
    }
}

/// Parse the annotation value: `ID=reason;ID=reason`. Returns (control, reason) pairs and
/// the malformed parts.
pub fn parse_annotation(value: &str) -> (Vec<(String, String)>, Vec<String>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for part in value.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some((id, reason)) if !id.trim().is_empty() && !reason.trim().is_empty() => {
                ok.push((id.trim().to_owned(), reason.trim().to_owned()));
            }
            _ => bad.push(part.to_owned()),
        }
    }
    (ok, bad)
}

impl Exceptions {
    pub fn parse(file: &str, text: &str) -> Result<Exceptions, CatalogError> {
        let err = |pos: Pos, message: String| CatalogError::at(file, pos, message);
        let s = parse_stream(text, Limits::default());
        if let Some(e) = s.error {
            return Err(err(e.pos, e.message));
        }
        let mut out = Exceptions::default();
        for doc in s.documents {
            let root = doc.root;
            if root.is_null() {
                continue;
            }
            let list = match root.get("exceptions") {
                Some(l) if l.is_seq() => l,
                Some(l) => {
                    return Err(err(l.pos, "field `exceptions`: expected a list".to_owned()))
                }
                None => return Err(err(root.pos, "missing field `exceptions`".to_owned())),
            };
            for e in list.items() {
                out.entries.push(parse_entry(file, e)?);
            }
        }
        Ok(out)
    }

    /// The first file exception covering `control` on `r`, if any (expired ones included).
    pub fn find(
        &self,
        control: &str,
        r: &ResourceRef,
        labels: &BTreeMap<String, String>,
    ) -> Option<&FileException> {
        self.entries
            .iter()
            .find(|e| e.control == control && e.selector.matches(r, labels))
    }
}

fn parse_entry(file: &str, e: &Node) -> Result<FileException, CatalogError> {
    let err = |pos: Pos, message: String| CatalogError::at(file, pos, message);
    for k in e.entries() {
        if !["control", "selector", "reason", "expires"].contains(&k.key.as_str()) {
            return Err(err(
                k.key_pos,
                format!(
                    "unknown field `{}` (control, selector, reason, expires)",
                    k.key
                ),
            ));
        }
    }
    let s = |key: &str| -> Result<String, CatalogError> {
        match e.get(key) {
            Some(v) => v
                .scalar_text()
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| err(v.pos, format!("field `{key}`: expected a non-empty string"))),
            None => Err(err(e.pos, format!("missing field `{key}`"))),
        }
    };
    let control = s("control")?;
    let reason = s("reason")?;
    let exp_text = s("expires")?;
    let expires = Date::parse(&exp_text).ok_or_else(|| {
        err(
            e.get("expires").map_or(e.pos, |n| n.pos),
            format!("field `expires`: `{exp_text}` is not a date (YYYY-MM-DD)"),
        )
    })?;
    let mut selector = ExceptionSelector::default();
    if let Some(sel) = e.get("selector") {
        for k in sel.entries() {
            match k.key.as_str() {
                "kind" | "namespace" | "name" => {
                    let v = k
                        .value
                        .as_str()
                        .ok_or_else(|| {
                            err(
                                k.value.pos,
                                format!("selector.{}: expected a string", k.key),
                            )
                        })?
                        .to_owned();
                    match k.key.as_str() {
                        "kind" => selector.kind = Some(v),
                        "namespace" => selector.namespace = Some(v),
                        _ => selector.name = Some(v),
                    }
                }
                "labels" => selector.labels = mlguard_core::selector::labels_of(Some(&k.value)),
                other => {
                    return Err(err(
                        k.key_pos,
                        format!(
                            "selector: unknown field `{other}` (kind, namespace, name, labels)"
                        ),
                    ))
                }
            }
        }
    }
    Ok(FileException {
        control,
        selector,
        reason,
        expires,
        file: file.to_owned(),
        pos: e.pos,
    })
}

impl FileException {
    pub fn info(&self, today: Date) -> ExceptionInfo {
        ExceptionInfo {
            reason: self.reason.clone(),
            expires: Some(self.expires.to_string()),
            source: format!("{}:{}", self.file, self.pos.line),
            expired: self.expires < today,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_globs() {
        assert_eq!(Date::from_days(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_days(20_784).to_string(), "2026-11-27");
        assert!(Date::parse("2026-02-30").is_some());
        assert!(Date::parse("2026-13-01").is_none());
        assert!(Date::parse("tomorrow").is_none());
        assert!(glob("bert-*", "bert-large"));
        assert!(glob("*-ft-*", "llama-ft-7b"));
        assert!(!glob("bert-*", "gpt"));
    }

    #[test]
    fn annotation_parts() {
        let (ok, bad) = parse_annotation("MLG-POD-001=RDMA needs it; MLG-NET-007 = host net ;junk");
        assert_eq!(
            ok,
            [
                ("MLG-POD-001".into(), "RDMA needs it".into()),
                ("MLG-NET-007".into(), "host net".into())
            ]
        );
        assert_eq!(bad, ["junk"]);
    }

    #[test]
    fn file_entries_need_reason_and_date() {
        let e = Exceptions::parse(
            "x.yaml",
            "exceptions:\n- control: MLG-POD-001\n  selector: {kind: PyTorchJob, name: 'bert-*'}\n  reason: RDMA\n  expires: 2027-01-31\n",
        )
        .expect("valid");
        assert_eq!(e.entries[0].expires.to_string(), "2027-01-31");
        let bad = Exceptions::parse(
            "x.yaml",
            "exceptions:\n- control: MLG-POD-001\n  reason: r\n  expires: soon\n",
        )
        .expect_err("bad date");
        assert_eq!(bad.pos.line, 4);
        let bad = Exceptions::parse(
            "x.yaml",
            "exceptions:\n- control: MLG-POD-001\n  expires: 2027-01-01\n",
        )
        .expect_err("no reason");
        assert!(bad.message.contains("reason"));
    }
}
