//! Version schemes of the ecosystems the scanner matches: each parses a version string and
//! orders versions exactly as its package manager does.

pub mod debian;
pub mod pypi;

use std::cmp::Ordering;

/// A version that could not be read, with the scheme and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{scheme} version {version:?}: {why}")]
#[non_exhaustive]
pub struct VersionError {
    pub scheme: &'static str,
    pub version: String,
    pub why: String,
}

/// The ecosystems whose versions can be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scheme {
    /// PEP 440 (PyPI); local versions are compared by their public part (see [`pypi`]).
    Pypi,
    /// dpkg's ordering (Debian, Ubuntu).
    Debian,
    /// Semantic Versioning 2.0.0 precedence.
    Semver,
}

impl Scheme {
    /// Compare two version strings in this scheme.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        match self {
            Scheme::Pypi => Ok(pypi::parse_for_matching(a)?.cmp(&pypi::parse_for_matching(b)?)),
            Scheme::Debian => Ok(debian::DebVersion::parse(a)?.cmp(&debian::DebVersion::parse(b)?)),
            Scheme::Semver => semver_cmp(a, b),
        }
    }
}

/// SemVer 2.0.0 precedence: major.minor.patch numerically, a pre-release sorts before its
/// release, pre-release identifiers compare numerically when numeric, build metadata ignored.
/// A leading `v` is accepted, as OSV's Go records write it.
pub fn semver_cmp(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let pa = semver_parse(a)?;
    let pb = semver_parse(b)?;
    let core = pa.0.cmp(&pb.0);
    if core != Ordering::Equal {
        return Ok(core);
    }
    Ok(match (pa.1.is_empty(), pb.1.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => {
            for (x, y) in pa.1.iter().zip(&pb.1) {
                let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => x.cmp(y),
                };
                if o != Ordering::Equal {
                    return Ok(o);
                }
            }
            pa.1.len().cmp(&pb.1.len())
        }
    })
}

type SemverParts<'a> = ([u64; 3], Vec<&'a str>);

fn semver_parse(v: &str) -> Result<SemverParts<'_>, VersionError> {
    let bad = |why: &str| VersionError {
        scheme: "SemVer",
        version: v.to_string(),
        why: why.to_string(),
    };
    let s = v.strip_prefix('v').unwrap_or(v);
    let s = s.split('+').next().unwrap_or(s);
    let (core, pre) = match s.split_once('-') {
        Some((c, p)) => (c, p.split('.').collect()),
        None => (s, Vec::new()),
    };
    let nums: Vec<&str> = core.split('.').collect();
    if nums.len() != 3 {
        return Err(bad("not MAJOR.MINOR.PATCH"));
    }
    let mut out = [0u64; 3];
    for (o, n) in out.iter_mut().zip(&nums) {
        *o = n
            .parse()
            .map_err(|_| bad("a version number is not a number"))?;
    }
    if pre.iter().any(|p: &&str| p.is_empty()) {
        return Err(bad("empty pre-release identifier"));
    }
    Ok((out, pre))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_precedence_follows_the_spec_example() {
        // semver.org §11: 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-alpha.beta < 1.0.0-beta <
        // 1.0.0-beta.2 < 1.0.0-beta.11 < 1.0.0-rc.1 < 1.0.0.
        let order = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "v1.0.1+build.5",
            "2.0.0",
        ];
        for w in order.windows(2) {
            assert_eq!(
                semver_cmp(w[0], w[1]),
                Ok(Ordering::Less),
                "{} < {}",
                w[0],
                w[1]
            );
        }
        assert_eq!(semver_cmp("1.0.0+a", "1.0.0+b"), Ok(Ordering::Equal));
        assert!(semver_cmp("1.0", "1.0.0").is_err());
    }
}
