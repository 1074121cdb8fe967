//! Installed-package records inside an image or a root filesystem: which file holds which
//! packages, and the parsers of those files. Every parser takes the file's path inside the image
//! and its bytes (from a folder now; from layer tar streams later), so the same code serves both.
//!
//! | path (inside the image) | ecosystem | what is read |
//! |---|---|---|
//! | `…/*.dist-info/METADATA`, `…/*.egg-info/PKG-INFO`, `…/*.egg-info` (a file) | PyPI | `Name`, `Version` headers |
//! | `…/conda-meta/*.json` (every prefix, the base `/opt/conda` too) | conda | `name`, `version`, `build`; PyPI when the conda package is a Python package of the same name |
//! | `var/lib/dpkg/status`, `var/lib/dpkg/status.d/*` | Debian | installed paragraphs: `Package`, `Version`, `Source` (the advisories' key) |
//! | `lib/apk/db/installed` | Alpine | `P:`, `V:`, `o:` |

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Package {
    /// OSV ecosystem name: `PyPI`, `Debian`, `Alpine`, `conda`.
    pub ecosystem: &'static str,
    pub name: String,
    pub version: String,
    /// Debian and Alpine: the source package advisories are keyed by (and its version, when
    /// the binary's differs).
    pub source: Option<(String, Option<String>)>,
    /// The file it was read from, inside the image.
    pub path: String,
}

impl Package {
    /// A package found at `path` (no source package).
    pub fn new(ecosystem: &'static str, name: &str, version: &str, path: &str) -> Self {
        Package {
            ecosystem,
            name: name.to_string(),
            version: version.to_string(),
            source: None,
            path: path.to_string(),
        }
    }
}

/// A record file that could not be read, with its path and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {why}")]
#[non_exhaustive]
pub struct RecordError {
    pub path: String,
    pub why: String,
}

/// The kind of record file at `path` (inside the image, `/` separated), if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordKind {
    PythonMetadata,
    PythonEgg,
    CondaMeta,
    DpkgStatus,
    ApkInstalled,
}

pub fn record_kind(path: &str) -> Option<RecordKind> {
    let p = path.trim_start_matches("./").trim_start_matches('/');
    let mut parts = p.rsplit('/');
    let file = parts.next()?;
    let dir = parts.next().unwrap_or("");
    let parent = parts.next().unwrap_or("");
    if (file == "METADATA" && dir.ends_with(".dist-info"))
        || (file == "PKG-INFO" && dir.ends_with(".egg-info"))
        || (file == "PKG-INFO" && dir == "EGG-INFO" && parent.ends_with(".egg"))
        || (file.ends_with(".egg-info") && !file.starts_with('.'))
    {
        return Some(RecordKind::PythonMetadata);
    }
    // A zipped egg (`site-packages/name-1.0-py3.11.egg`, a file): its EGG-INFO/PKG-INFO.
    if file.ends_with(".egg") && !file.starts_with('.') && p.contains("-packages/") {
        return Some(RecordKind::PythonEgg);
    }
    if dir == "conda-meta" && file.ends_with(".json") {
        return Some(RecordKind::CondaMeta);
    }
    if p == "var/lib/dpkg/status"
        || (dir == "status.d"
            && p.starts_with("var/lib/dpkg/status.d/")
            && !file.ends_with(".md5sums")
            && !file.starts_with('.'))
    {
        return Some(RecordKind::DpkgStatus);
    }
    if p == "lib/apk/db/installed" {
        return Some(RecordKind::ApkInstalled);
    }
    None
}

/// Largest record file read (a dpkg status file of a large image is a few MiB).
pub const MAX_RECORD: usize = 64 << 20;

