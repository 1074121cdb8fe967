//! Replays the saved corpora and seeds of mlguard-crypt's fuzz targets (fuzz/corpus/crypt_header,
//! fuzz/seeds-crypt-header, and those of the age and model-bundle parsers) as ordinary tests,
//! running exactly the fuzz targets' bodies (fuzz/common/*_check.rs). docs/testing.md says how
//! to refresh them.

include!("../../../fuzz/common/replay.rs");
include!("../../../fuzz/common/crypt_header_check.rs");

#[test]
fn crypt_header_fuzz_corpus_replays() {
    replay_dir(
        "corpus/crypt_header",
        MIN_CORPUS_FILES,
        check_crypt_header_input,
    );
    replay_dir("seeds-crypt-header", 5, check_crypt_header_input);
}

/// The seeds must open with the fuzz key, or the decrypt path is never reached.
#[test]
fn crypt_header_seeds_open_with_the_fuzz_key() {
    use mlguard_crypt::provider::{local::LocalKey, KeyProvider};
    let dir = fuzz_dir().join("seeds-crypt-header");
    let mut opened = 0;
    for f in files_in(&dir) {
        let data = std::fs::read(&f).unwrap();
        let p: Vec<Box<dyn KeyProvider>> =
            vec![Box::new(LocalKey::parse(&FUZZ_LOCAL_KEY).unwrap())];
        let mut out = Vec::new();
        if mlguard_crypt::file::decrypt_stream(
            &mut &data[..],
            &mut out,
            &p,
            &mlguard_crypt::file::no_progress,
        )
        .is_ok()
        {
            opened += 1;
        }
    }
    assert!(opened >= 3, "only {opened} seeds open with the fuzz key");
}

/// Regenerate fuzz/seeds-crypt-header: `cargo test -p mlguard-crypt --test fuzz_corpus -- --ignored`.
#[test]
#[ignore]
fn write_crypt_header_seeds() {
    use mlguard_crypt::provider::{local::LocalKey, KeyProvider};
    let dir = fuzz_dir().join("seeds-crypt-header");
    std::fs::create_dir_all(&dir).unwrap();
    let p: Vec<Box<dyn KeyProvider>> = vec![
        Box::new(LocalKey::parse(&FUZZ_LOCAL_KEY).unwrap()),
        Box::new(LocalKey::parse(&[9u8; 32]).unwrap()),
    ];
    for (name, n) in [("empty", 0usize), ("small", 100)] {
        let plain: Vec<u8> = (0..n).map(|i| i as u8).collect();
        let mut out = Vec::new();
        mlguard_crypt::file::encrypt_stream(
            &mut plain.as_slice(),
            &mut out,
            "model.bin",
            &p[..1],
            &mlguard_crypt::file::no_progress,
        )
        .unwrap();
        std::fs::write(dir.join(format!("{name}.enc")), &out).unwrap();
    }
    let mut out = Vec::new();
    mlguard_crypt::file::encrypt_stream(
        &mut &b"two stanzas"[..],
        &mut out,
        "m",
        &p,
        &mlguard_crypt::file::no_progress,
    )
    .unwrap();
    std::fs::write(dir.join("two-stanzas.enc"), &out).unwrap();
    std::fs::write(dir.join("truncated-header.enc"), &out[..40]).unwrap();
    std::fs::write(
        dir.join("bad-version.enc"),
        [&b"MLGMODEL\x02"[..], &out[9..]].concat(),
    )
    .unwrap();
}
