//! Pulling an image's manifest, config and layers from a registry over the OCI distribution
//! API, streamed into the inventory of [`crate::image`].
//!
//! Owns: image references ([`parse_reference`], docker's defaults for Docker Hub), the
//! registry's HTTP exchanges (`http`: hyper + rustls, TLS verified against the system's roots
//! and an optional CA file, plain http only to loopback hosts, redirects followed without
//! carrying credentials to another host), registry authentication (`auth`: Basic, and Bearer
//! tokens from the token server a `401` names, with credentials from [`RegistryOptions`] or the
//! docker config file), manifest resolution (an index or manifest list narrowed to one platform,
//! digests checked: the manifest's against the reference's digest and the
//! `Docker-Content-Digest` header, the config's against its descriptor), and [`get_url`], a plain
//! HTTPS download for other parts of mlguard.
//!
//! Layers are never stored: each blob streams from the network through the digest check,
//! decompression and tar reading of [`crate::image`] (`read_layers`), with a bounded number of
//! chunks in memory.
//!
//! Must not touch: terminal output and exit codes (the `mlguard` binary shows progress and
//! errors), and credentials in any message: passwords and tokens are never printed, logged or
//! shown by `Debug`, and URLs in errors lose their query (presigned blob URLs carry signatures).

mod auth;
mod http;
mod reference;

pub use auth::Password;
pub use http::get_url;
pub use reference::{parse_reference, Reference};

use crate::image::{self, ImageError, ImageInventory, Progress};
use auth::Credentials;
use hyper::header::{HeaderName, HeaderValue};
use hyper::Uri;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Mutex;

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// Largest manifest or index accepted.
const MAX_MANIFEST: u64 = 4 << 20;
/// Largest image config accepted.
const MAX_CONFIG: u64 = 16 << 20;

/// How to reach a registry.
#[derive(Clone)]
#[non_exhaustive]
pub struct RegistryOptions {
    /// User name for the registry (with `password`); without it, the docker config file's
    /// credentials for the registry are used, else the pull is anonymous.
    pub username: Option<String>,
    pub password: Option<Password>,
    /// A CA certificate file (PEM) trusted besides the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Talk plain http instead of https: only allowed to a loopback host.
    pub plain_http: bool,
    /// The platform picked from a multi-platform image: (os, architecture), the architecture
    /// possibly with a variant (`arm64/v8`). Default `linux`, `amd64`.
    pub platform: (String, String),
    /// A docker client configuration file (`auths`) to take credentials from.
    pub docker_config: Option<PathBuf>,
}

impl std::fmt::Debug for RegistryOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryOptions")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ca_file", &self.ca_file)
            .field("plain_http", &self.plain_http)
            .field("platform", &self.platform)
            .field("docker_config", &self.docker_config)
            .finish()
    }
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            username: None,
            password: None,
            ca_file: None,
            plain_http: false,
            platform: ("linux".into(), "amd64".into()),
            docker_config: None,
        }
    }
}

impl RegistryOptions {
    /// Credentials from the environment: `MLGUARD_REGISTRY_USERNAME` and
    /// `MLGUARD_REGISTRY_PASSWORD`, and the docker config file `$DOCKER_CONFIG/config.json`
    /// (else `~/.docker/config.json`) for registries they do not cover.
    pub fn from_env() -> Self {
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    /// [`RegistryOptions::from_env`] with the variables from `lookup` (tests, embedders).
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| lookup(k).filter(|v| !v.is_empty());
        RegistryOptions {
            username: get("MLGUARD_REGISTRY_USERNAME"),
            password: get("MLGUARD_REGISTRY_PASSWORD").map(Password::new),
            docker_config: auth::default_docker_config(lookup),
            ..RegistryOptions::default()
        }
    }
}