/// Parse the record file at `path` with `bytes`.
pub fn parse(path: &str, bytes: &[u8]) -> Result<Vec<Package>, RecordError> {
    let err = |why: String| RecordError {
        path: path.to_string(),
        why,
    };
    if bytes.len() > MAX_RECORD {
        return Err(err(format!("larger than {MAX_RECORD} bytes")));
    }
    match record_kind(path) {
        Some(RecordKind::PythonMetadata) => {
            python_metadata(path, bytes).map(|p| vec![p]).map_err(err)
        }
        Some(RecordKind::PythonEgg) => python_egg(path, bytes).map(|p| vec![p]).map_err(err),
        Some(RecordKind::CondaMeta) => conda_meta(path, bytes).map_err(err),
        Some(RecordKind::DpkgStatus) => dpkg_status(path, bytes).map_err(err),
        Some(RecordKind::ApkInstalled) => apk_installed(path, bytes).map_err(err),
        None => Ok(Vec::new()),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A zipped egg: the `EGG-INFO/PKG-INFO` member, reported at the egg's path.
fn python_egg(path: &str, bytes: &[u8]) -> Result<Package, String> {
    let members = crate::db::zip_members(bytes).map_err(|e| format!("not a zipped egg: {e}"))?;
    let (_, info) = members
        .iter()
        .find(|(n, _)| n == "EGG-INFO/PKG-INFO")
        .ok_or("a zipped egg without EGG-INFO/PKG-INFO")?;
    python_metadata(path, info)
}

/// Core metadata (RFC 822 style headers up to the first blank line; continuation lines start
/// with whitespace).
fn python_metadata(path: &str, bytes: &[u8]) -> Result<Package, String> {
    let t = text(bytes);
    let mut name = None;
    let mut version = None;
    for (i, line) in t.lines().enumerate() {
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            match k.trim() {
                "Name" if name.is_none() => name = Some(v.trim().to_string()),
                "Version" if version.is_none() => version = Some(v.trim().to_string()),
                _ => {}
            }
        } else if !line.starts_with([' ', '\t']) && i == 0 {
            return Err("not core metadata (no `Key: value` header)".into());
        }
    }
    let name = name.filter(|n| !n.is_empty());
    let version = version.filter(|v| !v.is_empty());
    match (name, version) {
        (Some(name), Some(version)) => Ok(Package {
            ecosystem: "PyPI",
            name,
            version,
            source: None,
            path: path.to_string(),
        }),
        (None, None) => Err("no Name or Version header".into()),
        (None, _) => Err("no Name header".into()),
        (_, None) => Err("no Version header".into()),
    }
}

/// conda's `conda-meta/<name>-<version>-<build>.json`. A conda package of a Python
/// distribution (its `name` as on PyPI) is also reported as PyPI, since PyPI advisories apply to
/// the same code.
fn conda_meta(path: &str, bytes: &[u8]) -> Result<Vec<Package>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let field = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("no `{k}` string"))
    };
    let name = field("name")?;
    let version = field("version")?;
    let mut out = vec![Package {
        ecosystem: "conda",
        name: name.clone(),
        version: version.clone(),
        source: None,
        path: path.to_string(),
    }];
    // Python packages in conda carry a `python` dependency or a `site-packages` file.
    let pythonic = v
        .get("depends")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|d| {
            d.iter()
                .filter_map(|x| x.as_str())
                .any(|x| x.starts_with("python ") || x == "python" || x.starts_with("python_abi"))
        })
        || v.get("files")
            .and_then(serde_json::Value::as_array)
            .is_some_and(|f| {
                f.iter()
                    .filter_map(|x| x.as_str())
                    .any(|x| x.contains("site-packages/"))
            });
    if pythonic && name != "python" {
        out.push(Package {
            ecosystem: "PyPI",
            name,
            version,
            source: None,
            path: path.to_string(),
        });
    }
    Ok(out)
}

/// Paragraphs of `Key: value` lines separated by blank lines (dpkg's control format).
fn paragraphs(t: &str) -> impl Iterator<Item = Vec<(&str, &str)>> {
    t.split("\n\n").map(|p| {
        p.lines()
            .filter(|l| !l.starts_with([' ', '\t']))
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect()
    })
}

fn dpkg_status(path: &str, bytes: &[u8]) -> Result<Vec<Package>, String> {
    let t = text(bytes).replace("\r\n", "\n");
    let mut out = Vec::new();
    for (i, p) in paragraphs(&t).enumerate() {
        if p.is_empty() {
            continue;
        }
        let get = |k: &str| {
            p.iter()
                .find(|(kk, _)| kk.eq_ignore_ascii_case(k))
                .map(|(_, v)| *v)
                .filter(|v| !v.is_empty())
        };
        // status.d files (distroless) have no Status field: they list installed packages only.
        // Its files are on disk unless the package is gone (`not-installed`) or only its
        // configuration files remain (`config-files`): `unpacked` and `half-configured`
        // packages count, as they do for trivy and syft.
        if let Some(status) = get("Status") {
            if matches!(
                status.split_whitespace().nth(2),
                Some("not-installed" | "config-files")
            ) {
                continue;
            }
        }
        let (Some(name), Some(version)) = (get("Package"), get("Version")) else {
            return Err(format!("paragraph {} has no Package or Version", i + 1));
        };
        // `Source: name` or `Source: name (version)` when the source version differs.
        let source = get("Source").map(|s| match s.split_once('(') {
            Some((n, v)) => (
                n.trim().to_string(),
                Some(v.trim_end_matches(')').trim().to_string()),
            ),
            None => (s.to_string(), None),
        });
        out.push(Package {
            ecosystem: "Debian",
            name: name.to_string(),
            version: version.to_string(),
            source,
            path: path.to_string(),
        });
    }
    Ok(out)
}

