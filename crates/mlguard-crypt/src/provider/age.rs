//! `age` stanzas: the data key encrypted to an [age](https://age-encryption.org/v1) X25519
//! recipient, as a whole age v1 file, so the `age` tool itself can open (and write) them.
//!
//! # Stanza
//!
//! ```text
//! {"type":"age","args":{"recipient":"age1..."},"body":B64(AGE_FILE)}
//! ```
//!
//! - `B64` is standard base64 with padding (as for every stanza body);
//! - `AGE_FILE` is an age v1 binary (not armored) file whose plaintext is exactly the 32-byte
//!   data key, encrypted to that one X25519 recipient: `age -d -i IDENTITY_FILE` on the decoded
//!   body prints the data key, and `age -r age1... < data-key` writes a valid body;
//! - `recipient` is the recipient (lowercase bech32 `age1...`) the file was encrypted to. It is
//!   optional when reading: an identity skips a stanza naming another recipient (`Ok(None)`),
//!   and tries a stanza without it (a body written by the age tool, possibly to several
//!   recipients) with every X25519 stanza inside, skipping it when none opens.
//!
//! After the file key is found, the age header MAC and every payload chunk must verify, or
//! unwrapping fails with [`Error::Auth`]; so does a stanza that names this identity's recipient
//! yet none of its X25519 stanzas opens with it (modified). A body that is not a well-formed age
//! file, or whose authentic plaintext is not 32 bytes, is [`Error::Format`].
//!
//! # The age v1 format (C2SP age, <https://c2sp.org/age>), as implemented here
//!
//! ```text
//! age-encryption.org/v1\n
//! -> ARG ARG...\n                one or more stanzas: "-> " then arguments of printable ASCII
//! BODY LINES                     (0x21-0x7E) separated by single spaces; the body in unpadded
//!                                canonical standard base64, 64 columns a line, ending with a
//!                                line shorter than 64 (possibly empty)
//! --- MAC\n                      MAC: 43 base64 characters (32 bytes)
//! PAYLOAD                        binary, to the end of the file
//! ```
//!
//! - file key: 16 random bytes per file;
//! - X25519 stanza: `-> X25519 B64(share)` and body = ChaCha20-Poly1305(wrap key, nonce 12 zero
//!   bytes, file key) (32 bytes), where share = X25519(ephemeral secret, basepoint), shared
//!   secret = X25519(ephemeral secret, recipient) (an all-zero shared secret is refused), and
//!   wrap key = HKDF-SHA256(ikm = shared secret, salt = share || recipient,
//!   info = "age-encryption.org/v1/X25519");
//! - MAC = HMAC-SHA256(key = HKDF-SHA256(ikm = file key, salt = empty, info = "header"),
//!   the header bytes from its start up to and including `---`);
//! - payload = nonce (16 random bytes) || chunks; payload key = HKDF-SHA256(ikm = file key,
//!   salt = nonce, info = "payload"); the plaintext is cut in 64 KiB chunks, each sealed with
//!   ChaCha20-Poly1305 under the nonce (11-byte big-endian chunk counter from 0) || (1 for the
//!   final chunk, else 0); the final chunk is empty only when the whole plaintext is.
//!
//! Parsing is strict (it reads untrusted input; it is the `age_header` fuzz target): the exact
//! version line, LF line ends only, canonical unpadded base64, at least one stanza, at most
//! [`MAX_STANZAS`] stanzas, argument lines of at most [`MAX_ARG_LINE`] bytes, bodies of at most
//! [`MAX_STANZA_BODY`] bytes. An X25519 stanza with other than 2 arguments, a share that is not
//! 32 bytes, or a body that is not 32 bytes is an error (age does the same); other stanza types
//! (scrypt, plugins, grease) are ignored. A parsed header prints back to exactly its bytes.
//!
//! # Keys
//!
//! - recipient: `age1...`, bech32 (BIP 173, no length limit) with HRP `age` of the 32-byte
//!   X25519 public key, lowercase;
//! - identity: `AGE-SECRET-KEY-1...`, bech32 with HRP `AGE-SECRET-KEY-` of the 32-byte X25519
//!   secret, uppercase;
//! - identity files (`age-keygen`): one identity a line; lines starting with `#` and blank
//!   lines are skipped; several identities allowed; surrounding whitespace and CR ignored;
//! - recipients files (`age -R`): one recipient a line, same comment and blank-line rules.
//!
//! Errors about key files name the file and the line, and never quote a secret key. Secret keys
//! are zeroized on drop and never shown by `Debug`.

use super::{b64, unb64, KeyProvider};
use crate::format::Stanza;
use crate::key::{hkdf_sha256, random_fill};
use crate::{DataKey, Error};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use std::path::Path;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

