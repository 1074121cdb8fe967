//! The local vulnerability database: OSV records imported from folders of OSV JSON, zip files
//! of them (the form osv.dev exports), and the YAML of the PyPA advisory database, kept in one
//! folder so that scans are fully offline after an import.
//!
//! Layout of the database folder (docs/vulnerability-matching.md):
//! - `records.json`: a JSON array of every record, normalised to OSV JSON;
//! - `meta.json`: the format version, the sources imported (path, records, when) and the time of
//!   the last import.
//!
//! Importing again replaces records with the same `id` (the newer import wins) and keeps the
//! others. The index by (ecosystem, package) is built when the database is opened.

use crate::osv::Record;
use crate::version::pypi;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The database folder's format version.
pub const FORMAT: u32 = 1;

/// Largest single record file read.
const MAX_FILE: u64 = 16 << 20;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {why}")]
    Format { path: String, why: String },
    #[error(
        "no vulnerability database at {0}: import one with `mlguard vuln db import PATH --db {0}`"
    )]
    Missing(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DbError + '_ {
    move |source| DbError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn bad(path: impl std::fmt::Display, why: impl Into<String>) -> DbError {
    DbError::Format {
        path: path.to_string(),
        why: why.into(),
    }
}

/// One import.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Source {
    pub path: String,
    pub records: usize,
    /// Seconds since the Unix epoch.
    pub imported_at: u64,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    pub format: u32,
    pub sources: Vec<Source>,
    pub records: usize,
    pub updated_at: u64,
}

/// The default database folder: `$MLGUARD_VULN_DB`, else `$XDG_CACHE_HOME/mlguard/vuln-db`,
/// else `~/.cache/mlguard/vuln-db`.
pub fn default_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("MLGUARD_VULN_DB") {
        return PathBuf::from(d);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("."));
    cache.join("mlguard").join("vuln-db")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Read the OSV records at `path`: a `.json` file (one record, or an array), a `.yaml`/`.yml`
/// file (PyPA), a `.zip` of those, or a folder of those (recursively). Returns the records as
/// JSON values and checks each parses as a [`Record`].
pub fn read_source(path: &Path) -> Result<Vec<serde_json::Value>, DbError> {
    let mut out = Vec::new();
    let md = std::fs::metadata(path).map_err(io(path))?;
    if md.is_dir() {
        let mut stack = vec![path.to_path_buf()];
        while let Some(d) = stack.pop() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(&d)
                .map_err(io(&d))?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()
                .map_err(io(&d))?;
            entries.sort();
            for p in entries {
                if p.is_dir() {
                    stack.push(p);
                } else if is_record_name(&p.to_string_lossy()) {
                    let bytes = read_capped(&p)?;
                    out.extend(parse_file(&p.display().to_string(), &bytes)?);
                }
            }
        }
    } else if path.extension().is_some_and(|e| e == "zip") {
        let f = std::fs::File::open(path).map_err(io(path))?;
        let mut z = zip_entries(f, path)?;
        out.append(&mut z);
    } else {
        let bytes = read_capped(path)?;
        out.extend(parse_file(&path.display().to_string(), &bytes)?);
    }
    Ok(out)
}

fn is_record_name(n: &str) -> bool {
    n.ends_with(".json") || n.ends_with(".yaml") || n.ends_with(".yml")
}

fn read_capped(p: &Path) -> Result<Vec<u8>, DbError> {
    let f = std::fs::File::open(p).map_err(io(p))?;
    let mut b = Vec::new();
    f.take(MAX_FILE + 1).read_to_end(&mut b).map_err(io(p))?;
    if b.len() as u64 > MAX_FILE {
        return Err(bad(p.display(), format!("larger than {MAX_FILE} bytes")));
    }
    Ok(b)
}

/// The members of a zip of OSV JSON (stored or deflated members, as osv.dev's exports are).
fn zip_entries(mut f: std::fs::File, path: &Path) -> Result<Vec<serde_json::Value>, DbError> {
    let mut data = Vec::new();
    f.read_to_end(&mut data).map_err(io(path))?;
    let archive = mini_zip::members(&data).map_err(|why| bad(path.display(), why))?;
    let mut out = Vec::new();
    for (name, body) in archive {
        if is_record_name(&name) {
            out.extend(parse_file(&format!("{}:{name}", path.display()), &body)?);
        }
    }
    Ok(out)
}

