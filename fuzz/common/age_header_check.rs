// Body of the `age_header` fuzz target, also `include!`d by tests in crates/mlguard-crypt: the
// bytes through the age v1 file parser of the `age` key provider (the body of an `age` stanza is
// an age file) and, when it parses, through decryption and stanza unwrapping with a fixed test
// identity; the text through the recipient and identity-file parsers. Invariants: no panic; a
// parsed header prints back to exactly the bytes it was read from; parse errors are format
// errors; decrypt and unwrap agree (unwrapping opens exactly the 32-byte plaintexts decrypt
// opens, and a stanza naming the identity fails rather than being skipped); a parsed recipient
// prints back to its text; identity-file errors name the file and a line and never quote a
// secret key.

/// The identity the seeds are encrypted to (fuzz/seeds-age-header, written by the ignored test
/// `write_age_header_seeds` in crates/mlguard-crypt/tests/age.rs). A published test key, not a
/// secret.
#[allow(dead_code)]
const FUZZ_AGE_IDENTITY: &str =
    "AGE-SECRET-KEY-1FVZEG8EMZMALW92FP7G304J92L06YGZ796MJ26C2YVWGXF7X9LZS7RJF7Y";
/// Its recipient.
#[allow(dead_code)]
const FUZZ_AGE_RECIPIENT: &str = "age164x8jdng4tky8ckadhrhp4z8qj6ejdsehazlt4ps729fqv9hvvrqtmu296";

#[allow(dead_code)]
fn check_age_header_input(data: &[u8]) {
    use mlguard_crypt::provider::age::{AgeFile, AgeIdentity, AgeRecipient, MAX_STANZAS};
    use mlguard_crypt::provider::KeyProvider;
    use mlguard_crypt::{Error, Stanza};

    static IDENTITY: std::sync::OnceLock<AgeIdentity> = std::sync::OnceLock::new();
    let id = IDENTITY
        .get_or_init(|| AgeIdentity::parse(FUZZ_AGE_IDENTITY).expect("the fuzz identity parses"));

    let parsed = match AgeFile::parse(data) {
        Ok(f) => {
            let h = f.header();
            assert!(h.len() <= data.len());
            assert_eq!(h, &data[..h.len()]);
            assert_eq!(f.payload, &data[h.len()..]);
            assert_eq!(
                f.encode_header(),
                h,
                "a parsed age header prints back to its bytes"
            );
            assert!(!f.stanzas.is_empty() && f.stanzas.len() <= MAX_STANZAS);
            for s in &f.stanzas {
                assert!(!s.args.is_empty());
                for a in &s.args {
                    assert!(!a.is_empty() && a.bytes().all(|c| (0x21..=0x7e).contains(&c)));
                }
            }
            true
        }
        Err(e) => {
            assert!(
                matches!(e, Error::Format(_)),
                "a parse error is a format error: {e}"
            );
            assert!(!e.to_string().is_empty());
            false
        }
    };

    let plain = id.decrypt(data);
    match &plain {
        Ok(Some(p)) => {
            assert!(parsed);
            assert!(p.len() <= data.len());
        }
        Ok(None) => assert!(parsed),
        Err(e) => assert!(parsed || matches!(e, Error::Format(_)), "{e}"),
    }

    // The same bytes as an `age` stanza body: without the recipient argument (as the age tool
    // writes), naming the fuzz identity, and naming another recipient.
    let body = mlguard_crypt::provider::b64(data);
    let stanza = |recipient: Option<&str>| Stanza {
        kind: "age".into(),
        args: recipient
            .map(|r| [("recipient".to_owned(), r.to_owned())].into())
            .unwrap_or_default(),
        body: body.clone(),
    };
    let unnamed = id.unwrap(&stanza(None));
    match (&unnamed, &plain) {
        (Ok(Some(k)), Ok(Some(p))) => assert_eq!(k.expose().as_slice(), p.as_slice()),
        (Ok(Some(_)), _) => panic!("unwrap opened a stanza decrypt did not"),
        (Ok(None), Ok(None)) => {}
        (Ok(None), _) => panic!("unwrap skipped a stanza decrypt opened or refused"),
        (Err(_), Ok(Some(p))) => assert_ne!(p.len(), 32, "a 32-byte plaintext is a data key"),
        (Err(e), Err(d)) => assert_eq!(e.is_auth(), d.is_auth(), "{e} / {d}"),
        (Err(e), Ok(None)) => panic!("unwrap failed where decrypt skipped: {e}"),
    }
    match (id.unwrap(&stanza(Some(FUZZ_AGE_RECIPIENT))), &unnamed) {
        (Ok(Some(k)), Ok(Some(u))) => assert_eq!(k, *u),
        (Err(e), Ok(None)) => assert!(e.is_auth(), "{e}"),
        (Err(_), Err(_)) => {}
        (named, _) => panic!("naming the identity changed the outcome: {named:?} vs {unnamed:?}"),
    }
    assert!(matches!(
        id.unwrap(&stanza(Some("age1someoneelse"))),
        Ok(None)
    ));

    // The text as a recipient and as an identity file.
    let text = String::from_utf8_lossy(data);
    if let Ok(r) = AgeRecipient::parse(&text) {
        assert_eq!(r.to_string(), text.trim());
        assert_eq!(AgeRecipient::parse(&r.to_string()).expect("prints back"), r);
    }
    match AgeIdentity::parse_identities(&text, "fuzz.txt") {
        Ok(ids) => {
            assert!(!ids.is_empty());
            for i in &ids {
                let again = AgeIdentity::parse(&i.to_secret_string()).expect("prints back");
                assert_eq!(again.recipient(), i.recipient());
                assert!(!format!("{i:?}").contains("AGE-SECRET-KEY-1"));
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with("key: fuzz.txt:"), "{msg}");
            for line in text.lines().map(str::trim) {
                if line.len() >= 40 && line.starts_with("AGE-SECRET-KEY-1") {
                    assert!(!msg.contains(line), "an error quotes a secret key: {msg}");
                }
            }
        }
    }
}