/// Pull `reference` (`host[:port]/repo:tag`, `...@sha256:...`) and read its packages: the
/// manifest (one platform of an index, `opts.platform`, else the only one), the config's
/// environment, and the layers, streamed and checked against their digests. `inv.digest` is the
/// digest the reference resolves to (the index's, for a multi-platform image), as for OCI
/// layouts.
pub fn read_registry(
    reference: &str,
    opts: &RegistryOptions,
    progress: &dyn Progress,
) -> Result<ImageInventory, ImageError> {
    let fail = |why: String| ImageError::Format {
        path: reference.to_string(),
        why,
    };
    let r = parse_reference(reference)?;
    let reg = Registry::new(&r, reference, opts).map_err(fail)?;
    let top = reg.manifest(r.manifest_reference(), r.digest.as_deref())?;
    let top_digest = top.digest.clone();
    let mut m = top;
    for _ in 0..2 {
        if !m.is_index() {
            break;
        }
        let d = pick_platform(&m.json, &opts.platform).map_err(&fail)?;
        m = reg.manifest(&d, Some(&d))?;
    }
    if m.is_index() {
        return Err(fail("indexes nested more than two deep".into()));
    }
    if m.json["schemaVersion"] == 1 {
        return Err(fail(
            "a schema 1 manifest (deprecated by Docker): push the image again with a current client"
                .into(),
        ));
    }
    if !(m.media_type == OCI_MANIFEST || m.media_type == DOCKER_MANIFEST) {
        return Err(fail(format!(
            "manifest {}: media type {:?} is not an image manifest",
            m.digest, m.media_type
        )));
    }
    let config_digest = m.json["config"]["digest"].as_str().unwrap_or("");
    if !reference::is_sha256_digest(config_digest) {
        return Err(fail(format!(
            "manifest {}: config digest {config_digest:?} is not a sha256 digest",
            m.digest
        )));
    }
    let config = reg.config(config_digest)?;
    let descs = m.json["layers"]
        .as_array()
        .ok_or_else(|| fail(format!("manifest {}: no layers", m.digest)))?;
    let mut layers = Vec::new();
    let mut sizes = BTreeMap::new();
    for (i, l) in descs.iter().enumerate() {
        let d = l["digest"].as_str().unwrap_or("");
        if !reference::is_sha256_digest(d) {
            return Err(fail(format!(
                "manifest {}: layers[{i}].digest {d:?} is not a sha256 digest",
                m.digest
            )));
        }
        let size = l["size"]
            .as_u64()
            .ok_or_else(|| fail(format!("manifest {}: layers[{i}] has no size", m.digest)))?;
        sizes.insert(d.to_string(), size);
        layers.push((d.to_string(), Some(d.to_string())));
    }
    let store = Blobs { reg: &reg, sizes };
    let mut inv = image::read_layers(&store, &layers, image::env_of(&config), progress)?;
    inv.digest = Some(top_digest);
    Ok(inv)
}

/// The digest of the index entry for `platform`, else of its only image.
fn pick_platform(index: &serde_json::Value, platform: &(String, String)) -> Result<String, String> {
    let list = index["manifests"].as_array().cloned().unwrap_or_default();
    let (os, arch_variant) = platform;
    let (arch, variant) = match arch_variant.split_once('/') {
        Some((a, v)) => (a, Some(v)),
        None => (arch_variant.as_str(), None),
    };
    let name = |m: &serde_json::Value| {
        let p = &m["platform"];
        let mut s = format!(
            "{}/{}",
            p["os"].as_str().unwrap_or("?"),
            p["architecture"].as_str().unwrap_or("?")
        );
        if let Some(v) = p["variant"].as_str() {
            s.push('/');
            s.push_str(v);
        }
        s
    };
    // Attestations and signatures ride in indexes as unknown/unknown.
    let images: Vec<&serde_json::Value> = list
        .iter()
        .filter(|m| m["platform"]["os"] != "unknown" && m["platform"]["architecture"] != "unknown")
        .collect();
    let found = images
        .iter()
        .find(|m| {
            m["platform"]["os"] == os.as_str()
                && m["platform"]["architecture"] == arch
                && variant.is_none_or(|v| m["platform"]["variant"] == v)
        })
        .or(if images.len() == 1 {
            images.first()
        } else {
            None
        });
    let m = found.ok_or_else(|| {
        let have: Vec<String> = images.iter().map(|m| name(m)).collect();
        if have.is_empty() {
            "the index lists no image".to_string()
        } else {
            format!(
                "no {os}/{arch_variant} image in the index: it has {} (choose one with the platform option)",
                have.join(", ")
            )
        }
    })?;
    let d = m["digest"].as_str().unwrap_or("");
    if !reference::is_sha256_digest(d) {
        return Err(format!(
            "index entry {}: digest {d:?} is not a sha256 digest",
            name(m)
        ));
    }
    Ok(d.to_string())
}

fn sha256(b: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, b);
    let hex: String = d.as_ref().iter().map(|x| format!("{x:02x}")).collect();
    format!("sha256:{hex}")
}

/// A manifest or index as fetched.
struct Manifest {
    digest: String,
    media_type: String,
    json: serde_json::Value,
}

impl Manifest {
    fn is_index(&self) -> bool {
        self.media_type == OCI_INDEX || self.media_type == DOCKER_LIST
    }
}

