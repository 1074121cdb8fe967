//! Renderings of a [`crate::scan::ScanReport`] for other tools, and the VEX documents that
//! mark its findings.
//!
//! Owns: [`sarif`] (SARIF 2.1.0: a rule per vulnerability ID, a result per finding, VEX-marked
//! findings as suppressed results, not-evaluated records as errors of `MLG-VULN-NOT-EVALUATED`),
//! [`cyclonedx`] (a CycloneDX 1.5 JSON BOM of the image's packages, optionally with its
//! vulnerabilities and their VEX analysis) and [`vex`] (reading OpenVEX and CycloneDX VEX
//! documents and setting [`crate::scan::Finding::vex`] on the findings they cover). All three
//! are pure: values in, JSON values out; the caller writes files.
//!
//! Must not touch: the result model itself (`crate::scan`, read-only here), matching and
//! severities (`crate::db`, `crate::severity`), terminal output, exit codes and file writing (the
//! `mlguard` binary), and the network (identifiers such as the OSV URL are only written, never
//! fetched). The format notes are in docs/image-scan.md.

pub mod cyclonedx;
pub mod sarif;
pub mod vex;

/// Lower-case hex SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut s = String::with_capacity(64);
    for b in d.as_ref() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The OSV page of a vulnerability ID.
pub(crate) fn osv_url(id: &str) -> String {
    format!("https://osv.dev/vulnerability/{}", pct_encode(id, b"-._~"))
}

/// Percent-encode every byte except ASCII letters, digits and `keep`.
pub(crate) fn pct_encode(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) use mlguard_core::text::{civil_from_days, days_from_civil};

/// RFC 3339 UTC timestamp (`2024-05-01T12:00:00Z`) of Unix seconds.
pub fn rfc3339_utc(unix: u64) -> String {
    let secs = unix as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

/// Parse an RFC 3339 date-time (`2023-01-08T18:02:03.647787998-06:00`, `...Z`) into Unix
/// seconds and nanoseconds, for ordering. A lower-case `t`/`z` and a space for `T` are
/// accepted, as RFC 3339 allows.
pub(crate) fn parse_rfc3339(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo) || d == 0 || d > month_days[(mo - 1) as usize] {
        return None;
    }
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos: u32 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..9 {
            nanos *= 10;
        }
    }
    let offset: i64 = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = i64::from(oh * 3600 + om * 60);
            if sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(y), mo, d);
    let t = days * 86_400 + i64::from(h * 3600 + mi * 60 + sec) - offset;
    Some((t, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_700_000_000), "2023-11-14T22:13:20Z");
        for t in [0u64, 951_782_400, 1_700_000_000, 4_102_444_799] {
            assert_eq!(parse_rfc3339(&rfc3339_utc(t)), Some((t as i64, 0)));
        }
        assert_eq!(
            parse_rfc3339("2023-01-08T18:02:03.647787998-06:00"),
            Some((1_673_222_523, 647_787_998))
        );
        assert_eq!(
            parse_rfc3339("2023-11-14T23:13:20.5+01:00"),
            Some((1_700_000_000, 500_000_000))
        );
        for bad in [
            "",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-02-29T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20+0100",
            "2023-11-14T22:13:20Zjunk",
            "２023-11-14T22:13:20Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
