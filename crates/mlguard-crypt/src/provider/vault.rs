//! `vault` stanzas: the data key wrapped by a Vault or OpenBao Transit key.
//!
//! Key URI: `vault://HOST[:PORT]/MOUNT/keys/NAME[?PARAMS]`
//! - `HOST[:PORT]`: the Vault server, over https (port 8200 when not given), trusting the system's
//!   CAs plus VAULT_CACERT (a PEM file) when set. VAULT_SKIP_VERIFY is not honoured.
//! - MOUNT: where the Transit engine is mounted (`transit`, or a path like `team-a/transit`);
//!   NAME: the Transit key.
//! - `tls=false`: plain http, accepted only when HOST is a loopback address (127.0.0.0/8, ::1,
//!   localhost), for a dev server or a local port-forward; anything else is an error.
//! - `namespace=NS`: the Vault Enterprise / OpenBao namespace (else VAULT_NAMESPACE).
//! - `k8s-role=R`: log in with Kubernetes auth as role R; `k8s-mount=M` (default `kubernetes`)
//!   and `k8s-token-file=PATH` (default the pod's
//!   /var/run/secrets/kubernetes.io/serviceaccount/token) go with it.
//!
//! The token, first found wins: Kubernetes auth when the URI names a role; VAULT_TOKEN;
//! Kubernetes auth when VAULT_K8S_ROLE is set (with VAULT_K8S_MOUNT and VAULT_K8S_TOKEN_FILE);
//! the token file ~/.vault-token (what `vault login` writes). Kubernetes auth posts
//! `{role, jwt}` to /v1/auth/MOUNT/login and uses the returned client_token (logged in again
//! when it expires or is refused once); a token file is read again when its token is refused.
//! Tokens are zeroized and never printed.
//!
//! Calls (Transit API): generate = POST /v1/MOUNT/datakey/plaintext/NAME (bits 256),
//! wrap = /v1/MOUNT/encrypt/NAME, unwrap = /v1/MOUNT/decrypt/NAME, rewrap =
//! /v1/MOUNT/rewrap/NAME (moves a stanza to the key's latest version without the data key).
//!
//! Stanza: `{"type":"vault","args":{"addr":"https://HOST:PORT","mount":MOUNT,"key":NAME},
//! "body":"vault:vN:..."}`: the body is Vault's ciphertext string itself (not base64 of it).
//! A stanza is ours when its mount and key match; `addr` is informational (the same server is
//! often reached under several names, in and out of the cluster).
//!
//! Errors: 403 (permission denied) and failed decryption ("cipher: message authentication
//! failed", invalid ciphertext) are authentication failures ([`Error::Auth`]); the rest is
//! [`Error::Provider`] with Vault's error text.

use super::http::{
    is_loopback_host, json_secret, percent_decode, read_secret_file, split_query, unb64_secret,
    unix_now, Endpoint, Env, Http, Req, Resp, Secret,
};
use super::{b64, KeyProvider};
use crate::format::Stanza;
use crate::{DataKey, Error};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Uri};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;
use zeroize::Zeroizing;

const KIND: &str = "vault";
/// Vault's default listener port.
const DEFAULT_PORT: u16 = 8200;
/// The pod's service account token.
pub const SERVICE_ACCOUNT_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

const ENV_NAMES: &[&str] = &[
    "HOME",
    "VAULT_TOKEN",
    "VAULT_CACERT",
    "VAULT_NAMESPACE",
    "VAULT_K8S_ROLE",
    "VAULT_K8S_MOUNT",
    "VAULT_K8S_TOKEN_FILE",
];

/// How the provider gets its token.
enum Auth {
    /// VAULT_TOKEN.
    Token(Secret),
    /// A token file (~/.vault-token), read when needed.
    TokenFile(PathBuf),
    /// Kubernetes auth.
    Kubernetes {
        role: String,
        mount: String,
        jwt_file: PathBuf,
    },
    /// Nothing configured (an error at the first call).
    Missing,
}

impl Auth {
    fn describe(&self) -> String {
        match self {
            Auth::Token(_) => "VAULT_TOKEN".into(),
            Auth::TokenFile(p) => format!("the token file {}", p.display()),
            Auth::Kubernetes { role, mount, .. } => {
                format!("Kubernetes auth (auth/{mount}, role {role})")
            }
            Auth::Missing => "no token".into(),
        }
    }
}

