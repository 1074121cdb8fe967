//! PyPI versions: PEP 440 through `pep440_rs` (epochs, pre, post, dev and local segments,
//! normalisation such as `1.0RC1` = `1.0rc1`).
//!
//! mlguard's rule for local versions (`2.1.0+cu121`, the CUDA builds of PyTorch): advisory
//! ranges are evaluated on the **public** version (`2.1.0`). A local build carries the upstream
//! code of its public version, so it has that version's vulnerabilities and fixes: with
//! `fixed: 2.1.1`, `2.1.0+cu121` is affected; with `fixed: 2.1.0`, it is fixed. pip-audit skips
//! packages with local versions instead, which hides them; plain PEP 440 ordering would put
//! `2.1.0+cu121` after `2.1.0`, which only matters when a bound is itself a public version the
//! local build equals, and then the public reading is the right one.

use super::VersionError;
use pep440_rs::Version;
use std::str::FromStr;

/// Parse a PEP 440 version as written (local segment kept).
pub fn parse(v: &str) -> Result<Version, VersionError> {
    Version::from_str(v.trim()).map_err(|e| VersionError {
        scheme: "PEP 440",
        version: v.to_string(),
        why: e.to_string(),
    })
}

/// Parse for advisory matching: the public version (local segment dropped).
pub fn parse_for_matching(v: &str) -> Result<Version, VersionError> {
    Ok(parse(v)?.without_local())
}

/// PEP 503 normalised project name: lower case, runs of `-`, `_`, `.` as one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep && !out.is_empty() {
            out.push('-');
        }
        sep = false;
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_versions_match_on_their_public_part() {
        let v = parse_for_matching("2.1.0+cu121").unwrap();
        assert_eq!(v, parse("2.1.0").unwrap());
        assert!(v < parse("2.1.1").unwrap());
        assert!(parse("2.1.0+cu121").unwrap() > parse("2.1.0").unwrap());
        assert!(parse("not a version").is_err());
    }

    #[test]
    fn names_are_normalised() {
        assert_eq!(normalize_name("Torch_Vision"), "torch-vision");
        assert_eq!(normalize_name("nvidia-cudnn-cu12"), "nvidia-cudnn-cu12");
        assert_eq!(normalize_name("a.-_b"), "a-b");
    }
}
