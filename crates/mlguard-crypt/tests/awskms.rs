//! The awskms provider against moto's server (tests/support/moto_kms.py) with IAM
//! authentication enforced: every request must carry a valid SigV4 signature by a known access
//! key whose policy allows the action. Keys are made with a signed CreateKey call.

mod common;
mod support;

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::Router;
use mlguard_crypt::file::{encrypt_file, no_progress, Decryptor, EncryptOptions};
use mlguard_crypt::provider::awskms::AwsKms;
use mlguard_crypt::provider::local::LocalKey;
use mlguard_crypt::provider::KeyProvider;
use mlguard_crypt::{DataKey, Error};
use std::collections::HashMap;
use std::sync::OnceLock;
use support::moto::{moto, Moto, WEB_IDENTITY_TOKEN};

const REGION: &str = "us-east-1";

/// An environment: `pairs` plus IMDS off and HOME somewhere empty, so nothing of the machine
/// running the tests leaks in.
fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let mut map: HashMap<String, String> = [
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("HOME", "/nonexistent"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in pairs {
        map.insert((*k).to_owned(), (*v).to_owned());
    }
    move |n| map.get(n).cloned()
}

fn uri(m: &Moto, key: &str) -> String {
    format!("awskms://{key}?region={REGION}&endpoint={}", m.url)
}

/// A provider for `key` with the credentials of `who` in the environment.
fn kms_as(m: &Moto, key: &str, who: &str) -> AwsKms {
    let (id, secret) = m.creds(who);
    AwsKms::from_uri_with_env(
        &uri(m, key),
        env(&[
            ("AWS_ACCESS_KEY_ID", &id),
            ("AWS_SECRET_ACCESS_KEY", &secret),
        ]),
    )
    .unwrap()
}

/// A key made by a signed CreateKey call, shared by the tests.
fn key_id(m: &Moto) -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| {
        kms_as(m, "alias/unused", "admin")
            .create_key("mlguard awskms tests")
            .unwrap()
    })
}

#[test]
fn generate_then_unwrap_round_trip() {
    let Some(m) = moto() else { return };
    let kms = kms_as(m, key_id(m), "admin");
    let (key, stanza) = kms.generate().unwrap();
    assert_eq!(stanza.kind, "awskms");
    assert_eq!(stanza.args["key"], key_id(m));
    assert_eq!(stanza.args["region"], REGION);
    assert_eq!(kms.unwrap(&stanza).unwrap(), Some(key));
    assert!(!format!("{kms:?}").contains(&m.creds("admin").1));
}

#[test]
fn wrap_an_existing_key() {
    let Some(m) = moto() else { return };
    let kms = kms_as(m, key_id(m), "admin");
    let key = DataKey::random().unwrap();
    let a = kms.wrap(&key).unwrap();
    let b = kms.wrap(&key).unwrap();
    assert_ne!(a.body, b.body, "fresh ciphertext per wrap");
    assert_eq!(kms.unwrap(&a).unwrap(), Some(key.clone()));
    assert_eq!(kms.unwrap(&b).unwrap(), Some(key));
}

#[test]
fn another_key_id_or_region_is_not_ours() {
    let Some(m) = moto() else { return };
    let kms = kms_as(m, key_id(m), "admin");
    let (_, stanza) = kms.generate().unwrap();
    let other_key = kms_as(m, "alias/other", "admin");
    assert_eq!(other_key.unwrap(&stanza).unwrap(), None);
    let mut elsewhere = stanza.clone();
    elsewhere.args.insert("region".into(), "eu-west-1".into());
    assert_eq!(kms.unwrap(&elsewhere).unwrap(), None);

    // A stanza redirected to another key (its key argument changed) is refused by KMS: the
    // KeyId sent with Decrypt is not the key the blob was made with.
    let second = kms_as(m, "alias/unused", "admin")
        .create_key("second")
        .unwrap();
    let mut redirected = stanza.clone();
    redirected.args.insert("key".into(), second.clone());
    let e = kms_as(m, &second, "admin").unwrap(&redirected).unwrap_err();
    assert!(e.is_auth(), "{e}");
}

#[test]
fn a_modified_stanza_body_is_an_auth_error() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let Some(m) = moto() else { return };
    let kms = kms_as(m, key_id(m), "admin");
    let (_, mut stanza) = kms.generate().unwrap();
    let mut blob = b64.decode(&stanza.body).unwrap();
    *blob.last_mut().unwrap() ^= 1;
    stanza.body = b64.encode(&blob);
    let e = kms.unwrap(&stanza).unwrap_err();
    assert!(matches!(e, Error::Auth(_)), "{e}");
    assert!(e.to_string().contains("InvalidCiphertextException"), "{e}");
    stanza.body = "not base64!".into();
    assert!(matches!(kms.unwrap(&stanza), Err(Error::Format(_))));
}

