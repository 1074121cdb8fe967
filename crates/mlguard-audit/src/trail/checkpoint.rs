//! Checkpoints: signed statements of the trail's tree size and root, in the C2SP
//! tlog-checkpoint format (<https://c2sp.org/tlog-checkpoint>) carried by a C2SP signed note
//! ([`super::note`]).
//!
//! The note text is the origin (the log's identity), the tree size in decimal without leading
//! zeros, the base64 root hash, and optional non-empty extension lines, each ending in a
//! newline:
//!
//! ```text
//! <origin>
//! <tree size>
//! <base64 root hash>
//! [<extension line>...]
//!
//! — <key name> <base64(key ID || Ed25519 signature)>
//! ```
//!
//! [`open`] reads a checkpoint strictly: the note rules of [`super::note::open`], then exactly
//! this body (at least three lines, none empty; a canonical size; a root of exactly 32 bytes
//! in padded standard base64). Anything it accepts prints back byte for byte with
//! [`Checkpoint::to_body`]. The spec says the signing key's name SHOULD be the origin; that
//! is the caller's policy, not checked here.

use super::merkle::{Hash, HASH_LEN};
use super::note::{self, NoteError, Signer, Verifier};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

/// A log's tree head at a size.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// The log's identity (first line); non-empty, no control characters.
    pub origin: String,
    /// The number of leaves.
    pub size: u64,
    /// The RFC 6962 root over those leaves.
    pub root: Hash,
    /// Opaque extension lines after the root; each non-empty, no control characters.
    pub extensions: Vec<String>,
}

/// Why a checkpoint could not be signed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The signed note around the checkpoint is malformed or not signed by a trusted key.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The note text has fewer than the three lines of a checkpoint.
    #[error("checkpoint has {lines} lines; it needs the origin, the tree size and the root hash")]
    TooFewLines { lines: usize },
    /// A line of the note text is empty; `line` counts from 1.
    #[error("checkpoint line {line} is empty")]
    EmptyLine { line: usize },
    /// The second line is not a tree size.
    #[error(
        "checkpoint tree size {text:?} is not a decimal number without leading zeros below 2^64"
    )]
    BadSize { text: String },
    /// The third line is not base64.
    #[error("checkpoint root hash {text:?} is not padded standard base64")]
    BadRootEncoding { text: String },
    /// The third line does not decode to a SHA-256 hash.
    #[error("checkpoint root hash has {len} bytes; an RFC 6962 SHA-256 root has 32")]
    BadRootLength { len: usize },
    /// A checkpoint to sign has an origin or extension line that cannot be a line of a note.
    #[error("checkpoint {field} {value:?} is empty or has a newline or another control character")]
    InvalidLine { field: &'static str, value: String },
}

fn check_line(field: &'static str, value: &str) -> Result<(), CheckpointError> {
    if value.is_empty() || value.bytes().any(|b| b < 0x20) {
        return Err(CheckpointError::InvalidLine {
            field,
            value: value.to_string(),
        });
    }
    Ok(())
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Checkpoint {
        Checkpoint {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note text: origin, size, base64 root and extension lines, each ending in a newline.
    /// Fails when the origin or an extension line is empty or has a control character.
    pub fn to_body(&self) -> Result<String, CheckpointError> {
        check_line("origin", &self.origin)?;
        for ext in &self.extensions {
            check_line("extension line", ext)?;
        }
        let mut body = String::with_capacity(
            self.origin.len() + 66 + self.extensions.iter().map(|e| e.len() + 1).sum::<usize>(),
        );
        body.push_str(&self.origin);
        body.push('\n');
        body.push_str(&self.size.to_string());
        body.push('\n');
        B64.encode_string(self.root, &mut body);
        body.push('\n');
        for ext in &self.extensions {
            body.push_str(ext);
            body.push('\n');
        }
        Ok(body)
    }

    /// Read a checkpoint from a note text (what [`Checkpoint::to_body`] writes; the text
    /// must end with a newline). Does not look at signatures: use [`open`] on a signed note.
    pub fn parse_body(text: &str) -> Result<Checkpoint, CheckpointError> {
        let Some(text) = text.strip_suffix('\n') else {
            return Err(NoteError::TextNotTerminated.into());
        };
        if let Some(offset) = text.bytes().position(|b| b < 0x20 && b != b'\n') {
            let byte = text.as_bytes()[offset];
            return Err(NoteError::ControlCharacter { offset, byte }.into());
        }
        let lines: Vec<&str> = text.split('\n').collect();
        if let Some(i) = lines.iter().position(|l| l.is_empty()) {
            return Err(CheckpointError::EmptyLine { line: i + 1 });
        }
        if lines.len() < 3 {
            return Err(CheckpointError::TooFewLines { lines: lines.len() });
        }
        let size = parse_size(lines[1]).ok_or_else(|| CheckpointError::BadSize {
            text: lines[1].to_string(),
        })?;
        let raw = B64
            .decode(lines[2])
            .map_err(|_| CheckpointError::BadRootEncoding {
                text: lines[2].to_string(),
            })?;
        let root: Hash = raw
            .as_slice()
            .try_into()
            .map_err(|_| CheckpointError::BadRootLength { len: raw.len() })?;
        debug_assert_eq!(root.len(), HASH_LEN);
        Ok(Checkpoint {
            origin: lines[0].to_string(),
            size,
            root,
            extensions: lines[3..].iter().map(|l| l.to_string()).collect(),
        })
    }
}

/// ASCII decimal digits without a leading zero (except "0" itself), below 2^64.
fn parse_size(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// The signed note of `checkpoint` by `signer`.
pub fn sign(checkpoint: &Checkpoint, signer: &Signer) -> Result<String, CheckpointError> {
    Ok(note::sign(&checkpoint.to_body()?, &[signer])?)
}

/// Read a signed checkpoint note, checking its signatures against the trusted `verifiers`:
/// at least one must have signed, and every signature by a trusted key must verify;
/// signatures by other keys are ignored. Takes bytes or text.
pub fn open(note: impl AsRef<[u8]>, verifiers: &[Verifier]) -> Result<Checkpoint, CheckpointError> {
    let opened = note::open(note.as_ref(), verifiers)?;
    Checkpoint::parse_body(&opened.text)
}
