//! VEX documents (OpenVEX, CycloneDX VEX) read and applied to a scan: a finding covered by a
//! statement that says the package is not affected, or that the vulnerability is fixed in it,
//! gets a [`VexMark`] and stops counting (it stays in the results).
//!
//! Told apart by content: OpenVEX has an `@context` starting with `https://openvex.dev/ns`,
//! CycloneDX has `bomFormat: "CycloneDX"` (its statements are `vulnerabilities[]` with an
//! `analysis.state`; entries without an analysis are not statements and are skipped).
//!
//! A statement covers a finding when
//! - its vulnerability (OpenVEX `vulnerability.name` and `vulnerability.aliases`, CycloneDX
//!   `id` and `references[].id`) is one of the finding's `ids` (ASCII case-insensitive), and
//! - one of its products (OpenVEX `products[]`: `@id` or `identifiers.purl`; CycloneDX
//!   `affects[].ref`, resolved through the document's `bom-ref`s, a BOM-Link's fragment, or a
//!   purl as it is) is the package: purls compare by type, namespace and name (case-insensitive;
//!   PyPI names PEP 503-normalised) and version (equal, or PEP 440-equal for PyPI; a product
//!   purl without a version covers every version), qualifiers and subpath ignored; CycloneDX
//!   `affects[].versions`, when it lists versions, must list the package's with a status other
//!   than `affected`;
//! - or the product is a package of the scan (or the image itself: its digest, a `pkg:oci`
//!   purl with that digest, an `@sha256:` reference or a `sha-256` hash) whose OpenVEX
//!   `subcomponents` include the package; the image with no subcomponents covers every package.
//!
//! A statement with no products covers nothing (no guessing). Statuses that suppress:
//! OpenVEX `not_affected`, `fixed`; CycloneDX `not_affected`, `false_positive` (mapped to
//! `not_affected`), `resolved`, `resolved_with_pedigree` (mapped to `fixed`). `affected`,
//! `under_investigation`, `exploitable` and `in_triage` do not suppress. When several statements
//! of a document cover a finding, the latest timestamp wins (OpenVEX: the statement's
//! `last_updated`, else its `timestamp`, else the document's; CycloneDX: `analysis.lastUpdated`,
//! `analysis.firstIssued`, `updated`, `published`, else the metadata timestamp; ties go to the
//! later statement). Documents apply in the order given: a later document's winning statement
//! that does not suppress removes an earlier document's mark.

use crate::scan::{ScanReport, VexMark};
use serde_json::{Map, Value};
use std::path::Path;

/// A VEX document that could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VexError {
    #[error("{file}: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// The document as a whole: not JSON, not a VEX format.
    #[error("{file}: {why}")]
    Document { file: String, why: String },
    /// A field: missing, of the wrong type, or with a value the format does not allow.
    #[error("{file}: {field}: {why}")]
    Field {
        file: String,
        field: String,
        why: String,
    },
}

/// Which VEX format a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VexFormat {
    OpenVex,
    CycloneDx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    NotAffected,
    Fixed,
    Affected,
    UnderInvestigation,
}

impl Status {
    fn mark(self) -> Option<&'static str> {
        match self {
            Status::NotAffected => Some("not_affected"),
            Status::Fixed => Some("fixed"),
            Status::Affected | Status::UnderInvestigation => None,
        }
    }
}

/// A package URL, normalised for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Purl {
    ty: String,
    namespace: String,
    name: String,
    version: Option<String>,
}

fn pct_decode(s: &str) -> String {
    mlguard_core::text::percent_decode_lossy(s)
}

impl Purl {
    /// `pkg:type/namespace/name@version?qualifiers#subpath`; `None` when it is not one.
    fn parse(s: &str) -> Option<Purl> {
        let s = s.trim();
        let rest = s.get(..4).filter(|p| p.eq_ignore_ascii_case("pkg:"))?;
        let rest = &s[rest.len()..];
        let rest = rest.trim_start_matches('/');
        let rest = rest.split('#').next().unwrap_or(rest);
        let rest = rest.split('?').next().unwrap_or(rest);
        let (path, version) = match rest.rsplit_once('@') {
            Some((p, v)) => (p, Some(pct_decode(v))),
            None => (rest, None),
        };
        let segs: Vec<&str> = path.split('/').filter(|x| !x.is_empty()).collect();
        if segs.len() < 2 {
            return None;
        }
        let ty = segs[0].to_ascii_lowercase();
        let mut name = pct_decode(segs[segs.len() - 1]).to_lowercase();
        if ty == "pypi" {
            name = crate::version::pypi::normalize_name(&name);
        }
        let namespace = segs[1..segs.len() - 1]
            .iter()
            .map(|x| pct_decode(x).to_lowercase())
            .collect::<Vec<_>>()
            .join("/");
        if name.is_empty() {
            return None;
        }
        Some(Purl {
            ty,
            namespace,
            name,
            version: version.filter(|v| !v.is_empty()),
        })
    }

