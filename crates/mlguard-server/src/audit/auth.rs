//! Who may write to the receiver: bearer tokens (from a token file, optionally limited to some
//! sources) and client certificates (mTLS, chaining to the configured CA).
//!
//! The TLS layer verifies a client certificate when one is presented (rustls
//! `WebPkiClientVerifier` over the `--client-ca` roots) but lets a client without one connect,
//! so that probes reach `/healthz` and token clients need no certificate; every write route then
//! requires one of the two credentials. Tokens are compared in constant time (SHA-256 of both,
//! compared without an early exit) and never logged.

use super::Source;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::path::Path;
use std::sync::Arc;

/// Why an authentication setting could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
}

fn file_err(path: &Path, message: impl std::fmt::Display) -> AuthError {
    AuthError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// One accepted token: its SHA-256 and the sources it may write (`None`: all).
#[derive(Clone)]
struct Token {
    digest: [u8; 32],
    sources: Option<Vec<Source>>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token, not even its digest.
        f.debug_struct("Token")
            .field("sources", &self.sources)
            .finish_non_exhaustive()
    }
}

fn sha256(b: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, b);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Equal in constant time (for equal lengths, which digests have).
fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

/// The accepted bearer tokens.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    tokens: Vec<Token>,
}

impl Tokens {
    /// Reads a token file: one token per line, optionally followed by whitespace and the
    /// comma-separated sources it may write (`k8s`, `storage`, `inference`); without them a
    /// token writes every source. Empty lines and lines starting with `#` are ignored.
    ///
    /// ```text
    /// # the API server
    /// 3q2+7w...  k8s
    /// # MinIO
    /// Zm9vYmFy...  storage
    /// ```
    pub fn from_file(path: &Path) -> Result<Tokens, AuthError> {
        let text = std::fs::read_to_string(path).map_err(|e| file_err(path, e))?;
        Tokens::parse(&text).map_err(|m| file_err(path, m))
    }

    /// Parses the token file text (see [`Tokens::from_file`]); the error names the line.
    pub fn parse(text: &str) -> Result<Tokens, String> {
        let mut tokens = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            let token = parts.next().unwrap_or_default();
            if token.len() < 16 {
                return Err(format!(
                    "line {}: the token is shorter than 16 characters; use a random one \
                     (e.g. `openssl rand -base64 32`)",
                    i + 1
                ));
            }
            let sources = match parts.next() {
                None => None,
                Some(list) => {
                    let mut v = Vec::new();
                    for s in list.split(',').filter(|s| !s.is_empty()) {
                        v.push(super::parse_source(s).ok_or_else(|| {
                            format!(
                                "line {}: unknown source {s:?} (expected k8s, storage or inference)",
                                i + 1
                            )
                        })?);
                    }
                    Some(v)
                }
            };
            if let Some(extra) = parts.next() {
                return Err(format!(
                    "line {}: unexpected {extra:?} after the sources (`TOKEN [SOURCE,...]`)",
                    i + 1
                ));
            }
            tokens.push(Token {
                digest: sha256(token.as_bytes()),
                sources,
            });
        }
        if tokens.is_empty() {
            return Err("no token in the file".into());
        }
        Ok(Tokens { tokens })
    }

    /// A single token allowed to write every source.
    pub fn single(token: &str) -> Tokens {
        Tokens {
            tokens: vec![Token {
                digest: sha256(token.as_bytes()),
                sources: None,
            }],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The sources the presented token may write: `None` when it matches no token. Every
    /// configured token is compared, so the time does not tell which one matched.
    fn check(&self, presented: &str) -> Option<Option<&[Source]>> {
        let d = sha256(presented.as_bytes());
        let mut found = None;
        for t in &self.tokens {
            if ct_eq(&t.digest, &d) && found.is_none() {
                found = Some(t.sources.as_deref());
            }
        }
        found
    }
}

/// What the connection proved: a client certificate that chained to the CA.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Peer {
    pub client_cert: bool,
}

/// How a request was authenticated, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allowed(&'static str),
    /// 401: no credential or a wrong one.
    Unauthenticated(String),
    /// 403: a valid credential that may not write this source.
    Forbidden(String),
}

/// The authentication policy of the write routes.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    pub tokens: Tokens,
    /// Whether client certificates are accepted (a `--client-ca` is configured).
    pub client_ca: bool,
    /// No credential required (`--insecure-loopback` without a token or CA).
    pub open: bool,
}

