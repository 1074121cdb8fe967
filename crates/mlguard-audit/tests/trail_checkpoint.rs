//! Signed notes, keys and checkpoints: interoperation with the Go implementation's test
//! vectors and real sum.golang.org checkpoints, round trips, and every way a note can be
//! tampered with or malformed.

use mlguard_audit::trail::checkpoint::{self, Checkpoint, CheckpointError};
use mlguard_audit::trail::merkle::{leaf_hash, Hash};
use mlguard_audit::trail::note::{self, KeyError, NoteError, Signer, Verifier, MAX_SIGNATURES};

include!("../../../fuzz/common/checkpoint_check.rs");

// ---------------------------------------------------------------------------------------------
// Vectors from golang.org/x/mod sumdb/note/note_test.go (TestNewVerifier, TestNewSigner,
// TestSign, TestOpen), also in the package documentation of sumdb/note/note.go.
// ---------------------------------------------------------------------------------------------

const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

// ---------------------------------------------------------------------------------------------
// Real checkpoints: signed tree heads served by sum.golang.org (in /lookup responses, as quoted
// in public write-ups about the checksum database), checked with the sum.golang.org key that
// the go command trusts (golang/go src/cmd/go/internal/modfetch/key.go). The origin line of
// that log is "go.sum database tree".
// ---------------------------------------------------------------------------------------------

const SUMDB_VKEY: &str = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
const SUMDB_NOTES: [(&str, u64, &str); 2] = [
    (
        "go.sum database tree\n63096908\n8lHrQPRYe4KT4WQ9/Qk8/taKnD6IRHbFgfN7vQE2Y54=\n\n— sum.golang.org Az3gri/oVBN1jAhNZ/iS+W31psFAWRT20/GyrhpU6taFwulQGetBkH5S7wpGXdS935jiIGiUUAXBVHzT/P6fYhqAmAk=\n",
        63096908,
        "8lHrQPRYe4KT4WQ9/Qk8/taKnD6IRHbFgfN7vQE2Y54=",
    ),
    (
        "go.sum database tree\n15368405\n/g9am3I6YWNKaZX/jkne1fqd9zEyjss+JXyPXG0WfkY=\n\n— sum.golang.org Az3grqJGUaSGukG9p8nI2vKgiFn7qGHxn0W+mrwyI6Gz3F0t1J3LzmWk/p96Ybf295EjwdSwlzgijq5WA9d1Ded7owM=\n",
        15368405,
        "/g9am3I6YWNKaZX/jkne1fqd9zEyjss+JXyPXG0WfkY=",
    ),
];

/// The example of https://c2sp.org/tlog-checkpoint (its key is not published).
const C2SP_EXAMPLE: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