#[test]
fn access_denied_is_an_auth_error() {
    let Some(m) = moto() else { return };
    // wrap-only may Encrypt and GenerateDataKey but not Decrypt.
    let kms = kms_as(m, key_id(m), "wrap_only");
    let (_, stanza) = kms.generate().unwrap();
    let e = kms.unwrap(&stanza).unwrap_err();
    assert!(matches!(e, Error::Auth(_)), "{e}");
    assert!(e.to_string().contains("kms:Decrypt"), "{e}");
}

#[test]
fn credentials_from_the_environment() {
    let Some(m) = moto() else { return };
    let (id, secret) = m.creds("admin");
    let kms = kms_as(m, key_id(m), "admin");
    let (key, stanza) = kms.generate().unwrap();

    // Temporary credentials with a session token.
    let (aid, asecret) = m.creds("assumed");
    let token = m.info["assumed"]["token"].as_str().unwrap();
    let k = AwsKms::from_uri_with_env(
        &uri(m, key_id(m)),
        env(&[
            ("AWS_ACCESS_KEY_ID", &aid),
            ("AWS_SECRET_ACCESS_KEY", &asecret),
            ("AWS_SESSION_TOKEN", token),
        ]),
    )
    .unwrap();
    assert_eq!(k.unwrap(&stanza).unwrap(), Some(key.clone()));

    // Environment first: a shared file with other keys is not read.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(
        &file,
        "[default]\naws_access_key_id = AKIABOGUSBOGUSBOGUS0\naws_secret_access_key = x\n",
    )
    .unwrap();
    let k = AwsKms::from_uri_with_env(
        &uri(m, key_id(m)),
        env(&[
            ("AWS_ACCESS_KEY_ID", &id),
            ("AWS_SECRET_ACCESS_KEY", &secret),
            ("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap()),
        ]),
    )
    .unwrap();
    assert_eq!(k.unwrap(&stanza).unwrap(), Some(key));

    // A wrong secret: moto recomputes the signature and refuses it.
    let k = AwsKms::from_uri_with_env(
        &uri(m, key_id(m)),
        env(&[
            ("AWS_ACCESS_KEY_ID", &id),
            ("AWS_SECRET_ACCESS_KEY", "wrong"),
        ]),
    )
    .unwrap();
    let e = k.unwrap(&stanza).unwrap_err();
    assert!(matches!(e, Error::Provider { .. }), "{e}");
    assert!(e.to_string().contains("SignatureDoesNotMatch"), "{e}");
    assert!(!e.to_string().contains("wrong"), "no secret in errors: {e}");

    // Half-configured: a clear usage error.
    let e = AwsKms::from_uri_with_env(&uri(m, key_id(m)), env(&[("AWS_ACCESS_KEY_ID", &id)]))
        .unwrap()
        .generate()
        .unwrap_err();
    assert!(e.to_string().contains("AWS_SECRET_ACCESS_KEY"), "{e}");
}

