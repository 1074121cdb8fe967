//! `local` stanzas: the data key wrapped with AES-256-GCM under a 32-byte key-encryption key
//! read from a file: a key file written by `mlguard model keygen`, or a Kubernetes Secret
//! mounted as a file.
//!
//! Key file forms accepted (whitespace around text forms ignored):
//! - `mlguard-key-v1:` followed by the key in unpadded base64url (what keygen writes);
//! - exactly 32 raw bytes (a Secret created with `--from-file` of raw bytes);
//! - the key in standard base64 (44 characters) or hex (64 characters).
//!
//! Stanza: `{"type":"local","args":{"kid":KID},"body":B64(nonce(12) || ciphertext || tag)}`
//! where KID = the first 8 bytes, hex, of SHA-256("mlguard-model/v1 kid" || key), and the
//! ciphertext is AES-256-GCM(key, nonce, aad = "mlguard-model/v1 local", data key).

use super::{b64, unb64, KeyProvider};
use crate::format::Stanza;
use crate::key::{random_fill, KEY_LEN};
use crate::{DataKey, Error};
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use std::path::Path;
use zeroize::Zeroizing;

const PREFIX: &str = "mlguard-key-v1:";
const AAD: &[u8] = b"mlguard-model/v1 local";

/// A local key-encryption key.
pub struct LocalKey {
    key: Zeroizing<[u8; KEY_LEN]>,
    kid: String,
}

impl std::fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LocalKey(kid={})", self.kid)
    }
}

impl LocalKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, Error> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        random_fill(key.as_mut())?;
        Ok(Self::from_bytes(key))
    }

    fn from_bytes(key: Zeroizing<[u8; KEY_LEN]>) -> Self {
        let digest = ring::digest::digest(
            &ring::digest::SHA256,
            &[b"mlguard-model/v1 kid".as_slice(), key.as_slice()].concat(),
        );
        let kid = digest.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        LocalKey { key, kid }
    }

    /// The key's id as stanzas record it (not secret).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key file text keygen writes (secret: write it with mode 0600, never print it).
    pub fn to_file_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{PREFIX}{}\n",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.key.as_slice())
        ))
    }

    /// Read a key file in any accepted form.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let raw = Zeroizing::new(std::fs::read(path).map_err(|e| Error::io(path, e))?);
        Self::parse(&raw).map_err(|e| Error::Key(format!("{}: {e}", path.display())))
    }

    /// Parse key file contents.
    pub fn parse(raw: &[u8]) -> Result<Self, String> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if raw.len() == KEY_LEN && !raw.starts_with(PREFIX.as_bytes()) {
            key.copy_from_slice(raw);
            return Ok(Self::from_bytes(key));
        }
        let text = std::str::from_utf8(raw)
            .map_err(|_| {
                format!(
                    "not a key file: {} bytes of binary data (a raw key has {KEY_LEN})",
                    raw.len()
                )
            })?
            .trim();
        let decoded: Zeroizing<Vec<u8>> = Zeroizing::new(
            if let Some(rest) = text.strip_prefix(PREFIX) {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(rest)
                    .map_err(|e| format!("{PREFIX} key: {e}"))?
            } else if text.len() == 64 && text.bytes().all(|c| c.is_ascii_hexdigit()) {
                (0..32)
                    .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex digits"))
                    .collect()
            } else if text.len() == 44 {
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|e| format!("base64 key: {e}"))?
            } else {
                return Err(format!(
                "not a key file: expected \"{PREFIX}...\" (mlguard model keygen), {KEY_LEN} raw bytes, or the key in base64 or hex"
            ));
            },
        );
        if decoded.len() != KEY_LEN {
            return Err(format!(
                "the key has {} bytes, not {KEY_LEN}",
                decoded.len()
            ));
        }
        key.copy_from_slice(&decoded);
        Ok(Self::from_bytes(key))
    }

    fn cipher(&self) -> LessSafeKey {
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, self.key.as_slice()).expect("32-byte key"))
    }
}

impl KeyProvider for LocalKey {
    fn kind(&self) -> &'static str {
        "local"
    }

    fn wrap(&self, key: &DataKey) -> Result<Stanza, Error> {
        let mut nonce = [0u8; 12];
        random_fill(&mut nonce)?;
        let mut buf = Zeroizing::new(key.expose().to_vec());
        self.cipher()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(AAD),
                &mut *buf,
            )
            .expect("sealing 32 bytes");
        let mut body = nonce.to_vec();
        body.extend_from_slice(&buf);
        Ok(Stanza {
            kind: "local".into(),
            args: [("kid".to_owned(), self.kid.clone())].into(),
            body: b64(&body),
        })
    }

    fn unwrap(&self, stanza: &Stanza) -> Result<Option<DataKey>, Error> {
        if stanza.args.get("kid") != Some(&self.kid) {
            return Ok(None);
        }
        let body = unb64(stanza)?;
        if body.len() != 12 + KEY_LEN + 16 {
            return Err(Error::Format(format!(
                "local stanza body: {} bytes, expected {}",
                body.len(),
                12 + KEY_LEN + 16
            )));
        }
        let nonce: [u8; 12] = body[..12].try_into().expect("12 bytes");
        let mut ct = Zeroizing::new(body[12..].to_vec());
        let plain = self
            .cipher()
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(AAD), &mut ct)
            .map_err(|_| {
                Error::Auth(format!(
                    "local key {}: the stanza does not verify",
                    self.kid
                ))
            })?;
        Ok(Some(DataKey::from_slice(plain)?))
    }
}