/// The stanza `type`.
pub const KIND: &str = "age";
/// The stanza argument naming the recipient.
pub const RECIPIENT_ARG: &str = "recipient";
/// The first line of an age v1 file (without its LF).
pub const VERSION_LINE: &str = "age-encryption.org/v1";
/// Payload chunk size (plaintext bytes).
pub const CHUNK: usize = 64 * 1024;
/// Most stanzas accepted in one age header.
pub const MAX_STANZAS: usize = 1024;
/// Longest stanza argument line accepted (bytes, without the LF).
pub const MAX_ARG_LINE: usize = 16 * 1024;
/// Largest stanza body accepted (decoded bytes).
pub const MAX_STANZA_BODY: usize = 64 * 1024;
/// Largest identity or recipients file read.
pub const MAX_KEY_FILE: u64 = 1 << 20;

const TAG: usize = 16;
const FILE_KEY_LEN: usize = 16;
const PAYLOAD_NONCE_LEN: usize = 16;
const MAC_LEN: usize = 32;
const X25519_INFO: &[u8] = b"age-encryption.org/v1/X25519";
const RECIPIENT_HRP: &str = "age";
const IDENTITY_HRP: &str = "AGE-SECRET-KEY-";
const ARMOR_BEGIN: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";

// ---------------------------------------------------------------------------------------------
// Bech32 (BIP 173), without the 90-character limit.

mod bech32 {
    use zeroize::{Zeroize, Zeroizing};

    const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];

    fn polymod_step(chk: u32, v: u8) -> u32 {
        let b = chk >> 25;
        let mut chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (b >> i) & 1 == 1 {
                chk ^= g;
            }
        }
        chk
    }

    /// The checksum state after the expanded (lowercase) HRP and `data` (5-bit values).
    fn polymod(hrp: &[u8], data: &[u8]) -> u32 {
        let mut chk = 1u32;
        for &c in hrp {
            chk = polymod_step(chk, c.to_ascii_lowercase() >> 5);
        }
        chk = polymod_step(chk, 0);
        for &c in hrp {
            chk = polymod_step(chk, c.to_ascii_lowercase() & 31);
        }
        for &v in data {
            chk = polymod_step(chk, v);
        }
        chk
    }

    /// Encode `data` (bytes) with `hrp`; upper case when `upper`.
    pub fn encode(hrp: &str, data: &[u8], upper: bool) -> Zeroizing<String> {
        let mut five = Zeroizing::new(Vec::with_capacity(data.len() * 8 / 5 + 8));
        let (mut acc, mut bits) = (0u32, 0u32);
        for &b in data {
            acc = ((acc << 8) | u32::from(b)) & 0x1fff;
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                five.push(((acc >> bits) & 31) as u8);
            }
        }
        if bits > 0 {
            five.push(((acc << (5 - bits)) & 31) as u8);
        }
        acc.zeroize();
        let mut chk_data = Zeroizing::new(Vec::with_capacity(five.len() + 6));
        chk_data.extend_from_slice(&five);
        chk_data.extend_from_slice(&[0; 6]);
        let pm = polymod(hrp.as_bytes(), &chk_data) ^ 1;
        let mut out = Zeroizing::new(String::with_capacity(hrp.len() + 1 + five.len() + 6));
        let case = |c: u8| {
            if upper {
                c.to_ascii_uppercase() as char
            } else {
                c.to_ascii_lowercase() as char
            }
        };
        for &c in hrp.as_bytes() {
            out.push(case(c));
        }
        out.push('1');
        for &v in five.iter() {
            out.push(case(CHARSET[v as usize]));
        }
        for i in 0..6 {
            out.push(case(CHARSET[((pm >> (5 * (5 - i))) & 31) as usize]));
        }
        out
    }

    /// Decode: the HRP as written (its case kept) and the data bytes. The messages never
    /// quote the input.
    pub fn decode(s: &str) -> Result<(String, Zeroizing<Vec<u8>>), &'static str> {
        let b = s.as_bytes();
        if b.iter().any(|&c| !(33..=126).contains(&c)) {
            return Err("it has characters that are not printable ASCII");
        }
        let lower = b.iter().any(u8::is_ascii_lowercase);
        let upper = b.iter().any(u8::is_ascii_uppercase);
        if lower && upper {
            return Err("it mixes upper and lower case");
        }
        let Some(pos) = b.iter().rposition(|&c| c == b'1') else {
            return Err("it has no bech32 separator '1'");
        };
        if pos == 0 || pos + 7 > b.len() {
            return Err("its bech32 separator '1' is misplaced");
        }
        let mut five = Zeroizing::new(Vec::with_capacity(b.len() - pos - 1));
        for &c in &b[pos + 1..] {
            let c = c.to_ascii_lowercase();
            match CHARSET.iter().position(|&x| x == c) {
                Some(v) => five.push(v as u8),
                None => return Err("it has a character outside the bech32 alphabet"),
            }
        }
        if polymod(&b[..pos], &five) != 1 {
            return Err("its bech32 checksum is wrong (a typo, or a cut-off key)");
        }
        let n = five.len() - 6;
        let mut out = Zeroizing::new(Vec::with_capacity(n * 5 / 8));
        let (mut acc, mut bits) = (0u32, 0u32);
        for &v in &five[..n] {
            acc = ((acc << 5) | u32::from(v)) & 0x1fff;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                out.push(((acc >> bits) & 0xff) as u8);
            }
        }
        let bad_padding = bits >= 5 || (acc & ((1 << bits) - 1)) != 0;
        acc.zeroize();
        if bad_padding {
            return Err("its bech32 data has invalid padding");
        }
        Ok((s[..pos].to_owned(), out))
    }
}

