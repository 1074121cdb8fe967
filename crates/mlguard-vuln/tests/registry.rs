//! Pulling images over the OCI distribution API: against the real Debian `docker-registry`
//! (distribution 2.8) over TLS, with images pushed by `skopeo` from OCI layouts built here; with
//! htpasswd (Basic) auth and with token (Bearer) auth through a token server run here that signs
//! ES256 JWTs; by digest, multi-platform, corrupted storage; and against small fake servers for
//! redirects (credentials must not follow them), plain http rules and `get_url`.
//!
//! Tests that need docker-registry, skopeo or htpasswd skip with a message when one is missing,
//! unless MLGUARD_REQUIRE_TOOLS=1 (scripts/test), where a missing tool fails them.

use mlguard_vuln::image::{read_oci_layout, ImageInventory, Progress};
use mlguard_vuln::registry::{get_url, parse_reference, read_registry, Password, RegistryOptions};
mod common;

use common::{blob, gzip, gzip_with, sha256, tar};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// ------------------------------------------------------------------------------------------
// Tools.

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Whether all `tools` are installed; when one is not: a skip message, or a failure under
/// MLGUARD_REQUIRE_TOOLS=1.
fn have(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| which(t).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("MLGUARD_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!(
            "{} not installed (MLGUARD_REQUIRE_TOOLS=1; scripts/test installs them)",
            missing.join(", ")
        );
    }
    eprintln!(
        "skipped: {} not installed (apt-get install docker-registry skopeo apache2-utils)",
        missing.join(", ")
    );
    false
}

// ------------------------------------------------------------------------------------------
// Certificates: a CA, a serving certificate for 127.0.0.1/localhost, and a token-signing key
// with a certificate from the same CA.

struct Certs {
    ca: String,
    cert: String,
    key: String,
    /// The token-signing key (PKCS#8 DER, P-256) and its certificate (DER).
    jwt_key: Vec<u8>,
    jwt_cert: Vec<u8>,
}

fn certs() -> Certs {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let now = SystemTime::now();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "mlguard registry test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = (now - Duration::from_secs(3600)).into();
    ca.not_after = (now + Duration::from_secs(86_400)).into();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::from_params(&ca, &ca_key);
    let key = KeyPair::generate().unwrap();
    let mut leaf =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.not_before = (now - Duration::from_secs(3600)).into();
    leaf.not_after = (now + Duration::from_secs(86_400)).into();
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    let jwt_key = KeyPair::generate().unwrap();
    let mut jp = CertificateParams::new(Vec::<String>::new()).unwrap();
    jp.distinguished_name
        .push(DnType::CommonName, "mlguard test token signer");
    jp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    jp.not_before = (now - Duration::from_secs(3600)).into();
    jp.not_after = (now + Duration::from_secs(86_400)).into();
    let jwt_cert = jp.signed_by(&jwt_key, &issuer).unwrap();
    Certs {
        ca: ca_cert.pem(),
        cert: cert.pem(),
        key: key.serialize_pem(),
        jwt_key: jwt_key.serialize_der(),
        jwt_cert: jwt_cert.der().to_vec(),
    }
}

// ------------------------------------------------------------------------------------------
// OCI layouts (as in tests/image.rs).

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const GZIP_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// Write one image's config, layers (gzip blobs) and manifest; return the manifest's
/// descriptor.
fn image(root: &Path, layers: &[Vec<u8>], env: &[&str], arch: &str) -> serde_json::Value {
    std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
    std::fs::write(
        root.join("oci-layout"),
        br#"{"imageLayoutVersion": "1.0.0"}"#,
    )
    .unwrap();
    let config = serde_json::json!({"architecture": arch, "os": "linux", "config": {"Env": env},
        "rootfs": {"type": "layers", "diff_ids": []}});
    let config = serde_json::to_vec(&config).unwrap();
    let cd = blob(root, &config);
    let descs: Vec<_> = layers
        .iter()
        .map(|b| serde_json::json!({"mediaType": GZIP_LAYER, "digest": blob(root, b), "size": b.len()}))
        .collect();
    let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
        "layers": descs});
    let m = serde_json::to_vec(&manifest).unwrap();
    serde_json::json!({"mediaType": OCI_MANIFEST, "digest": blob(root, &m), "size": m.len(),
        "platform": {"os": "linux", "architecture": arch}})
}

/// Write `index.json` naming `desc` as `tag`; return the descriptor's digest.
fn tag_layout(root: &Path, tag: &str, mut desc: serde_json::Value) -> String {
    desc["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": tag});
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [desc]});
    std::fs::write(root.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    desc["digest"].as_str().unwrap().to_string()
}

const SP: &str = "opt/conda/lib/python3.11/site-packages";

