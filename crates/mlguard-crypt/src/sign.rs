//! Model signing and verification in the OpenSSF model-signing v1.0 format, interoperable both
//! ways with PyPI `model-signing` (`model_signing sign key` / `verify key`) for EC P-256 keys.
//!
//! A signature is a Sigstore bundle (v0.3 JSON) holding a DSSE envelope whose payload is an
//! in-toto Statement v1 with predicate type `https://model_signing/signature/v1.0`: one subject
//! (the model's folder name and a SHA-256 over all file digests) and a predicate listing every
//! file of the model (path relative to the model, '/'-separated) with its SHA-256, plus the
//! `serialization` block that says how the list was made (`files`, `sha256`, symlinks allowed
//! or not, paths ignored). The envelope is signed with ECDSA P-256 / SHA-256 over DSSE's PAE;
//! key-signed bundles carry no certificate, only `verificationMaterial.publicKey.hint`, the
//! SHA-256 (hex) of the signer's public key as SPKI PEM text. docs/model-signing.md has the
//! details, including the rules for walking the model folder (ignored paths, symlinks).
//!
//! Files are hashed in parallel (rayon), each streamed through ring's SHA-256 in fixed-size
//! chunks, so memory stays at one buffer per thread whatever the model size.
//!
//! Errors: a model that does not match its signature, a signature that does not verify and a
//! bundle made with another key are [`Error::Auth`] (the message names the files); a bundle that
//! is not a model-signing bundle, or one of a kind not supported here (Sigstore certificates,
//! shards, other hashes), is [`Error::Format`]; unusable key files are [`Error::Key`]; a model
//! folder that cannot be signed (a symlink, a special file) is [`Error::Io`] naming the path.

use crate::Error;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use rayon::prelude::*;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use zeroize::Zeroizing;

/// `mediaType` of the Sigstore bundles written and read here.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// DSSE `payloadType` of the envelope.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// in-toto Statement `_type`.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// in-toto `predicateType` of a model signature (model-signing v1.0).
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// Default name of the signature file, in the model folder (as `model_signing sign` writes it
/// when run from there). The signature file is never part of the signed manifest.
pub const DEFAULT_SIGNATURE: &str = "model.sig";
/// Paths ignored unless `ignore_git_paths` is turned off (model-signing's list).
pub const GIT_PATHS: [&str; 4] = [".git", ".gitattributes", ".github", ".gitignore"];
/// Largest bundle accepted (a bundle lists every file of the model: about 200 bytes a file).
pub const MAX_BUNDLE_LEN: usize = 256 << 20;
/// Most files a bundle may list.
pub const MAX_FILES: usize = 1 << 20;
/// Longest file path (bytes) a bundle may list.
const MAX_NAME_LEN: usize = 4096;
/// Read size when hashing a file (one buffer per thread at a time).
const CHUNK: usize = 1 << 20;
/// Names listed at most in an error message.
const LIST_MAX: usize = 10;

/// The prime256v1 curve's OID (value bytes).
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// SubjectPublicKeyInfo of a P-256 key, up to the uncompressed point (65 bytes) that follows.
const SPKI_P256_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// PKCS#8 v1 PrivateKeyInfo of a P-256 key, up to the SEC1 ECPrivateKey that follows (109
/// bytes: version, private scalar, public key; no curve parameters, as OpenSSL and ring write).
const PKCS8_P256_PREFIX: [u8; 29] = [
    0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
    0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x6d,
];

/// Base64 as protobuf JSON writes bytes: standard alphabet; padding optional on input.
const B64_LENIENT_PAD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

// ---------------------------------------------------------------------------------------------
// Options and results

/// How a model folder is signed.
#[derive(Debug, Clone)]
pub struct SignOptions {
    /// Where the signature will be written (relative paths: to the current directory). When it
    /// lies inside the model folder it is left out of the manifest. `None`: the default,
    /// [`default_signature_path`].
    pub signature: Option<PathBuf>,
    /// Files or folders (with everything under them) left out of the manifest: relative to the
    /// model folder, or absolute inside it. They are recorded in the signature, and verifiers
    /// (ours and model-signing) leave them out too.
    pub ignore_paths: Vec<PathBuf>,
    /// Leave out `.git`, `.gitattributes`, `.github` and `.gitignore` (default: true).
    pub ignore_git_paths: bool,
    /// Follow symlinks to files (hashing what they point to, wherever it is); symlinks to
    /// folders are skipped. Default false: any symlink in the model is an error, as in
    /// model-signing.
    pub allow_symlinks: bool,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions {
            signature: None,
            ignore_paths: Vec::new(),
            ignore_git_paths: true,
            allow_symlinks: false,
        }
    }
}

/// How a model folder is verified. The paths the signature itself lists as ignored are always
/// ignored too.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Where the signature was read from: left out of the model when it lies inside it.
    /// `None`: the default, [`default_signature_path`].
    pub signature: Option<PathBuf>,
    /// More paths to leave out (relative to the model folder, or absolute inside it).
    pub ignore_paths: Vec<PathBuf>,
    /// Leave out `.git`, `.gitattributes`, `.github` and `.gitignore` (default: true).
    pub ignore_git_paths: bool,
    /// Follow symlinks to files, as when signing (default false: a symlink fails verification).
    pub allow_symlinks: bool,
    /// Check only the files the signature lists: files added since are not an error.
    pub ignore_unsigned_files: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            signature: None,
            ignore_paths: Vec::new(),
            ignore_git_paths: true,
            allow_symlinks: false,
            ignore_unsigned_files: false,
        }
    }
}