// ---------------------------------------------------------------------------------------------
// Keys.

/// An age X25519 recipient (public key, `age1...`): wraps data keys.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AgeRecipient {
    key: [u8; 32],
    text: String,
}

impl std::fmt::Debug for AgeRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AgeRecipient({})", self.text)
    }
}

impl std::fmt::Display for AgeRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for AgeRecipient {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

/// True when `s` looks like a secret key, which must never be quoted in a message.
fn looks_secret(s: &str) -> bool {
    let u = s.trim().to_ascii_uppercase();
    u.starts_with("AGE-SECRET-KEY-") || u.starts_with("AGE-PLUGIN-") || u.contains("PRIVATE KEY")
}

/// `s` quoted for an error message, shortened.
fn quote(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{:?}...", s.chars().take(72).collect::<String>())
    } else {
        format!("{s:?}")
    }
}

impl AgeRecipient {
    /// The recipient of a 32-byte X25519 public key.
    pub fn from_bytes(key: [u8; 32]) -> Self {
        let text = bech32::encode(RECIPIENT_HRP, &key, false).to_string();
        AgeRecipient { key, text }
    }

    /// The X25519 public key.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.key
    }

    /// Parse `age1...` (surrounding whitespace ignored).
    pub fn parse(s: &str) -> Result<Self, Error> {
        Self::parse_reason(s).map_err(|reason| {
            if looks_secret(s) {
                Error::Key(format!("not an age recipient: {reason}"))
            } else {
                Error::Key(format!(
                    "{} is not an age recipient: {reason}",
                    quote(s.trim())
                ))
            }
        })
    }

    fn parse_reason(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if looks_secret(s) {
            return Err(
                "this is a secret key (identity); give its public key, age1... (age-keygen -y FILE prints it)"
                    .into(),
            );
        }
        if s.starts_with("ssh-") || s.starts_with("ecdsa-") || s.starts_with("sk-") {
            return Err(
                "SSH recipients are not supported, only age X25519 recipients (age1...)".into(),
            );
        }
        let (hrp, data) = bech32::decode(s).map_err(str::to_owned)?;
        if hrp != RECIPIENT_HRP {
            return Err(if hrp.eq_ignore_ascii_case(RECIPIENT_HRP) {
                "an age recipient is lower case (age1...)".into()
            } else if hrp.to_ascii_lowercase().starts_with("age1") {
                format!("recipient type {hrp:?} (post-quantum, tag or plugin) is not supported, only X25519 recipients (age1...)")
            } else {
                "an age X25519 recipient starts with age1".into()
            });
        }
        let key: [u8; 32] = data
            .as_slice()
            .try_into()
            .map_err(|_| format!("it holds {} bytes, an X25519 key has 32", data.len()))?;
        Ok(Self::from_bytes(key))
    }

    /// Parse a recipients file's text (`age -R`): one recipient a line, `#` comments and blank
    /// lines skipped. `origin` names the file in errors (`origin:LINE: ...`).
    pub fn parse_recipients(text: &str, origin: &str) -> Result<Vec<Self>, Error> {
        let mut out = Vec::new();
        for (n, line) in text.split('\n').enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let r = Self::parse_reason(line).map_err(|reason| {
                if looks_secret(line) {
                    Error::Key(format!("{origin}:{}: {reason}", n + 1))
                } else {
                    Error::Key(format!(
                        "{origin}:{}: {} is not an age recipient: {reason}",
                        n + 1,
                        quote(line)
                    ))
                }
            })?;
            out.push(r);
        }
        if out.is_empty() {
            return Err(Error::Key(format!(
                "{origin}: no recipient in it (age1... lines)"
            )));
        }
        Ok(out)
    }

    /// Read a recipients file.
    pub fn read_file(path: &Path) -> Result<Vec<Self>, Error> {
        let raw = read_key_file(path)?;
        let text = std::str::from_utf8(&raw).map_err(|_| {
            Error::Key(format!(
                "{}: not a text file of age1... recipients",
                path.display()
            ))
        })?;
        Self::parse_recipients(text, &path.display().to_string())
    }

    /// Encrypt the data key to this recipient: an `age` stanza.
    fn wrap_key(&self, key: &DataKey) -> Result<Stanza, Error> {
        let file = encrypt(std::slice::from_ref(self), key.expose())?;
        Ok(Stanza {
            kind: KIND.into(),
            args: [(RECIPIENT_ARG.to_owned(), self.text.clone())].into(),
            body: b64(&file),
        })
    }
}

