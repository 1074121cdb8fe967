//! A minimal Vault-Transit-compatible server: named keys with versions (AES-256-GCM, ciphertext
//! `vault:vN:base64(nonce || ciphertext || tag)`), the datakey/plaintext, encrypt, decrypt and
//! rewrap endpoints, key creation and rotation, X-Vault-Token checking and Kubernetes auth
//! (`/v1/auth/kubernetes/login` accepting a configured JWT for a role). Answers like Vault:
//! `{"data":{...}}`, errors `{"errors":[...]}` with 400 or 403. Plain http on loopback.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Inner {
    /// "mount/name" -> key versions (index 0 = v1).
    keys: Mutex<HashMap<String, Vec<[u8; 32]>>>,
    tokens: Mutex<HashSet<String>>,
    /// role -> accepted JWT.
    roles: Mutex<HashMap<String, String>>,
    logins: AtomicUsize,
    /// Requests per operation ("encrypt", "decrypt", ...).
    calls: Mutex<HashMap<String, usize>>,
}

/// A running server.
#[derive(Clone)]
pub struct Transit {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn unb64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    SystemRandom::new().fill(&mut b).unwrap();
    b
}

fn err(status: StatusCode, msg: &str) -> Response {
    (status, Json(json!({ "errors": [msg] }))).into_response()
}

fn ok(data: Value) -> Response {
    (
        StatusCode::OK,
        Json(json!({ "request_id": "test", "data": data })),
    )
        .into_response()
}

impl Transit {
    /// On plain http.
    pub fn start() -> Transit {
        Self::start_with(None)
    }

    /// Over TLS with `certs`.
    pub fn start_tls(certs: &super::tls::Certs) -> Transit {
        Self::start_with(Some(certs))
    }

    fn start_with(certs: Option<&super::tls::Certs>) -> Transit {
        let inner = Arc::new(Inner::default());
        let router = Router::new()
            .route("/v1/{*path}", post(handle))
            .with_state(inner.clone());
        let addr = match certs {
            Some(c) => super::tls::serve_tls(router, c),
            None => super::serve(router),
        };
        Transit { addr, inner }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// A URI for key `mount/keys/name` (plain http on loopback).
    pub fn uri(&self, mount: &str, name: &str) -> String {
        format!("vault://{}/{mount}/keys/{name}?tls=false", self.host())
    }

    pub fn add_token(&self, token: &str) {
        self.inner.tokens.lock().unwrap().insert(token.to_owned());
    }

    pub fn create_key(&self, mount: &str, name: &str) {
        self.inner
            .keys
            .lock()
            .unwrap()
            .entry(format!("{mount}/{name}"))
            .or_insert_with(|| vec![random()]);
    }

    /// Accept `jwt` for Kubernetes auth `role`.
    pub fn k8s_role(&self, role: &str, jwt: &str) {
        self.inner
            .roles
            .lock()
            .unwrap()
            .insert(role.to_owned(), jwt.to_owned());
    }

    pub fn logins(&self) -> usize {
        self.inner.logins.load(Ordering::SeqCst)
    }

    pub fn calls(&self, op: &str) -> usize {
        *self.inner.calls.lock().unwrap().get(op).unwrap_or(&0)
    }

    /// Forget every token (as if they expired); logins still work.
    pub fn revoke_all_tokens(&self) {
        self.inner.tokens.lock().unwrap().clear();
    }
}

fn seal(key: &[u8; 32], version: usize, plaintext: &[u8]) -> String {
    let nonce = random::<12>();
    let mut buf = plaintext.to_vec();
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).unwrap())
        .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
        .unwrap();
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    format!("vault:v{version}:{}", b64(&out))
}

/// Decrypt a Vault ciphertext; the error is the message Vault gives (with 400).
fn open(versions: &[[u8; 32]], ciphertext: &str) -> Result<Vec<u8>, String> {
    let bad = |m: &str| m.to_owned();
    let rest = ciphertext
        .strip_prefix("vault:v")
        .ok_or_else(|| bad("invalid ciphertext: no prefix"))?;
    let (v, data) = rest
        .split_once(':')
        .ok_or_else(|| bad("invalid ciphertext: wrong number of fields"))?;
    let v: usize = v
        .parse()
        .map_err(|_| bad("invalid ciphertext: invalid version"))?;
    let key = versions
        .get(v.wrapping_sub(1))
        .ok_or_else(|| bad("invalid ciphertext: key version not found"))?;
    let raw = unb64(data).ok_or_else(|| bad("invalid ciphertext: could not decode ciphertext"))?;
    if raw.len() < 12 + 16 {
        return Err(bad("invalid ciphertext: too short"));
    }
    let (nonce, ct) = raw.split_at(12);
    let mut buf = ct.to_vec();
    let n = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).unwrap())
        .open_in_place(
            Nonce::try_assume_unique_for_key(nonce).unwrap(),
            Aad::empty(),
            &mut buf,
        )
        .map_err(|_| bad("1 error occurred:\n\t* cipher: message authentication failed\n\n"))?
        .len();
    buf.truncate(n);
    Ok(buf)
}

