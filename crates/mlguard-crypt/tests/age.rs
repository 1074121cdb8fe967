//! The `age` key provider against the real age tool (Debian `age` and `age-keygen`): keys
//! age-keygen writes parse and give its recipients; the age tool opens our stanza bodies and we
//! open its files (one and two recipients, every chunk boundary); our generated identity files
//! work with the tool. Without the tool: wrong identities, modified bodies, the strictness of the
//! age header parser, key-file errors, whole encrypted files opened with age identities, and the
//! fuzz seeds of the `age_header` target.

mod common;

include!("../../../fuzz/common/age_header_check.rs");

use mlguard_crypt::file::{encrypt_file, no_progress, Decryptor, EncryptOptions};
use mlguard_crypt::provider::age::{
    self, AgeFile, AgeIdentity, AgeRecipient, AgeStanza, CHUNK, MAX_ARG_LINE, MAX_STANZAS,
};
use mlguard_crypt::provider::local::LocalKey;
use mlguard_crypt::provider::{b64, unb64, KeyProvider};
use mlguard_crypt::{DataKey, Error, Stanza};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Tools {
    age: PathBuf,
    keygen: PathBuf,
}

fn tools() -> Option<Tools> {
    Some(Tools {
        age: common::tool("age")?,
        keygen: common::tool("age-keygen")?,
    })
}

/// Run `cmd` with `args` (and `stdin`), assert success, return stdout.
fn run(cmd: &Path, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{} runs: {e}", cmd.display()));
    let mut input = child.stdin.take().unwrap();
    let data = stdin.unwrap_or_default().to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        cmd.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `age-keygen -o path`; returns the file's `# public key:` value.
fn keygen(t: &Tools, path: &Path) -> String {
    run(&t.keygen, &["-o", path.to_str().unwrap()], None);
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("age-keygen writes a # public key: line")
        .to_owned()
}

fn plaintext(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 + i / 977) as u8).collect()
}

fn unnamed(s: &Stanza) -> Stanza {
    Stanza {
        args: Default::default(),
        ..s.clone()
    }
}

fn body_stanza(body: &[u8]) -> Stanza {
    Stanza {
        kind: "age".into(),
        args: Default::default(),
        body: b64(body),
    }
}

const SIZES: &[usize] = &[
    0,
    1,
    32,
    CHUNK - 1,
    CHUNK,
    CHUNK + 1,
    2 * CHUNK,
    2 * CHUNK + 17,
];

#[test]
fn age_keygen_identity_files_parse_to_its_recipients() {
    let Some(t) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("key.txt");
    let public = keygen(&t, &f);
    let ids = AgeIdentity::read_file(&f).unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].recipient().to_string(), public);
    let y = String::from_utf8(run(&t.keygen, &["-y", f.to_str().unwrap()], None)).unwrap();
    assert_eq!(y.trim(), public);
    assert_eq!(AgeRecipient::parse(y.trim()).unwrap(), *ids[0].recipient());
    let text = std::fs::read_to_string(&f).unwrap();
    let secret_line = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap();
    assert_eq!(ids[0].to_secret_string().as_str(), secret_line);

    // Several keys, comments, blank lines, CRLF line ends.
    let g = dir.path().join("key2.txt");
    let public2 = keygen(&t, &g);
    assert_ne!(public, public2);
    let both = format!(
        "{text}\n\n# another one\n{}",
        std::fs::read_to_string(&g).unwrap().replace('\n', "\r\n")
    );
    let bf = dir.path().join("both.txt");
    std::fs::write(&bf, both).unwrap();
    let ids = AgeIdentity::read_file(&bf).unwrap();
    let ours: Vec<String> = ids.iter().map(|i| i.recipient().to_string()).collect();
    assert_eq!(ours, [public.clone(), public2.clone()]);
    let y = String::from_utf8(run(&t.keygen, &["-y", bf.to_str().unwrap()], None)).unwrap();
    assert_eq!(
        y.lines().collect::<Vec<_>>(),
        ours,
        "age-keygen -y reads the same file alike"
    );
}

