//! The pkcs11 provider against a real PKCS#11 module: SoftHSM2 (Debian softhsm2), with tokens
//! made by `softhsm2-util` in a temporary token folder and keys made by `generate_kek`.
//!
//! SOFTHSM2_CONF is process-global and SoftHSM2 reads it, and the token folder, once, when this
//! process first initialises the module; so the whole binary shares one configuration, every
//! token is initialised before any test loads the module, and each test works on its own
//! token (its own label), so tests running in parallel never see each other's keys or logins.

mod common;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11 as Context};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use mlguard_crypt::file::{encrypt_file, no_progress, Decryptor, EncryptOptions};
use mlguard_crypt::provider::local::LocalKey;
use mlguard_crypt::provider::pkcs11::{generate_kek, Pkcs11};
use mlguard_crypt::provider::KeyProvider;
use mlguard_crypt::{DataKey, Error, Stanza};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

const MODULES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/softhsm/libsofthsm2.so",
];
const USER_PIN: &str = "pin-4821-user";
const SO_PIN: &str = "5678";
/// One token per test.
const TOKENS: &[&str] = &[
    "roundtrip",
    "keygen",
    "labels",
    "wrong-pin",
    "tamper",
    "attrs",
    "missing",
    "env",
    "file",
];

struct Hsm {
    _dir: tempfile::TempDir,
    module: PathBuf,
}

static HSM: OnceLock<Option<Hsm>> = OnceLock::new();

/// The shared SoftHSM2 setup, or None (test skipped) when SoftHSM2 is not installed.
fn hsm() -> Option<&'static Hsm> {
    HSM.get_or_init(|| {
        let util = common::tool("softhsm2-util")?;
        let Some(module) = MODULES.iter().map(PathBuf::from).find(|p| p.is_file()) else {
            assert!(
                std::env::var_os("MLGUARD_REQUIRE_TOOLS").is_none(),
                "the SoftHSM2 module (libsofthsm2.so) is missing (scripts/test installs it)"
            );
            eprintln!("skipped: libsofthsm2.so not present");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                tokens.display()
            ),
        )
        .unwrap();
        for label in TOKENS {
            let out = Command::new(&util)
                .env("SOFTHSM2_CONF", &conf)
                .args(["--init-token", "--free", "--label", label])
                .args(["--pin", USER_PIN, "--so-pin", SO_PIN])
                .output()
                .expect("softhsm2-util runs");
            assert!(
                out.status.success(),
                "softhsm2-util --init-token {label}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // Before any test can load the module: every test waits for this initialiser.
        std::env::set_var("SOFTHSM2_CONF", &conf);
        std::env::set_var("MLGUARD_PKCS11_MODULE", &module);
        std::env::set_var("MLGUARD_PKCS11_PIN", USER_PIN);
        Some(Hsm { _dir: dir, module })
    })
    .as_ref()
}

/// A full URI: module and PIN in the query (the environment defaults are tested separately).
fn uri(hsm: &Hsm, token: &str, object: &str) -> String {
    uri_pin(hsm, token, object, USER_PIN)
}

fn uri_pin(hsm: &Hsm, token: &str, object: &str, pin: &str) -> String {
    format!(
        "pkcs11:token={token};object={object}?module-path={}&pin-value={pin}",
        hsm.module.display()
    )
}

fn b64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn b64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn assert_auth<T: std::fmt::Debug>(r: Result<T, Error>, what: &str) -> String {
    match r {
        Err(e @ Error::Auth(_)) => {
            assert!(e.is_auth());
            e.to_string()
        }
        other => panic!("{what}: expected Error::Auth, got {other:?}"),
    }
}

fn assert_key_err<T: std::fmt::Debug>(r: Result<T, Error>, what: &str) -> String {
    match r {
        Err(e @ Error::Key(_)) => {
            assert!(!e.is_auth());
            e.to_string()
        }
        other => panic!("{what}: expected Error::Key, got {other:?}"),
    }
}

