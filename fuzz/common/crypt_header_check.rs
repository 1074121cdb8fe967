// Body of the `crypt_header` fuzz target, also replayed by crates/mlguard-crypt/tests/fuzz_corpus.rs:
// an encrypted model's bytes through the header parser and, when it parses, the stream decrypter
// with a fixed local key. Invariants: no panic; a parsed header prints back to exactly the bytes
// it was read from; nothing decrypts unless the header MAC and every segment verify (the fixed
// key opens only the seeds, which were made with it).

/// The key the seeds were encrypted with (fuzz/seeds-crypt-header, written by the ignored test
/// `write_crypt_header_seeds` in crates/mlguard-crypt/tests/fuzz_corpus.rs).
#[allow(dead_code)]
const FUZZ_LOCAL_KEY: [u8; 32] = *b"mlguard fuzz key, not a secret!!";

#[allow(dead_code)]
fn check_crypt_header_input(data: &[u8]) {
    use mlguard_crypt::provider::{local::LocalKey, KeyProvider};
    match mlguard_crypt::format::Header::parse(data) {
        Ok((h, n)) => {
            assert!(n <= data.len());
            assert_eq!(h.to_bytes(), &data[..n], "a parsed header prints back to its bytes");
            assert!(!h.stanzas.is_empty());
            let _ = mlguard_crypt::stream::plaintext_len((data.len() - n) as u64);
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    }
    let key = LocalKey::parse(&FUZZ_LOCAL_KEY).expect("32 raw bytes are a key");
    let providers: Vec<Box<dyn KeyProvider>> = vec![Box::new(key)];
    let mut out = Vec::new();
    let r = mlguard_crypt::file::decrypt_stream(
        &mut &data[..],
        &mut out,
        &providers,
        &mlguard_crypt::file::no_progress,
    );
    if r.is_err() {
        // Whatever was written is whole authenticated segments, never more than the input.
        assert!(out.len() <= data.len());
    }
}
