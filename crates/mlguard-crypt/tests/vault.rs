//! The vault provider against a minimal Transit-compatible server (tests/support/transit.rs):
//! datakey/encrypt/decrypt/rewrap, key rotation, token and Kubernetes auth, error mapping, and a
//! file round trip with rewrap.

mod common;
mod support;

use mlguard_crypt::file::{
    encrypt_file, no_progress, read_header, rewrap_file, Decryptor, EncryptOptions,
};
use mlguard_crypt::provider::vault::Vault;
use mlguard_crypt::provider::KeyProvider;
use mlguard_crypt::{DataKey, Error};
use support::transit::Transit;

const TOKEN: &str = "hvs.test-token";

fn server() -> Transit {
    let t = Transit::start();
    t.add_token(TOKEN);
    t.create_key("transit", "models");
    t
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |n| map.get(n).cloned()
}

fn vault(t: &Transit, token: &str) -> Vault {
    Vault::from_uri_with_env(&t.uri("transit", "models"), env(&[("VAULT_TOKEN", token)])).unwrap()
}

#[test]
fn generate_then_unwrap_round_trip() {
    let t = server();
    let v = vault(&t, TOKEN);
    let (key, stanza) = v.generate().unwrap();
    assert_eq!(stanza.kind, "vault");
    assert!(stanza.body.starts_with("vault:v1:"), "{}", stanza.body);
    assert_eq!(stanza.args["addr"], format!("http://{}", t.host()));
    assert_eq!(stanza.args["mount"], "transit");
    assert_eq!(stanza.args["key"], "models");
    assert_eq!(v.unwrap(&stanza).unwrap(), Some(key));
    assert_eq!(t.calls("datakey"), 1);
    // The stanza round-trips through JSON (the header) unchanged.
    let back: mlguard_crypt::Stanza =
        serde_json::from_str(&serde_json::to_string(&stanza).unwrap()).unwrap();
    assert_eq!(back, stanza);
}

#[test]
fn wrap_an_existing_key_and_other_keys_are_not_ours() {
    let t = server();
    t.create_key("transit", "other");
    let v = vault(&t, TOKEN);
    let key = DataKey::random().unwrap();
    let stanza = v.wrap(&key).unwrap();
    assert_eq!(v.unwrap(&stanza).unwrap(), Some(key.clone()));
    let other =
        Vault::from_uri_with_env(&t.uri("transit", "other"), env(&[("VAULT_TOKEN", TOKEN)]))
            .unwrap();
    let decrypts = t.calls("decrypt");
    assert_eq!(other.unwrap(&stanza).unwrap(), None);
    assert_eq!(other.rewrap(&stanza).unwrap(), None);
    assert_eq!(t.calls("decrypt"), decrypts, "not ours: nothing sent");
    // The same key reached under another address is still ours (addr is informational).
    let mut moved = stanza.clone();
    moved
        .args
        .insert("addr".into(), "https://vault.example.com:8200".into());
    assert_eq!(v.unwrap(&moved).unwrap(), Some(key));
}

#[test]
fn rotate_then_rewrap_moves_the_stanza_to_the_new_version() {
    let t = server();
    let v = vault(&t, TOKEN);
    let (key, stanza) = v.generate().unwrap();
    assert!(stanza.body.starts_with("vault:v1:"));
    assert_eq!(t.post("transit/keys/models/rotate", TOKEN), 204);
    let decrypts = t.calls("decrypt");
    let rotated = v
        .rewrap(&stanza)
        .unwrap()
        .expect("vault rewraps its stanzas");
    assert_eq!(t.calls("decrypt"), decrypts, "rewrap does not decrypt");
    assert_eq!(t.calls("rewrap"), 1);
    assert!(rotated.body.starts_with("vault:v2:"), "{}", rotated.body);
    assert_eq!(rotated.args, stanza.args);
    assert_eq!(v.unwrap(&rotated).unwrap(), Some(key.clone()));
    // The old version still opens until it is trimmed.
    assert_eq!(v.unwrap(&stanza).unwrap(), Some(key));
    // New wraps use the new version.
    assert!(v.generate().unwrap().1.body.starts_with("vault:v2:"));
}

