//! Debian package versions, ordered as dpkg orders them (`dpkg --compare-versions`):
//! `[epoch:]upstream[-revision]`; the epoch compares numerically; upstream and revision compare
//! by alternating non-digit and digit runs, where in the non-digit runs `~` sorts before
//! everything (even the end of the string), then the end, then letters, then other characters;
//! digit runs compare as numbers. A missing revision equals `0`.

use super::VersionError;
use std::cmp::Ordering;

/// A parsed Debian version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebVersion {
    pub epoch: u64,
    pub upstream: String,
    pub revision: String,
}

impl DebVersion {
    /// Parse as dpkg does: the epoch is the digits before the first `:`, the revision what
    /// follows the last `-`. Errors: an epoch that is not a number, an empty upstream, an
    /// upstream that does not start with a digit, characters dpkg does not allow.
    pub fn parse(v: &str) -> Result<DebVersion, VersionError> {
        let bad = |why: &str| VersionError {
            scheme: "Debian",
            version: v.to_string(),
            why: why.to_string(),
        };
        let s = v.trim();
        if s.is_empty() {
            return Err(bad("empty"));
        }
        if s.contains(char::is_whitespace) {
            return Err(bad("contains whitespace"));
        }
        let (epoch, rest) = match s.split_once(':') {
            Some((e, r)) => {
                let e: u64 = e.parse().map_err(|_| bad("the epoch is not a number"))?;
                (e, r)
            }
            None => (0, s),
        };
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((_, "")) => return Err(bad("empty revision after '-'")),
            Some((u, r)) => (u, r),
            None => (rest, ""),
        };
        if upstream.is_empty() {
            return Err(bad("empty upstream version"));
        }
        if !upstream.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(bad("the upstream version does not start with a digit"));
        }
        let allowed = |c: char, extra: &str| {
            c.is_ascii_alphanumeric() || ".+~".contains(c) || extra.contains(c)
        };
        if !upstream.chars().all(|c| allowed(c, "-:")) {
            return Err(bad("invalid character in the upstream version"));
        }
        if !revision.chars().all(|c| allowed(c, "")) {
            return Err(bad("invalid character in the revision"));
        }
        Ok(DebVersion {
            epoch,
            upstream: upstream.to_string(),
            revision: revision.to_string(),
        })
    }
}

impl Ord for DebVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(&self.upstream, &other.upstream))
            .then_with(|| verrevcmp(&self.revision, &other.revision))
    }
}

impl PartialOrd for DebVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Weight of a character in a non-digit run (dpkg's `order`); `None` is the end of the run.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`.
fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0usize, 0usize);
    while i < a.len() || j < b.len() {
        // The non-digit run.
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = order(a.get(i).copied().filter(|c| !c.is_ascii_digit()));
            let bc = order(b.get(j).copied().filter(|c| !c.is_ascii_digit()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            if i < a.len() && !a[i].is_ascii_digit() {
                i += 1;
            }
            if j < b.len() && !b[j].is_ascii_digit() {
                j += 1;
            }
        }
        // The digit run, as a number: skip leading zeros, then the longer run is larger, else
        // the first differing digit decides.
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        let si = i;
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        let sj = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let (da, db) = (&a[si..i], &b[sj..j]);
        let o = da.len().cmp(&db.len()).then_with(|| da.cmp(db));
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        DebVersion::parse(a)
            .unwrap()
            .cmp(&DebVersion::parse(b).unwrap())
    }

    #[test]
    fn dpkg_examples() {
        assert_eq!(cmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0", "1.0-0"), Ordering::Equal);
        assert_eq!(cmp("1:0.1", "2.0"), Ordering::Greater);
        assert_eq!(cmp("1.0a", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0+dfsg", "1.0a"), Ordering::Greater);
        assert_eq!(cmp("1.0~~", "1.0~"), Ordering::Less);
        assert_eq!(cmp("1.01", "1.1"), Ordering::Equal);
        assert_eq!(cmp("2.36-9+deb12u4", "2.36-9+deb12u10"), Ordering::Less);
        assert_eq!(cmp("1.2.3-1ubuntu0.1", "1.2.3-1"), Ordering::Greater);
    }

    #[test]
    fn malformed_versions_are_errors() {
        for v in ["", "a1.0", "x:1.0", "1.0 2", "1.0-", "1.0_1"] {
            assert!(DebVersion::parse(v).is_err(), "{v:?}");
        }
    }
}
