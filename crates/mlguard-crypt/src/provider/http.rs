//! What the managed key providers (AWS KMS, Vault Transit) share: a small blocking HTTP(S)
//! client, endpoint and key-URI parsing, a snapshot of the environment, secret strings and UTC
//! time.
//!
//! The client is hyper 1 with hyper-rustls (rustls, ring) from the workspace lockfile: each call
//! runs on its own current-thread tokio runtime (the callers are a synchronous CLI; called from
//! inside a tokio runtime, the call runs on a scoped helper thread instead). No connection is
//! kept between calls: a model needs one or two key-manager calls. TLS verification is always on:
//! the operating system's roots (rustls-native-certs, which honours SSL_CERT_FILE and
//! SSL_CERT_DIR) plus an optional extra CA file. Plain http is refused unless the endpoint is a
//! loopback address (the caller decides when to allow it). Redirects are not followed and no
//! proxy is used.
//!
//! Secrets (request bodies with a data key, tokens, responses with a plaintext key) are held in
//! zeroizing buffers here; buffers inside hyper and rustls are out of our hands.

use crate::Error;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, Request, Uri};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use zeroize::Zeroizing;

/// Largest response body accepted (key-manager answers are a few hundred bytes).
const MAX_RESPONSE: usize = 1 << 20;

/// A string that is a secret (token, secret key, base64 of a data key): zeroized on drop,
/// redacted in Debug.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Secret(pub Zeroizing<String>);

