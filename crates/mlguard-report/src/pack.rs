//! The evidence pack (docs/report.md): a ZIP of the HTML report, the findings JSON, SARIF and
//! any other inputs, a manifest of every file with its SHA-256, and an Ed25519 signature over
//! the manifest (a C2SP signed note, with the key texts of the audit trail's checkpoints).
//!
//! [`verify`] refuses a pack if any byte of it changed: contents are covered by the manifest's
//! hashes, the manifest by the signature, and the archive's structure by the rule that a pack
//! is exactly the bytes mlguard writes for its files (stored entries, fixed timestamps).

use mlguard_audit::trail::note;
pub use mlguard_audit::trail::note::{KeyError, Signer, Verifier};
use serde_json::{json, Value};
use std::fmt;

/// The `format` of a pack's manifest, and the first line of its signed note.
pub const PACK_FORMAT: &str = "mlguard.evidence-pack/v1";
/// The manifest's name in the pack.
pub const MANIFEST: &str = "manifest.json";
/// The signed note's name in the pack (always the last file).
pub const SIGNATURE: &str = "manifest.sig";

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A file the pack was made from (listed in the manifest, whether or not it is inside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackInput {
    /// The path as given.
    pub file: String,
    pub sha256: String,
    /// `scanned` (an input of the scan, from the findings JSON), `findings`, `previous`,
    /// `image-scan`, `model-scan`.
    pub role: String,
}

/// What goes into a pack.
#[derive(Debug, Clone)]
pub struct PackSpec {
    /// Files inside the pack, in order: `(name in the pack, contents)`.
    pub files: Vec<(String, Vec<u8>)>,
    pub inputs: Vec<PackInput>,
    pub tool_version: String,
    /// When the pack was made, RFC 3339 UTC (the caller reads the clock).
    pub created: String,
}

/// Why a pack could not be made.
#[derive(Debug)]
pub enum PackError {
    /// A file name that is reserved, repeated, or not a plain relative path.
    BadName(String),
    Zip(String),
    Sign(String),
}

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadName(n) => write!(f, "cannot pack a file named `{n}`"),
            Self::Zip(e) => write!(f, "cannot write the pack: {e}"),
            Self::Sign(e) => write!(f, "cannot sign the manifest: {e}"),
        }
    }
}

impl std::error::Error for PackError {}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n != MANIFEST
        && n != SIGNATURE
        && !n.starts_with('/')
        && !n.contains('\\')
        && !n.chars().any(char::is_control)
        && n.split('/').all(|p| !p.is_empty() && p != "." && p != "..")
}

/// The signed note's text for a manifest.
fn note_text(manifest: &[u8]) -> String {
    format!(
        "{PACK_FORMAT}\n{MANIFEST} sha256:{}\n",
        sha256_hex(manifest)
    )
}

/// The manifest JSON of a pack.
fn manifest(spec: &PackSpec, signer: &Signer) -> Vec<u8> {
    let files: Vec<Value> = spec
        .files
        .iter()
        .map(|(n, d)| json!({"name": n, "sha256": sha256_hex(d), "size": d.len()}))
        .collect();
    let inputs: Vec<Value> = spec
        .inputs
        .iter()
        .map(|i| json!({"file": i.file, "sha256": i.sha256, "role": i.role}))
        .collect();
    let v = json!({
        "format": PACK_FORMAT,
        "tool": {"name": "mlguard", "version": spec.tool_version},
        "created": spec.created,
        "key": {"name": signer.name(), "id": format!("{:08x}", signer.key_id())},
        "files": files,
        "inputs": inputs,
    });
    let mut out = Vec::new();
    crate::jsonout::write_pretty_sorted(&v, &mut out).expect("writing to a Vec");
    out
}

/// The pack's bytes: the files, `manifest.json`, `manifest.sig`.
pub fn build(spec: &PackSpec, signer: &Signer) -> Result<Vec<u8>, PackError> {
    for (i, (n, _)) in spec.files.iter().enumerate() {
        if !valid_name(n) || spec.files[..i].iter().any(|(m, _)| m == n) {
            return Err(PackError::BadName(n.clone()));
        }
    }
    let man = manifest(spec, signer);
    let sig =
        note::sign(&note_text(&man), &[signer]).map_err(|e| PackError::Sign(e.to_string()))?;
    let mut entries: Vec<(&str, &[u8])> = spec
        .files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    entries.push((MANIFEST, &man));
    entries.push((SIGNATURE, sig.as_bytes()));
    crate::zip::write(&entries).map_err(|e| PackError::Zip(e.to_string()))
}

/// A pack that verified.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The manifest, parsed.
    pub manifest: Value,
    /// Files inside (not counting the manifest and signature): name and size.
    pub files: Vec<(String, usize)>,
    /// The key that signed.
    pub key_name: String,
}

