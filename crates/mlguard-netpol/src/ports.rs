//! Sets of ports per protocol, and their printed form (`All Connections`, `TCP 1-79,81-65535`).

use smallvec::{smallvec, SmallVec};
use std::fmt;

/// The transport protocols NetworkPolicy knows. SCTP never opens TCP and vice versa.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Sctp,
    Tcp,
    Udp,
}

impl Protocol {
    /// All protocols, in printing order (netpol-analyzer sorts protocol names).
    pub const ALL: [Protocol; 3] = [Protocol::Sctp, Protocol::Tcp, Protocol::Udp];

    /// Parse an API protocol name (`TCP`, `UDP`, `SCTP`, exact case as the API server wants).
    pub fn parse(s: &str) -> Option<Protocol> {
        match s {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }

    fn idx(self) -> usize {
        self as usize
    }
}

pub const MIN_PORT: u16 = 1;
pub const MAX_PORT: u16 = 65535;

/// A set of ports of one protocol: sorted, disjoint, non-adjacent inclusive ranges in 1..=65535.
/// Up to two ranges (all ports, one port, all but one) are held inline: the sets an analysis
/// builds and combines for every pair of peers are almost all of this size, and are then
/// copied rather than allocated.
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct PortSet(Ranges);

impl Clone for PortSet {
    /// A copy of the ranges (SmallVec's own `clone` pushes them one by one).
    fn clone(&self) -> Self {
        PortSet(Ranges::from_slice(&self.0))
    }
}

type Ranges = SmallVec<[(u16, u16); 2]>;

impl PortSet {
    pub fn empty() -> Self {
        PortSet(SmallVec::new())
    }

    pub fn all() -> Self {
        PortSet(smallvec![(MIN_PORT, MAX_PORT)])
    }

    /// `lo..=hi`; empty when `lo > hi`.
    pub fn range(lo: u16, hi: u16) -> Self {
        let lo = lo.max(MIN_PORT);
        if lo > hi {
            Self::empty()
        } else {
            PortSet(smallvec![(lo, hi)])
        }
    }

    pub fn single(p: u16) -> Self {
        Self::range(p, p)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_all(&self) -> bool {
        self.0[..] == [(MIN_PORT, MAX_PORT)]
    }

    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.0
    }

    pub fn contains(&self, p: u16) -> bool {
        self.0.iter().any(|&(a, b)| a <= p && p <= b)
    }

    /// Is every port of `other` in `self`?
    pub fn contains_set(&self, other: &PortSet) -> bool {
        other.subtract(self).is_empty()
    }

    pub fn union(&self, other: &PortSet) -> PortSet {
        if other.0.is_empty() || self.is_all() {
            return self.clone();
        }
        if self.0.is_empty() || other.is_all() {
            return other.clone();
        }
        let mut v: Ranges = self.0.iter().chain(other.0.iter()).copied().collect();
        v.sort_unstable();
        let mut out = Ranges::with_capacity(v.len());
        for (a, b) in v {
            match out.last_mut() {
                Some(last) if u32::from(a) <= u32::from(last.1) + 1 => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        PortSet(out)
    }

    pub fn intersect(&self, other: &PortSet) -> PortSet {
        if self.is_all() {
            return other.clone();
        }
        if other.is_all() {
            return self.clone();
        }
        let mut out = Ranges::new();
        let (mut i, mut j) = (0, 0);
        while i < self.0.len() && j < other.0.len() {
            let (a1, b1) = self.0[i];
            let (a2, b2) = other.0[j];
            let lo = a1.max(a2);
            let hi = b1.min(b2);
            if lo <= hi {
                out.push((lo, hi));
            }
            if b1 < b2 {
                i += 1;
            } else {
                j += 1;
            }
        }
        PortSet(out)
    }

    pub fn subtract(&self, other: &PortSet) -> PortSet {
        if other.0.is_empty() || self.0.is_empty() {
            return self.clone();
        }
        if other.is_all() {
            return Self::empty();
        }
        let mut out = Ranges::new();
        for &(a, b) in &self.0 {
            let mut lo = u32::from(a);
            let hi = u32::from(b);
            for &(c, d) in &other.0 {
                let (c, d) = (u32::from(c), u32::from(d));
                if d < lo || c > hi {
                    continue;
                }
                if c > lo {
                    out.push((lo as u16, (c - 1) as u16));
                }
                lo = d + 1;
                if lo > hi {
                    break;
                }
            }
            if lo <= hi {
                out.push((lo as u16, hi as u16));
            }
        }
        PortSet(out)
    }
}

impl fmt::Display for PortSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(a, b)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if a == b {
                write!(f, "{a}")?;
            } else {
                write!(f, "{a}-{b}")?;
            }
        }
        Ok(())
    }
}

