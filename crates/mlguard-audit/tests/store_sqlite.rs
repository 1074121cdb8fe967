//! The SQLite store (the embedded default): the checks of store_support on a fresh file per
//! test, plus what only SQLite has (WAL flushed by the store on the store's connection; a
//! missing file is refused to readers).

mod store_support;

use mlguard_audit::store::{self, OpenOptions, StoreError};
use rusqlite::Connection;
use std::path::PathBuf;
use store_support::Backend;

struct Sqlite {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Sqlite {
    fn new() -> Sqlite {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.db");
        Sqlite { _dir: dir, path }
    }
}

impl Backend for Sqlite {
    fn url(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }
    fn sql(&self, sql: &str) {
        Connection::open(&self.path)
            .unwrap()
            .execute_batch(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    fn int(&self, sql: &str) -> i64 {
        Connection::open(&self.path)
            .unwrap()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    }
}

#[test]
fn ingest_query_verify() {
    let b = Sqlite::new();
    store_support::ingest_query_verify(&b, b._dir.path());
}

#[test]
fn durability_is_wal_flushed_by_the_store() {
    let b = Sqlite::new();
    let log = store_support::open(&b, store_support::policy(0, None));
    // 1 is NORMAL (https://sqlite.org/pragma.html#pragma_synchronous): a commit writes the
    // WAL, and the store flushes it before an append returns (the unit tests in
    // src/store/sqlite.rs count the flushes).
    let expected = "journal_mode=wal synchronous=1 wal_flush=store";
    assert_eq!(log.durability().unwrap(), expected);
    drop(log);
    let reader = store_support::reader(&b);
    assert_eq!(reader.durability().unwrap(), expected);
}

#[test]
fn duplicates() {
    store_support::duplicates(&Sqlite::new());
}

#[test]
fn clock_skew() {
    store_support::clock_skew(&Sqlite::new());
}

#[test]
fn retention() {
    store_support::retention(&Sqlite::new());
}

#[test]
fn proofs() {
    store_support::proofs(&Sqlite::new());
}

#[test]
fn tampering_is_detected_naming_the_first_bad_record() {
    let dir = tempfile::tempdir().unwrap();
    store_support::tampering(&|| Box::new(Sqlite::new()), dir.path());
}

#[test]
fn concurrent_appends() {
    store_support::concurrent_appends(&Sqlite::new());
}

#[test]
fn empty_and_time_checkpoint() {
    store_support::empty_and_time_checkpoint(&Sqlite::new());
}

#[test]
fn readers_refuse_a_missing_or_foreign_store() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.db");
    let e = store::open_log(
        &format!("sqlite:{}", missing.display()),
        OpenOptions::default(),
    )
    .err()
    .unwrap();
    assert!(matches!(e, StoreError::Config(_)), "{e}");
    assert!(!missing.exists(), "a reader creates nothing");
    let foreign = dir.path().join("other.db");
    Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let e = store::open_log(
        &format!("sqlite:{}", foreign.display()),
        OpenOptions::default(),
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("not an mlguard audit store"), "{e}");
    let e = store::open("mysql://x", OpenOptions::default())
        .err()
        .unwrap();
    assert!(matches!(e, StoreError::Config(_)));
}

#[test]
fn a_locked_database_is_unavailable() {
    let b = Sqlite::new();
    let log = store_support::open(&b, store_support::policy(0, None));
    log.append(&store_support::synthetic(1, "l", 1)).unwrap();
    // Another process holds the write lock past the store's busy timeout (10 s): the append
    // fails as unavailable (the receiver answers 503) and stores nothing.
    let c = Connection::open(&b.path).unwrap();
    c.execute_batch("BEGIN IMMEDIATE").unwrap();
    let e = log
        .append(&store_support::synthetic(2, "m", 1))
        .unwrap_err();
    assert!(e.is_unavailable(), "{e}");
    c.execute_batch("ROLLBACK").unwrap();
    assert_eq!(log.size().unwrap(), 1);
    assert_eq!(
        log.append(&store_support::synthetic(2, "m", 1))
            .unwrap()
            .appended,
        2
    );
}

/// A writer's WAL is copied into the database file by the background thread, not left to
/// SQLite's automatic checkpoint (set far higher, at 50,000 pages): after an append of a few
/// MB the main file grows within a few hundred milliseconds, while the writer stays open.
#[test]
fn a_writers_wal_is_copied_into_the_database_in_the_background() {
    let b = Sqlite::new();
    let log = store_support::open(
        &b,
        OpenOptions {
            checkpoints: None,
            create: true,
        },
    );
    let size = || std::fs::metadata(&b.path).map(|m| m.len()).unwrap_or(0);
    let before = size();
    for chunk in store_support::synthetic(4000, "wal", 1).chunks(400) {
        log.append(chunk).unwrap();
    }
    let wal = std::fs::metadata(b.path.with_extension("db-wal"))
        .unwrap()
        .len();
    assert!(wal > 1 << 20, "the appends went to the WAL ({wal} bytes)");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while size() < before + (1 << 20) {
        assert!(
            std::time::Instant::now() < deadline,
            "the database file stayed at {} bytes: nothing copied the WAL",
            size()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Every record is still there, through a reader.
    drop(log);
    assert_eq!(store_support::reader(&b).row_count().unwrap(), 4000);
}

/// Version 1's table and indexes, as that version created them.
const DOWNGRADE_TO_V1: &str = "
ALTER TABLE audit_records RENAME TO current;
DROP INDEX audit_records_key;
DROP INDEX audit_records_model;
DROP INDEX audit_records_actor;
DROP INDEX audit_records_namespace;
CREATE TABLE audit_records (
    seq INTEGER PRIMARY KEY,
    leaf_hash BLOB NOT NULL,
    source TEXT NOT NULL,
    event_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    time_ns INTEGER NOT NULL,
    actor TEXT,
    verb TEXT,
    resource TEXT,
    namespace TEXT,
    name TEXT,
    model TEXT,
    canonical BLOB,
    UNIQUE (source, event_id, stage)
);
CREATE INDEX audit_records_model ON audit_records (model, time_ns);
CREATE INDEX audit_records_actor ON audit_records (actor, time_ns);
CREATE INDEX audit_records_namespace ON audit_records (namespace, time_ns);
CREATE INDEX audit_records_time ON audit_records (time_ns);
INSERT INTO audit_records SELECT * FROM current;
DROP TABLE current;
UPDATE audit_meta SET value = '1' WHERE key = 'schema_version';
";

#[test]
fn upgrades_a_version_1_store() {
    let b = Sqlite::new();
    store_support::upgrades_a_version_1_store(&b, DOWNGRADE_TO_V1);
    let indexes = b.int(
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_records' \
         AND name IN ('audit_records_key', 'audit_records_model', 'audit_records_actor', \
         'audit_records_namespace')",
    );
    assert_eq!(indexes, 4);
    assert_eq!(
        b.int("SELECT count(*) FROM sqlite_master WHERE name LIKE '%_v1' OR name = 'audit_records_time'"),
        0
    );
}
