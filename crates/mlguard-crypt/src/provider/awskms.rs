//! `awskms` stanzas: the data key wrapped by an AWS KMS key.
//!
//! Key URI: `awskms://KEY-ID?region=R[&endpoint=URL]`
//! - KEY-ID: a key id (`1234abcd-...`), a key ARN (`arn:aws:kms:R:ACCOUNT:key/...`) or an alias
//!   (`alias/NAME`, or an alias ARN). Stanzas are matched by this exact string, so decrypt with
//!   the same KEY-ID as at encryption. With an alias, old stanzas stop opening once the alias
//!   points at another key (KMS answers IncorrectKeyException): prefer key ARNs for long-lived
//!   files.
//! - region: the key's region; optional when KEY-ID is an ARN (its region), else AWS_REGION or
//!   AWS_DEFAULT_REGION.
//! - endpoint: another KMS endpoint (a VPC endpoint, a test server); AWS_ENDPOINT_URL_KMS or
//!   AWS_ENDPOINT_URL otherwise, else `https://kms.R.amazonaws.com`. Plain http only to a
//!   loopback address (KMS answers carry data keys).
//!
//! Stanza: `{"type":"awskms","args":{"key":KEY-ID,"region":R},"body":B64(CiphertextBlob)}`.
//! generate = KMS GenerateDataKey (KeySpec AES_256), wrap = Encrypt, unwrap = Decrypt with the
//! KeyId given (a stanza cannot be redirected to another key); every call carries the encryption
//! context `{"mlguard":"model/v1"}`. A stanza whose key or region differs from this provider's
//! is not ours (unwrap answers `Ok(None)`).
//!
//! Protocol: the AWS JSON 1.1 protocol over HTTPS, requests signed with Signature Version 4
//! (HMAC-SHA256 and SHA-256 from ring). Credentials, first found wins (the SDKs' default chain):
//! 1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
//! 2. shared files: AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials), then AWS_CONFIG_FILE
//!    (default ~/.aws/config), profile AWS_PROFILE or `default` (static keys only: a profile
//!    with role_arn, credential_process or SSO settings is an error saying so);
//! 3. web identity (EKS IRSA): AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
//!    (+ AWS_ROLE_SESSION_NAME), STS AssumeRoleWithWebIdentity at `https://sts.R.amazonaws.com`
//!    (AWS_ENDPOINT_URL_STS or AWS_ENDPOINT_URL to change it);
//! 4. container credentials (ECS, EKS Pod Identity): AWS_CONTAINER_CREDENTIALS_FULL_URI or
//!    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or
//!    AWS_CONTAINER_AUTHORIZATION_TOKEN;
//! 5. EC2 instance metadata, IMDSv2 only (1 s to connect, 3 s per call; AWS_EC2_METADATA_DISABLED
//!    =true skips it, AWS_EC2_METADATA_SERVICE_ENDPOINT changes it).
//!
//! Temporary credentials are cached and fetched again 5 minutes before they expire.
//! AWS_CA_BUNDLE adds a trusted CA file. AccessDenied, InvalidCiphertextException and
//! IncorrectKeyException are authentication failures ([`Error::Auth`]); other failures are
//! [`Error::Provider`] with the AWS error type and message.

use super::http::{
    amz_date, hex, json_secret, parse_rfc3339, percent_decode, percent_encode, read_secret_file,
    split_query, unb64_secret, unix_now, Endpoint, Env, Http, Req, Resp, Secret,
};
use super::{b64, unb64, KeyProvider};
use crate::format::Stanza;
use crate::{DataKey, Error};
use hyper::header::{HeaderName, HeaderValue};
use hyper::Method;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;
use zeroize::Zeroizing;

const KIND: &str = "awskms";
/// The encryption context of every KMS call.
const CONTEXT_KEY: &str = "mlguard";
const CONTEXT_VALUE: &str = "model/v1";
/// Temporary credentials are renewed this long before they expire.
const REFRESH_BEFORE: u64 = 300;

/// The environment variables the provider reads.
const ENV_NAMES: &[&str] = &[
    "HOME",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_KMS",
    "AWS_ENDPOINT_URL_STS",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_CA_BUNDLE",
];

/// AWS credentials; the secret parts are zeroized and never printed.
#[derive(Clone)]
struct Credentials {
    access_key_id: String,
    secret_access_key: Secret,
    session_token: Option<Secret>,
    /// Unix time they stop working (temporary credentials).
    expires: Option<u64>,
    /// Where they came from, for error messages.
    source: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("source", &self.source)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    fn fresh(&self, now: u64) -> bool {
        self.expires.is_none_or(|t| now + REFRESH_BEFORE < t)
    }
}

/// An AWS KMS key.
pub struct AwsKms {
    key_id: String,
    region: String,
    endpoint: Endpoint,
    env: Env,
    http: Http,
    cache: Mutex<Option<Credentials>>,
}