/// Allowed connections: a port set per protocol.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Conns([PortSet; 3]);

impl Conns {
    pub fn none() -> Self {
        Conns::default()
    }

    pub fn all() -> Self {
        Conns([PortSet::all(), PortSet::all(), PortSet::all()])
    }

    pub fn of(proto: Protocol, ports: PortSet) -> Self {
        let mut c = Conns::none();
        c.0[proto.idx()] = ports;
        c
    }

    pub fn get(&self, proto: Protocol) -> &PortSet {
        &self.0[proto.idx()]
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(PortSet::is_empty)
    }

    pub fn is_all(&self) -> bool {
        self.0.iter().all(PortSet::is_all)
    }

    pub fn allows(&self, proto: Protocol, port: u16) -> bool {
        self.get(proto).contains(port)
    }

    pub fn contains(&self, other: &Conns) -> bool {
        Protocol::ALL
            .iter()
            .all(|&p| self.get(p).contains_set(other.get(p)))
    }

    fn zip(&self, other: &Conns, f: impl Fn(&PortSet, &PortSet) -> PortSet) -> Conns {
        Conns([
            f(&self.0[0], &other.0[0]),
            f(&self.0[1], &other.0[1]),
            f(&self.0[2], &other.0[2]),
        ])
    }

    pub fn union(&self, other: &Conns) -> Conns {
        if other.is_empty() {
            return self.clone();
        }
        self.zip(other, PortSet::union)
    }

    pub fn intersect(&self, other: &Conns) -> Conns {
        if self.is_empty() || other.is_empty() {
            return Conns::none();
        }
        self.zip(other, PortSet::intersect)
    }

    pub fn subtract(&self, other: &Conns) -> Conns {
        if other.is_empty() {
            return self.clone();
        }
        self.zip(other, PortSet::subtract)
    }

    pub fn union_in_place(&mut self, other: &Conns) {
        if !other.is_empty() {
            *self = self.union(other);
        }
    }

    /// JSON form used in our own documents: `{"TCP": "1-79,81-65535"}`; empty protocols left out.
    pub fn protocols(&self) -> impl Iterator<Item = (Protocol, &PortSet)> {
        Protocol::ALL
            .into_iter()
            .map(|p| (p, self.get(p)))
            .filter(|(_, s)| !s.is_empty())
    }
}

impl fmt::Display for Conns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("All Connections");
        }
        if self.is_empty() {
            return f.write_str("No Connections");
        }
        for (i, (p, s)) in self.protocols().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{} {s}", p.as_str())?;
        }
        Ok(())
    }
}