#[test]
fn age_tool_decrypts_our_stanza_bodies() {
    let Some(t) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("key.txt");
    let public = keygen(&t, &f);
    let recipient = AgeRecipient::parse(&public).unwrap();
    for _ in 0..3 {
        let key = DataKey::random().unwrap();
        let st = recipient.wrap(&key).unwrap();
        assert_eq!(st.kind, "age");
        assert_eq!(st.args.get("recipient"), Some(&public));
        let body = dir.path().join("body.age");
        std::fs::write(&body, unb64(&st).unwrap()).unwrap();
        let out = run(
            &t.age,
            &["-d", "-i", f.to_str().unwrap(), body.to_str().unwrap()],
            None,
        );
        assert!(
            out == key.expose(),
            "age -d printed other bytes than the data key"
        );
    }
    // Whole files of every chunk-boundary size, to another recipient first and then to ours.
    let other = AgeIdentity::generate().unwrap().recipient().clone();
    for &n in SIZES {
        let p = plaintext(n);
        let file = age::encrypt(&[other.clone(), recipient.clone()], &p).unwrap();
        let path = dir.path().join("file.age");
        std::fs::write(&path, &file).unwrap();
        let out = run(
            &t.age,
            &["-d", "-i", f.to_str().unwrap(), path.to_str().unwrap()],
            None,
        );
        assert!(out == p, "age -d differs for size {n}");
    }
}

#[test]
fn we_unwrap_age_tool_bodies() {
    let Some(t) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut ids = Vec::new();
    let mut publics = Vec::new();
    for i in 0..3 {
        let f = dir.path().join(format!("key{i}.txt"));
        publics.push(keygen(&t, &f));
        ids.push(AgeIdentity::read_file(&f).unwrap().remove(0));
    }
    let key = DataKey::random().unwrap();

    let body = run(&t.age, &["-r", &publics[0]], Some(key.expose()));
    let st = body_stanza(&body);
    assert_eq!(ids[0].unwrap(&st).unwrap(), Some(key.clone()));
    assert_eq!(ids[1].unwrap(&st).unwrap(), None);

    let rf = dir.path().join("recipients.txt");
    std::fs::write(
        &rf,
        format!("# the team\n{}\n\n# backup\n{}\n", publics[0], publics[1]),
    )
    .unwrap();
    let parsed = AgeRecipient::read_file(&rf).unwrap();
    assert_eq!(
        parsed,
        [ids[0].recipient().clone(), ids[1].recipient().clone()]
    );
    let body = run(&t.age, &["-R", rf.to_str().unwrap()], Some(key.expose()));
    assert_eq!(AgeFile::parse(&body).unwrap().stanzas.len(), 2);
    let st = body_stanza(&body);
    assert_eq!(ids[0].unwrap(&st).unwrap(), Some(key.clone()));
    assert_eq!(ids[1].unwrap(&st).unwrap(), Some(key.clone()));
    assert_eq!(ids[2].unwrap(&st).unwrap(), None);

    // Files of every chunk-boundary size written by the tool.
    for &n in SIZES {
        let p = plaintext(n);
        let file = run(&t.age, &["-r", &publics[1], "-r", &publics[0]], Some(&p));
        let got = ids[0].decrypt(&file).unwrap().expect("ours");
        assert!(*got == p, "our plaintext differs for size {n}");
        assert!(ids[2].decrypt(&file).unwrap().is_none());
        // Tool bodies that are not 32 bytes are not data keys.
        if n != 32 {
            assert!(matches!(
                ids[0].unwrap(&body_stanza(&file)),
                Err(Error::Format(_))
            ));
        }
    }
}