/// One repository of one registry, with the authorization that works for it.
struct Registry {
    client: http::Client,
    /// `scheme://host:port`.
    base: String,
    repository: String,
    /// The reference as given, for messages.
    label: String,
    creds: Option<Credentials>,
    /// Where the credentials came from (for hints).
    creds_from: &'static str,
    /// The `Authorization` value that worked last (basic credentials or a bearer token).
    auth: Mutex<Option<HeaderValue>>,
}

impl Registry {
    fn new(r: &Reference, label: &str, opts: &RegistryOptions) -> Result<Registry, String> {
        let host = r.host_name();
        if opts.plain_http && !http::is_loopback_host(host) {
            return Err(format!(
                "plain http to {host} is refused: it would send credentials and images in clear (plain http is only allowed to a loopback address)"
            ));
        }
        let (creds, creds_from) = match (&opts.username, &opts.password) {
            (Some(u), Some(p)) => (
                Some(Credentials {
                    user: u.clone(),
                    password: p.clone(),
                }),
                "the given user name and password",
            ),
            (Some(_), None) => return Err("a registry user name without a password".into()),
            (None, Some(_)) => return Err("a registry password without a user name".into()),
            (None, None) => match &opts.docker_config {
                Some(path) => match auth::docker_config_credentials(path, &r.registry)? {
                    Some(c) => (Some(c), "the docker config file"),
                    None => (None, ""),
                },
                None => (None, ""),
            },
        };
        let client = http::Client::new(opts.ca_file.as_deref())?;
        Ok(Registry {
            client,
            base: format!(
                "{}://{}",
                if opts.plain_http { "http" } else { "https" },
                r.api_host()
            ),
            repository: r.repository.clone(),
            label: label.to_string(),
            creds,
            creds_from,
            auth: Mutex::new(None),
        })
    }

    fn fail(&self, why: String) -> ImageError {
        ImageError::Format {
            path: self.label.clone(),
            why,
        }
    }

    fn current_auth(&self) -> Option<HeaderValue> {
        self.auth.lock().map(|a| a.clone()).unwrap_or(None)
    }

    /// GET `/v2/<repository>/<path>`, answering one `401` challenge; any status but 2xx is an
    /// error naming `what`.
    fn get(
        &self,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        what: &str,
    ) -> Result<http::Response, ImageError> {
        let url = format!("{}/v2/{}/{path}", self.base, self.repository);
        let uri: Uri = url
            .parse()
            .map_err(|e| self.fail(format!("{what}: bad URL {url:?}: {e}")))?;
        let mut answered = false;
        loop {
            let auth = self.current_auth();
            let resp = http::follow(&self.client, &uri, headers, auth.as_ref())
                .map_err(|e| self.fail(format!("{what}: {e}")))?;
            if resp.status == 401 && !answered && http::origin(&resp.url) == http::origin(&uri) {
                answered = true;
                self.authenticate(&resp, what)?;
                continue;
            }
            if (200..300).contains(&resp.status) {
                return Ok(resp);
            }
            return Err(self.status_error(resp, what, auth.is_some()));
        }
    }

    /// Answer a `401`: basic credentials, or a bearer token from the named token server.
    fn authenticate(&self, resp: &http::Response, what: &str) -> Result<(), ImageError> {
        let challenges: Vec<auth::Challenge> = resp
            .headers
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(auth::parse_challenges)
            .collect();
        let need_creds = |scheme: &str| {
            self.fail(format!(
                "{what}: the registry requires credentials ({scheme} authentication, HTTP 401): set MLGUARD_REGISTRY_USERNAME and MLGUARD_REGISTRY_PASSWORD, or log in with docker login"
            ))
        };
        let value = if let Some(c) = challenges.iter().find(|c| c.scheme == "bearer") {
            let scope = format!("repository:{}:pull", self.repository);
            auth::fetch_token(&self.client, c, &scope, self.creds.as_ref())
                .map_err(|e| self.fail(format!("{what}: getting a bearer token: {e}")))?
        } else if challenges.iter().any(|c| c.scheme == "basic") {
            let creds = self.creds.as_ref().ok_or_else(|| need_creds("basic"))?;
            creds
                .basic()
                .map_err(|e| self.fail(format!("{what}: {e}")))?
        } else {
            let got: Vec<&str> = challenges.iter().map(|c| c.scheme.as_str()).collect();
            return Err(self.fail(format!(
                "{what}: HTTP 401 without a Basic or Bearer challenge (got: {})",
                if got.is_empty() {
                    "none".to_string()
                } else {
                    got.join(", ")
                }
            )));
        };
        if let Ok(mut a) = self.auth.lock() {
            *a = Some(value);
        }
        Ok(())
    }