    /// Does this (product) purl name the package `pkg`? A product without a version covers
    /// every version.
    fn covers(&self, pkg: &Purl) -> bool {
        if self.ty != pkg.ty || self.namespace != pkg.namespace || self.name != pkg.name {
            return false;
        }
        match (&self.version, &pkg.version) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(a), Some(b)) => {
                a == b
                    || (self.ty == "pypi"
                        && matches!(
                            (crate::version::pypi::parse(a), crate::version::pypi::parse(b)),
                            (Ok(x), Ok(y)) if x == y
                        ))
            }
        }
    }
}

/// A product (or subcomponent) of a statement.
#[derive(Debug, Clone, Default)]
struct Product {
    /// `@id`, `identifiers.purl`, a CycloneDX ref resolved to a purl, as written.
    ids: Vec<String>,
    purls: Vec<Purl>,
    /// `sha256:<hex>` of `hashes`.
    digests: Vec<String>,
    subcomponents: Vec<Product>,
    /// CycloneDX `affects[].versions`: the versions listed with a status other than
    /// `affected`; `None` when it lists no versions.
    versions: Option<Vec<String>>,
}

impl Product {
    fn add_id(&mut self, id: &str) {
        if let Some(p) = Purl::parse(id) {
            self.purls.push(p);
        }
        self.ids.push(id.trim().to_string());
    }

    fn names_package(&self, pkg: &Purl, version: &str) -> bool {
        if !self.purls.iter().any(|p| p.covers(pkg)) {
            return false;
        }
        match &self.versions {
            None => true,
            Some(vs) => vs.iter().any(|v| v == version),
        }
    }

    fn is_image(&self, digest: Option<&str>) -> bool {
        let Some(d) = digest
            .map(str::to_ascii_lowercase)
            .filter(|d| !d.is_empty())
        else {
            return false;
        };
        let oci = self.purls.iter().any(|p| {
            p.ty == "oci" && p.version.as_deref().map(str::to_ascii_lowercase) == Some(d.clone())
        });
        oci || self.digests.contains(&d)
            || self.ids.iter().any(|id| {
                let id = id.to_ascii_lowercase();
                id == d || id.ends_with(&format!("@{d}"))
            })
    }
}

#[derive(Debug, Clone)]
struct Statement {
    vulns: Vec<String>,
    products: Vec<Product>,
    status: Status,
    justification: Option<String>,
    note: Option<String>,
    time: Option<(i64, u32)>,
}

impl Statement {
    fn names_vuln(&self, ids: &[String]) -> bool {
        self.vulns
            .iter()
            .any(|v| ids.iter().any(|i| i.eq_ignore_ascii_case(v)))
    }

    /// Does it cover package `k` of the scan?
    fn covers(
        &self,
        k: usize,
        purls: &[Option<Purl>],
        versions: &[&str],
        digest: Option<&str>,
    ) -> bool {
        let Some(pkg) = purls.get(k).and_then(Option::as_ref) else {
            return false;
        };
        let version = versions.get(k).copied().unwrap_or("");
        self.products.iter().any(|p| {
            if p.subcomponents.is_empty() {
                return p.names_package(pkg, version) || p.is_image(digest);
            }
            let present = p.is_image(digest)
                || purls
                    .iter()
                    .zip(versions)
                    .any(|(q, v)| q.as_ref().is_some_and(|q| p.names_package(q, v)));
            present
                && p.subcomponents
                    .iter()
                    .any(|s| s.names_package(pkg, version))
        })
    }
}

/// A VEX document, ready to apply.
#[derive(Debug, Clone)]
pub struct Vex {
    document: String,
    format: VexFormat,
    statements: Vec<Statement>,
}