fn read_key_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, Error> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut raw = Zeroizing::new(Vec::new());
    f.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut raw)
        .map_err(|e| Error::io(path, e))?;
    if raw.len() as u64 > MAX_KEY_FILE {
        return Err(Error::Key(format!(
            "{}: over {MAX_KEY_FILE} bytes, not an age key file",
            path.display()
        )));
    }
    Ok(raw)
}

/// An age X25519 identity (secret key, `AGE-SECRET-KEY-1...`): unwraps stanzas for its
/// recipient, and wraps to it. The secret is zeroized on drop and never printed by `Debug`.
#[derive(Clone)]
pub struct AgeIdentity {
    secret: StaticSecret,
    recipient: AgeRecipient,
}

impl std::fmt::Debug for AgeIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AgeIdentity(recipient={}, secret=<redacted>)",
            self.recipient
        )
    }
}

impl AgeIdentity {
    fn from_secret(mut bytes: [u8; 32]) -> Self {
        let secret = StaticSecret::from(bytes);
        bytes.zeroize();
        let recipient = AgeRecipient::from_bytes(PublicKey::from(&secret).to_bytes());
        AgeIdentity { secret, recipient }
    }

    /// A fresh identity from the operating system's random source (`age-keygen`).
    pub fn generate() -> Result<Self, Error> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        random_fill(bytes.as_mut())?;
        Ok(Self::from_secret(*bytes))
    }

    /// Parse one `AGE-SECRET-KEY-1...` (surrounding whitespace ignored). Errors never quote it.
    pub fn parse(s: &str) -> Result<Self, Error> {
        Self::parse_reason(s).map_err(|r| Error::Key(format!("not an age identity: {r}")))
    }

    fn parse_reason(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.starts_with("AGE-PLUGIN-") {
            return Err("plugin identities (AGE-PLUGIN-...) are not supported, only X25519 identities (AGE-SECRET-KEY-1...)".into());
        }
        if s.starts_with("-----BEGIN") {
            return Err("an SSH or PEM key; only age X25519 identities (AGE-SECRET-KEY-1..., from age-keygen) are supported".into());
        }
        if s.starts_with("age-encryption.org/") || s.as_bytes().starts_with(ARMOR_BEGIN) {
            return Err(
                "a passphrase-encrypted identity file; decrypt it with age -d first".into(),
            );
        }
        if s.starts_with("age1") {
            return Err("this is a recipient (public key); an identity is the secret key AGE-SECRET-KEY-1... that age-keygen wrote".into());
        }
        let (hrp, data) = bech32::decode(s).map_err(str::to_owned)?;
        if hrp != IDENTITY_HRP {
            return Err(if hrp.eq_ignore_ascii_case(IDENTITY_HRP) {
                "an age identity is upper case (AGE-SECRET-KEY-1...)".into()
            } else if hrp.to_ascii_uppercase().starts_with(IDENTITY_HRP) {
                "only X25519 identities (AGE-SECRET-KEY-1...) are supported, not post-quantum or other types".into()
            } else {
                "an age identity starts with AGE-SECRET-KEY-1".into()
            });
        }
        let mut bytes: [u8; 32] = data
            .as_slice()
            .try_into()
            .map_err(|_| format!("it holds {} bytes, an X25519 key has 32", data.len()))?;
        let id = Self::from_secret(bytes);
        bytes.zeroize();
        Ok(id)
    }

    /// Parse an identity file's text (age-keygen's format): one identity a line, `#` comments
    /// and blank lines skipped. `origin` names the file in errors (`origin:LINE: ...`), which
    /// never quote a line.
    pub fn parse_identities(text: &str, origin: &str) -> Result<Vec<Self>, Error> {
        let mut out = Vec::new();
        for (n, line) in text.split('\n').enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let id = Self::parse_reason(line)
                .map_err(|r| Error::Key(format!("{origin}:{}: not an age identity: {r}", n + 1)))?;
            out.push(id);
        }
        if out.is_empty() {
            return Err(Error::Key(format!(
                "{origin}: no identity in it (AGE-SECRET-KEY-1... lines, as age-keygen writes)"
            )));
        }
        Ok(out)
    }

    /// Read an identity file (every identity in it, in order).
    pub fn read_file(path: &Path) -> Result<Vec<Self>, Error> {
        let raw = read_key_file(path)?;
        let text = std::str::from_utf8(&raw).map_err(|_| {
            Error::Key(format!(
                "{}: not a text file (an age identity file holds AGE-SECRET-KEY-1... lines)",
                path.display()
            ))
        })?;
        Self::parse_identities(text, &path.display().to_string())
    }

    /// The public recipient (`age1...`).
    pub fn recipient(&self) -> &AgeRecipient {
        &self.recipient
    }

    /// The secret key, `AGE-SECRET-KEY-1...`. Secret: never log or print it.
    pub fn to_secret_string(&self) -> Zeroizing<String> {
        bech32::encode(IDENTITY_HRP, self.secret.as_bytes(), true)
    }

    /// The identity file text age-keygen writes (secret: write it with mode 0600):
    /// `# created: RFC 3339 time`, `# public key: age1...`, `AGE-SECRET-KEY-1...`.
    pub fn to_file_text(&self) -> Zeroizing<String> {
        let secret = self.to_secret_string();
        let mut s = Zeroizing::new(String::with_capacity(128 + secret.len()));
        s.push_str("# created: ");
        s.push_str(&rfc3339_now());
        s.push_str("\n# public key: ");
        s.push_str(&self.recipient.text);
        s.push('\n');
        s.push_str(&secret);
        s.push('\n');
        s
    }

    /// The file key of `file` if one of its X25519 stanzas opens with this identity.
    fn file_key(&self, file: &AgeFile<'_>) -> Result<Option<Zeroizing<[u8; FILE_KEY_LEN]>>, Error> {
        for (i, s) in file.stanzas.iter().enumerate() {
            if s.args[0] != "X25519" {
                continue;
            }
            let at = |m: String| Error::Format(format!("age header: X25519 stanza {}: {m}", i + 1));
            if s.args.len() != 2 {
                return Err(at(format!(
                    "{} arguments, expected 2 (X25519 and the ephemeral share)",
                    s.args.len()
                )));
            }
            let share: [u8; 32] = STANDARD_NO_PAD
                .decode(&s.args[1])
                .ok()
                .and_then(|v| v.try_into().ok())
                .ok_or_else(|| {
                    at("the ephemeral share is not 32 bytes in canonical unpadded base64".into())
                })?;
            if s.body.len() != FILE_KEY_LEN + TAG {
                return Err(at(format!(
                    "the body has {} bytes, expected {}",
                    s.body.len(),
                    FILE_KEY_LEN + TAG
                )));
            }
            let shared = self.secret.diffie_hellman(&PublicKey::from(share));
            if !shared.was_contributory() {
                return Err(at(
                    "the ephemeral share is a low-order point (all-zero shared secret)".into(),
                ));
            }
            let mut salt = [0u8; 64];
            salt[..32].copy_from_slice(&share);
            salt[32..].copy_from_slice(&self.recipient.key);
            let wrap_key = hkdf_sha256::<32>(shared.as_bytes(), &salt, &[X25519_INFO]);
            let mut buf = Zeroizing::new([0u8; FILE_KEY_LEN + TAG]);
            buf.copy_from_slice(&s.body);
            if let Ok(plain) = chacha(&wrap_key).open_in_place(
                Nonce::assume_unique_for_key([0; 12]),
                Aad::empty(),
                buf.as_mut(),
            ) {
                let mut fk = Zeroizing::new([0u8; FILE_KEY_LEN]);
                fk.copy_from_slice(plain);
                return Ok(Some(fk));
            }
        }
        Ok(None)
    }

    /// Decrypt an age v1 file (binary): `Ok(None)` when none of its X25519 stanzas is for this
    /// identity; [`Error::Auth`] when one is but the header MAC or the payload does not verify;
    /// [`Error::Format`] when it is not a well-formed age file.
    pub fn decrypt(&self, age_file: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
        let file = AgeFile::parse(age_file)?;
        let Some(fk) = self.file_key(&file)? else {
            return Ok(None);
        };
        file.verify_mac(&fk)?;
        decrypt_payload(&fk, file.payload).map(Some)
    }
}

