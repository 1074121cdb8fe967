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

use crate::trail::note::Signer;
use crate::trail::record::{Record, Source};
use std::path::PathBuf;
use std::time::Duration;

pub mod postgres;
pub mod proof;
pub mod query;
pub mod report;
pub mod retain;
pub mod schema;
pub mod sqlite;
pub mod verify;

pub use schema::{Encoded, StoredCheckpoint, StoredRow, SCHEMA_VERSION};

/// What one append did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppendSummary {
    /// Records stored by this call.
    pub appended: usize,
    /// Records skipped because their idempotency key (source, event id, stage, event time) was
    /// already stored: a retried batch.
    pub duplicates: usize,
}

/// An append committed by [`Store::append_deferred`] and not yet known durable.
#[derive(Debug)]
#[must_use = "an appended batch is durable only once passed to Store::make_durable"]
pub struct Deferred {
    /// What the append did.
    pub summary: AppendSummary,
    /// The checkpoint signed in the append's transaction, to copy to the witness file once it
    /// is durable.
    pub(crate) witness: Option<String>,
}

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store cannot be reached or written now (database down, disk full, locked): the
    /// receiver answers 503 so the sender retries. Nothing of the batch was stored, or (a failed
    /// [`Store::make_durable`]) it may not have reached the disk.
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
    /// Appends a batch in order, all or nothing, and returns only once it is durable (SQLite:
    /// the commit, then the store's flush of the WAL; PostgreSQL: the commit). Records whose
    /// idempotency key is already stored, in this batch or before, are skipped and counted as
    /// duplicates. Signs a checkpoint when one is due by record count.
    fn append(&self, batch: &[Record]) -> Result<AppendSummary, StoreError> {
        self.append_encoded(batch.iter().map(Encoded::new).collect())
    }

    /// [`Store::append`] of records already encoded (on the caller's thread, so that the
    /// store's single writer spends its time writing).
    fn append_encoded(&self, batch: Vec<Encoded>) -> Result<AppendSummary, StoreError>;

    /// [`Store::append_encoded`] split in two for a caller that overlaps one group's flush to
    /// disk with the next group's writing (the receiver's group commit): the batch is
    /// committed, and readers see it, but it is durable only once [`Store::make_durable`] has
    /// returned `Ok` for it. Nothing may report the batch stored before that. The default
    /// appends durably at once (PostgreSQL: its commit is the flush).
    fn append_deferred(&self, batch: Vec<Encoded>) -> Result<Deferred, StoreError> {
        Ok(Deferred {
            summary: self.append_encoded(batch)?,
            witness: None,
        })
    }

    /// Makes every append committed so far durable, with one flush, then copies the
    /// checkpoints that `done` signed to the witness file, in order. `done` are results of
    /// [`Store::append_deferred`] on this store. After a failed flush the store refuses every
    /// later append and flush (it cannot know what reached the disk): reopen it.
    fn make_durable(&self, done: &[Deferred]) -> Result<(), StoreError> {
        let _ = done;
        Ok(())
    }

    /// Signs a checkpoint if the policy's time has passed with new records since the last one;
    /// receivers call this on a timer. `Ok(None)` when none was due (or no policy).
    fn checkpoint_if_due(&self) -> Result<Option<String>, StoreError>;

    /// Why the store refuses every write until it is opened again (after a failed flush, see
    /// [`Store::make_durable`]), if it does: a receiver then fails its liveness check, so that
    /// its supervisor restarts it. `None` for a store that can still be written (or retried).
    fn poisoned(&self) -> Option<String> {
        None
    }
}

/// Which records a query returns: every filter given must match (by event time for
/// `since`/`until`); records whose payload retention dropped are never returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub model: Option<String>,
    /// The actor (authenticated user).
    pub actor: Option<String>,
    pub namespace: Option<String>,
    pub verb: Option<String>,
    pub source: Option<Source>,
    /// Event time at or after this (Unix nanoseconds).
    pub since_ns: Option<i64>,
    /// Event time before this (Unix nanoseconds).
    pub until_ns: Option<i64>,
    /// At most this many records (the earliest by event time).
    pub limit: Option<u64>,
    /// Only records after this (event time, seq) in the answer's order: the key of the last
    /// record of the previous page ([`query::for_each`] pages with it).
    pub after: Option<(i64, u64)>,
}