struct CachedToken {
    token: Secret,
    /// Unix time the token's lease ends (Kubernetes login).
    expires: Option<u64>,
}

/// A Vault/OpenBao Transit key.
pub struct Vault {
    addr: Endpoint,
    mount: String,
    key: String,
    namespace: Option<String>,
    auth: Auth,
    http: Http,
    token: Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("addr", &self.addr.base())
            .field("mount", &self.mount)
            .field("key", &self.key)
            .field("namespace", &self.namespace)
            .field("auth", &self.auth.describe())
            .finish_non_exhaustive()
    }
}

fn key_err(uri: &str, msg: impl std::fmt::Display) -> Error {
    Error::Key(format!(
        "{uri}: {msg} (form: vault://HOST[:PORT]/MOUNT/keys/NAME[?k8s-role=R&tls=false])"
    ))
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
}

impl Vault {
    /// Parse a key URI; the token comes from the process environment (see the module docs).
    /// Nothing is sent until the first wrap or unwrap.
    pub fn from_uri(uri: &str) -> Result<Self, Error> {
        Self::from_uri_with_env(uri, super::http::Env::process)
    }

    /// [`Vault::from_uri`] with the environment given as a lookup function (embedders, tests):
    /// the variables of the module docs, plus HOME, are read from it once, here.
    pub fn from_uri_with_env(
        uri: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let env = Env::capture(ENV_NAMES, &env);
        let rest = uri
            .strip_prefix("vault://")
            .ok_or_else(|| key_err(uri, "not a vault:// URI"))?;
        let (rest, params) = split_query(
            rest,
            &[
                "tls",
                "namespace",
                "k8s-role",
                "k8s-mount",
                "k8s-token-file",
            ],
            uri,
        )?;
        let (authority, path) = rest
            .split_once('/')
            .ok_or_else(|| key_err(uri, "no MOUNT/keys/NAME path"))?;
        let https = match params.get("tls").map(String::as_str) {
            None | Some("true") => true,
            Some("false") => false,
            Some(v) => {
                return Err(key_err(
                    uri,
                    format!("tls={v}: use tls=false or leave it out"),
                ))
            }
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(key_err(
                uri,
                "no HOST (credentials in the URI are not supported)",
            ));
        }
        let scheme = if https { "https" } else { "http" };
        let parsed: Uri = format!("{scheme}://{authority}/")
            .parse()
            .map_err(|e| key_err(uri, format!("bad HOST[:PORT] {authority:?}: {e}")))?;
        let host = parsed
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| key_err(uri, "no HOST"))?
            .to_ascii_lowercase();
        let addr = Endpoint {
            https,
            port: parsed.port_u16().unwrap_or(DEFAULT_PORT),
            host,
        };
        if !https && !is_loopback_host(&addr.host) {
            return Err(key_err(
                uri,
                format!(
                    "tls=false sends tokens and data keys in clear: only allowed to a loopback address, not {}",
                    addr.host
                ),
            ));
        }
        let path = percent_decode(path, uri)?;
        let (mount, key) = path
            .rsplit_once("/keys/")
            .ok_or_else(|| key_err(uri, "the path is not MOUNT/keys/NAME"))?;
        let mount = mount.trim_matches('/').to_owned();
        if mount.is_empty() || !mount.split('/').all(valid_segment) {
            return Err(key_err(uri, format!("{mount:?} is not a mount path")));
        }
        if !valid_segment(key) {
            return Err(key_err(uri, format!("{key:?} is not a Transit key name")));
        }
        let namespace = params
            .get("namespace")
            .cloned()
            .or_else(|| env.get("VAULT_NAMESPACE").map(str::to_owned));
        let k8s = |role: &str, mount: Option<&str>, file: Option<&str>| Auth::Kubernetes {
            role: role.to_owned(),
            mount: mount.unwrap_or("kubernetes").trim_matches('/').to_owned(),
            jwt_file: PathBuf::from(file.unwrap_or(SERVICE_ACCOUNT_TOKEN)),
        };
        let auth = if let Some(role) = params.get("k8s-role") {
            k8s(
                role,
                params
                    .get("k8s-mount")
                    .map(String::as_str)
                    .or(env.get("VAULT_K8S_MOUNT")),
                params
                    .get("k8s-token-file")
                    .map(String::as_str)
                    .or(env.get("VAULT_K8S_TOKEN_FILE")),
            )
        } else if params.contains_key("k8s-mount") || params.contains_key("k8s-token-file") {
            return Err(key_err(uri, "k8s-mount and k8s-token-file need k8s-role"));
        } else if let Some(t) = env.secret("VAULT_TOKEN") {
            Auth::Token(t)
        } else if let Some(role) = env.get("VAULT_K8S_ROLE") {
            k8s(
                role,
                env.get("VAULT_K8S_MOUNT"),
                env.get("VAULT_K8S_TOKEN_FILE"),
            )
        } else if let Some(f) = env.home_file(".vault-token") {
            Auth::TokenFile(f)
        } else {
            Auth::Missing
        };
        if let Auth::Kubernetes { role, mount, .. } = &auth {
            if role.is_empty() || mount.is_empty() || !mount.split('/').all(valid_segment) {
                return Err(key_err(uri, "bad Kubernetes auth role or mount"));
            }
        }
        let extra_ca = env.get("VAULT_CACERT").map(PathBuf::from);
        Ok(Vault {
            addr,
            mount,
            key: key.to_owned(),
            namespace,
            auth,
            http: Http::new(KIND, extra_ca, "VAULT_CACERT"),
            token: Mutex::new(None),
        })
    }

    /// The server, `https://HOST:PORT` (what stanzas record as `addr`).
    pub fn addr(&self) -> String {
        self.addr.base()
    }

    /// The Transit mount path.
    pub fn mount(&self) -> &str {
        &self.mount
    }

    /// The Transit key name.
    pub fn key_name(&self) -> &str {
        &self.key
    }

    fn what(&self) -> String {
        format!("{}/{}/keys/{}", self.addr.base(), self.mount, self.key)
    }

    fn provider_err(&self, message: String) -> Error {
        Error::Provider {
            provider: KIND,
            message: format!("{}: {message}", self.what()),
        }
    }

    fn ours(&self, stanza: &Stanza) -> Result<bool, Error> {
        if stanza.kind != KIND {
            return Ok(false);
        }
        let (Some(mount), Some(key)) = (stanza.args.get("mount"), stanza.args.get("key")) else {
            return Err(Error::Format(
                "vault stanza without its mount and key arguments".into(),
            ));
        };
        Ok(*mount == self.mount && *key == self.key)
    }

    fn check_body(stanza: &Stanza) -> Result<(), Error> {
        let b = stanza.body.as_str();
        let ok = b
            .strip_prefix("vault:v")
            .and_then(|r| r.split_once(':'))
            .is_some_and(|(v, rest)| {
                !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit()) && !rest.is_empty()
            });
        if ok {
            Ok(())
        } else {
            Err(Error::Format(
                "vault stanza body: not a Vault ciphertext (\"vault:vN:...\")".into(),
            ))
        }
    }

    fn stanza(&self, ciphertext: String) -> Stanza {
        Stanza {
            kind: KIND.into(),
            args: [
                ("addr".to_owned(), self.addr.base()),
                ("mount".to_owned(), self.mount.clone()),
                ("key".to_owned(), self.key.clone()),
            ]
            .into(),
            body: ciphertext,
        }
    }

    fn base_headers(&self) -> Result<Vec<(HeaderName, HeaderValue)>, Error> {
        let mut h = vec![
            (
                hyper::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                HeaderName::from_static("x-vault-request"),
                HeaderValue::from_static("true"),
            ),
        ];
        if let Some(ns) = &self.namespace {
            h.push((
                HeaderName::from_static("x-vault-namespace"),
                HeaderValue::from_str(ns)
                    .map_err(|_| Error::Key(format!("namespace {ns:?}: not a header value")))?,
            ));
        }
        Ok(h)
    }

    fn post(
        &self,
        path: &str,
        token: Option<&Secret>,
        body: Zeroizing<Vec<u8>>,
    ) -> Result<Resp, Error> {
        let mut headers = self.base_headers()?;
        if let Some(t) = token {
            headers.push((
                HeaderName::from_static("x-vault-token"),
                Req::sensitive(t.as_str())?,
            ));
        }
        self.http
            .send(Req {
                method: Method::POST,
                endpoint: &self.addr,
                path,
                headers,
                body,
                connect_timeout: Duration::from_secs(5),
                timeout: Duration::from_secs(30),
            })
            .map_err(|e| match e {
                Error::Provider { message, .. } => Error::Provider {
                    provider: KIND,
                    message: format!("{message} (Vault key {})", self.what()),
                },
                e => e,
            })
    }

    // ----- tokens -----

    /// The token to use: cached, or obtained (read, or logged in).
    fn token(&self) -> Result<Secret, Error> {
        let mut cache = self.token.lock().unwrap_or_else(|e| e.into_inner());
        let now = unix_now();
        if let Some(c) = cache.as_ref() {
            if c.expires.is_none_or(|t| now + 30 < t) {
                return Ok(c.token.clone());
            }
        }
        let fresh = match &self.auth {
            Auth::Token(t) => CachedToken {
                token: t.clone(),
                expires: None,
            },
            Auth::TokenFile(p) => {
                if !p.exists() {
                    return Err(self.no_token());
                }
                CachedToken {
                    token: read_secret_file(p, "Vault token file")?,
                    expires: None,
                }
            }
            Auth::Kubernetes {
                role,
                mount,
                jwt_file,
            } => self.k8s_login(role, mount, jwt_file)?,
            Auth::Missing => return Err(self.no_token()),
        };
        let t = fresh.token.clone();
        *cache = Some(fresh);
        Ok(t)
    }

    fn no_token(&self) -> Error {
        Error::Key(format!(
            "Vault key {}: no Vault token: set VAULT_TOKEN, run `vault login` (it writes ~/.vault-token), or use Kubernetes auth with ?k8s-role=ROLE in the key URI (or VAULT_K8S_ROLE)",
            self.what()
        ))
    }

    /// Whether a refused token may be replaced by another try (a login or a re-read file).
    fn renewable(&self) -> bool {
        matches!(self.auth, Auth::TokenFile(_) | Auth::Kubernetes { .. })
    }

    fn forget_token(&self) {
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn k8s_login(
        &self,
        role: &str,
        mount: &str,
        jwt_file: &std::path::Path,
    ) -> Result<CachedToken, Error> {
        #[derive(serde::Serialize)]
        struct In<'a> {
            role: &'a str,
            jwt: Secret,
        }
        #[derive(Deserialize)]
        struct AuthOut {
            client_token: Secret,
            #[serde(default)]
            lease_duration: u64,
        }
        #[derive(Deserialize)]
        struct Out {
            auth: Option<AuthOut>,
        }
        let jwt = read_secret_file(jwt_file, "Kubernetes service account token (Vault login)")?;
        let path = format!("/v1/auth/{mount}/login");
        let resp = self.post(&path, None, json_secret(&In { role, jwt }))?;
        let what = format!(
            "Vault Kubernetes login at {}{path} as role {role}",
            self.addr.base()
        );
        if resp.status != 200 {
            let errors = vault_errors(&resp);
            let msg = format!(
                "{what}: {errors} (HTTP {}); the role must bind this pod's service account and namespace",
                resp.status
            );
            return Err(if resp.status == 403 {
                Error::Auth(msg)
            } else {
                Error::Provider {
                    provider: KIND,
                    message: msg,
                }
            });
        }
        let out: Out = serde_json::from_slice(&resp.body).map_err(|e| Error::Provider {
            provider: KIND,
            message: format!("{what}: unexpected answer: {e}"),
        })?;
        let auth = out.auth.ok_or_else(|| Error::Provider {
            provider: KIND,
            message: format!("{what}: the answer has no auth.client_token"),
        })?;
        Ok(CachedToken {
            token: auth.client_token,
            expires: (auth.lease_duration > 0).then(|| unix_now() + auth.lease_duration),
        })
    }

    // ----- Transit calls -----

    /// POST /v1/MOUNT/OP/NAME with the token; a refused renewable token is replaced once.
    fn transit(&self, op: &str, body: Zeroizing<Vec<u8>>) -> Result<Resp, Error> {
        let path = format!("/v1/{}/{op}/{}", self.mount, self.key);
        let mut retried = false;
        loop {
            let token = self.token()?;
            let resp = self.post(&path, Some(&token), body.clone())?;
            if resp.status == 200 {
                return Ok(resp);
            }
            if resp.status == 403 && !retried && self.renewable() {
                retried = true;
                self.forget_token();
                continue;
            }
            return Err(self.transit_error(op, &resp));
        }
    }

    fn transit_error(&self, op: &str, resp: &Resp) -> Error {
        let errors = vault_errors(resp);
        let what = format!("Vault Transit {op} with {}", self.what());
        let lower = errors.to_ascii_lowercase();
        if resp.status == 403 || lower.contains("permission denied") {
            return Error::Auth(format!(
                "{what}: permission denied ({errors}); the token from {} needs a policy allowing \"update\" on {}/{op}/{}",
                self.auth.describe(),
                self.mount,
                self.key
            ));
        }
        if (op == "decrypt" || op == "rewrap")
            && resp.status == 400
            && (lower.contains("message authentication failed")
                || lower.contains("invalid ciphertext")
                || lower.contains("unable to decrypt"))
        {
            return Error::Auth(format!(
                "{what}: the wrapped key does not decrypt: the stanza was modified, or it was not wrapped with this key ({errors})"
            ));
        }
        let hint = if resp.status == 404 || lower.contains("no handler for route") {
            format!(
                "; is the Transit engine mounted at {}/ (vault secrets enable -path={} transit)?",
                self.mount, self.mount
            )
        } else if lower.contains("key not found") {
            format!(
                "; create the key with `vault write -f {}/keys/{}`",
                self.mount, self.key
            )
        } else {
            String::new()
        };
        Error::Provider {
            provider: KIND,
            message: format!("{what}: {errors} (HTTP {}){hint}", resp.status),
        }
    }

    fn data<T: serde::de::DeserializeOwned>(&self, op: &str, resp: &Resp) -> Result<T, Error> {
        #[derive(Deserialize)]
        struct Out<T> {
            data: T,
        }
        serde_json::from_slice::<Out<T>>(&resp.body)
            .map(|o| o.data)
            .map_err(|e| self.provider_err(format!("{op}: unexpected answer: {e}")))
    }

    fn data_key(&self, op: &str, plaintext: &Secret) -> Result<DataKey, Error> {
        let raw = unb64_secret(plaintext.as_str())
            .ok_or_else(|| self.provider_err(format!("{op}: plaintext is not base64")))?;
        DataKey::from_slice(&raw).map_err(|_| {
            self.provider_err(format!(
                "{op}: Vault returned {} bytes, not a 32-byte data key",
                raw.len()
            ))
        })
    }
}