/// Three gzip layers: a dpkg database, Python packages, a whiteout and an opaque folder.
fn ml_layers(salt: &str) -> Vec<Vec<u8>> {
    let status = format!(
        "Package: libssl3\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u1\nSource: openssl\n\nPackage: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\nSource: zlib\n\nPackage: {salt}\nStatus: install ok installed\nVersion: 1.0\n"
    );
    let l1 = tar(&[
        ("var/lib/dpkg/status", status.as_bytes()),
        (
            &format!("{SP}/torch-2.1.0+cu121.dist-info/METADATA"),
            b"Metadata-Version: 2.1\nName: torch\nVersion: 2.1.0+cu121\n",
        ),
        (
            &format!("{SP}/numpy-1.26.0.dist-info/METADATA"),
            b"Metadata-Version: 2.1\nName: numpy\nVersion: 1.26.0\n",
        ),
    ]);
    let l2 = tar(&[
        (&format!("{SP}/.wh.torch-2.1.0+cu121.dist-info"), b""),
        (
            &format!("{SP}/torch-2.2.0.dist-info/METADATA"),
            b"Metadata-Version: 2.1\nName: torch\nVersion: 2.2.0\n",
        ),
    ]);
    let l3 = tar(&[
        ("var/lib/dpkg/.wh..wh..opq", b""),
        (
            "var/lib/dpkg/status",
            b"Package: libssl3\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u2\nSource: openssl\n",
        ),
    ]);
    vec![gzip(&l1), gzip(&l2), gzip(&l3)]
}

const ENV: &[&str] = &["PATH=/usr/bin", "CUDA_VERSION=12.1.1"];

fn names(inv: &ImageInventory) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = inv
        .packages
        .iter()
        .map(|(p, _)| (p.name.clone(), p.version.clone()))
        .collect();
    v.sort();
    v
}

/// The registry's inventory is the layout's, package for package.
fn assert_same(got: &ImageInventory, want: &ImageInventory) {
    assert_eq!(got.packages, want.packages);
    assert_eq!(got.env, want.env);
    assert_eq!(got.layers, want.layers);
    assert_eq!(got.digest, want.digest);
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    let n = names(got);
    assert!(n.contains(&("torch".into(), "2.2.0".into())), "{n:?}");
    assert!(
        n.contains(&("libssl3".into(), "3.0.11-1~deb12u2".into())),
        "{n:?}"
    );
    assert!(!n.iter().any(|p| p.0 == "zlib1g"), "whited out: {n:?}");
    assert!(n.contains(&("cuda".into(), "12.1.1".into())), "{n:?}");
}

// ------------------------------------------------------------------------------------------
// The registry process.

struct Registry {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// The file holding blob `digest` in the registry's storage.
    fn blob_file(&self, digest: &str) -> PathBuf {
        let h = digest.trim_start_matches("sha256:");
        self.path("storage/docker/registry/v2/blobs/sha256")
            .join(&h[..2])
            .join(h)
            .join("data")
    }

    fn image(&self, tag: &str) -> String {
        format!("127.0.0.1:{}/ml/app:{tag}", self.port)
    }

