//! Version ordering against the package managers' own implementations, on generated pairs:
//! Debian against `dpkg --compare-versions` (one dpkg run per pair, in parallel batches), PEP
//! 440 against Python's `packaging` (one Python run for all pairs, the test venv's
//! MLGUARD_TEST_PYTHON). Without dpkg or the venv the parts are skipped with a message, unless
//! MLGUARD_REQUIRE_TOOLS is set: then they fail.

use mlguard_vuln::version::{debian::DebVersion, pypi};
use std::cmp::Ordering;
use std::io::Write;
use std::process::{Command, Stdio};

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn require_tools() -> bool {
    std::env::var_os("MLGUARD_REQUIRE_TOOLS").is_some()
}

fn debian_version(r: &mut Rng) -> String {
    let mut v = String::new();
    if r.below(5) == 0 {
        v.push_str(&format!("{}:", r.below(3)));
    }
    v.push_str(&r.below(12).to_string());
    for _ in 0..r.below(4) {
        v.push_str(r.pick(&[".", ".", "+", "~", "", "."]));
        v.push_str(r.pick(&[
            "0", "1", "2", "10", "01", "a", "b", "rc1", "dfsg", "git2024", "~", "ubuntu1",
            "deb12u3",
        ]));
    }
    if r.below(2) == 0 {
        v.push('-');
        v.push_str(r.pick(&[
            "1",
            "0",
            "2",
            "1ubuntu0.1",
            "9+deb12u4",
            "9+deb12u10",
            "1~bpo12+1",
            "0.1",
            "a",
        ]));
    }
    v
}

#[test]
fn debian_order_matches_dpkg() {
    if Command::new("dpkg").arg("--version").output().is_err() {
        assert!(!require_tools(), "dpkg is missing");
        eprintln!("skipped: dpkg not present");
        return;
    }
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let pairs: Vec<(String, String)> = (0..600)
        .map(|_| (debian_version(&mut r), debian_version(&mut r)))
        .filter(|(a, b)| DebVersion::parse(a).is_ok() && DebVersion::parse(b).is_ok())
        .collect();
    assert!(pairs.len() > 400, "{} valid pairs", pairs.len());
    let mut mismatches = Vec::new();
    for (a, b) in &pairs {
        let ours = DebVersion::parse(a)
            .unwrap()
            .cmp(&DebVersion::parse(b).unwrap());
        let lt = Command::new("dpkg")
            .args(["--compare-versions", a, "lt", b])
            .status()
            .unwrap()
            .success();
        let eq = Command::new("dpkg")
            .args(["--compare-versions", a, "eq", b])
            .status()
            .unwrap()
            .success();
        let theirs = if lt {
            Ordering::Less
        } else if eq {
            Ordering::Equal
        } else {
            Ordering::Greater
        };
        if ours != theirs {
            mismatches.push(format!("{a} vs {b}: ours {ours:?}, dpkg {theirs:?}"));
        }
    }
    println!(
        "{} pairs compared with dpkg, {} mismatches",
        pairs.len(),
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

fn pep440_version(r: &mut Rng) -> String {
    let mut v = String::new();
    if r.below(8) == 0 {
        v.push_str(&format!("{}!", r.below(3)));
    }
    let parts = 1 + r.below(3);
    let nums: Vec<String> = (0..parts).map(|_| r.below(4).to_string()).collect();
    v.push_str(&nums.join("."));
    match r.below(6) {
        0 => v.push_str(&format!("a{}", r.below(3))),
        1 => v.push_str(&format!("b{}", r.below(3))),
        2 => v.push_str(&format!("rc{}", r.below(3))),
        _ => {}
    }
    if r.below(4) == 0 {
        v.push_str(&format!(".post{}", r.below(3)));
    }
    if r.below(4) == 0 {
        v.push_str(&format!(".dev{}", r.below(3)));
    }
    if r.below(4) == 0 {
        v.push_str(r.pick(&["+cu121", "+cu118", "+cpu", "+local.1", "+1", "+abc.5"]));
    }
    v
}

#[test]
fn pep440_order_matches_packaging() {
    let python = match std::env::var_os("MLGUARD_TEST_PYTHON") {
        Some(p) if std::path::Path::new(&p).exists() => p,
        _ => {
            assert!(
                !require_tools(),
                "MLGUARD_TEST_PYTHON (the test venv) is missing"
            );
            eprintln!("skipped: MLGUARD_TEST_PYTHON not present");
            return;
        }
    };
    let mut r = Rng(0xD1B5_4A32_D192_ED03);
    let pairs: Vec<(String, String)> = (0..3000)
        .map(|_| (pep440_version(&mut r), pep440_version(&mut r)))
        .collect();
    let input: String = pairs.iter().map(|(a, b)| format!("{a} {b}\n")).collect();
    let script = "import sys\nfrom packaging.version import Version\nfor line in sys.stdin:\n    a, b = line.split()\n    x, y = Version(a), Version(b)\n    print(-1 if x < y else (0 if x == y else 1))\n";
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let theirs: Vec<i32> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(theirs.len(), pairs.len());
    let mut mismatches = Vec::new();
    for ((a, b), t) in pairs.iter().zip(theirs) {
        let ours = match pypi::parse(a).unwrap().cmp(&pypi::parse(b).unwrap()) {
            Ordering::Less => -1,
            Ordering::Equal => 0,
            Ordering::Greater => 1,
        };
        if ours != t {
            mismatches.push(format!("{a} vs {b}: ours {ours}, packaging {t}"));
        }
    }
    println!(
        "{} pairs compared with packaging, {} mismatches",
        pairs.len(),
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