fn b64(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn b64e(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn peter() -> Verifier {
    Verifier::from_key_text(PETER_VKEY).unwrap()
}

fn enoch() -> Verifier {
    Verifier::from_key_text(ENOCH_VKEY).unwrap()
}

fn new_signer(name: &str) -> Signer {
    let (skey, _) = Signer::generate(name).unwrap();
    Signer::from_key_text(&skey).unwrap()
}

fn some_checkpoint() -> Checkpoint {
    Checkpoint::new("mlguard.example/audit", 1234, leaf_hash(b"root"))
}

// ---------------------------------------------------------------------------------------------
// Keys.
// ---------------------------------------------------------------------------------------------

#[test]
fn go_key_vectors_parse_and_print_back() {
    let v = peter();
    assert_eq!(v.name(), "PeterNeumann");
    assert_eq!(v.key_id(), 0xc74f20a3);
    assert_eq!(v.to_key_text(), PETER_VKEY);
    assert_eq!(note::key_id("PeterNeumann", v.public_key()), 0xc74f20a3);

    let s = Signer::from_key_text(PETER_SKEY).unwrap();
    assert_eq!(s.name(), "PeterNeumann");
    assert_eq!(s.key_id(), 0xc74f20a3);
    assert_eq!(s.verifier(), v);
    assert_eq!(s.to_key_text().as_str(), PETER_SKEY);

    assert_eq!(enoch().key_id(), 0xaf0cfe78);
    // A file's final newline is fine.
    assert_eq!(
        Verifier::from_key_text(&format!("{PETER_VKEY}\n")).unwrap(),
        v
    );
    assert_eq!(
        Signer::from_key_text(&format!("{PETER_SKEY}\r\n"))
            .unwrap()
            .key_id(),
        0xc74f20a3
    );
}

#[test]
fn mangled_keys_are_refused() {
    // As TestNewVerifier and TestNewSigner: every proper substring, and every byte incremented.
    for key in [PETER_VKEY, PETER_SKEY] {
        let parse = |k: &str| {
            if key.starts_with("PRIVATE") {
                Signer::from_key_text(k).map(|_| ())
            } else {
                Verifier::from_key_text(k).map(|_| ())
            }
        };
        let b = key.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i == 0 && j == b.len() {
                    continue;
                }
                let sub = std::str::from_utf8(&b[i..j]).unwrap();
                // Trimmed whitespace aside, nothing shorter is a key.
                assert!(parse(sub).is_err(), "{sub:?} was accepted");
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] += 1;
            let m = String::from_utf8(m).unwrap();
            assert!(parse(&m).is_err(), "{m:?} was accepted");
        }
    }
    // The two named bad keys of TestNewVerifier, with their key IDs adjusted to match. The
    // first is too long, and also not canonical base64 (its last digit has bits set past the
    // data; Go's decoder ignores them, this one refuses them).
    assert_eq!(
        Verifier::from_key_text(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        ),
        Err(KeyError::Malformed {
            kind: "verifier",
            what: "the key data is not padded standard base64"
        })
    );
    let mut long = b64("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
    long.extend([0; 3]);
    assert_eq!(
        Verifier::from_key_text(&format!("PeterNeumann+cc469956+{}", b64e(&long))),
        Err(KeyError::WrongKeyLength {
            kind: "verifier",
            len: 35
        })
    );
    let mut longer = long.clone();
    longer.extend([0; 100]);
    assert_eq!(
        Verifier::from_key_text(&format!("PeterNeumann+cc469956+{}", b64e(&longer))),
        Err(KeyError::WrongKeyLength {
            kind: "verifier",
            len: 135
        })
    );
    assert_eq!(
        Verifier::from_key_text(
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        ),
        Err(KeyError::UnknownAlgorithm {
            kind: "verifier",
            alg: 0x65
        })
    );
}

#[test]
fn key_errors_name_what_is_wrong() {
    let cases: [(&str, KeyError); 7] = [
        (
            "PeterNeumann",
            KeyError::Malformed {
                kind: "verifier",
                what: "no '+' after the key name",
            },
        ),
        (
            "PeterNeumann+c74f20a3",
            KeyError::Malformed {
                kind: "verifier",
                what: "no '+' after the key ID",
            },
        ),
        (
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            KeyError::InvalidName {
                name: "Peter Neumann".into(),
            },
        ),
        (
            "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            KeyError::InvalidName { name: "".into() },
        ),
        (
            "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            KeyError::Malformed {
                kind: "verifier",
                what: "the key ID is not 8 hexadecimal digits",
            },
        ),
        (
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            KeyError::KeyIdMismatch {
                kind: "verifier",
                name: "PeterNeumann".into(),
                stated: 0xc74f20a4,
                computed: 0xc74f20a3,
            },
        ),
        (
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
            KeyError::Malformed {
                kind: "verifier",
                what: "the key data is not padded standard base64",
            },
        ),
    ];
    for (text, want) in cases {
        assert_eq!(Verifier::from_key_text(text), Err(want), "{text}");
    }
    // The public key text is not a signer key, and the messages never show key material.
    let err = Signer::from_key_text(PETER_VKEY).unwrap_err();
    assert_eq!(
        err.to_string(),
        "malformed signer key: it does not start with PRIVATE+KEY+"
    );
    let err = Signer::from_key_text(&PETER_SKEY.replace("c74f20a3", "c74f20a4")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "signer key PeterNeumann: the text says key ID c74f20a4, the key is c74f20a3"
    );
}