#[test]
fn generated_identity_files_work_with_the_age_tool() {
    let Some(t) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let id = AgeIdentity::generate().unwrap();
    let text = id.to_file_text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{}", lines[..2].join("\n"));
    let created = lines[0]
        .strip_prefix("# created: ")
        .expect("# created: line");
    assert!(created.len() == 20 && created.ends_with('Z'), "{created}");
    assert_eq!(lines[1], format!("# public key: {}", id.recipient()));
    assert!(lines[2].starts_with("AGE-SECRET-KEY-1"));
    let f = dir.path().join("id.txt");
    std::fs::write(&f, text.as_bytes()).unwrap();
    let y = String::from_utf8(run(&t.keygen, &["-y", f.to_str().unwrap()], None)).unwrap();
    assert_eq!(y.trim(), id.recipient().to_string());
    let key = DataKey::random().unwrap();
    let st = id.wrap(&key).unwrap();
    let body = dir.path().join("body.age");
    std::fs::write(&body, unb64(&st).unwrap()).unwrap();
    let out = run(
        &t.age,
        &["-d", "-i", f.to_str().unwrap(), body.to_str().unwrap()],
        None,
    );
    assert!(out == key.expose());
    // And the tool's file to the generated recipient opens with the file read back.
    let back = AgeIdentity::read_file(&f).unwrap().remove(0);
    let body = run(
        &t.age,
        &["-r", &id.recipient().to_string()],
        Some(key.expose()),
    );
    assert_eq!(back.unwrap(&body_stanza(&body)).unwrap(), Some(key));
    assert_ne!(AgeIdentity::generate().unwrap().recipient(), id.recipient());
}

/// Replace the byte at `i` by another base64 character.
fn other_b64_char(b: &mut [u8], i: usize) {
    b[i] = if b[i] == b'A' { b'B' } else { b'A' };
}

#[test]
fn wrong_identities_and_modified_bodies() {
    let a = AgeIdentity::generate().unwrap();
    let b = AgeIdentity::generate().unwrap();
    let key = DataKey::random().unwrap();
    let st = a.recipient().wrap(&key).unwrap();
    assert_eq!(a.unwrap(&st).unwrap(), Some(key.clone()));
    assert_eq!(
        b.unwrap(&st).unwrap(),
        None,
        "a stanza naming another recipient is skipped"
    );
    assert_eq!(
        b.unwrap(&unnamed(&st)).unwrap(),
        None,
        "an unnamed stanza not for b is skipped"
    );
    assert_eq!(a.unwrap(&unnamed(&st)).unwrap(), Some(key.clone()));
    assert_eq!(
        a.recipient().unwrap(&st).unwrap(),
        None,
        "a recipient opens nothing"
    );

    // A stanza naming b but holding a's body: b must fail, not skip it.
    let mut forged = st.clone();
    forged
        .args
        .insert("recipient".into(), b.recipient().to_string());
    assert!(matches!(b.unwrap(&forged), Err(Error::Auth(_))));

    let body = unb64(&st).unwrap();
    let file = AgeFile::parse(&body).unwrap();
    let hlen = file.header().len();
    assert_eq!(body.len(), hlen + 16 + 32 + 16);
    let with = |m: &[u8]| Stanza {
        body: b64(m),
        ..st.clone()
    };
    let text = String::from_utf8_lossy(&body[..hlen]).into_owned();
    let mac_at = text.find("--- ").unwrap() + 4;
    let share_at = text.find("-> X25519 ").unwrap() + 10;
    let wrapped_at = text[share_at..].find('\n').unwrap() + share_at + 1;
    for (what, i, b64char) in [
        ("the payload nonce", hlen, false),
        ("the payload ciphertext", hlen + 16 + 5, false),
        ("the payload tag", body.len() - 1, false),
        ("the header MAC", mac_at + 7, true),
        ("the ephemeral share", share_at + 3, true),
        ("the wrapped file key", wrapped_at + 2, true),
    ] {
        let mut m = body.clone();
        if b64char {
            other_b64_char(&mut m, i);
        } else {
            m[i] ^= 0x40;
        }
        let r = a.unwrap(&with(&m));
        assert!(matches!(r, Err(Error::Auth(_))), "{what}: {r:?}");
        if what.starts_with("the payload") || what == "the header MAC" {
            assert!(matches!(a.decrypt(&m), Err(Error::Auth(_))), "{what}");
        } else {
            // Without the recipient argument, a stanza that no longer opens is not ours.
            assert_eq!(a.unwrap(&unnamed(&with(&m))).unwrap(), None, "{what}");
        }
    }
    // No single-byte change anywhere yields a key, and truncations fail.
    for i in 0..body.len() {
        for x in [0x01u8, 0x80] {
            let mut m = body.clone();
            m[i] ^= x;
            assert!(
                a.unwrap(&with(&m)).is_err(),
                "byte {i} ^ {x:#x} still opens"
            );
        }
    }
    for n in 0..body.len() {
        assert!(
            a.unwrap(&with(&body[..n])).is_err(),
            "cut at {n} still opens"
        );
    }
    let mut longer = body.clone();
    longer.push(0);
    assert!(matches!(a.unwrap(&with(&longer)), Err(Error::Auth(_))));

    // An all-zero shared secret is refused (a low-order ephemeral share).
    let zero = format!(
        "age-encryption.org/v1\n-> X25519 {z}\n{z}\n--- {z}\n",
        z = "A".repeat(43)
    );
    let mut m = zero.into_bytes();
    m.extend_from_slice(&[0; 32]);
    let r = a.unwrap(&body_stanza(&m));
    assert!(
        matches!(&r, Err(Error::Format(e)) if e.contains("low-order")),
        "{r:?}"
    );
    // A body that is not base64, or not an age file, is a format error (exit code 2).
    let mut bad = st.clone();
    bad.body = "not base64!".into();
    assert!(matches!(a.unwrap(&bad), Err(Error::Format(_))));
    assert!(matches!(
        a.unwrap(&with(b"MLGMODEL")),
        Err(Error::Format(_))
    ));
}