#[derive(Deserialize)]
struct CiphertextOut {
    ciphertext: String,
}

#[derive(Deserialize)]
struct PlaintextOut {
    plaintext: Secret,
}

#[derive(Deserialize)]
struct DatakeyOut {
    plaintext: Secret,
    ciphertext: String,
}

impl KeyProvider for Vault {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn generate(&self) -> Result<(DataKey, Stanza), Error> {
        let resp = self.transit(
            "datakey/plaintext",
            json_secret(&serde_json::json!({ "bits": 256 })),
        )?;
        let out: DatakeyOut = self.data("datakey", &resp)?;
        let key = self.data_key("datakey", &out.plaintext)?;
        let stanza = self.stanza(out.ciphertext);
        Self::check_body(&stanza).map_err(|_| {
            self.provider_err("datakey: the answer is not a Vault ciphertext".into())
        })?;
        Ok((key, stanza))
    }

    fn wrap(&self, key: &DataKey) -> Result<Stanza, Error> {
        #[derive(serde::Serialize)]
        struct In {
            plaintext: Secret,
        }
        let resp = self.transit(
            "encrypt",
            json_secret(&In {
                plaintext: Secret::new(b64(key.expose())),
            }),
        )?;
        let out: CiphertextOut = self.data("encrypt", &resp)?;
        Ok(self.stanza(out.ciphertext))
    }

