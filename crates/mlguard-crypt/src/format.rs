//! The encrypted-model header (docs/encrypted-model-format.md):
//!
//! ```text
//! magic    8 bytes   "MLGMODEL"
//! version  1 byte    1
//! meta_len 4 bytes   big endian, at most MAX_SECTION
//! meta     meta_len  JSON object (Meta)                  } the body's associated data is
//!                                                         } bytes [0, 13 + meta_len)
//! st_len   4 bytes   big endian, at most MAX_SECTION
//! stanzas  st_len    JSON array of Stanza
//! mac      32 bytes  HMAC-SHA256(mac key, every byte above)
//! body               Tink AES256_GCM_HKDF_1MB ciphertext (crate::stream)
//! ```
//!
//! mac key = HKDF-SHA256(ikm = data key, salt = empty, info = "mlguard-model/v1 header mac").
//! The stanzas are outside the associated data so `rewrap` can replace them without touching the
//! body; the MAC still covers them, so nobody without the data key can add or alter one.

use crate::key::{hkdf_sha256, DataKey};
use crate::Error;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;

/// First bytes of every encrypted model.
pub const MAGIC: &[u8; 8] = b"MLGMODEL";
/// The format version this crate writes and reads.
pub const VERSION: u8 = 1;
/// The body algorithm (Tink's key template name).
pub const ALGORITHM: &str = "AES256_GCM_HKDF_1MB";
/// Upper bound of each JSON section, so a hostile header cannot make us allocate much.
pub const MAX_SECTION: u32 = 1 << 20;
/// Length of the header MAC.
pub const MAC_LEN: usize = 32;
const MAC_INFO: &[u8] = b"mlguard-model/v1 header mac";

/// What the header says about the plaintext. Part of the body's associated data, so it cannot
/// change without failing every segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// Always [`ALGORITHM`].
    pub algorithm: String,
    /// Ciphertext segment size in bytes (1 MiB).
    pub segment_size: u32,
    /// The original file name (base name, no folders).
    pub name: String,
    /// Plaintext size in bytes; absent when encrypted from a stream of unknown length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// SHA-256 of the plaintext, lowercase hex, when the encrypter computed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// One wrap of the data key: the provider type, its public parameters (key id, recipient, key
/// ARN...) and the wrapped key, base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stanza {
    /// Provider type: local, age, pkcs11, awskms, vault.
    #[serde(rename = "type")]
    pub kind: String,
    /// Public provider parameters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
    /// The wrapped data key (standard base64 with padding).
    pub body: String,
}

impl Stanza {
    /// A one-line description for errors and `inspect`, without the wrapped key.
    pub fn describe(&self) -> String {
        let args: Vec<String> = self.args.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if args.is_empty() {
            self.kind.clone()
        } else {
            format!("{} ({})", self.kind, args.join(", "))
        }
    }
}

/// A parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub meta: Meta,
    pub stanzas: Vec<Stanza>,
    /// Bytes [0, 13 + meta_len): the body's associated data.
    aad: Vec<u8>,
    /// The stanzas section exactly as stored.
    stanza_bytes: Vec<u8>,
    mac: [u8; MAC_LEN],
}

fn mac_key(key: &DataKey) -> ring::hmac::Key {
    let k = hkdf_sha256::<32>(key.expose(), b"", &[MAC_INFO]);
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, k.as_ref())
}

impl Header {
    /// A header for `meta` and `stanzas`, MACed with `key`.
    pub fn new(meta: Meta, stanzas: Vec<Stanza>, key: &DataKey) -> Self {
        let json = serde_json::to_vec(&meta).expect("Meta serializes");
        let mut aad = Vec::with_capacity(13 + json.len());
        aad.extend_from_slice(MAGIC);
        aad.push(VERSION);
        aad.extend_from_slice(&(json.len() as u32).to_be_bytes());
        aad.extend_from_slice(&json);
        let mut h = Header {
            meta,
            stanzas: Vec::new(),
            aad,
            stanza_bytes: Vec::new(),
            mac: [0; MAC_LEN],
        };
        h.set_stanzas(stanzas, key);
        h
    }

    /// Replace the stanzas (rewrap) and recompute the MAC; the associated data is unchanged.
    pub fn set_stanzas(&mut self, stanzas: Vec<Stanza>, key: &DataKey) {
        self.stanza_bytes = serde_json::to_vec(&stanzas).expect("stanzas serialize");
        self.stanzas = stanzas;
        let tag = ring::hmac::sign(&mac_key(key), &self.signed_bytes());
        self.mac.copy_from_slice(tag.as_ref());
    }