    /// Push the image tagged `tag` in `layout` with skopeo (all platforms of an index).
    fn push(&self, layout: &Path, tag: &str, creds: Option<&str>) {
        let policy = self.path("policy.json");
        std::fs::write(
            &policy,
            br#"{"default": [{"type": "insecureAcceptAnything"}]}"#,
        )
        .unwrap();
        let mut cmd = Command::new(which("skopeo").unwrap());
        cmd.arg("--policy").arg(&policy).arg("copy").arg("--all");
        cmd.arg("--dest-cert-dir").arg(self.path("certs.d"));
        if let Some(c) = creds {
            cmd.arg("--dest-creds").arg(c);
        }
        cmd.arg(format!("oci:{}:{tag}", layout.display()))
            .arg(format!("docker://{}", self.image(tag)));
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "skopeo copy failed: {}\nregistry log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.path("registry.log")).unwrap_or_default()
        );
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Start docker-registry over TLS on a free loopback port, with `auth` (YAML under `auth:`,
/// indented by two spaces; empty for none). `setup` writes what `auth` refers to in the
/// registry's folder first.
fn start_registry(c: &Certs, auth: &dyn Fn(&Path) -> String) -> Registry {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("certs.d")).unwrap();
    std::fs::write(d.join("certs.d/ca.crt"), &c.ca).unwrap();
    std::fs::write(d.join("ca.pem"), &c.ca).unwrap();
    std::fs::write(d.join("tls.crt"), &c.cert).unwrap();
    std::fs::write(d.join("tls.key"), &c.key).unwrap();
    let auth = auth(d);
    let port = free_port();
    let config = format!(
        "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {storage}\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: mlguard-test-secret\n  tls:\n    certificate: {dir}/tls.crt\n    key: {dir}/tls.key\n{auth}",
        storage = d.join("storage").display(),
        dir = d.display(),
    );
    std::fs::write(d.join("config.yml"), config).unwrap();
    let log = std::fs::File::create(d.join("registry.log")).unwrap();
    let child = Command::new(which("docker-registry").unwrap())
        .arg("serve")
        .arg(d.join("config.yml"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut reg = Registry { child, port, dir };
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = reg.child.try_wait().unwrap() {
            panic!(
                "docker-registry exited ({status}):\n{}",
                std::fs::read_to_string(reg.path("registry.log")).unwrap_or_default()
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "docker-registry did not listen within 15 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    reg
}

fn opts(reg: &Registry) -> RegistryOptions {
    let mut o = RegistryOptions::default();
    o.ca_file = Some(reg.path("ca.pem"));
    o
}

fn with_creds(reg: &Registry, user: &str, password: &str) -> RegistryOptions {
    let mut o = opts(reg);
    o.username = Some(user.into());
    o.password = Some(Password::new(password));
    o
}

#[derive(Default)]
struct Counter {
    total: Mutex<u64>,
    seen: Mutex<u64>,
}

impl Progress for Counter {
    fn total(&self, bytes: u64) {
        *self.total.lock().unwrap() = bytes;
    }
    fn advance(&self, bytes: u64) {
        *self.seen.lock().unwrap() += bytes;
    }
}

// ------------------------------------------------------------------------------------------
// A small blocking HTTP/1.1 server (TLS or plain) for the token server and the fakes.

struct Req {
    path: String,
    headers: Vec<(String, String)>,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }

    fn query(&self, name: &str) -> Vec<String> {
        let q = self.path.split_once('?').map_or("", |(_, q)| q);
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| percent_decode(v))
            .collect()
    }

    /// The user of a Basic `Authorization` header.
    fn basic_user(&self) -> Option<(String, String)> {
        use base64::Engine;
        let v = self.header("authorization")?.strip_prefix("Basic ")?;
        let d = base64::engine::general_purpose::STANDARD.decode(v).ok()?;
        let s = String::from_utf8(d).ok()?;
        let (u, p) = s.split_once(':')?;
        Some((u.to_string(), p.to_string()))
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() + 1 {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// A gate a server waits at: opened (set to true) by the test.
type Gate = Arc<(Mutex<bool>, std::sync::Condvar)>;

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Send this many bytes of the body, then wait (10 s at most) for the gate to open before
    /// sending the rest; if it does not open, drop the connection.
    pause: Option<(usize, Gate)>,
}

fn resp(status: u16, body: impl Into<Vec<u8>>) -> Resp {
    Resp {
        status,
        headers: Vec::new(),
        body: body.into(),
        pause: None,
    }
}

impl Resp {
    fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
}

type Handler = Arc<dyn Fn(&Req) -> Resp + Send + Sync>;

fn server_tls(c: &Certs) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = vec![CertificateDer::from_pem_slice(c.cert.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(c.key.as_bytes()).unwrap();
    Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap(),
    )
}

/// Serve `handler` on a free loopback port (over TLS when `tls` is given); return the port.
/// Every answer closes its connection.
fn serve(tls: Option<Arc<rustls::ServerConfig>>, handler: Handler) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(s) = s else { continue };
            let (tls, handler) = (tls.clone(), handler.clone());
            std::thread::spawn(move || {
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                match tls {
                    Some(cfg) => {
                        let Ok(conn) = rustls::ServerConnection::new(cfg) else {
                            return;
                        };
                        let mut stream = rustls::StreamOwned::new(conn, s);
                        if exchange(&mut stream, &handler).is_ok() {
                            stream.conn.send_close_notify();
                            let _ = stream.flush();
                        }
                    }
                    None => {
                        let mut s = s;
                        let _ = exchange(&mut s, &handler);
                    }
                }
            });
        }
    });
    port
}

fn exchange(stream: &mut (impl Read + Write), handler: &Handler) -> std::io::Result<()> {
    let mut r = BufReader::new(&mut *stream);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let path = line.split(' ').nth(1).unwrap_or("/").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            break;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    drop(r);
    let res = handler(&Req { path, headers });
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        res.status,
        res.body.len()
    );
    for (k, v) in &res.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    let mut body = res.body.as_slice();
    if let Some((n, gate)) = &res.pause {
        stream.write_all(&body[..*n])?;
        stream.flush()?;
        let (open, cv) = &**gate;
        let (open, _) = cv
            .wait_timeout_while(open.lock().unwrap(), Duration::from_secs(10), |o| !*o)
            .unwrap();
        if !*open {
            return Err(std::io::Error::other("the gate did not open"));
        }
        body = &body[*n..];
    }
    stream.write_all(body)?;
    stream.flush()
}

// ------------------------------------------------------------------------------------------
// A token server: ES256 JWTs for the registry's `auth: token`.

const ISSUER: &str = "mlguard-test-issuer";
const SERVICE: &str = "mlguard-test-registry";

#[derive(Debug, Clone, PartialEq, Eq)]
struct TokenRequest {
    user: Option<String>,
    service: Vec<String>,
    scopes: Vec<String>,
}