#[test]
fn wrap_unwrap_round_trip() {
    let Some(hsm) = hsm() else { return };
    let u = uri(hsm, "roundtrip", "kek");
    generate_kek(&u).unwrap();
    let p = Pkcs11::from_uri(&u).unwrap();
    assert_eq!(p.kind(), "pkcs11");
    let key = DataKey::random().unwrap();
    let st = p.wrap(&key).unwrap();
    assert_eq!(st.kind, "pkcs11");
    assert_eq!(
        st.args,
        [
            ("object".to_owned(), "kek".to_owned()),
            ("token".to_owned(), "roundtrip".to_owned())
        ]
        .into()
    );
    let body = b64_decode(&st.body);
    assert_eq!(body.len(), 12 + 32 + 16, "iv || ciphertext || tag");
    assert!(
        !body.windows(32).any(|w| w == key.expose()),
        "the data key is in the stanza in clear"
    );
    assert_eq!(p.unwrap(&st).unwrap(), Some(key.clone()));
    // A fresh IV each time; another provider for the same URI opens it.
    let st2 = p.wrap(&key).unwrap();
    assert_ne!(st.body, st2.body);
    assert_ne!(body[..12], b64_decode(&st2.body)[..12]);
    let again = Pkcs11::from_uri(&u).unwrap();
    assert_eq!(again.unwrap(&st2).unwrap(), Some(key));
    // The trait's generate: a random key, wrapped.
    let (k2, st3) = p.generate().unwrap();
    assert_eq!(p.unwrap(&st3).unwrap(), Some(k2));
    // The stanza is JSON as documented.
    let json = serde_json::to_value(&st).unwrap();
    assert_eq!(json["type"], "pkcs11");
    assert_eq!(json["args"]["token"], "roundtrip");
    assert_eq!(json["args"]["object"], "kek");
    // The PIN is in no Debug output.
    let dbg = format!("{p:?}");
    assert!(!dbg.contains(USER_PIN), "{dbg}");
    assert!(dbg.contains("roundtrip") && dbg.contains("kek"), "{dbg}");
}

#[test]
fn keygen_refuses_an_existing_label() {
    let Some(hsm) = hsm() else { return };
    let u = uri(hsm, "keygen", "kek");
    generate_kek(&u).unwrap();
    let e = assert_key_err(generate_kek(&u), "second keygen");
    assert!(e.contains("already") && e.contains("kek"), "{e}");
    // The first key still works (it was not replaced).
    let p = Pkcs11::from_uri(&u).unwrap();
    let key = DataKey::random().unwrap();
    assert_eq!(p.unwrap(&p.wrap(&key).unwrap()).unwrap(), Some(key));
    // With an id: the key is found by label and id, and stanzas record the id.
    let with_id = format!(
        "pkcs11:token=keygen;object=kek2;id=%0a%ff?module-path={}&pin-value={USER_PIN}",
        hsm.module.display()
    );
    generate_kek(&with_id).unwrap();
    let p = Pkcs11::from_uri(&with_id).unwrap();
    let key = DataKey::random().unwrap();
    let st = p.wrap(&key).unwrap();
    assert_eq!(st.args.get("id").map(String::as_str), Some("0aff"));
    assert_eq!(p.unwrap(&st).unwrap(), Some(key));
    let other_id = with_id.replace("id=%0a%ff", "id=%0b");
    let p2 = Pkcs11::from_uri(&other_id).unwrap();
    assert_eq!(p2.unwrap(&st).unwrap(), None, "another id is another key");
}

#[test]
fn only_the_named_key_unwraps() {
    let Some(hsm) = hsm() else { return };
    let ua = uri(hsm, "labels", "kek-a");
    let ub = uri(hsm, "labels", "kek-b");
    generate_kek(&ua).unwrap();
    generate_kek(&ub).unwrap();
    let a = Pkcs11::from_uri(&ua).unwrap();
    let b = Pkcs11::from_uri(&ub).unwrap();
    let key = DataKey::random().unwrap();
    let st = a.wrap(&key).unwrap();
    assert_eq!(b.unwrap(&st).unwrap(), None, "another object label");
    let other_token = Pkcs11::from_uri(&uri(hsm, "roundtrip", "kek-a")).unwrap();
    assert_eq!(other_token.unwrap(&st).unwrap(), None, "another token");
    let not_ours = Stanza {
        kind: "local".into(),
        ..st.clone()
    };
    assert_eq!(a.unwrap(&not_ours).unwrap(), None, "another stanza type");
    assert_eq!(a.unwrap(&st).unwrap(), Some(key.clone()));
    // A stanza relabelled to name key B: B's key does not open A's ciphertext.
    let mut forged = st.clone();
    forged.args.insert("object".into(), "kek-b".into());
    assert_auth(b.unwrap(&forged), "A's ciphertext under B's key");
    // Wrapped under B, it opens only with B.
    let stb = b.wrap(&key).unwrap();
    assert_eq!(a.unwrap(&stb).unwrap(), None);
    assert_eq!(b.unwrap(&stb).unwrap(), Some(key));
}