impl std::fmt::Debug for AwsKms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsKms")
            .field("key_id", &self.key_id)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint.base())
            .finish_non_exhaustive()
    }
}

fn key_err(uri: &str, msg: impl std::fmt::Display) -> Error {
    Error::Key(format!(
        "{uri}: {msg} (form: awskms://KEY-ID?region=R[&endpoint=URL])"
    ))
}

fn valid_region(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 32
        && r.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

/// `kms.R.amazonaws.com` and friends.
fn aws_host(service: &str, region: &str) -> String {
    if region.starts_with("cn-") {
        format!("{service}.{region}.amazonaws.com.cn")
    } else {
        format!("{service}.{region}.amazonaws.com")
    }
}

impl AwsKms {
    /// Parse a key URI; credentials come from the process environment (see the module docs).
    /// Nothing is sent until the first wrap or unwrap.
    pub fn from_uri(uri: &str) -> Result<Self, Error> {
        Self::from_uri_with_env(uri, Env::process)
    }

    /// [`AwsKms::from_uri`] with the environment given as a lookup function (embedders, tests):
    /// the variables of the module docs, plus HOME, are read from it once, here.
    pub fn from_uri_with_env(
        uri: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let env = Env::capture(ENV_NAMES, &env);
        let rest = uri
            .strip_prefix("awskms://")
            .ok_or_else(|| key_err(uri, "not an awskms:// URI"))?;
        let (key, params) = split_query(rest, &["region", "endpoint"], uri)?;
        let key_id = percent_decode(key, uri)?;
        if key_id.is_empty() {
            return Err(key_err(uri, "no KEY-ID"));
        }
        if !key_id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b":/_-.".contains(&c))
        {
            return Err(key_err(
                uri,
                format!("{key_id:?} is not a KMS key id, key ARN or alias"),
            ));
        }
        let arn_region = key_id
            .strip_prefix("arn:")
            .and_then(|a| a.split(':').nth(2))
            .filter(|r| !r.is_empty())
            .map(str::to_owned);
        let region = match (params.get("region"), &arn_region) {
            (Some(r), Some(a)) if r != a => {
                return Err(key_err(
                    uri,
                    format!("region={r} but the key ARN is in {a}"),
                ))
            }
            (Some(r), _) => r.clone(),
            (None, Some(a)) => a.clone(),
            (None, None) => env
                .get("AWS_REGION")
                .or_else(|| env.get("AWS_DEFAULT_REGION"))
                .map(str::to_owned)
                .ok_or_else(|| key_err(uri, "no region: add ?region=R (or set AWS_REGION)"))?,
        };
        if !valid_region(&region) {
            return Err(key_err(uri, format!("{region:?} is not an AWS region")));
        }
        let endpoint = match params
            .get("endpoint")
            .map(|e| (e.as_str(), "the endpoint parameter"))
            .or_else(|| {
                env.get("AWS_ENDPOINT_URL_KMS")
                    .map(|e| (e, "AWS_ENDPOINT_URL_KMS"))
            })
            .or_else(|| env.get("AWS_ENDPOINT_URL").map(|e| (e, "AWS_ENDPOINT_URL")))
        {
            Some((e, what)) => {
                let ep = Endpoint::parse(e, &format!("{uri}: {what}"))?;
                ep.require_tls_unless_loopback(&format!("{uri}: {what}"))?;
                ep
            }
            None => Endpoint {
                https: true,
                host: aws_host("kms", &region),
                port: 443,
            },
        };
        let extra_ca = env.get("AWS_CA_BUNDLE").map(PathBuf::from);
        Ok(AwsKms {
            key_id,
            region,
            endpoint,
            env,
            http: Http::new(KIND, extra_ca, "AWS_CA_BUNDLE"),
            cache: Mutex::new(None),
        })
    }

    /// The KEY-ID of the URI (what stanzas record).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The key's region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Create a new symmetric encryption key (KMS CreateKey) in this provider's account, region
    /// and endpoint, with its credentials; returns the new key's id. An administration and test
    /// helper: it ignores this provider's own KEY-ID.
    pub fn create_key(&self, description: &str) -> Result<String, Error> {
        #[derive(Deserialize)]
        struct Meta {
            #[serde(rename = "KeyId")]
            key_id: String,
        }
        #[derive(Deserialize)]
        struct Out {
            #[serde(rename = "KeyMetadata")]
            meta: Meta,
        }
        let body = serde_json::json!({
            "Description": description,
            "KeySpec": "SYMMETRIC_DEFAULT",
            "KeyUsage": "ENCRYPT_DECRYPT",
        });
        let resp = self.kms("CreateKey", json_secret(&body))?;
        let out: Out = serde_json::from_slice(&resp.body)
            .map_err(|e| self.provider_err(format!("CreateKey: unexpected answer: {e}")))?;
        Ok(out.meta.key_id)
    }

    fn provider_err(&self, message: String) -> Error {
        Error::Provider {
            provider: KIND,
            message: format!("key {} in {}: {message}", self.key_id, self.region),
        }
    }

    fn stanza(&self, blob: &str) -> Stanza {
        Stanza {
            kind: KIND.into(),
            args: [
                ("key".to_owned(), self.key_id.clone()),
                ("region".to_owned(), self.region.clone()),
            ]
            .into(),
            body: blob.to_owned(),
        }
    }

    fn context() -> serde_json::Value {
        serde_json::json!({ CONTEXT_KEY: CONTEXT_VALUE })
    }

    /// The data key in a KMS answer's `Plaintext`.
    fn data_key(&self, op: &str, plaintext: Option<Secret>) -> Result<DataKey, Error> {
        let p = plaintext
            .ok_or_else(|| self.provider_err(format!("{op}: the answer has no Plaintext")))?;
        let raw = unb64_secret(p.as_str())
            .ok_or_else(|| self.provider_err(format!("{op}: Plaintext is not base64")))?;
        DataKey::from_slice(&raw).map_err(|_| {
            self.provider_err(format!(
                "{op}: KMS returned a {}-byte key, not 32",
                raw.len()
            ))
        })
    }

    // ----- credentials -----

    /// Credentials from the cache or the chain.
    fn credentials(&self) -> Result<Credentials, Error> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let now = unix_now();
        if let Some(c) = cache.as_ref().filter(|c| c.fresh(now)) {
            return Ok(c.clone());
        }
        let c = self.resolve()?;
        *cache = Some(c.clone());
        Ok(c)
    }

    fn forget_credentials(&self) {
        *self.cache.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The credential chain (module docs).
    fn resolve(&self) -> Result<Credentials, Error> {
        let mut tried = Vec::new();
        if let Some(c) = self.creds_env()? {
            return Ok(c);
        }
        tried.push("environment (AWS_ACCESS_KEY_ID unset)".to_owned());
        match self.creds_files()? {
            Ok(c) => return Ok(c),
            Err(note) => tried.push(note),
        }
        if let Some(c) = self.creds_web_identity()? {
            return Ok(c);
        }
        tried.push("web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN unset)".into());
        if let Some(c) = self.creds_container()? {
            return Ok(c);
        }
        tried.push("container credentials (AWS_CONTAINER_CREDENTIALS_*_URI unset)".into());
        match self.creds_imds() {
            Ok(c) => return Ok(c),
            Err(note) => tried.push(note),
        }
        Err(Error::Provider {
            provider: KIND,
            message: format!(
                "no AWS credentials found; tried: {}. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile in ~/.aws/credentials, or run with an IAM role (IRSA, Pod Identity, instance profile)",
                tried.join("; ")
            ),
        })
    }

    fn creds_env(&self) -> Result<Option<Credentials>, Error> {
        let Some(id) = self.env.get("AWS_ACCESS_KEY_ID") else {
            return Ok(None);
        };
        let secret = self.env.secret("AWS_SECRET_ACCESS_KEY").ok_or_else(|| {
            Error::Key("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".into())
        })?;
        Ok(Some(Credentials {
            access_key_id: id.to_owned(),
            secret_access_key: secret,
            session_token: self.env.secret("AWS_SESSION_TOKEN"),
            expires: None,
            source: "the environment (AWS_ACCESS_KEY_ID)".into(),
        }))
    }

    /// Static keys of the profile in the shared credentials or config file. `Ok(Err(note))`:
    /// nothing there (the note says what was looked at).
    fn creds_files(&self) -> Result<Result<Credentials, String>, Error> {
        let explicit = self.env.get("AWS_PROFILE");
        let profile = explicit.unwrap_or("default");
        let cred_path = self
            .env
            .get("AWS_SHARED_CREDENTIALS_FILE")
            .map(PathBuf::from)
            .or_else(|| self.env.home_file(".aws/credentials"));
        let conf_path = self
            .env
            .get("AWS_CONFIG_FILE")
            .map(PathBuf::from)
            .or_else(|| self.env.home_file(".aws/config"));
        let conf_section = if profile == "default" {
            "default".to_owned()
        } else {
            format!("profile {profile}")
        };
        let mut looked = Vec::new();
        for (path, section) in [(cred_path, profile.to_owned()), (conf_path, conf_section)] {
            let Some(path) = path else { continue };
            let text = match std::fs::read(&path) {
                Ok(t) => Zeroizing::new(t),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    looked.push(format!("{} (absent)", path.display()));
                    continue;
                }
                Err(e) => return Err(Error::io(&path, e)),
            };
            let text = String::from_utf8_lossy(&text);
            let Some(entries) = ini_section(&text, &section) else {
                looked.push(format!("{} (no [{section}])", path.display()));
                continue;
            };
            let get = |k: &str| entries.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            if let Some(id) = get("aws_access_key_id") {
                let secret = get("aws_secret_access_key").ok_or_else(|| {
                    Error::Key(format!(
                        "{}: profile {profile} has aws_access_key_id but no aws_secret_access_key",
                        path.display()
                    ))
                })?;
                return Ok(Ok(Credentials {
                    access_key_id: id.as_str().to_owned(),
                    secret_access_key: secret,
                    session_token: get("aws_session_token"),
                    expires: None,
                    source: format!("{} (profile {profile})", path.display()),
                }));
            }
            let unsupported: Vec<&str> = [
                "role_arn",
                "credential_process",
                "sso_session",
                "sso_start_url",
                "web_identity_token_file",
            ]
            .into_iter()
            .filter(|k| get(k).is_some())
            .collect();
            if !unsupported.is_empty() {
                return Err(Error::Key(format!(
                    "{}: profile {profile} uses {}, which mlguard does not resolve; give static keys (for example `aws configure export-credentials --profile {profile} --format env`), or use web identity, container or instance credentials",
                    path.display(),
                    unsupported.join(", ")
                )));
            }
            looked.push(format!("{} ([{section}] has no keys)", path.display()));
        }
        if let Some(p) = explicit {
            return Err(Error::Key(format!(
                "AWS_PROFILE={p}: no credentials for this profile in {}",
                if looked.is_empty() {
                    "any file (HOME is unset)".to_owned()
                } else {
                    looked.join(", ")
                }
            )));
        }
        Ok(Err(format!(
            "shared files ({})",
            if looked.is_empty() {
                "HOME unset".to_owned()
            } else {
                looked.join(", ")
            }
        )))
    }

    fn sts_endpoint(&self) -> Result<Endpoint, Error> {
        match self
            .env
            .get("AWS_ENDPOINT_URL_STS")
            .map(|e| (e, "AWS_ENDPOINT_URL_STS"))
            .or_else(|| {
                self.env
                    .get("AWS_ENDPOINT_URL")
                    .map(|e| (e, "AWS_ENDPOINT_URL"))
            }) {
            Some((e, what)) => {
                let ep = Endpoint::parse(e, what)?;
                ep.require_tls_unless_loopback(what)?;
                Ok(ep)
            }
            None => Ok(Endpoint {
                https: true,
                host: aws_host("sts", &self.region),
                port: 443,
            }),
        }
    }

    /// STS AssumeRoleWithWebIdentity with the token file's JWT (EKS IRSA).
    fn creds_web_identity(&self) -> Result<Option<Credentials>, Error> {
        let (Some(file), Some(role)) = (
            self.env.get("AWS_WEB_IDENTITY_TOKEN_FILE"),
            self.env.get("AWS_ROLE_ARN"),
        ) else {
            return Ok(None);
        };
        let jwt = read_secret_file(file.as_ref(), "AWS_WEB_IDENTITY_TOKEN_FILE")?;
        let session = self
            .env
            .get("AWS_ROLE_SESSION_NAME")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("mlguard-{}", unix_now()));
        let mut body = Zeroizing::new(Vec::with_capacity(jwt.as_str().len() * 3 + 512));
        body.extend_from_slice(
            format!(
                "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn={}&RoleSessionName={}&WebIdentityToken=",
                percent_encode(role),
                percent_encode(&session)
            )
            .as_bytes(),
        );
        body.extend_from_slice(Zeroizing::new(percent_encode(jwt.as_str())).as_bytes());
        let sts = self.sts_endpoint()?;
        let what = format!("STS AssumeRoleWithWebIdentity for {role} at {}", sts.base());
        let resp = self.http.send(Req {
            method: Method::POST,
            endpoint: &sts,
            path: "/",
            headers: vec![(
                hyper::header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
            )],
            body,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(20),
        })?;
        let text = String::from_utf8_lossy(&resp.body);
        if resp.status != 200 {
            let (kind, message) = aws_error(&resp);
            let msg = format!(
                "{what}: {kind}: {message} (the role's trust policy must allow the service account's identity provider)"
            );
            return Err(if kind.starts_with("AccessDenied") {
                Error::Auth(msg)
            } else {
                Error::Provider {
                    provider: KIND,
                    message: msg,
                }
            });
        }
        let (Some(id), Some(secret), Some(token)) = (
            xml_tag(&text, "AccessKeyId"),
            xml_tag(&text, "SecretAccessKey"),
            xml_tag(&text, "SessionToken"),
        ) else {
            return Err(Error::Provider {
                provider: KIND,
                message: format!("{what}: the answer has no credentials"),
            });
        };
        Ok(Some(Credentials {
            access_key_id: id.as_str().to_owned(),
            secret_access_key: secret,
            session_token: Some(token),
            expires: xml_tag(&text, "Expiration").and_then(|e| parse_rfc3339(e.as_str())),
            source: format!("web identity ({role})"),
        }))
    }

    /// ECS / EKS Pod Identity container credentials.
    fn creds_container(&self) -> Result<Option<Credentials>, Error> {
        let (url, what) = if let Some(full) = self.env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            (full.to_owned(), "AWS_CONTAINER_CREDENTIALS_FULL_URI")
        } else if let Some(rel) = self.env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            (
                format!("http://169.254.170.2{rel}"),
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            )
        } else {
            return Ok(None);
        };
        let (ep, path) = Endpoint::parse_url(&url, what)?;
        let host = ep.host.trim_start_matches('[').trim_end_matches(']');
        if !ep.https
            && !ep.is_loopback()
            && !["169.254.170.2", "169.254.170.23", "fd00:ec2::23"].contains(&host)
        {
            return Err(Error::Key(format!(
                "{what}: plain http is only allowed to a loopback address or the ECS/EKS credential endpoints"
            )));
        }
        let token = match self.env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            Some(f) => Some(read_secret_file(
                f.as_ref(),
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            )?),
            None => self.env.secret("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
        };
        let mut headers = Vec::new();
        if let Some(t) = &token {
            headers.push((hyper::header::AUTHORIZATION, Req::sensitive(t.as_str())?));
        }
        let resp = self.http.send(Req {
            method: Method::GET,
            endpoint: &ep,
            path: &path,
            headers,
            body: Zeroizing::new(Vec::new()),
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
        })?;
        parse_json_credentials(&resp, &format!("container credentials ({what})")).map(Some)
    }

    /// EC2 instance metadata, IMDSv2. `Err(note)`: not available.
    fn creds_imds(&self) -> Result<Credentials, String> {
        if self
            .env
            .get("AWS_EC2_METADATA_DISABLED")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            return Err("instance metadata (AWS_EC2_METADATA_DISABLED=true)".into());
        }
        let url = self
            .env
            .get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            .unwrap_or("http://169.254.169.254");
        let note = |e: String| format!("instance metadata at {url} ({e})");
        let ep = Endpoint::parse(url, "AWS_EC2_METADATA_SERVICE_ENDPOINT")
            .map_err(|e| note(e.to_string()))?;
        let call = |method: Method, path: &str, headers: Vec<(HeaderName, HeaderValue)>| {
            self.http
                .send(Req {
                    method,
                    endpoint: &ep,
                    path,
                    headers,
                    body: Zeroizing::new(Vec::new()),
                    connect_timeout: Duration::from_secs(1),
                    timeout: Duration::from_secs(3),
                })
                .map_err(|e| note(e.to_string()))
                .and_then(|r| {
                    if r.status == 200 {
                        Ok(r)
                    } else {
                        Err(note(format!("{path}: HTTP {}", r.status)))
                    }
                })
        };
        let token = call(
            Method::PUT,
            "/latest/api/token",
            vec![(
                HeaderName::from_static("x-aws-ec2-metadata-token-ttl-seconds"),
                HeaderValue::from_static("21600"),
            )],
        )?;
        let token = Secret::new(String::from_utf8_lossy(&token.body).trim().to_owned());
        let auth = || -> Result<Vec<(HeaderName, HeaderValue)>, String> {
            Ok(vec![(
                HeaderName::from_static("x-aws-ec2-metadata-token"),
                Req::sensitive(token.as_str()).map_err(|e| note(e.to_string()))?,
            )])
        };
        let base = "/latest/meta-data/iam/security-credentials/";
        let roles = call(Method::GET, base, auth()?)?;
        let role = String::from_utf8_lossy(&roles.body)
            .lines()
            .next()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| note("no IAM role attached to the instance".into()))?;
        let resp = call(
            Method::GET,
            &format!("{base}{}", percent_encode(&role)),
            auth()?,
        )?;
        parse_json_credentials(&resp, &format!("instance metadata (role {role})"))
            .map_err(|e| note(e.to_string()))
    }

    // ----- KMS calls -----

    /// Sign and send one KMS call; retried on throttling and server errors, and once with new
    /// credentials when temporary ones expired. Returns the 200 answer.
    fn kms(&self, op: &'static str, body: Zeroizing<Vec<u8>>) -> Result<Resp, Error> {
        let mut renewed = false;
        let mut attempt = 0;
        loop {
            let creds = self.credentials()?;
            let resp = self.signed_kms(op, &body, &creds)?;
            if resp.status == 200 {
                return Ok(resp);
            }
            let (kind, message) = aws_error(&resp);
            if !renewed
                && creds.expires.is_some()
                && matches!(kind.as_str(), "ExpiredTokenException" | "ExpiredToken")
            {
                renewed = true;
                self.forget_credentials();
                continue;
            }
            let retryable = resp.status >= 500
                || matches!(
                    kind.as_str(),
                    "ThrottlingException" | "KMSInternalException" | "DependencyTimeoutException"
                );
            if retryable && attempt < 2 {
                std::thread::sleep(Duration::from_millis(200 << (2 * attempt)));
                attempt += 1;
                continue;
            }
            return Err(self.kms_error(op, resp.status, &kind, &message, &creds));
        }
    }

    fn signed_kms(
        &self,
        op: &str,
        body: &Zeroizing<Vec<u8>>,
        creds: &Credentials,
    ) -> Result<Resp, Error> {
        let date = amz_date(unix_now());
        let target = format!("TrentService.{op}");
        let authority = self.endpoint.authority();
        let mut signed: Vec<(&str, &str)> = vec![
            ("content-type", "application/x-amz-json-1.1"),
            ("host", &authority),
            ("x-amz-date", &date),
            ("x-amz-target", &target),
        ];
        if let Some(t) = &creds.session_token {
            signed.push(("x-amz-security-token", t.as_str()));
        }
        let authorization = sign_v4(
            creds,
            &self.region,
            "kms",
            "POST",
            "/",
            "",
            &signed,
            body,
            &date,
        );
        let mut headers = Vec::new();
        for (name, value) in &signed {
            if *name == "host" {
                continue;
            }
            let v = if *name == "x-amz-security-token" {
                Req::sensitive(value)?
            } else {
                HeaderValue::from_str(value)
                    .map_err(|_| self.provider_err(format!("bad header value for {name}")))?
            };
            headers.push((HeaderName::from_static(name), v));
        }
        headers.push((
            hyper::header::AUTHORIZATION,
            Req::sensitive(&authorization)?,
        ));
        self.http
            .send(Req {
                method: Method::POST,
                endpoint: &self.endpoint,
                path: "/",
                headers,
                body: body.clone(),
                connect_timeout: Duration::from_secs(5),
                timeout: Duration::from_secs(30),
            })
            .map_err(|e| match e {
                Error::Provider { message, .. } => {
                    self.provider_err(format!("KMS {op}: {message}"))
                }
                e => e,
            })
    }

    fn kms_error(
        &self,
        op: &str,
        status: u16,
        kind: &str,
        message: &str,
        creds: &Credentials,
    ) -> Error {
        let what = format!(
            "KMS {op} with key {} in {} (credentials from {})",
            self.key_id, self.region, creds.source
        );
        let message = if message.is_empty() {
            String::new()
        } else {
            format!(": {message}")
        };
        match kind {
            "AccessDeniedException" | "AccessDenied" => Error::Auth(format!(
                "{what}: access denied ({kind}{message}); the IAM policy and the key policy must allow kms:{op} on this key"
            )),
            "InvalidCiphertextException" => Error::Auth(format!(
                "{what}: the wrapped key does not decrypt: the stanza was modified, or it was not wrapped by mlguard with this key (InvalidCiphertextException{message})"
            )),
            "IncorrectKeyException" => Error::Auth(format!(
                "{what}: the stanza was wrapped with another KMS key (IncorrectKeyException{message}); an alias may now point at another key"
            )),
            "UnrecognizedClientException" | "InvalidClientTokenId" => Error::Provider {
                provider: KIND,
                message: format!("{what}: AWS does not know this access key ({kind}{message})"),
            },
            "InvalidSignatureException" | "SignatureDoesNotMatch" => Error::Provider {
                provider: KIND,
                message: format!(
                    "{what}: the request signature was refused ({kind}{message}): the secret key does not belong to the access key, or this machine's clock is off"
                ),
            },
            "NotFoundException" => Error::Provider {
                provider: KIND,
                message: format!("{what}: no such key in this account and region ({kind}{message})"),
            },
            _ => Error::Provider {
                provider: KIND,
                message: format!("{what}: {kind}{message} (HTTP {status})"),
            },
        }
    }
}

