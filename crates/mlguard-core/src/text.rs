//! Small text helpers several crates need and no dependency should be pulled in for: calendar
//! arithmetic for RFC 3339 timestamps (proleptic Gregorian, UTC) and URL percent-decoding.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month, day) of a day number: the inverse of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Decode `%XX` escapes. `Err(i)`: the escape at byte `i` is not two hex digits.
pub fn percent_decode(s: &str) -> Result<Vec<u8>, usize> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(i)?;
            out.push(hex);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    Ok(out)
}

/// [`percent_decode`], keeping a `%` that does not start a valid escape as it is; invalid
/// UTF-8 is replaced.
pub fn percent_decode_lossy(s: &str) -> String {
    let mut rest = s;
    let mut out = Vec::with_capacity(s.len());
    loop {
        match percent_decode(rest) {
            Ok(b) => {
                out.extend_from_slice(&b);
                break;
            }
            Err(i) => {
                out.extend_from_slice(&percent_decode(&rest[..i]).unwrap_or_default());
                out.push(b'%');
                rest = &rest[i + 1..];
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        for z in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn percent() {
        assert_eq!(percent_decode("a%2Bb%2fc").unwrap(), b"a+b/c");
        assert_eq!(percent_decode("x%2"), Err(1));
        assert_eq!(percent_decode("%zz"), Err(0));
        assert_eq!(percent_decode_lossy("100%25 %zz%41"), "100% %zzA");
    }
}