#[test]
fn a_wrong_pin_is_an_auth_error() {
    let Some(hsm) = hsm() else { return };
    let good = uri(hsm, "wrong-pin", "kek");
    generate_kek(&good).unwrap();
    let p = Pkcs11::from_uri(&good).unwrap();
    let key = DataKey::random().unwrap();
    let st = p.wrap(&key).unwrap();
    let bad = Pkcs11::from_uri(&uri_pin(hsm, "wrong-pin", "kek", "0000-wrong")).unwrap();
    let e = assert_auth(bad.unwrap(&st), "unwrap with a wrong PIN");
    assert!(e.contains("CKR_PIN_INCORRECT"), "{e}");
    assert!(!e.contains("0000-wrong"), "the PIN is in the error: {e}");
    assert_auth(bad.wrap(&key), "wrap with a wrong PIN");
    assert_auth(
        generate_kek(&uri_pin(hsm, "wrong-pin", "kek2", "0000-wrong")),
        "keygen with a wrong PIN",
    );
    // The right PIN still works afterwards.
    assert_eq!(p.unwrap(&st).unwrap(), Some(key));
}

#[test]
fn a_modified_stanza_is_an_auth_error() {
    let Some(hsm) = hsm() else { return };
    let u = uri(hsm, "tamper", "kek");
    generate_kek(&u).unwrap();
    let p = Pkcs11::from_uri(&u).unwrap();
    let key = DataKey::random().unwrap();
    let st = p.wrap(&key).unwrap();
    let body = b64_decode(&st.body);
    // A bit flipped in the IV, the ciphertext, the tag.
    for i in [0, 11, 12, 30, 43, 44, 59] {
        let mut b = body.clone();
        b[i] ^= 0x01;
        let modified = Stanza {
            body: b64_encode(&b),
            ..st.clone()
        };
        let e = assert_auth(p.unwrap(&modified), &format!("byte {i} flipped"));
        assert!(e.contains("CKR_"), "{e}");
    }
    // A truncated or lengthened body is malformed (exit 2), not a key.
    for b in [&body[..59], &[body.as_slice(), &[0]].concat()[..]] {
        let modified = Stanza {
            body: b64_encode(b),
            ..st.clone()
        };
        match p.unwrap(&modified) {
            Err(Error::Format(_)) => {}
            other => panic!("{} bytes: expected Error::Format, got {other:?}", b.len()),
        }
    }
    assert_eq!(p.unwrap(&st).unwrap(), Some(key));
}

#[test]
fn the_key_is_sensitive_and_not_extractable() {
    let Some(hsm) = hsm() else { return };
    let u = uri(hsm, "attrs", "kek");
    generate_kek(&u).unwrap();
    // Read the attributes with cryptoki directly, not through the provider.
    let ctx = Context::new(&hsm.module).unwrap();
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => panic!("C_Initialize: {e}"),
    }
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label() == "attrs")
        .expect("token attrs");
    let session = ctx.open_ro_session(slot).unwrap();
    match session.login(UserType::User, Some(&AuthPin::from(USER_PIN.to_owned()))) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
        Err(e) => panic!("C_Login: {e}"),
    }
    let found = session
        .find_objects(&[Attribute::Label(b"kek".to_vec())])
        .unwrap();
    assert_eq!(found.len(), 1, "one object labelled kek");
    let attrs = session
        .get_attributes(
            found[0],
            &[
                AttributeType::Class,
                AttributeType::KeyType,
                AttributeType::ValueLen,
                AttributeType::Token,
                AttributeType::Private,
                AttributeType::Sensitive,
                AttributeType::AlwaysSensitive,
                AttributeType::Extractable,
                AttributeType::NeverExtractable,
                AttributeType::Encrypt,
                AttributeType::Decrypt,
                AttributeType::Wrap,
                AttributeType::Unwrap,
                AttributeType::Value,
            ],
        )
        .unwrap();
    let mut checked = 0;
    for a in &attrs {
        match a {
            Attribute::Class(c) => assert_eq!(*c, ObjectClass::SECRET_KEY),
            Attribute::KeyType(t) => assert_eq!(*t, KeyType::AES),
            Attribute::ValueLen(n) => assert_eq!(u64::from(*n), 32, "AES-256"),
            Attribute::Token(b) => assert!(*b, "CKA_TOKEN"),
            Attribute::Private(b) => assert!(*b, "CKA_PRIVATE"),
            Attribute::Sensitive(b) => assert!(*b, "CKA_SENSITIVE"),
            Attribute::AlwaysSensitive(b) => assert!(*b, "CKA_ALWAYS_SENSITIVE"),
            Attribute::Extractable(b) => assert!(!*b, "CKA_EXTRACTABLE"),
            Attribute::NeverExtractable(b) => assert!(*b, "CKA_NEVER_EXTRACTABLE"),
            Attribute::Encrypt(b) => assert!(*b, "CKA_ENCRYPT"),
            Attribute::Decrypt(b) => assert!(*b, "CKA_DECRYPT"),
            Attribute::Wrap(b) => assert!(!*b, "CKA_WRAP"),
            Attribute::Unwrap(b) => assert!(!*b, "CKA_UNWRAP"),
            Attribute::Value(_) => panic!("the HSM gave out the key's CKA_VALUE"),
            other => panic!("unexpected attribute {other:?}"),
        }
        checked += 1;
    }
    assert_eq!(checked, 13, "every attribute but CKA_VALUE read: {attrs:?}");
    session.close().unwrap();
}