/// Read a VEX document (OpenVEX or CycloneDX JSON); errors name the file and the field.
pub fn load(path: &Path) -> Result<Vex, VexError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| VexError::Read {
        file: name.clone(),
        source,
    })?;
    parse(&name, &bytes)
}

/// Read a VEX document from bytes; `name` is the file named in errors and in the marks.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Vex, VexError> {
    let doc_err = |why: String| VexError::Document {
        file: name.to_string(),
        why,
    };
    let trimmed = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&bytes[..0], |i| &bytes[i..]);
    if trimmed.starts_with(b"<") {
        return Err(doc_err(
            "XML is not read: give the JSON form of the VEX document".to_string(),
        ));
    }
    let v: Value = serde_json::from_slice(bytes).map_err(|e| doc_err(format!("not JSON: {e}")))?;
    let Value::Object(top) = v else {
        return Err(doc_err("not a JSON object".to_string()));
    };
    let p = Parser { file: name };
    if let Some(ctx) = top.get("@context") {
        let openvex = match ctx {
            Value::String(s) => s.starts_with("https://openvex.dev/ns"),
            Value::Array(a) => a.iter().any(|c| {
                c.as_str()
                    .is_some_and(|s| s.starts_with("https://openvex.dev/ns"))
            }),
            _ => false,
        };
        if !openvex {
            return Err(p.field(
                "@context",
                format!(
                    "{} is not an OpenVEX context (https://openvex.dev/ns/...)",
                    short(ctx)
                ),
            ));
        }
        return p.openvex(&top);
    }
    match top.get("bomFormat") {
        Some(Value::String(s)) if s == "CycloneDX" => p.cyclonedx(&top),
        Some(other) => Err(p.field(
            "bomFormat",
            format!("{} is not \"CycloneDX\"", short(other)),
        )),
        None => Err(doc_err(
            "neither OpenVEX (an @context of https://openvex.dev/ns) nor CycloneDX (bomFormat \"CycloneDX\")"
                .to_string(),
        )),
    }
}

/// A value for an error message, cut to a readable length.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}...")
    } else {
        s
    }
}

const OPENVEX_STATUSES: [&str; 4] = ["not_affected", "affected", "fixed", "under_investigation"];
const OPENVEX_JUSTIFICATIONS: [&str; 5] = [
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
];
const CDX_STATES: [&str; 6] = [
    "resolved",
    "resolved_with_pedigree",
    "exploitable",
    "in_triage",
    "false_positive",
    "not_affected",
];
const CDX_JUSTIFICATIONS: [&str; 9] = [
    "code_not_present",
    "code_not_reachable",
    "requires_configuration",
    "requires_dependency",
    "requires_environment",
    "protected_by_compiler",
    "protected_at_runtime",
    "protected_at_perimeter",
    "protected_by_mitigating_control",
];

struct Parser<'a> {
    file: &'a str,
}

