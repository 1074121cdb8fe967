// Body of the `report_pack` fuzz target, also `include!`d by
// crates/mlguard-report/tests/fuzz_corpus.rs: an evidence pack (`mlguard report verify` reads
// packs that come from elsewhere: untrusted input).
// - The bytes as a pack: `verify` never panics, and never accepts one: the fuzzer cannot sign
//   with the fixed key, so an accepted pack would be a forgery.
// - The bytes split into files: `build` then `verify` gives back exactly those files, and the
//   pack with one byte changed (position and bit chosen by the input) does not verify.

#[allow(dead_code)]
fn report_pack_signer() -> mlguard_audit::trail::note::Signer {
    mlguard_audit::trail::note::Signer::from_seed("fuzz.example", &[7u8; 32]).expect("signer")
}

#[allow(dead_code)]
fn check_report_pack_input(data: &[u8]) {
    use mlguard_report::pack::{build, verify, PackSpec};
    let signer = report_pack_signer();
    let key = signer.verifier();
    assert!(
        verify(data, &key).is_err(),
        "a pack not signed by the key verified"
    );

    // Files: the input cut at 0xFF bytes, named f0, f1, ... (at most 8).
    let files: Vec<(String, Vec<u8>)> = data
        .split(|b| *b == 0xFF)
        .take(8)
        .enumerate()
        .map(|(i, c)| (format!("f{i}.bin"), c.to_vec()))
        .collect();
    let spec = PackSpec {
        files: files.clone(),
        inputs: Vec::new(),
        tool_version: "0.0.0-fuzz".to_owned(),
        created: "2026-01-01T00:00:00Z".to_owned(),
    };
    let pack = build(&spec, &signer).expect("a pack of plain names builds");
    let ok = verify(&pack, &key).expect("a fresh pack verifies");
    let got: Vec<(String, usize)> = files.iter().map(|(n, c)| (n.clone(), c.len())).collect();
    assert_eq!(ok.files, got);
    let pos = data
        .iter()
        .fold(0usize, |a, b| a.wrapping_mul(31).wrapping_add(*b as usize))
        % pack.len();
    let mut bad = pack;
    bad[pos] ^= 1 << (data.len() % 8);
    assert!(
        verify(&bad, &key).is_err(),
        "a pack with byte {pos} changed verified"
    );
}
