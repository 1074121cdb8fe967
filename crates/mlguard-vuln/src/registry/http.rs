//! A small blocking HTTP(S) GET client with streamed bodies.
//!
//! hyper 1 with hyper-rustls (rustls, ring), as mlguard-crypt's provider client: TLS is always
//! verified against the operating system's roots (rustls-native-certs, which honours
//! SSL_CERT_FILE and SSL_CERT_DIR) plus an optional extra CA file. Plain http is only used for
//! loopback hosts. No proxy is used.
//!
//! Each request runs on its own thread with a current-thread tokio runtime; the response body
//! comes back through a bounded channel of chunks, read by [`Body`] as a blocking `Read`, so a
//! layer of gigabytes never sits whole in memory (at most [`CHUNKS`] chunks are in flight).
//! Dropping a [`Body`] ends its request. Redirects are the caller's business ([`follow`]).

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Request, Uri};
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::time::Duration;

/// Chunks of a body in flight between the network thread and the reader.
const CHUNKS: usize = 16;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for a response's head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest wait for the next chunk of a body.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// Most redirects followed for one request.
pub(crate) const MAX_REDIRECTS: usize = 5;

/// Whether `host` (as in a URL; IPv6 possibly in brackets) is a loopback address.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A URL for messages: scheme, host, port and path, without the query (presigned blob URLs
/// carry signatures there).
pub(crate) fn shown(uri: &Uri) -> String {
    format!(
        "{}://{}{}",
        uri.scheme_str().unwrap_or("?"),
        uri.authority().map(|a| a.as_str()).unwrap_or("?"),
        uri.path()
    )
}

/// Scheme, host and port of a URL (where credentials may be sent).
pub(crate) fn origin(uri: &Uri) -> (String, String, u16) {
    let https = uri.scheme_str() == Some("https");
    (
        uri.scheme_str().unwrap_or("").to_ascii_lowercase(),
        uri.host().unwrap_or("").to_ascii_lowercase(),
        uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
    )
}

/// Parse an absolute http(s) URL; plain http only to a loopback host.
pub(crate) fn parse_url(url: &str) -> Result<Uri, String> {
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    check_url(&uri)?;
    Ok(uri)
}

fn check_url(uri: &Uri) -> Result<(), String> {
    let host = uri.host().filter(|h| !h.is_empty());
    let Some(host) = host else {
        return Err(format!("{}: no host", shown(uri)));
    };
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(format!(
            "{}: credentials in the URL are not supported",
            shown(uri)
        ));
    }
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if is_loopback_host(host) => Ok(()),
        Some("http") => Err(format!(
            "{}: plain http is refused (only https, or http to a loopback address)",
            shown(uri)
        )),
        _ => Err(format!("{}: only https:// URLs are supported", shown(uri))),
    }
}

/// Resolve a redirect's `Location` against the URL that answered it.
pub(crate) fn resolve(base: &Uri, location: &str) -> Result<Uri, String> {
    let location = location.trim();
    let abs = if location.starts_with("http://") || location.starts_with("https://") {
        location.to_string()
    } else if let Some(rest) = location.strip_prefix("//") {
        format!("{}://{rest}", base.scheme_str().unwrap_or("https"))
    } else {
        let prefix = format!(
            "{}://{}",
            base.scheme_str().unwrap_or("https"),
            base.authority().map(|a| a.as_str()).unwrap_or("")
        );
        if location.starts_with('/') {
            format!("{prefix}{location}")
        } else {
            let dir = base.path().rsplit_once('/').map_or("", |(d, _)| d);
            format!("{prefix}{dir}/{location}")
        }
    };
    let uri: Uri = abs
        .parse()
        .map_err(|e| format!("redirect to {location:?}: not a URL: {e}"))?;
    check_url(&uri).map_err(|e| format!("redirect refused: {e}"))?;
    Ok(uri)
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

/// A response: status, headers, the URL that gave it, and the body still to be read.
pub(crate) struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub url: Uri,
    pub body: Body,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The declared length of the body.
    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length")?.trim().parse().ok()
    }

    /// Read the whole body, refusing more than `cap` bytes.
    pub fn bytes(self, cap: u64) -> Result<Vec<u8>, String> {
        let what = shown(&self.url);
        if let Some(n) = self.content_length().filter(|&n| n > cap) {
            return Err(format!("{what}: the answer is {n} bytes, over {cap}"));
        }
        let mut out = Vec::new();
        self.body
            .take(cap + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("{what}: {e}"))?;
        if out.len() as u64 > cap {
            return Err(format!("{what}: the answer is over {cap} bytes"));
        }
        Ok(out)
    }

    /// The start of the body as text, for error messages.
    pub fn snippet(self) -> String {
        let Ok(b) = self.bytes(64 << 10) else {
            return String::new();
        };
        let t: String = String::from_utf8_lossy(&b)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
        if t.chars().count() > 200 {
            format!("{}...", t.chars().take(200).collect::<String>())
        } else {
            t
        }
    }
}