#[derive(Deserialize)]
struct KmsOut {
    #[serde(rename = "CiphertextBlob")]
    blob: Option<String>,
    #[serde(rename = "Plaintext")]
    plaintext: Option<Secret>,
}

impl KmsOut {
    fn parse(resp: &Resp, p: &AwsKms, op: &str) -> Result<Self, Error> {
        serde_json::from_slice(&resp.body)
            .map_err(|e| p.provider_err(format!("{op}: unexpected answer: {e}")))
    }
}

impl KeyProvider for AwsKms {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn generate(&self) -> Result<(DataKey, Stanza), Error> {
        let body = serde_json::json!({
            "KeyId": self.key_id,
            "KeySpec": "AES_256",
            "EncryptionContext": Self::context(),
        });
        let resp = self.kms("GenerateDataKey", json_secret(&body))?;
        let out = KmsOut::parse(&resp, self, "GenerateDataKey")?;
        let key = self.data_key("GenerateDataKey", out.plaintext)?;
        let blob = out.blob.ok_or_else(|| {
            self.provider_err("GenerateDataKey: the answer has no CiphertextBlob".into())
        })?;
        Ok((key, self.stanza(&blob)))
    }

    fn wrap(&self, key: &DataKey) -> Result<Stanza, Error> {
        #[derive(serde::Serialize)]
        struct In<'a> {
            #[serde(rename = "KeyId")]
            key_id: &'a str,
            #[serde(rename = "Plaintext")]
            plaintext: Secret,
            #[serde(rename = "EncryptionContext")]
            context: serde_json::Value,
        }
        let body = json_secret(&In {
            key_id: &self.key_id,
            plaintext: Secret::new(b64(key.expose())),
            context: Self::context(),
        });
        let resp = self.kms("Encrypt", body)?;
        let out = KmsOut::parse(&resp, self, "Encrypt")?;
        let blob = out
            .blob
            .ok_or_else(|| self.provider_err("Encrypt: the answer has no CiphertextBlob".into()))?;
        Ok(self.stanza(&blob))
    }

    fn unwrap(&self, stanza: &Stanza) -> Result<Option<DataKey>, Error> {
        if stanza.kind != KIND {
            return Ok(None);
        }
        let (Some(key), Some(region)) = (stanza.args.get("key"), stanza.args.get("region")) else {
            return Err(Error::Format(
                "awskms stanza without its key and region arguments".into(),
            ));
        };
        if *key != self.key_id || *region != self.region {
            return Ok(None);
        }
        // Checks the body is base64 (a Format error otherwise) before sending it.
        unb64(stanza)?;
        let body = serde_json::json!({
            "KeyId": self.key_id,
            "CiphertextBlob": stanza.body,
            "EncryptionContext": Self::context(),
        });
        let resp = self.kms("Decrypt", json_secret(&body))?;
        let out = KmsOut::parse(&resp, self, "Decrypt")?;
        self.data_key("Decrypt", out.plaintext).map(Some)
    }
}