fn b64url(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn token_server(c: &Certs, log: Arc<Mutex<Vec<TokenRequest>>>) -> u16 {
    use base64::Engine;
    let rng = ring::rand::SystemRandom::new();
    let key = ring::signature::EcdsaKeyPair::from_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &c.jwt_key,
        &rng,
    )
    .unwrap();
    let x5c = base64::engine::general_purpose::STANDARD.encode(&c.jwt_cert);
    let handler: Handler = Arc::new(move |req: &Req| {
        if req.route() != "/token" {
            return resp(404, "no such page");
        }
        let user = req.basic_user();
        let scopes = req.query("scope");
        log.lock().unwrap().push(TokenRequest {
            user: user.as_ref().map(|u| u.0.clone()),
            service: req.query("service"),
            scopes: scopes.clone(),
        });
        if user != Some(("alice".into(), "s3cret".into())) {
            return resp(401, r#"{"details": "who are you?"}"#)
                .header("WWW-Authenticate", r#"Basic realm="tokens""#);
        }
        let access: Vec<serde_json::Value> = scopes
            .iter()
            .filter_map(|s| {
                let (kind, rest) = s.split_once(':')?;
                let (name, actions) = rest.rsplit_once(':')?;
                Some(serde_json::json!({"type": kind, "name": name,
                    "actions": actions.split(',').collect::<Vec<_>>()}))
            })
            .collect();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "x5c": [x5c]});
        let claims = serde_json::json!({"iss": ISSUER, "sub": "alice", "aud": SERVICE,
            "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("t{now}{}", scopes.len()),
            "access": access});
        let signing_input = format!(
            "{}.{}",
            b64url(&serde_json::to_vec(&header).unwrap()),
            b64url(&serde_json::to_vec(&claims).unwrap())
        );
        let sig = key
            .sign(&ring::rand::SystemRandom::new(), signing_input.as_bytes())
            .unwrap();
        let jwt = format!("{signing_input}.{}", b64url(sig.as_ref()));
        // Only `access_token` (OAuth 2 style): clients must accept it as well as `token`.
        resp(
            200,
            serde_json::to_vec(&serde_json::json!({"access_token": jwt, "expires_in": 300}))
                .unwrap(),
        )
        .header("Content-Type", "application/json")
    });
    serve(Some(server_tls(c)), handler)
}

// ------------------------------------------------------------------------------------------
// Tests against docker-registry.

fn htpasswd_auth(d: &Path) -> String {
    let out = Command::new(which("htpasswd").unwrap())
        .args(["-Bbn", "-C", "4", "alice", "s3cret"])
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(d.join("htpasswd"), &out.stdout).unwrap();
    format!(
        "auth:\n  htpasswd:\n    realm: mlguard-test\n    path: {}/htpasswd\n",
        d.display()
    )
}

#[test]
fn basic_auth_pull_equals_the_layout() {
    if !have(&["docker-registry", "skopeo", "htpasswd"]) {
        return;
    }
    let c = certs();
    let reg = start_registry(&c, &htpasswd_auth);
    let layout = tempfile::tempdir().unwrap();
    let desc = image(layout.path(), &ml_layers("basic"), ENV, "amd64");
    tag_layout(layout.path(), "1", desc);
    reg.push(layout.path(), "1", Some("alice:s3cret"));
    let want = read_oci_layout(layout.path()).unwrap();
    let image_ref = reg.image("1");

    // Anonymous: refused, saying what is missing.
    let e = read_registry(&image_ref, &opts(&reg), &())
        .unwrap_err()
        .to_string();
    assert!(e.contains(&image_ref), "{e}");
    assert!(e.contains("requires credentials (basic"), "{e}");
    // A wrong password: the registry's 401 (and the password is not in the message).
    let e = read_registry(&image_ref, &with_creds(&reg, "alice", "wrong-pw"), &())
        .unwrap_err()
        .to_string();
    assert!(e.contains("HTTP 401") && e.contains("UNAUTHORIZED"), "{e}");
    assert!(!e.contains("wrong-pw"), "{e}");
    // The registry's CA is needed: TLS is verified.
    let mut no_ca = with_creds(&reg, "alice", "s3cret");
    no_ca.ca_file = None;
    let e = read_registry(&image_ref, &no_ca, &())
        .unwrap_err()
        .to_string();
    assert!(e.contains("certificate"), "{e}");

    // With credentials: the same inventory as the layout, with progress over the layers.
    let progress = Counter::default();
    let got = read_registry(&image_ref, &with_creds(&reg, "alice", "s3cret"), &progress).unwrap();
    assert_same(&got, &want);
    let total: u64 = ml_layers("basic").iter().map(|l| l.len() as u64).sum();
    assert_eq!(*progress.total.lock().unwrap(), total);
    assert_eq!(*progress.seen.lock().unwrap(), total);

    // Credentials from a docker config file (`docker login`), found through DOCKER_CONFIG.
    use base64::Engine;
    let dc = tempfile::tempdir().unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
    let cfg = serde_json::json!({"auths": {
        "other.example.com": {"auth": base64::engine::general_purpose::STANDARD.encode("bob:x")},
        format!("https://127.0.0.1:{}", reg.port): {"auth": auth}}});
    std::fs::write(dc.path().join("config.json"), cfg.to_string()).unwrap();
    let dir = dc.path().display().to_string();
    let mut o = RegistryOptions::from_lookup(&|k| (k == "DOCKER_CONFIG").then(|| dir.clone()));
    assert_eq!(o.docker_config, Some(dc.path().join("config.json")));
    assert!(o.username.is_none());
    o.ca_file = Some(reg.path("ca.pem"));
    let got = read_registry(&image_ref, &o, &()).unwrap();
    assert_same(&got, &want);
    // The environment's user name and password win over the file.
    let mut o = RegistryOptions::from_lookup(&|k| match k {
        "DOCKER_CONFIG" => Some(dir.clone()),
        "MLGUARD_REGISTRY_USERNAME" => Some("alice".into()),
        "MLGUARD_REGISTRY_PASSWORD" => Some("nope".into()),
        _ => None,
    });
    o.ca_file = Some(reg.path("ca.pem"));
    let e = read_registry(&image_ref, &o, &()).unwrap_err().to_string();
    assert!(e.contains("HTTP 401"), "{e}");
    assert!(!format!("{o:?}").contains("nope"), "{o:?}");
}