impl Auth {
    /// Decides for a request to write `source` with this `Authorization` header value.
    pub fn decide(&self, peer: Peer, authorization: Option<&[u8]>, source: Source) -> Decision {
        if self.client_ca && peer.client_cert {
            return Decision::Allowed("client certificate");
        }
        if self.open && self.tokens.is_empty() {
            // Plain HTTP on loopback without tokens: whatever the sender puts in
            // `Authorization` (a sink credential of its own) is not ours to judge.
            return Decision::Allowed("insecure loopback");
        }
        if let Some(value) = authorization {
            if self.tokens.is_empty() {
                return Decision::Unauthenticated(
                    "bearer tokens are not accepted here (no --token-file); present a client \
                     certificate"
                        .into(),
                );
            }
            let value = std::str::from_utf8(value).unwrap_or_default().trim();
            // `Bearer TOKEN`, or the token alone (MinIO sends its auth token as configured).
            let token = match value.split_once(' ') {
                Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
                _ => value,
            };
            return match self.tokens.check(token) {
                None => Decision::Unauthenticated("the bearer token is not valid".into()),
                Some(Some(sources)) if !sources.contains(&source) => Decision::Forbidden(format!(
                    "this token may not write {} events",
                    source.as_str()
                )),
                Some(_) => Decision::Allowed("bearer token"),
            };
        }
        let how = match (self.client_ca, self.tokens.is_empty()) {
            (true, false) => "a client certificate or a bearer token",
            (true, true) => "a client certificate signed by the configured CA",
            _ => "a bearer token (Authorization: Bearer ...)",
        };
        Decision::Unauthenticated(format!("authentication required: present {how}"))
    }
}

/// A client certificate verifier over the CA certificates in `ca_file` that also lets clients
/// without a certificate connect (the write routes then ask for a token).
pub fn client_verifier(
    ca_file: &Path,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, AuthError> {
    let mut roots = rustls::RootCertStore::empty();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ca_file)
        .map_err(|e| file_err(ca_file, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_err(ca_file, e))?;
    if certs.is_empty() {
        return Err(file_err(ca_file, "no CERTIFICATE in the file"));
    }
    for c in certs {
        roots.add(c).map_err(|e| file_err(ca_file, e))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .allow_unauthenticated()
        .build()
        .map_err(|e| file_err(ca_file, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "0123456789abcdef0123";

    #[test]
    fn token_file_lines_and_sources() {
        let t = Tokens::parse(&format!(
            "# c\n\n{T}\nzzzzzzzzzzzzzzzzzz storage,inference\n"
        ))
        .unwrap();
        assert_eq!(t.check(T), Some(None));
        assert_eq!(
            t.check("zzzzzzzzzzzzzzzzzz"),
            Some(Some(&[Source::Storage, Source::Inference][..]))
        );
        assert_eq!(t.check("nope"), None);
        assert!(Tokens::parse("short").unwrap_err().contains("line 1"));
        assert!(Tokens::parse(&format!("{T} k8s,minio"))
            .unwrap_err()
            .contains("minio"));
        assert!(Tokens::parse("# only a comment\n").is_err());
    }

    #[test]
    fn decisions() {
        let a = Auth {
            tokens: Tokens::parse(&format!("{T} k8s\n")).unwrap(),
            client_ca: true,
            open: false,
        };
        let none = Peer::default();
        let cert = Peer { client_cert: true };
        assert!(matches!(
            a.decide(cert, None, Source::Storage),
            Decision::Allowed(_)
        ));
        assert!(matches!(
            a.decide(none, None, Source::K8s),
            Decision::Unauthenticated(_)
        ));
        let bearer = format!("Bearer {T}");
        assert!(matches!(
            a.decide(none, Some(bearer.as_bytes()), Source::K8s),
            Decision::Allowed(_)
        ));
        assert!(matches!(
            a.decide(none, Some(T.as_bytes()), Source::K8s),
            Decision::Allowed(_)
        ));
        assert!(matches!(
            a.decide(none, Some(bearer.as_bytes()), Source::Storage),
            Decision::Forbidden(_)
        ));
        assert!(matches!(
            a.decide(none, Some(b"Bearer wrong"), Source::K8s),
            Decision::Unauthenticated(_)
        ));
        let open = Auth {
            open: true,
            ..Auth::default()
        };
        assert!(matches!(
            open.decide(none, None, Source::K8s),
            Decision::Allowed(_)
        ));
        assert!(matches!(
            open.decide(none, Some(b"Bearer sink-token"), Source::Inference),
            Decision::Allowed(_)
        ));
    }
}