/// Parse one record file: JSON (a record or an array of records) or YAML (one record).
pub fn parse_file(name: &str, bytes: &[u8]) -> Result<Vec<serde_json::Value>, DbError> {
    let values: Vec<serde_json::Value> = if name.ends_with(".yaml") || name.ends_with(".yml") {
        let text = std::str::from_utf8(bytes).map_err(|_| bad(name, "not UTF-8"))?;
        let stream = mlguard_core::yaml::parse_stream(text, mlguard_core::yaml::Limits::default());
        if let Some(e) = stream.error {
            return Err(bad(
                format!("{name}:{}:{}", e.pos.line, e.pos.column),
                format!("YAML: {}", e.message),
            ));
        }
        stream.documents.iter().map(|d| d.root.to_json()).collect()
    } else {
        match serde_json::from_slice(bytes) {
            Ok(serde_json::Value::Array(a)) => a,
            Ok(v) => vec![v],
            Err(e) => {
                return Err(bad(
                    format!("{name}:{}:{}", e.line(), e.column()),
                    format!("not JSON: {e}"),
                ))
            }
        }
    };
    for v in &values {
        serde_json::from_value::<Record>(v.clone())
            .map_err(|e| bad(name, format!("not an OSV record: {e}")))?;
    }
    Ok(values)
}

/// Download OSV records (a zip, a JSON or a YAML file, told by the URL's last path segment and
/// the zip magic) over HTTPS (plain http only to a loopback address).
fn read_url(url: &str, ca_file: Option<&Path>) -> Result<Vec<serde_json::Value>, DbError> {
    let bytes = crate::registry::get_url(url, ca_file).map_err(|why| bad(url, why))?;
    let name = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_string();
    if bytes.starts_with(b"PK") {
        let archive = mini_zip::members(&bytes).map_err(|why| bad(url, why))?;
        let mut out = Vec::new();
        for (member, body) in archive {
            if is_record_name(&member) {
                out.extend(parse_file(&format!("{url}:{member}"), &body)?);
            }
        }
        return Ok(out);
    }
    if bytes.len() as u64 > MAX_FILE {
        return Err(bad(url, format!("larger than {MAX_FILE} bytes")));
    }
    let name = if is_record_name(&name) {
        url.to_string()
    } else {
        format!("{url} (as JSON)")
    };
    parse_file(&name, &bytes)
}

/// Import `sources` into the database at `dir` (created if needed). Returns the new meta.
pub fn import(dir: &Path, sources: &[PathBuf]) -> Result<Meta, DbError> {
    import_with(dir, sources, None)
}

/// [`import`], with an extra CA certificate (PEM) trusted for sources that are HTTPS URLs.
pub fn import_with(
    dir: &Path,
    sources: &[PathBuf],
    ca_file: Option<&Path>,
) -> Result<Meta, DbError> {
    let mut records: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut meta = match std::fs::read(dir.join("meta.json")) {
        Ok(b) => serde_json::from_slice::<Meta>(&b)
            .map_err(|e| bad(dir.join("meta.json").display(), e.to_string()))?,
        Err(_) => Meta {
            format: FORMAT,
            sources: Vec::new(),
            records: 0,
            updated_at: 0,
        },
    };
    if let Ok(b) = std::fs::read(dir.join("records.json")) {
        let old: Vec<serde_json::Value> = serde_json::from_slice(&b)
            .map_err(|e| bad(dir.join("records.json").display(), e.to_string()))?;
        for r in old {
            if let Some(id) = r["id"].as_str() {
                records.insert(id.to_string(), r);
            }
        }
    }
    for s in sources {
        let s_str = s.display().to_string();
        let got = if s_str.starts_with("http://") || s_str.starts_with("https://") {
            read_url(&s_str, ca_file)?
        } else {
            read_source(s)?
        };
        let n = got.len();
        for r in got {
            let id = r["id"].as_str().unwrap_or_default().to_string();
            records.insert(id, r);
        }
        meta.sources.push(Source {
            path: s_str,
            records: n,
            imported_at: now(),
        });
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    meta.records = records.len();
    meta.updated_at = now();
    let all: Vec<&serde_json::Value> = records.values().collect();
    write_atomic(
        &dir.join("records.json"),
        &serde_json::to_vec(&all).unwrap_or_default(),
    )?;
    write_atomic(
        &dir.join("meta.json"),
        &serde_json::to_vec_pretty(&meta).unwrap_or_default(),
    )?;
    Ok(meta)
}

fn write_atomic(p: &Path, bytes: &[u8]) -> Result<(), DbError> {
    let tmp = p.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, p).map_err(io(p))
}