#[test]
fn bearer_token_flow() {
    if !have(&["docker-registry", "skopeo"]) {
        return;
    }
    let c = certs();
    let log = Arc::new(Mutex::new(Vec::new()));
    let tport = token_server(&c, log.clone());
    let reg = start_registry(&c, &|d: &Path| {
        let bundle = d.join("token-ca.pem");
        std::fs::write(&bundle, &c.ca).unwrap();
        format!(
            "auth:\n  token:\n    realm: https://127.0.0.1:{tport}/token\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
            bundle.display()
        )
    });
    let layout = tempfile::tempdir().unwrap();
    let desc = image(layout.path(), &ml_layers("bearer"), ENV, "amd64");
    tag_layout(layout.path(), "1", desc);
    reg.push(layout.path(), "1", Some("alice:s3cret"));
    let want = read_oci_layout(layout.path()).unwrap();
    let image_ref = reg.image("1");

    log.lock().unwrap().clear();
    let got = read_registry(&image_ref, &with_creds(&reg, "alice", "s3cret"), &()).unwrap();
    assert_same(&got, &want);
    // One token, for pulling this repository, asked with the credentials; reused for the
    // config and the three layers.
    let seen = log.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![TokenRequest {
            user: Some("alice".into()),
            service: vec![SERVICE.into()],
            scopes: vec!["repository:ml/app:pull".into()],
        }],
    );

    // Anonymous: the token server refuses, and the error says so.
    log.lock().unwrap().clear();
    let e = read_registry(&image_ref, &opts(&reg), &())
        .unwrap_err()
        .to_string();
    assert!(e.contains(&image_ref), "{e}");
    assert!(e.contains("token server") && e.contains("anonymous"), "{e}");
    assert_eq!(log.lock().unwrap().len(), 1);
    assert_eq!(log.lock().unwrap()[0].user, None);
}

#[test]
fn by_digest_and_tampered_manifests() {
    if !have(&["docker-registry", "skopeo"]) {
        return;
    }
    let c = certs();
    let reg = start_registry(&c, &|_: &Path| String::new());
    let layout = tempfile::tempdir().unwrap();
    let desc = image(layout.path(), &ml_layers("digest"), ENV, "amd64");
    let digest = tag_layout(layout.path(), "1", desc);
    reg.push(layout.path(), "1", None);
    let want = read_oci_layout(layout.path()).unwrap();
    let repo = format!("127.0.0.1:{}/ml/app", reg.port);

    let got = read_registry(&format!("{repo}@{digest}"), &opts(&reg), &()).unwrap();
    assert_same(&got, &want);
    assert_eq!(got.digest.as_deref(), Some(digest.as_str()));
    // Tag and digest: the digest is what is pulled.
    let got = read_registry(&format!("{repo}:nosuchtag@{digest}"), &opts(&reg), &()).unwrap();
    assert_eq!(got.digest.as_deref(), Some(digest.as_str()));

    // A digest the registry does not have: its error code and message.
    let missing = format!("{repo}@sha256:{}", "0".repeat(64));
    let e = read_registry(&missing, &opts(&reg), &())
        .unwrap_err()
        .to_string();
    assert!(e.contains(&missing), "{e}");
    assert!(
        e.contains("HTTP 404") && e.contains("MANIFEST_UNKNOWN"),
        "{e}"
    );
    // A missing tag too.
    let e = read_registry(&format!("{repo}:2"), &opts(&reg), &())
        .unwrap_err()
        .to_string();
    assert!(e.contains("HTTP 404") && e.contains("manifest 2"), "{e}");

    // The stored manifest altered (still valid JSON): by digest, by tag, refused.
    let file = reg.blob_file(&digest);
    let mut m = std::fs::read(&file).unwrap();
    m.push(b'\n');
    std::fs::write(&file, &m).unwrap();
    let e = read_registry(&format!("{repo}@{digest}"), &opts(&reg), &())
        .unwrap_err()
        .to_string();
    assert!(e.contains("the image is not what it claims"), "{e}");
    let e = read_registry(&format!("{repo}:1"), &opts(&reg), &())
        .unwrap_err()
        .to_string();
    assert!(e.contains("the image is not what it claims"), "{e}");
}