/// The store's reading side, and what the reading commands (verify, prove, query, report,
/// retain) need. Both backends implement it; [`open_log`] opens one.
pub trait Log: Store {
    /// The number of records appended (the tree size saved with the frontier).
    fn size(&self) -> Result<u64, StoreError> {
        Ok(self.stored_tree()?.size())
    }
    /// The tree the store saved after its last append (size and frontier, from `audit_meta`):
    /// what the next append extends and signs.
    fn stored_tree(&self) -> Result<merkle::CompactTree, StoreError>;
    /// The number of rows in `audit_records` (differs from [`Log::size`] only when rows were
    /// deleted or added behind the store's back).
    fn row_count(&self) -> Result<u64, StoreError>;
    /// Up to `limit` rows with `seq >= from`, by seq.
    fn rows(&self, from: u64, limit: u64) -> Result<Vec<StoredRow>, StoreError>;
    /// The leaf hashes of `from..to`, by seq (fails when a row is missing).
    fn leaf_hashes(&self, from: u64, to: u64) -> Result<Vec<merkle::Hash>, StoreError>;
    /// Every stored checkpoint, by size.
    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError>;
    /// The rows a query selects, by event time then seq.
    fn query(&self, q: &Query) -> Result<Vec<StoredRow>, StoreError>;
    /// The records a query selects, decoded ([`query::Decoded`]), by event time then seq. A
    /// backend that reads a query on several threads decodes there too.
    fn query_records(&self, q: &Query) -> Result<Vec<query::Decoded>, StoreError> {
        self.query(q)?.iter().map(query::Decoded::of).collect()
    }
    /// Drops the payload (canonical bytes and the query columns other than source, event id,
    /// stage and time) of every record whose event time is before `cutoff_ns`; keeps the leaf
    /// hashes. Returns how many records it expired now.
    fn retain(&self, cutoff_ns: i64) -> Result<u64, StoreError>;
    /// The durability settings in force on the store's own connection, as the backend names
    /// them: SQLite `journal_mode=wal synchronous=1 wal_flush=store` (1 is NORMAL: commits
    /// write the WAL, and the store flushes it before an append is reported durable; with no
    /// handle on the WAL file, `synchronous=2 wal_flush=sqlite`, FULL), PostgreSQL
    /// `synchronous_commit=on fsync=on`.
    fn durability(&self) -> Result<String, StoreError>;
}

use crate::trail::merkle;

/// Opens the store at `url` for appending (receivers) or reading: `sqlite:PATH` (also
/// `sqlite://PATH`) or `postgres://...` / `postgresql://...` (libpq URL; no TLS).
///
/// Blocks (it connects): call it from a blocking context, never from inside an async task
/// (the PostgreSQL client runs its own runtime). With `opts.create` the schema is created when
/// missing; without it an empty or missing store is a [`StoreError::Config`] error.
pub fn open(url: &str, opts: OpenOptions) -> Result<Box<dyn Store>, StoreError> {
    match backend(url)? {
        Backend::Sqlite(path) => Ok(Box::new(sqlite::SqliteStore::open(&path, opts)?)),
        Backend::Postgres(url) => Ok(Box::new(postgres::PgStore::open(&url, opts)?)),
    }
}

/// [`open`], returning the reading side too.
pub fn open_log(url: &str, opts: OpenOptions) -> Result<Box<dyn Log>, StoreError> {
    match backend(url)? {
        Backend::Sqlite(path) => Ok(Box::new(sqlite::SqliteStore::open(&path, opts)?)),
        Backend::Postgres(url) => Ok(Box::new(postgres::PgStore::open(&url, opts)?)),
    }
}

enum Backend {
    Sqlite(PathBuf),
    Postgres(String),
}

fn backend(url: &str) -> Result<Backend, StoreError> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() {
            return Err(StoreError::Config(format!(
                "store URL {url:?} names no file: use sqlite:PATH"
            )));
        }
        return Ok(Backend::Sqlite(PathBuf::from(path)));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Backend::Postgres(url.to_string()));
    }
    Err(StoreError::Config(format!(
        "store URL {:?} is neither sqlite:PATH nor postgres://USER@HOST:PORT/DB",
        redact_url(url)
    )))
}

/// A URL with any password replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, host) = match rest.split_once('@') {
        Some(p) => p,
        None => return url.to_string(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}
