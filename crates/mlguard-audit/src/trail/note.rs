//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys, and the key texts
//! of golang.org/x/mod/sumdb/note, so that notes and keys interoperate with the Go tooling
//! and the transparency-log ecosystem.
//!
//! A signed note is a text ending in a newline, a blank line, and one or more signature lines
//! `— <key name> <base64(key ID || signature)>` (em dash U+2014, space). The signature covers
//! the text including its final newline. The key ID of an Ed25519 key is the first four bytes,
//! big-endian, of `SHA-256(key name || "\n" || 0x01 || 32-byte public key)`.
//!
//! Key texts: a verifier key is `<name>+<key ID as 8 hex digits>+<base64(0x01 || public
//! key)>`, a signer key `PRIVATE+KEY+<name>+<key ID>+<base64(0x01 || 32-byte seed)>`.
//!
//! [`open`] is strict: the note must be UTF-8 without control characters other than
//! newline; every signature line must be well formed (strict, padded base64); at most
//! [`MAX_SIGNATURES`] lines; lines from unknown keys are ignored; every line from a known key
//! must verify (a bad one rejects the note, as the spec recommends; Go's `note.Open` checks
//! only the first line per key); and at least one known key must have signed.

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, Ed25519KeyPair, KeyPair};
use std::fmt;
use zeroize::Zeroizing;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

/// The most signature lines [`open`] reads; more make the note malformed (the limit
/// golang.org/x/mod/sumdb/note applies).
pub const MAX_SIGNATURES: usize = 100;

/// The signature type byte of Ed25519 in key IDs and key texts.
const ALG_ED25519: u8 = 0x01;
const SEED_LEN: usize = 32;
const PUBLIC_LEN: usize = 32;
const SIGNATURE_LEN: usize = 64;
const SIG_PREFIX: &str = "\u{2014} ";
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";

/// Why a key text was refused or a key could not be made. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key text is not `[PRIVATE+KEY+]<name>+<8 hex digits>+<base64>`; says which part.
    #[error("malformed {kind} key: {what}")]
    Malformed {
        kind: &'static str,
        what: &'static str,
    },
    /// The key name is empty, or has a space, a plus sign or a control character.
    #[error("invalid key name {name:?}: it must be non-empty, without spaces, plus signs or control characters")]
    InvalidName { name: String },
    /// The key data names a signature type other than Ed25519 (0x01).
    #[error("unsupported signature type 0x{alg:02x} in {kind} key (only Ed25519, 0x01)")]
    UnknownAlgorithm { kind: &'static str, alg: u8 },
    /// The key data is not an Ed25519 key (32 bytes after the type byte).
    #[error("{kind} key data has {len} bytes after the type byte; Ed25519 needs 32")]
    WrongKeyLength { kind: &'static str, len: usize },
    /// The key ID in the text is not the one the name and public key give.
    #[error("{kind} key {name}: the text says key ID {stated:08x}, the key is {computed:08x}")]
    KeyIdMismatch {
        kind: &'static str,
        name: String,
        stated: u32,
        computed: u32,
    },
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}

/// Why a note could not be signed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note is not UTF-8.
    #[error("note is not valid UTF-8 (at byte {offset})")]
    NotUtf8 { offset: usize },
    /// The note has an ASCII control character other than newline.
    #[error("note has control character 0x{byte:02x} at byte {offset}; only newline is allowed")]
    ControlCharacter { offset: usize, byte: u8 },
    /// There is no blank line followed by signature lines.
    #[error("note has no signature block (a blank line followed by signature lines)")]
    NoSignatureBlock,
    /// The last signature line has no final newline.
    #[error("note does not end with a newline")]
    Unterminated,
    /// A signature line is malformed; `line` counts from 1 at the first signature line.
    #[error("signature line {line} is malformed: {what}")]
    MalformedSignatureLine { line: usize, what: &'static str },
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("note has {count} signature lines; at most {MAX_SIGNATURES} are read")]
    TooManySignatures { count: usize },
    /// Two different trusted keys have the same name and key ID.
    #[error("two different trusted keys are named {name}+{key_id:08x}")]
    AmbiguousKey { name: String, key_id: u32 },
    /// A signature by a trusted key does not verify: the text or the signature was altered.
    #[error("the signature by trusted key {name}+{key_id:08x} does not verify")]
    InvalidSignature { name: String, key_id: u32 },
    /// No trusted key signed the note.
    #[error("no signature by a trusted key (signed by: {})", if .signers.is_empty() { "nobody".to_string() } else { .signers.join(", ") })]
    NoTrustedSignature {
        /// `name+keyid` of every signature line seen.
        signers: Vec<String>,
    },
    /// The text to sign does not end with a newline.
    #[error("the text to sign does not end with a newline")]
    TextNotTerminated,
    /// No signer was given.
    #[error("a note needs at least one signer")]
    NoSigners,
}