#[test]
fn multi_platform_index_picks_the_platform() {
    if !have(&["docker-registry", "skopeo"]) {
        return;
    }
    let c = certs();
    let reg = start_registry(&c, &|_: &Path| String::new());
    let layout = tempfile::tempdir().unwrap();
    let root = layout.path();
    let arch_layer = |arch: &str| {
        gzip(&tar(&[(
            &format!("{SP}/only_{arch}-1.0.dist-info/METADATA"),
            format!("Name: only-{arch}\nVersion: 1.0\n").as_bytes(),
        )]))
    };
    let amd = image(
        root,
        &[arch_layer("amd64")],
        &["CUDA_VERSION=12.4.1"],
        "amd64",
    );
    let arm = image(root, &[arch_layer("arm64")], &[], "arm64");
    let index =
        serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [arm, amd]});
    let ib = serde_json::to_vec(&index).unwrap();
    let id = blob(root, &ib);
    tag_layout(
        root,
        "multi",
        serde_json::json!({"mediaType": OCI_INDEX, "digest": id, "size": ib.len()}),
    );
    reg.push(root, "multi", None);
    let image_ref = reg.image("multi");

    let got = read_registry(&image_ref, &opts(&reg), &()).unwrap();
    assert_eq!(
        names(&got),
        vec![
            ("cuda".to_string(), "12.4.1".to_string()),
            ("only-amd64".to_string(), "1.0".to_string())
        ]
    );
    assert_eq!(
        got.digest.as_deref(),
        Some(id.as_str()),
        "the index's digest"
    );
    let mut o = opts(&reg);
    o.platform = ("linux".into(), "arm64".into());
    let got = read_registry(&image_ref, &o, &()).unwrap();
    assert_eq!(
        names(&got),
        vec![("only-arm64".to_string(), "1.0".to_string())]
    );
    o.platform = ("linux".into(), "s390x".into());
    let e = read_registry(&image_ref, &o, &()).unwrap_err().to_string();
    assert!(
        e.contains("no linux/s390x image") && e.contains("linux/arm64, linux/amd64"),
        "{e}"
    );
}

#[test]
fn corrupted_blobs_in_the_registry_are_refused() {
    if !have(&["docker-registry", "skopeo"]) {
        return;
    }
    let c = certs();
    let reg = start_registry(&c, &|_: &Path| String::new());
    let layout = tempfile::tempdir().unwrap();
    let raw = tar(&[(
        "var/lib/dpkg/status",
        b"Package: corrupt-me\nStatus: install ok installed\nVersion: 1\n",
    )]);
    // Stored without compression, so that the same tar compressed for real is smaller than the
    // size the manifest gives.
    let layer = gzip_with(&raw, flate2::Compression::none());
    let desc = image(layout.path(), std::slice::from_ref(&layer), &[], "amd64");
    tag_layout(layout.path(), "1", desc);
    reg.push(layout.path(), "1", None);
    let image_ref = reg.image("1");
    let got = read_registry(&image_ref, &opts(&reg), &()).unwrap();
    assert_eq!(names(&got), vec![("corrupt-me".into(), "1".into())]);

    // The config altered (still JSON).
    let manifest: serde_json::Value = {
        let idx: serde_json::Value =
            serde_json::from_slice(&std::fs::read(layout.path().join("index.json")).unwrap())
                .unwrap();
        let d = idx["manifests"][0]["digest"].as_str().unwrap().to_string();
        serde_json::from_slice(&std::fs::read(reg.blob_file(&d)).unwrap()).unwrap()
    };
    let config_file = reg.blob_file(manifest["config"]["digest"].as_str().unwrap());
    let config = std::fs::read(&config_file).unwrap();
    let mut altered = config.clone();
    altered.push(b' ');
    std::fs::write(&config_file, &altered).unwrap();
    let e = read_registry(&image_ref, &opts(&reg), &())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("config sha256:") && e.contains("not what it claims"),
        "{e}"
    );
    std::fs::write(&config_file, &config).unwrap();

    // The layer replaced by another valid gzip of the same tar: the digest check catches it.
    let other = gzip_with(&raw, flate2::Compression::best());
    assert!(other.len() < layer.len());
    let d = format!("sha256:{}", sha256(&layer));
    std::fs::write(reg.blob_file(&d), &other).unwrap();
    let e = read_registry(&image_ref, &opts(&reg), &())
        .unwrap_err()
        .to_string();
    assert!(e.contains(&image_ref), "{e}");
    assert!(e.contains("does not match"), "{e}");
}

// ------------------------------------------------------------------------------------------
// Fakes: redirects, plain http, get_url.

