//! The embedded store: one SQLite file in WAL mode. Commits run with `synchronous=NORMAL` and
//! the store flushes the WAL itself ([`WalFile`]) before [`Store::append`] returns, so a
//! commit is on disk before it is reported stored; a caller can overlap that flush with its
//! next append ([`Store::append_deferred`]). Several processes may open the file; SQLite's
//! write lock (`BEGIN IMMEDIATE`) serializes appends, so seq stays gapless. A large query by
//! model, user or namespace reads its rows on several read-only connections at once
//! ([`QUERY_READERS`]), so that a query whose pages are on disk keeps many reads in flight.

use super::schema::{self, Encoded, Param, StoredCheckpoint, StoredRow, ROW_COLUMNS};
use super::{
    query, AppendSummary, CheckpointPolicy, Deferred, Log, OpenOptions, Query, Store, StoreError,
};
use crate::trail::merkle::{CompactTree, Hash};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// An audit store in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    /// Read-only connections a large query fetches its rows with, kept between queries (at
    /// most `query_readers`). First, so they close first: the last connection to close copies
    /// the WAL into the database and removes it, which a read-only one cannot.
    readers: Mutex<Vec<Connection>>,
    /// The file the readers open: the store's path with symbolic links resolved when it was
    /// opened, so a later change of working folder does not move them.
    readers_path: PathBuf,
    conn: Mutex<Connection>,
    policy: Option<CheckpointPolicy>,
    path: PathBuf,
    /// The store's handle on the WAL, to flush commits made with `synchronous=NORMAL`; `None`
    /// when it could not be opened, and the connection then commits with `synchronous=FULL`.
    wal: Option<WalFile>,
    /// Writers only: the thread copying the WAL into the database (see [`WalCopier`]).
    _copier: Option<WalCopier>,
    /// How many of them a query uses at most (1: every query reads on `conn` alone).
    query_readers: usize,
    /// Queries answered in two steps, and queries that started in two and were answered in
    /// one (a chosen row without payload): the tests check which path answered.
    split_queries: AtomicU64,
    split_refused: AtomicU64,
}

/// How many connections a large query fetches its rows with at most. A record selected by
/// model, user or namespace lies wherever its arrival put it, so a query whose pages are not
/// in memory waits for one or two random reads per record: several connections keep that many
/// reads in flight, and on a warm cache they decode rows on every core. On the development
/// machine's disk a cold query's time stopped falling at 32 (docs/audit-store.md,
/// Performance).
pub const QUERY_READERS: usize = 32;

/// The fewest records a query fetches in parallel, and about the fewest per connection.
const SPLIT_MIN: usize = 256;

/// How often the background thread copies committed WAL frames into the database file.
/// Small, frequent copies keep each one's burst of writes short; measured against 100 ms under
/// the ingest benchmark (docs/audit.md, Benchmark).
const WAL_COPY_EVERY: Duration = Duration::from_millis(20);

/// The store's own handle on the WAL file (`PATH-wal`). The connection commits with
/// `synchronous=NORMAL`: SQLite writes a commit's frames to the WAL without waiting for the
/// disk. [`WalFile::flush`] then makes every commit written so far durable with one
/// `fdatasync`, which the receiver runs while its next group is being written (SQLite's
/// `synchronous=FULL` would wait for the disk inside each commit, holding the write lock).
/// A commit reported stored has been flushed either way.
///
/// A flush that fails poisons the store: Linux may drop the pages it could not write and
/// report a later flush clean, so nothing written since can be known durable. Every later
/// append and flush is then refused as unavailable until the store is reopened, when SQLite
/// recovers the WAL from what is on disk (as PostgreSQL does on an fsync failure).
#[derive(Debug)]
struct WalFile {
    path: PathBuf,
    /// The open file and its (device, inode), to notice a WAL replaced under the same name.
    file: Mutex<(std::fs::File, (u64, u64))>,
    failed: AtomicBool,
    /// Flushes done (the tests check that an append flushes before it returns).
    flushes: AtomicU64,
}

impl WalFile {
    fn open(db: &Path) -> std::io::Result<WalFile> {
        // SQLite names the WAL after the database's full path with symbolic links resolved:
        // a `-wal` file beside a link to the database would be another file.
        let mut name = std::fs::canonicalize(db)?.into_os_string();
        name.push("-wal");
        let path = PathBuf::from(name);
        let file = open_flushed(&path)?;
        Ok(WalFile {
            path,
            file: Mutex::new(file),
            failed: AtomicBool::new(false),
            flushes: AtomicU64::new(0),
        })
    }

