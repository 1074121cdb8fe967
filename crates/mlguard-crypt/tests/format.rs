//! The encrypted-model file end to end with a local key: round trips at segment boundaries,
//! every kind of tampering detected with nothing left behind, range reads, rewrap, streams.

use mlguard_crypt::file::{
    decrypt_stream, encrypt_file, encrypt_file_with, encrypt_stream, no_progress, read_header,
    rewrap_file, tree_files, Decryptor, EncryptOptions,
};
use mlguard_crypt::format::{Header, Meta, ALGORITHM};
use mlguard_crypt::provider::local::LocalKey;
use mlguard_crypt::provider::KeyProvider;
use mlguard_crypt::stream::{self, Body, FIRST_PLAIN, PLAIN, SEGMENT};
use mlguard_crypt::{DataKey, Error};
use std::path::{Path, PathBuf};

fn plaintext(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 + i / 997) as u8).collect()
}

fn keys() -> (Vec<Box<dyn KeyProvider>>, LocalKey) {
    let a = LocalKey::generate().unwrap();
    let b = LocalKey::generate().unwrap();
    (vec![Box::new(a)], b)
}

fn enc(dir: &Path, plain: &[u8], p: &[Box<dyn KeyProvider>], digest: bool) -> PathBuf {
    let input = dir.join("model.safetensors");
    std::fs::write(&input, plain).unwrap();
    let out = dir.join("model.safetensors.enc");
    encrypt_file(&input, &out, p, &EncryptOptions { digest }, &no_progress).unwrap();
    out
}

/// Files in `dir` other than the given ones (temporary files must not survive a failure).
fn leftovers(dir: &Path, keep: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect()
}

#[test]
fn round_trip_at_segment_boundaries() {
    let (p, _) = keys();
    for n in [
        0,
        1,
        FIRST_PLAIN,
        FIRST_PLAIN + 1,
        FIRST_PLAIN + 2 * PLAIN,
        2 * SEGMENT + 7,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let plain = plaintext(n);
        let e = enc(dir.path(), &plain, &p, n % 2 == 1);
        let d = Decryptor::open(&e, &p).unwrap();
        assert_eq!(d.size(), n as u64);
        assert_eq!(d.header().meta.name, "model.safetensors");
        assert_eq!(d.header().meta.sha256.is_some(), n % 2 == 1);
        let out = dir.path().join("out");
        d.decrypt_to(&out, &no_progress).unwrap();
        assert!(std::fs::read(&out).unwrap() == plain, "size {n}");
        // No plaintext byte appears in the ciphertext's body at its own offset.
        let ct = std::fs::read(&e).unwrap();
        if n > 64 {
            assert!(!ct.windows(64).any(|w| w == &plain[..64]));
        }
    }
}

#[test]
fn wrong_key_is_an_authentication_failure() {
    let dir = tempfile::tempdir().unwrap();
    let (p, other) = keys();
    let e = enc(dir.path(), &plaintext(1000), &p, false);
    let err = Decryptor::open(&e, &[Box::new(other) as Box<dyn KeyProvider>]).unwrap_err();
    assert!(matches!(err, Error::NoMatchingKey(_)), "{err}");
    assert!(err.is_auth());
    assert!(err.to_string().contains("local (kid="), "{err}");
}

fn assert_fails_cleanly(dir: &Path, e: &Path, p: &[Box<dyn KeyProvider>], what: &str) {
    let out = dir.join("plain.out");
    let r = Decryptor::open(e, p).and_then(|d| d.decrypt_to(&out, &no_progress));
    let err = r.expect_err(what);
    assert!(
        err.is_auth(),
        "{what}: not an authentication failure: {err}"
    );
    assert!(!out.exists(), "{what}: plaintext left behind");
    let left = leftovers(dir, &["model.safetensors", "model.safetensors.enc"]);
    assert!(left.is_empty(), "{what}: left {left:?}");
    // The stream path refuses it too.
    let mut sink = Vec::new();
    let s = decrypt_stream(
        &mut std::fs::File::open(e).unwrap(),
        &mut sink,
        p,
        &no_progress,
    );
    assert!(s.is_err(), "{what}: the stream decrypt accepted it");
}