/// The recommended key ID of an Ed25519 key: the first four bytes, big-endian, of
/// `SHA-256(name || "\n" || 0x01 || public key)`.
pub fn key_id(name: &str, public_key: &[u8; PUBLIC_LEN]) -> u32 {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(name.as_bytes());
    ctx.update(b"\n");
    ctx.update(&[ALG_ED25519]);
    ctx.update(public_key);
    let d = ctx.finish();
    let b = d.as_ref();
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// A key name is non-empty and has no Unicode space, no `+` and no control character.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

/// The parts of `<name>+<8 hex digits>+<base64>`.
fn split_key_text<'a>(
    text: &'a str,
    kind: &'static str,
) -> Result<(&'a str, u32, &'a str), KeyError> {
    let malformed = |what| KeyError::Malformed { kind, what };
    let (name, rest) = text
        .split_once('+')
        .ok_or(malformed("no '+' after the key name"))?;
    let (hex, b64) = rest
        .split_once('+')
        .ok_or(malformed("no '+' after the key ID"))?;
    if !valid_name(name) {
        return Err(KeyError::InvalidName {
            name: name.to_string(),
        });
    }
    if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed("the key ID is not 8 hexadecimal digits"));
    }
    let id = u32::from_str_radix(hex, 16)
        .map_err(|_| malformed("the key ID is not 8 hexadecimal digits"))?;
    if b64.is_empty() {
        return Err(malformed("no key data"));
    }
    Ok((name, id, b64))
}

/// Decode `0x01 || 32 bytes` from base64 into zeroized memory.
fn decode_key_data(b64: &str, kind: &'static str) -> Result<Zeroizing<[u8; SEED_LEN]>, KeyError> {
    // Room for more than one key so that a longer one is reported by length, not as base64.
    let mut buf = Zeroizing::new([0u8; 3 * (1 + SEED_LEN)]);
    let len = B64
        .decode_slice(b64.as_bytes(), &mut buf[..])
        .map_err(|e| match e {
            base64::DecodeSliceError::OutputSliceTooSmall => match B64.decode(b64) {
                Ok(v) => KeyError::WrongKeyLength {
                    kind,
                    len: Zeroizing::new(v).len() - 1,
                },
                Err(_) => KeyError::Malformed {
                    kind,
                    what: "the key data is not padded standard base64",
                },
            },
            base64::DecodeSliceError::DecodeError(_) => KeyError::Malformed {
                kind,
                what: "the key data is not padded standard base64",
            },
        })?;
    if len == 0 {
        return Err(KeyError::Malformed {
            kind,
            what: "no key data",
        });
    }
    if buf[0] != ALG_ED25519 {
        return Err(KeyError::UnknownAlgorithm { kind, alg: buf[0] });
    }
    if len != 1 + SEED_LEN {
        return Err(KeyError::WrongKeyLength { kind, len: len - 1 });
    }
    let mut key = Zeroizing::new([0u8; SEED_LEN]);
    key.copy_from_slice(&buf[1..1 + SEED_LEN]);
    Ok(key)
}

/// A trusted public key: verifies signatures by one Ed25519 key with one name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Verifier {
    name: String,
    key_id: u32,
    public_key: [u8; PUBLIC_LEN],
}

impl Verifier {
    /// Read a verifier key text `<name>+<key ID>+<base64(0x01 || public key)>`. Surrounding
    /// ASCII whitespace (a file's final newline) is ignored.
    pub fn from_key_text(text: &str) -> Result<Verifier, KeyError> {
        const KIND: &str = "verifier";
        let (name, stated, b64) = split_key_text(text.trim_ascii(), KIND)?;
        let key = decode_key_data(b64, KIND)?;
        let v = Verifier::from_public_key(name, &key)?;
        if v.key_id != stated {
            return Err(KeyError::KeyIdMismatch {
                kind: KIND,
                name: name.to_string(),
                stated,
                computed: v.key_id,
            });
        }
        Ok(v)
    }

    /// A verifier for a raw 32-byte Ed25519 public key, with the recommended key ID.
    pub fn from_public_key(
        name: &str,
        public_key: &[u8; PUBLIC_LEN],
    ) -> Result<Verifier, KeyError> {
        if !valid_name(name) {
            return Err(KeyError::InvalidName {
                name: name.to_string(),
            });
        }
        Ok(Verifier {
            name: name.to_string(),
            key_id: key_id(name, public_key),
            public_key: *public_key,
        })
    }