/// One file of a model: its path relative to the model folder, '/'-separated (`.` when the
/// model is a single file), and the SHA-256 of its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    pub name: String,
    pub sha256: [u8; 32],
}

/// What a signature says about a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The subject's name: the model folder's name when signed (informative only).
    pub model_name: String,
    /// Every file, in the order signed (ours: sorted by path components, as model-signing).
    pub files: Vec<FileDigest>,
    /// `serialization.allow_symlinks` as recorded.
    pub allow_symlinks: bool,
    /// `serialization.ignore_paths` as recorded (relative to the model).
    pub ignore_paths: Vec<String>,
}

impl Manifest {
    /// The subject digest: SHA-256 over the concatenated raw file digests, in manifest order.
    pub fn subject_sha256(&self) -> [u8; 32] {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for f in &self.files {
            ctx.update(&f.sha256);
        }
        digest32(ctx.finish())
    }
}

/// A signature just made.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The Sigstore bundle, as JSON text: write it to the signature file.
    pub bundle_json: String,
    /// The signed in-toto statement (the DSSE payload), as JSON.
    pub payload: Vec<u8>,
    /// What was signed.
    pub manifest: Manifest,
}

/// A bundle read by [`parse_bundle`]: well-formed, but not verified.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// `verificationMaterial.publicKey.hint`: hex SHA-256 of the signer's SPKI PEM (when set).
    pub key_hint: Option<String>,
    /// DSSE payload type (always [`PAYLOAD_TYPE`] once parsed).
    pub payload_type: String,
    /// DSSE payload: the in-toto statement's JSON bytes.
    pub payload: Vec<u8>,
    /// DSSE signature: ASN.1 DER ECDSA.
    pub signature: Vec<u8>,
    /// The statement's content.
    pub manifest: Manifest,
}

/// A model that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The subject name recorded at signing (informative).
    pub model_name: String,
    /// The subject digest (see [`Manifest::subject_sha256`]).
    pub subject_sha256: [u8; 32],
    /// Every file checked, sorted by path.
    pub files: Vec<FileDigest>,
    /// Hex SHA-256 of the verifying public key's SPKI PEM.
    pub key_hint: String,
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(D[usize::from(b >> 4)] as char);
        s.push(D[usize::from(b & 15)] as char);
    }
    s
}

/// Where the signature of `model` lives by default: `MODEL/model.sig` for a folder,
/// `MODEL.sig` (next to it) for a single file.
pub fn default_signature_path(model: &Path) -> PathBuf {
    if fs::metadata(model).is_ok_and(|m| m.is_file()) {
        let mut p = model.as_os_str().to_os_string();
        p.push(".sig");
        PathBuf::from(p)
    } else {
        model.join(DEFAULT_SIGNATURE)
    }
}

// ---------------------------------------------------------------------------------------------
// Keys

/// A P-256 private key, for signing. Prints no key material.
pub struct SigningKey {
    pair: EcdsaKeyPair,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(P-256, hint {})", self.public_key().hint())
    }
}

impl SigningKey {
    /// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`), unencrypted,
    /// EC P-256, with its public key included (as OpenSSL and Python's cryptography write them).
    pub fn from_pem(pem: &[u8]) -> Result<Self, Error> {
        let blocks = pem_blocks(pem)?;
        for (label, der) in &blocks {
            let pkcs8 = match label.as_str() {
                "PRIVATE KEY" => Zeroizing::new(der.to_vec()),
                "EC PRIVATE KEY" => sec1_to_pkcs8(der)?,
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(Error::Key(
                        "encrypted private keys are not supported: decrypt it first \
                         (openssl pkcs8 -in KEY -out PLAIN)"
                            .into(),
                    ))
                }
                _ => continue,
            };
            let pair = EcdsaKeyPair::from_pkcs8(
                &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                &pkcs8,
                &SystemRandom::new(),
            )
            .map_err(|e| {
                Error::Key(format!(
                    "not an EC P-256 (prime256v1) private key with its public key: {e}"
                ))
            })?;
            return Ok(SigningKey { pair });
        }
        Err(Error::Key(
            "no PEM private key found (expected PRIVATE KEY or EC PRIVATE KEY)".into(),
        ))
    }

    /// The matching public key.
    pub fn public_key(&self) -> VerifyingKey {
        let mut point = [0u8; 65];
        point.copy_from_slice(self.pair.public_key().as_ref());
        VerifyingKey { point }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.pair
            .sign(&SystemRandom::new(), message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| Error::Key("ECDSA signing failed".into()))
    }
}

/// A P-256 public key, for verifying.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    /// Uncompressed point: 0x04, X, Y.
    point: [u8; 65],
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey(P-256, hint {})", self.hint())
    }
}

impl VerifyingKey {
    /// Reads a PEM public key (`PUBLIC KEY`, SubjectPublicKeyInfo) of an EC P-256 key with an
    /// uncompressed point (what OpenSSL and Python's cryptography write).
    pub fn from_pem(pem: &[u8]) -> Result<Self, Error> {
        let blocks = pem_blocks(pem)?;
        let Some((_, der)) = blocks.iter().find(|(l, _)| l == "PUBLIC KEY") else {
            return Err(Error::Key(
                "no PEM public key found (expected PUBLIC KEY)".into(),
            ));
        };
        Self::from_spki_der(der)
    }