#[test]
fn age_header_parsing_is_strict() {
    let r = AgeIdentity::generate().unwrap().recipient().clone();
    let file = age::encrypt(&[r.clone(), r], b"x").unwrap();
    let parsed = AgeFile::parse(&file).unwrap();
    assert_eq!(parsed.stanzas.len(), 2);
    assert_eq!(parsed.encode_header(), parsed.header());
    let text = String::from_utf8_lossy(parsed.header()).into_owned();
    let payload = &file[parsed.header().len()..];
    let parse =
        |h: &str| AgeFile::parse(&[h.as_bytes(), payload].concat()).map(|f| f.stanzas.len());
    assert_eq!(parse(&text).unwrap(), 2);
    let line1 = text.lines().nth(1).unwrap().to_owned();
    let body1 = text.lines().nth(2).unwrap().to_owned();
    let mac = text.lines().last().unwrap().to_owned();
    let bad: Vec<(&str, String)> = vec![
        ("version", text.replacen("/v1", "/v2", 1)),
        ("CRLF", text.replacen('\n', "\r\n", 1)),
        (
            "double space",
            text.replacen("-> X25519 ", "-> X25519  ", 1),
        ),
        (
            "trailing space",
            text.replacen(&line1, &format!("{line1} "), 1),
        ),
        ("no argument", text.replacen(&line1, "->", 1)),
        ("empty argument line", text.replacen(&line1, "-> ", 1)),
        (
            "padded body",
            text.replacen(&body1, &format!("{body1}="), 1),
        ),
        ("non-canonical body", {
            // 32 bytes are 43 characters whose last carries 2 unused bits.
            let mut b = body1.clone().into_bytes();
            b[42] = if b[42] == b'B' { b'C' } else { b'B' };
            text.replacen(&body1, std::str::from_utf8(&b).unwrap(), 1)
        }),
        (
            "body line over 64",
            text.replacen(&body1, &format!("{body1}{}", "A".repeat(29)), 1),
        ),
        ("no MAC line", text.replacen(&format!("{mac}\n"), "", 1)),
        ("MAC too long", text.replacen(&mac, &format!("{mac}A"), 1)),
        ("MAC padded", text.replacen(&mac, &format!("{mac}="), 1)),
        ("MAC without space", text.replacen("--- ", "---", 1)),
        ("no stanza", format!("age-encryption.org/v1\n{mac}\n")),
        ("junk line", text.replacen("---", "xx\n---", 1)),
        (
            "armored",
            "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n".into(),
        ),
        ("empty", String::new()),
        ("version only", "age-encryption.org/v1\n".into()),
    ];
    for (what, h) in bad {
        let bytes = [h.as_bytes(), payload].concat();
        let r = AgeFile::parse(&bytes);
        assert!(
            matches!(r, Err(Error::Format(_))),
            "{what}: {:?}",
            r.map(|f| f.stanzas.len())
        );
    }
    // Bodies of a multiple of 48 bytes end with an empty line; other stanza types are kept.
    let grease = AgeStanza {
        args: vec!["x-grease".into(), "a".into(), "-b!".into()],
        body: vec![7; 96],
    };
    let mut g = Vec::new();
    grease.encode(&mut g);
    let gs = String::from_utf8(g).unwrap();
    assert!(gs.ends_with("\n\n") && gs.lines().count() == 4, "{gs}");
    let with_grease = text.replacen("-> X25519", &format!("{gs}-> X25519"), 1);
    let f = [with_grease.as_bytes(), payload].concat();
    let p = AgeFile::parse(&f).unwrap();
    assert_eq!(p.stanzas[0], grease);
    assert_eq!(p.encode_header(), with_grease.as_bytes());
    let no_empty_line = with_grease.replacen(&gs, gs.strip_suffix('\n').unwrap(), 1);
    assert!(parse(&no_empty_line).is_err());
    // Limits.
    let many = |n: usize| format!("age-encryption.org/v1\n{}{mac}\n", "-> a\n\n".repeat(n));
    assert_eq!(parse(&many(MAX_STANZAS)).unwrap(), MAX_STANZAS);
    assert!(parse(&many(MAX_STANZAS + 1)).is_err());
    let long = |n: usize| format!("age-encryption.org/v1\n-> {}\n\n{mac}\n", "a".repeat(n - 3));
    assert_eq!(parse(&long(MAX_ARG_LINE)).unwrap(), 1);
    assert!(parse(&long(MAX_ARG_LINE + 1)).is_err());
}