impl KeyProvider for AgeRecipient {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn wrap(&self, key: &DataKey) -> Result<Stanza, Error> {
        self.wrap_key(key)
    }

    /// A recipient holds no secret: it opens nothing.
    fn unwrap(&self, _stanza: &Stanza) -> Result<Option<DataKey>, Error> {
        Ok(None)
    }
}

impl KeyProvider for AgeIdentity {
    fn kind(&self) -> &'static str {
        KIND
    }

    /// Wraps to this identity's own recipient.
    fn wrap(&self, key: &DataKey) -> Result<Stanza, Error> {
        self.recipient.wrap_key(key)
    }

    fn unwrap(&self, stanza: &Stanza) -> Result<Option<DataKey>, Error> {
        if stanza.kind != KIND {
            return Ok(None);
        }
        let named = match stanza.args.get(RECIPIENT_ARG) {
            Some(r) if *r != self.recipient.text => return Ok(None),
            Some(_) => true,
            None => false,
        };
        let body = unb64(stanza)?;
        let file = AgeFile::parse(&body).map_err(|e| match e {
            Error::Format(m) => Error::Format(format!("age stanza body: {m}")),
            e => e,
        })?;
        let Some(fk) = self.file_key(&file)? else {
            if named {
                return Err(Error::Auth(format!(
                    "the age stanza for {} does not open with its identity: the stanza was modified",
                    self.recipient
                )));
            }
            return Ok(None);
        };
        file.verify_mac(&fk)?;
        let plain = decrypt_payload(&fk, file.payload)?;
        if plain.len() != crate::key::KEY_LEN {
            return Err(Error::Format(format!(
                "age stanza body: its plaintext is {} bytes, a data key has {}",
                plain.len(),
                crate::key::KEY_LEN
            )));
        }
        Ok(Some(DataKey::from_slice(&plain)?))
    }
}