    /// Flushes the WAL: every commit made before the call is then on disk.
    fn flush(&self) -> Result<(), StoreError> {
        self.usable()?;
        let mut held = self.file.lock().unwrap_or_else(|p| p.into_inner());
        self.flushes.fetch_add(1, Ordering::SeqCst);
        let flushed = held.0.sync_data().and_then(|()| {
            // SQLite deletes the WAL only once all of it is copied into the database file and
            // that is synced (the last connection closing); should a new WAL have taken the
            // name since, its frames are flushed too, and it is the one held from now on.
            match std::fs::metadata(&self.path) {
                Ok(m) if (m.dev(), m.ino()) != held.1 => *held = open_flushed(&self.path)?,
                _ => {}
            }
            Ok(())
        });
        flushed.map_err(|e| {
            self.failed.store(true, Ordering::SeqCst);
            StoreError::Unavailable(format!(
                "cannot flush the write-ahead log {}: {e}; the store refuses writes until it \
                 is reopened",
                self.path.display()
            ))
        })
    }

    /// `Err` once a flush has failed (see the type's doc).
    fn usable(&self) -> Result<(), StoreError> {
        if self.failed.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable(format!(
                "an earlier flush of the write-ahead log {} failed; restart the receiver",
                self.path.display()
            )));
        }
        Ok(())
    }
}

/// Opens `path` and flushes it and its folder: SQLite syncs a new WAL's directory entry only
/// at its first sync, which `synchronous=NORMAL` leaves to the first checkpoint.
fn open_flushed(path: &Path) -> std::io::Result<(std::fs::File, (u64, u64))> {
    let f = std::fs::File::open(path)?;
    f.sync_data()?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)?.sync_all()?;
    let m = f.metadata()?;
    Ok((f, (m.dev(), m.ino())))
}