#[test]
fn our_files_open_with_our_decrypt_at_every_chunk_boundary() {
    let a = AgeIdentity::generate().unwrap();
    let b = AgeIdentity::generate().unwrap();
    for &n in SIZES {
        let p = plaintext(n);
        let file = age::encrypt(std::slice::from_ref(a.recipient()), &p).unwrap();
        let full = n.div_ceil(CHUNK).max(1);
        let hlen = AgeFile::parse(&file).unwrap().header().len();
        assert_eq!(file.len(), hlen + 16 + n + 16 * full, "size {n}");
        assert!(*a.decrypt(&file).unwrap().unwrap() == p, "size {n}");
        assert!(b.decrypt(&file).unwrap().is_none());
        // Dropping the final chunk (when there are several) is caught.
        if full > 1 {
            let cut = hlen + 16 + (full - 1) * (CHUNK + 16);
            assert!(
                matches!(a.decrypt(&file[..cut]), Err(Error::Auth(_))),
                "size {n}"
            );
        }
    }
}

#[test]
fn key_file_errors_name_the_file_and_line_and_hide_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let id = AgeIdentity::generate().unwrap();
    let secret = id.to_secret_string().to_string();
    let mut broken = secret.clone().into_bytes();
    let last = broken.len() - 1;
    broken[last] = if broken[last] == b'Q' { b'P' } else { b'Q' };
    let broken = String::from_utf8(broken).unwrap();
    let f = dir.path().join("ids.txt");
    std::fs::write(&f, format!("# created: now\n\n{secret}\n{broken}\n")).unwrap();
    let e = AgeIdentity::read_file(&f).unwrap_err().to_string();
    assert!(e.contains(&format!("{}:4:", f.display())), "{e}");
    assert!(e.contains("checksum"), "{e}");
    assert!(
        !e.contains(&secret) && !e.contains(&broken) && !e.contains(&broken[20..]),
        "{e}"
    );

    for (content, line, says) in [
        (format!("{}\n", id.recipient()), 1, "recipient"),
        ("# nothing\n\n".to_owned(), 0, "no identity"),
        (format!("{}\n", secret.to_lowercase()), 1, "upper case"),
        ("AGE-PLUGIN-YUBIKEY-1QQQQQQ\n".to_owned(), 1, "plugin"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\n".to_owned(), 1, "SSH"),
    ] {
        std::fs::write(&f, &content).unwrap();
        let e = AgeIdentity::read_file(&f).unwrap_err();
        assert!(matches!(e, Error::Key(_)));
        let e = e.to_string();
        let at = if line == 0 {
            format!("{}: ", f.display())
        } else {
            format!("{}:{line}: ", f.display())
        };
        assert!(e.contains(&at) && e.contains(says), "{e}");
        assert!(!e.to_lowercase().contains(&secret.to_lowercase()), "{e}");
    }
    let missing = dir.path().join("missing.txt");
    assert!(matches!(
        AgeIdentity::read_file(&missing),
        Err(Error::Io { .. })
    ));

    let rf = dir.path().join("recipients.txt");
    std::fs::write(&rf, format!("{}\nage1notarecipient\n", id.recipient())).unwrap();
    let e = AgeRecipient::read_file(&rf).unwrap_err().to_string();
    assert!(
        e.contains(&format!("{}:2: \"age1notarecipient\"", rf.display())),
        "{e}"
    );
    std::fs::write(&rf, format!("# a secret by mistake\n{secret}\n")).unwrap();
    let e = AgeRecipient::read_file(&rf).unwrap_err().to_string();
    assert!(
        e.contains(&format!("{}:2:", rf.display())) && e.contains("secret key"),
        "{e}"
    );
    assert!(!e.contains(&secret), "{e}");
    assert!(AgeRecipient::parse(&secret)
        .unwrap_err()
        .to_string()
        .find(&secret)
        .is_none());
    let upper = id.recipient().to_string().to_uppercase();
    assert!(AgeRecipient::parse(&upper)
        .unwrap_err()
        .to_string()
        .contains("lower case"));
    let pq = "age1pq1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq";
    assert!(AgeRecipient::parse(pq).is_err());
    assert!(AgeRecipient::parse("ssh-ed25519 AAAA")
        .unwrap_err()
        .to_string()
        .contains("SSH"));
    // Whitespace around a recipient is ignored; a parsed recipient prints back.
    let padded = format!("  {}\t\n", id.recipient());
    assert_eq!(AgeRecipient::parse(&padded).unwrap(), *id.recipient());

    // Debug output never shows the secret.
    let dbg = format!("{id:?} {:?}", [&id]);
    assert!(
        !dbg.contains(&secret) && !dbg.contains("AGE-SECRET-KEY"),
        "{dbg}"
    );
    assert!(dbg.contains(&id.recipient().to_string()));
}

