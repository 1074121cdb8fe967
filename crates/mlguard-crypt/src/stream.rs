//! The body cipher: Tink's streaming AEAD AES256_GCM_HKDF_1MB, byte-for-byte.
//!
//! Ciphertext = header || segment 0 || segment 1 || ... where
//! - header (40 bytes) = header length (one byte, 40) || salt (32 random bytes) || nonce prefix
//!   (7 random bytes);
//! - the segment key = HKDF-SHA256(ikm = data key, salt = salt, info = associated data), 32 bytes;
//! - every ciphertext segment is 1 MiB (the header counts in the first one) except the last,
//!   which may be shorter; each is AES-256-GCM of its plaintext, no AAD, 16-byte tag, nonce =
//!   nonce prefix || segment number (u32 big endian) || 1 for the last segment else 0.
//!
//! So segment 0 holds `FIRST_PLAIN` plaintext bytes and every other `PLAIN`; segments are
//! independent given their number and whether they are last, which is what lets callers work on
//! them in parallel and decrypt any byte range. Truncation (a non-last segment opened as last),
//! reordering (a segment number in the nonce) and any modified byte all fail the tag.

use crate::key::{hkdf_sha256, random_fill, DataKey};
use crate::Error;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};

/// Ciphertext segment size.
pub const SEGMENT: usize = 1 << 20;
/// GCM tag length.
pub const TAG: usize = 16;
/// HKDF salt length (= derived key size).
pub const SALT: usize = 32;
/// Nonce prefix length.
pub const NONCE_PREFIX: usize = 7;
/// Length of the stream header.
pub const HEADER: usize = 1 + SALT + NONCE_PREFIX;
/// Plaintext bytes in segment 0.
pub const FIRST_PLAIN: usize = SEGMENT - HEADER - TAG;
/// Plaintext bytes in every later segment.
pub const PLAIN: usize = SEGMENT - TAG;

/// The keyed segment cipher of one stream.
pub struct Body {
    key: LessSafeKey,
    prefix: [u8; NONCE_PREFIX],
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Body(<keyed>)")
    }
}

impl Body {
    /// A new stream: random salt and nonce prefix. Returns the cipher and the stream header.
    pub fn create(key: &DataKey, aad: &[u8]) -> Result<(Body, [u8; HEADER]), Error> {
        let mut header = [0u8; HEADER];
        header[0] = HEADER as u8;
        random_fill(&mut header[1..])?;
        Ok((Self::open(key, aad, &header)?, header))
    }

    /// The cipher of an existing stream from its header.
    pub fn open(key: &DataKey, aad: &[u8], header: &[u8]) -> Result<Body, Error> {
        if header.len() < HEADER || header[0] as usize != HEADER {
            return Err(Error::Format(format!(
                "not a valid mlguard encrypted model: the body's stream header must start with its length {HEADER}"
            )));
        }
        let salt = &header[1..1 + SALT];
        let derived = hkdf_sha256::<32>(key.expose(), salt, &[aad]);
        let key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, derived.as_ref()).expect("32-byte AES-256 key"),
        );
        let mut prefix = [0u8; NONCE_PREFIX];
        prefix.copy_from_slice(&header[1 + SALT..HEADER]);
        Ok(Body { key, prefix })
    }

    fn nonce(&self, index: u32, last: bool) -> Nonce {
        let mut n = [0u8; 12];
        n[..NONCE_PREFIX].copy_from_slice(&self.prefix);
        n[NONCE_PREFIX..11].copy_from_slice(&index.to_be_bytes());
        n[11] = u8::from(last);
        Nonce::assume_unique_for_key(n)
    }

    /// Encrypt segment `index` in place: `buf` holds its plaintext on entry and its ciphertext
    /// (plaintext length + 16) on return.
    pub fn seal(&self, index: u32, last: bool, buf: &mut Vec<u8>) {
        let tag = self
            .key
            .seal_in_place_separate_tag(self.nonce(index, last), Aad::empty(), buf)
            .expect("a segment is far below GCM's length limit");
        buf.extend_from_slice(tag.as_ref());
    }

    /// Decrypt segment `index` in place; on failure `buf` is cleared, so no unauthenticated byte
    /// survives.
    pub fn open_segment(&self, index: u32, last: bool, buf: &mut Vec<u8>) -> Result<(), Error> {
        match self
            .key
            .open_in_place(self.nonce(index, last), Aad::empty(), buf)
        {
            Ok(plain) => {
                let n = plain.len();
                buf.truncate(n);
                Ok(())
            }
            Err(_) => {
                buf.clear();
                Err(Error::Auth(format!(
                    "body segment {index} does not verify (wrong key, modified, truncated or reordered data)"
                )))
            }
        }
    }
}

/// How many segments hold `plain` bytes (at least one: an empty plaintext is one empty, last
/// segment).
pub fn segments(plain: u64) -> u64 {
    if plain <= FIRST_PLAIN as u64 {
        1
    } else {
        1 + (plain - FIRST_PLAIN as u64).div_ceil(PLAIN as u64)
    }
}

/// Ciphertext length of a body holding `plain` bytes (stream header included).
pub fn ciphertext_len(plain: u64) -> u64 {
    HEADER as u64 + plain + segments(plain) * TAG as u64
}

/// Plaintext range `(offset, len)` of segment `i` in a body of `plain` bytes.
pub fn plain_range(i: u64, plain: u64) -> (u64, usize) {
    let start = if i == 0 {
        0
    } else {
        FIRST_PLAIN as u64 + (i - 1) * PLAIN as u64
    };
    let cap = if i == 0 { FIRST_PLAIN } else { PLAIN } as u64;
    (start, cap.min(plain.saturating_sub(start)) as usize)
}

/// Offset of segment `i`'s ciphertext from the start of the body (segment 0 starts after the
/// stream header).
pub fn cipher_offset(i: u64) -> u64 {
    if i == 0 {
        HEADER as u64
    } else {
        i * SEGMENT as u64
    }
}

/// The plaintext length of a body of `cipher` bytes (stream header included), or an error when
/// no encrypter makes a body of that length.
pub fn plaintext_len(cipher: u64) -> Result<u64, Error> {
    if cipher < (HEADER + TAG) as u64 {
        return Err(Error::Auth(format!(
            "body of {cipher} bytes is shorter than one segment: truncated"
        )));
    }
    let n = cipher.div_ceil(SEGMENT as u64);
    let last = cipher - (n - 1) * SEGMENT as u64;
    if n > 1 && last <= TAG as u64 {
        return Err(Error::Auth(format!(
            "body of {cipher} bytes ends in a segment with no plaintext: truncated or extended"
        )));
    }
    if n > u32::MAX as u64 {
        return Err(Error::Format(
            "body has more segments than the format allows".into(),
        ));
    }
    Ok(cipher - HEADER as u64 - n * TAG as u64)
}