#[test]
fn generated_keys_work_and_signer_debug_is_redacted() {
    let (skey, vkey) = Signer::generate("mlguard.example/audit").unwrap();
    assert!(skey.starts_with("PRIVATE+KEY+mlguard.example/audit+"));
    assert!(vkey.starts_with("mlguard.example/audit+"));
    let s = Signer::from_key_text(&skey).unwrap();
    let v = Verifier::from_key_text(&vkey).unwrap();
    assert_eq!(s.verifier(), v);
    assert_eq!(s.to_key_text().as_str(), skey.as_str());
    assert!(v.verify(b"hi", &s.sign(b"hi")));
    assert!(!v.verify(b"ho", &s.sign(b"hi")));
    assert!(!v.verify(b"hi", &s.sign(b"hi")[..63]));

    let (other, _) = Signer::generate("mlguard.example/audit").unwrap();
    assert_ne!(other.as_str(), skey.as_str(), "two generated keys differ");

    let debug = format!("{s:?}");
    let seed_b64 = skey.splitn(5, '+').nth(4).unwrap();
    assert!(seed_b64.len() >= 44);
    assert!(!debug.contains(seed_b64), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
    assert!(debug.contains(&format!("{:08x}", s.key_id())), "{debug}");

    assert_eq!(
        Signer::generate("has space").unwrap_err(),
        KeyError::InvalidName {
            name: "has space".into()
        }
    );
    assert!(Signer::generate("a+b").is_err());
    assert!(Signer::generate("").is_err());
}

// ---------------------------------------------------------------------------------------------
// Signed notes.
// ---------------------------------------------------------------------------------------------

#[test]
fn go_note_vector_signs_identically() {
    let s = Signer::from_key_text(PETER_SKEY).unwrap();
    let msg = note::sign(TEXT, &[&s]).unwrap();
    assert_eq!(msg, format!("{TEXT}\n{PETER_SIG}"));
    assert_eq!(note::sign("abc", &[&s]), Err(NoteError::TextNotTerminated));
    assert_eq!(note::sign(TEXT, &[]), Err(NoteError::NoSigners));
    assert_eq!(
        note::sign("a\tb\n", &[&s]),
        Err(NoteError::ControlCharacter {
            offset: 1,
            byte: b'\t'
        })
    );
}

#[test]
fn go_note_vectors_open_as_go_opens_them() {
    let (peter, enoch) = (peter(), enoch());
    let both = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");

    // One signature verified, one by an unknown key.
    let n = note::open(both.as_bytes(), std::slice::from_ref(&peter)).unwrap();
    assert_eq!(n.text, TEXT);
    assert_eq!(n.verified_by, vec![peter.clone()]);
    assert_eq!(n.unverified.len(), 1);
    assert_eq!(n.unverified[0].name, "EnochRoot");
    assert_eq!(n.unverified[0].key_id, 0xaf0cfe78);

    // Both verified.
    let n = note::open(both.as_bytes(), &[peter.clone(), enoch.clone()]).unwrap();
    assert_eq!(n.verified_by, vec![peter.clone(), enoch.clone()]);
    assert!(n.unverified.is_empty());

    // Neither known.
    assert_eq!(
        note::open(both.as_bytes(), &[]),
        Err(NoteError::NoTrustedSignature {
            signers: vec!["PeterNeumann+c74f20a3".into(), "EnochRoot+af0cfe78".into()]
        })
    );

    // The same trusted key listed twice is not ambiguous.
    note::open(
        format!("{TEXT}\n{ENOCH_SIG}").as_bytes(),
        &[enoch.clone(), peter.clone(), enoch.clone()],
    )
    .unwrap();

    // Too many signatures, whether or not the key is known.
    let many = format!("{TEXT}\n{}", PETER_SIG.repeat(MAX_SIGNATURES + 1));
    for vs in [vec![peter.clone()], vec![]] {
        assert_eq!(
            note::open(many.as_bytes(), &vs),
            Err(NoteError::TooManySignatures { count: 101 })
        );
    }
    let enough = format!("{TEXT}\n{}", PETER_SIG.repeat(MAX_SIGNATURES));
    note::open(enough.as_bytes(), std::slice::from_ref(&peter)).unwrap();

    // An altered signature by a known key.
    let bad = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    assert_eq!(
        note::open(bad.as_bytes(), std::slice::from_ref(&peter)),
        Err(NoteError::InvalidSignature {
            name: "PeterNeumann".into(),
            key_id: 0xc74f20a3
        })
    );

    // Repeated verified and unverified signatures: repeats dropped, an altered unknown one kept.
    let enoch_abcd = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
    let msg = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}{enoch_abcd}");
    let n = note::open(msg.as_bytes(), std::slice::from_ref(&peter)).unwrap();
    assert_eq!(n.verified_by, vec![peter.clone()]);
    assert_eq!(n.unverified.len(), 2);
    assert_eq!(
        n.unverified[1].signature,
        b64(&enoch_abcd["— EnochRoot ".len()..enoch_abcd.len() - 1])[4..]
    );

    // Malformed notes (TestOpen's badMsgs), each with the error that names the problem.
    let cases: Vec<(Vec<u8>, NoteError)> = vec![
        (TEXT.into(), NoteError::NoSignatureBlock),
        (format!("{TEXT}\n").into(), NoteError::NoSignatureBlock),
        (
            format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]).into(),
            NoteError::Unterminated,
        ),
        (
            format!("\x01{TEXT}\n{PETER_SIG}").into(),
            NoteError::ControlCharacter {
                offset: 0,
                byte: 1,
            },
        ),
        (
            [b"\xff".as_slice(), format!("{TEXT}\n{PETER_SIG}").as_bytes()].concat(),
            NoteError::NotUtf8 { offset: 0 },
        ),
        (
            format!("{TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=").into(),
            NoteError::Unterminated,
        ),
        (
            format!("{TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n").into(),
            NoteError::MalformedSignatureLine {
                line: 1,
                what: "the signature is not padded standard base64",
            },
        ),
        (
            format!("{TEXT}\n{PETER_SIG}Unexpected line.\n").into(),
            NoteError::MalformedSignatureLine {
                line: 2,
                what: "it does not start with an em dash (U+2014) and a space",
            },
        ),
    ];
    for (msg, want) in cases {
        assert_eq!(
            note::open(&msg, std::slice::from_ref(&peter)),
            Err(want),
            "{:?}",
            String::from_utf8_lossy(&msg)
        );
    }
}