#[test]
fn credentials_from_a_shared_file() {
    let Some(m) = moto() else { return };
    let (id, secret) = m.creds("admin");
    let kms = kms_as(m, key_id(m), "admin");
    let (key, stanza) = kms.generate().unwrap();
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".aws")).unwrap();
    let default_file = home.path().join(".aws/credentials");
    std::fs::write(
        &default_file,
        format!("# test\n[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n\n[broken]\naws_access_key_id = AKIABOGUSBOGUSBOGUS0\naws_secret_access_key = nope\n"),
    )
    .unwrap();
    let home_s = home.path().to_str().unwrap();

    // ~/.aws/credentials, profile default.
    let k = AwsKms::from_uri_with_env(&uri(m, key_id(m)), env(&[("HOME", home_s)])).unwrap();
    assert_eq!(k.unwrap(&stanza).unwrap(), Some(key.clone()));

    // AWS_SHARED_CREDENTIALS_FILE with AWS_PROFILE.
    let other = home.path().join("other-credentials");
    std::fs::write(
        &other,
        format!("[default]\naws_access_key_id = AKIABOGUSBOGUSBOGUS0\naws_secret_access_key = nope\n[models]\naws_access_key_id={id}\naws_secret_access_key={secret}\n"),
    )
    .unwrap();
    let k = AwsKms::from_uri_with_env(
        &uri(m, key_id(m)),
        env(&[
            ("HOME", home_s),
            ("AWS_SHARED_CREDENTIALS_FILE", other.to_str().unwrap()),
            ("AWS_PROFILE", "models"),
        ]),
    )
    .unwrap();
    assert_eq!(k.unwrap(&stanza).unwrap(), Some(key.clone()));

    // The config file's [profile NAME] section.
    let config = home.path().join(".aws/config");
    std::fs::write(
        &config,
        format!("[profile cfg]\nregion = {REGION}\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n[profile sso]\nsso_session = corp\n"),
    )
    .unwrap();
    let k = AwsKms::from_uri_with_env(
        &uri(m, key_id(m)),
        env(&[("HOME", home_s), ("AWS_PROFILE", "cfg")]),
    )
    .unwrap();
    assert_eq!(k.unwrap(&stanza).unwrap(), Some(key));

    // A profile with a key moto does not know: the error names the file and profile.
    let k = AwsKms::from_uri_with_env(
        &uri(m, key_id(m)),
        env(&[("HOME", home_s), ("AWS_PROFILE", "broken")]),
    )
    .unwrap();
    let e = k.unwrap(&stanza).unwrap_err();
    assert!(e.to_string().contains("profile broken"), "{e}");
    assert!(!e.to_string().contains("nope"), "{e}");

    // Profiles mlguard cannot resolve, or that do not exist: usage errors that say so.
    for (profile, want) in [("sso", "sso_session"), ("absent", "AWS_PROFILE=absent")] {
        let e = AwsKms::from_uri_with_env(
            &uri(m, key_id(m)),
            env(&[("HOME", home_s), ("AWS_PROFILE", profile)]),
        )
        .unwrap()
        .unwrap(&stanza)
        .unwrap_err();
        assert!(matches!(e, Error::Key(_)), "{e}");
        assert!(e.to_string().contains(want), "{e}");
    }
}

#[test]
fn credentials_from_web_identity() {
    let Some(m) = moto() else { return };
    let (key, stanza) = kms_as(m, key_id(m), "admin").generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{WEB_IDENTITY_TOKEN}\n")).unwrap();
    let role = m.info["role_arn"].as_str().unwrap();
    let irsa = |file: &str| {
        AwsKms::from_uri_with_env(
            &uri(m, key_id(m)),
            env(&[
                ("AWS_WEB_IDENTITY_TOKEN_FILE", file),
                ("AWS_ROLE_ARN", role),
                ("AWS_ROLE_SESSION_NAME", "mlguard-test"),
                ("AWS_ENDPOINT_URL_STS", &m.url),
            ]),
        )
        .unwrap()
    };
    let k = irsa(token_file.to_str().unwrap());
    assert_eq!(k.unwrap(&stanza).unwrap(), Some(key.clone()));
    // Cached: a second call works without the token file.
    std::fs::remove_file(&token_file).unwrap();
    assert_eq!(k.unwrap(&stanza).unwrap(), Some(key));

    // A token STS does not accept.
    let bad = dir.path().join("bad");
    std::fs::write(&bad, "eyJ.not-the-token.sig").unwrap();
    let e = irsa(bad.to_str().unwrap()).unwrap(&stanza).unwrap_err();
    assert!(e.to_string().contains("AssumeRoleWithWebIdentity"), "{e}");
    assert!(e.to_string().contains("InvalidIdentityToken"), "{e}");
    assert!(!e.to_string().contains("not-the-token"), "{e}");
    // A token file that is not there.
    let e = irsa("/nonexistent/token").unwrap(&stanza).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/token"), "{e}");
}

/// A fake IMDSv2 and container credential endpoint handing out moto's temporary credentials.
fn metadata_server(m: &Moto) -> String {
    let creds = serde_json::json!({
        "Code": "Success",
        "Type": "AWS-HMAC",
        "AccessKeyId": m.info["assumed"]["id"],
        "SecretAccessKey": m.info["assumed"]["secret"],
        "Token": m.info["assumed"]["token"],
        "Expiration": m.info["assumed"]["expiration"],
    })
    .to_string();
    let imds_creds = creds.clone();
    let router = Router::new()
        .route(
            "/latest/api/token",
            put(|h: HeaderMap| async move {
                if h.contains_key("x-aws-ec2-metadata-token-ttl-seconds") {
                    (StatusCode::OK, "imds-session-token").into_response()
                } else {
                    StatusCode::BAD_REQUEST.into_response()
                }
            }),
        )
        .route(
            "/latest/meta-data/iam/security-credentials/",
            get(|h: HeaderMap| async move {
                if h.get("x-aws-ec2-metadata-token")
                    .is_some_and(|t| t == "imds-session-token")
                {
                    (StatusCode::OK, "model-loader\n").into_response()
                } else {
                    StatusCode::UNAUTHORIZED.into_response()
                }
            }),
        )
        .route(
            "/latest/meta-data/iam/security-credentials/model-loader",
            get(move |h: HeaderMap| async move {
                if h.get("x-aws-ec2-metadata-token")
                    .is_some_and(|t| t == "imds-session-token")
                {
                    (StatusCode::OK, imds_creds).into_response()
                } else {
                    StatusCode::UNAUTHORIZED.into_response()
                }
            }),
        )
        .route(
            "/v1/credentials",
            get(move |h: HeaderMap| async move {
                if h.get("authorization")
                    .is_some_and(|t| t == "pod-identity-token")
                {
                    (StatusCode::OK, creds).into_response()
                } else {
                    (StatusCode::UNAUTHORIZED, "{\"Message\":\"bad token\"}").into_response()
                }
            }),
        );
    format!("http://{}", support::serve(router))
}