/// An opened database: the records and an index by (ecosystem base, normalised name).
#[derive(Debug)]
pub struct Db {
    pub meta: Meta,
    pub records: Vec<Record>,
    index: HashMap<(String, String), Vec<usize>>,
    by_id: HashMap<String, usize>,
}

fn key(ecosystem: &str, name: &str) -> (String, String) {
    let base = ecosystem.split(':').next().unwrap_or(ecosystem).to_string();
    let name = if base == "PyPI" {
        pypi::normalize_name(name)
    } else {
        name.to_string()
    };
    (base, name)
}

/// A vulnerability affecting a package: the records that describe it (merged through their
/// aliases), with every ID.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hit {
    /// The record IDs and aliases, sorted, the first being the preferred ID (GHSA, PYSEC, then
    /// the rest).
    pub ids: Vec<String>,
    pub summary: Option<String>,
    pub fixed: Vec<String>,
}

impl Db {
    pub fn open(dir: &Path) -> Result<Db, DbError> {
        let meta_p = dir.join("meta.json");
        let Ok(mb) = std::fs::read(&meta_p) else {
            return Err(DbError::Missing(dir.display().to_string()));
        };
        let meta: Meta =
            serde_json::from_slice(&mb).map_err(|e| bad(meta_p.display(), e.to_string()))?;
        if meta.format != FORMAT {
            return Err(bad(
                meta_p.display(),
                format!(
                    "database format {} is not {FORMAT}: import again",
                    meta.format
                ),
            ));
        }
        let rp = dir.join("records.json");
        let rb = std::fs::read(&rp).map_err(io(&rp))?;
        let records: Vec<Record> =
            serde_json::from_slice(&rb).map_err(|e| bad(rp.display(), e.to_string()))?;
        let mut index: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            for a in &r.affected {
                if let Some(p) = &a.package {
                    let k = key(&p.ecosystem, &p.name);
                    let v = index.entry(k).or_default();
                    if v.last() != Some(&i) {
                        v.push(i);
                    }
                }
            }
        }
        let mut by_id = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            by_id.entry(r.id.clone()).or_insert(i);
        }
        Ok(Db {
            meta,
            records,
            index,
            by_id,
        })
    }

    /// The severity of a vulnerability known by `ids` (a [`Hit`]'s): the highest rating any of
    /// its records gives, and the highest CVSS v3 base score; unknown when none rates it.
    pub fn severity_of(&self, ids: &[String]) -> (crate::severity::Severity, Option<f64>) {
        use crate::severity::Severity;
        let mut best: Option<Severity> = None;
        let mut score: Option<f64> = None;
        for r in ids.iter().filter_map(|id| self.by_id.get(id)) {
            let (s, sc) = self.records[*r].rating();
            if let Some(s) = s {
                if best.is_none_or(|b| s.rank() > b.rank()) {
                    best = Some(s);
                }
            }
            if let Some(sc) = sc {
                score = Some(score.map_or(sc, |x: f64| x.max(sc)));
            }
        }
        (best.unwrap_or(Severity::Unknown), score)
    }

    /// Age of the data in seconds.
    pub fn age(&self) -> u64 {
        now().saturating_sub(self.meta.updated_at)
    }

    /// The vulnerabilities affecting `name` at `version`, one per vulnerability (records that
    /// share an ID or alias are merged), and the records that could not be evaluated.
    pub fn check(
        &self,
        ecosystem: &str,
        name: &str,
        version: &str,
    ) -> (Vec<Hit>, Vec<crate::osv::MatchError>) {
        let mut hits: Vec<&Record> = Vec::new();
        let mut errors = Vec::new();
        for &i in self
            .index
            .get(&key(ecosystem, name))
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let r = &self.records[i];
            match r.affects(ecosystem, name, version) {
                Ok(true) => hits.push(r),
                Ok(false) => {}
                Err(e) => errors.push(e),
            }
        }
        // Merge records whose ID sets intersect.
        let mut groups: Vec<(Vec<String>, Option<String>, Vec<String>)> = Vec::new();
        for r in hits {
            let mut ids: Vec<String> = std::iter::once(r.id.clone())
                .chain(r.aliases.iter().cloned())
                .collect();
            let mut summary = r.title();
            let mut fixed = r.fixed_versions(ecosystem, name);
            let mut k = 0;
            while k < groups.len() {
                if groups[k].0.iter().any(|i| ids.contains(i)) {
                    let g = groups.remove(k);
                    ids.extend(g.0);
                    summary = summary.or(g.1);
                    fixed.extend(g.2);
                } else {
                    k += 1;
                }
            }
            groups.push((ids, summary, fixed));
        }
        let rank = |id: &str| match id.split('-').next() {
            Some("GHSA") => 0,
            Some("PYSEC") => 1,
            Some("CVE") => 2,
            _ => 3,
        };
        let mut out: Vec<Hit> = groups
            .into_iter()
            .map(|(mut ids, summary, mut fixed)| {
                ids.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
                ids.dedup();
                fixed.sort();
                fixed.dedup();
                Hit {
                    ids,
                    summary,
                    fixed,
                }
            })
            .collect();
        out.sort_by(|a, b| a.ids.cmp(&b.ids));
        (out, errors)
    }
}