#[test]
fn encrypted_files_round_trip_with_age_providers() {
    let dir = tempfile::tempdir().unwrap();
    let a = AgeIdentity::generate().unwrap();
    let b = AgeIdentity::generate().unwrap();
    let c = AgeIdentity::generate().unwrap();
    let local = LocalKey::generate().unwrap();
    let plain = plaintext(3 * 1024 * 1024 + 77);
    let input = dir.path().join("model.bin");
    std::fs::write(&input, &plain).unwrap();
    let enc = dir.path().join("model.bin.mlg");
    let providers: Vec<Box<dyn KeyProvider>> = vec![
        Box::new(a.recipient().clone()),
        Box::new(b.clone()),
        Box::new(local),
    ];
    let header = encrypt_file(
        &input,
        &enc,
        &providers,
        &EncryptOptions::default(),
        &no_progress,
    )
    .unwrap();
    let kinds: Vec<(&str, Option<&String>)> = header
        .stanzas
        .iter()
        .map(|s| (s.kind.as_str(), s.args.get("recipient")))
        .collect();
    let (ra, rb) = (a.recipient().to_string(), b.recipient().to_string());
    assert_eq!(
        kinds,
        [("age", Some(&ra)), ("age", Some(&rb)), ("local", None)]
    );

    for (who, opener) in [
        ("a", Box::new(a.clone()) as Box<dyn KeyProvider>),
        ("b", Box::new(b.clone())),
    ] {
        let d = Decryptor::open(&enc, &[Box::new(c.clone()) as Box<dyn KeyProvider>, opener])
            .unwrap_or_else(|e| panic!("{who}: {e}"));
        let out = dir.path().join(format!("out-{who}.bin"));
        d.decrypt_to(&out, &no_progress).unwrap();
        assert!(std::fs::read(&out).unwrap() == plain, "{who}");
        assert!(d.read_range(1_000_000, 100).unwrap() == plain[1_000_000..1_000_100]);
    }
    for (who, p) in [
        ("c", Box::new(c.clone()) as Box<dyn KeyProvider>),
        ("a's recipient", Box::new(a.recipient().clone())),
    ] {
        let e = Decryptor::open(&enc, &[p]).unwrap_err();
        assert!(
            matches!(e, Error::NoMatchingKey(_)) && e.is_auth(),
            "{who}: {e}"
        );
    }
    // The age tool's own stanza body (no recipient argument) opens a file too: swap a's
    // stanza for an unnamed one holding the same key.
    let h = mlguard_crypt::file::read_header(&enc).unwrap();
    let key = a.unwrap(&h.stanzas[0]).unwrap().unwrap();
    let body = age::encrypt(std::slice::from_ref(a.recipient()), key.expose()).unwrap();
    let d = Decryptor::with_key(
        &enc,
        h.clone(),
        &a.unwrap(&body_stanza(&body)).unwrap().unwrap(),
    );
    assert!(d.is_ok());
}

