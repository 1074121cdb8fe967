//! Hostile inputs end in a clear verdict in bounded time and memory: zip bombs (deflate and
//! nesting), a 10 GiB sparse file, a sparse 10 GiB zip whose directory is at its end, pickles
//! with huge memo indices and deep nesting, and member names that are not UTF-8.

use mlguard_modelscan::{scan_bytes, scan_file, Options, Severity};
use std::time::{Duration, Instant};

/// A zip of `(name, body, deflate?)` members, written by hand.
fn zip(members: &[(&[u8], Vec<u8>, bool)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cd = Vec::new();
    for (name, body, deflate) in members {
        let data = if *deflate {
            miniz_oxide::deflate::compress_to_vec(body, 6)
        } else {
            body.clone()
        };
        let method: u16 = if *deflate { 8 } else { 0 };
        let off = out.len() as u32;
        let mut h = Vec::new();
        h.extend_from_slice(&20u16.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(&method.to_le_bytes());
        h.extend_from_slice(&[0; 8]);
        h.extend_from_slice(&(data.len() as u32).to_le_bytes());
        h.extend_from_slice(&(body.len() as u32).to_le_bytes());
        h.extend_from_slice(&(name.len() as u16).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(b"PK\x03\x04");
        out.extend_from_slice(&h);
        out.extend_from_slice(name);
        out.extend_from_slice(&data);
        cd.extend_from_slice(b"PK\x01\x02");
        cd.extend_from_slice(&20u16.to_le_bytes());
        cd.extend_from_slice(&h);
        cd.extend_from_slice(&[0; 10]);
        cd.extend_from_slice(&off.to_le_bytes());
        cd.extend_from_slice(name);
    }
    let cd_off = out.len() as u32;
    out.extend_from_slice(&cd);
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_off.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

const EVIL: &[u8] = b"cos\nsystem\n(S'id'\ntR.";

fn codes(r: &mlguard_modelscan::FileReport) -> Vec<&'static str> {
    r.findings.iter().map(|f| f.code).collect()
}

#[test]
fn deflate_bomb_is_not_verifiably_safe_within_the_limit() {
    // 64 MiB of zeros deflate to ~64 KiB; inflating is capped at 1 MiB here.
    let bomb = zip(&[(b"archive/data.pkl", vec![0u8; 64 << 20], true)]);
    let mut opts = Options::default();
    opts.max_inflate = 1 << 20;
    let start = Instant::now();
    let r = scan_bytes("model.pt", &bomb, &opts);
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(r.verdict(), "not-verifiably-safe", "{:?}", r.findings);
    assert!(
        r.findings[0]
            .reason
            .contains("inflates to more than 1048576 bytes"),
        "{:?}",
        r.findings
    );
    assert_eq!(r.findings[0].member.as_deref(), Some("archive/data.pkl"));
}

#[test]
fn nested_archives_stop_at_the_depth_limit() {
    let mut z = zip(&[(b"data.pkl", EVIL.to_vec(), false)]);
    for i in 0..6 {
        let name = format!("layer{i}.zip");
        z = zip(&[(name.as_bytes(), z, i % 2 == 0)]);
    }
    let r = scan_bytes("model.zip", &z, &Options::default());
    assert_eq!(r.verdict(), "not-verifiably-safe", "{:?}", r.findings);
    assert!(r
        .findings
        .iter()
        .any(|f| f.reason.contains("nested deeper than 4")));
    // Within the limit, the payload at the bottom is found with its full member path.
    let mut z = zip(&[(b"data.pkl", EVIL.to_vec(), false)]);
    z = zip(&[(b"inner.zip", z, true)]);
    let r = scan_bytes("model.zip", &z, &Options::default());
    assert_eq!(r.max_severity(), Some(Severity::Critical));
    assert_eq!(r.findings[0].member.as_deref(), Some("inner.zip/data.pkl"));
}

#[test]
fn ten_gib_sparse_files_are_judged_from_what_they_hold() {
    let dir = tempfile::tempdir().unwrap();
    // Zeros with a model's name: no known format, judged from its first bytes.
    let p = dir.path().join("model.pt");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(10 << 30).unwrap();
    drop(f);
    let start = Instant::now();
    let r = scan_file(&p, &Options::default());
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(r.size, 10 << 30);
    assert_eq!(r.verdict(), "not-verifiably-safe", "{:?}", r.findings);
    assert_eq!(codes(&r), ["MS005"]);
    // A 10 GiB Zip64 checkpoint: data.pkl first, then a 10 GiB hole, then the central directory
    // and the Zip64 end records (the directory's offset needs 64 bits). Found, read, judged,
    // and the hole never touched.
    let z = zip(&[(b"archive/data.pkl", EVIL.to_vec(), false)]);
    let cd_at = z.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    let eocd_at = z.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
    let (head, cd) = (&z[..cd_at], &z[cd_at..eocd_at]);
    let p = dir.path().join("big.pt");
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::File::create(&p).unwrap();
        f.write_all(head).unwrap();
        let cd_off: u64 = 10 << 30;
        f.seek(SeekFrom::Start(cd_off)).unwrap();
        f.write_all(cd).unwrap();
        let eocd64_off = cd_off + cd.len() as u64;
        let mut e = b"PK\x06\x06".to_vec();
        e.extend_from_slice(&44u64.to_le_bytes());
        e.extend_from_slice(&[45, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        e.extend_from_slice(&1u64.to_le_bytes());
        e.extend_from_slice(&1u64.to_le_bytes());
        e.extend_from_slice(&(cd.len() as u64).to_le_bytes());
        e.extend_from_slice(&cd_off.to_le_bytes());
        e.extend_from_slice(b"PK\x06\x07\0\0\0\0");
        e.extend_from_slice(&eocd64_off.to_le_bytes());
        e.extend_from_slice(&1u32.to_le_bytes());
        e.extend_from_slice(
            b"PK\x05\x06\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\0\0",
        );
        f.write_all(&e).unwrap();
    }
    let start = Instant::now();
    let r = scan_file(&p, &Options::default());
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(r.size > 10 << 30);
    assert_eq!(r.format, "pytorch-zip");
    assert_eq!(r.verdict(), "unsafe", "{:?}", r.findings);
    assert_eq!(r.findings[0].member.as_deref(), Some("archive/data.pkl"));
}

#[test]
fn huge_memo_indices_and_deep_nesting_are_bounded() {
    // LONG_BINPUT/LONG_BINGET with the largest index: a sparse memo, no allocation by index.
    let mut p = b"\x80\x04cos\nsystem\nr\xff\xff\xff\xff0j\xff\xff\xff\xff(S'id'\ntR.".to_vec();
    let r = scan_bytes("m.pkl", &p, &Options::default());
    assert_eq!(
        r.max_severity(),
        Some(Severity::Critical),
        "{:?}",
        r.findings
    );
    // 200,000 nested MARK/EMPTY_LIST: bounded, and either complete or not verifiably safe.
    p = b"\x80\x04".to_vec();
    p.extend(std::iter::repeat_n(b"(]".as_slice(), 200_000).flatten());
    p.push(b'.');
    let start = Instant::now();
    let r = scan_bytes("m.pkl", &p, &Options::default());
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(r.verdict(), "clean", "{:?}", r.findings);
    // Tuples nested 100,000 deep: values past the depth limit become unknown, no recursion.
    p = b"\x80\x04".to_vec();
    p.extend(std::iter::repeat_n(b")\x85".as_slice(), 100_000).flatten());
    p.push(b'.');
    let r = scan_bytes("m.pkl", &p, &Options::default());
    assert_eq!(r.verdict(), "clean", "{:?}", r.findings);
    // A stack over its limit: not verifiably safe.
    p = b"\x80\x04".to_vec();
    p.extend(std::iter::repeat_n(b'N', 1_100_000));
    let r = scan_bytes("m.pkl", &p, &Options::default());
    assert_eq!(r.verdict(), "not-verifiably-safe", "{:?}", r.findings);
    assert!(r.findings.iter().any(|f| f.reason.contains("limit: stack")));
}

#[test]
fn member_names_that_are_not_utf8_are_still_scanned() {
    let z = zip(&[(b"arch\xff\xfe/data.pkl", EVIL.to_vec(), false)]);
    let r = scan_bytes("model.pt", &z, &Options::default());
    assert_eq!(
        r.max_severity(),
        Some(Severity::Critical),
        "{:?}",
        r.findings
    );
    let m = r.findings[0].member.as_deref().unwrap();
    assert!(m.starts_with("arch\u{fffd}\u{fffd}/data.pkl"), "{m}");
    // A global name that is not UTF-8 in a protocol-0 pickle: not verifiably safe.
    let r = scan_bytes(
        "m.pkl",
        b"cos\xff\nsystem\n(S'id'\ntR.",
        &Options::default(),
    );
    assert_eq!(r.verdict(), "not-verifiably-safe", "{:?}", r.findings);
}