#[test]
fn credentials_from_instance_metadata_and_container_endpoints() {
    let Some(m) = moto() else { return };
    let (key, stanza) = kms_as(m, key_id(m), "admin").generate().unwrap();
    let fake = metadata_server(m);

    // IMDSv2, last in the chain: with nothing else configured.
    let k = AwsKms::from_uri_with_env(
        &uri(m, key_id(m)),
        env(&[
            ("AWS_EC2_METADATA_DISABLED", "false"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &fake),
        ]),
    )
    .unwrap();
    assert_eq!(k.unwrap(&stanza).unwrap(), Some(key.clone()));

    // EKS Pod Identity / ECS: the full URI with the authorization token file.
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("eks-pod-identity-token");
    std::fs::write(&token, "pod-identity-token\n").unwrap();
    let full = format!("{fake}/v1/credentials");
    let k = AwsKms::from_uri_with_env(
        &uri(m, key_id(m)),
        env(&[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &full),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                token.to_str().unwrap(),
            ),
        ]),
    )
    .unwrap();
    assert_eq!(k.unwrap(&stanza).unwrap(), Some(key));
    let e = AwsKms::from_uri_with_env(
        &uri(m, key_id(m)),
        env(&[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &full),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong"),
        ]),
    )
    .unwrap()
    .unwrap(&stanza)
    .unwrap_err();
    assert!(e.to_string().contains("HTTP 401"), "{e}");
}

#[test]
fn no_credentials_is_a_clear_error() {
    let Some(m) = moto() else { return };
    let (_, stanza) = kms_as(m, key_id(m), "admin").generate().unwrap();
    let e = AwsKms::from_uri_with_env(&uri(m, key_id(m)), env(&[]))
        .unwrap()
        .unwrap(&stanza)
        .unwrap_err();
    let s = e.to_string();
    assert!(matches!(e, Error::Provider { .. }), "{e}");
    for want in [
        "no AWS credentials",
        "AWS_ACCESS_KEY_ID",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_EC2_METADATA_DISABLED",
    ] {
        assert!(s.contains(want), "{want}: {s}");
    }
}

#[test]
fn file_round_trip_with_a_kms_stanza_and_a_local_recovery_key() {
    let Some(m) = moto() else { return };
    let kms = || -> Box<dyn KeyProvider> { Box::new(kms_as(m, key_id(m), "admin")) };
    let recovery = LocalKey::generate().unwrap();
    let recovery_text = recovery.to_file_text();
    let local =
        || -> Box<dyn KeyProvider> { Box::new(LocalKey::parse(recovery_text.as_bytes()).unwrap()) };
    let dir = tempfile::tempdir().unwrap();
    let plain: Vec<u8> = (0..2_500_000u32).map(|i| (i * 31 % 253) as u8).collect();
    let input = dir.path().join("model.bin");
    std::fs::write(&input, &plain).unwrap();
    let enc = dir.path().join("model.bin.mlg");
    let header = encrypt_file(
        &input,
        &enc,
        &[kms(), local()],
        &EncryptOptions { digest: true },
        &no_progress,
    )
    .unwrap();
    let kinds: Vec<&str> = header.stanzas.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, ["awskms", "local"]);

    for (name, providers) in [("kms", vec![kms()]), ("recovery key", vec![local()])] {
        let out = dir.path().join(format!("out-{}", name.replace(' ', "-")));
        Decryptor::open(&enc, &providers)
            .unwrap_or_else(|e| panic!("{name} alone opens the file: {e}"))
            .decrypt_to(&out, &no_progress)
            .unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), plain, "{name}");
    }
    // A provider for another KMS key and another local key: nothing opens it.
    let e = Decryptor::open(
        &enc,
        &[
            Box::new(kms_as(m, "alias/other", "admin")),
            Box::new(LocalKey::generate().unwrap()),
        ],
    )
    .unwrap_err();
    assert!(matches!(e, Error::NoMatchingKey(_)), "{e}");
}