    fn signed_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(self.aad.len() + 4 + self.stanza_bytes.len());
        b.extend_from_slice(&self.aad);
        b.extend_from_slice(&(self.stanza_bytes.len() as u32).to_be_bytes());
        b.extend_from_slice(&self.stanza_bytes);
        b
    }

    /// The header bytes as stored.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = self.signed_bytes();
        b.extend_from_slice(&self.mac);
        b
    }

    /// Length of the stored header in bytes (where the body starts).
    pub fn len(&self) -> usize {
        self.aad.len() + 4 + self.stanza_bytes.len() + MAC_LEN
    }

    /// Never true: a header has at least its fixed fields.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The body's associated data.
    pub fn aad(&self) -> &[u8] {
        &self.aad
    }

    /// Check the MAC with a candidate data key (constant time).
    pub fn verify(&self, key: &DataKey) -> Result<(), Error> {
        ring::hmac::verify(&mac_key(key), &self.signed_bytes(), &self.mac).map_err(|_| {
            Error::Auth("the header MAC does not verify: the header was modified, or the key unwrapped from a stanza is not this file's".into())
        })
    }

    /// Parse a header from the start of `bytes`; returns it and how many bytes it took.
    pub fn parse(bytes: &[u8]) -> Result<(Header, usize), Error> {
        let mut r = bytes;
        let h = Self::read(&mut r)?;
        let n = h.len();
        Ok((h, n))
    }

    /// Read a header from `r`, leaving `r` at the body.
    pub fn read(r: &mut impl Read) -> Result<Header, Error> {
        let mut fixed = [0u8; 13];
        read_exact(r, &mut fixed, "magic and version")?;
        if &fixed[..8] != MAGIC {
            return Err(bad(
                "bad magic (an encrypted model starts with \"MLGMODEL\")".into(),
            ));
        }
        if fixed[8] != VERSION {
            return Err(bad(format!(
                "format version {} is not supported (this mlguard reads version {VERSION})",
                fixed[8]
            )));
        }
        let meta_len = section_len(&fixed[9..13], "meta")?;
        let mut aad = Vec::with_capacity(13 + meta_len);
        aad.extend_from_slice(&fixed);
        aad.resize(13 + meta_len, 0);
        read_exact(r, &mut aad[13..], "meta")?;
        let meta: Meta =
            serde_json::from_slice(&aad[13..]).map_err(|e| bad(format!("meta: {e}")))?;
        if meta.algorithm != ALGORITHM {
            return Err(bad(format!(
                "meta.algorithm: {:?} is not supported (only {ALGORITHM})",
                meta.algorithm
            )));
        }
        if meta.segment_size as usize != crate::stream::SEGMENT {
            return Err(bad(format!(
                "meta.segment_size: {} is not supported (only {})",
                meta.segment_size,
                crate::stream::SEGMENT
            )));
        }
        if meta.name.contains(['/', '\\', '\0']) || meta.name == ".." || meta.name == "." {
            return Err(bad(format!(
                "meta.name: {:?} is not a plain file name",
                meta.name
            )));
        }
        if let Some(d) = &meta.sha256 {
            if d.len() != 64
                || !d
                    .bytes()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            {
                return Err(bad("meta.sha256: not 64 lowercase hex digits".into()));
            }
        }
        let mut len4 = [0u8; 4];
        read_exact(r, &mut len4, "stanzas length")?;
        let st_len = section_len(&len4, "stanzas")?;
        let mut stanza_bytes = vec![0u8; st_len];
        read_exact(r, &mut stanza_bytes, "stanzas")?;
        let stanzas: Vec<Stanza> =
            serde_json::from_slice(&stanza_bytes).map_err(|e| bad(format!("stanzas: {e}")))?;
        if stanzas.is_empty() {
            return Err(bad("stanzas: none; no key could ever open this file".into()));
        }
        let mut mac = [0u8; MAC_LEN];
        read_exact(r, &mut mac, "header MAC")?;
        Ok(Header {
            meta,
            stanzas,
            aad,
            stanza_bytes,
            mac,
        })
    }
}

fn section_len(b: &[u8], what: &str) -> Result<usize, Error> {
    let n = u32::from_be_bytes(b.try_into().expect("4 bytes"));
    if n > MAX_SECTION {
        return Err(bad(format!(
            "{what}: {n} bytes is over the {MAX_SECTION}-byte limit"
        )));
    }
    Ok(n as usize)
}

fn read_exact(r: &mut impl Read, buf: &mut [u8], what: &str) -> Result<(), Error> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            bad(format!("truncated in the header ({what})"))
        } else {
            bad(format!("reading the header ({what}): {e}"))
        }
    })
}

/// A header error: the input is not a valid encrypted model.
fn bad(msg: String) -> Error {
    Error::Format(format!("not a valid mlguard encrypted model: {msg}"))
}