/// The error type and message of a failed AWS call (JSON `__type`/`message`, the
/// x-amzn-ErrorType header, or XML `<Code>`/`<Message>`).
fn aws_error(resp: &Resp) -> (String, String) {
    #[derive(Deserialize)]
    struct J {
        #[serde(rename = "__type")]
        kind: Option<String>,
        message: Option<String>,
        #[serde(rename = "Message")]
        message2: Option<String>,
    }
    let strip = |t: &str| {
        let t = t.rsplit('#').next().unwrap_or(t);
        t.split(':').next().unwrap_or(t).trim().to_owned()
    };
    if let Ok(j) = serde_json::from_slice::<J>(&resp.body) {
        if let Some(k) = j.kind {
            return (strip(&k), j.message.or(j.message2).unwrap_or_default());
        }
    }
    let text = String::from_utf8_lossy(&resp.body);
    if let Some(code) = xml_tag(&text, "Code") {
        let msg = xml_tag(&text, "Message").map(|m| m.as_str().to_owned());
        return (code.as_str().to_owned(), msg.unwrap_or_default());
    }
    if let Some(h) = resp
        .headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
    {
        return (strip(h), resp.snippet());
    }
    (format!("HTTP {}", resp.status), resp.snippet())
}

/// The text of the first `<tag>...</tag>` in an XML document, entities decoded.
fn xml_tag(doc: &str, tag: &str) -> Option<Secret> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = doc.find(&open)? + open.len();
    let len = doc[start..].find(&close)?;
    let raw = &doc[start..start + len];
    Some(Secret::new(
        raw.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&")
            .trim()
            .to_owned(),
    ))
}