fn fuzz_files(sub: &str, min: usize) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz")
        .join(sub);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() >= min,
        "{} files in {}",
        files.len(),
        dir.display()
    );
    files
}

/// The fuzz target's body over its seeds and saved corpus; the seeds must reach decryption.
#[test]
fn age_header_fuzz_seeds_and_corpus_replay() {
    let id = AgeIdentity::parse(FUZZ_AGE_IDENTITY).unwrap();
    assert_eq!(id.recipient().to_string(), FUZZ_AGE_RECIPIENT);
    let mut opened = 0;
    for f in fuzz_files("seeds-age-header", 5) {
        let data = std::fs::read(&f).unwrap();
        check_age_header_input(&data);
        if matches!(id.unwrap(&body_stanza(&data)), Ok(Some(_))) {
            opened += 1;
        }
    }
    assert!(
        opened >= 3,
        "only {opened} seeds open with the fuzz identity"
    );
    for f in fuzz_files("corpus/age_header", 50) {
        check_age_header_input(&std::fs::read(&f).unwrap());
    }
}

/// Regenerate fuzz/seeds-age-header with the age tool:
/// `cargo test -p mlguard-crypt --test age -- --ignored write_age_header_seeds`.
#[test]
#[ignore]
fn write_age_header_seeds() {
    let t = tools().expect("age and age-keygen");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds-age-header");
    std::fs::create_dir_all(&dir).unwrap();
    let other = AgeIdentity::generate().unwrap().recipient().to_string();
    let key = [0x5au8; 32];
    let one = run(&t.age, &["-r", FUZZ_AGE_RECIPIENT], Some(&key));
    let two = run(
        &t.age,
        &["-r", &other, "-r", FUZZ_AGE_RECIPIENT],
        Some(&key),
    );
    let empty = run(&t.age, &["-r", FUZZ_AGE_RECIPIENT], Some(b""));
    let ours = age::encrypt(&[AgeRecipient::parse(FUZZ_AGE_RECIPIENT).unwrap()], &key).unwrap();
    let write = |name: &str, b: &[u8]| std::fs::write(dir.join(name), b).unwrap();
    write("tool-data-key.age", &one);
    write("tool-two-recipients.age", &two);
    write("tool-empty.age", &empty);
    write("ours-data-key.age", &ours);
    write("truncated-header.age", &one[..60]);
    write("truncated-payload.age", &one[..one.len() - 7]);
    write(
        "identity-file.txt",
        format!("# public key: {FUZZ_AGE_RECIPIENT}\n\n{FUZZ_AGE_IDENTITY}\n").as_bytes(),
    );
}