// ---------------------------------------------------------------------------------------------
// The age v1 file.

/// One stanza of an age header: its arguments (the first is its type, e.g. `X25519`) and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeStanza {
    /// At least one; each non-empty printable ASCII without spaces.
    pub args: Vec<String>,
    /// The decoded body.
    pub body: Vec<u8>,
}

impl AgeStanza {
    /// Append the stanza as the header writes it.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"->");
        for a in &self.args {
            out.push(b' ');
            out.extend_from_slice(a.as_bytes());
        }
        out.push(b'\n');
        let text = STANDARD_NO_PAD.encode(&self.body);
        for line in text.as_bytes().chunks(64) {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        if text.len().is_multiple_of(64) {
            out.push(b'\n');
        }
    }
}

/// A parsed age v1 file: header stanzas and MAC (not yet verified), and the payload.
#[derive(Debug, Clone)]
pub struct AgeFile<'a> {
    /// The recipient stanzas, in order (at least one).
    pub stanzas: Vec<AgeStanza>,
    /// The header MAC as stored.
    pub mac: [u8; MAC_LEN],
    /// The bytes after the header: payload nonce and chunks (not checked by parsing).
    pub payload: &'a [u8],
    header: &'a [u8],
    mac_input: usize,
}

/// A cursor over the header's lines.
struct Lines<'a> {
    data: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    fn err(&self, m: impl std::fmt::Display) -> Error {
        Error::Format(format!("age header, line {}: {m}", self.line))
    }

    /// The next line without its LF, of at most `max` bytes.
    fn next(&mut self, max: usize, what: &str) -> Result<&'a [u8], Error> {
        self.line += 1;
        let rest = &self.data[self.pos..];
        let window = &rest[..rest.len().min(max + 1)];
        match window.iter().position(|&c| c == b'\n') {
            Some(n) => {
                self.pos += n + 1;
                Ok(&rest[..n])
            }
            None if window.len() == rest.len() => Err(self.err(format_args!(
                "truncated in the {what} (no line feed before the end)"
            ))),
            None => Err(self.err(format_args!("the {what} line is longer than {max} bytes"))),
        }
    }

    fn peek(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }
}

