//! The PostgreSQL store (scale-out): the checks of store_support, each in a fresh database
//! (CREATE DATABASE t_<random>, dropped after), on the server named by MLGUARD_TEST_POSTGRES
//! (skipped when unset, failing when MLGUARD_REQUIRE_TOOLS=1), plus synchronous_commit on the
//! store's connection and an unreachable server reported as unavailable.

mod store_support;

use mlguard_audit::store::{self, OpenOptions, StoreError};
use postgres::{Client, NoTls};
use store_support::Backend;

fn server() -> Option<String> {
    match std::env::var("MLGUARD_TEST_POSTGRES") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("MLGUARD_REQUIRE_TOOLS").as_deref() == Ok("1") {
                panic!("MLGUARD_TEST_POSTGRES is not set but MLGUARD_REQUIRE_TOOLS=1");
            }
            eprintln!("skipped: set MLGUARD_TEST_POSTGRES=postgres://USER@HOST:PORT/DB to run");
            None
        }
    }
}

struct Pg {
    admin: String,
    db: String,
    url: String,
}

impl Pg {
    fn new() -> Option<Pg> {
        let admin = server()?;
        let mut rnd = [0u8; 8];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut rnd).unwrap();
        let db = format!(
            "t_{}",
            rnd.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let mut c = Client::connect(&admin, NoTls).expect("connect to MLGUARD_TEST_POSTGRES");
        c.batch_execute(&format!("CREATE DATABASE {db}")).unwrap();
        let (base, query) = match admin.split_once('?') {
            Some((b, q)) => (b.to_string(), format!("?{q}")),
            None => (admin.clone(), String::new()),
        };
        let base = base.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
        let url = format!("{base}/{db}{query}");
        Some(Pg { admin, db, url })
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        if let Ok(mut c) = Client::connect(&self.admin, NoTls) {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.db));
        }
    }
}

impl Backend for Pg {
    fn url(&self) -> String {
        self.url.clone()
    }
    fn sql(&self, sql: &str) {
        Client::connect(&self.url, NoTls)
            .unwrap()
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    fn int(&self, sql: &str) -> i64 {
        let row = Client::connect(&self.url, NoTls)
            .unwrap()
            .query_one(sql, &[])
            .unwrap();
        row.try_get::<_, i64>(0)
            .or_else(|_| row.try_get::<_, i32>(0).map(i64::from))
            .unwrap()
    }
}

#[test]
fn ingest_query_verify() {
    let Some(b) = Pg::new() else { return };
    let dir = tempfile::tempdir().unwrap();
    store_support::ingest_query_verify(&b, dir.path());
}

#[test]
fn durability_is_synchronous_commit() {
    let Some(b) = Pg::new() else { return };
    let log = store_support::open(&b, store_support::policy(0, None));
    assert_eq!(log.durability().unwrap(), "synchronous_commit=on fsync=on");
    // Even when the database's default is off, the store's session turns it on.
    b.sql(&format!(
        "ALTER DATABASE {} SET synchronous_commit = off",
        b.db
    ));
    let log = store_support::reader(&b);
    assert_eq!(log.durability().unwrap(), "synchronous_commit=on fsync=on");
}

#[test]
fn duplicates() {
    let Some(b) = Pg::new() else { return };
    store_support::duplicates(&b);
}

#[test]
fn clock_skew() {
    let Some(b) = Pg::new() else { return };
    store_support::clock_skew(&b);
}

#[test]
fn retention() {
    let Some(b) = Pg::new() else { return };
    store_support::retention(&b);
}

#[test]
fn proofs() {
    let Some(b) = Pg::new() else { return };
    store_support::proofs(&b);
}

#[test]
fn tampering_is_detected_naming_the_first_bad_record() {
    if server().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    store_support::tampering(&|| Box::new(Pg::new().unwrap()), dir.path());
}

#[test]
fn concurrent_appends() {
    let Some(b) = Pg::new() else { return };
    store_support::concurrent_appends(&b);
}

#[test]
fn empty_and_time_checkpoint() {
    let Some(b) = Pg::new() else { return };
    store_support::empty_and_time_checkpoint(&b);
}

#[test]
fn unreachable_server_is_unavailable_and_missing_schema_refused() {
    let e = store::open(
        "postgres://nobody@127.0.0.1:1/none?connect_timeout=2",
        OpenOptions::default(),
    )
    .err()
    .unwrap();
    assert!(e.is_unavailable(), "{e}");
    let Some(b) = Pg::new() else { return };
    let e = store::open_log(&b.url, OpenOptions::default())
        .err()
        .unwrap();
    assert!(matches!(e, StoreError::Config(_)), "{e}");
}

/// Version 1's key and index, as that version created them (the constraint unnamed, as its
/// CREATE TABLE left it).
const DOWNGRADE_TO_V1: &str = "
DROP INDEX audit_records_key;
ALTER TABLE audit_records ADD UNIQUE (source, event_id, stage);
CREATE INDEX audit_records_time ON audit_records (time_ns);
UPDATE audit_meta SET value = '1' WHERE key = 'schema_version';
";

#[test]
fn upgrades_a_version_1_store() {
    let Some(b) = Pg::new() else { return };
    store_support::upgrades_a_version_1_store(&b, DOWNGRADE_TO_V1);
    assert_eq!(
        b.int("SELECT count(*) FROM pg_constraint WHERE conrelid = 'audit_records'::regclass AND contype = 'u'"),
        0,
        "the old key's constraint is gone"
    );
    assert_eq!(
        b.int("SELECT count(*) FROM pg_indexes WHERE tablename = 'audit_records' AND indexname IN ('audit_records_key', 'audit_records_time')"),
        1
    );
}