#[test]
fn wrong_token_and_modified_stanza_are_auth_errors() {
    let t = server();
    let (_, stanza) = vault(&t, TOKEN).generate().unwrap();
    let bad = vault(&t, "hvs.wrong");
    for r in [bad.unwrap(&stanza).map(|_| ()), bad.generate().map(|_| ())] {
        let e = r.unwrap_err();
        assert!(matches!(e, Error::Auth(_)), "{e}");
        assert!(e.is_auth());
        assert!(e.to_string().contains("permission denied"), "{e}");
        assert!(
            !e.to_string().contains("hvs.wrong"),
            "the token is never shown: {e}"
        );
    }
    // A changed byte in the ciphertext: Vault's "message authentication failed".
    let v = vault(&t, TOKEN);
    let (prefix, data) = stanza.body.rsplit_once(':').unwrap();
    let mut raw = base64_decode(data);
    *raw.last_mut().unwrap() ^= 1;
    let mut modified = stanza.clone();
    modified.body = format!("{prefix}:{}", base64_encode(&raw));
    let e = v.unwrap(&modified).unwrap_err();
    assert!(matches!(e, Error::Auth(_)), "{e}");
    assert!(
        e.to_string().contains("message authentication failed"),
        "{e}"
    );
    // A body that is not a Vault ciphertext at all: a format error.
    modified.body = "not-a-ciphertext".into();
    assert!(matches!(v.unwrap(&modified), Err(Error::Format(_))));
    // A key the server does not have: a provider error (exit 2) with a hint.
    let missing =
        Vault::from_uri_with_env(&t.uri("transit", "absent"), env(&[("VAULT_TOKEN", TOKEN)]))
            .unwrap();
    let e = missing.generate().unwrap_err();
    assert!(matches!(e, Error::Provider { .. }), "{e}");
    assert!(
        e.to_string().contains("vault write -f transit/keys/absent"),
        "{e}"
    );
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn kubernetes_login() {
    let t = server();
    let jwt = "eyJhbGciOiJSUzI1NiJ9.service-account.sig";
    t.k8s_role("model-loader", jwt);
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{jwt}\n")).unwrap();
    let uri = format!(
        "{}&k8s-role=model-loader&k8s-token-file={}",
        t.uri("transit", "models"),
        token_file.display()
    );
    // VAULT_TOKEN is set but the URI asks for Kubernetes auth: the URI wins.
    let v = Vault::from_uri_with_env(&uri, env(&[("VAULT_TOKEN", "hvs.wrong")])).unwrap();
    let (key, stanza) = v.generate().unwrap();
    assert_eq!(v.unwrap(&stanza).unwrap(), Some(key.clone()));
    assert_eq!(t.logins(), 1, "the login token is cached");
    // The token expires (revoked): one new login, then it works again.
    t.revoke_all_tokens();
    assert_eq!(v.unwrap(&stanza).unwrap(), Some(key.clone()));
    assert_eq!(t.logins(), 2);
    assert!(!format!("{v:?}").contains(jwt));

    // The role from the environment, with the default mount.
    let v = Vault::from_uri_with_env(
        &t.uri("transit", "models"),
        env(&[
            ("VAULT_K8S_ROLE", "model-loader"),
            ("VAULT_K8S_TOKEN_FILE", token_file.to_str().unwrap()),
        ]),
    )
    .unwrap();
    assert_eq!(v.unwrap(&stanza).unwrap(), Some(key));

    // A JWT the role does not accept: refused (403) -> Auth.
    std::fs::write(&token_file, "eyJ.other.sig").unwrap();
    let v = Vault::from_uri_with_env(&uri, env(&[])).unwrap();
    let e = v.unwrap(&stanza).unwrap_err();
    assert!(matches!(e, Error::Auth(_)), "{e}");
    assert!(e.to_string().contains("Kubernetes login"), "{e}");
    // An unknown role: Vault answers 400 -> a provider error naming the role.
    let v = Vault::from_uri_with_env(
        &format!(
            "{}&k8s-role=nobody&k8s-token-file={}",
            t.uri("transit", "models"),
            token_file.display()
        ),
        env(&[]),
    )
    .unwrap();
    let e = v.unwrap(&stanza).unwrap_err();
    assert!(matches!(e, Error::Provider { .. }), "{e}");
    assert!(e.to_string().contains("nobody"), "{e}");
    // No token file at all: a clear error naming it.
    let v = Vault::from_uri_with_env(
        &format!(
            "{}&k8s-role=model-loader&k8s-token-file=/nonexistent/token",
            t.uri("transit", "models")
        ),
        env(&[]),
    )
    .unwrap();
    let e = v.unwrap(&stanza).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/token"), "{e}");
}

#[test]
fn token_from_the_token_file() {
    let t = server();
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join(".vault-token"), format!("{TOKEN}\n")).unwrap();
    let v = Vault::from_uri_with_env(
        &t.uri("transit", "models"),
        env(&[("HOME", home.path().to_str().unwrap())]),
    )
    .unwrap();
    let (key, stanza) = v.generate().unwrap();
    assert_eq!(v.unwrap(&stanza).unwrap(), Some(key));
    // No token anywhere: a usage error that says what to do.
    let empty = tempfile::tempdir().unwrap();
    let v = Vault::from_uri_with_env(
        &t.uri("transit", "models"),
        env(&[("HOME", empty.path().to_str().unwrap())]),
    )
    .unwrap();
    let e = v.unwrap(&stanza).unwrap_err();
    assert!(matches!(e, Error::Key(_)), "{e}");
    assert!(e.to_string().contains("VAULT_TOKEN"), "{e}");
}

