//! Registry credentials and the two ways registries ask for them.
//!
//! A `401` names its scheme in `WWW-Authenticate`: `Basic` (the credentials go to the registry
//! itself) or `Bearer realm=...,service=...,scope=...` (a token server at `realm` trades the
//! credentials, or nothing for anonymous pulls, for a token that the registry accepts). Tokens
//! and passwords are held in zeroizing strings, never shown by `Debug`, and sent in header values
//! marked sensitive.

use super::http::{self, Client};
use hyper::header::HeaderValue;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// A password or token: zeroized when dropped, `<redacted>` in `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(Zeroizing<String>);

impl Password {
    pub fn new(s: impl Into<String>) -> Self {
        Password(Zeroizing::new(s.into()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for Password {
    fn from(s: String) -> Self {
        Password::new(s)
    }
}

impl<'de> serde::Deserialize<'de> for Password {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Password;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Password, E> {
                Ok(Password::new(v))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Password, E> {
                Ok(Password::new(v))
            }
        }
        d.deserialize_string(V)
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// User name and password for one registry.
#[derive(Clone, Debug)]
pub(crate) struct Credentials {
    pub user: String,
    pub password: Password,
}

impl Credentials {
    /// The `Authorization: Basic` value.
    pub fn basic(&self) -> Result<HeaderValue, String> {
        use base64::Engine;
        let raw = Zeroizing::new(format!("{}:{}", self.user, self.password.as_str()));
        let v = Zeroizing::new(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())
        ));
        sensitive(&v)
    }
}

fn sensitive(v: &str) -> Result<HeaderValue, String> {
    let mut h = HeaderValue::from_str(v)
        .map_err(|_| "a credential holds characters not allowed in an HTTP header".to_string())?;
    h.set_sensitive(true);
    Ok(h)
}

/// One challenge of a `WWW-Authenticate` header: its scheme (lowercase) and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parse `WWW-Authenticate` values (RFC 7235: challenges with `name=value` or `name="quoted"`
/// parameters, separated by commas; a header may hold several challenges; a token68 after a
/// scheme is skipped, Basic and Bearer challenges do not use it).
pub(crate) fn parse_challenges(value: &str) -> Vec<Challenge> {
    let b = value.as_bytes();
    let is_tchar = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/".contains(&c);
    let spaces = |mut i: usize| {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        i
    };
    let mut out: Vec<Challenge> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' || b[i] == b'\t' || b[i] == b',' {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_tchar(b[i]) {
            i += 1;
        }
        if i == start {
            i += 1; // junk: step over it
            continue;
        }
        let token = &value[start..i];
        let j = spaces(i);
        if j >= b.len() || b[j] != b'=' || out.is_empty() {
            out.push(Challenge {
                scheme: token.to_ascii_lowercase(),
                params: Vec::new(),
            });
            continue;
        }
        // `token=` then only more `=` up to a comma or the end: a token68 (padding); skip it.
        let mut k = j;
        while k < b.len() && b[k] == b'=' {
            k += 1;
        }
        let after = spaces(k);
        if k - j > 1 || after >= b.len() || b[after] == b',' {
            i = after;
            continue;
        }
        i = after;
        let mut v = String::new();
        if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                let ch = value[i..].chars().next().unwrap_or(' ');
                v.push(ch);
                i += ch.len_utf8();
            }
            i += 1;
        } else {
            let s = i;
            while i < b.len() && b[i] != b',' && b[i] != b' ' && b[i] != b'\t' {
                i += 1;
            }
            v.push_str(&value[s..i]);
        }
        if let Some(c) = out.last_mut() {
            c.params.push((token.to_ascii_lowercase(), v));
        }
    }
    out
}