/// A response body read as a blocking stream. It fails when more than `limit` bytes arrive.
pub(crate) struct Body {
    rx: Receiver<Result<Bytes, String>>,
    chunk: Bytes,
    done: bool,
    read: u64,
    limit: Option<u64>,
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Body").field("read", &self.read).finish()
    }
}

impl Body {
    /// Fail once more than `limit` bytes have arrived.
    pub fn limit(mut self, limit: u64) -> Self {
        self.limit = Some(limit);
        self
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.chunk.is_empty() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(b)) => self.chunk = b,
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(std::io::Error::other(e));
                }
                // The network thread ends the stream by dropping its sender.
                Err(_) => self.done = true,
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        let _ = self.chunk.split_to(n);
        self.read += n as u64;
        if let Some(limit) = self.limit.filter(|&l| self.read > l) {
            self.done = true;
            self.chunk = Bytes::new();
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("more than the {limit} bytes expected"),
            ));
        }
        Ok(n)
    }
}

fn crypto() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The blocking client: its TLS configuration (system roots plus an extra CA file).
#[derive(Clone)]
pub(crate) struct Client {
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(ca_file: Option<&Path>) -> Result<Client, String> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if let Some(path) = ca_file {
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
        let tls = rustls::ClientConfig::builder_with_provider(crypto())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Client { tls: Arc::new(tls) })
    }

    /// Send one GET (no redirect followed) and return once the response head is in; the body
    /// streams from a network thread as it is read.
    pub fn get(
        &self,
        uri: &Uri,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<Response, String> {
        check_url(uri)?;
        let mut builder = Request::builder().method("GET").uri(uri.clone());
        for (k, v) in headers {
            builder = builder.header(k, v);
        }
        let request = builder
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("GET {}: {e}", shown(uri)))?;
        let tls = (*self.tls).clone();
        let (head_tx, head_rx) = sync_channel::<Result<hyper::http::response::Parts, String>>(1);
        let (body_tx, body_rx) = sync_channel::<Result<Bytes, String>>(CHUNKS);
        let https = uri.scheme_str() == Some("https");
        std::thread::Builder::new()
            .name("mlguard-registry-http".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = head_tx.send(Err(format!("starting the HTTP runtime: {e}")));
                        return;
                    }
                };
                rt.block_on(async move {
                    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
                    http.enforce_http(false);
                    http.set_nodelay(true);
                    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
                    let conn = hyper_rustls::HttpsConnectorBuilder::new()
                        .with_tls_config(tls)
                        .https_or_http()
                        .enable_http1()
                        .wrap_connector(http);
                    let client = hyper_util::client::legacy::Client::builder(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .pool_max_idle_per_host(0)
                    .build::<_, Empty<Bytes>>(conn);
                    let resp =
                        match tokio::time::timeout(HEAD_TIMEOUT, client.request(request)).await {
                            Ok(Ok(r)) => r,
                            Ok(Err(e)) => {
                                let _ = head_tx.send(Err(chain(e)));
                                return;
                            }
                            Err(_) => {
                                let _ = head_tx.send(Err(format!(
                                    "no answer within {} s",
                                    HEAD_TIMEOUT.as_secs()
                                )));
                                return;
                            }
                        };
                    let (parts, mut body) = resp.into_parts();
                    if head_tx.send(Ok(parts)).is_err() {
                        return;
                    }
                    loop {
                        let next = match tokio::time::timeout(IDLE_TIMEOUT, body.frame()).await {
                            Err(_) => Err(format!(
                                "no data for {} s, giving up",
                                IDLE_TIMEOUT.as_secs()
                            )),
                            Ok(None) => return,
                            Ok(Some(Err(e))) => Err(chain(e)),
                            Ok(Some(Ok(frame))) => match frame.into_data() {
                                Ok(d) if !d.is_empty() => Ok(d),
                                _ => continue,
                            },
                        };
                        let failed = next.is_err();
                        // Blocks this thread (and its runtime) while the reader is behind:
                        // that is the backpressure. A dropped reader ends the request.
                        if body_tx.send(next).is_err() || failed {
                            return;
                        }
                    }
                });
            })
            .map_err(|e| format!("starting the HTTP thread: {e}"))?;
        let parts = head_rx
            .recv()
            .map_err(|_| "the HTTP thread ended without an answer".to_string())
            .and_then(|r| r)
            .map_err(|e| {
                let hint = if !https {
                    ""
                } else if e.contains("InvalidContentType") || e.contains("corrupt message") {
                    " (the server does not answer TLS on this port)"
                } else if e.contains("certificate") || e.contains("UnknownIssuer") {
                    " (the server's certificate is not trusted: give its CA file)"
                } else {
                    ""
                };
                format!("GET {}: {e}{hint}", shown(uri))
            })?;
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            url: uri.clone(),
            body: Body {
                rx: body_rx,
                chunk: Bytes::new(),
                done: false,
                read: 0,
                limit: None,
            },
        })
    }
}

