//! The tamper-evidence core of mlguard's audit trail: an RFC 6962 Merkle tree over the leaf
//! hashes of the stored records, and checkpoints (tree size and root) signed as C2SP signed
//! notes with Ed25519 keys, so that anyone with the public key can check that the trail was
//! neither altered nor rewritten.
//!
//! Owns:
//! - the Merkle tree ([`merkle`]): leaf and node hashing, the root of any number of leaves, an
//!   append-only [`merkle::CompactTree`] holding only the right-hand frontier, inclusion and
//!   consistency proofs from a [`merkle::HashSource`] (RFC 6962 section 2.1.1 and 2.1.2), and
//!   their verification (RFC 9162 sections 2.1.3.2 and 2.1.4.2);
//! - signed notes and keys ([`note`]): the C2SP signed-note format, Ed25519 signer and
//!   verifier key texts as golang.org/x/mod/sumdb/note writes them, key generation;
//! - checkpoints ([`checkpoint`]): the C2SP tlog-checkpoint body, signing, and strict opening.
//!
//! Must not: store records or hashes, read files or Secrets, print, or keep time (the store
//! decides when to checkpoint and hands in leaf hashes; the CLI reads keys and prints
//! proofs). Leaf contents are the caller's canonical encoding of a record: this module only
//! hashes bytes, so dropping a record's payload while keeping its leaf hash leaves every root
//! and proof intact.

pub mod checkpoint;
pub mod gzip;
pub mod merkle;
pub mod normalize;
pub mod note;
pub mod record;

pub use checkpoint::{Checkpoint, CheckpointError};
pub use merkle::{CompactTree, Hash, HashSource};
pub use note::{Signer, Verifier};