impl Secret {
    pub fn new(s: String) -> Self {
        Secret(Zeroizing::new(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Secret;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Secret, E> {
                Ok(Secret::new(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Secret, E> {
                Ok(Secret::new(v))
            }
        }
        d.deserialize_string(V)
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Serialize `value` as JSON into a zeroizing buffer (request bodies carrying secrets).
pub(crate) fn json_secret(value: &impl serde::Serialize) -> Zeroizing<Vec<u8>> {
    let mut buf = Zeroizing::new(Vec::with_capacity(4096));
    serde_json::to_writer(&mut *buf, value).expect("a request body serializes");
    buf
}

/// Base64 (standard, padded) decoding into a zeroizing buffer.
pub(crate) fn unb64_secret(s: &str) -> Option<Zeroizing<Vec<u8>>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()
        .map(Zeroizing::new)
}

/// The environment variables a provider reads, captured when it is built (so tests and
/// embedders can pass their own, and a provider does not change under a running program).
#[derive(Clone, Default)]
pub(crate) struct Env(BTreeMap<String, Secret>);

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Env {
    /// Capture `names` from `lookup`; empty values count as unset.
    pub fn capture(names: &[&str], lookup: &dyn Fn(&str) -> Option<String>) -> Self {
        Env(names
            .iter()
            .filter_map(|n| {
                lookup(n)
                    .filter(|v| !v.is_empty())
                    .map(|v| ((*n).to_owned(), Secret::new(v)))
            })
            .collect())
    }

    /// The process environment (values that are not UTF-8 count as unset).
    pub fn process(name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(Secret::as_str)
    }

    pub fn secret(&self, name: &str) -> Option<Secret> {
        self.0.get(name).cloned()
    }

    /// `~/rest` under HOME.
    pub fn home_file(&self, rest: &str) -> Option<PathBuf> {
        self.get("HOME").map(|h| Path::new(h).join(rest))
    }
}

/// Where requests go: scheme, host and port (no path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub https: bool,
    /// Host as written in a URL (IPv6 in brackets).
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    /// Parse `scheme://host[:port][/]`. `what` names the setting in errors.
    pub fn parse(url: &str, what: &str) -> Result<Self, Error> {
        let (e, path) = Self::parse_url(url, what)?;
        if path != "/" {
            return Err(Error::Key(format!(
                "{what}: {url:?}: give only scheme, host and port (no path or query)"
            )));
        }
        Ok(e)
    }

    /// Parse `scheme://host[:port][/path[?query]]` into the endpoint and the path with query
    /// (`/` when absent).
    pub fn parse_url(url: &str, what: &str) -> Result<(Self, String), Error> {
        let uri: Uri = url
            .parse()
            .map_err(|e| Error::Key(format!("{what}: {url:?} is not a URL: {e}")))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => {
                return Err(Error::Key(format!(
                    "{what}: {url:?} must start with https:// (or http:// for a loopback address)"
                )))
            }
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Error::Key(format!("{what}: {url:?} has no host")))?
            .to_ascii_lowercase();
        let path = match uri.path_and_query().map(|pq| pq.as_str()) {
            None | Some("") => "/".to_owned(),
            Some(pq) => pq.to_owned(),
        };
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(Error::Key(format!(
                "{what}: {url:?}: credentials in the URL are not supported"
            )));
        }
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        Ok((Endpoint { https, host, port }, path))
    }

    /// `https://host:port` (the port always written).
    pub fn base(&self) -> String {
        format!(
            "{}://{}:{}",
            if self.https { "https" } else { "http" },
            self.host,
            self.port
        )
    }

    /// The Host header value (port omitted when it is the scheme's default).
    pub fn authority(&self) -> String {
        if self.port == if self.https { 443 } else { 80 } {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Whether the host is a loopback address (127.0.0.0/8, ::1, localhost).
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }

    /// Refuse plain http unless the host is a loopback address.
    pub fn require_tls_unless_loopback(&self, what: &str) -> Result<(), Error> {
        if !self.https && !self.is_loopback() {
            return Err(Error::Key(format!(
                "{what}: plain http to {} would send keys and tokens in clear: use https (plain http is only allowed to a loopback address)",
                self.host
            )));
        }
        Ok(())
    }
}

/// Whether `host` (as in a URL; IPv6 possibly in brackets) is a loopback address.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// Percent-decode a URI component (`+` is kept as is).
pub(crate) fn percent_decode(s: &str, what: &str) -> Result<String, Error> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Error::Key(format!("{what}: bad percent-encoding in {s:?}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::Key(format!("{what}: {s:?} is not UTF-8")))
}

/// Percent-encode for a URL query or form body (RFC 3986 unreserved characters kept).
pub(crate) fn percent_encode(s: &str) -> String {
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

/// Split `rest?query` and parse the query into `name -> value` (each name at most once; only
/// `allowed` names).
pub(crate) fn split_query<'a>(
    rest: &'a str,
    allowed: &[&str],
    what: &str,
) -> Result<(&'a str, BTreeMap<String, String>), Error> {
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut params = BTreeMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(k, what)?;
        if !allowed.contains(&k.as_str()) {
            return Err(Error::Key(format!(
                "{what}: unknown parameter {k:?} (known: {})",
                allowed.join(", ")
            )));
        }
        let v = percent_decode(v, what)?;
        if params.insert(k.clone(), v).is_some() {
            return Err(Error::Key(format!("{what}: parameter {k:?} given twice")));
        }
    }
    Ok((path, params))
}

/// Read a secret file (token, JWT), trimmed; errors name the file and what it is for.
pub(crate) fn read_secret_file(path: &Path, what: &str) -> Result<Secret, Error> {
    let raw = Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| Error::Key(format!("{what}: cannot read {}: {e}", path.display())))?,
    );
    let text = std::str::from_utf8(&raw)
        .map_err(|_| Error::Key(format!("{what}: {} is not text", path.display())))?
        .trim();
    if text.is_empty() {
        return Err(Error::Key(format!("{what}: {} is empty", path.display())));
    }
    Ok(Secret::new(text.to_owned()))
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYYMMDDTHHMMSSZ` (SigV4's X-Amz-Date) of a Unix time.
pub(crate) fn amz_date(unix: u64) -> String {
    let (y, m, d) = civil_from_days((unix / 86400) as i64);
    let s = unix % 86400;
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

/// Parse an RFC 3339 UTC time (`2024-05-01T12:00:00Z`, fractions and `+00:00` accepted) to Unix
/// seconds.
pub(crate) fn parse_rfc3339(s: &str) -> Option<u64> {
    let s = s.trim();
    let (date, time) = s.split_once(['T', 't', ' '])?;
    let mut dp = date.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let m: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    let (clock, offset) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, 0i64)
    } else if let Some(i) = time.rfind(['+', '-']) {
        let (c, off) = time.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off[1..].split_once(':')?;
        (
            c,
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60),
        )
    } else {
        return None;
    };
    let clock = clock.split('.').next()?;
    let mut tp = clock.split(':');
    let hh: i64 = tp.next()?.parse().ok()?;
    let mm: i64 = tp.next()?.parse().ok()?;
    let ss: i64 = tp.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let t = days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss - offset;
    u64::try_from(t).ok()
}

/// Lowercase hex.
pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One HTTP request.
pub(crate) struct Req<'a> {
    pub method: Method,
    pub endpoint: &'a Endpoint,
    /// Path and query, starting with `/`.
    pub path: &'a str,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Zeroizing<Vec<u8>>,
    /// Time to connect (TCP and TLS are separate: this is TCP).
    pub connect_timeout: Duration,
    /// Time for the whole exchange.
    pub timeout: Duration,
}

impl Req<'_> {
    /// A header value that must not show up anywhere (tokens, signatures).
    pub fn sensitive(value: &str) -> Result<HeaderValue, Error> {
        let mut v = HeaderValue::from_str(value).map_err(|_| {
            Error::Key(
                "a token or credential holds characters not allowed in an HTTP header".into(),
            )
        })?;
        v.set_sensitive(true);
        Ok(v)
    }
}

/// One HTTP response; the body is zeroized on drop.
pub(crate) struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Zeroizing<Vec<u8>>,
}

impl Resp {
    /// The body as text, for error messages (cut at 300 characters).
    pub fn snippet(&self) -> String {
        let t = String::from_utf8_lossy(&self.body);
        let t = t.trim();
        if t.chars().count() > 300 {
            format!("{}...", t.chars().take(300).collect::<String>())
        } else {
            t.to_owned()
        }
    }
}

/// The blocking client of one provider.
pub(crate) struct Http {
    provider: &'static str,
    /// An extra trusted CA certificate file (PEM), besides the system's roots.
    extra_ca: Option<PathBuf>,
    /// The setting that names that file (for hints).
    ca_setting: &'static str,
    tls: OnceLock<Result<Arc<rustls::ClientConfig>, String>>,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("extra_ca", &self.extra_ca)
            .finish_non_exhaustive()
    }
}

fn crypto() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Http {
    pub fn new(
        provider: &'static str,
        extra_ca: Option<PathBuf>,
        ca_setting: &'static str,
    ) -> Self {
        Http {
            provider,
            extra_ca,
            ca_setting,
            tls: OnceLock::new(),
        }
    }

    fn err(&self, message: String) -> Error {
        Error::Provider {
            provider: self.provider,
            message,
        }
    }

    /// The TLS configuration: system roots plus the extra CA, built once.
    fn tls(&self) -> Result<Arc<rustls::ClientConfig>, Error> {
        self.tls
            .get_or_init(|| self.build_tls().map(Arc::new))
            .clone()
            .map_err(Error::Key)
    }

    fn build_tls(&self) -> Result<rustls::ClientConfig, String> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        if let Some(path) = &self.extra_ca {
            let pem =
                std::fs::read(path).map_err(|e| format!("CA file {}: {e}", path.display()))?;
            let mut n = 0;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| format!("CA file {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("CA file {}: {e}", path.display()))?;
                n += 1;
            }
            if n == 0 {
                return Err(format!(
                    "CA file {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
                    path.display()
                ));
            }
        }
        if roots.is_empty() {
            return Err(
                "no trusted CA certificates: the system has none (install ca-certificates, or set SSL_CERT_FILE) and no CA file was given"
                    .into(),
            );
        }
        rustls::ClientConfig::builder_with_provider(crypto())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup: {e}"))
            .map(|b| b.with_root_certificates(roots).with_no_client_auth())
    }

    /// Send `req` and read the whole response. Errors only for transport failures; any HTTP
    /// status is returned.
    pub fn send(&self, req: Req<'_>) -> Result<Resp, Error> {
        let url = format!(
            "{}{}",
            req.endpoint.base(),
            req.path.split('?').next().unwrap_or("")
        );
        let tls = if req.endpoint.https {
            (*self.tls()?).clone()
        } else {
            // Never used for http:// (the connector picks TLS by scheme), but one is required.
            rustls::ClientConfig::builder_with_provider(crypto())
                .with_safe_default_protocol_versions()
                .map_err(|e| self.err(format!("TLS setup: {e}")))?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        };
        let uri: Uri = format!("{}{}", req.endpoint.base(), req.path)
            .parse()
            .map_err(|e| self.err(format!("{url}: bad request URL: {e}")))?;
        let mut builder = Request::builder()
            .method(req.method.clone())
            .uri(uri)
            .header(hyper::header::HOST, req.endpoint.authority());
        for (k, v) in req.headers {
            builder = builder.header(k, v);
        }
        let body = Full::new(Bytes::from_owner(SecretBytes(req.body)));
        let request = builder
            .body(body)
            .map_err(|e| self.err(format!("{url}: {e}")))?;
        let (connect_timeout, timeout) = (req.connect_timeout, req.timeout);
        let method = req.method;
        let fut = async move {
            let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
            http.enforce_http(false);
            http.set_nodelay(true);
            http.set_connect_timeout(Some(connect_timeout));
            let conn = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(tls)
                .https_or_http()
                .enable_http1()
                .wrap_connector(http);
            let client =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .pool_max_idle_per_host(0)
                    .build::<_, Full<Bytes>>(conn);
            let exchange = async {
                let resp = client.request(request).await.map_err(chain)?;
                let (parts, mut body) = resp.into_parts();
                let cap = parts
                    .headers
                    .get(hyper::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(16 << 10)
                    .min(MAX_RESPONSE);
                let mut out = Zeroizing::new(Vec::with_capacity(cap));
                while let Some(frame) = body.frame().await {
                    let frame = frame.map_err(chain)?;
                    if let Ok(data) = frame.into_data() {
                        if out.len() + data.len() > MAX_RESPONSE {
                            return Err(format!("response over {MAX_RESPONSE} bytes"));
                        }
                        push_secret(&mut out, &data);
                    }
                }
                Ok(Resp {
                    status: parts.status.as_u16(),
                    headers: parts.headers,
                    body: out,
                })
            };
            match tokio::time::timeout(timeout, exchange).await {
                Ok(r) => r,
                Err(_) => Err(format!("no answer within {} s", timeout.as_secs_f32())),
            }
        };
        let https = req.endpoint.https;
        run(fut).map_err(|e| self.err(e))?.map_err(|e| {
            let hint = if !https {
                String::new()
            } else if e.contains("InvalidContentType") || e.contains("corrupt message") {
                " (the server does not answer TLS on this port)".to_owned()
            } else if e.contains("certificate") {
                format!(
                    " (the server's certificate is not trusted: set {} to its CA file)",
                    self.ca_setting
                )
            } else {
                String::new()
            };
            self.err(format!("{method} {url}: {e}{hint}"))
        })
    }
}

/// The error and its sources on one line (hyper's top-level messages say little).
fn chain(e: impl std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = c.source();
    }
    s
}

/// Append to a zeroizing buffer without leaving an unzeroized copy behind when it grows.
fn push_secret(out: &mut Zeroizing<Vec<u8>>, data: &[u8]) {
    if out.len() + data.len() > out.capacity() {
        let mut bigger = Zeroizing::new(Vec::with_capacity((out.len() + data.len()) * 2));
        bigger.extend_from_slice(out);
        *out = bigger;
    }
    out.extend_from_slice(data);
}

/// A request body that is zeroized when hyper drops it.
struct SecretBytes(Zeroizing<Vec<u8>>);

impl AsRef<[u8]> for SecretBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Run `fut` to completion on a fresh current-thread runtime; from inside a tokio runtime (where
/// blocking on another one is not allowed), on a scoped helper thread.
fn run<F>(fut: F) -> Result<F::Output, String>
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    fn block<F: std::future::Future>(fut: F) -> Result<F::Output, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("starting the HTTP runtime: {e}"))?;
        Ok(rt.block_on(fut))
    }
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| {
            s.spawn(|| block(fut))
                .join()
                .unwrap_or_else(|_| Err("the HTTP thread panicked".into()))
        })
    } else {
        block(fut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(parse_rfc3339("2015-08-30T12:36:00Z"), Some(1_440_938_160));
        assert_eq!(
            parse_rfc3339("2015-08-30T12:36:00.123Z"),
            Some(1_440_938_160)
        );
        assert_eq!(
            parse_rfc3339("2015-08-30T14:36:00+02:00"),
            Some(1_440_938_160)
        );
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        assert_eq!(parse_rfc3339("nonsense"), None);
    }

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:5000", "t").unwrap();
        assert!(!e.https && e.is_loopback() && e.port == 5000);
        assert_eq!(e.authority(), "127.0.0.1:5000");
        assert!(e.require_tls_unless_loopback("t").is_ok());
        let e = Endpoint::parse("http://kms.example.com", "t").unwrap();
        assert!(e.require_tls_unless_loopback("t").is_err());
        let e = Endpoint::parse("https://[::1]:8200/", "t").unwrap();
        assert!(e.is_loopback());
        assert_eq!(e.base(), "https://[::1]:8200");
        assert!(Endpoint::parse("ftp://x", "t").is_err());
        assert!(Endpoint::parse("https://x/path", "t").is_err());
        assert!(Endpoint::parse("https://u:p@x", "t").is_err());
    }

    #[test]
    fn secrets_are_redacted() {
        let s = Secret::new("hunter2".into());
        assert_eq!(format!("{s:?}"), "<redacted>");
        let env = Env::capture(&["A"], &|_| Some("hunter2".into()));
        assert!(!format!("{env:?}").contains("hunter2"));
    }
}