    fn unwrap(&self, stanza: &Stanza) -> Result<Option<DataKey>, Error> {
        if !self.ours(stanza)? {
            return Ok(None);
        }
        Self::check_body(stanza)?;
        let resp = self.transit(
            "decrypt",
            json_secret(&serde_json::json!({ "ciphertext": stanza.body })),
        )?;
        let out: PlaintextOut = self.data("decrypt", &resp)?;
        self.data_key("decrypt", &out.plaintext).map(Some)
    }

    fn rewrap(&self, stanza: &Stanza) -> Result<Option<Stanza>, Error> {
        if !self.ours(stanza)? {
            return Ok(None);
        }
        Self::check_body(stanza)?;
        let resp = self.transit(
            "rewrap",
            json_secret(&serde_json::json!({ "ciphertext": stanza.body })),
        )?;
        let out: CiphertextOut = self.data("rewrap", &resp)?;
        Ok(Some(Stanza {
            kind: KIND.into(),
            args: stanza.args.clone(),
            body: out.ciphertext,
        }))
    }
}

/// Vault's `{"errors":[...]}`, joined (whitespace folded), or the body.
fn vault_errors(resp: &Resp) -> String {
    #[derive(Deserialize)]
    struct E {
        errors: Vec<String>,
    }
    match serde_json::from_slice::<E>(&resp.body) {
        Ok(e) if !e.errors.is_empty() => e
            .errors
            .iter()
            .map(|m| m.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join("; "),
        _ if resp.body.is_empty() => format!("HTTP {}", resp.status),
        _ => resp.snippet(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn uris() {
        let v = Vault::from_uri_with_env("vault://vault.example.com/transit/keys/models", none)
            .unwrap();
        assert_eq!(v.addr(), "https://vault.example.com:8200");
        assert_eq!((v.mount(), v.key_name()), ("transit", "models"));
        let v = Vault::from_uri_with_env(
            "vault://vault.example.com:443/team-a/transit/keys/m-1?namespace=ns1",
            none,
        )
        .unwrap();
        assert_eq!(v.addr(), "https://vault.example.com:443");
        assert_eq!(v.mount(), "team-a/transit");
        assert_eq!(v.namespace.as_deref(), Some("ns1"));
        let v = Vault::from_uri_with_env("vault://127.0.0.1:8200/transit/keys/k?tls=false", none)
            .unwrap();
        assert_eq!(v.addr(), "http://127.0.0.1:8200");
        let v =
            Vault::from_uri_with_env("vault://[::1]:8200/transit/keys/k?tls=false", none).unwrap();
        assert_eq!(v.addr(), "http://[::1]:8200");
        for bad in [
            "vault://vault.example.com/transit/keys/k?tls=false",
            "vault://vault.example.com/transit/k",
            "vault://vault.example.com/keys/k",
            "vault://vault.example.com/transit/keys/a/b",
            "vault://vault.example.com/../keys/k",
            "vault:///transit/keys/k",
            "vault://vault.example.com/transit/keys/k?tls=no",
            "vault://vault.example.com/transit/keys/k?role=x",
            "vault://vault.example.com/transit/keys/k?k8s-mount=x",
            "vault://u:p@vault.example.com/transit/keys/k",
        ] {
            assert!(Vault::from_uri_with_env(bad, none).is_err(), "{bad}");
        }
    }

    #[test]
    fn token_sources() {
        let env = |n: &str| match n {
            "VAULT_TOKEN" => Some("hvs.secret".to_owned()),
            "HOME" => Some("/home/x".to_owned()),
            _ => None,
        };
        let v = Vault::from_uri_with_env("vault://v/transit/keys/k", env).unwrap();
        assert!(matches!(v.auth, Auth::Token(_)));
        assert!(!format!("{v:?}").contains("hvs.secret"));
        let v = Vault::from_uri_with_env("vault://v/transit/keys/k?k8s-role=loader", env).unwrap();
        match &v.auth {
            Auth::Kubernetes {
                role,
                mount,
                jwt_file,
            } => {
                assert_eq!((role.as_str(), mount.as_str()), ("loader", "kubernetes"));
                assert_eq!(jwt_file, &PathBuf::from(SERVICE_ACCOUNT_TOKEN));
            }
            _ => panic!("not Kubernetes auth"),
        }
        let v = Vault::from_uri_with_env("vault://v/transit/keys/k", |n| {
            (n == "HOME").then(|| "/home/x".to_owned())
        })
        .unwrap();
        assert!(
            matches!(&v.auth, Auth::TokenFile(p) if p == &PathBuf::from("/home/x/.vault-token"))
        );
        let v = Vault::from_uri_with_env("vault://v/transit/keys/k", none).unwrap();
        assert!(matches!(v.token(), Err(Error::Key(_))));
    }

    #[test]
    fn stanza_bodies() {
        let s = |b: &str| Stanza {
            kind: "vault".into(),
            args: Default::default(),
            body: b.into(),
        };
        assert!(Vault::check_body(&s("vault:v1:abc")).is_ok());
        assert!(Vault::check_body(&s("vault:v12:abc")).is_ok());
        for bad in ["", "vault:v1:", "vault:vx:abc", "abc", "vault:1:abc"] {
            assert!(Vault::check_body(&s(bad)).is_err(), "{bad}");
        }
    }
}