    /// The key text, `<name>+<key ID>+<base64(0x01 || public key)>`.
    pub fn to_key_text(&self) -> String {
        let mut data = [0u8; 1 + PUBLIC_LEN];
        data[0] = ALG_ED25519;
        data[1..].copy_from_slice(&self.public_key);
        format!("{}+{:08x}+{}", self.name, self.key_id, B64.encode(data))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The raw Ed25519 public key.
    pub fn public_key(&self) -> &[u8; PUBLIC_LEN] {
        &self.public_key
    }

    /// Whether `sig` is this key's Ed25519 signature of `msg`.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        sig.len() == SIGNATURE_LEN
            && signature::UnparsedPublicKey::new(&signature::ED25519, &self.public_key)
                .verify(msg, sig)
                .is_ok()
    }
}

impl fmt::Display for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_key_text())
    }
}

/// A signing key: an Ed25519 seed (zeroized on drop, never in Debug output) with its name.
///
/// The seed is the only secret kept; the key pair is derived from it for each signature and
/// dropped right after (best effort: ring does not zeroize its own copy of the scalar).
pub struct Signer {
    name: String,
    key_id: u32,
    seed: Zeroizing<[u8; SEED_LEN]>,
    public_key: [u8; PUBLIC_LEN],
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .field("seed", &"<redacted>")
            .finish()
    }
}

impl Signer {
    /// Read a signer key text `PRIVATE+KEY+<name>+<key ID>+<base64(0x01 || seed)>`.
    /// Surrounding ASCII whitespace (a file's final newline) is ignored. The key ID must be
    /// the public key's.
    pub fn from_key_text(text: &str) -> Result<Signer, KeyError> {
        const KIND: &str = "signer";
        let rest = text
            .trim_ascii()
            .strip_prefix(PRIVATE_PREFIX)
            .ok_or(KeyError::Malformed {
                kind: KIND,
                what: "it does not start with PRIVATE+KEY+",
            })?;
        let (name, stated, b64) = split_key_text(rest, KIND)?;
        let seed = decode_key_data(b64, KIND)?;
        let s = Signer::from_seed(name, &seed)?;
        if s.key_id != stated {
            return Err(KeyError::KeyIdMismatch {
                kind: KIND,
                name: name.to_string(),
                stated,
                computed: s.key_id,
            });
        }
        Ok(s)
    }