fn apk_installed(path: &str, bytes: &[u8]) -> Result<Vec<Package>, String> {
    let t = text(bytes);
    let mut out = Vec::new();
    for (i, block) in t.split("\n\n").enumerate() {
        let get = |k: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(k))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        if block.trim().is_empty() {
            continue;
        }
        let (Some(name), Some(version)) = (get("P:"), get("V:")) else {
            return Err(format!("entry {} has no P: or V: line", i + 1));
        };
        out.push(Package {
            ecosystem: "Alpine",
            name: name.to_string(),
            version: version.to_string(),
            source: get("o:").map(|o| (o.to_string(), None)),
            path: path.to_string(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_path() {
        for (p, k) in [
            (
                "usr/lib/python3/dist-packages/torch-2.1.0+cu121.dist-info/METADATA",
                Some(RecordKind::PythonMetadata),
            ),
            (
                "/opt/conda/lib/python3.11/site-packages/numpy-1.26.0.dist-info/METADATA",
                Some(RecordKind::PythonMetadata),
            ),
            ("x/foo.egg-info/PKG-INFO", Some(RecordKind::PythonMetadata)),
            ("x/foo-1.0-py3.8.egg-info", Some(RecordKind::PythonMetadata)),
            (
                "opt/conda/conda-meta/pytorch-2.1.0-py3.11_cuda12.1.json",
                Some(RecordKind::CondaMeta),
            ),
            ("opt/conda/envs/ml/conda-meta/history", None),
            ("var/lib/dpkg/status", Some(RecordKind::DpkgStatus)),
            (
                "./var/lib/dpkg/status.d/libc6",
                Some(RecordKind::DpkgStatus),
            ),
            ("var/lib/dpkg/status.d/libc6.md5sums", None),
            ("lib/apk/db/installed", Some(RecordKind::ApkInstalled)),
            ("usr/share/doc/README", None),
        ] {
            assert_eq!(record_kind(p), k, "{p}");
        }
    }

    #[test]
    fn python_metadata_headers() {
        let m = b"Metadata-Version: 2.1\nName: torch\nVersion: 2.1.0+cu121\nSummary: x\n\nName: not-this\n";
        let p = parse("a/torch-2.1.0+cu121.dist-info/METADATA", m).unwrap();
        assert_eq!(
            (p[0].name.as_str(), p[0].version.as_str(), p[0].ecosystem),
            ("torch", "2.1.0+cu121", "PyPI")
        );
        let e = parse(
            "a/x.dist-info/METADATA",
            b"Metadata-Version: 2.1\nName: x\n",
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "a/x.dist-info/METADATA: no Version header");
        assert!(parse("a/x.dist-info/METADATA", b"\x00\x01garbage").is_err());
    }

    #[test]
    fn dpkg_paragraphs_sources_and_state() {
        let s = b"Package: libssl3\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u2\nSource: openssl\nDescription: x\n continued\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: libcudnn8\nStatus: install ok installed\nVersion: 8.9.2.26-1+cuda12.1\nSource: cudnn (8.9.2.26-1)\n";
        let p = parse("var/lib/dpkg/status", s).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].source, Some(("openssl".into(), None)));
        assert_eq!(
            p[1].source,
            Some(("cudnn".into(), Some("8.9.2.26-1".into())))
        );
        assert!(parse(
            "var/lib/dpkg/status",
            b"Package: x\nStatus: install ok installed\n"
        )
        .is_err());
    }

    #[test]
    fn conda_and_apk() {
        let c = br#"{"name": "pytorch", "version": "2.1.0", "build": "py3.11_cuda12.1_cudnn8.9.2_0", "depends": ["python >=3.11,<3.12.0a0"]}"#;
        let p = parse("opt/conda/conda-meta/pytorch-2.1.0-x.json", c).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].ecosystem, "PyPI");
        let c = br#"{"name": "cudatoolkit", "version": "11.8.0", "depends": []}"#;
        assert_eq!(
            parse("opt/conda/conda-meta/cudatoolkit.json", c)
                .unwrap()
                .len(),
            1
        );
        assert!(parse("opt/conda/conda-meta/x.json", b"{\"name\": 1}").is_err());
        let a = b"C:Q1abc=\nP:musl\nV:1.2.4-r2\no:musl\n\nP:busybox\nV:1.36.1-r5\n";
        let p = parse("lib/apk/db/installed", a).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].source, Some(("musl".into(), None)));
    }
}