/// Why a pack did not verify: each names the file (or the signature) at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// Not an archive mlguard wrote, or its structure was altered.
    Archive(String),
    /// `manifest.sig` is missing, malformed, or not signed by the key.
    Signature(String),
    /// `manifest.json` is not the signed one, or is malformed.
    Manifest(String),
    /// A file's contents differ from the manifest, or a file was added or removed.
    File { name: String, problem: String },
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Archive(e) => write!(f, "archive: {e}"),
            Self::Signature(e) => write!(f, "{SIGNATURE}: {e}"),
            Self::Manifest(e) => write!(f, "{MANIFEST}: {e}"),
            Self::File { name, problem } => write!(f, "{name}: {problem}"),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Check a pack against the public key that should have signed it.
pub fn verify(bytes: &[u8], key: &Verifier) -> Result<Verified, VerifyError> {
    let entries = crate::zip::read_entries(bytes).map_err(|e| VerifyError::Archive(e.0))?;
    let n = entries.len();
    if n < 2 || entries[n - 1].0 != SIGNATURE || entries[n - 2].0 != MANIFEST {
        return Err(VerifyError::Archive(format!(
            "the last two files must be {MANIFEST} and {SIGNATURE}"
        )));
    }
    let sig = &entries[n - 1].1;
    let man = &entries[n - 2].1;
    let opened = note::open(sig, std::slice::from_ref(key)).map_err(|e| {
        VerifyError::Signature(format!(
            "the signature does not verify with key {} ({:08x}): {e}",
            key.name(),
            key.key_id()
        ))
    })?;
    if opened.text != note_text(man) {
        return Err(VerifyError::Manifest(
            "its SHA-256 is not the one the signature covers (the manifest was changed)".to_owned(),
        ));
    }
    let m: Value =
        serde_json::from_slice(man).map_err(|e| VerifyError::Manifest(format!("not JSON: {e}")))?;
    if m.get("format").and_then(Value::as_str) != Some(PACK_FORMAT) {
        return Err(VerifyError::Manifest(format!(
            "field `format` is not {PACK_FORMAT}"
        )));
    }
    let listed = m
        .get("files")
        .and_then(Value::as_array)
        .ok_or_else(|| VerifyError::Manifest("field `files` is missing".to_owned()))?;
    let inside = &entries[..n - 2];
    let mut files = Vec::new();
    for (i, l) in listed.iter().enumerate() {
        let name = l.get("name").and_then(Value::as_str).unwrap_or_default();
        let want = l.get("sha256").and_then(Value::as_str).unwrap_or_default();
        let Some((_, data)) = inside.iter().find(|(e, _)| e == name) else {
            return Err(VerifyError::File {
                name: name.to_owned(),
                problem: "listed in the manifest but missing from the pack".to_owned(),
            });
        };
        if inside.get(i).map(|e| e.0.as_str()) != Some(name) {
            return Err(VerifyError::Archive(format!(
                "{name}: not in the manifest's order"
            )));
        }
        let got = sha256_hex(data);
        if got != want || l.get("size").and_then(Value::as_u64) != Some(data.len() as u64) {
            return Err(VerifyError::File {
                name: name.to_owned(),
                problem: format!("contents changed: SHA-256 {got}, the manifest says {want}"),
            });
        }
        files.push((name.to_owned(), data.len()));
    }
    if let Some((extra, _)) = inside.get(listed.len()..).and_then(|r| r.first()) {
        return Err(VerifyError::File {
            name: extra.clone(),
            problem: "in the pack but not in the manifest".to_owned(),
        });
    }
    // Last, the structure: contents are right, so any other changed byte is in a header.
    crate::zip::check_canonical(bytes, &entries).map_err(|e| VerifyError::Archive(e.0))?;
    Ok(Verified {
        manifest: m,
        files,
        key_name: key.name().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

    fn spec() -> PackSpec {
        PackSpec {
            files: vec![
                (
                    "report.html".to_owned(),
                    b"<!DOCTYPE html><p>hi</p>\n".to_vec(),
                ),
                ("findings.json".to_owned(), b"{\"findings\": []}\n".to_vec()),
                ("findings.sarif".to_owned(), b"{}\n".to_vec()),
            ],
            inputs: vec![PackInput {
                file: "examples/a.yaml".to_owned(),
                sha256: sha256_hex(b"a"),
                role: "scanned".to_owned(),
            }],
            tool_version: "0.1.0".to_owned(),
            created: "2026-11-28T14:00:00Z".to_owned(),
        }
    }

    fn keys() -> (Signer, Verifier) {
        (
            Signer::from_key_text(SKEY).unwrap(),
            Verifier::from_key_text(VKEY).unwrap(),
        )
    }

    #[test]
    fn a_pack_verifies_and_lists_its_files() {
        let (s, v) = keys();
        let pack = build(&spec(), &s).unwrap();
        let ok = verify(&pack, &v).unwrap();
        assert_eq!(
            ok.files,
            vec![
                ("report.html".to_owned(), 25),
                ("findings.json".to_owned(), 17),
                ("findings.sarif".to_owned(), 3)
            ]
        );
        assert_eq!(ok.manifest["inputs"][0]["role"], "scanned");
        assert_eq!(ok.manifest["key"]["id"], "c74f20a3");
        // Deterministic for the same inputs and time.
        assert_eq!(build(&spec(), &s).unwrap(), pack);
    }

    #[test]
    fn any_changed_byte_fails_verification() {
        let (s, v) = keys();
        let pack = build(&spec(), &s).unwrap();
        for i in 0..pack.len() {
            for bit in [0x01u8, 0x80] {
                let mut t = pack.clone();
                t[i] ^= bit;
                assert!(
                    verify(&t, &v).is_err(),
                    "byte {i} bit {bit:#x} changed, still verified"
                );
            }
        }
        assert!(verify(&pack[..pack.len() - 1], &v).is_err());
        let mut longer = pack.clone();
        longer.push(b'\n');
        assert!(verify(&longer, &v).is_err());
    }

    #[test]
    fn errors_name_the_file_or_signature() {
        let (s, v) = keys();
        // A file changed and the manifest rewritten to match, but not re-signed.
        let mut other = spec();
        other.files[0].1 = b"<p>forged</p>".to_vec();
        let (mallory, _) = Signer::generate("Mallory").unwrap();
        let forged = build(&other, &Signer::from_key_text(&mallory).unwrap()).unwrap();
        let e = verify(&forged, &v).unwrap_err();
        assert!(matches!(e, VerifyError::Signature(_)), "{e}");
        assert!(
            e.to_string()
                .starts_with("manifest.sig: the signature does not verify with key PeterNeumann"),
            "{e}"
        );

        // Swap in the report of another, validly signed pack: the manifest hash differs.
        let good = build(&spec(), &s).unwrap();
        let entries_good = crate::zip::read(&good).unwrap();
        let entries_other = crate::zip::read(&build(&other, &s).unwrap()).unwrap();
        let mut mixed = entries_good.clone();
        mixed[0] = entries_other[0].clone();
        let e = verify(&crate::zip::write(&mixed).unwrap(), &v).unwrap_err();
        assert_eq!(
            e,
            VerifyError::File {
                name: "report.html".to_owned(),
                problem: format!(
                    "contents changed: SHA-256 {}, the manifest says {}",
                    sha256_hex(b"<p>forged</p>"),
                    sha256_hex(b"<!DOCTYPE html><p>hi</p>\n")
                )
            }
        );
        // A file added.
        let mut added = entries_good.clone();
        added.insert(3, ("extra.txt".to_owned(), b"x".to_vec()));
        let e = verify(&crate::zip::write(&added).unwrap(), &v).unwrap_err();
        assert_eq!(
            e.to_string(),
            "extra.txt: in the pack but not in the manifest"
        );
        // A file removed.
        let mut removed = entries_good;
        removed.remove(1);
        let e = verify(&crate::zip::write(&removed).unwrap(), &v).unwrap_err();
        assert_eq!(
            e.to_string(),
            "findings.json: listed in the manifest but missing from the pack"
        );
    }

    /// The manifest example of docs/report.md has exactly the fields a real manifest has.
    #[test]
    fn docs_manifest_example_has_the_real_shape() {
        fn shape(v: &Value) -> Value {
            match v {
                Value::Object(m) => {
                    Value::Object(m.iter().map(|(k, x)| (k.clone(), shape(x))).collect())
                }
                Value::Array(a) => Value::Array(a.iter().take(1).map(shape).collect()),
                Value::String(_) => json!("s"),
                Value::Number(_) => json!(0),
                other => other.clone(),
            }
        }
        let doc = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/report.md"),
        )
        .unwrap();
        let start = doc.find("```json\n").expect("json block") + 8;
        let end = start + doc[start..].find("\n```").unwrap();
        let example: Value = serde_json::from_str(&doc[start..end]).unwrap();
        let (s, _) = keys();
        let real: Value = serde_json::from_slice(&manifest(&spec(), &s)).unwrap();
        assert_eq!(shape(&example), shape(&real));
        assert_eq!(example["format"], PACK_FORMAT);
        // And it is written as the manifest is: keys sorted, two-space indent.
        let mut again = Vec::new();
        crate::jsonout::write_pretty_sorted(&example, &mut again).unwrap();
        assert_eq!(
            String::from_utf8(again).unwrap(),
            format!("{}\n", &doc[start..end])
        );
    }

    #[test]
    fn reserved_and_unsafe_names_are_refused() {
        let (s, _) = keys();
        for bad in [
            "manifest.json",
            "manifest.sig",
            "../x",
            "/etc/x",
            "a\\b",
            "",
            "a//b",
        ] {
            let mut sp = spec();
            sp.files.push((bad.to_owned(), Vec::new()));
            assert!(
                matches!(build(&sp, &s), Err(PackError::BadName(_))),
                "{bad}"
            );
        }
        let mut sp = spec();
        sp.files.push(("report.html".to_owned(), Vec::new()));
        assert!(build(&sp, &s).is_err());
    }
}