#[test]
fn blob_redirects_do_not_carry_credentials() {
    // Blob storage on another port (another origin) that records the Authorization it got.
    let storage_auth: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let layer = gzip(&tar(&[(
        "var/lib/dpkg/status",
        b"Package: redirected\nStatus: install ok installed\nVersion: 2\n",
    )]));
    let config = br#"{"config": {"Env": ["A=1"]}}"#.to_vec();
    let (ld, cd) = (
        format!("sha256:{}", sha256(&layer)),
        format!("sha256:{}", sha256(&config)),
    );
    let storage = {
        let (seen, layer) = (storage_auth.clone(), layer.clone());
        serve(
            None,
            Arc::new(move |req: &Req| {
                seen.lock()
                    .unwrap()
                    .push(req.header("authorization").map(str::to_string));
                match req.route() {
                    "/bucket/layer" => resp(200, layer.clone()),
                    // More bytes than the descriptor says.
                    "/bucket/long" => resp(200, [layer.clone(), vec![0; 4096]].concat()),
                    _ => resp(404, "no such object"),
                }
            }),
        )
    };
    let manifest = |layer_digest: &str, size: usize| {
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": cd, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer_digest, "size": size}]}))
        .unwrap()
    };
    let good = manifest(&ld, layer.len());
    // A "long" layer: another digest, so that the registry redirects it elsewhere.
    let long_digest = format!("sha256:{}", "1".repeat(64));
    let long = manifest(&long_digest, layer.len());
    let registry_auth: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let seen = registry_auth.clone();
    let port = serve(
        None,
        Arc::new(move |req: &Req| {
            let auth = req.header("authorization").map(str::to_string);
            seen.lock().unwrap().push(auth.clone());
            if auth.as_deref() != Some("Basic YWxpY2U6czNjcmV0") {
                return resp(401, r#"{"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}"#)
                    .header("WWW-Authenticate", r#"Basic realm="fake registry""#);
            }
            let r = req.route();
            if r == "/v2/ml/app/manifests/1" {
                resp(200, good.clone()).header(
                    "Content-Type",
                    "application/vnd.docker.distribution.manifest.v2+json",
                )
            } else if r == "/v2/ml/app/manifests/long" {
                resp(200, long.clone())
            } else if r == format!("/v2/ml/app/blobs/{cd}") {
                resp(200, config.clone())
            } else if r == format!("/v2/ml/app/blobs/{ld}") {
                resp(307, "").header(
                    "Location",
                    &format!("http://127.0.0.1:{storage}/bucket/layer?X-Amz-Signature=abc"),
                )
            } else if r == format!("/v2/ml/app/blobs/{long_digest}") {
                resp(302, "").header(
                    "Location",
                    &format!("http://127.0.0.1:{storage}/bucket/long"),
                )
            } else {
                resp(
                    404,
                    r#"{"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown"}]}"#,
                )
            }
        }),
    );
    let mut o = RegistryOptions::default();
    o.plain_http = true;
    o.username = Some("alice".into());
    o.password = Some(Password::new("s3cret"));
    let got = read_registry(&format!("127.0.0.1:{port}/ml/app:1"), &o, &()).unwrap();
    assert_eq!(names(&got), vec![("redirected".into(), "2".into())]);
    assert_eq!(got.env, vec!["A=1".to_string()]);
    assert_eq!(
        *storage_auth.lock().unwrap(),
        vec![None],
        "no credentials to the storage"
    );
    let reg = registry_auth.lock().unwrap().clone();
    assert_eq!(reg[0], None, "the first request is anonymous");
    assert!(
        reg[1..]
            .iter()
            .all(|a| a.as_deref() == Some("Basic YWxpY2U6czNjcmV0")),
        "then Basic on every request: {reg:?}"
    );
    assert_eq!(
        reg.len(),
        4,
        "one challenge, then manifest, config, layer: {reg:?}"
    );

    // A blob longer than its descriptor: refused while it streams.
    let e = read_registry(&format!("127.0.0.1:{port}/ml/app:long"), &o, &())
        .unwrap_err()
        .to_string();
    assert!(e.contains("more than the"), "{e}");
    assert!(!e.contains("s3cret"), "{e}");
}

/// Opens a gate once `at` bytes of layers went through.
struct OpensGate {
    seen: Mutex<u64>,
    at: u64,
    gate: Gate,
}

impl Progress for OpensGate {
    fn advance(&self, bytes: u64) {
        let mut seen = self.seen.lock().unwrap();
        *seen += bytes;
        if *seen >= self.at {
            *self.gate.0.lock().unwrap() = true;
            self.gate.1.notify_all();
        }
    }
}

#[test]
fn layers_are_read_while_they_download() {
    // A 6 MiB layer whose second half the server only sends once the first 2 MiB have reached
    // the layer reader: a client that buffered whole blobs would never get it.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..6 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let raw = tar(&[
        (
            "var/lib/dpkg/status",
            b"Package: streamed\nStatus: install ok installed\nVersion: 3\n",
        ),
        ("data/noise.bin", &noise),
    ]);
    let layer = gzip_with(&raw, flate2::Compression::none());
    let config = br#"{"config": {}}"#.to_vec();
    let (ld, cd) = (
        format!("sha256:{}", sha256(&layer)),
        format!("sha256:{}", sha256(&config)),
    );
    let manifest = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
        "layers": [{"mediaType": GZIP_LAYER, "digest": ld, "size": layer.len()}]}))
    .unwrap();
    let gate: Gate = Arc::default();
    let g = gate.clone();
    let len = layer.len();
    let port = serve(
        None,
        Arc::new(move |req: &Req| {
            let r = req.route();
            if r == "/v2/ml/app/manifests/1" {
                resp(200, manifest.clone())
            } else if r == format!("/v2/ml/app/blobs/{cd}") {
                resp(200, config.clone())
            } else if r == format!("/v2/ml/app/blobs/{ld}") {
                let mut res = resp(200, layer.clone());
                res.pause = Some((len / 2, g.clone()));
                res
            } else {
                resp(404, "")
            }
        }),
    );
    let mut o = RegistryOptions::default();
    o.plain_http = true;
    let progress = OpensGate {
        seen: Mutex::new(0),
        at: 2 << 20,
        gate,
    };
    let got = read_registry(&format!("127.0.0.1:{port}/ml/app:1"), &o, &progress).unwrap();
    assert_eq!(names(&got), vec![("streamed".into(), "3".into())]);
    assert_eq!(*progress.seen.lock().unwrap(), len as u64);
}

