//! The audit trail's store: normalized records ([`crate::trail::record::Record`]) appended
//! durably, with their Merkle leaf hashes and signed checkpoints, in one SQLite file (the
//! embedded default) or in PostgreSQL (several receivers writing to one database).
//!
//! Owns: the schema of both backends, durable and idempotent appends, checkpoints (when one is
//! due, signing it, the witness copy), verification of the stored log against its checkpoints,
//! inclusion and consistency proofs from stored leaf hashes, retention, and the queries.
//!
//! Must not: speak HTTP (the receiver is mlguard-server's), parse event formats (that is
//! [`crate::trail::normalize`]), print or read command-line flags (the CLI's).
//!
//! This file is the contract between the store and the receivers: the receivers use only
//! [`Store::append`], [`Store::checkpoint_if_due`], [`StoreError::is_unavailable`] and [`open`].

use crate::trail::record::Record;
use crate::trail::note::Signer;
use std::path::PathBuf;
use std::time::Duration;

/// What one append did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppendSummary {
    /// Records stored by this call.
    pub appended: usize,
    /// Records skipped because their idempotency key (source, event id, stage) was already
    /// stored: a retried batch.
    pub duplicates: usize,
}

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store cannot be reached or written now (database down, disk full, locked): the
    /// receiver answers 503 so the sender retries. Nothing of the batch was stored.
    #[error("the audit store is unavailable: {0}")]
    Unavailable(String),
    /// The URL or options are wrong (a usage error).
    #[error("{0}")]
    Config(String),
    /// The store's contents are not what mlguard wrote (wrong schema version, corrupt rows).
    #[error("the audit store is corrupt: {0}")]
    Corrupt(String),
    /// Anything else that went wrong with the backend.
    #[error("{0}")]
    Backend(String),
}

impl StoreError {
    /// True when the sender should retry later (the receiver answers 503).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// When to sign checkpoints and where to copy them.
#[derive(Debug)]
pub struct CheckpointPolicy {
    /// The key that signs checkpoints; it lives outside the store.
    pub signer: Signer,
    /// The log's name, the first line of every checkpoint (C2SP tlog-checkpoint origin).
    pub origin: String,
    /// Sign one after this many new records...
    pub every_records: u64,
    /// ...or after this long with any new record.
    pub every: Duration,
    /// Every signed checkpoint is also appended to this file (the witness copy).
    pub witness: Option<PathBuf>,
}

/// How to open a store.
#[derive(Debug, Default)]
pub struct OpenOptions {
    /// Checkpoint signing; `None` for readers (query, prove, verify) and for receivers that do
    /// not sign.
    pub checkpoints: Option<CheckpointPolicy>,
    /// Create the schema when the store is empty (receivers); readers refuse an empty store.
    pub create: bool,
}

/// A place records are appended to. Methods block; async callers use `spawn_blocking`.
pub trait Store: Send + Sync {
    /// Appends a batch in order, all or nothing, and returns only once it is durable (SQLite
    /// `synchronous=FULL` commit, PostgreSQL commit). Records whose idempotency key is already
    /// stored, in this batch or before, are skipped and counted as duplicates. Signs a
    /// checkpoint when one is due by record count.
    fn append(&self, batch: &[Record]) -> Result<AppendSummary, StoreError>;

    /// Signs a checkpoint if the policy's time has passed with new records since the last one;
    /// receivers call this on a timer. `Ok(None)` when none was due (or no policy).
    fn checkpoint_if_due(&self) -> Result<Option<String>, StoreError>;
}