/// Credentials in the JSON form of the container and instance metadata endpoints.
fn parse_json_credentials(resp: &Resp, what: &str) -> Result<Credentials, Error> {
    #[derive(Deserialize)]
    struct J {
        #[serde(rename = "AccessKeyId")]
        id: Option<String>,
        #[serde(rename = "SecretAccessKey")]
        secret: Option<Secret>,
        #[serde(rename = "Token")]
        token: Option<Secret>,
        #[serde(rename = "Expiration")]
        expiration: Option<String>,
        #[serde(rename = "Code")]
        code: Option<String>,
        #[serde(rename = "Message")]
        message: Option<String>,
    }
    let err = |m: String| Error::Provider {
        provider: KIND,
        message: format!("{what}: {m}"),
    };
    if resp.status != 200 {
        return Err(err(format!("HTTP {}: {}", resp.status, resp.snippet())));
    }
    let j: J =
        serde_json::from_slice(&resp.body).map_err(|e| err(format!("unexpected answer: {e}")))?;
    if let Some(code) = j.code.filter(|c| c != "Success") {
        return Err(err(format!("{code}: {}", j.message.unwrap_or_default())));
    }
    let (Some(id), Some(secret)) = (j.id, j.secret) else {
        return Err(err(
            "the answer has no AccessKeyId and SecretAccessKey".into()
        ));
    };
    Ok(Credentials {
        access_key_id: id,
        secret_access_key: secret,
        session_token: j.token,
        expires: j.expiration.as_deref().and_then(parse_rfc3339),
        source: what.to_owned(),
    })
}