impl<'a> AgeFile<'a> {
    /// Parse an age v1 binary file (strictly; see the module documentation).
    pub fn parse(data: &'a [u8]) -> Result<Self, Error> {
        if data.starts_with(ARMOR_BEGIN) {
            return Err(Error::Format(
                "an ASCII-armored age file (age -a): only the binary form is read here".into(),
            ));
        }
        let mut l = Lines {
            data,
            pos: 0,
            line: 0,
        };
        let version = l.next(VERSION_LINE.len() + 64, "version")?;
        if version != VERSION_LINE.as_bytes() {
            return Err(if version.starts_with(b"age-encryption.org/") {
                l.err(format_args!(
                    "age format version {} is not supported (only v1)",
                    quote(&String::from_utf8_lossy(&version[19..]))
                ))
            } else {
                l.err(format_args!(
                    "not an age file (it starts with \"{VERSION_LINE}\")"
                ))
            });
        }
        let mut stanzas = Vec::new();
        loop {
            let rest = l.peek();
            if rest.starts_with(b"---") {
                break;
            }
            if !rest.starts_with(b"-> ") {
                l.line += 1;
                return Err(if rest.is_empty() {
                    l.err("truncated before the header MAC line (--- ...)")
                } else {
                    l.err("expected a stanza (\"-> \") or the MAC line (\"--- \")")
                });
            }
            if stanzas.len() == MAX_STANZAS {
                return Err(l.err(format_args!("more than {MAX_STANZAS} stanzas")));
            }
            let line = l.next(MAX_ARG_LINE, "stanza argument")?;
            let mut args = Vec::new();
            for a in line[3..].split(|&c| c == b' ') {
                if a.is_empty() || !a.iter().all(|c| (0x21..=0x7e).contains(c)) {
                    return Err(l.err(
                        "a stanza argument is empty or not printable ASCII (single spaces between arguments)",
                    ));
                }
                args.push(String::from_utf8(a.to_vec()).expect("ASCII"));
            }
            let mut text = Vec::new();
            loop {
                let body_line = l.next(64, "stanza body")?;
                text.extend_from_slice(body_line);
                if text.len() > MAX_STANZA_BODY / 3 * 4 + 4 {
                    return Err(l.err(format_args!("a stanza body over {MAX_STANZA_BODY} bytes")));
                }
                if body_line.len() < 64 {
                    break;
                }
            }
            let body = STANDARD_NO_PAD
                .decode(&text)
                .map_err(|_| l.err("the stanza body is not canonical unpadded base64"))?;
            if body.len() > MAX_STANZA_BODY {
                return Err(l.err(format_args!("a stanza body over {MAX_STANZA_BODY} bytes")));
            }
            stanzas.push(AgeStanza { args, body });
        }
        if stanzas.is_empty() {
            l.line += 1;
            return Err(l.err("no recipient stanza before the MAC line"));
        }
        let mac_input = l.pos + 3;
        let line = l.next(4 + 43, "MAC")?;
        if line.len() != 4 + 43 || !line.starts_with(b"--- ") {
            return Err(l.err("the MAC line is not \"--- \" and 43 base64 characters"));
        }
        let mac: [u8; MAC_LEN] = STANDARD_NO_PAD
            .decode(&line[4..])
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| l.err("the header MAC is not canonical unpadded base64"))?;
        Ok(AgeFile {
            stanzas,
            mac,
            payload: &data[l.pos..],
            header: &data[..l.pos],
            mac_input,
        })
    }

    /// The header bytes as stored (up to and including the MAC line's LF).
    pub fn header(&self) -> &'a [u8] {
        self.header
    }

    /// The header printed again from the parsed stanzas and MAC: equal to [`Self::header`].
    pub fn encode_header(&self) -> Vec<u8> {
        encode_header(&self.stanzas, &self.mac)
    }

    /// Check the header MAC with a candidate file key (constant time).
    fn verify_mac(&self, file_key: &[u8; FILE_KEY_LEN]) -> Result<(), Error> {
        ring::hmac::verify(
            &mac_key(file_key),
            &self.header[..self.mac_input],
            &self.mac,
        )
        .map_err(|_| {
            Error::Auth("the age header MAC does not verify: the age header was modified".into())
        })
    }
}

fn encode_header(stanzas: &[AgeStanza], mac: &[u8; MAC_LEN]) -> Vec<u8> {
    let mut h = header_before_mac(stanzas);
    h.push(b' ');
    h.extend_from_slice(STANDARD_NO_PAD.encode(mac).as_bytes());
    h.push(b'\n');
    h
}

/// The header up to and including `---` (the MAC's input).
fn header_before_mac(stanzas: &[AgeStanza]) -> Vec<u8> {
    let mut h = Vec::with_capacity(64 + stanzas.len() * 128);
    h.extend_from_slice(VERSION_LINE.as_bytes());
    h.push(b'\n');
    for s in stanzas {
        s.encode(&mut h);
    }
    h.extend_from_slice(b"---");
    h
}

fn mac_key(file_key: &[u8; FILE_KEY_LEN]) -> ring::hmac::Key {
    let k = hkdf_sha256::<32>(file_key, b"", &[b"header"]);
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, k.as_ref())
}

fn chacha(key: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).expect("32-byte key"))
}