#[test]
fn plain_http_only_to_loopback_and_references() {
    let mut o = RegistryOptions::default();
    o.plain_http = true;
    let e = read_registry("registry.example.com/ml/app:1", &o, &())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("registry.example.com/ml/app:1") && e.contains("plain http"),
        "{e}"
    );
    assert!(e.contains("loopback"), "{e}");
    o.plain_http = false;
    o.username = Some("u".into());
    let e = read_registry("registry.example.com/ml/app:1", &o, &())
        .unwrap_err()
        .to_string();
    assert!(e.contains("without a password"), "{e}");
    o.password = Some(Password::new("hunter2"));
    assert!(!format!("{o:?}").contains("hunter2"));
    assert_eq!(format!("{:?}", Password::new("hunter2")), "<redacted>");

    // Docker's defaults.
    let r = parse_reference("ubuntu").unwrap();
    assert_eq!(
        (r.registry.as_str(), r.api_host(), r.repository.as_str()),
        ("docker.io", "registry-1.docker.io", "library/ubuntu")
    );
    assert_eq!(r.manifest_reference(), "latest");
    assert_eq!(r.to_string(), "docker.io/library/ubuntu:latest");
    let r = parse_reference("pytorch/pytorch:2.2.0-cuda12.1-cudnn8-runtime").unwrap();
    assert_eq!(r.repository, "pytorch/pytorch");
    assert_eq!(r.tag.as_deref(), Some("2.2.0-cuda12.1-cudnn8-runtime"));
    let d = format!("sha256:{}", "ab".repeat(32));
    let r = parse_reference(&format!("localhost:5000/a/b/c:v1@{d}")).unwrap();
    assert_eq!(
        (r.registry.as_str(), r.repository.as_str()),
        ("localhost:5000", "a/b/c")
    );
    assert_eq!(r.manifest_reference(), d);
    let r = parse_reference("nvcr.io/nvidia/pytorch:24.01-py3").unwrap();
    assert_eq!(
        (r.api_host(), r.repository.as_str()),
        ("nvcr.io", "nvidia/pytorch")
    );
    let r = parse_reference("[::1]:5000/x").unwrap();
    assert_eq!(r.registry, "[::1]:5000");
    let r = parse_reference("docker.io/library/python:3.12").unwrap();
    assert_eq!(r.repository, "library/python");
    for bad in [
        "",
        "UPPER/case",
        "a/b@sha256:123",
        "a/b@md5:00",
        "https://host/x",
        "host:99999/x",
        "x:",
        "x:-bad",
        "a//b",
    ] {
        assert!(parse_reference(bad).is_err(), "{bad:?} parsed");
    }
}

#[test]
fn get_url_over_https() {
    let c = certs();
    let port = serve(
        Some(server_tls(&c)),
        Arc::new(|req: &Req| match req.route() {
            "/db.json" => resp(200, r#"{"ok": true}"#),
            "/old" => resp(301, "").header("Location", "/db.json"),
            "/loop" => resp(302, "").header("Location", "/loop"),
            "/insecure" => resp(302, "").header("Location", "http://example.com/db.json"),
            _ => resp(404, "nothing here"),
        }),
    );
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &c.ca).unwrap();
    let base = format!("https://127.0.0.1:{port}");
    let ok = get_url(&format!("{base}/db.json"), Some(&ca)).unwrap();
    assert_eq!(ok, br#"{"ok": true}"#);
    let ok = get_url(&format!("{base}/old"), Some(&ca)).unwrap();
    assert_eq!(ok, br#"{"ok": true}"#);
    let e = get_url(&format!("{base}/missing"), Some(&ca)).unwrap_err();
    assert!(e.contains("HTTP 404") && e.contains("nothing here"), "{e}");
    let e = get_url(&format!("{base}/loop"), Some(&ca)).unwrap_err();
    assert!(e.contains("more than 5 redirects"), "{e}");
    let e = get_url(&format!("{base}/insecure"), Some(&ca)).unwrap_err();
    assert!(e.contains("plain http is refused"), "{e}");
    // Without the CA: the certificate is not trusted.
    let e = get_url(&format!("{base}/db.json"), None).unwrap_err();
    assert!(e.contains("certificate"), "{e}");
    // Plain http only to loopback; other schemes never.
    let e = get_url("http://example.com/db.json", None).unwrap_err();
    assert!(e.contains("plain http is refused"), "{e}");
    assert!(get_url("ftp://example.com/db.json", None).is_err());
    let e = get_url(
        &format!("{base}/db.json"),
        Some(&dir.path().join("nope.pem")),
    )
    .unwrap_err();
    assert!(e.contains("CA file"), "{e}");
}