/// The `key = value` entries of `[section]` in an INI text (AWS shared files), or `None` when
/// the section is absent.
fn ini_section(text: &str, section: &str) -> Option<Vec<(String, Secret)>> {
    let mut found = None;
    let mut current: Option<bool> = None;
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            continue; // a nested sub-setting (s3 = ...)
        }
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if let Some(name) = l.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            let hit = name == section;
            current = Some(hit);
            if hit && found.is_none() {
                found = Some(Vec::new());
            }
            continue;
        }
        if current == Some(true) {
            if let Some((k, v)) = l.split_once('=') {
                if let Some(f) = found.as_mut() {
                    f.push((k.trim().to_owned(), Secret::new(v.trim().to_owned())));
                }
            }
        }
    }
    found
}

/// The Signature Version 4 `Authorization` header value. `headers` are the signed headers,
/// names in lowercase (host and x-amz-date among them); `query` is already canonical.
#[allow(clippy::too_many_arguments)]
fn sign_v4(
    creds: &Credentials,
    region: &str,
    service: &str,
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    amz_date: &str,
) -> String {
    use ring::digest::{digest, SHA256};
    use ring::hmac;
    let mut hs: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect();
    hs.sort();
    let canonical_headers: String = hs.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = hs
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical = format!(
        "{method}\n{path}\n{query}\n{canonical_headers}\n{signed_headers}\n{}",
        hex(digest(&SHA256, body).as_ref())
    );
    let date = &amz_date[..8];
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(digest(&SHA256, canonical.as_bytes()).as_ref())
    );
    let step = |key: &[u8], data: &str| -> Zeroizing<Vec<u8>> {
        Zeroizing::new(
            hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
                .as_ref()
                .to_vec(),
        )
    };
    let k0 = Zeroizing::new(format!("AWS4{}", creds.secret_access_key.as_str()));
    let k = step(k0.as_bytes(), date);
    let k = step(&k, region);
    let k = step(&k, service);
    let k = step(&k, "aws4_request");
    let signature = hex(&step(&k, &to_sign));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        creds.access_key_id
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into()),
            session_token: None,
            expires: None,
            source: "test".into(),
        }
    }

    /// get-vanilla of the AWS Signature Version 4 test suite.
    #[test]
    fn sigv4_test_suite_get_vanilla() {
        let auth = sign_v4(
            &example(),
            "us-east-1",
            "service",
            "GET",
            "/",
            "",
            &[
                ("host", "example.amazonaws.com"),
                ("x-amz-date", "20150830T123600Z"),
            ],
            b"",
            "20150830T123600Z",
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn uris() {
        let env = |_: &str| None;
        let k = AwsKms::from_uri_with_env("awskms://alias/models?region=eu-west-1", env).unwrap();
        assert_eq!((k.key_id(), k.region()), ("alias/models", "eu-west-1"));
        assert_eq!(k.endpoint.base(), "https://kms.eu-west-1.amazonaws.com:443");
        let arn = "arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let k = AwsKms::from_uri_with_env(&format!("awskms://{arn}"), env).unwrap();
        assert_eq!(k.region(), "us-east-2");
        assert!(
            AwsKms::from_uri_with_env(&format!("awskms://{arn}?region=eu-west-1"), env).is_err()
        );
        assert!(AwsKms::from_uri_with_env("awskms://k", env).is_err());
        assert!(AwsKms::from_uri_with_env("awskms://?region=eu-west-1", env).is_err());
        assert!(AwsKms::from_uri_with_env("awskms://k?region=eu-west-1&bogus=1", env).is_err());
        assert!(AwsKms::from_uri_with_env(
            "awskms://k?region=eu-west-1&endpoint=http://kms.example.com",
            env
        )
        .is_err());
        let k = AwsKms::from_uri_with_env(
            "awskms://k?region=eu-west-1&endpoint=http%3A%2F%2F127.0.0.1%3A4566",
            env,
        )
        .unwrap();
        assert_eq!(k.endpoint.base(), "http://127.0.0.1:4566");
        let k = AwsKms::from_uri_with_env("awskms://k", |n| {
            (n == "AWS_REGION").then(|| "ap-south-1".to_owned())
        })
        .unwrap();
        assert_eq!(k.region(), "ap-south-1");
    }

    #[test]
    fn ini() {
        let text = "[default]\naws_access_key_id = A\n[profile x]\nregion=eu\ns3 =\n  max = 1\n# c\n[ other ]\nk=v\n";
        assert_eq!(ini_section(text, "default").unwrap().len(), 1);
        assert_eq!(ini_section(text, "profile x").unwrap()[0].0, "region");
        assert_eq!(ini_section(text, "profile x").unwrap().len(), 2);
        assert!(ini_section(text, "other").is_some());
        assert!(ini_section(text, "missing").is_none());
    }

    #[test]
    fn debug_is_redacted() {
        let c = example();
        assert!(!format!("{c:?}").contains("EXAMPLEKEY"));
    }
}