#[test]
fn any_modified_byte_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = keys();
    let plain = plaintext(2 * SEGMENT + 100);
    let e = enc(dir.path(), &plain, &p, false);
    let orig = std::fs::read(&e).unwrap();
    let (h, hlen) = Header::parse(&orig).unwrap();
    // One byte in: the meta (name), the stanzas' JSON (kid), the MAC, the stream header, each
    // segment's ciphertext and each tag.
    let name_at = orig.windows(5).position(|w| w == b"model").unwrap();
    let kid = h.stanzas[0].args["kid"].as_bytes().to_vec();
    let kid_at = orig.windows(kid.len()).position(|w| w == kid).unwrap();
    let positions = [
        name_at,
        kid_at + 3,
        hlen - 1,
        hlen + 5,
        hlen + stream::HEADER + 10,
        hlen + SEGMENT - 1,
        hlen + SEGMENT + 1000,
        orig.len() - 1,
    ];
    for at in positions {
        let mut b = orig.clone();
        b[at] ^= 0x01;
        std::fs::write(&e, &b).unwrap();
        let r =
            Decryptor::open(&e, &p).and_then(|d| d.decrypt_to(&dir.path().join("x"), &no_progress));
        let err = r.expect_err(&format!("byte {at} modified"));
        // A modified kid no longer names our key: no stanza matches (also exit 1).
        assert!(
            err.is_auth() || matches!(err, Error::Format(_)),
            "byte {at}: {err}"
        );
        assert!(!dir.path().join("x").exists());
    }
    std::fs::write(&e, &orig).unwrap();
    assert_fails_cleanly_ok(&e, &p, &plain);
}

fn assert_fails_cleanly_ok(e: &Path, p: &[Box<dyn KeyProvider>], plain: &[u8]) {
    let d = Decryptor::open(e, p).unwrap();
    assert!(d.read_range(0, plain.len()).unwrap() == plain);
}

#[test]
fn truncation_extension_and_reordering_are_detected() {
    let (p, _) = keys();
    let plain = plaintext(3 * SEGMENT + 5);
    let dir = tempfile::tempdir().unwrap();
    let e = enc(dir.path(), &plain, &p, false);
    let orig = std::fs::read(&e).unwrap();
    let hlen = Header::parse(&orig).unwrap().1;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("last byte cut", orig[..orig.len() - 1].to_vec()),
        (
            "cut at a segment boundary",
            orig[..hlen + 2 * SEGMENT].to_vec(),
        ),
        ("cut inside the header", orig[..hlen - 3].to_vec()),
        ("cut after the header", orig[..hlen].to_vec()),
        ("one byte appended", [orig.clone(), vec![0]].concat()),
        (
            "a whole segment appended",
            [
                orig.clone(),
                orig[hlen + SEGMENT..hlen + 2 * SEGMENT].to_vec(),
            ]
            .concat(),
        ),
        ("segments 1 and 2 swapped", {
            let mut b = orig.clone();
            let (s1, s2) = (hlen + SEGMENT, hlen + 2 * SEGMENT);
            let one = orig[s1..s2].to_vec();
            b[s1..s2].copy_from_slice(&orig[s2..s2 + SEGMENT]);
            b[s2..s2 + SEGMENT].copy_from_slice(&one);
            b
        }),
    ];
    for (what, bytes) in cases {
        std::fs::write(&e, &bytes).unwrap();
        if what.contains("inside the header") {
            let err = Decryptor::open(&e, &p).unwrap_err();
            assert!(matches!(err, Error::Format(_)), "{what}: {err}");
            continue;
        }
        assert_fails_cleanly(dir.path(), &e, &p, what);
    }
}

#[test]
fn header_without_size_still_detects_truncation_at_a_boundary() {
    // A stream-encrypted file records no size: the last-segment flag alone catches the cut.
    let (p, _) = keys();
    let plain = plaintext(2 * SEGMENT + 9);
    let mut ct = Vec::new();
    encrypt_stream(&mut plain.as_slice(), &mut ct, "m.bin", &p, &no_progress).unwrap();
    let (h, hlen) = Header::parse(&ct).unwrap();
    assert_eq!(h.meta.size, None);
    let mut out = Vec::new();
    decrypt_stream(&mut ct.as_slice(), &mut out, &p, &no_progress).unwrap();
    assert!(out == plain);
    let cut = &ct[..hlen + 2 * SEGMENT];
    let mut out = Vec::new();
    let err = decrypt_stream(&mut &cut[..], &mut out, &p, &no_progress).unwrap_err();
    assert!(err.is_auth(), "{err}");
    // What was written before the failure is an authentic prefix, never a forged byte.
    assert!(plain.starts_with(&out));
}

#[test]
fn stream_and_file_formats_are_the_same() {
    let (p, _) = keys();
    let dir = tempfile::tempdir().unwrap();
    let plain = plaintext(17 * PLAIN + 3);
    // Stream-encrypted (parallel batches) opens as a file...
    let mut ct = Vec::new();
    encrypt_stream(&mut plain.as_slice(), &mut ct, "m.bin", &p, &no_progress).unwrap();
    let f = dir.path().join("s.enc");
    std::fs::write(&f, &ct).unwrap();
    let d = Decryptor::open(&f, &p).unwrap();
    assert!(d.read_range(0, usize::MAX).unwrap() == plain);
    // ...and a file-encrypted one decrypts as a stream.
    let e = enc(dir.path(), &plain, &p, true);
    let mut out = Vec::new();
    decrypt_stream(
        &mut std::fs::File::open(&e).unwrap(),
        &mut out,
        &p,
        &no_progress,
    )
    .unwrap();
    assert!(out == plain);
}