impl Parser<'_> {
    fn field(&self, field: impl Into<String>, why: impl Into<String>) -> VexError {
        VexError::Field {
            file: self.file.to_string(),
            field: field.into(),
            why: why.into(),
        }
    }

    fn missing(&self, field: impl Into<String>) -> VexError {
        self.field(field, "missing")
    }

    /// An optional string field.
    fn opt_str<'v>(
        &self,
        o: &'v Map<String, Value>,
        key: &str,
        at: &str,
    ) -> Result<Option<&'v str>, VexError> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.field(
                join(at, key),
                format!("expected a string, found {}", short(other)),
            )),
        }
    }

    fn req_str<'v>(
        &self,
        o: &'v Map<String, Value>,
        key: &str,
        at: &str,
    ) -> Result<&'v str, VexError> {
        self.opt_str(o, key, at)?
            .ok_or_else(|| self.missing(join(at, key)))
    }

    fn opt_array<'v>(
        &self,
        o: &'v Map<String, Value>,
        key: &str,
        at: &str,
    ) -> Result<Option<&'v Vec<Value>>, VexError> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(other) => Err(self.field(
                join(at, key),
                format!("expected an array, found {}", short(other)),
            )),
        }
    }

    fn object<'v>(&self, v: &'v Value, at: &str) -> Result<&'v Map<String, Value>, VexError> {
        v.as_object()
            .ok_or_else(|| self.field(at, format!("expected an object, found {}", short(v))))
    }

    fn opt_time(
        &self,
        o: &Map<String, Value>,
        key: &str,
        at: &str,
    ) -> Result<Option<(i64, u32)>, VexError> {
        match self.opt_str(o, key, at)? {
            None => Ok(None),
            Some(s) => super::parse_rfc3339(s).map(Some).ok_or_else(|| {
                self.field(join(at, key), format!("{s:?} is not an RFC 3339 date-time"))
            }),
        }
    }

    // ---- OpenVEX ----

    fn openvex(&self, top: &Map<String, Value>) -> Result<Vex, VexError> {
        self.req_str(top, "@id", "")?;
        self.req_str(top, "author", "")?;
        let doc_time = self
            .opt_time(top, "timestamp", "")?
            .ok_or_else(|| self.missing("timestamp"))?;
        match top.get("version") {
            Some(Value::Number(n)) if n.as_u64().is_some() => {}
            Some(other) => {
                return Err(self.field(
                    "version",
                    format!("expected a whole number, found {}", short(other)),
                ))
            }
            None => return Err(self.missing("version")),
        }
        let stmts = self
            .opt_array(top, "statements", "")?
            .ok_or_else(|| self.missing("statements"))?;
        let mut statements = Vec::with_capacity(stmts.len());
        for (i, s) in stmts.iter().enumerate() {
            statements.push(self.openvex_statement(s, &format!("statements[{i}]"), doc_time)?);
        }
        Ok(Vex {
            document: self.file.to_string(),
            format: VexFormat::OpenVex,
            statements,
        })
    }

    fn openvex_statement(
        &self,
        v: &Value,
        at: &str,
        doc_time: (i64, u32),
    ) -> Result<Statement, VexError> {
        let o = self.object(v, at)?;
        let mut vulns = Vec::new();
        let vat = join(at, "vulnerability");
        match o.get("vulnerability") {
            None | Some(Value::Null) => return Err(self.missing(vat)),
            Some(Value::String(s)) => vulns.push(s.clone()),
            Some(Value::Object(vo)) => {
                vulns.push(self.req_str(vo, "name", &vat)?.to_string());
                if let Some(aliases) = self.opt_array(vo, "aliases", &vat)? {
                    for (j, a) in aliases.iter().enumerate() {
                        let a = a.as_str().ok_or_else(|| {
                            self.field(
                                format!("{vat}.aliases[{j}]"),
                                format!("expected a string, found {}", short(a)),
                            )
                        })?;
                        vulns.push(a.to_string());
                    }
                }
            }
            Some(other) => {
                return Err(self.field(
                    vat,
                    format!("expected an object or a string, found {}", short(other)),
                ))
            }
        }
        vulns.retain(|v| !v.trim().is_empty());
        for v in &mut vulns {
            *v = v.trim().to_string();
        }
        if vulns.is_empty() {
            return Err(self.field(join(at, "vulnerability.name"), "empty"));
        }
        let status_s = self.req_str(o, "status", at)?;
        let status = match status_s {
            "not_affected" => Status::NotAffected,
            "fixed" => Status::Fixed,
            "affected" => Status::Affected,
            "under_investigation" => Status::UnderInvestigation,
            other => {
                return Err(self.field(
                    join(at, "status"),
                    format!(
                        "{other:?} is not an OpenVEX status ({})",
                        OPENVEX_STATUSES.join(", ")
                    ),
                ))
            }
        };
        let justification = self.opt_str(o, "justification", at)?;
        if let Some(j) = justification {
            if !OPENVEX_JUSTIFICATIONS.contains(&j) {
                return Err(self.field(
                    join(at, "justification"),
                    format!(
                        "{j:?} is not an OpenVEX justification ({})",
                        OPENVEX_JUSTIFICATIONS.join(", ")
                    ),
                ));
            }
        }
        let impact = self.opt_str(o, "impact_statement", at)?;
        let action = self.opt_str(o, "action_statement", at)?;
        let notes = self.opt_str(o, "status_notes", at)?;
        if status == Status::NotAffected && justification.is_none() && impact.is_none() {
            return Err(self.field(
                at,
                "status \"not_affected\" needs a justification or an impact_statement",
            ));
        }
        let note = match status {
            Status::NotAffected => impact.or(notes),
            _ => action.or(notes).or(impact),
        };
        let time = match self.opt_time(o, "last_updated", at)? {
            Some(t) => Some(t),
            None => Some(self.opt_time(o, "timestamp", at)?.unwrap_or(doc_time)),
        };
        let mut products = Vec::new();
        if let Some(ps) = self.opt_array(o, "products", at)? {
            for (j, p) in ps.iter().enumerate() {
                products.push(self.openvex_product(p, &format!("{at}.products[{j}]"), true)?);
            }
        }
        Ok(Statement {
            vulns,
            products,
            status,
            justification: justification.map(str::to_string),
            note: note.map(str::to_string),
            time,
        })
    }

    fn openvex_product(&self, v: &Value, at: &str, top: bool) -> Result<Product, VexError> {
        let mut p = Product::default();
        let o = match v {
            Value::String(s) => {
                p.add_id(s);
                return Ok(p);
            }
            Value::Object(o) => o,
            other => {
                return Err(self.field(
                    at,
                    format!("expected an object or a string, found {}", short(other)),
                ))
            }
        };
        if let Some(id) = self.opt_str(o, "@id", at)? {
            p.add_id(id);
        }
        if let Some(idv) = o.get("identifiers").filter(|x| !x.is_null()) {
            let iat = join(at, "identifiers");
            let io = self.object(idv, &iat)?;
            for key in ["purl", "cpe23", "cpe22"] {
                if let Some(s) = self.opt_str(io, key, &iat)? {
                    if key == "purl" {
                        p.add_id(s);
                    }
                }
            }
        }
        if let Some(hv) = o.get("hashes").filter(|x| !x.is_null()) {
            let hat = join(at, "hashes");
            let ho = self.object(hv, &hat)?;
            for (alg, h) in ho {
                let h = h.as_str().ok_or_else(|| {
                    self.field(
                        join(&hat, alg),
                        format!("expected a string, found {}", short(h)),
                    )
                })?;
                if alg.eq_ignore_ascii_case("sha-256") || alg.eq_ignore_ascii_case("sha256") {
                    p.digests
                        .push(format!("sha256:{}", h.trim().to_ascii_lowercase()));
                }
            }
        }
        if p.ids.is_empty() && p.digests.is_empty() && !o.contains_key("identifiers") {
            return Err(self.field(at, "no @id, identifiers or hashes"));
        }
        if let Some(subs) = self.opt_array(o, "subcomponents", at)? {
            if !top {
                return Err(self.field(
                    join(at, "subcomponents"),
                    "a subcomponent has no subcomponents",
                ));
            }
            for (k, s) in subs.iter().enumerate() {
                p.subcomponents.push(self.openvex_product(
                    s,
                    &format!("{at}.subcomponents[{k}]"),
                    false,
                )?);
            }
        }
        Ok(p)
    }

    // ---- CycloneDX ----

    fn cyclonedx(&self, top: &Map<String, Value>) -> Result<Vex, VexError> {
        self.req_str(top, "specVersion", "")?;
        // bom-ref -> purl of the document's components (nested ones and the metadata's too).
        let mut refs: Vec<(String, Option<String>)> = Vec::new();
        if let Some(mv) = top.get("metadata").filter(|x| !x.is_null()) {
            let mo = self.object(mv, "metadata")?;
            if let Some(c) = mo.get("component").filter(|x| !x.is_null()) {
                self.collect_refs(c, "metadata.component", &mut refs, 0)?;
            }
        }
        if let Some(cs) = self.opt_array(top, "components", "")? {
            for (i, c) in cs.iter().enumerate() {
                self.collect_refs(c, &format!("components[{i}]"), &mut refs, 0)?;
            }
        }
        let doc_time = match top.get("metadata").and_then(Value::as_object) {
            Some(mo) => self.opt_time(mo, "timestamp", "metadata")?,
            None => None,
        };
        let vulns = self.opt_array(top, "vulnerabilities", "")?.ok_or_else(|| {
            self.field(
                "vulnerabilities",
                "missing (a CycloneDX VEX document states its analyses there)",
            )
        })?;
        let mut statements = Vec::new();
        for (i, v) in vulns.iter().enumerate() {
            let at = format!("vulnerabilities[{i}]");
            if let Some(s) = self.cdx_statement(v, &at, &refs, doc_time)? {
                statements.push(s);
            }
        }
        Ok(Vex {
            document: self.file.to_string(),
            format: VexFormat::CycloneDx,
            statements,
        })
    }

    fn collect_refs(
        &self,
        v: &Value,
        at: &str,
        out: &mut Vec<(String, Option<String>)>,
        depth: usize,
    ) -> Result<(), VexError> {
        let o = self.object(v, at)?;
        let purl = self.opt_str(o, "purl", at)?.map(str::to_string);
        if let Some(r) = self.opt_str(o, "bom-ref", at)? {
            out.push((r.to_string(), purl));
        }
        if depth < 32 {
            if let Some(cs) = self.opt_array(o, "components", at)? {
                for (i, c) in cs.iter().enumerate() {
                    self.collect_refs(c, &format!("{at}.components[{i}]"), out, depth + 1)?;
                }
            }
        }
        Ok(())
    }

    fn cdx_statement(
        &self,
        v: &Value,
        at: &str,
        refs: &[(String, Option<String>)],
        doc_time: Option<(i64, u32)>,
    ) -> Result<Option<Statement>, VexError> {
        let o = self.object(v, at)?;
        let Some(av) = o.get("analysis").filter(|x| !x.is_null()) else {
            return Ok(None);
        };
        let aat = join(at, "analysis");
        let a = self.object(av, &aat)?;
        let state_s = self.req_str(a, "state", &aat)?;
        let status = match state_s {
            "not_affected" | "false_positive" => Status::NotAffected,
            "resolved" | "resolved_with_pedigree" => Status::Fixed,
            "exploitable" => Status::Affected,
            "in_triage" => Status::UnderInvestigation,
            other => {
                return Err(self.field(
                    join(&aat, "state"),
                    format!(
                        "{other:?} is not a CycloneDX analysis state ({})",
                        CDX_STATES.join(", ")
                    ),
                ))
            }
        };
        let justification = self.opt_str(a, "justification", &aat)?;
        if let Some(j) = justification {
            if !CDX_JUSTIFICATIONS.contains(&j) {
                return Err(self.field(
                    join(&aat, "justification"),
                    format!(
                        "{j:?} is not a CycloneDX justification ({})",
                        CDX_JUSTIFICATIONS.join(", ")
                    ),
                ));
            }
        }
        let detail = self.opt_str(a, "detail", &aat)?;
        let id = self.req_str(o, "id", at)?.trim();
        if id.is_empty() {
            return Err(self.field(join(at, "id"), "empty"));
        }
        let mut vulns = vec![id.to_string()];
        if let Some(rs) = self.opt_array(o, "references", at)? {
            for (j, r) in rs.iter().enumerate() {
                let rat = format!("{at}.references[{j}]");
                let ro = self.object(r, &rat)?;
                let rid = self.req_str(ro, "id", &rat)?.trim();
                if !rid.is_empty() {
                    vulns.push(rid.to_string());
                }
            }
        }
        let mut time = None;
        for (obj, key, oat) in [
            (a, "lastUpdated", aat.as_str()),
            (a, "firstIssued", aat.as_str()),
            (o, "updated", at),
            (o, "published", at),
        ] {
            let t = self.opt_time(obj, key, oat)?;
            if time.is_none() {
                time = t;
            }
        }
        let time = time.or(doc_time);
        let mut products = Vec::new();
        if let Some(afs) = self.opt_array(o, "affects", at)? {
            for (j, af) in afs.iter().enumerate() {
                let fat = format!("{at}.affects[{j}]");
                let fo = self.object(af, &fat)?;
                let r = self.req_str(fo, "ref", &fat)?;
                let mut p = Product::default();
                p.add_id(&resolve_ref(r, refs));
                if let Some(vs) = self.opt_array(fo, "versions", &fat)? {
                    let mut listed = Vec::new();
                    for (k, vv) in vs.iter().enumerate() {
                        let vat = format!("{fat}.versions[{k}]");
                        let vo = self.object(vv, &vat)?;
                        let status = self.opt_str(vo, "status", &vat)?;
                        if let Some(s) = status {
                            if !["affected", "unaffected", "unknown"].contains(&s) {
                                return Err(self.field(
                                    join(&vat, "status"),
                                    format!("{s:?} is not affected, unaffected or unknown"),
                                ));
                            }
                        }
                        let version = self.opt_str(vo, "version", &vat)?;
                        self.opt_str(vo, "range", &vat)?;
                        if let Some(ver) = version {
                            if status != Some("affected") {
                                listed.push(ver.to_string());
                            }
                        }
                    }
                    if !vs.is_empty() {
                        p.versions = Some(listed);
                    }
                }
                products.push(p);
            }
        }
        let justification = justification.or(if state_s == "false_positive" {
            Some("false_positive")
        } else {
            None
        });
        Ok(Some(Statement {
            vulns,
            products,
            status,
            justification: justification.map(str::to_string),
            note: detail.map(str::to_string),
            time,
        }))
    }
}