    /// Reads a DER SubjectPublicKeyInfo of an EC P-256 key (uncompressed point).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, Error> {
        match der.strip_prefix(&SPKI_P256_PREFIX[..]) {
            Some(point) if point.len() == 65 && point[0] == 4 => {
                let mut p = [0u8; 65];
                p.copy_from_slice(point);
                Ok(VerifyingKey { point: p })
            }
            _ => Err(Error::Key(
                "not an EC P-256 (prime256v1) public key with an uncompressed point".into(),
            )),
        }
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn to_spki_der(&self) -> Vec<u8> {
        let mut der = SPKI_P256_PREFIX.to_vec();
        der.extend_from_slice(&self.point);
        der
    }

    /// The SPKI PEM, exactly as Python's cryptography writes it (64-column lines, LF).
    pub fn to_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.to_spki_der())
    }

    /// What model-signing records in `verificationMaterial.publicKey.hint`: the hex SHA-256 of
    /// [`VerifyingKey::to_pem`].
    pub fn hint(&self) -> String {
        hex(ring::digest::digest(&ring::digest::SHA256, self.to_pem().as_bytes()).as_ref())
    }

    fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, &self.point[..])
            .verify(message, sig)
            .is_ok()
    }
}

/// A fresh key pair, as PEM text.
#[derive(Debug)]
pub struct KeyPairPem {
    /// PKCS#8 `PRIVATE KEY` PEM (zeroized on drop).
    pub private_pem: Zeroizing<String>,
    /// SPKI `PUBLIC KEY` PEM.
    pub public_pem: String,
}

/// Generates an EC P-256 key pair (PKCS#8 private key, SPKI public key), usable by
/// `model_signing sign key` / `verify key` and OpenSSL as well.
pub fn generate_key_pair() -> Result<KeyPairPem, Error> {
    let rng = SystemRandom::new();
    let doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
        .map_err(|_| Error::Key("generating a P-256 key failed".into()))?;
    let private_pem = Zeroizing::new(pem_encode("PRIVATE KEY", doc.as_ref()));
    let public_pem = SigningKey::from_pem(private_pem.as_bytes())?
        .public_key()
        .to_pem();
    Ok(KeyPairPem {
        private_pem,
        public_pem,
    })
}