#[test]
fn any_range_reads_only_what_it_needs() {
    let (p, _) = keys();
    let dir = tempfile::tempdir().unwrap();
    let plain = plaintext(3 * SEGMENT + 77);
    let e = enc(dir.path(), &plain, &p, false);
    let d = Decryptor::open(&e, &p).unwrap();
    let n = plain.len() as u64;
    for (off, len) in [
        (0u64, 1usize),
        (FIRST_PLAIN as u64 - 3, 10),
        (FIRST_PLAIN as u64, PLAIN),
        (n - 5, 100),
        (n, 10),
        (12345, 2 * SEGMENT),
    ] {
        let got = d.read_range(off, len).unwrap();
        let end = (off + len as u64).min(n);
        assert!(
            got == plain[off.min(n) as usize..end as usize],
            "range {off}+{len}"
        );
    }
    // Corrupt segment 2: ranges in segments 0 and 1 still read, ranges touching 2 fail.
    let mut b = std::fs::read(&e).unwrap();
    let hlen = Header::parse(&b).unwrap().1;
    b[hlen + 2 * SEGMENT + 10] ^= 0xff;
    std::fs::write(&e, &b).unwrap();
    let d = Decryptor::open(&e, &p).unwrap();
    assert!(d.read_range(10, 100).unwrap() == plain[10..110]);
    assert!(d
        .read_range(FIRST_PLAIN as u64 + PLAIN as u64 + 5, 10)
        .unwrap_err()
        .is_auth());
}

#[test]
fn wrong_plaintext_digest_is_detected() {
    let (p, _) = keys();
    let dir = tempfile::tempdir().unwrap();
    let plain = plaintext(5000);
    // A file whose header (properly MACed, properly bound to the body) carries a digest that
    // is not the plaintext's: only the digest check can catch it.
    let key = DataKey::random().unwrap();
    let meta = Meta {
        algorithm: ALGORITHM.into(),
        segment_size: SEGMENT as u32,
        name: "m.bin".into(),
        size: Some(plain.len() as u64),
        sha256: Some("00".repeat(32)),
    };
    let header = Header::new(meta, vec![p[0].wrap(&key).unwrap()], &key);
    let (body, sh) = Body::create(&key, header.aad()).unwrap();
    let mut buf = plain.clone();
    body.seal(0, true, &mut buf);
    let e = dir.path().join("m.enc");
    std::fs::write(&e, [header.to_bytes(), sh.to_vec(), buf].concat()).unwrap();
    let d = Decryptor::open(&e, &p).unwrap();
    let out = dir.path().join("m.bin");
    let err = d.decrypt_to(&out, &no_progress).unwrap_err();
    assert!(
        err.is_auth() && err.to_string().contains("SHA-256"),
        "{err}"
    );
    assert!(!out.exists());
    assert_eq!(leftovers(dir.path(), &["m.enc"]), Vec::<String>::new());
}

#[test]
fn rewrap_rotates_or_adds_stanzas_without_touching_the_body() {
    let (p, _) = keys();
    let dir = tempfile::tempdir().unwrap();
    let plain = plaintext(SEGMENT + 3);
    let e = enc(dir.path(), &plain, &p, false);
    let before = std::fs::read(&e).unwrap();
    let hb = Header::parse(&before).unwrap().1;
    let new: Vec<Box<dyn KeyProvider>> = vec![Box::new(LocalKey::generate().unwrap())];
    // Add: both keys open it.
    rewrap_file(&e, &e, &p, &new, true).unwrap();
    let after = std::fs::read(&e).unwrap();
    let ha = Header::parse(&after).unwrap();
    assert_eq!(ha.0.stanzas.len(), 2);
    assert!(before[hb..] == after[ha.1..], "the body changed");
    assert!(Decryptor::open(&e, &p).is_ok());
    assert!(Decryptor::open(&e, &new).is_ok());
    // Rotate: only the new key opens it.
    rewrap_file(&e, &e, &new, &new, false).unwrap();
    let rotated = std::fs::read(&e).unwrap();
    let hr = Header::parse(&rotated).unwrap();
    assert_eq!(hr.0.stanzas.len(), 1);
    assert!(before[hb..] == rotated[hr.1..]);
    assert!(Decryptor::open(&e, &p).unwrap_err().is_auth());
    assert!(
        Decryptor::open(&e, &new)
            .unwrap()
            .read_range(0, usize::MAX)
            .unwrap()
            == plain
    );
    assert_eq!(read_header(&e).unwrap().stanzas, hr.0.stanzas);
}