/// GET `uri`, following up to [`MAX_REDIRECTS`] redirects. `auth` is sent only to `uri`'s own
/// origin (scheme, host and port), never to where a redirect leads elsewhere.
pub(crate) fn follow(
    client: &Client,
    uri: &Uri,
    headers: &[(HeaderName, HeaderValue)],
    auth: Option<&HeaderValue>,
) -> Result<Response, String> {
    let home = origin(uri);
    let mut at = uri.clone();
    for _ in 0..=MAX_REDIRECTS {
        let mut h = headers.to_vec();
        if let Some(a) = auth.filter(|_| origin(&at) == home) {
            h.push((hyper::header::AUTHORIZATION, a.clone()));
        }
        let resp = client.get(&at, &h)?;
        if matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
            let Some(loc) = resp.header("location").map(str::to_string) else {
                return Ok(resp);
            };
            at = resolve(&at, &loc).map_err(|e| format!("GET {}: {e}", shown(&at)))?;
            continue;
        }
        return Ok(resp);
    }
    Err(format!(
        "GET {}: more than {MAX_REDIRECTS} redirects",
        shown(uri)
    ))
}

/// Largest download of [`get_url`].
const MAX_DOWNLOAD: u64 = 1 << 30;

/// GET `url` over HTTPS (plain http only to a loopback address) and return the body: for
/// downloads such as `mlguard vuln db import https://...`. Redirects are followed (at most 5,
/// under the same rule); the body may be at most 1 GiB; any status but 2xx is an error.
/// `ca_file` is trusted besides the system's roots.
pub fn get_url(url: &str, ca_file: Option<&Path>) -> Result<Vec<u8>, String> {
    let uri = parse_url(url)?;
    let client = Client::new(ca_file)?;
    let resp = follow(&client, &uri, &[], None)?;
    if !(200..300).contains(&resp.status) {
        let at = shown(&resp.url);
        let status = resp.status;
        let s = resp.snippet();
        return Err(format!(
            "GET {at}: HTTP {status}{}",
            if s.is_empty() {
                String::new()
            } else {
                format!(": {s}")
            }
        ));
    }
    resp.bytes(MAX_DOWNLOAD)
}