#[test]
fn a_missing_token_or_key_is_a_key_error_naming_what_exists() {
    let Some(hsm) = hsm() else { return };
    generate_kek(&uri(hsm, "missing", "present-kek")).unwrap();
    let key = DataKey::random().unwrap();
    let no_key = Pkcs11::from_uri(&uri(hsm, "missing", "absent-kek")).unwrap();
    let e = assert_key_err(no_key.wrap(&key), "absent key");
    assert!(e.contains("absent-kek") && e.contains("present-kek"), "{e}");
    let no_token = Pkcs11::from_uri(&uri(hsm, "no-such-token", "kek")).unwrap();
    let e = assert_key_err(no_token.wrap(&key), "absent token");
    assert!(
        e.contains("no-such-token") && e.contains("\"missing\""),
        "{e}"
    );
    // Unwrapping a stanza that names the absent key: the same error, not Ok(None).
    let st = Stanza {
        kind: "pkcs11".into(),
        args: [
            ("token".to_owned(), "missing".to_owned()),
            ("object".to_owned(), "absent-kek".to_owned()),
        ]
        .into(),
        body: b64_encode(&[0u8; 60]),
    };
    assert_key_err(no_key.unwrap(&st), "unwrap with an absent key");
    // keygen of a key on an absent token.
    assert_key_err(generate_kek(&uri(hsm, "no-such-token", "kek")), "keygen");
    // A module that is not there.
    let e = assert_key_err(
        Pkcs11::from_uri(&format!(
            "pkcs11:token=missing;object=kek?module-path=/nonexistent/libnothing.so&pin-value={USER_PIN}"
        )),
        "absent module",
    );
    assert!(e.contains("/nonexistent/libnothing.so"), "{e}");
}

#[test]
fn module_and_pin_from_the_environment_or_a_pin_file() {
    let Some(hsm) = hsm() else { return };
    // MLGUARD_PKCS11_MODULE and MLGUARD_PKCS11_PIN were set by hsm().
    let bare = "pkcs11:token=env;object=kek";
    generate_kek(bare).unwrap();
    let p = Pkcs11::from_uri(bare).unwrap();
    let key = DataKey::random().unwrap();
    let st = p.wrap(&key).unwrap();
    // The stanza names neither module nor PIN: a URI with them opens it.
    assert_eq!(
        Pkcs11::from_uri(&uri(hsm, "env", "kek"))
            .unwrap()
            .unwrap(&st)
            .unwrap(),
        Some(key.clone())
    );
    // pin-source=file: (a mounted Secret, trailing newline) overrides the environment.
    let dir = tempfile::tempdir().unwrap();
    let pin = dir.path().join("pin");
    std::fs::write(&pin, format!("{USER_PIN}\n")).unwrap();
    let from_file = Pkcs11::from_uri(&format!("{bare}?pin-source=file:{}", pin.display())).unwrap();
    assert_eq!(from_file.unwrap(&st).unwrap(), Some(key.clone()));
    std::fs::write(&pin, "0000\n").unwrap();
    let wrong = Pkcs11::from_uri(&format!("{bare}?pin-source=file:{}", pin.display())).unwrap();
    assert_auth(wrong.unwrap(&st), "a wrong PIN from a file");
    // Percent-encoded labels.
    let spaced = format!(
        "pkcs11:token=env;object=kek%20two?module-path={}",
        hsm.module.display()
    );
    generate_kek(&spaced).unwrap();
    let p2 = Pkcs11::from_uri(&spaced).unwrap();
    assert_eq!(p2.object(), "kek two");
    let st2 = p2.wrap(&key).unwrap();
    assert_eq!(st2.args["object"], "kek two");
    assert_eq!(p2.unwrap(&st2).unwrap(), Some(key));
    assert_eq!(p.unwrap(&st2).unwrap(), None);
}