/// The public key (SPKI PEM) of a PEM private key.
pub fn public_key_pem(private_key_pem: &[u8]) -> Result<String, Error> {
    Ok(SigningKey::from_pem(private_key_pem)?.public_key().to_pem())
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = Zeroizing::new(STANDARD.encode(der));
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for line in b64.as_bytes().chunks(64) {
        // Base64 output is ASCII.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// A PEM block: label, DER.
type PemBlock = (String, Zeroizing<Vec<u8>>);

/// The blocks of a PEM file: (label, DER). Text outside blocks is skipped, as OpenSSL does.
fn pem_blocks(input: &[u8]) -> Result<Vec<PemBlock>, Error> {
    let text = std::str::from_utf8(input)
        .map_err(|_| Error::Key("not a PEM file (not UTF-8 text)".into()))?;
    let mut out = Vec::new();
    let mut current: Option<(String, Zeroizing<String>)> = None;
    for line in text.lines() {
        let line = line.trim();
        match &mut current {
            None => {
                if let Some(label) = line
                    .strip_prefix("-----BEGIN ")
                    .and_then(|l| l.strip_suffix("-----"))
                {
                    current = Some((label.to_string(), Zeroizing::new(String::new())));
                }
            }
            Some((label, b64)) => {
                if let Some(end) = line
                    .strip_prefix("-----END ")
                    .and_then(|l| l.strip_suffix("-----"))
                {
                    if end != label {
                        return Err(Error::Key(format!(
                            "PEM block BEGIN {label} ends with END {end}"
                        )));
                    }
                    let der = STANDARD
                        .decode(b64.as_bytes())
                        .map_err(|e| Error::Key(format!("PEM block {label}: bad base64: {e}")))?;
                    out.push((std::mem::take(label), Zeroizing::new(der)));
                    current = None;
                } else if line.contains(':') {
                    return Err(Error::Key(format!(
                        "PEM block {label} has headers (an encrypted key?): not supported"
                    )));
                } else {
                    b64.push_str(line);
                }
            }
        }
    }
    if let Some((label, _)) = current {
        return Err(Error::Key(format!("PEM block {label} has no END line")));
    }
    if out.is_empty() {
        return Err(Error::Key("not a PEM file (no BEGIN line)".into()));
    }
    Ok(out)
}

/// One DER element: (tag, value, rest). Definite lengths up to 64 KiB, minimal encoding.
fn der_next(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81 => {
            let (&l, rest) = rest.split_first()?;
            (l >= 0x80).then_some((usize::from(l), rest))?
        }
        0x82 => {
            let (l, rest) = rest.split_at_checked(2)?;
            let l = usize::from(u16::from_be_bytes([l[0], l[1]]));
            (l >= 0x100).then_some((l, rest))?
        }
        _ => return None,
    };
    let (value, rest) = rest.split_at_checked(len)?;
    Some((tag, value, rest))
}

/// SEC1 `ECPrivateKey` (RFC 5915) of a P-256 key → PKCS#8 v1 (the fixed wrapping for P-256).
fn sec1_to_pkcs8(der: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
    let bad = |what: &str| Error::Key(format!("EC PRIVATE KEY: {what}"));
    let (tag, mut body, rest) = der_next(der).ok_or_else(|| bad("not DER"))?;
    if tag != 0x30 || !rest.is_empty() {
        return Err(bad("not a DER SEQUENCE"));
    }
    let mut next = |what: &str| -> Result<(u8, &[u8]), Error> {
        let (t, v, r) = der_next(body).ok_or_else(|| bad(what))?;
        body = r;
        Ok((t, v))
    };
    if next("version")? != (0x02, &[1u8][..]) {
        return Err(bad("version is not 1"));
    }
    let (t, scalar) = next("private key")?;
    if t != 0x04 || scalar.is_empty() || scalar.len() > 32 {
        return Err(bad("private key is not a P-256 scalar"));
    }
    // Optional [0] parameters, optional [1] public key, in that order.
    let mut point = None;
    for _ in 0..2 {
        let Ok(field) = next("optional fields") else {
            break;
        };
        match field {
            (0xa0, params) => match der_next(params) {
                Some((0x06, oid, [])) if oid == OID_P256 => {}
                _ => return Err(bad("the curve is not P-256 (prime256v1)")),
            },
            (0xa1, pk) => match der_next(pk) {
                Some((0x03, bits, [])) if bits.len() == 66 && bits[0] == 0 && bits[1] == 4 => {
                    point = Some(&bits[1..]);
                }
                _ => return Err(bad("the public key is not an uncompressed P-256 point")),
            },
            _ => return Err(bad("unexpected field")),
        }
    }
    if !body.is_empty() {
        return Err(bad("trailing data"));
    }
    let Some(point) = point else {
        return Err(bad(
            "the public key is missing (re-export it with openssl ec -in KEY -out KEY2)",
        ));
    };
    let mut out = Zeroizing::new(Vec::with_capacity(PKCS8_P256_PREFIX.len() + 109));
    out.extend_from_slice(&PKCS8_P256_PREFIX);
    out.extend_from_slice(&[0x30, 0x6b, 0x02, 0x01, 0x01, 0x04, 0x20]);
    out.extend(std::iter::repeat_n(0u8, 32 - scalar.len()));
    out.extend_from_slice(scalar);
    out.extend_from_slice(&[0xa1, 0x44, 0x03, 0x42, 0x00]);
    out.extend_from_slice(point);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The model folder

/// A file of the model found by [`walk`].
struct Found {
    comps: Vec<String>,
    path: PathBuf,
    len: u64,
}

fn name_of(comps: &[String]) -> String {
    if comps.is_empty() {
        ".".to_string()
    } else {
        comps.join("/")
    }
}

/// Why a model folder cannot be hashed.
enum TreeError {
    /// Reading failed.
    Io(Error),
    /// Something model-signing refuses (a symlink, a special file...): path, reason.
    Refused(PathBuf, String),
}

impl TreeError {
    /// When signing: the path and the reason.
    fn for_sign(self) -> Error {
        match self {
            TreeError::Io(e) => e,
            TreeError::Refused(p, why) => Error::io(
                p,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, why),
            ),
        }
    }

    /// When verifying: the model does not match its signature.
    fn for_verify(self, model: &Path) -> Error {
        match self {
            TreeError::Io(e) => e,
            TreeError::Refused(p, why) => Error::Auth(format!(
                "model {} does not match its signature: {}: {why}",
                model.display(),
                p.display()
            )),
        }
    }
}

fn is_ignored(comps: &[String], ignore: &[Vec<String>]) -> bool {
    ignore.iter().any(|i| comps.starts_with(i))
}

/// Every file of the model that is not ignored, sorted by path components (model-signing's
/// order). As model-signing: every entry is checked (ignored ones too); without
/// `allow_symlinks` any symlink is refused; with it, symlinks to files are followed and
/// symlinks to folders skipped; anything that is neither a file nor a folder is refused.
fn walk(
    model: &Path,
    allow_symlinks: bool,
    ignore: &[Vec<String>],
) -> Result<Vec<Found>, TreeError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e| TreeError::Io(Error::io(p, e))
    };
    let refused = |p: &Path, why: &str| TreeError::Refused(p.to_path_buf(), why.to_string());
    const SYMLINK: &str =
        "is a symlink (model-signing refuses symlinks unless symlinks are allowed)";
    const SPECIAL: &str = "is neither a file nor a folder (or is a broken symlink)";

    let meta = fs::symlink_metadata(model).map_err(io(model))?;
    let meta = if meta.file_type().is_symlink() {
        if !allow_symlinks {
            return Err(refused(model, SYMLINK));
        }
        fs::metadata(model).map_err(|_| refused(model, SPECIAL))?
    } else {
        meta
    };
    if meta.is_file() {
        return Ok(vec![Found {
            comps: Vec::new(),
            path: model.to_path_buf(),
            len: meta.len(),
        }]);
    }
    if !meta.is_dir() {
        return Err(refused(model, SPECIAL));
    }

    let mut files = Vec::new();
    let mut stack = vec![(model.to_path_buf(), Vec::<String>::new())];
    while let Some((dir, comps)) = stack.pop() {
        for entry in fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            let path = entry.path();
            let Ok(name) = entry.file_name().into_string() else {
                return Err(refused(&path, "has a name that is not UTF-8"));
            };
            let mut c = comps.clone();
            c.push(name);
            let ft = entry.file_type().map_err(io(&path))?;
            if ft.is_dir() {
                stack.push((path, c));
            } else if ft.is_file() {
                if !is_ignored(&c, ignore) {
                    let len = entry.metadata().map_err(io(&path))?.len();
                    files.push(Found {
                        comps: c,
                        path,
                        len,
                    });
                }
            } else if ft.is_symlink() {
                if !allow_symlinks {
                    return Err(refused(&path, SYMLINK));
                }
                match fs::metadata(&path) {
                    Ok(m) if m.is_file() => {
                        if !is_ignored(&c, ignore) {
                            files.push(Found {
                                comps: c,
                                path,
                                len: m.len(),
                            });
                        }
                    }
                    // A symlink to a folder: not followed (model-signing's glob does not).
                    Ok(m) if m.is_dir() => {}
                    _ => return Err(refused(&path, SPECIAL)),
                }
            } else {
                return Err(refused(&path, SPECIAL));
            }
        }
    }
    files.sort_unstable_by(|a, b| a.comps.cmp(&b.comps));
    Ok(files)
}

