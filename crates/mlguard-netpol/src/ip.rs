//! IP addresses, CIDRs and disjoint address ranges (IPv4 and IPv6 kept apart).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    fn max(self) -> u128 {
        match self {
            Family::V4 => u128::from(u32::MAX),
            Family::V6 => u128::MAX,
        }
    }
    fn bits(self) -> u32 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }
}

/// An inclusive address range of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IpRange {
    pub family: Family,
    pub lo: u128,
    pub hi: u128,
}

impl IpRange {
    pub fn whole(family: Family) -> Self {
        IpRange {
            family,
            lo: 0,
            hi: family.max(),
        }
    }

    pub fn single(ip: IpAddr) -> Self {
        let (family, v) = ip_value(ip);
        IpRange {
            family,
            lo: v,
            hi: v,
        }
    }

    pub fn contains_ip(&self, ip: IpAddr) -> bool {
        let (f, v) = ip_value(ip);
        f == self.family && self.lo <= v && v <= self.hi
    }

    pub fn contains(&self, o: &IpRange) -> bool {
        self.family == o.family && self.lo <= o.lo && o.hi <= self.hi
    }

    pub fn overlaps(&self, o: &IpRange) -> bool {
        self.family == o.family && self.lo <= o.hi && o.lo <= self.hi
    }
}

fn ip_value(ip: IpAddr) -> (Family, u128) {
    match ip {
        IpAddr::V4(a) => (Family::V4, u128::from(u32::from(a))),
        IpAddr::V6(a) => (Family::V6, u128::from(a)),
    }
}

/// Append the address `v` of `family` as `IpAddr`'s `Display` writes it.
fn push_ip(out: &mut String, family: Family, v: u128) {
    match family {
        Family::V4 => {
            for (i, octet) in (v as u32).to_be_bytes().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                if octet >= 100 {
                    out.push(char::from(b'0' + octet / 100));
                }
                if octet >= 10 {
                    out.push(char::from(b'0' + octet / 10 % 10));
                }
                out.push(char::from(b'0' + octet % 10));
            }
        }
        Family::V6 => {
            use std::fmt::Write;
            let _ = write!(out, "{}", Ipv6Addr::from(v));
        }
    }
}

fn ip_of(family: Family, v: u128) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(v as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(v)),
    }
}

impl IpRange {
    /// The first address of the range.
    pub fn first(&self) -> IpAddr {
        ip_of(self.family, self.lo)
    }

    /// `first-last`, also for a single address (the connectivity-list form).
    pub fn span(&self) -> String {
        let mut out = String::with_capacity(31);
        self.push_span(&mut out);
        out
    }

    /// Append [`IpRange::span`] to `out` (names of address ranges are built for every
    /// admission decision; this writes IPv4 addresses without the formatting machinery).
    pub fn push_span(&self, out: &mut String) {
        push_ip(out, self.family, self.lo);
        out.push('-');
        push_ip(out, self.family, self.hi);
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lo = ip_of(self.family, self.lo);
        if self.lo == self.hi {
            write!(f, "{lo}")
        } else {
            write!(f, "{lo}-{}", ip_of(self.family, self.hi))
        }
    }
}

/// A parsed CIDR. Host bits are masked, as the data plane does with `10.0.0.1/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub range: IpRange,
    pub prefix: u32,
}