/// The members of a zip held in memory (stored or deflated; zipped eggs, osv.dev exports).
pub(crate) fn zip_members(d: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    mini_zip::members(d)
}

/// A minimal reader of the zip files osv.dev exports (stored or deflated members, central
/// directory).
mod mini_zip {
    use std::io::Read;

    fn u16_at(d: &[u8], at: usize) -> Option<usize> {
        Some(usize::from(u16::from_le_bytes(
            d.get(at..at + 2)?.try_into().ok()?,
        )))
    }
    fn u32_at(d: &[u8], at: usize) -> Option<usize> {
        usize::try_from(u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?)).ok()
    }

    pub fn members(d: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
        let lo = d.len().saturating_sub(22 + 65535);
        let e = (lo..=d.len().saturating_sub(22))
            .rev()
            .find(|&i| d.get(i..i + 4) == Some(b"PK\x05\x06"))
            .ok_or("not a zip file (no end of central directory)")?;
        let count = u16_at(d, e + 10).ok_or("truncated zip")?;
        let mut at = u32_at(d, e + 16).ok_or("truncated zip")?;
        let mut out = Vec::new();
        for _ in 0..count {
            if d.get(at..at + 4) != Some(b"PK\x01\x02") {
                return Err("broken central directory".into());
            }
            let method = u16_at(d, at + 10).ok_or("truncated zip")?;
            let csize = u32_at(d, at + 20).ok_or("truncated zip")?;
            let size = u32_at(d, at + 24).ok_or("truncated zip")?;
            let nlen = u16_at(d, at + 28).ok_or("truncated zip")?;
            let elen = u16_at(d, at + 30).ok_or("truncated zip")?;
            let clen = u16_at(d, at + 32).ok_or("truncated zip")?;
            let off = u32_at(d, at + 42).ok_or("truncated zip")?;
            let name =
                String::from_utf8_lossy(d.get(at + 46..at + 46 + nlen).ok_or("truncated zip")?)
                    .into_owned();
            at += 46 + nlen + elen + clen;
            if name.ends_with('/') {
                continue;
            }
            let lnl = u16_at(d, off + 26).ok_or("truncated local header")?;
            let lel = u16_at(d, off + 28).ok_or("truncated local header")?;
            let start = off + 30 + lnl + lel;
            let raw = d
                .get(start..start + csize)
                .ok_or("member data past the end")?;
            let body = match method {
                0 => raw.to_vec(),
                8 => {
                    if size > super::MAX_FILE as usize {
                        return Err(format!("{name}: larger than {} bytes", super::MAX_FILE));
                    }
                    let mut b = Vec::with_capacity(size);
                    flate2::read::DeflateDecoder::new(raw)
                        .take(super::MAX_FILE + 1)
                        .read_to_end(&mut b)
                        .map_err(|e| format!("{name}: {e}"))?;
                    b
                }
                m => return Err(format!("{name}: compression method {m} is not supported")),
            };
            out.push((name, body));
        }
        Ok(out)
    }
}