fn sha256_file(path: &Path, len: u64) -> Result<[u8; 32], Error> {
    let mut f = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    // Small files need no large buffer (+1 so that end of file is seen in one more read).
    let size = usize::try_from(len.saturating_add(1)).map_or(CHUNK, |l| l.clamp(1, CHUNK));
    let mut buf = vec![0u8; size];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => ctx.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Ok(digest32(ctx.finish()))
}

fn digest32(d: ring::digest::Digest) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Hashes the files in parallel, biggest first (so the cores finish together).
fn hash_all(files: &[Found]) -> Result<Vec<FileDigest>, Error> {
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_unstable_by_key(|&i| std::cmp::Reverse(files[i].len));
    let digests: Vec<(usize, [u8; 32])> = order
        .into_par_iter()
        .with_max_len(1)
        .map(|i| sha256_file(&files[i].path, files[i].len).map(|d| (i, d)))
        .collect::<Result<_, _>>()?;
    let mut out = vec![[0u8; 32]; files.len()];
    for (i, d) in digests {
        out[i] = d;
    }
    Ok(files
        .iter()
        .zip(out)
        .map(|(f, sha256)| FileDigest {
            name: name_of(&f.comps),
            sha256,
        })
        .collect())
}

/// The subject name, as model-signing takes it: the model path's last component (or, for `.`
/// and the like, the last component of the resolved path).
fn model_name(model: &Path) -> String {
    let last = match model.components().next_back() {
        Some(Component::Normal(n)) => Some(n.to_string_lossy().into_owned()),
        _ => None,
    };
    last.or_else(|| {
        fs::canonicalize(model)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
    })
    .unwrap_or_default()
}

/// Lexically normalised components of a relative path; `None` when it is empty or leaves the
/// model (`..` past the top), or not UTF-8.
fn relative_components(p: &Path) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n.to_str()?.to_string()),
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Components, relative to the model folder, of a path given relative to the current
/// directory (or absolute), symlinks resolved as model-signing's CLI does; `None` when it is
/// not inside the model.
fn inside_model(model: &Path, p: &Path) -> Option<Vec<String>> {
    let root = fs::canonicalize(model).ok()?;
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(p)
    };
    let resolved = fs::canonicalize(&abs).ok().or_else(|| {
        let parent = fs::canonicalize(abs.parent()?).ok()?;
        Some(parent.join(abs.file_name()?))
    })?;
    relative_components(resolved.strip_prefix(&root).ok()?)
}

/// The paths to ignore: (components for matching, text recorded in the signature).
fn ignore_list(
    model: &Path,
    is_dir: bool,
    signature: Option<&Path>,
    extra: &[PathBuf],
    git: bool,
) -> Result<Vec<Vec<String>>, Error> {
    let mut out: BTreeSet<Vec<String>> = BTreeSet::new();
    if git {
        out.extend(GIT_PATHS.iter().map(|g| vec![g.to_string()]));
    }
    for p in extra {
        let comps = if p.is_absolute() {
            inside_model(model, p)
        } else {
            relative_components(p)
        };
        let Some(comps) = comps else {
            return Err(Error::io(
                p,
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "ignore path is not inside the model folder",
                ),
            ));
        };
        out.insert(comps);
    }
    if is_dir {
        match signature {
            None => {
                out.insert(vec![DEFAULT_SIGNATURE.to_string()]);
            }
            Some(s) => out.extend(inside_model(model, s)),
        }
    }
    Ok(out.into_iter().collect())
}

// ---------------------------------------------------------------------------------------------
// Signing

#[derive(Serialize)]
struct OutStatement<'a> {
    #[serde(rename = "_type")]
    type_: &'a str,
    subject: [OutSubject<'a>; 1],
    #[serde(rename = "predicateType")]
    predicate_type: &'a str,
    predicate: OutPredicate<'a>,
}

#[derive(Serialize)]
struct OutSubject<'a> {
    name: &'a str,
    digest: OutSha256,
}

#[derive(Serialize)]
struct OutSha256 {
    sha256: String,
}

#[derive(Serialize)]
struct OutPredicate<'a> {
    serialization: OutSerialization<'a>,
    resources: Vec<OutResource<'a>>,
}

#[derive(Serialize)]
struct OutSerialization<'a> {
    method: &'a str,
    hash_type: &'a str,
    allow_symlinks: bool,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    ignore_paths: &'a [String],
}

#[derive(Serialize)]
struct OutResource<'a> {
    name: &'a str,
    algorithm: &'a str,
    digest: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutBundle<'a> {
    media_type: &'a str,
    verification_material: OutMaterial,
    dsse_envelope: OutEnvelope<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutMaterial {
    public_key: OutHint,
    tlog_entries: [(); 0],
}