/// Ask the token server of a Bearer challenge for a token: `GET realm?service=..&scope=..`, with
/// basic credentials when there are some.
pub(crate) fn fetch_token(
    client: &Client,
    challenge: &Challenge,
    default_scope: &str,
    creds: Option<&Credentials>,
) -> Result<HeaderValue, String> {
    let realm = challenge
        .param("realm")
        .ok_or("the Bearer challenge names no realm (token server)")?;
    let mut query = Vec::new();
    if let Some(s) = challenge.param("service") {
        query.push(format!("service={}", percent_encode(s)));
    }
    let scopes = challenge.param("scope").unwrap_or(default_scope);
    for s in scopes.split(' ').filter(|s| !s.is_empty()) {
        query.push(format!("scope={}", percent_encode(s)));
    }
    let url = if query.is_empty() {
        realm.to_string()
    } else {
        format!(
            "{realm}{}{}",
            if realm.contains('?') { '&' } else { '?' },
            query.join("&")
        )
    };
    let uri = http::parse_url(&url).map_err(|e| format!("token server: {e}"))?;
    let basic = creds.map(Credentials::basic).transpose()?;
    let resp = http::follow(client, &uri, &[], basic.as_ref())?;
    let at = http::shown(&uri);
    if resp.status == 401 || resp.status == 403 {
        return Err(format!(
            "the token server {at} refused {} (HTTP {})",
            if creds.is_some() {
                "the credentials"
            } else {
                "an anonymous pull: give credentials"
            },
            resp.status
        ));
    }
    if !(200..300).contains(&resp.status) {
        let status = resp.status;
        return Err(format!(
            "the token server {at} answered HTTP {status}: {}",
            resp.snippet()
        ));
    }
    let body = Zeroizing::new(resp.bytes(1 << 20)?);
    #[derive(serde::Deserialize)]
    struct TokenAnswer {
        token: Option<Password>,
        access_token: Option<Password>,
    }
    let t: TokenAnswer = serde_json::from_slice(&body)
        .map_err(|e| format!("the token server {at} did not answer a token JSON: {e}"))?;
    let token = t
        .token
        .filter(|t| !t.as_str().is_empty())
        .or(t.access_token.filter(|t| !t.as_str().is_empty()))
        .ok_or_else(|| format!("the token server {at} answered no token"))?;
    sensitive(&Zeroizing::new(format!("Bearer {}", token.as_str())))
}

/// Percent-encode for a URL query (RFC 3986 unreserved characters kept).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The docker client configuration file to read credentials from: `$DOCKER_CONFIG/config.json`,
/// else `~/.docker/config.json`.
pub(crate) fn default_docker_config(lookup: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(d) = lookup("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(Path::new(&d).join("config.json"));
    }
    lookup("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| Path::new(&h).join(".docker").join("config.json"))
}

/// The credentials `docker login` stored for `registry` in a docker config file (`auths`, with
/// `auth` = base64 of `user:password`). A missing file means none; a broken one is an error.
/// Credential helpers (`credsStore`, `credHelpers`) are not run.
pub(crate) fn docker_config_credentials(
    path: &Path,
    registry: &str,
) -> Result<Option<Credentials>, String> {
    let raw = match std::fs::read(path) {
        Ok(b) => Zeroizing::new(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("docker config {}: {e}", path.display())),
    };
    #[derive(serde::Deserialize)]
    struct Entry {
        auth: Option<Password>,
        username: Option<String>,
        password: Option<Password>,
    }
    #[derive(serde::Deserialize)]
    struct Config {
        #[serde(default)]
        auths: std::collections::BTreeMap<String, Entry>,
    }
    let cfg: Config = serde_json::from_slice(&raw)
        .map_err(|e| format!("docker config {}: not valid: {e}", path.display()))?;
    let hub = ["docker.io", "index.docker.io", "registry-1.docker.io"];
    let key_host = |k: &str| {
        let k = k
            .trim()
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        k.split('/').next().unwrap_or(k).to_ascii_lowercase()
    };
    let want = registry.to_ascii_lowercase();
    let entry = cfg.auths.iter().find(|(k, _)| {
        let h = key_host(k);
        h == want || (hub.contains(&want.as_str()) && hub.contains(&h.as_str()))
    });
    let Some((key, e)) = entry else {
        return Ok(None);
    };
    let bad = |why: &str| format!("docker config {}: auths[{key:?}]: {why}", path.display());
    if let Some(a) = e.auth.as_ref().filter(|a| !a.as_str().is_empty()) {
        use base64::Engine;
        let dec = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(a.as_str().trim())
                .map_err(|_| bad("auth is not base64"))?,
        );
        let text = std::str::from_utf8(&dec).map_err(|_| bad("auth is not text"))?;
        let (user, pass) = text
            .split_once(':')
            .ok_or_else(|| bad("auth is not user:password"))?;
        return Ok(Some(Credentials {
            user: user.to_string(),
            password: Password::new(pass),
        }));
    }
    match (&e.username, &e.password) {
        (Some(u), Some(p)) if !u.is_empty() => Ok(Some(Credentials {
            user: u.clone(),
            password: p.clone(),
        })),
        _ => Ok(None),
    }
}