#[test]
fn file_round_trip() {
    let Some(hsm) = hsm() else { return };
    let u = uri(hsm, "file", "kek");
    generate_kek(&u).unwrap();
    generate_kek(&uri(hsm, "file", "other")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("model.safetensors");
    let plain: Vec<u8> = (0..(2 << 20) + 12345)
        .map(|i: usize| (i * 31 + i / 977) as u8)
        .collect();
    std::fs::write(&input, &plain).unwrap();
    let enc = dir.path().join("model.safetensors.mlg");
    let local = LocalKey::generate().unwrap();
    let local_text = local.to_file_text();
    let providers: Vec<Box<dyn KeyProvider>> =
        vec![Box::new(Pkcs11::from_uri(&u).unwrap()), Box::new(local)];
    let header = encrypt_file(
        &input,
        &enc,
        &providers,
        &EncryptOptions::default(),
        &no_progress,
    )
    .unwrap();
    assert_eq!(header.stanzas.len(), 2);
    assert_eq!(header.stanzas[0].kind, "pkcs11");
    assert_eq!(header.stanzas[0].args["token"], "file");
    assert_eq!(header.stanzas[0].args["object"], "kek");

    // The HSM alone opens it.
    let hsm_only: Vec<Box<dyn KeyProvider>> = vec![Box::new(Pkcs11::from_uri(&u).unwrap())];
    let out = dir.path().join("out-hsm");
    Decryptor::open(&enc, &hsm_only)
        .unwrap()
        .decrypt_to(&out, &no_progress)
        .unwrap();
    assert!(std::fs::read(&out).unwrap() == plain, "plaintext differs");

    // The local recovery key alone opens it too.
    let local_only: Vec<Box<dyn KeyProvider>> =
        vec![Box::new(LocalKey::parse(local_text.as_bytes()).unwrap())];
    let d = Decryptor::open(&enc, &local_only).unwrap();
    assert_eq!(
        d.read_range(1 << 20, 100).unwrap(),
        plain[1 << 20..(1 << 20) + 100]
    );

    // Another HSM key on the same token: no stanza is for it.
    let other: Vec<Box<dyn KeyProvider>> = vec![Box::new(
        Pkcs11::from_uri(&uri(hsm, "file", "other")).unwrap(),
    )];
    match Decryptor::open(&enc, &other) {
        Err(e @ Error::NoMatchingKey(_)) => assert!(e.is_auth()),
        Err(e) => panic!("expected NoMatchingKey, got {e:?}"),
        Ok(_) => panic!("another key opened the file"),
    }

    // The pkcs11 stanza's body modified on disk: the HSM refuses it (Auth, exit 1).
    let bytes = std::fs::read(&enc).unwrap();
    let body = &header.stanzas[0].body;
    let pos = bytes
        .windows(body.len())
        .position(|w| w == body.as_bytes())
        .expect("the stanza body in the header");
    let mut tampered = bytes.clone();
    let mut b = b64_decode(body);
    b[20] ^= 0x80;
    tampered[pos..pos + body.len()].copy_from_slice(b64_encode(&b).as_bytes());
    let bad = dir.path().join("tampered.mlg");
    std::fs::write(&bad, &tampered).unwrap();
    match Decryptor::open(&bad, &hsm_only) {
        Err(e) => assert!(e.is_auth(), "{e:?}"),
        Ok(_) => panic!("a modified stanza opened"),
    }
}
