//! Retention: durations like `6y`, `90d`, `12h`, and the cutoff they make.

/// Nanoseconds in one unit of a retention duration (`y` is 365.25 days).
fn unit_ns(u: &str) -> Option<i128> {
    const S: i128 = 1_000_000_000;
    Some(match u {
        "s" => S,
        "m" => 60 * S,
        "h" => 3600 * S,
        "d" => 86_400 * S,
        "w" => 7 * 86_400 * S,
        "y" => 31_557_600 * S,
        _ => return None,
    })
}

/// Parses a retention duration: a positive whole number and a unit, `s`, `m`, `h`, `d`, `w`
/// or `y` (365.25 days), e.g. `6y`, `90d`, `12h`. Returns nanoseconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (n, unit) = s.split_at(digits);
    let bad = || {
        format!(
            "retention {s:?} is not a duration: write a whole number and a unit s, m, h, d, w or \
             y (365.25 days), e.g. 6y, 90d, 12h"
        )
    };
    let n: i128 = n.parse().map_err(|_| bad())?;
    let u = unit_ns(unit).ok_or_else(bad)?;
    if n == 0 {
        return Err(format!(
            "retention {s:?} is zero: it would drop every record"
        ));
    }
    i64::try_from(n * u).map_err(|_| format!("retention {s:?} is too long"))
}

/// The cutoff (Unix nanoseconds) for keeping `keep_ns` before `now_ns`.
pub fn cutoff(now_ns: i64, keep_ns: i64) -> i64 {
    now_ns.saturating_sub(keep_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("12h"), Ok(12 * 3600 * 1_000_000_000));
        assert_eq!(parse_duration("90d"), Ok(90 * 86_400 * 1_000_000_000));
        assert_eq!(parse_duration("6y"), Ok(6 * 31_557_600 * 1_000_000_000));
        for bad in ["", "6", "y", "6years", "-1d", "1.5y", "0d", "999999999999y"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