async fn handle(
    State(st): State<Arc<Inner>>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return err(StatusCode::BAD_REQUEST, "failed to parse JSON input"),
        }
    };
    if let Some(mount) = path
        .strip_prefix("auth/")
        .and_then(|p| p.strip_suffix("/login"))
    {
        if mount != "kubernetes" {
            return err(StatusCode::NOT_FOUND, "no handler for route");
        }
        let role = req["role"].as_str().unwrap_or_default();
        let jwt = req["jwt"].as_str().unwrap_or_default();
        let roles = st.roles.lock().unwrap();
        let Some(want) = roles.get(role) else {
            return err(
                StatusCode::BAD_REQUEST,
                &format!("invalid role name \"{role}\""),
            );
        };
        if want != jwt {
            return err(StatusCode::FORBIDDEN, "permission denied");
        }
        st.logins.fetch_add(1, Ordering::SeqCst);
        let token = format!("hvs.{}", b64(&random::<18>()).replace(['+', '/', '='], "x"));
        st.tokens.lock().unwrap().insert(token.clone());
        return (
            StatusCode::OK,
            Json(json!({
                "auth": {
                    "client_token": token,
                    "policies": ["default", "models"],
                    "lease_duration": 3600,
                    "renewable": true,
                }
            })),
        )
            .into_response();
    }
    let token = headers
        .get("x-vault-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !st.tokens.lock().unwrap().contains(token) {
        return err(StatusCode::FORBIDDEN, "permission denied");
    }
    let ops = ["datakey/plaintext", "encrypt", "decrypt", "rewrap"];
    let found = ops.iter().find_map(|op| {
        path.split_once(&format!("/{op}/"))
            .map(|(mount, name)| (*op, mount.to_owned(), name.to_owned()))
    });
    let (op, mount, name) = match found {
        Some(f) => f,
        None => {
            // keys/NAME (create) and keys/NAME/rotate.
            let (rotate, p) = match path.strip_suffix("/rotate") {
                Some(p) => (true, p),
                None => (false, path.as_str()),
            };
            let Some((mount, name)) = p.rsplit_once("/keys/") else {
                return err(StatusCode::NOT_FOUND, "no handler for route");
            };
            let mut keys = st.keys.lock().unwrap();
            let id = format!("{mount}/{name}");
            if rotate {
                let Some(v) = keys.get_mut(&id) else {
                    return err(StatusCode::BAD_REQUEST, "encryption key not found");
                };
                v.push(random());
            } else {
                keys.entry(id).or_insert_with(|| vec![random()]);
            }
            return StatusCode::NO_CONTENT.into_response();
        }
    };
    *st.calls
        .lock()
        .unwrap()
        .entry(op.replace("/plaintext", ""))
        .or_default() += 1;
    let keys = st.keys.lock().unwrap();
    let Some(versions) = keys.get(&format!("{mount}/{name}")) else {
        return err(StatusCode::BAD_REQUEST, "encryption key not found");
    };
    let latest = versions.len();
    match op {
        "datakey/plaintext" => {
            let bits = req["bits"].as_u64().unwrap_or(256);
            if ![128, 256, 512].contains(&bits) {
                return err(StatusCode::BAD_REQUEST, "invalid bits");
            }
            let mut dk = vec![0u8; bits as usize / 8];
            SystemRandom::new().fill(&mut dk).unwrap();
            ok(json!({
                "plaintext": b64(&dk),
                "ciphertext": seal(&versions[latest - 1], latest, &dk),
                "key_version": latest,
            }))
        }
        "encrypt" => {
            let Some(p) = req["plaintext"].as_str().and_then(unb64) else {
                return err(StatusCode::BAD_REQUEST, "missing plaintext to encrypt");
            };
            ok(json!({
                "ciphertext": seal(&versions[latest - 1], latest, &p),
                "key_version": latest,
            }))
        }
        "decrypt" | "rewrap" => {
            let Some(c) = req["ciphertext"].as_str() else {
                return err(StatusCode::BAD_REQUEST, "missing ciphertext");
            };
            let p = match open(versions, c) {
                Ok(p) => p,
                Err(m) => return err(StatusCode::BAD_REQUEST, &m),
            };
            if op == "decrypt" {
                ok(json!({ "plaintext": b64(&p) }))
            } else {
                ok(json!({
                    "ciphertext": seal(&versions[latest - 1], latest, &p),
                    "key_version": latest,
                }))
            }
        }
        _ => unreachable!(),
    }
}

impl Transit {
    /// POST `path` (under /v1/) with `token` and an empty body, as a Vault client would; returns
    /// the HTTP status (for key creation and rotation through the API).
    pub fn post(&self, path: &str, token: &str) -> u16 {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(self.addr).unwrap();
        write!(
            s,
            "POST /v1/{path} HTTP/1.1\r\nHost: {}\r\nX-Vault-Token: {token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}
