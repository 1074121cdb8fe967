//! The body is Tink's AES256_GCM_HKDF_1MB, byte-for-byte: Tink (PyPI `tink`) decrypts the body
//! of files we write, given the data key and the header's associated data; we decrypt bodies
//! Tink writes. Sizes at and around every segment boundary.

mod common;

use mlguard_crypt::file::{encrypt_file_with, no_progress, EncryptOptions};
use mlguard_crypt::provider::local::LocalKey;
use mlguard_crypt::provider::KeyProvider;
use mlguard_crypt::stream::{self, Body, FIRST_PLAIN, PLAIN};
use mlguard_crypt::{format::Header, DataKey};
use std::process::Command;

const SIZES: &[usize] = &[
    0,
    1,
    FIRST_PLAIN - 1,
    FIRST_PLAIN,
    FIRST_PLAIN + 1,
    FIRST_PLAIN + PLAIN - 1,
    FIRST_PLAIN + PLAIN,
    FIRST_PLAIN + PLAIN + 1,
    3 * PLAIN + 12345,
];

fn plaintext(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn run(py: &std::path::Path, args: &[&str]) {
    let out = Command::new(py)
        .arg(common::here("tink_interop.py"))
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "tink_interop.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn tink_decrypts_our_bodies() {
    let Some(py) = common::python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let kek = LocalKey::generate().unwrap();
    for &n in SIZES {
        let key = DataKey::random().unwrap();
        let plain = plaintext(n);
        let input = dir.path().join("model.bin");
        std::fs::write(&input, &plain).unwrap();
        let enc = dir.path().join("model.bin.mlg");
        let header = encrypt_file_with(
            &input,
            &enc,
            &key,
            vec![kek.wrap(&key).unwrap()],
            &EncryptOptions::default(),
            &no_progress,
        )
        .unwrap();
        let bytes = std::fs::read(&enc).unwrap();
        assert_eq!(
            bytes.len() as u64,
            header.len() as u64 + stream::ciphertext_len(n as u64),
            "size {n}"
        );
        let (parsed, hlen) = Header::parse(&bytes).unwrap();
        assert_eq!(parsed, header);
        std::fs::write(dir.path().join("aad"), parsed.aad()).unwrap();
        std::fs::write(dir.path().join("body"), &bytes[hlen..]).unwrap();
        let hexkey: String = key.expose().iter().map(|b| format!("{b:02x}")).collect();
        run(
            &py,
            &[
                "decrypt",
                &hexkey,
                dir.path().join("aad").to_str().unwrap(),
                dir.path().join("body").to_str().unwrap(),
                dir.path().join("tink.out").to_str().unwrap(),
            ],
        );
        assert!(
            std::fs::read(dir.path().join("tink.out")).unwrap() == plain,
            "Tink's plaintext differs for size {n}"
        );
    }
}

#[test]
fn we_decrypt_tink_bodies() {
    let Some(py) = common::python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let aad = b"MLGMODEL associated data of some header".to_vec();
    std::fs::write(dir.path().join("aad"), &aad).unwrap();
    for &n in SIZES {
        let key = DataKey::random().unwrap();
        let plain = plaintext(n);
        std::fs::write(dir.path().join("plain"), &plain).unwrap();
        let hexkey: String = key.expose().iter().map(|b| format!("{b:02x}")).collect();
        run(
            &py,
            &[
                "encrypt",
                &hexkey,
                dir.path().join("aad").to_str().unwrap(),
                dir.path().join("plain").to_str().unwrap(),
                dir.path().join("tink.ct").to_str().unwrap(),
            ],
        );
        let ct = std::fs::read(dir.path().join("tink.ct")).unwrap();
        assert_eq!(
            ct.len() as u64,
            stream::ciphertext_len(n as u64),
            "size {n}"
        );
        assert_eq!(stream::plaintext_len(ct.len() as u64).unwrap(), n as u64);
        let body = Body::open(&key, &aad, &ct[..stream::HEADER]).unwrap();
        let segs = stream::segments(n as u64);
        let mut got = Vec::new();
        for i in 0..segs {
            let start = stream::cipher_offset(i) as usize;
            let end =
                (start + stream::SEGMENT - if i == 0 { stream::HEADER } else { 0 }).min(ct.len());
            let mut buf = ct[start..end].to_vec();
            body.open_segment(i as u32, i + 1 == segs, &mut buf)
                .unwrap();
            got.extend_from_slice(&buf);
        }
        assert!(
            got == plain,
            "our plaintext of Tink's body differs for size {n}"
        );
    }
}