/// Parse the printed form back (for comparing with expected outputs and for intents).
pub fn parse_conns(s: &str) -> Option<Conns> {
    let s = s.trim();
    match s {
        "All Connections" => return Some(Conns::all()),
        "No Connections" => return Some(Conns::none()),
        _ => {}
    }
    let mut out = Conns::none();
    let mut proto: Option<Protocol> = None;
    for part in s.split(',') {
        let part = part.trim();
        let range = match part.split_once(' ') {
            Some((p, rest)) => {
                proto = Some(Protocol::parse(p)?);
                rest.trim()
            }
            None => part,
        };
        let p = proto?;
        // Ports are 1-65535 and a range runs upwards: anything else is not a port set.
        let (lo, hi): (u16, u16) = match range.split_once('-') {
            Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
            None => {
                let n = range.parse().ok()?;
                (n, n)
            }
        };
        if lo == 0 || hi < lo {
            return None;
        }
        out = out.union(&Conns::of(p, PortSet::range(lo, hi)));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_algebra() {
        let a = PortSet::range(1, 100);
        let b = PortSet::range(50, 200);
        assert_eq!(a.union(&b), PortSet::range(1, 200));
        assert_eq!(a.intersect(&b), PortSet::range(50, 100));
        assert_eq!(a.subtract(&b), PortSet::range(1, 49));
        assert_eq!(
            PortSet::all().subtract(&PortSet::single(80)).to_string(),
            "1-79,81-65535"
        );
        assert_eq!(
            PortSet::single(5).union(&PortSet::single(6)),
            PortSet::range(5, 6)
        );
        assert!(PortSet::all().subtract(&PortSet::all()).is_empty());
    }

    /// The set as one bit per port, to check the range algebra against.
    fn bits(s: &PortSet) -> Vec<bool> {
        let mut v = vec![false; usize::from(MAX_PORT) + 1];
        for &(a, b) in s.ranges() {
            for p in a..=b {
                v[usize::from(p)] = true;
            }
        }
        v
    }

    /// A set of `n` random ranges (overlapping, touching or apart), built by union, of one
    /// range to many.
    fn random_set(seed: &mut u64, n: usize) -> PortSet {
        let mut next = || crate::xorshift(seed);
        let mut s = PortSet::empty();
        for _ in 0..n {
            // Mostly low ports, so ranges meet; now and then the whole top of the space.
            let lo = (next() % 200) as u16 + 1;
            let len = if next().is_multiple_of(8) {
                MAX_PORT - lo
            } else {
                (next() % 12) as u16
            };
            s = s.union(&PortSet::range(lo, lo.saturating_add(len)));
        }
        s
    }

    #[test]
    fn range_algebra_matches_the_ports_one_by_one() {
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        let mut long = 0;
        for round in 0..400 {
            let a = random_set(&mut seed, round % 9);
            let b = random_set(&mut seed, (round / 9) % 7);
            let (x, y) = (bits(&a), bits(&b));
            let check = |got: &PortSet, want: &dyn Fn(bool, bool) -> bool, op: &str| {
                let w: Vec<bool> = x.iter().zip(&y).map(|(&p, &q)| want(p, q)).collect();
                assert_eq!(bits(got), w, "{op} of {a:?} and {b:?} gave {got:?}");
                // Sorted, disjoint, non-adjacent, within 1..=65535.
                for r in got.ranges().windows(2) {
                    assert!(u32::from(r[0].1) + 1 < u32::from(r[1].0), "{got:?}");
                }
                assert!(got.ranges().iter().all(|&(lo, hi)| lo >= 1 && lo <= hi));
            };
            check(&a.union(&b), &|p, q| p || q, "union");
            check(&a.intersect(&b), &|p, q| p && q, "intersect");
            check(&a.subtract(&b), &|p, q| p && !q, "subtract");
            assert_eq!(a.contains_set(&b), b.subtract(&a).is_empty());
            assert_eq!(a == b, x == y);
            long += usize::from(a.ranges().len() > 3);
        }
        // Sets of many ranges were among those checked.
        assert!(long > 20, "only {long} sets of more than 3 ranges");
    }

    #[test]
    fn printing_and_parsing() {
        let c = Conns::of(Protocol::Tcp, PortSet::all().subtract(&PortSet::single(80)))
            .union(&Conns::of(Protocol::Udp, PortSet::single(53)));
        assert_eq!(c.to_string(), "TCP 1-79,81-65535,UDP 53");
        assert_eq!(parse_conns(&c.to_string()), Some(c));
        assert_eq!(Conns::all().to_string(), "All Connections");
        assert_eq!(parse_conns("All Connections"), Some(Conns::all()));
        assert_eq!(parse_conns("TCP 0"), None);
        assert_eq!(parse_conns("TCP 9-3"), None);
        assert_eq!(
            parse_conns("SCTP 1-65535,TCP 9090").unwrap().to_string(),
            "SCTP 1-65535,TCP 9090"
        );
    }
}