/// A thread with its own connection that runs `PRAGMA wal_checkpoint(PASSIVE)` every
/// [`WAL_COPY_EVERY`]: it copies committed pages from the WAL into the database file without
/// blocking the writer, so the appending thread (the receiver's one serial step) no longer
/// stops to do it. A passive checkpoint changes nothing about durability: commits are durable
/// in the WAL; copying them is maintenance. The writer keeps SQLite's own automatic checkpoint
/// at [`WAL_SAFETY_PAGES`] as a bound on the WAL's size should this thread fall behind.
/// Stopped and joined when the store is dropped.
#[derive(Debug)]
struct WalCopier {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The writer's own automatic checkpoint (pages, about 200 MiB), behind the background copier.
const WAL_SAFETY_PAGES: u32 = 50_000;

impl WalCopier {
    fn start(path: &Path) -> Option<WalCopier> {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE).ok()?;
        conn.busy_timeout(Duration::from_millis(50)).ok()?;
        // A checkpoint syncs the WAL before copying and the database file after (so the writer
        // may only then start the WAL over) unless synchronous is OFF: never on this connection.
        conn.execute_batch("PRAGMA synchronous=FULL").ok()?;
        let (stop, rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("mlguard-audit-wal".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    rx.recv_timeout(WAL_COPY_EVERY)
                {
                    // Busy or failed: the next round (or the writer's own checkpoint) does it.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .ok()?;
        Some(WalCopier {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for WalCopier {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn err(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::*;
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                DatabaseBusy
                    | DatabaseLocked
                    | SystemIoFailure
                    | DiskFull
                    | CannotOpen
                    | ReadOnly
                    | OutOfMemory
            ) =>
        {
            StoreError::Unavailable(e.to_string())
        }
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, NotADatabase | DatabaseCorrupt) =>
        {
            StoreError::Corrupt(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

impl SqliteStore {
    /// Opens (with `opts.create`, creates) the store in the file `path`.
    pub fn open(path: &Path, opts: OpenOptions) -> Result<SqliteStore, StoreError> {
        if !opts.create && !path.exists() {
            return Err(StoreError::Config(format!(
                "there is no audit store at {}: pass --store, or receive events first \
                 (mlguard audit serve | ingest)",
                path.display()
            )));
        }
        if opts.create {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Config(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
        }
        let flags = if opts.create {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        };
        let wrap = |e: rusqlite::Error| match err(e) {
            StoreError::Backend(m) | StoreError::Unavailable(m) | StoreError::Corrupt(m) => {
                StoreError::Unavailable(format!("{}: {m}", path.display()))
            }
            other => other,
        };
        let conn = Connection::open_with_flags(path, flags).map_err(wrap)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(wrap)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(wrap)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "{}: SQLite refused WAL mode (journal_mode is {mode})",
                path.display()
            )));
        }
        // Setting up (the schema, an upgrade) commits with synchronous=FULL; `finish_open`
        // then hands flushing to [`WalFile`]. A 64 MiB page cache keeps the indexes' hot
        // pages. A writer leaves copying the WAL into the database to a background thread
        // ([`WalCopier`]); readers keep SQLite's default.
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA cache_size=-65536;")
            .map_err(wrap)?;
        if opts.create {
            conn.pragma_update(None, "wal_autocheckpoint", WAL_SAFETY_PAGES)
                .map_err(wrap)?;
        }
        let has_meta: bool = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='audit_meta'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(wrap)?
            > 0;
        if !has_meta {
            if !opts.create {
                return Err(StoreError::Config(format!(
                    "{} is not an mlguard audit store (it has no audit_meta table)",
                    path.display()
                )));
            }
            let mut conn = conn;
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(wrap)?;
            // INTEGER: `seq INTEGER PRIMARY KEY` is SQLite's rowid.
            tx.execute_batch(&schema::ddl("INTEGER", "BLOB"))
                .map_err(wrap)?;
            for (k, v) in [
                (schema::META_VERSION, schema::SCHEMA_VERSION),
                (schema::META_SIZE, "0"),
                (schema::META_FRONTIER, ""),
            ] {
                tx.execute(
                    "INSERT OR IGNORE INTO audit_meta (key, value) VALUES (?1, ?2)",
                    params![k, v],
                )
                .map_err(wrap)?;
            }
            tx.commit().map_err(wrap)?;
            return finish_open(conn, path, opts).map_err(wrap);
        }
        let version: Option<String> = conn
            .query_row(
                "SELECT value FROM audit_meta WHERE key = ?1",
                [schema::META_VERSION],
                |r| r.get(0),
            )
            .optional()
            .map_err(wrap)?;
        let mut conn = conn;
        match version.as_deref() {
            Some(schema::SCHEMA_VERSION) => {}
            Some("1") => migrate_v1(&mut conn).map_err(|e| {
                StoreError::Unavailable(format!(
                    "{}: cannot upgrade the store from schema version 1: {e}",
                    path.display()
                ))
            })?,
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "{}: schema version {version:?}; this build reads version {} (and \
                     upgrades version 1)",
                    path.display(),
                    schema::SCHEMA_VERSION
                )))
            }
        }
        finish_open(conn, path, opts).map_err(wrap)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// At most `n` connections per query fetch rows (default [`QUERY_READERS`]; 1 reads every
    /// query on the store's one connection, as a query ran before queries were split).
    #[must_use]
    pub fn with_query_readers(mut self, n: usize) -> SqliteStore {
        self.query_readers = n.max(1);
        self
    }

    /// A query in one statement on the store's connection.
    fn query_whole(&self, q: &Query) -> Result<Vec<StoredRow>, StoreError> {
        let (sql, params) = schema::query_sql(q, |n| format!("?{n}"));
        let c = self.conn();
        let mut stmt = c.prepare_cached(&sql).map_err(err)?;
        collect_rows(&mut stmt, rusqlite::params_from_iter(values(params)))
    }

    /// A query in two steps, when its records can be chosen from one index and there are
    /// enough of them: the seqs from the index ([`schema::candidates_sql`]), in the answer's
    /// order, then the rows by seq, each reader connection a run of them, each row passed
    /// through `map` on the thread that read it. `None` when the query does not split, or
    /// when a chosen row fails the query's full condition (it has no payload: altered behind
    /// the store's back); [`SqliteStore::query_whole`] then answers.
    ///
    /// The connections read in snapshots of their own. Rows are only ever appended, and
    /// retention only empties a row (the second step's condition then refuses it), so each
    /// row the first step chose is read as it was, or the query is answered whole.
    fn query_split<T: Send>(
        &self,
        q: &Query,
        map: impl Fn(StoredRow) -> Result<T, StoreError> + Sync,
    ) -> Result<Option<Vec<T>>, StoreError> {
        if self.query_readers < 2 {
            return Ok(None);
        }
        let Some((sql, params)) = schema::candidates_sql(q, |n| format!("?{n}")) else {
            return Ok(None);
        };
        let seqs: Vec<i64> = {
            let c = self.conn();
            let mut stmt = c.prepare_cached(&sql).map_err(err)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(values(params)), |r| r.get(0))
                .map_err(err)?;
            rows.collect::<rusqlite::Result<_>>().map_err(err)?
        };
        if seqs.len() < SPLIT_MIN {
            return Ok(None);
        }
        let workers = self.query_readers.min(seqs.len().div_ceil(SPLIT_MIN));
        let runs: Vec<Result<Option<Vec<T>>, StoreError>> = std::thread::scope(|s| {
            let handles: Vec<_> = seqs
                .chunks(seqs.len().div_ceil(workers))
                .map(|run| s.spawn(|| self.fetch(run, &map)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(StoreError::Backend(
                            "a query's reader thread panicked".into(),
                        ))
                    })
                })
                .collect()
        });
        let mut out = Vec::with_capacity(seqs.len());
        for run in runs {
            let Some(rows) = run? else {
                self.split_refused.fetch_add(1, Ordering::Relaxed);
                return Ok(None);
            };
            out.extend(rows);
        }
        self.split_queries.fetch_add(1, Ordering::Relaxed);
        Ok(Some(out))
    }