#[test]
fn https_is_the_default() {
    // A plain http server spoken to over TLS: the handshake fails, nothing is sent in clear.
    let t = server();
    let v = Vault::from_uri_with_env(
        &format!("vault://{}/transit/keys/models", t.host()),
        env(&[("VAULT_TOKEN", TOKEN)]),
    )
    .unwrap();
    assert!(v.addr().starts_with("https://"));
    let e = v.generate().unwrap_err();
    assert!(matches!(e, Error::Provider { .. }), "{e}");
    assert_eq!(t.calls("datakey"), 0);
}

#[test]
fn file_round_trip_with_rewrap() {
    let t = server();
    let v: Box<dyn KeyProvider> = Box::new(vault(&t, TOKEN));
    let providers = vec![v];
    let dir = tempfile::tempdir().unwrap();
    let plain: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let input = dir.path().join("model.safetensors");
    std::fs::write(&input, &plain).unwrap();
    let enc = dir.path().join("model.safetensors.mlg");
    let header = encrypt_file(
        &input,
        &enc,
        &providers,
        &EncryptOptions::default(),
        &no_progress,
    )
    .unwrap();
    assert!(header.stanzas[0].body.starts_with("vault:v1:"));

    assert_eq!(t.post("transit/keys/models/rotate", TOKEN), 204);
    let rewrapped = dir.path().join("rotated.mlg");
    let new_header = rewrap_file(&enc, &rewrapped, &providers, &providers, false).unwrap();
    assert_eq!(new_header.stanzas.len(), 1);
    assert!(new_header.stanzas[0].body.starts_with("vault:v2:"));
    assert_eq!(t.calls("rewrap"), 1);
    assert_eq!(read_header(&rewrapped).unwrap().stanzas, new_header.stanzas);

    // The body bytes are unchanged.
    let before = std::fs::read(&enc).unwrap();
    let after = std::fs::read(&rewrapped).unwrap();
    assert_eq!(before[header.len()..], after[new_header.len()..]);

    let out = dir.path().join("decrypted");
    Decryptor::open(&rewrapped, &providers)
        .unwrap()
        .decrypt_to(&out, &no_progress)
        .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), plain);

    // In place, keeping existing stanzas: the vault stanza is replaced, not duplicated.
    assert_eq!(t.post("transit/keys/models/rotate", TOKEN), 204);
    let h = rewrap_file(&rewrapped, &rewrapped, &providers, &providers, true).unwrap();
    assert_eq!(h.stanzas.len(), 1);
    assert!(h.stanzas[0].body.starts_with("vault:v3:"));
    let d = Decryptor::open(&rewrapped, &providers).unwrap();
    assert_eq!(
        d.read_range(1_000_000, 10).unwrap(),
        plain[1_000_000..1_000_010]
    );
}

#[test]
fn tls_with_the_ca_from_vault_cacert() {
    let certs = support::tls::certs();
    let t = Transit::start_tls(&certs);
    t.add_token(TOKEN);
    t.create_key("transit", "models");
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &certs.ca).unwrap();
    let uri = format!("vault://{}/transit/keys/models", t.host());

    let v = Vault::from_uri_with_env(
        &uri,
        env(&[
            ("VAULT_TOKEN", TOKEN),
            ("VAULT_CACERT", ca.to_str().unwrap()),
        ]),
    )
    .unwrap();
    assert!(v.addr().starts_with("https://127.0.0.1:"));
    let (key, stanza) = v.generate().unwrap();
    assert_eq!(v.unwrap(&stanza).unwrap(), Some(key));

    // Without the CA the certificate is not trusted: nothing is sent.
    let calls = t.calls("decrypt");
    let v = Vault::from_uri_with_env(&uri, env(&[("VAULT_TOKEN", TOKEN)])).unwrap();
    let e = v.unwrap(&stanza).unwrap_err();
    assert!(matches!(e, Error::Provider { .. }), "{e}");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
    assert_eq!(t.calls("decrypt"), calls);

    // A CA file that is not PEM: a usage error naming it.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let v = Vault::from_uri_with_env(
        &uri,
        env(&[
            ("VAULT_TOKEN", TOKEN),
            ("VAULT_CACERT", junk.to_str().unwrap()),
        ]),
    )
    .unwrap();
    let e = v.unwrap(&stanza).unwrap_err();
    assert!(matches!(e, Error::Key(_)), "{e}");
    assert!(e.to_string().contains("junk.pem"), "{e}");
}

#[tokio::test(flavor = "current_thread")]
async fn called_from_inside_a_tokio_runtime() {
    // The blocking client must not try to start a runtime inside this one.
    let t = server();
    let v = vault(&t, TOKEN);
    let (key, stanza) = v.generate().unwrap();
    assert_eq!(v.unwrap(&stanza).unwrap(), Some(key));
}