impl Cidr {
    /// Parse `a.b.c.d/n` or `x::y/n`. The error text says what is wrong.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (addr, len) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not a CIDR (missing /prefix)"))?;
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{s}` is not a CIDR (bad address `{addr}`)"))?;
        let prefix: u32 = len
            .parse()
            .map_err(|_| format!("`{s}` is not a CIDR (bad prefix length `{len}`)"))?;
        let (family, v) = ip_value(ip);
        if prefix > family.bits() {
            return Err(format!(
                "`{s}` is not a CIDR (prefix length {prefix} > {})",
                family.bits()
            ));
        }
        let host_bits = family.bits() - prefix;
        let host_mask: u128 = if host_bits == 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        let lo = v & !host_mask & family.max();
        Ok(Cidr {
            range: IpRange {
                family,
                lo,
                hi: lo | host_mask,
            },
            prefix,
        })
    }
}

/// A set of addresses: sorted disjoint ranges (both families; V4 sorts first).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct IpSet(Vec<IpRange>);

impl IpSet {
    pub fn empty() -> Self {
        IpSet(Vec::new())
    }

    pub fn from_range(r: IpRange) -> Self {
        IpSet(vec![r])
    }

    pub fn ranges(&self) -> &[IpRange] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains_ip(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|r| r.contains_ip(ip))
    }

    /// Does the set contain all of `r`? Its ranges are disjoint and never adjacent (every
    /// set is made by `from_range`, `union` or `subtract`, which keep them so), so a range
    /// it covers lies within one of them.
    pub fn contains_range(&self, r: &IpRange) -> bool {
        self.0.iter().any(|x| x.contains(r))
    }

    pub fn overlaps_range(&self, r: &IpRange) -> bool {
        self.0.iter().any(|x| x.overlaps(r))
    }

    pub fn union(&self, o: &IpSet) -> IpSet {
        let mut v: Vec<IpRange> = self.0.iter().chain(o.0.iter()).copied().collect();
        v.sort_unstable();
        let mut out: Vec<IpRange> = Vec::with_capacity(v.len());
        for r in v {
            match out.last_mut() {
                Some(l) if l.family == r.family && (l.hi == u128::MAX || r.lo <= l.hi + 1) => {
                    l.hi = l.hi.max(r.hi);
                }
                _ => out.push(r),
            }
        }
        IpSet(out)
    }

    pub fn subtract(&self, o: &IpSet) -> IpSet {
        let mut out = Vec::new();
        for r in &self.0 {
            let mut pieces = vec![*r];
            for x in &o.0 {
                let mut next = Vec::with_capacity(pieces.len() + 1);
                for p in pieces {
                    if !p.overlaps(x) {
                        next.push(p);
                        continue;
                    }
                    if x.lo > p.lo {
                        next.push(IpRange { hi: x.lo - 1, ..p });
                    }
                    if x.hi < p.hi {
                        next.push(IpRange { lo: x.hi + 1, ..p });
                    }
                }
                pieces = next;
            }
            out.extend(pieces);
        }
        IpSet(out)
    }
}

/// Split the address space of the given families into disjoint ranges at every boundary of
/// `sets`: each returned range is either wholly inside or wholly outside each set.
pub fn split_at_boundaries(families: &[Family], sets: &[&IpSet]) -> Vec<IpRange> {
    let mut out = Vec::new();
    for &fam in families {
        // Boundaries: start points of ranges and one past their ends.
        let mut cuts: Vec<u128> = vec![0];
        for s in sets {
            for r in s.ranges().iter().filter(|r| r.family == fam) {
                cuts.push(r.lo);
                if r.hi < fam.max() {
                    cuts.push(r.hi + 1);
                }
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
        for (i, &lo) in cuts.iter().enumerate() {
            let hi = cuts.get(i + 1).map_or(fam.max(), |n| n - 1);
            out.push(IpRange {
                family: fam,
                lo,
                hi,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `span` writes what `IpAddr`'s `Display` writes, for addresses of every octet width.
    #[test]
    fn span_is_the_addresses_display() {
        let mut x: u32 = 0x0102_0304;
        for _ in 0..20_000 {
            x = x.wrapping_mul(2_654_435_761).wrapping_add(0x9e37_79b9);
            let (lo, hi) = (
                u128::from(x.min(x.rotate_left(7))),
                u128::from(x.max(x.rotate_left(7))),
            );
            let r = IpRange {
                family: Family::V4,
                lo,
                hi,
            };
            let want = format!(
                "{}-{}",
                Ipv4Addr::from(lo as u32),
                Ipv4Addr::from(hi as u32)
            );
            assert_eq!(r.span(), want);
        }
        for (lo, hi) in [(0u128, 0u128), (0, u128::from(u32::MAX)), (10, 255)] {
            let r = IpRange {
                family: Family::V4,
                lo,
                hi,
            };
            assert_eq!(
                r.span(),
                format!(
                    "{}-{}",
                    Ipv4Addr::from(lo as u32),
                    Ipv4Addr::from(hi as u32)
                )
            );
        }
        let r = IpRange {
            family: Family::V6,
            lo: 1,
            hi: u128::MAX,
        };
        assert_eq!(
            r.span(),
            format!("{}-{}", Ipv6Addr::from(1u128), Ipv6Addr::from(u128::MAX))
        );
    }

    #[test]
    fn cidr_masks_host_bits() {
        let c = Cidr::parse("10.1.2.3/8").unwrap();
        assert_eq!(c.range.to_string(), "10.0.0.0-10.255.255.255");
        assert_eq!(
            Cidr::parse("0.0.0.0/0").unwrap().range,
            IpRange::whole(Family::V4)
        );
        assert_eq!(
            Cidr::parse("1.2.3.4/32").unwrap().range.to_string(),
            "1.2.3.4"
        );
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("10.0.0/8").is_err());
        assert!(Cidr::parse("10.0.0.0").is_err());
        let v6 = Cidr::parse("fd00::/8").unwrap();
        assert_eq!(v6.range.family, Family::V6);
        assert_eq!(
            Cidr::parse("::/0").unwrap().range,
            IpRange::whole(Family::V6)
        );
    }

    #[test]
    fn split_and_subtract() {
        let a = IpSet::from_range(Cidr::parse("10.0.0.0/8").unwrap().range);
        let b = IpSet::from_range(Cidr::parse("10.1.0.0/16").unwrap().range);
        let d = a.subtract(&b);
        assert_eq!(d.ranges().len(), 2);
        assert!(!d.contains_ip("10.1.2.3".parse().unwrap()));
        assert!(d.contains_ip("10.2.0.0".parse().unwrap()));
        let parts = split_at_boundaries(&[Family::V4], &[&a, &b]);
        let shown: Vec<String> = parts.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "0.0.0.0-9.255.255.255",
                "10.0.0.0-10.0.255.255",
                "10.1.0.0-10.1.255.255",
                "10.2.0.0-10.255.255.255",
                "11.0.0.0-255.255.255.255"
            ]
        );
    }

    /// `contains_range` (any one range of the set holds it) answers as its definition does
    /// (nothing of the range is left once the set is taken away), for sets made by union and
    /// subtraction of ranges that overlap, touch or lie apart, in both families.
    #[test]
    fn contains_range_is_what_subtraction_leaves() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || crate::xorshift(&mut seed);
        let (mut held, mut not) = (0, 0);
        for _ in 0..2000 {
            // Sets of long ranges, asked about short ones: both answers come up often.
            let range = |next: &mut dyn FnMut() -> u64, most: u64| {
                let family = if next().is_multiple_of(4) {
                    Family::V6
                } else {
                    Family::V4
                };
                let lo = u128::from(next() % 64);
                IpRange {
                    family,
                    lo,
                    hi: lo + u128::from(next() % most),
                }
            };
            let mut set = IpSet::empty();
            for _ in 0..next() % 8 {
                let r = IpSet::from_range(range(&mut next, 24));
                set = if next().is_multiple_of(3) {
                    set.subtract(&r)
                } else {
                    set.union(&r)
                };
            }
            let r = range(&mut next, 4);
            let want = IpSet::from_range(r).subtract(&set).is_empty();
            assert_eq!(set.contains_range(&r), want, "{r} in {:?}", set.ranges());
            *(if want { &mut held } else { &mut not }) += 1;
        }
        assert!(held > 100 && not > 100, "{held} held, {not} not");
    }
}