    /// The rows of the seqs `run`, in its order, read on a reader connection and passed
    /// through `map`; `None` as soon as one fails the query's payload condition.
    fn fetch<T>(
        &self,
        run: &[i64],
        map: &impl Fn(StoredRow) -> Result<T, StoreError>,
    ) -> Result<Option<Vec<T>>, StoreError> {
        let conn = self.reader()?;
        let rows = (|| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {ROW_COLUMNS} FROM audit_records WHERE seq = ?1 AND canonical IS NOT NULL"
                ))
                .map_err(err)?;
            let mut out = Vec::with_capacity(run.len());
            for &seq in run {
                let Some((seq, mut row)) =
                    stmt.query_row([seq], read_row).optional().map_err(err)?
                else {
                    return Ok(None);
                };
                row.seq = schema::to_u64(seq, "seq")?;
                out.push(map(row)?);
            }
            Ok(Some(out))
        })();
        let mut kept = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() < self.query_readers {
            kept.push(conn);
        }
        rows
    }

    /// A reader connection: a kept one, or a new one (read-only).
    fn reader(&self) -> Result<Connection, StoreError> {
        if let Some(c) = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(c);
        }
        let c = Connection::open_with_flags(
            &self.readers_path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        c.busy_timeout(Duration::from_secs(10)).map_err(err)?;
        // Its reads are of pages met once; a small cache bounds what the kept readers hold.
        c.execute_batch("PRAGMA cache_size=-512").map_err(err)?;
        Ok(c)
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes every commit so far durable (nothing to do when SQLite flushes in each commit).
    fn flush(&self) -> Result<(), StoreError> {
        self.wal.as_ref().map_or(Ok(()), WalFile::flush)
    }

    /// `Err` once a flush has failed.
    fn writable(&self) -> Result<(), StoreError> {
        self.wal.as_ref().map_or(Ok(()), WalFile::usable)
    }
}

/// The store on `conn`, set up: its [`WalFile`] (and `synchronous=NORMAL` once that is open),
/// and a writer's [`WalCopier`].
fn finish_open(conn: Connection, path: &Path, opts: OpenOptions) -> rusqlite::Result<SqliteStore> {
    // Without its own handle on the WAL the store keeps synchronous=FULL: SQLite flushes.
    let wal = WalFile::open(path).ok();
    if wal.is_some() {
        conn.execute_batch("PRAGMA synchronous=NORMAL")?;
    }
    Ok(SqliteStore {
        conn: Mutex::new(conn),
        wal,
        _copier: if opts.create {
            WalCopier::start(path)
        } else {
            None
        },
        policy: opts.checkpoints,
        path: path.to_path_buf(),
        readers: Mutex::new(Vec::new()),
        readers_path: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        query_readers: QUERY_READERS,
        split_queries: AtomicU64::new(0),
        split_refused: AtomicU64::new(0),
    })
}

/// Upgrades a version 1 store to version 2 (see [`schema::SCHEMA_VERSION`]) in one
/// transaction. SQLite cannot drop a table's UNIQUE constraint, so the rows move to a table made
/// afresh, in seq order; their bytes, and so the tree, are unchanged.
fn migrate_v1(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: String = tx.query_row(
        "SELECT value FROM audit_meta WHERE key = ?1",
        [schema::META_VERSION],
        |r| r.get(0),
    )?;
    if version != "1" {
        // Another writer upgraded it first.
        return tx.commit();
    }
    tx.execute_batch(
        "ALTER TABLE audit_records RENAME TO audit_records_v1;
         DROP INDEX IF EXISTS audit_records_model;
         DROP INDEX IF EXISTS audit_records_actor;
         DROP INDEX IF EXISTS audit_records_namespace;
         DROP INDEX IF EXISTS audit_records_time;",
    )?;
    tx.execute_batch(&schema::ddl("INTEGER", "BLOB"))?;
    tx.execute_batch(&format!(
        "INSERT INTO audit_records ({ROW_COLUMNS}) \
         SELECT {ROW_COLUMNS} FROM audit_records_v1 ORDER BY seq;
         DROP TABLE audit_records_v1;"
    ))?;
    tx.execute(
        "UPDATE audit_meta SET value = ?1 WHERE key = ?2",
        params![schema::SCHEMA_VERSION, schema::META_VERSION],
    )?;
    tx.commit()
}