/// `a.b` (or `b` at the top).
fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

/// A CycloneDX `affects[].ref` as a product identifier: the purl of the component with that
/// bom-ref, else a BOM-Link's fragment (itself looked up), else the ref as written.
fn resolve_ref(r: &str, refs: &[(String, Option<String>)]) -> String {
    let lookup = |x: &str| -> Option<String> {
        refs.iter()
            .find(|(b, _)| b == x)
            .map(|(b, p)| p.clone().unwrap_or_else(|| b.clone()))
    };
    if let Some(x) = lookup(r) {
        return x;
    }
    if r.starts_with("urn:cdx:") {
        if let Some((_, frag)) = r.split_once('#') {
            let frag = pct_decode(frag);
            return lookup(&frag).unwrap_or(frag);
        }
    }
    r.to_string()
}

impl Vex {
    /// The file name the document was read from (written in the marks).
    pub fn document(&self) -> &str {
        &self.document
    }

    pub fn format(&self) -> VexFormat {
        self.format
    }

    /// The number of statements (CycloneDX: vulnerabilities with an analysis).
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// Mark the findings this document's statements cover (see the module documentation);
    /// returns how many findings it marked. A finding whose winning statement does not
    /// suppress loses a mark an earlier document gave it.
    pub fn apply(&self, report: &mut ScanReport) -> usize {
        let purls: Vec<Option<Purl>> = report
            .packages
            .iter()
            .map(|p| Purl::parse(&p.purl))
            .collect();
        let versions: Vec<&str> = report.packages.iter().map(|p| p.version.as_str()).collect();
        let digest = report.target.digest.as_deref();
        let mut marks: Vec<(usize, Option<VexMark>)> = Vec::new();
        for (fi, f) in report.findings.iter().enumerate() {
            let mut best: Option<&Statement> = None;
            for s in &self.statements {
                if !s.names_vuln(&f.ids) || !s.covers(f.package, &purls, &versions, digest) {
                    continue;
                }
                if best.is_none_or(|b| s.time >= b.time) {
                    best = Some(s);
                }
            }
            let Some(s) = best else { continue };
            let mark = s.status.mark().map(|status| VexMark {
                status: status.to_string(),
                justification: s.justification.clone(),
                statement: s.note.clone(),
                document: self.document.clone(),
            });
            marks.push((fi, mark));
        }
        let mut n = 0;
        for (fi, mark) in marks {
            if mark.is_some() {
                n += 1;
            }
            if let Some(f) = report.findings.get_mut(fi) {
                f.vex = mark;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_compare_without_qualifiers_and_case() {
        let a = Purl::parse("pkg:PyPI/Torch_Vision@0.16.0?foo=bar#sub").unwrap();
        let b = Purl::parse("pkg:pypi/torch-vision@0.16.0").unwrap();
        assert!(a.covers(&b));
        let any = Purl::parse("pkg:pypi/torch-vision").unwrap();
        assert!(any.covers(&b) && !b.covers(&any));
        let local = Purl::parse("pkg:pypi/torch@2.1.0%2Bcu121").unwrap();
        assert_eq!(local.version.as_deref(), Some("2.1.0+cu121"));
        assert!(!Purl::parse("pkg:pypi/torch@2.1.0").unwrap().covers(&local));
        assert!(Purl::parse("pkg:pypi/torch@2.1.0.0+cu121")
            .unwrap()
            .covers(&local));
        let deb = Purl::parse("pkg:deb/debian/libssl3@3.0.11-1~deb12u1?upstream=openssl").unwrap();
        assert!(
            Purl::parse("pkg:deb/Debian/LIBSSL3@3.0.11-1~deb12u1?arch=amd64")
                .unwrap()
                .covers(&deb)
        );
        assert!(!Purl::parse("pkg:deb/ubuntu/libssl3@3.0.11-1~deb12u1")
            .unwrap()
            .covers(&deb));
        for bad in ["", "pkg:", "pkg:pypi", "pypi/torch@1", "pkg:pypi/@1", "p"] {
            assert!(Purl::parse(bad).is_none(), "{bad}");
        }
    }
}