fn chunk_nonce(counter: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

fn decrypt_payload(
    file_key: &[u8; FILE_KEY_LEN],
    payload: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Error> {
    if payload.len() < PAYLOAD_NONCE_LEN + TAG {
        return Err(Error::Auth(format!(
            "the age payload is {} bytes, truncated (at least {} with an empty plaintext)",
            payload.len(),
            PAYLOAD_NONCE_LEN + TAG
        )));
    }
    let (nonce, chunks) = payload.split_at(PAYLOAD_NONCE_LEN);
    let key = chacha(&hkdf_sha256::<32>(file_key, nonce, &[b"payload"]));
    let mut out = Zeroizing::new(Vec::with_capacity(chunks.len()));
    let n = chunks.len().div_ceil(CHUNK + TAG);
    for (i, c) in chunks.chunks(CHUNK + TAG).enumerate() {
        let last = i + 1 == n;
        if c.len() < TAG {
            return Err(Error::Auth(format!(
                "the age payload's chunk {i} is truncated"
            )));
        }
        let start = out.len();
        out.extend_from_slice(c);
        let plain_len = key
            .open_in_place(chunk_nonce(i as u64, last), Aad::empty(), &mut out[start..])
            .map_err(|_| {
                Error::Auth(format!(
                    "the age payload's chunk {i} does not verify: modified, truncated or extended"
                ))
            })?
            .len();
        out.truncate(start + plain_len);
        if last && plain_len == 0 && i > 0 {
            return Err(Error::Format(
                "the age payload ends with an empty chunk after a full one (age v1 forbids it)"
                    .into(),
            ));
        }
    }
    Ok(out)
}

/// Encrypt `plaintext` to `recipients` as an age v1 binary file (one X25519 stanza each).
pub fn encrypt(recipients: &[AgeRecipient], plaintext: &[u8]) -> Result<Vec<u8>, Error> {
    if recipients.is_empty() {
        return Err(Error::Key("age: no recipient to encrypt to".into()));
    }
    let mut fk = Zeroizing::new([0u8; FILE_KEY_LEN]);
    random_fill(fk.as_mut())?;
    let stanzas = recipients
        .iter()
        .map(|r| x25519_stanza(&fk, r))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = header_before_mac(&stanzas);
    let mac = ring::hmac::sign(&mac_key(&fk), &out);
    out.push(b' ');
    out.extend_from_slice(STANDARD_NO_PAD.encode(mac.as_ref()).as_bytes());
    out.push(b'\n');
    let mut nonce = [0u8; PAYLOAD_NONCE_LEN];
    random_fill(&mut nonce)?;
    out.extend_from_slice(&nonce);
    let key = chacha(&hkdf_sha256::<32>(fk.as_ref(), &nonce, &[b"payload"]));
    let n = plaintext.len().div_ceil(CHUNK).max(1);
    out.reserve(plaintext.len() + n * TAG);
    for i in 0..n {
        let chunk = &plaintext[i * CHUNK..((i + 1) * CHUNK).min(plaintext.len())];
        let start = out.len();
        out.extend_from_slice(chunk);
        let tag = key
            .seal_in_place_separate_tag(
                chunk_nonce(i as u64, i + 1 == n),
                Aad::empty(),
                &mut out[start..],
            )
            .expect("sealing a chunk");
        out.extend_from_slice(tag.as_ref());
    }
    Ok(out)
}

fn x25519_stanza(file_key: &[u8; FILE_KEY_LEN], r: &AgeRecipient) -> Result<AgeStanza, Error> {
    let mut eph = Zeroizing::new([0u8; 32]);
    random_fill(eph.as_mut())?;
    let secret = StaticSecret::from(*eph);
    let share = PublicKey::from(&secret).to_bytes();
    let shared = secret.diffie_hellman(&PublicKey::from(r.key));
    if !shared.was_contributory() {
        return Err(Error::Key(format!(
            "age recipient {r} is a low-order point: no key can be agreed with it"
        )));
    }
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(&share);
    salt[32..].copy_from_slice(&r.key);
    let wrap_key = hkdf_sha256::<32>(shared.as_bytes(), &salt, &[X25519_INFO]);
    let mut body = file_key.to_vec();
    let tag = chacha(&wrap_key)
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key([0; 12]),
            Aad::empty(),
            &mut body,
        )
        .expect("sealing the file key");
    body.extend_from_slice(tag.as_ref());
    Ok(AgeStanza {
        args: vec!["X25519".into(), STANDARD_NO_PAD.encode(share)],
        body,
    })
}

/// Now as RFC 3339 in UTC (`2006-01-02T15:04:05Z`), as age-keygen's `# created:` line.
fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let tod = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_identity_gives_spec_recipient() {
        let id = AgeIdentity::parse(
            "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX",
        )
        .unwrap();
        assert_eq!(
            id.recipient().to_string(),
            "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
        );
        assert_eq!(
            id.to_secret_string().as_str(),
            "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
        );
    }

    #[test]
    fn bip173_vectors() {
        for ok in [
            "A12UEL5L",
            "a12uel5l",
            "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
            "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
            "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
        ] {
            let (hrp, data) = bech32::decode(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            // Re-encoding gives the same string when the data fills whole bytes.
            if data.len() * 8 % 5 == 0 {
                let upper = ok.bytes().any(|c| c.is_ascii_uppercase());
                assert_eq!(bech32::encode(&hrp.to_ascii_lowercase(), &data, upper).as_str(), ok);
            }
        }
        for bad in [
            "pzry9x0s0muk",
            "1pzry9x0s0muk",
            "x1b4n0q5v",
            "li1dgmt3",
            "A1G7SGD8",
            "10a06t8",
            "1qzzfhee",
            "a12UEL5L",
        ] {
            assert!(bech32::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rfc3339_shape() {
        let s = rfc3339_now();
        assert_eq!(s.len(), 20, "{s}");
        assert!(
            s.starts_with("20") && s.ends_with('Z') && &s[10..11] == "T",
            "{s}"
        );
    }
}
