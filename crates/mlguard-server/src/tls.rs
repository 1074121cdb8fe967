//! TLS for the servers: rustls (ring), the certificate and key read from PEM files and reloaded
//! when the files change (cert-manager rotates them in place) without dropping a connection:
//! new handshakes get the new certificate, established connections keep theirs. A file that
//! fails to load keeps the previous certificate and is logged; the next change is tried again.

use rustls::crypto::ring::sign::any_supported_type;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("TLS configuration: {0}")]
    Config(String),
}

fn file_err(path: &Path, message: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Read a certificate chain and its private key (PEM).
pub fn load(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| file_err(cert, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_err(cert, e))?;
    if chain.is_empty() {
        return Err(file_err(cert, "no CERTIFICATE in the file"));
    }
    let der = PrivateKeyDer::from_pem_file(key).map_err(|e| file_err(key, e))?;
    let signer = any_supported_type(&der).map_err(|e| file_err(key, e))?;
    let ck = CertifiedKey::new(chain, signer);
    ck.keys_match().map_err(|e| {
        file_err(
            cert,
            format!(
                "the certificate does not match the key in {}: {e}",
                key.display()
            ),
        )
    })?;
    Ok(ck)
}

/// A file's modification time and size, to notice a rewrite.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(p: &Path) -> Stamp {
    let m = std::fs::metadata(p).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// The serving certificate, reloaded from its files when they change.
#[derive(Debug)]
pub struct ReloadingCert {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    seen: Mutex<(Stamp, Stamp)>,
}

impl ReloadingCert {
    pub fn new(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let ck = load(cert, key)?;
        Ok(ReloadingCert {
            cert: cert.to_owned(),
            key: key.to_owned(),
            current: RwLock::new(Arc::new(ck)),
            seen: Mutex::new((stamp(cert), stamp(key))),
        })
    }

    /// Load the files again if either changed (modification time or size); whether the
    /// certificate in use changed.
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let now = (stamp(&self.cert), stamp(&self.key));
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *seen == now {
            return Ok(false);
        }
        // Remember the attempt even when it fails: a half-written pair is retried on the
        // next change (the writer's second file), not every poll.
        *seen = now;
        let ck = load(&self.cert, &self.key)?;
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(ck);
        Ok(true)
    }

    /// Poll the files every `every` until the process ends.
    pub fn watch(self: Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match self.reload_if_changed() {
                    Ok(true) => {
                        tracing::info!(cert = %self.cert.display(), "serving certificate reloaded")
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "serving certificate not reloaded; keeping the previous one")
                    }
                }
            }
        })
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
        )
    }
}

/// A rustls server configuration (TLS 1.2 and 1.3, ring, ALPN http/1.1) over `certs`.
pub fn server_config(certs: Arc<ReloadingCert>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(certs);
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// How long a TLS handshake may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server side of a TLS handshake on `tcp`, at most [`HANDSHAKE_TIMEOUT`]; None (logged at
/// debug level, naming `peer`) when it fails or times out.
pub async fn handshake(
    acceptor: &tokio_rustls::TlsAcceptor,
    tcp: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
) -> Option<tokio_rustls::server::TlsStream<tokio::net::TcpStream>> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => Some(s),
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            None
        }
    }
}

/// A rustls client configuration trusting only the CA certificates in `ca_pem` (what the API
/// server does with a webhook's `caBundle`); for probes and tests.
pub fn client_config(ca_pem: &[u8]) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem) {
        let c = c.map_err(|e| TlsError::Config(format!("CA bundle: {e}")))?;
        roots
            .add(c)
            .map_err(|e| TlsError::Config(format!("CA bundle: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// A certificate authority and a serving certificate it signed, as PEM.
#[derive(Debug)]
pub struct Generated {
    pub ca_cert: String,
    pub cert: String,
    /// The serving key (PKCS#8 PEM). Write it with mode 0600.
    pub key: String,
}

/// Generate a CA (ECDSA P-256, 10 years) and a serving certificate for `dns_names` (1 year)
/// with rcgen, as cert-manager would for the webhook Service.
pub fn generate(dns_names: &[String]) -> Result<Generated, TlsError> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let cfg = |e: rcgen::Error| TlsError::Config(e.to_string());
    let ca_key = KeyPair::generate().map_err(cfg)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(cfg)?;
    ca.distinguished_name
        .push(DnType::CommonName, "mlguard webhook CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = SystemTime::now();
    ca.not_before = now.into();
    ca.not_after = (now + Duration::from_secs(10 * 365 * 86_400)).into();
    let ca_cert = ca.self_signed(&ca_key).map_err(cfg)?;
    let key = KeyPair::generate().map_err(cfg)?;
    let mut leaf = CertificateParams::new(dns_names.to_vec()).map_err(cfg)?;
    leaf.distinguished_name.push(
        DnType::CommonName,
        dns_names.first().cloned().unwrap_or_default(),
    );
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.not_before = now.into();
    leaf.not_after = (now + Duration::from_secs(365 * 86_400)).into();
    let issuer = rcgen::Issuer::from_params(&ca, &ca_key);
    let cert = leaf.signed_by(&key, &issuer).map_err(cfg)?;
    Ok(Generated {
        ca_cert: ca_cert.pem(),
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}