fn meta(c: &Connection, key: &str) -> Result<String, StoreError> {
    c.query_row("SELECT value FROM audit_meta WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
    .map_err(err)?
    .ok_or_else(|| StoreError::Corrupt(format!("audit_meta has no {key}")))
}

fn load_tree(c: &Connection) -> Result<CompactTree, StoreError> {
    schema::tree_from_meta(
        &meta(c, schema::META_SIZE)?,
        &meta(c, schema::META_FRONTIER)?,
    )
}

fn last_checkpoint(c: &Connection) -> Result<Option<(u64, i64)>, StoreError> {
    c.query_row(
        "SELECT size, signed_at_ns FROM audit_checkpoints ORDER BY size DESC LIMIT 1",
        [],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
    )
    .optional()
    .map_err(err)?
    .map(|(s, t)| Ok((schema::to_u64(s, "checkpoint size")?, t)))
    .transpose()
}

fn save(
    c: &Connection,
    tree: &CompactTree,
    cp: Option<&StoredCheckpoint>,
) -> Result<(), StoreError> {
    let mut up = c
        .prepare_cached("UPDATE audit_meta SET value = ?2 WHERE key = ?1")
        .map_err(err)?;
    up.execute(params![schema::META_SIZE, tree.size().to_string()])
        .map_err(err)?;
    up.execute(params![schema::META_FRONTIER, schema::frontier_text(tree)])
        .map_err(err)?;
    if let Some(cp) = cp {
        c.execute(
            "INSERT INTO audit_checkpoints (size, root, note, signed_at_ns) VALUES (?1, ?2, ?3, ?4)",
            params![schema::to_i64(cp.size)?, cp.root, cp.note, cp.signed_at_ns],
        )
        .map_err(err)?;
    }
    Ok(())
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, StoredRow)> {
    let seq: i64 = r.get(0)?;
    Ok((
        seq,
        StoredRow {
            seq: 0,
            leaf_hash: r.get(1)?,
            source: r.get(2)?,
            event_id: r.get(3)?,
            stage: r.get(4)?,
            time_ns: r.get(5)?,
            actor: r.get(6)?,
            verb: r.get(7)?,
            resource: r.get(8)?,
            namespace: r.get(9)?,
            name: r.get(10)?,
            model: r.get(11)?,
            canonical: r.get(12)?,
        },
    ))
}

/// A generated query's parameters, as SQLite values.
fn values(params: Vec<Param>) -> Vec<rusqlite::types::Value> {
    params
        .into_iter()
        .map(|p| match p {
            Param::Text(s) => rusqlite::types::Value::Text(s),
            Param::Int(i) => rusqlite::types::Value::Integer(i),
        })
        .collect()
}

fn collect_rows(
    stmt: &mut rusqlite::Statement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<StoredRow>, StoreError> {
    let mut out = Vec::new();
    let mut rows = stmt.query(params).map_err(err)?;
    while let Some(r) = rows.next().map_err(err)? {
        let (seq, mut row) = read_row(r).map_err(err)?;
        row.seq = schema::to_u64(seq, "seq")?;
        out.push(row);
    }
    Ok(out)
}

impl Store for SqliteStore {
    fn append_encoded(&self, batch: Vec<Encoded>) -> Result<AppendSummary, StoreError> {
        let done = self.append_deferred(batch)?;
        self.make_durable(std::slice::from_ref(&done))?;
        Ok(done.summary)
    }

    /// One pass: each row is inserted with the next seq unless its key is already stored
    /// (`ON CONFLICT ... DO NOTHING`, which also catches a repeat within the batch); only a
    /// row that was inserted takes a seq and enters the tree. No separate lookup per record.
    fn append_deferred(&self, batch: Vec<Encoded>) -> Result<Deferred, StoreError> {
        self.writable()?;
        if batch.is_empty() {
            return Ok(Deferred {
                summary: AppendSummary::default(),
                witness: None,
            });
        }
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let mut tree = load_tree(&tx)?;
        let last = last_checkpoint(&tx)?.map_or(0, |l| l.0);
        let mut appended = 0;
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO audit_records (seq, leaf_hash, source, event_id, stage, time_ns, \
                     actor, verb, resource, namespace, name, model, canonical) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
                     ON CONFLICT (time_ns, source, event_id, stage) DO NOTHING",
                )
                .map_err(err)?;
            for e in &batch {
                let row = e.row();
                let n = ins
                    .execute(params![
                        schema::to_i64(tree.size())?,
                        row.leaf_hash,
                        row.source,
                        row.event_id,
                        row.stage,
                        row.time_ns,
                        row.actor,
                        row.verb,
                        row.resource,
                        row.namespace,
                        row.name,
                        row.model,
                        row.canonical,
                    ])
                    .map_err(err)?;
                if n == 1 {
                    tree.push(e.leaf());
                    appended += 1;
                }
            }
        }
        let checkpoint = schema::checkpoint_due(self.policy.as_ref(), &tree, appended > 0, last)?;
        save(&tx, &tree, checkpoint.as_ref())?;
        tx.commit().map_err(err)?;
        Ok(Deferred {
            summary: AppendSummary {
                appended,
                duplicates: batch.len() - appended,
            },
            witness: checkpoint.map(|cp| cp.note),
        })
    }

    fn make_durable(&self, done: &[Deferred]) -> Result<(), StoreError> {
        self.flush()?;
        if let Some(p) = &self.policy {
            for note in done.iter().filter_map(|d| d.witness.as_deref()) {
                schema::write_witness(p, note)?;
            }
        }
        Ok(())
    }

    fn poisoned(&self) -> Option<String> {
        self.writable().err().map(|e| e.to_string())
    }

    fn checkpoint_if_due(&self) -> Result<Option<String>, StoreError> {
        self.writable()?;
        let Some(policy) = &self.policy else {
            return Ok(None);
        };
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let tree = load_tree(&tx)?;
        if !schema::due_by_time(policy, tree.size(), last_checkpoint(&tx)?) {
            return Ok(None);
        }
        let cp = schema::sign(policy, &tree)?;
        save(&tx, &tree, Some(&cp))?;
        tx.commit().map_err(err)?;
        drop(conn);
        // As for a checkpoint signed in an append: durable first, then the witness copy.
        let done = Deferred {
            summary: AppendSummary::default(),
            witness: Some(cp.note),
        };
        self.make_durable(std::slice::from_ref(&done))?;
        Ok(done.witness)
    }
}