    /// A signer from a raw 32-byte Ed25519 seed (RFC 8032 private key).
    pub fn from_seed(name: &str, seed: &[u8; SEED_LEN]) -> Result<Signer, KeyError> {
        if !valid_name(name) {
            return Err(KeyError::InvalidName {
                name: name.to_string(),
            });
        }
        let pair = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| KeyError::Malformed {
            kind: "signer",
            what: "ring refused the Ed25519 seed",
        })?;
        let mut public_key = [0u8; PUBLIC_LEN];
        public_key.copy_from_slice(pair.public_key().as_ref());
        Ok(Signer {
            name: name.to_string(),
            key_id: key_id(name, &public_key),
            seed: Zeroizing::new(*seed),
            public_key,
        })
    }

    /// A new random key named `name`: its signer key text (secret; zeroized on drop) and
    /// verifier key text.
    pub fn generate(name: &str) -> Result<(Zeroizing<String>, String), KeyError> {
        let mut seed = Zeroizing::new([0u8; SEED_LEN]);
        SystemRandom::new()
            .fill(&mut seed[..])
            .map_err(|_| KeyError::Random)?;
        let signer = Signer::from_seed(name, &seed)?;
        Ok((signer.to_key_text(), signer.verifier().to_key_text()))
    }

    /// The signer key text, `PRIVATE+KEY+<name>+<key ID>+<base64(0x01 || seed)>` (secret;
    /// zeroized on drop).
    pub fn to_key_text(&self) -> Zeroizing<String> {
        let mut data = Zeroizing::new([0u8; 1 + SEED_LEN]);
        data[0] = ALG_ED25519;
        data[1..].copy_from_slice(&self.seed[..]);
        // Sized up front so that the secret is never copied by a reallocation.
        let mut text = Zeroizing::new(String::with_capacity(
            PRIVATE_PREFIX.len() + self.name.len() + 1 + 8 + 1 + 4 * (1 + SEED_LEN).div_ceil(3),
        ));
        text.push_str(PRIVATE_PREFIX);
        text.push_str(&self.name);
        text.push('+');
        text.push_str(&format!("{:08x}", self.key_id));
        text.push('+');
        B64.encode_string(&data[..], &mut text);
        text
    }

    /// The matching verifier (the public half).
    pub fn verifier(&self) -> Verifier {
        Verifier {
            name: self.name.clone(),
            key_id: self.key_id,
            public_key: self.public_key,
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The Ed25519 signature of `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; SIGNATURE_LEN] {
        let pair = Ed25519KeyPair::from_seed_unchecked(&self.seed[..])
            .expect("a 32-byte seed, accepted when the signer was made");
        let mut out = [0u8; SIGNATURE_LEN];
        out.copy_from_slice(pair.sign(msg).as_ref());
        out
    }
}

/// A signature line of a note whose key was not among the trusted ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnverifiedSignature {
    pub name: String,
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

/// An opened note: its text and who signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The signed text, including its final newline.
    pub text: String,
    /// The trusted keys whose signatures verified, in the order of their first lines.
    pub verified_by: Vec<Verifier>,
    /// Signatures by keys not among the trusted ones (duplicates dropped), not checked.
    pub unverified: Vec<UnverifiedSignature>,
}

/// Where the first control character other than newline is, if any.
fn find_control(bytes: &[u8]) -> Option<(usize, u8)> {
    bytes
        .iter()
        .position(|&b| b < 0x20 && b != b'\n')
        .map(|i| (i, bytes[i]))
}

/// Sign `text` (which must end with a newline and have no control characters other than
/// newline) with every signer, in order: the note text, a blank line and one signature line
/// per signer.
pub fn sign(text: &str, signers: &[&Signer]) -> Result<String, NoteError> {
    if let Some((offset, byte)) = find_control(text.as_bytes()) {
        return Err(NoteError::ControlCharacter { offset, byte });
    }
    if !text.ends_with('\n') {
        return Err(NoteError::TextNotTerminated);
    }
    if signers.is_empty() {
        return Err(NoteError::NoSigners);
    }
    let mut out = String::with_capacity(text.len() + 1 + signers.len() * 120);
    out.push_str(text);
    out.push('\n');
    for s in signers {
        let mut raw = [0u8; 4 + SIGNATURE_LEN];
        raw[..4].copy_from_slice(&s.key_id.to_be_bytes());
        raw[4..].copy_from_slice(&s.sign(text.as_bytes()));
        out.push_str(SIG_PREFIX);
        out.push_str(&s.name);
        out.push(' ');
        B64.encode_string(raw, &mut out);
        out.push('\n');
    }
    Ok(out)
}

/// Parse a note and check its signatures against the trusted `verifiers` (see the module
/// documentation for the rules).
pub fn open(msg: &[u8], verifiers: &[Verifier]) -> Result<Note, NoteError> {
    let msg = std::str::from_utf8(msg).map_err(|e| NoteError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    if let Some((offset, byte)) = find_control(msg.as_bytes()) {
        return Err(NoteError::ControlCharacter { offset, byte });
    }
    let split = msg.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
    let (text, sigs) = (&msg[..split + 1], &msg[split + 2..]);
    if sigs.is_empty() {
        return Err(NoteError::NoSignatureBlock);
    }
    if !sigs.ends_with('\n') {
        return Err(NoteError::Unterminated);
    }
    let count = sigs.bytes().filter(|&b| b == b'\n').count();
    if count > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures { count });
    }

    let mut verified_by: Vec<Verifier> = Vec::new();
    let mut unverified: Vec<UnverifiedSignature> = Vec::new();
    let mut signers: Vec<String> = Vec::new();
    for (i, line) in sigs.split_terminator('\n').enumerate() {
        let malformed = |what| NoteError::MalformedSignatureLine { line: i + 1, what };
        let rest = line.strip_prefix(SIG_PREFIX).ok_or(malformed(
            "it does not start with an em dash (U+2014) and a space",
        ))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or(malformed("no space between the key name and the signature"))?;
        if !valid_name(name) {
            return Err(malformed(
                "the key name is empty or has a space, a plus sign or a control character",
            ));
        }
        let raw = B64
            .decode(b64)
            .map_err(|_| malformed("the signature is not padded standard base64"))?;
        if raw.len() < 5 {
            return Err(malformed(
                "the signature is shorter than a key ID and one byte",
            ));
        }
        let id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let sig = &raw[4..];
        let label = format!("{name}+{id:08x}");
        if !signers.contains(&label) {
            signers.push(label);
        }

        let mut matching = verifiers
            .iter()
            .filter(|v| v.name == name && v.key_id == id);
        let Some(v) = matching.next() else {
            let u = UnverifiedSignature {
                name: name.to_string(),
                key_id: id,
                signature: sig.to_vec(),
            };
            if !unverified.contains(&u) {
                unverified.push(u);
            }
            continue;
        };
        if matching.any(|other| other != v) {
            return Err(NoteError::AmbiguousKey {
                name: name.to_string(),
                key_id: id,
            });
        }
        if !v.verify(text.as_bytes(), sig) {
            return Err(NoteError::InvalidSignature {
                name: name.to_string(),
                key_id: id,
            });
        }
        if !verified_by.contains(v) {
            verified_by.push(v.clone());
        }
    }
    if verified_by.is_empty() {
        return Err(NoteError::NoTrustedSignature { signers });
    }
    Ok(Note {
        text: text.to_string(),
        verified_by,
        unverified,
    })
}