    /// The error for a non-2xx answer: status and the registry's `errors[0]` code and message.
    fn status_error(&self, resp: http::Response, what: &str, authorized: bool) -> ImageError {
        let status = resp.status;
        let text = resp.snippet();
        let detail = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|j| {
                let e = j["errors"].get(0)?.clone();
                let code = e["code"].as_str().unwrap_or("");
                let msg = e["message"].as_str().unwrap_or("");
                Some(
                    [code, msg]
                        .iter()
                        .filter(|s| !s.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(": "),
                )
            })
            .unwrap_or(text);
        let hint = match status {
            401 | 403 if authorized && self.creds.is_some() => {
                format!(" (with credentials from {})", self.creds_from)
            }
            401 | 403 => " (no credentials were given)".to_string(),
            _ => String::new(),
        };
        self.fail(format!(
            "{what}: HTTP {status}{}{hint}",
            if detail.is_empty() {
                String::new()
            } else {
                format!(": {detail}")
            }
        ))
    }

    /// A manifest or index by tag or digest; its digest checked against `want` and the
    /// registry's `Docker-Content-Digest`.
    fn manifest(&self, reference: &str, want: Option<&str>) -> Result<Manifest, ImageError> {
        let what = format!("manifest {reference}");
        let accept = HeaderValue::from_static(
            "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json",
        );
        let resp = self.get(
            &format!("manifests/{reference}"),
            &[(hyper::header::ACCEPT, accept)],
            &what,
        )?;
        let content_type = resp
            .header("content-type")
            .map(|c| c.split(';').next().unwrap_or("").trim().to_string())
            .unwrap_or_default();
        let said = resp.header("docker-content-digest").map(str::to_string);
        let bytes = resp
            .bytes(MAX_MANIFEST)
            .map_err(|e| self.fail(format!("{what}: {e}")))?;
        let digest = sha256(&bytes);
        if let Some(w) = want {
            if w != digest {
                return Err(self.fail(format!(
                    "{what}: the image is not what it claims: the manifest's bytes have digest {digest}"
                )));
            }
        }
        if let Some(s) = said.filter(|s| s.trim() != digest) {
            return Err(self.fail(format!(
                "{what}: the image is not what it claims: the registry says digest {}, the manifest's bytes have {digest}",
                s.trim()
            )));
        }
        let json: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| self.fail(format!("{what}: not JSON: {e}")))?;
        let media_type = match json["mediaType"].as_str() {
            Some(m) => m.to_string(),
            None if !content_type.is_empty() && content_type != "application/json" => content_type,
            None if json.get("manifests").is_some() => OCI_INDEX.to_string(),
            None => OCI_MANIFEST.to_string(),
        };
        Ok(Manifest {
            digest,
            media_type,
            json,
        })
    }

    /// The image config blob, checked against its digest.
    fn config(&self, digest: &str) -> Result<serde_json::Value, ImageError> {
        let what = format!("config {digest}");
        let resp = self.get(&format!("blobs/{digest}"), &[], &what)?;
        let bytes = resp
            .bytes(MAX_CONFIG)
            .map_err(|e| self.fail(format!("{what}: {e}")))?;
        let got = sha256(&bytes);
        if got != digest {
            return Err(self.fail(format!(
                "{what}: the image is not what it claims: the config's bytes have digest {got}"
            )));
        }
        serde_json::from_slice(&bytes).map_err(|e| self.fail(format!("{what}: not JSON: {e}")))
    }
}

/// The layer blobs of one image, streamed from the registry.
struct Blobs<'a> {
    reg: &'a Registry,
    /// Descriptor sizes by digest.
    sizes: BTreeMap<String, u64>,
}

impl image::Store for Blobs<'_> {
    fn label(&self, name: &str) -> PathBuf {
        PathBuf::from(format!("{} {name}", self.reg.label))
    }

    fn open(&self, name: &str) -> Result<Box<dyn Read + '_>, ImageError> {
        let what = format!("layer {name}");
        let resp = self.reg.get(&format!("blobs/{name}"), &[], &what)?;
        let body = match self.sizes.get(name) {
            Some(&n) => resp.body.limit(n),
            None => resp.body,
        };
        Ok(Box::new(body))
    }

    fn has(&self, name: &str) -> bool {
        self.sizes.contains_key(name)
    }

    fn size(&self, name: &str) -> Option<u64> {
        self.sizes.get(name).copied()
    }
}