#[test]
fn stanza_added_without_the_key_is_refused() {
    // Someone without the data key appends their own stanza: the header MAC fails.
    let (p, _) = keys();
    let dir = tempfile::tempdir().unwrap();
    let e = enc(dir.path(), &plaintext(100), &p, false);
    let bytes = std::fs::read(&e).unwrap();
    let (mut h, hlen) = Header::parse(&bytes).unwrap();
    let attacker = LocalKey::generate().unwrap();
    let fake_key = DataKey::random().unwrap();
    let mut stanzas = h.stanzas.clone();
    stanzas.push(attacker.wrap(&fake_key).unwrap());
    // Re-MAC with the fake key (all the attacker can do).
    h.set_stanzas(stanzas, &fake_key);
    std::fs::write(&e, [h.to_bytes(), bytes[hlen..].to_vec()].concat()).unwrap();
    // Their key matches their own MAC, but not the body: no byte of it reads.
    let d = Decryptor::open(&e, &[Box::new(attacker) as Box<dyn KeyProvider>]).unwrap();
    assert!(d.read_range(0, 10).unwrap_err().is_auth());
    assert!(d
        .decrypt_to(&dir.path().join("x"), &no_progress)
        .unwrap_err()
        .is_auth());
    assert!(!dir.path().join("x").exists());
    // The owner's key fails too: the MAC no longer matches the real data key.
    assert!(Decryptor::open(&e, &p).unwrap_err().is_auth());
}

#[test]
fn symlinks_out_of_a_tree_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("model");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("config.json"), b"{}").unwrap();
    std::fs::write(root.join("sub/w.bin"), b"w").unwrap();
    std::os::unix::fs::symlink("config.json", root.join("alias.json")).unwrap();
    assert_eq!(
        tree_files(&root).unwrap(),
        ["alias.json", "config.json", "sub/w.bin"].map(PathBuf::from)
    );
    std::fs::write(dir.path().join("secret"), b"s").unwrap();
    std::os::unix::fs::symlink("../../secret", root.join("sub/leak")).unwrap();
    let err = tree_files(&root).unwrap_err();
    assert!(err.to_string().contains("symlink out of the tree"), "{err}");
    assert!(err.to_string().contains("leak"), "{err}");
}

#[test]
fn local_key_files_in_every_accepted_form() {
    let k = LocalKey::generate().unwrap();
    let text = k.to_file_text();
    let again = LocalKey::parse(text.as_bytes()).unwrap();
    assert_eq!(again.kid(), k.kid());
    let dk = DataKey::random().unwrap();
    let s = k.wrap(&dk).unwrap();
    assert_eq!(again.unwrap(&s).unwrap(), Some(dk.clone()));
    // Raw, hex, base64 forms of one key agree.
    let raw = [7u8; 32];
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
    let kids: Vec<String> = [
        raw.to_vec(),
        hex.into_bytes(),
        format!("{b64}\n").into_bytes(),
    ]
    .iter()
    .map(|f| LocalKey::parse(f).unwrap().kid().to_owned())
    .collect();
    assert!(kids.iter().all(|x| x == &kids[0]));
    for bad in [&b"short"[..], b"mlguard-key-v1:AAAA", &[0u8; 31]] {
        assert!(LocalKey::parse(bad).is_err());
    }
    assert!(!format!("{k:?}").contains(&text.trim()[15..]));
    assert_eq!(format!("{dk:?}"), "DataKey(<redacted>)");
    let _ = encrypt_file_with;
}

#[test]
fn streams_at_segment_and_batch_boundaries() {
    // Batches hold 8 segments: sizes ending exactly on a segment and on batch boundaries.
    let (p, _) = keys();
    for n in [
        0,
        1,
        FIRST_PLAIN,
        FIRST_PLAIN + 7 * PLAIN,
        FIRST_PLAIN + 7 * PLAIN + 1,
        FIRST_PLAIN + 15 * PLAIN,
        FIRST_PLAIN + 15 * PLAIN + 1,
        FIRST_PLAIN + 16 * PLAIN,
    ] {
        let plain = plaintext(n);
        let mut ct = Vec::new();
        encrypt_stream(&mut plain.as_slice(), &mut ct, "m", &p, &no_progress).unwrap();
        let hlen = Header::parse(&ct).unwrap().1;
        assert_eq!(
            (ct.len() - hlen) as u64,
            stream::ciphertext_len(n as u64),
            "size {n}"
        );
        let mut out = Vec::new();
        decrypt_stream(&mut ct.as_slice(), &mut out, &p, &no_progress).unwrap();
        assert!(out == plain, "size {n}");
    }
}