impl Log for SqliteStore {
    fn stored_tree(&self) -> Result<CompactTree, StoreError> {
        load_tree(&self.conn())
    }

    fn row_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()
            .query_row("SELECT count(*) FROM audit_records", [], |r| r.get(0))
            .map_err(err)?;
        schema::to_u64(n, "row count")
    }

    fn rows(&self, from: u64, limit: u64) -> Result<Vec<StoredRow>, StoreError> {
        let c = self.conn();
        let mut stmt = c
            .prepare_cached(&format!(
                "SELECT {ROW_COLUMNS} FROM audit_records WHERE seq >= ?1 ORDER BY seq LIMIT ?2"
            ))
            .map_err(err)?;
        collect_rows(
            &mut stmt,
            params![schema::to_i64(from)?, schema::to_i64(limit)?],
        )
    }

    fn leaf_hashes(&self, from: u64, to: u64) -> Result<Vec<Hash>, StoreError> {
        let c = self.conn();
        let mut stmt = c
            .prepare_cached(
                "SELECT seq, leaf_hash FROM audit_records WHERE seq >= ?1 AND seq < ?2 ORDER BY seq",
            )
            .map_err(err)?;
        let mut rows = stmt
            .query(params![schema::to_i64(from)?, schema::to_i64(to)?])
            .map_err(err)?;
        let mut out = Vec::with_capacity(usize::try_from(to - from).unwrap_or(0));
        while let Some(r) = rows.next().map_err(err)? {
            let seq: i64 = r.get(0).map_err(err)?;
            let h: Vec<u8> = r.get(1).map_err(err)?;
            out.push(super::proof::check_leaf(seq, from + out.len() as u64, &h)?);
        }
        super::proof::check_leaf_count(from, to, out.len())?;
        Ok(out)
    }

    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let c = self.conn();
        let mut stmt = c
            .prepare_cached(
                "SELECT size, root, note, signed_at_ns FROM audit_checkpoints ORDER BY size",
            )
            .map_err(err)?;
        let mut rows = stmt.query([]).map_err(err)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(err)? {
            out.push(StoredCheckpoint {
                size: schema::to_u64(r.get(0).map_err(err)?, "checkpoint size")?,
                root: r.get(1).map_err(err)?,
                note: r.get(2).map_err(err)?,
                signed_at_ns: r.get(3).map_err(err)?,
            });
        }
        Ok(out)
    }

    fn query(&self, q: &Query) -> Result<Vec<StoredRow>, StoreError> {
        match self.query_split(q, Ok)? {
            Some(rows) => Ok(rows),
            None => self.query_whole(q),
        }
    }

    fn query_records(&self, q: &Query) -> Result<Vec<query::Decoded>, StoreError> {
        let decode = |row: StoredRow| query::Decoded::of(&row);
        match self.query_split(q, decode)? {
            Some(records) => Ok(records),
            None => self.query_whole(q)?.into_iter().map(decode).collect(),
        }
    }

    fn retain(&self, cutoff_ns: i64) -> Result<u64, StoreError> {
        self.writable()?;
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let n = tx
            .execute(
                "UPDATE audit_records SET canonical = NULL, actor = NULL, verb = NULL, \
                 resource = NULL, namespace = NULL, name = NULL, model = NULL \
                 WHERE time_ns < ?1 AND canonical IS NOT NULL",
                [cutoff_ns],
            )
            .map_err(err)?;
        tx.commit().map_err(err)?;
        drop(conn);
        self.flush()?;
        Ok(n as u64)
    }

    fn durability(&self) -> Result<String, StoreError> {
        let c = self.conn();
        let mode: String = c
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(err)?;
        let sync: i64 = c
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .map_err(err)?;
        Ok(format!(
            "journal_mode={} synchronous={sync} wal_flush={}",
            mode.to_lowercase(),
            if self.wal.is_some() {
                "store"
            } else {
                "sqlite"
            }
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trail::record::{Record, Source};

    fn writer(dir: &Path) -> SqliteStore {
        let opts = OpenOptions {
            checkpoints: None,
            create: true,
        };
        SqliteStore::open(&dir.join("audit.db"), opts).unwrap()
    }

    fn batch(id: &str) -> Vec<Encoded> {
        vec![Encoded::new(&Record::new(
            Source::K8s,
            id,
            1_700_000_000_000_000_000,
        ))]
    }

    fn flushes(s: &SqliteStore) -> u64 {
        s.wal.as_ref().unwrap().flushes.load(Ordering::SeqCst)
    }

    /// Commits skip SQLite's own sync (NORMAL); the store's flush makes them durable, and an
    /// append flushes before it returns. A deferred append flushes only when made durable.
    #[test]
    fn an_append_is_flushed_before_it_returns() {
        let dir = tempfile::tempdir().unwrap();
        let s = writer(dir.path());
        assert_eq!(
            s.durability().unwrap(),
            "journal_mode=wal synchronous=1 wal_flush=store"
        );
        let before = flushes(&s);
        assert_eq!(s.append_encoded(batch("a")).unwrap().appended, 1);
        assert_eq!(flushes(&s), before + 1);
        let d = s.append_deferred(batch("b")).unwrap();
        assert_eq!(flushes(&s), before + 1);
        s.make_durable(&[d]).unwrap();
        assert_eq!(flushes(&s), before + 2);
        s.retain(0).unwrap();
        assert_eq!(flushes(&s), before + 3);
    }

    /// A query read in two steps (seqs from an index, then rows on several connections)
    /// answers exactly what the one-statement query does: the same rows in the same order
    /// (event time, ties by seq), under every filter, range, page and limit; a query it
    /// cannot split, or a chosen row altered behind the store's back, is answered whole.
    #[test]
    fn a_split_query_answers_as_the_whole_query() {
        let dir = tempfile::tempdir().unwrap();
        let s = writer(dir.path());
        let t0 = 1_700_000_000_000_000_000_i64;
        let batch: Vec<Encoded> = (0..3_000_i64)
            .map(|i| {
                // Times out of arrival order, with ties: i, i + 500, i + 1,000... share one,
                // and i and i + 1,500 share a model too.
                let mut r =
                    Record::new(Source::Inference, format!("ev-{i}"), t0 + (i * 7919) % 500);
                r.model = Some(format!("model-{}", i % 3));
                r.actor = format!("user-{}", i % 2);
                r.namespace = Some(format!("team-{}", i % 5));
                r.verb = if i % 4 == 0 { "get" } else { "query" }.into();
                r.resource = "inferenceservices".into();
                Encoded::new(&r)
            })
            .collect();
        s.append_encoded(batch).unwrap();
        let model = |m: &str| Query {
            model: Some(m.into()),
            ..Query::default()
        };
        // A page boundary inside a tie: the key of a record followed by one at the same time.
        let all = s.query_whole(&model("model-0")).unwrap();
        let tie = all
            .windows(2)
            .position(|w| w[0].time_ns == w[1].time_ns)
            .expect("model-0 has records that share a time");
        let splits = [
            model("model-1"),
            Query {
                since_ns: Some(t0 + 100),
                until_ns: Some(t0 + 900),
                ..model("model-2")
            },
            Query {
                limit: Some(700),
                ..model("model-0")
            },
            Query {
                after: Some((all[tie].time_ns, all[tie].seq)),
                limit: Some(300),
                ..model("model-0")
            },
            Query {
                actor: Some("user-1".into()),
                ..Query::default()
            },
            Query {
                namespace: Some("team-3".into()),
                ..Query::default()
            },
        ];
        let whole = [
            Query {
                verb: Some("query".into()),
                ..model("model-1")
            },
            Query {
                actor: Some("user-1".into()),
                ..model("model-1")
            },
            Query::default(),
            Query {
                limit: Some(100),
                ..model("model-1")
            },
        ];
        let check = |q: &Query| {
            let want = s.query_whole(q).unwrap();
            assert!(!want.is_empty(), "{q:?}");
            assert_eq!(s.query(q).unwrap(), want, "{q:?}");
            let decoded: Vec<query::Decoded> = want
                .iter()
                .map(|row| query::Decoded::of(row).unwrap())
                .collect();
            assert_eq!(s.query_records(q).unwrap(), decoded, "{q:?}");
        };
        for q in &splits {
            let before = s.split_queries.load(Ordering::Relaxed);
            check(q);
            assert_eq!(s.split_queries.load(Ordering::Relaxed), before + 2, "{q:?}");
        }
        let before = s.split_queries.load(Ordering::Relaxed);
        for q in &whole {
            check(q);
        }
        assert_eq!(s.split_queries.load(Ordering::Relaxed), before);
        // The earliest row of model-1 loses its payload but keeps its model: the split query
        // chooses it from the index, refuses it, and answers whole, without it (with a limit,
        // the next row takes its place).
        let first = s.query_whole(&model("model-1")).unwrap()[0].seq;
        s.conn()
            .execute(
                "UPDATE audit_records SET canonical = NULL WHERE seq = ?1",
                [first as i64],
            )
            .unwrap();
        let limited = Query {
            limit: Some(600),
            ..model("model-1")
        };
        for q in [model("model-1"), limited] {
            let before = s.split_queries.load(Ordering::Relaxed);
            let refused = s.split_refused.load(Ordering::Relaxed);
            let got = s.query(&q).unwrap();
            assert_eq!(s.split_queries.load(Ordering::Relaxed), before);
            assert_eq!(s.split_refused.load(Ordering::Relaxed), refused + 1);
            assert_eq!(got, s.query_whole(&q).unwrap());
            assert!(got.iter().all(|r| r.seq != first));
            assert_eq!(got.len(), if q.limit.is_some() { 600 } else { 999 });
        }
        assert_eq!(s.split_refused.load(Ordering::Relaxed), 2);
        // With one reader, nothing splits.
        let one = writer(dir.path()).with_query_readers(1);
        assert_eq!(
            one.query(&model("model-2")).unwrap(),
            s.query(&model("model-2")).unwrap()
        );
        assert_eq!(one.split_queries.load(Ordering::Relaxed), 0);
    }

    /// Pages are keyed on the rows' time column, which the query orders by, not on the
    /// payload's time: a row whose column was altered behind the store's back is neither read
    /// twice nor skipped.
    #[test]
    fn pages_follow_the_rows_time_column() {
        let dir = tempfile::tempdir().unwrap();
        let s = writer(dir.path());
        let batch: Vec<Encoded> = (0..40_i64)
            .map(|i| {
                let mut r = Record::new(Source::K8s, format!("ev-{i}"), 1_000 + i);
                r.model = Some("m".into());
                Encoded::new(&r)
            })
            .collect();
        s.append_encoded(batch).unwrap();
        s.conn()
            .execute("UPDATE audit_records SET time_ns = time_ns + 7", [])
            .unwrap();
        let q = Query {
            model: Some("m".into()),
            ..Query::default()
        };
        let mut seen = Vec::new();
        query::for_each_paged(&s, &q, 6, &mut |seq, _| {
            seen.push(seq);
            if seen.len() > 40 {
                return Err(StoreError::Backend("a record read twice".into()));
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, (0..40).collect::<Vec<u64>>());
    }

    /// A store opened through a symbolic link flushes the WAL SQLite writes, beside the
    /// database file, not a `-wal` file beside the link.
    #[test]
    fn the_wal_flushed_is_the_one_sqlite_writes() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("data");
        std::fs::create_dir(&real).unwrap();
        drop(writer(&real));
        let link = dir.path().join("audit.db");
        std::os::unix::fs::symlink(real.join("audit.db"), &link).unwrap();
        std::fs::write(dir.path().join("audit.db-wal"), b"decoy").unwrap();
        let s = SqliteStore::open(&link, OpenOptions::default()).unwrap();
        s.append_encoded(batch("a")).unwrap();
        let wal = s.wal.as_ref().unwrap();
        let sqlite_wal = std::fs::canonicalize(real.join("audit.db-wal")).unwrap();
        assert_eq!(wal.path, sqlite_wal);
        let m = std::fs::metadata(&sqlite_wal).unwrap();
        assert_eq!(wal.file.lock().unwrap().1, (m.dev(), m.ino()));
    }

    /// A WAL file replaced under the same name is the one flushed from then on.
    #[test]
    fn a_replaced_wal_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        let wal_path = dir.path().join("x.db-wal");
        std::fs::write(&db, b"").unwrap();
        std::fs::write(&wal_path, b"old").unwrap();
        let wal = WalFile::open(&db).unwrap();
        let old = wal.file.lock().unwrap().1;
        let fresh = dir.path().join("fresh");
        std::fs::write(&fresh, b"new").unwrap();
        std::fs::rename(&fresh, &wal_path).unwrap();
        wal.flush().unwrap();
        let held = wal.file.lock().unwrap().1;
        let m = std::fs::metadata(&wal_path).unwrap();
        assert_ne!(held, old);
        assert_eq!(held, (m.dev(), m.ino()));
    }

    /// After a failed flush nothing more is written or reported durable.
    #[test]
    fn a_failed_flush_refuses_every_later_write() {
        let dir = tempfile::tempdir().unwrap();
        let s = writer(dir.path());
        let d = s.append_deferred(batch("a")).unwrap();
        assert_eq!(s.poisoned(), None);
        s.wal.as_ref().unwrap().failed.store(true, Ordering::SeqCst);
        assert!(s.make_durable(&[d]).unwrap_err().is_unavailable());
        assert!(s.append_encoded(batch("b")).unwrap_err().is_unavailable());
        assert!(s.append_deferred(batch("c")).unwrap_err().is_unavailable());
        assert!(s.retain(0).unwrap_err().is_unavailable());
        // The receiver's timer keeps /readyz at 503 through this call, policy or not.
        assert!(s.checkpoint_if_due().unwrap_err().is_unavailable());
        // ... and /healthz fails, so that the receiver is restarted.
        let why = s.poisoned().expect("a poisoned store says so");
        assert!(why.contains("restart the receiver"), "{why}");
        assert_eq!(s.row_count().unwrap(), 1);
    }
}