#[test]
fn malformed_signature_lines() {
    let peter = peter();
    let sig = &PETER_SIG["— PeterNeumann ".len()..PETER_SIG.len() - 1];
    let line = |l: &str| format!("{TEXT}\n{l}\n");
    let cases: [(String, &str); 9] = [
        (
            line(&format!("-- PeterNeumann {sig}")),
            "it does not start with an em dash (U+2014) and a space",
        ),
        (
            line(&format!("—PeterNeumann {sig}")),
            "it does not start with an em dash (U+2014) and a space",
        ),
        (
            line("— PeterNeumann"),
            "no space between the key name and the signature",
        ),
        (
            line(&format!("—  {sig}")),
            "the key name is empty or has a space, a plus sign or a control character",
        ),
        (
            line(&format!("— Peter+Neumann {sig}")),
            "the key name is empty or has a space, a plus sign or a control character",
        ),
        (
            line(&format!("— PeterNeumann {sig} ")),
            "the signature is not padded standard base64",
        ),
        (
            line(&format!("— PeterNeumann {}", sig.trim_end_matches('='))),
            "the signature is not padded standard base64",
        ),
        (
            line("— PeterNeumann x08gow=="),
            "the signature is shorter than a key ID and one byte",
        ),
        (
            line("— PeterNeumann "),
            "the signature is shorter than a key ID and one byte",
        ),
    ];
    for (msg, what) in cases {
        assert_eq!(
            note::open(msg.as_bytes(), std::slice::from_ref(&peter)),
            Err(NoteError::MalformedSignatureLine { line: 1, what }),
            "{msg:?}"
        );
    }
    // A signature by the known key of the wrong length is a bad signature, not an unknown one.
    let short = format!(
        "{TEXT}\n— PeterNeumann {}\n",
        b64e(&[0xc7, 0x4f, 0x20, 0xa3, 1])
    );
    assert_eq!(
        note::open(short.as_bytes(), std::slice::from_ref(&peter)),
        Err(NoteError::InvalidSignature {
            name: "PeterNeumann".into(),
            key_id: 0xc74f20a3
        })
    );
}