#[derive(Serialize)]
struct OutHint {
    hint: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutEnvelope<'a> {
    payload: String,
    payload_type: &'a str,
    signatures: [OutSignature; 1],
}

#[derive(Serialize)]
struct OutSignature {
    sig: String,
    keyid: String,
}

/// DSSE v1 pre-authentication encoding: `DSSEv1 LEN(type) type LEN(body) body`.
pub fn dsse_pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let head = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    );
    let mut out = Vec::with_capacity(head.len() + payload.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// The in-toto statement (DSSE payload) for a manifest: JSON indented by two spaces.
pub fn statement_json(manifest: &Manifest) -> Vec<u8> {
    let subject = hex(&manifest.subject_sha256());
    let resources = manifest
        .files
        .iter()
        .map(|f| OutResource {
            name: &f.name,
            algorithm: "sha256",
            digest: hex(&f.sha256),
        })
        .collect();
    let st = OutStatement {
        type_: STATEMENT_TYPE,
        subject: [OutSubject {
            name: &manifest.model_name,
            digest: OutSha256 { sha256: subject },
        }],
        predicate_type: PREDICATE_TYPE,
        predicate: OutPredicate {
            serialization: OutSerialization {
                method: "files",
                hash_type: "sha256",
                allow_symlinks: manifest.allow_symlinks,
                ignore_paths: &manifest.ignore_paths,
            },
            resources,
        },
    };
    // Serializing plain structs of strings cannot fail.
    serde_json::to_vec_pretty(&st).unwrap_or_default()
}

/// Hashes a model (a folder, or a single file) as model-signing does: the manifest that
/// [`sign_dir`] signs.
pub fn hash_model(model: &Path, opts: &SignOptions) -> Result<Manifest, Error> {
    let is_dir = fs::metadata(model)
        .map_err(|e| Error::io(model, e))?
        .is_dir();
    let ignore = ignore_list(
        model,
        is_dir,
        opts.signature.as_deref(),
        &opts.ignore_paths,
        opts.ignore_git_paths,
    )?;
    let found = walk(model, opts.allow_symlinks, &ignore).map_err(TreeError::for_sign)?;
    Ok(Manifest {
        model_name: model_name(model),
        files: hash_all(&found)?,
        allow_symlinks: opts.allow_symlinks,
        ignore_paths: ignore.iter().map(|c| c.join("/")).collect(),
    })
}

/// Signs the model at `model` (a folder, or a single file) with an EC P-256 private key (PEM:
/// PKCS#8 or SEC1). Returns the Sigstore bundle to write as the signature file (by default
/// `MODEL/model.sig`, see [`default_signature_path`]).
pub fn sign_dir(model: &Path, private_key_pem: &[u8], opts: &SignOptions) -> Result<Signed, Error> {
    let key = SigningKey::from_pem(private_key_pem)?;
    let manifest = hash_model(model, opts)?;
    let payload = statement_json(&manifest);
    let sig = key.sign(&dsse_pae(PAYLOAD_TYPE, &payload))?;
    let bundle = OutBundle {
        media_type: BUNDLE_MEDIA_TYPE,
        verification_material: OutMaterial {
            public_key: OutHint {
                hint: key.public_key().hint(),
            },
            tlog_entries: [],
        },
        dsse_envelope: OutEnvelope {
            payload: STANDARD.encode(&payload),
            payload_type: PAYLOAD_TYPE,
            signatures: [OutSignature {
                sig: STANDARD.encode(&sig),
                keyid: String::new(),
            }],
        },
    };
    let bundle_json = serde_json::to_string(&bundle)
        .map_err(|e| Error::Format(format!("writing the bundle: {e}")))?;
    Ok(Signed {
        bundle_json,
        payload,
        manifest,
    })
}

// ---------------------------------------------------------------------------------------------
// Reading bundles

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InBundle {
    media_type: String,
    verification_material: InMaterial,
    dsse_envelope: Option<InEnvelope>,
    message_signature: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InMaterial {
    public_key: Option<InPublicKey>,
    certificate: Option<serde::de::IgnoredAny>,
    x509_certificate_chain: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct InPublicKey {
    hint: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InEnvelope {
    payload: String,
    payload_type: String,
    signatures: Vec<InSignature>,
}

#[derive(Deserialize)]
struct InSignature {
    sig: String,
}

/// The signed part of a bundle, before the payload is read.
struct Envelope {
    key_hint: Option<String>,
    payload_type: String,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

fn bad_bundle(what: impl fmt::Display) -> Error {
    Error::Format(format!("model signature bundle: {what}"))
}

fn parse_envelope(bytes: &[u8]) -> Result<Envelope, Error> {
    if bytes.len() > MAX_BUNDLE_LEN {
        return Err(bad_bundle(format_args!(
            "{} bytes, more than the {MAX_BUNDLE_LEN} accepted",
            bytes.len()
        )));
    }
    let b: InBundle = serde_json::from_slice(bytes).map_err(bad_bundle)?;
    if b.media_type != BUNDLE_MEDIA_TYPE {
        return Err(bad_bundle(format_args!(
            "mediaType is {:?}, expected {BUNDLE_MEDIA_TYPE:?}",
            b.media_type
        )));
    }
    if b.message_signature.is_some() {
        return Err(bad_bundle("a messageSignature bundle, not a DSSE envelope"));
    }
    let m = b.verification_material;
    if m.certificate.is_some() || m.x509_certificate_chain.is_some() {
        return Err(bad_bundle(
            "signed with a certificate (Sigstore or PKI): only key-signed bundles are supported",
        ));
    }
    let Some(pk) = m.public_key else {
        return Err(bad_bundle("verificationMaterial has no publicKey"));
    };
    let Some(env) = b.dsse_envelope else {
        return Err(bad_bundle("no dsseEnvelope"));
    };
    let [sig] = &env.signatures[..] else {
        return Err(bad_bundle(format_args!(
            "the envelope has {} signatures, expected 1",
            env.signatures.len()
        )));
    };
    // Undecodable signed fields: the bundle was tampered with.
    let payload = B64_LENIENT_PAD
        .decode(&env.payload)
        .map_err(|e| Error::Auth(format!("the signature's payload is not base64: {e}")))?;
    let signature = B64_LENIENT_PAD
        .decode(&sig.sig)
        .map_err(|e| Error::Auth(format!("the signature is not base64: {e}")))?;
    Ok(Envelope {
        key_hint: pk.hint,
        payload_type: env.payload_type,
        payload,
        signature,
    })
}

#[derive(Deserialize)]
struct InHead {
    #[serde(rename = "_type")]
    type_: String,
    #[serde(rename = "predicateType")]
    predicate_type: String,
}

#[derive(Deserialize)]
struct InStatement {
    subject: Vec<InSubject>,
    predicate: InPredicate,
}

#[derive(Deserialize)]
struct InSubject {
    name: String,
    digest: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct InPredicate {
    serialization: InSerialization,
    resources: Vec<InResource>,
}

#[derive(Deserialize)]
struct InSerialization {
    method: String,
    hash_type: String,
    allow_symlinks: bool,
    #[serde(default)]
    ignore_paths: Vec<String>,
}

#[derive(Deserialize)]
struct InResource {
    name: String,
    algorithm: String,
    digest: String,
}

/// Components of a path recorded in a statement: relative, '/'-separated, no empty, `.` or
/// `..` component (model-signing writes them so).
fn recorded_path(s: &str) -> Option<Vec<String>> {
    if s.is_empty() || s.len() > MAX_NAME_LEN || s.contains('\0') {
        return None;
    }
    s.split('/')
        .map(|c| (!c.is_empty() && c != "." && c != "..").then(|| c.to_string()))
        .collect()
}

fn unhex32(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let nib = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        *o = (nib(pair[0])? << 4) | nib(pair[1])?;
    }
    Some(out)
}

/// Reads the in-toto statement of a model signature (model-signing v1.0, `files`, SHA-256).
fn parse_statement(payload: &[u8]) -> Result<Manifest, Error> {
    let head: InHead =
        serde_json::from_slice(payload).map_err(|e| bad_bundle(format_args!("payload: {e}")))?;
    if head.type_ != STATEMENT_TYPE {
        return Err(bad_bundle(format_args!(
            "payload _type is {:?}, expected {STATEMENT_TYPE:?}",
            head.type_
        )));
    }
    if head.predicate_type != PREDICATE_TYPE {
        return Err(bad_bundle(format_args!(
            "predicateType is {:?}, expected {PREDICATE_TYPE:?} (model-signing v1.0)",
            head.predicate_type
        )));
    }
    let st: InStatement =
        serde_json::from_slice(payload).map_err(|e| bad_bundle(format_args!("payload: {e}")))?;
    let [subject] = &st.subject[..] else {
        return Err(bad_bundle(format_args!(
            "{} subjects, expected 1",
            st.subject.len()
        )));
    };
    let ser = &st.predicate.serialization;
    if ser.method != "files" || ser.hash_type != "sha256" {
        return Err(bad_bundle(format_args!(
            "serialization {:?} with {:?}: only \"files\" with \"sha256\" is supported",
            ser.method, ser.hash_type
        )));
    }
    for p in &ser.ignore_paths {
        if recorded_path(p).is_none() {
            return Err(bad_bundle(format_args!(
                "ignore path {p:?} is not a relative path"
            )));
        }
    }
    let resources = &st.predicate.resources;
    if resources.len() > MAX_FILES {
        return Err(bad_bundle(format_args!(
            "{} files, more than the {MAX_FILES} accepted",
            resources.len()
        )));
    }
    let mut files = Vec::with_capacity(resources.len());
    let mut seen = BTreeSet::new();
    for r in resources {
        if r.name != "." && recorded_path(&r.name).is_none() {
            return Err(bad_bundle(format_args!(
                "file name {:?} is not a relative path",
                r.name
            )));
        }
        if r.algorithm != "sha256" {
            return Err(bad_bundle(format_args!(
                "file {:?} is hashed with {:?}, expected sha256",
                r.name, r.algorithm
            )));
        }
        let Some(sha256) = unhex32(&r.digest) else {
            return Err(bad_bundle(format_args!(
                "file {:?}: digest is not 64 hex digits",
                r.name
            )));
        };
        if !seen.insert(r.name.as_str()) {
            return Err(bad_bundle(format_args!(
                "file {:?} is listed twice",
                r.name
            )));
        }
        files.push(FileDigest {
            name: r.name.clone(),
            sha256,
        });
    }
    if files.iter().any(|f| f.name == ".") && files.len() != 1 {
        return Err(bad_bundle(
            "\".\" (a single-file model) listed with other files",
        ));
    }
    let manifest = Manifest {
        model_name: subject.name.clone(),
        files,
        allow_symlinks: ser.allow_symlinks,
        ignore_paths: ser.ignore_paths.clone(),
    };
    let expected = hex(&manifest.subject_sha256());
    match subject.digest.get("sha256") {
        Some(d) if *d == expected => Ok(manifest),
        Some(d) => Err(bad_bundle(format_args!(
            "the subject digest {d} is not the digest of the files listed ({expected})"
        ))),
        None => Err(bad_bundle("the subject has no sha256 digest")),
    }
}

/// Reads a model-signing bundle strictly, without verifying anything: a Sigstore bundle v0.3
/// signed with a key (no certificate), one DSSE signature over an in-toto statement with the
/// model-signing v1.0 predicate, `files` serialization with SHA-256, a consistent subject
/// digest. Bounded ([`MAX_BUNDLE_LEN`], [`MAX_FILES`]); never panics.
pub fn parse_bundle(bytes: &[u8]) -> Result<Bundle, Error> {
    let env = parse_envelope(bytes)?;
    if env.payload_type != PAYLOAD_TYPE {
        return Err(bad_bundle(format_args!(
            "payloadType is {:?}, expected {PAYLOAD_TYPE:?}",
            env.payload_type
        )));
    }
    let manifest = parse_statement(&env.payload)?;
    Ok(Bundle {
        key_hint: env.key_hint,
        payload_type: env.payload_type,
        payload: env.payload,
        signature: env.signature,
        manifest,
    })
}

// ---------------------------------------------------------------------------------------------
// Verifying

fn list(names: &[&str]) -> String {
    let mut s = names
        .iter()
        .take(LIST_MAX)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > LIST_MAX {
        s.push_str(&format!(" and {} more", names.len() - LIST_MAX));
    }
    s
}

/// Verifies the model at `model` against a model-signing bundle and an EC P-256 public key
/// (SPKI PEM): the signature, then every file. Fails with [`Error::Auth`] when the bundle was
/// made with another key, the signature or payload was modified, or a file was changed, added
/// or removed (the message names them).
pub fn verify_dir(
    model: &Path,
    bundle_json: &[u8],
    public_key_pem: &[u8],
    opts: &VerifyOptions,
) -> Result<Verified, Error> {
    let key = VerifyingKey::from_pem(public_key_pem)?;
    let env = parse_envelope(bundle_json)?;
    let key_hint = key.hint();
    if let Some(h) = env.key_hint.as_deref().filter(|h| !h.is_empty()) {
        if h != key_hint {
            return Err(Error::Auth(format!(
                "the signature was made with another key (its public key hint is {h}, the \
                 given key's is {key_hint})"
            )));
        }
    }
    if !key.verify(&dsse_pae(&env.payload_type, &env.payload), &env.signature) {
        return Err(Error::Auth(
            "the signature does not verify with the given public key (modified signature or \
             payload, or another key)"
                .into(),
        ));
    }
    if env.payload_type != PAYLOAD_TYPE {
        return Err(bad_bundle(format_args!(
            "payloadType is {:?}, expected {PAYLOAD_TYPE:?}",
            env.payload_type
        )));
    }
    let expected = parse_statement(&env.payload)?;

    let is_dir = fs::metadata(model)
        .map_err(|e| Error::io(model, e))?
        .is_dir();
    let mut extra = opts.ignore_paths.clone();
    extra.extend(expected.ignore_paths.iter().map(PathBuf::from));
    let ignore = ignore_list(
        model,
        is_dir,
        opts.signature.as_deref(),
        &extra,
        opts.ignore_git_paths,
    )?;
    let mut found = walk(model, opts.allow_symlinks, &ignore).map_err(|e| e.for_verify(model))?;

    let signed: BTreeMap<&str, &[u8; 32]> = expected
        .files
        .iter()
        .map(|f| (f.name.as_str(), &f.sha256))
        .collect();
    if opts.ignore_unsigned_files {
        found.retain(|f| signed.contains_key(name_of(&f.comps).as_str()));
    }
    let present: BTreeSet<String> = found.iter().map(|f| name_of(&f.comps)).collect();
    let added: Vec<&str> = present
        .iter()
        .map(String::as_str)
        .filter(|n| !signed.contains_key(n))
        .collect();
    let removed: Vec<&str> = signed
        .keys()
        .copied()
        .filter(|n| !present.contains(*n))
        .collect();
    if !added.is_empty() || !removed.is_empty() {
        let mut why = Vec::new();
        if !added.is_empty() {
            why.push(format!("files not signed: {}", list(&added)));
        }
        if !removed.is_empty() {
            why.push(format!("files missing: {}", list(&removed)));
        }
        return Err(Error::Auth(format!(
            "model {} does not match its signature: {}",
            model.display(),
            why.join("; ")
        )));
    }

    let actual = hash_all(&found)?;
    let changed: Vec<&str> = actual
        .iter()
        .filter(|f| signed.get(f.name.as_str()).is_none_or(|d| **d != f.sha256))
        .map(|f| f.name.as_str())
        .collect();
    if !changed.is_empty() {
        return Err(Error::Auth(format!(
            "model {} does not match its signature: files changed: {}",
            model.display(),
            list(&changed)
        )));
    }
    Ok(Verified {
        model_name: expected.model_name.clone(),
        subject_sha256: expected.subject_sha256(),
        files: actual,
        key_hint,
    })
}