#[test]
fn colliding_trusted_keys_are_ambiguous() {
    // Two public keys (not necessarily valid points) whose key IDs collide under one name: a
    // birthday search over 32-bit IDs takes some tens of thousands of tries.
    let mut seen = std::collections::HashMap::new();
    let (a, b) = (0u64..)
        .find_map(|i| {
            let key = leaf_hash(&i.to_le_bytes());
            let v = Verifier::from_public_key("collide", &key).unwrap();
            seen.insert(v.key_id(), v.clone()).map(|old| (old, v))
        })
        .unwrap();
    assert_eq!(a.key_id(), b.key_id());
    assert_ne!(a, b);
    let mut raw = a.key_id().to_be_bytes().to_vec();
    raw.extend([0u8; 64]);
    let msg = format!("{TEXT}\n— collide {}\n", b64e(&raw));
    assert_eq!(
        note::open(msg.as_bytes(), &[a.clone(), b]),
        Err(NoteError::AmbiguousKey {
            name: "collide".into(),
            key_id: a.key_id()
        })
    );
    // With only one of them trusted, it is just a bad signature.
    assert!(matches!(
        note::open(msg.as_bytes(), &[a]),
        Err(NoteError::InvalidSignature { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Checkpoints.
// ---------------------------------------------------------------------------------------------

#[test]
fn go_tree_body_vector() {
    // golang.org/x/mod sumdb/tlog/note_test.go, TestFormatTree and TestParseTree: the tree of
    // 123456789012 records whose root is RecordHash("hello world") = SHA-256(0x00 || ...).
    let golden =
        "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";
    let cp = Checkpoint::new(
        "go.sum database tree",
        123456789012,
        leaf_hash(b"hello world"),
    );
    assert_eq!(cp.to_body().unwrap(), golden);
    assert_eq!(Checkpoint::parse_body(golden).unwrap(), cp);
    // Its bad trees.
    assert_eq!(
        Checkpoint::parse_body(
            "go.sum database tree\n0xabcdef\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n"
        ),
        Err(CheckpointError::BadSize {
            text: "0xabcdef".into()
        })
    );
    assert_eq!(
        Checkpoint::parse_body(
            "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n"
        ),
        Err(CheckpointError::BadRootEncoding {
            text: "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=".into()
        })
    );
    // What tlog ignores after the tree, a checkpoint reads as extension lines.
    let with_ext = format!("{golden}JOE\n");
    assert_eq!(
        Checkpoint::parse_body(&with_ext).unwrap().extensions,
        vec!["JOE".to_string()]
    );
}

#[test]
fn real_sum_golang_org_checkpoints_open() {
    let sumdb = Verifier::from_key_text(SUMDB_VKEY).unwrap();
    assert_eq!(sumdb.key_id(), 0x033de0ae);
    for (msg, size, root) in SUMDB_NOTES {
        let cp = checkpoint::open(msg, std::slice::from_ref(&sumdb)).unwrap();
        assert_eq!(cp.origin, "go.sum database tree");
        assert_eq!(cp.size, size);
        assert_eq!(cp.root.to_vec(), b64(root));
        assert!(cp.extensions.is_empty());
        // The sum.golang.org key is unknown to a verifier that trusts only another key.
        assert!(matches!(
            checkpoint::open(msg, &[peter()]),
            Err(CheckpointError::Note(NoteError::NoTrustedSignature { .. }))
        ));
        // One size more, and the signature no longer verifies.
        let forged = msg.replacen(&size.to_string(), &(size + 1).to_string(), 1);
        assert_eq!(
            checkpoint::open(&forged, std::slice::from_ref(&sumdb)),
            Err(CheckpointError::Note(NoteError::InvalidSignature {
                name: "sum.golang.org".into(),
                key_id: 0x033de0ae
            }))
        );
    }
}

#[test]
fn c2sp_example_parses_but_is_not_trusted() {
    let split = C2SP_EXAMPLE.find("\n\n").unwrap();
    let cp = Checkpoint::parse_body(&C2SP_EXAMPLE[..split + 1]).unwrap();
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20852163);
    assert_eq!(cp.to_body().unwrap(), &C2SP_EXAMPLE[..split + 1]);
    match checkpoint::open(C2SP_EXAMPLE, &[peter()]) {
        Err(CheckpointError::Note(NoteError::NoTrustedSignature { signers })) => {
            assert_eq!(signers.len(), 1);
            assert!(signers[0].starts_with("example.com/behind-the-sofa+"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn checkpoints_round_trip() {
    let s = new_signer("mlguard.example/audit");
    let v = s.verifier();
    let mut cp = some_checkpoint();
    for size in [0, 1, 7, u64::MAX] {
        cp.size = size;
        let msg = checkpoint::sign(&cp, &s).unwrap();
        assert!(msg.starts_with(&cp.to_body().unwrap()));
        assert_eq!(
            checkpoint::open(&msg, std::slice::from_ref(&v)).unwrap(),
            cp
        );
        assert_eq!(
            checkpoint::open(msg.as_bytes(), std::slice::from_ref(&v)).unwrap(),
            cp
        );
        check_checkpoint_input(msg.as_bytes());
    }
    cp.extensions = vec!["an extension".into(), "— looks like a signature".into()];
    let msg = checkpoint::sign(&cp, &s).unwrap();
    assert_eq!(checkpoint::open(&msg, &[v]).unwrap(), cp);
}

#[test]
fn tampering_is_detected() {
    let s = new_signer("mlguard.example/audit");
    let v = s.verifier();
    let trusted = std::slice::from_ref(&v);
    let cp = some_checkpoint();
    let msg = checkpoint::sign(&cp, &s).unwrap();
    let invalid = Err(CheckpointError::Note(NoteError::InvalidSignature {
        name: v.name().into(),
        key_id: v.key_id(),
    }));

    // The body: origin, size, root, an added extension.
    let mut other = cp.clone();
    other.size += 1;
    let body = |c: &Checkpoint| c.to_body().unwrap();
    let swap = |c: &Checkpoint| msg.replacen(&body(&cp), &body(c), 1);
    assert_eq!(checkpoint::open(swap(&other), trusted), invalid);
    let mut other = cp.clone();
    other.root[31] ^= 1;
    assert_eq!(checkpoint::open(swap(&other), trusted), invalid);
    let mut other = cp.clone();
    other.origin.push('x');
    assert_eq!(checkpoint::open(swap(&other), trusted), invalid);
    let mut other = cp.clone();
    other.extensions.push("added".into());
    assert_eq!(checkpoint::open(swap(&other), trusted), invalid);

    // The signature: every bit of the Ed25519 signature.
    let split = msg.rfind(' ').unwrap();
    let raw = b64(msg[split + 1..].trim_end());
    for bit in 0..64 * 8 {
        let mut r = raw.clone();
        r[4 + bit / 8] ^= 1 << (bit % 8);
        let bad = format!("{} {}\n", &msg[..split], b64e(&r));
        assert_eq!(checkpoint::open(&bad, trusted), invalid, "bit {bit}");
    }
    // The key ID: then the key is unknown.
    let mut r = raw.clone();
    r[0] ^= 1;
    let bad = format!("{} {}\n", &msg[..split], b64e(&r));
    assert!(matches!(
        checkpoint::open(&bad, trusted),
        Err(CheckpointError::Note(NoteError::NoTrustedSignature { .. }))
    ));

    // A wrong key, with the same name or another.
    for wrong in [new_signer("mlguard.example/audit"), new_signer("elsewhere")] {
        assert!(matches!(
            checkpoint::open(&msg, &[wrong.verifier()]),
            Err(CheckpointError::Note(NoteError::NoTrustedSignature { .. }))
        ));
    }

    // Missing signatures.
    let b = body(&cp);
    for bad in [b.clone(), format!("{b}\n")] {
        assert_eq!(
            checkpoint::open(&bad, trusted),
            Err(CheckpointError::Note(NoteError::NoSignatureBlock))
        );
    }
}

#[test]
fn extra_signers() {
    let s = new_signer("mlguard.example/audit");
    let witness = new_signer("witness.example/w1");
    let cp = some_checkpoint();
    let msg = note::sign(&cp.to_body().unwrap(), &[&s, &witness]).unwrap();
    // An extra signature by an unknown key is ignored, in either order.
    assert_eq!(checkpoint::open(&msg, &[s.verifier()]).unwrap(), cp);
    let msg2 = note::sign(&cp.to_body().unwrap(), &[&witness, &s]).unwrap();
    assert_eq!(checkpoint::open(&msg2, &[s.verifier()]).unwrap(), cp);
    // Both trusted: both must verify.
    assert_eq!(
        checkpoint::open(&msg, &[s.verifier(), witness.verifier()]).unwrap(),
        cp
    );
    let n = note::open(msg.as_bytes(), &[s.verifier(), witness.verifier()]).unwrap();
    assert_eq!(n.verified_by, vec![s.verifier(), witness.verifier()]);
    // A trusted witness whose signature is bad rejects the note even though the log's is good.
    let sig_line_start = msg.rfind("— witness").unwrap();
    let witness_line = &msg[sig_line_start..];
    let raw_start = sig_line_start + "— witness.example/w1 ".len();
    let mut raw = b64(msg[raw_start..].trim_end());
    raw[10] ^= 0x80;
    let bad = format!(
        "{}— witness.example/w1 {}\n",
        &msg[..sig_line_start],
        b64e(&raw)
    );
    assert_ne!(witness_line, &bad[sig_line_start..]);
    assert_eq!(
        checkpoint::open(&bad, &[s.verifier(), witness.verifier()]),
        Err(CheckpointError::Note(NoteError::InvalidSignature {
            name: "witness.example/w1".into(),
            key_id: witness.key_id()
        }))
    );
    assert_eq!(checkpoint::open(&bad, &[s.verifier()]).unwrap(), cp);
}

/// Sign an arbitrary text as a note, so that body errors are not hidden by signature errors.
fn signed(text: &str, s: &Signer) -> String {
    note::sign(text, &[s]).unwrap()
}

#[test]
fn malformed_bodies() {
    let s = new_signer("mlguard.example/audit");
    let trusted = [s.verifier()];
    let root = b64e(&leaf_hash(b"root"));
    let cases: Vec<(String, CheckpointError)> = vec![
        ("origin\n".into(), CheckpointError::TooFewLines { lines: 1 }),
        (
            "origin\n12\n".into(),
            CheckpointError::TooFewLines { lines: 2 },
        ),
        (
            format!("origin\n\n{root}\n"),
            CheckpointError::EmptyLine { line: 2 },
        ),
        (
            format!("origin\n12\n{root}\n\nextension\n"),
            CheckpointError::EmptyLine { line: 4 },
        ),
        ("\n".into(), CheckpointError::EmptyLine { line: 1 }),
        (
            format!("origin\n012\n{root}\n"),
            CheckpointError::BadSize { text: "012".into() },
        ),
        (
            format!("origin\n+12\n{root}\n"),
            CheckpointError::BadSize { text: "+12".into() },
        ),
        (
            format!("origin\n-1\n{root}\n"),
            CheckpointError::BadSize { text: "-1".into() },
        ),
        (
            format!("origin\n1 2\n{root}\n"),
            CheckpointError::BadSize { text: "1 2".into() },
        ),
        (
            format!("origin\n١٢\n{root}\n"),
            CheckpointError::BadSize {
                text: "١٢".into()
            },
        ),
        (
            format!("origin\n18446744073709551616\n{root}\n"),
            CheckpointError::BadSize {
                text: "18446744073709551616".into(),
            },
        ),
        (
            "origin\n12\nnot base64!\n".into(),
            CheckpointError::BadRootEncoding {
                text: "not base64!".into(),
            },
        ),
        (
            format!("origin\n12\n{}\n", root.trim_end_matches('=')),
            CheckpointError::BadRootEncoding {
                text: root.trim_end_matches('=').into(),
            },
        ),
        (
            format!("origin\n12\n{}\n", b64e(&[7; 31])),
            CheckpointError::BadRootLength { len: 31 },
        ),
        (
            format!("origin\n12\n{}\n", b64e(&[7; 33])),
            CheckpointError::BadRootLength { len: 33 },
        ),
        (
            format!("origin\n12\n{}\n", b64e(&[7; 64])),
            CheckpointError::BadRootLength { len: 64 },
        ),
        (
            "origin\n12\n\n".into(),
            CheckpointError::EmptyLine { line: 3 },
        ),
    ];
    for (text, want) in cases {
        // Signed, so that the body is what fails. (Blank lines in the text are fine for the
        // note: its separator is the last blank line, the one before the signatures.)
        let msg = signed(&text, &s);
        assert_eq!(
            checkpoint::open(&msg, &trusted),
            Err(want.clone()),
            "{text:?}"
        );
        assert_eq!(Checkpoint::parse_body(&text), Err(want), "{text:?}");
    }
    assert_eq!(
        Checkpoint::parse_body("origin\n12"),
        Err(CheckpointError::Note(NoteError::TextNotTerminated))
    );
    // The extremes that are fine.
    let cp = checkpoint::open(signed(&format!("o\n0\n{root}\n"), &s), &trusted).unwrap();
    assert_eq!(cp.size, 0);
    let cp = checkpoint::open(
        signed(&format!("o\n18446744073709551615\n{root}\n"), &s),
        &trusted,
    )
    .unwrap();
    assert_eq!(cp.size, u64::MAX);
    // Messages name the problem.
    assert_eq!(
        CheckpointError::BadRootLength { len: 31 }.to_string(),
        "checkpoint root hash has 31 bytes; an RFC 6962 SHA-256 root has 32"
    );
}

#[test]
fn unsignable_checkpoints_are_refused() {
    let s = new_signer("mlguard.example/audit");
    let root: Hash = leaf_hash(b"root");
    for (origin, extensions, field) in [
        ("", vec![], "origin"),
        ("two\nlines", vec![], "origin"),
        ("tab\there", vec![], "origin"),
        ("ok", vec![String::new()], "extension line"),
        ("ok", vec!["a\nb".to_string()], "extension line"),
    ] {
        let cp = Checkpoint {
            origin: origin.into(),
            size: 1,
            root,
            extensions: extensions.clone(),
        };
        let value = if field == "origin" {
            origin.to_string()
        } else {
            extensions[0].clone()
        };
        assert_eq!(
            checkpoint::sign(&cp, &s),
            Err(CheckpointError::InvalidLine { field, value })
        );
    }
}

/// The fuzz target's body over valid notes and many corruptions of them.
#[test]
fn fuzz_body_holds_on_mutations() {
    let s = fuzz_checkpoint_signer();
    let mut cp = Checkpoint::new("mlguard.fuzz/checkpoint", 42, leaf_hash(b"fuzz"));
    let plain = checkpoint::sign(&cp, s).unwrap();
    cp.extensions.push("ext".into());
    let other = new_signer("someone.else");
    let cosigned = note::sign(&cp.to_body().unwrap(), &[&other, s]).unwrap();
    let mut inputs: Vec<Vec<u8>> = vec![
        plain.clone().into_bytes(),
        cosigned.clone().into_bytes(),
        SUMDB_NOTES[0].0.as_bytes().to_vec(),
        C2SP_EXAMPLE.as_bytes().to_vec(),
        Vec::new(),
        b"\n\n".to_vec(),
        "\n\n— \n".as_bytes().to_vec(),
    ];
    for base in [plain.as_bytes(), cosigned.as_bytes()] {
        for i in 0..base.len() {
            inputs.push(base[..i].to_vec());
            for x in [0x01u8, 0x20, 0x80] {
                let mut m = base.to_vec();
                m[i] ^= x;
                inputs.push(m);
            }
            let mut m = base.to_vec();
            m.remove(i);
            inputs.push(m);
            let mut m = base.to_vec();
            m.insert(i, b'\n');
            inputs.push(m);
        }
    }
    let mut accepted = 0;
    for input in &inputs {
        check_checkpoint_input(input);
        if checkpoint::open(input, &[s.verifier()]).is_ok() {
            accepted += 1;
        }
    }
    // The unmutated notes (and mutations that only touch the other signer's line) open.
    assert!(accepted >= 2, "{accepted}");
}
