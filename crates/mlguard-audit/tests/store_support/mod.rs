//! What the store tests of both backends share: the records (the real audit log of
//! ../shared/corpus/audit and the ML samples of tests/data/trail, normalized and resolved to
//! models), a fresh store per test, plain SQL on its tables, and the checks every backend must
//! pass (each a function taking a [`Backend`]).
#![allow(dead_code)]

use mlguard_audit::store::{
    self, proof, query, report, verify, CheckpointPolicy, Log, OpenOptions, Query,
};
use mlguard_audit::trail::normalize::{k8s_event, kserve, minio, ModelMap, ModelMapConfig};
use mlguard_audit::trail::note::{Signer, Verifier};
use mlguard_audit::trail::record::{Record, Source};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A fresh, empty store and a way to run plain SQL on it.
pub trait Backend {
    fn url(&self) -> String;
    /// Runs SQL statements directly on the tables (tampering, as an attacker with database
    /// access would).
    fn sql(&self, sql: &str);
    /// `SELECT` of one integer.
    fn int(&self, sql: &str) -> i64;
}

pub const ORIGIN: &str = "mlguard.test/audit";

pub fn keys() -> (Signer, Verifier) {
    let signer = Signer::from_seed(ORIGIN, &[7u8; 32]).expect("signer");
    let v = signer.verifier();
    (signer, v)
}

pub fn policy(every: u64, witness: Option<&Path>) -> OpenOptions {
    OpenOptions {
        checkpoints: Some(CheckpointPolicy {
            signer: keys().0,
            origin: ORIGIN.to_string(),
            every_records: every,
            every: Duration::from_secs(3600),
            witness: witness.map(Path::to_path_buf),
        }),
        create: true,
    }
}

fn data(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/trail")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn http(name: &str) -> (Vec<(String, String)>, Vec<u8>) {
    let bytes = data(name);
    let mut headers = Vec::new();
    let mut rest = bytes.as_slice();
    while let Some(i) = rest.iter().position(|&b| b == b'\n') {
        let line = &rest[..i];
        rest = &rest[i + 1..];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        let text = std::str::from_utf8(line).expect("UTF-8 header");
        if let Some((n, v)) = text.split_once(':') {
            headers.push((n.to_string(), v.trim_start().to_string()));
        }
    }
    (headers, rest.to_vec())
}

/// The real audit log (37 Kubernetes events of ../shared/corpus/audit) then the ML samples
/// (8 Kubernetes events, 3 MinIO entries, 3 KServe CloudEvents), normalized and resolved to
/// models in arrival order, as a receiver does.
pub fn corpus_records() -> Vec<Record> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/audit/audit2rbac-demo.log");
    let corpus = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut out: Vec<Record> = lines(&corpus)
        .iter()
        .map(|l| k8s_event(l).expect("corpus event"))
        .collect();
    let config: ModelMapConfig = serde_json::from_str(
        r#"{"prefixes":[{"prefix":"s3://models/llama-7b/","model":"llama-7b"}]}"#,
    )
    .expect("model map");
    let mut map = ModelMap::new(&config).expect("model map");
    let mut ml: Vec<Record> = lines(&data("k8s-ml-events.jsonl"))
        .iter()
        .map(|l| k8s_event(l).expect("ML event"))
        .collect();
    for name in [
        "minio-getobject.json",
        "minio-putobject.json",
        "minio-presigned-denied.json",
    ] {
        ml.push(minio(&data(name)).expect(name));
    }
    let identity = vec!["x-user".to_string(), "x-forwarded-email".to_string()];
    for name in ["kserve-binary-request.http", "kserve-binary-response.http"] {
        let (h, b) = http(name);
        ml.push(kserve(&h, &b, &identity).expect(name));
    }
    ml.push(
        mlguard_audit::trail::normalize::kserve_structured(
            &data("kserve-structured-request.json"),
            &identity,
        )
        .expect("structured"),
    );
    for mut r in ml {
        if let Some(b) = map.resolve(&mut r) {
            map.learn(&b);
        }
        out.push(r);
    }
    out
}

/// `n` synthetic records of `model`, times descending (clock skew: arrival order differs).
pub fn synthetic(n: usize, model: &str, t0: i64) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let mut r = Record::new(Source::Inference, format!("{model}-{i}"), t0 - i as i64);
            r.actor = format!("user{}", i % 3);
            r.verb = "query".into();
            r.resource = "inferenceservices".into();
            r.namespace = Some("team-a".into());
            r.name = Some(model.into());
            r.model = Some(model.into());
            r.stage = Some("request".into());
            r
        })
        .collect()
}

pub fn open(b: &dyn Backend, opts: OpenOptions) -> Box<dyn Log> {
    store::open_log(&b.url(), opts).expect("open store")
}

pub fn reader(b: &dyn Backend) -> Box<dyn Log> {
    open(
        b,
        OpenOptions {
            checkpoints: None,
            create: false,
        },
    )
}

fn check(log: &dyn Log, witness: Option<&Path>) -> verify::Verification {
    verify::verify(log, &keys().1, witness).expect("verify runs")
}

// -------------------------------------------------------------------------------------------
// The checks.

/// The corpus goes in, queries by every filter return what the records say, the durability
/// settings are in force, and the log verifies.
pub fn ingest_query_verify(b: &dyn Backend, dir: &Path) {
    let witness = dir.join("witness.txt");
    let log = open(b, policy(10, Some(&witness)));
    let recs = corpus_records();
    assert_eq!(recs.len(), 51);
    // In batches of 7, as a receiver would get them.
    let mut appended = 0;
    for chunk in recs.chunks(7) {
        let s = log.append(chunk).expect("append");
        assert_eq!(s.duplicates, 0);
        appended += s.appended;
    }
    assert_eq!(appended, 51);
    assert_eq!(log.size().unwrap(), 51);
    assert_eq!(b.int("SELECT count(*) FROM audit_records"), 51);
    // Every 10 records: sizes 10..50.
    let cps = log.checkpoints().unwrap();
    assert_eq!(
        cps.iter().map(|c| c.size).collect::<Vec<_>>(),
        [14, 28, 42],
        "a checkpoint at the end of the batch that makes 10 new records"
    );
    let notes = verify::read_witness(&std::fs::read_to_string(&witness).unwrap()).unwrap();
    assert_eq!(
        notes,
        cps.iter().map(|c| c.note.clone()).collect::<Vec<_>>()
    );

    let reader = reader(b);
    let count = |q: Query| query::run(reader.as_ref(), &q).unwrap().len();
    let expect = |f: &dyn Fn(&Record) -> bool| recs.iter().filter(|r| f(r)).count();
    assert_eq!(count(Query::default()), 51);
    assert_eq!(
        count(Query {
            actor: Some("system:admin".into()),
            ..Query::default()
        }),
        37
    );
    assert_eq!(
        count(Query {
            verb: Some("list".into()),
            source: Some(Source::K8s),
            ..Query::default()
        }),
        expect(&|r| r.verb == "list" && r.source == Source::K8s)
    );
    assert_eq!(
        count(Query {
            namespace: Some("team-a".into()),
            ..Query::default()
        }),
        expect(&|r| r.namespace.as_deref() == Some("team-a"))
    );
    let llama = query::run(
        reader.as_ref(),
        &Query {
            model: Some("llama-7b".into()),
            ..Query::default()
        },
    )
    .unwrap();
    assert_eq!(
        llama.len(),
        expect(&|r| r.model.as_deref() == Some("llama-7b"))
    );
    assert!(llama.len() >= 4, "{llama:?}");
    // By event time.
    assert!(llama.windows(2).all(|w| w[0].1.time_ns <= w[1].1.time_ns));
    for (_, r) in &llama {
        assert!(
            recs.contains(r),
            "a stored record decodes to what was appended"
        );
    }
    let storage = count(Query {
        source: Some(Source::Storage),
        ..Query::default()
    });
    assert_eq!(storage, 3);
    let t = recs[40].time_ns;
    assert_eq!(
        count(Query {
            since_ns: Some(t),
            ..Query::default()
        }),
        expect(&|r| r.time_ns >= t)
    );
    assert_eq!(
        count(Query {
            until_ns: Some(t),
            ..Query::default()
        }),
        expect(&|r| r.time_ns < t)
    );

    // The model report.
    let rep = report::model_report(reader.as_ref(), "llama-7b", &Query::default()).unwrap();
    assert_eq!(rep.lifecycle.len(), 1, "{rep:?}");
    assert_eq!(rep.lifecycle[0].action, "deployed");
    assert!(!rep.queried_by.is_empty(), "{rep:?}");
    assert_eq!(rep.queried_by[0].actor, "alice@example.com");
    assert_eq!(
        rep.queried_by[0].count, 1,
        "request and response are one query"
    );
    assert_eq!(rep.downloaded_by.len(), 1, "{rep:?}");

    let v = check(reader.as_ref(), Some(&witness));
    assert_eq!(v.problem, None);
    assert_eq!((v.records, v.checkpoints, v.witness_notes), (51, 3, 3));
    assert_eq!(v.signed_size, 42);
    // A time checkpoint covers the rest.
    let note = log.checkpoint_if_due().unwrap();
    assert!(note.is_none(), "the time policy is an hour");
}

/// Retried batches store nothing twice; a record repeated inside a batch is stored once.
pub fn duplicates(b: &dyn Backend) {
    let log = open(b, policy(0, None));
    let recs = corpus_records();
    assert_eq!(log.append(&recs[..20]).unwrap().appended, 20);
    let again = log.append(&recs[..25]).unwrap();
    assert_eq!((again.appended, again.duplicates), (5, 20));
    let mut twice = recs[25..30].to_vec();
    twice.extend_from_slice(&recs[25..30]);
    let s = log.append(&twice).unwrap();
    assert_eq!((s.appended, s.duplicates), (5, 5));
    assert_eq!(log.size().unwrap(), 30);
    assert_eq!(b.int("SELECT count(*) FROM audit_records"), 30);
    assert_eq!(b.int("SELECT max(seq) FROM audit_records"), 29);
}

/// Records are ordered by arrival, queries filter and sort by event time.
pub fn clock_skew(b: &dyn Backend) {
    let log = open(b, policy(0, None));
    let recs = synthetic(10, "skewed", 1_700_000_000_000_000_000);
    log.append(&recs).unwrap();
    let rows = log.rows(0, 100).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>()
    );
    assert_eq!(rows[0].event_id, "skewed-0", "seq is arrival order");
    let q = query::run(
        log.as_ref(),
        &Query {
            model: Some("skewed".into()),
            since_ns: Some(1_700_000_000_000_000_000 - 4),
            ..Query::default()
        },
    )
    .unwrap();
    assert_eq!(
        q.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [4, 3, 2, 1, 0],
        "event time order"
    );
    // Paging (what the CLI streams with) gives the same answer, ties in event time by seq.
    let mut ties = synthetic(7, "ties", 5);
    for r in &mut ties {
        r.time_ns = 5 - (r.time_ns % 2);
    }
    log.append(&ties).unwrap();
    let all = query::run(log.as_ref(), &Query::default()).unwrap();
    for page in [1, 2, 3, 100] {
        for limit in [None, Some(4), Some(0)] {
            let q = Query {
                limit,
                ..Query::default()
            };
            let mut got = Vec::new();
            let n = query::for_each_paged(log.as_ref(), &q, page, &mut |seq, _| {
                got.push(seq);
                Ok(())
            })
            .unwrap();
            let want: Vec<u64> = all
                .iter()
                .map(|(s, _)| *s)
                .take(limit.map_or(usize::MAX, |l| l as usize))
                .collect();
            assert_eq!(got, want, "page {page} limit {limit:?}");
            assert_eq!(n, want.len() as u64);
        }
    }
}

/// Retention drops payloads, keeps leaf hashes, and the log still verifies.
pub fn retention(b: &dyn Backend) {
    let log = open(b, policy(5, None));
    let old = synthetic(8, "old", 1_000_000_000_000_000_000);
    let new = synthetic(4, "new", 1_900_000_000_000_000_000);
    log.append(&old).unwrap();
    log.append(&new).unwrap();
    assert_eq!(log.retain(1_500_000_000_000_000_000).unwrap(), 8);
    assert_eq!(log.retain(1_500_000_000_000_000_000).unwrap(), 0);
    assert_eq!(
        b.int("SELECT count(*) FROM audit_records WHERE canonical IS NULL AND actor IS NULL AND model IS NULL"),
        8
    );
    let all = query::run(log.as_ref(), &Query::default()).unwrap();
    assert_eq!(all.len(), 4, "expired records are not returned");
    let v = check(log.as_ref(), None);
    assert_eq!(v.problem, None);
    assert_eq!((v.records, v.expired), (12, 8));
    // A proof of an expired record still checks (without its canonical bytes).
    let p = proof::inclusion(log.as_ref(), 2, None).unwrap();
    assert!(p.canonical.is_none());
    let json = serde_json::to_vec(&p).unwrap();
    proof::check(&json, &keys().1).expect("proof of an expired record");
    // Putting a value back into an expired row's column is tampering.
    b.sql("UPDATE audit_records SET actor = 'mallory' WHERE seq = 3");
    let v = check(log.as_ref(), None);
    assert_eq!(v.problem.as_ref().and_then(|p| p.seq), Some(3), "{v:?}");
}

/// Inclusion and consistency proofs check offline, and fail when altered.
pub fn proofs(b: &dyn Backend) {
    let log = open(b, policy(7, None));
    let recs = synthetic(30, "p", 1_800_000_000_000_000_000);
    for c in recs.chunks(1) {
        log.append(c).unwrap();
    }
    let cps: Vec<u64> = log.checkpoints().unwrap().iter().map(|c| c.size).collect();
    assert_eq!(cps, [7, 14, 21, 28]);
    let (_, key) = keys();
    for i in [0, 5, 13, 27] {
        let p = proof::inclusion(log.as_ref(), i, None).unwrap();
        assert_eq!(p.tree_size, 28);
        let json = serde_json::to_vec_pretty(&p).unwrap();
        assert!(matches!(
            proof::check(&json, &key).unwrap(),
            proof::Checked::Inclusion { leaf_index, tree_size: 28, canonical: true, .. } if leaf_index == i
        ));
        // Another leaf index, a changed path, a changed record: all refused.
        let mut bad = p.clone();
        bad.leaf_index = (i + 1) % 28;
        assert!(proof::check(&serde_json::to_vec(&bad).unwrap(), &key).is_err());
        let mut bad = p.clone();
        bad.audit_path[0] = "00".repeat(32);
        assert!(proof::check(&serde_json::to_vec(&bad).unwrap(), &key).is_err());
        let mut bad = p.clone();
        bad.canonical = Some(base64_of(b"MLGR\x01"));
        assert!(proof::check(&serde_json::to_vec(&bad).unwrap(), &key).is_err());
    }
    let p = proof::inclusion(log.as_ref(), 3, Some(7)).unwrap();
    assert_eq!(p.tree_size, 7);
    assert!(
        proof::inclusion(log.as_ref(), 29, None).is_err(),
        "not yet signed"
    );
    for (o, n) in [(7, 28), (3, 21), (0, 14), (14, 14)] {
        let c = proof::consistency(log.as_ref(), o, n).unwrap();
        let json = serde_json::to_vec(&c).unwrap();
        proof::check(&json, &key).unwrap_or_else(|e| panic!("{o}->{n}: {e}"));
        if o != n && o != 0 {
            let mut bad = c.clone();
            bad.old_root = "11".repeat(32);
            bad.old_checkpoint = None;
            assert!(proof::check(&serde_json::to_vec(&bad).unwrap(), &key).is_err());
        }
    }
    assert!(
        proof::consistency(log.as_ref(), 7, 29).is_err(),
        "29 is not a checkpoint"
    );
    // Another key does not verify.
    let other = Signer::from_seed(ORIGIN, &[8u8; 32]).unwrap().verifier();
    let json = serde_json::to_vec(&proof::inclusion(log.as_ref(), 1, None).unwrap()).unwrap();
    assert!(proof::check(&json, &other).is_err());
    // Unknown fields are refused.
    let mut v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    v["extra"] = serde_json::json!(1);
    assert!(matches!(
        proof::check(&serde_json::to_vec(&v).unwrap(), &key),
        Err(proof::CheckError::Format(_))
    ));
}

fn base64_of(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// A store of 40 records, checkpoints every 5, a witness file; returns the log.
fn tamper_fixture(b: &dyn Backend, witness: &Path) -> Box<dyn Log> {
    let log = open(b, policy(5, Some(witness)));
    let recs = synthetic(40, "t", 1_800_000_000_000_000_000);
    for c in recs.chunks(1) {
        log.append(c).unwrap();
    }
    assert_eq!(check(log.as_ref(), Some(witness)).problem, None);
    log
}

/// The tampering cases, each on a fresh store made by `fresh`.
pub fn tampering(fresh: &dyn Fn() -> Box<dyn Backend>, dir: &Path) {
    struct Case {
        name: &'static str,
        sql: &'static str,
        seq: Option<u64>,
        event_id: Option<&'static str>,
        contains: &'static str,
    }
    let cases = [
        Case {
            name: "edit a query column",
            sql: "UPDATE audit_records SET actor = 'mallory' WHERE seq = 17",
            seq: Some(17),
            event_id: Some("t-17"),
            contains: "column `actor`",
        },
        Case {
            name: "edit the model column",
            sql: "UPDATE audit_records SET model = 'other' WHERE seq = 3",
            seq: Some(3),
            event_id: Some("t-3"),
            contains: "column `model`",
        },
        Case {
            name: "edit the time",
            sql: "UPDATE audit_records SET time_ns = time_ns + 1 WHERE seq = 21",
            seq: Some(21),
            event_id: Some("t-21"),
            contains: "column `time_ns`",
        },
        Case {
            name: "edit the canonical bytes",
            sql: "UPDATE audit_records SET canonical = (SELECT canonical FROM audit_records WHERE seq = 9) WHERE seq = 12",
            seq: Some(12),
            event_id: Some("t-12"),
            contains: "do not hash to its leaf hash",
        },
        Case {
            name: "replace a record with its leaf hash",
            sql: "UPDATE audit_records SET canonical = (SELECT canonical FROM audit_records WHERE seq = 9), \
                  leaf_hash = (SELECT leaf_hash FROM audit_records WHERE seq = 9), \
                  event_id = 'x', stage = 'x', actor = (SELECT actor FROM audit_records WHERE seq = 9), \
                  time_ns = (SELECT time_ns FROM audit_records WHERE seq = 9) WHERE seq = 12",
            seq: Some(12),
            event_id: Some("x"),
            contains: "column `event_id`",
        },
        Case {
            name: "delete a record",
            sql: "DELETE FROM audit_records WHERE seq = 23",
            seq: Some(23),
            event_id: None,
            contains: "record 23 is missing",
        },
        Case {
            name: "reorder two records",
            sql: "UPDATE audit_records SET seq = -1 WHERE seq = 11; \
                  UPDATE audit_records SET seq = 11 WHERE seq = 12; \
                  UPDATE audit_records SET seq = 12 WHERE seq = -1",
            seq: Some(10),
            event_id: None,
            contains: "records 10..14 do not match the signed checkpoint of size 15",
        },
        Case {
            name: "truncate",
            sql: "DELETE FROM audit_records WHERE seq >= 33",
            seq: Some(33),
            event_id: None,
            contains: "truncated",
        },
        Case {
            name: "truncate with the store's size and checkpoints",
            sql: "DELETE FROM audit_records WHERE seq >= 33; \
                  DELETE FROM audit_checkpoints WHERE size > 33; \
                  UPDATE audit_meta SET value = '33' WHERE key = 'tree_size'",
            seq: None,
            event_id: None,
            contains: "witness checkpoint of size 35",
        },
        Case {
            name: "insert a row outside the log",
            sql: "INSERT INTO audit_records (seq, leaf_hash, source, event_id, stage, time_ns) \
                  SELECT -5, leaf_hash, source, 'forged', stage, time_ns FROM audit_records WHERE seq = 2",
            seq: None,
            event_id: None,
            contains: "rows numbered outside 0..39",
        },
        Case {
            name: "edit the saved tree frontier",
            sql: "UPDATE audit_meta SET value = CASE WHEN substr(value, 1, 1) = '0' THEN '1' \
                  ELSE '0' END || substr(value, 2) WHERE key = 'frontier'",
            seq: None,
            event_id: None,
            contains: "audit_meta frontier",
        },
        Case {
            name: "rewrite a checkpoint",
            sql: "UPDATE audit_checkpoints SET size = 36 WHERE size = 35",
            seq: None,
            event_id: None,
            contains: "checkpoint of size 36",
        },
    ];
    for (i, c) in cases.iter().enumerate() {
        let b = fresh();
        let witness = dir.join(format!("witness-{i}.txt"));
        let log = tamper_fixture(b.as_ref(), &witness);
        b.sql(c.sql);
        let v = check(log.as_ref(), Some(&witness));
        let p = v
            .problem
            .unwrap_or_else(|| panic!("{}: tampering not detected", c.name));
        assert_eq!(p.seq, c.seq, "{}: {p}", c.name);
        assert_eq!(p.event_id.as_deref(), c.event_id, "{}: {p}", c.name);
        assert!(p.message.contains(c.contains), "{}: {p}", c.name);
    }
}

/// Two connections appending at once: seq gapless, the log verifies.
pub fn concurrent_appends(b: &dyn Backend) {
    let a = open(b, policy(25, None));
    let c = open(b, policy(25, None));
    std::thread::scope(|s| {
        s.spawn(|| {
            for chunk in synthetic(100, "a", 1_800_000_000_000_000_000).chunks(10) {
                a.append(chunk).unwrap();
            }
        });
        s.spawn(|| {
            for chunk in synthetic(100, "b", 1_800_000_000_000_000_000).chunks(10) {
                c.append(chunk).unwrap();
            }
        });
    });
    assert_eq!(a.size().unwrap(), 200);
    assert_eq!(b.int("SELECT count(*) FROM audit_records"), 200);
    assert_eq!(b.int("SELECT max(seq) FROM audit_records"), 199);
    let v = check(a.as_ref(), None);
    assert_eq!(v.problem, None, "{v:?}");
    assert_eq!(v.checkpoints, 6);
}

/// An empty store has nothing to verify (an error, not a pass); readers refuse a missing
/// store; a time checkpoint is signed when due.
pub fn empty_and_time_checkpoint(b: &dyn Backend) {
    let mut opts = policy(0, None);
    if let Some(p) = opts.checkpoints.as_mut() {
        p.every = Duration::ZERO;
    }
    let log = open(b, opts);
    assert!(verify::verify(log.as_ref(), &keys().1, None).is_err());
    assert_eq!(
        log.checkpoint_if_due().unwrap(),
        None,
        "no records, no checkpoint"
    );
    log.append(&synthetic(3, "c", 1)).unwrap();
    let note = log.checkpoint_if_due().unwrap().expect("due");
    assert!(note.starts_with(&format!("{ORIGIN}\n3\n")), "{note}");
    assert_eq!(log.checkpoint_if_due().unwrap(), None, "no new records");
    assert_eq!(check(log.as_ref(), None).signed_size, 3);
}

/// A store of schema version 1 (records keyed on (source, event id, stage), an index on time)
/// is upgraded by whatever opens it, a reading command too (it records its read, an append):
/// the records and the tree are unchanged and verify, the old key no longer refuses an event
/// that reuses an ID and stage at another time, and the new key still refuses a retried one.
/// `downgrade` is the backend's SQL that turns a current store back into version 1's schema, as
/// that version created it.
pub fn upgrades_a_version_1_store(b: &dyn Backend, downgrade: &str) {
    let recs = corpus_records();
    let log = open(b, policy(10, None));
    assert_eq!(log.append(&recs[..20]).unwrap().appended, 20);
    let root = log.stored_tree().unwrap().root();
    drop(log);
    b.sql(downgrade);
    assert_eq!(
        b.int("SELECT count(*) FROM audit_records"),
        20,
        "the downgrade keeps the rows"
    );
    let version = |b: &dyn Backend| {
        b.int("SELECT CAST(value AS INTEGER) FROM audit_meta WHERE key = 'schema_version'")
    };
    assert_eq!(version(b), 1);

    // A reader opens it, as `audit query` does, and records its read.
    let log = reader(b);
    assert_eq!(
        version(b),
        store::SCHEMA_VERSION.parse::<i64>().unwrap(),
        "opening upgrades it"
    );
    assert_eq!(log.size().unwrap(), 20);
    assert_eq!(log.stored_tree().unwrap().root(), root);
    assert!(check(log.as_ref(), None).problem.is_none());
    let mut read = Record::new(Source::Audit, "read-1", 1);
    read.verb = "query".into();
    assert_eq!(log.append(&[read]).unwrap().appended, 1);
    drop(log);

    let log = open(b, policy(10, None));
    let again = log.append(&recs[..25]).unwrap();
    assert_eq!((again.appended, again.duplicates), (5, 20));
    // The first record's ID and stage at another time: not a duplicate any more.
    let mut reused = recs[0].clone();
    reused.time_ns += 1;
    assert_eq!(log.append(&[reused]).unwrap().appended, 1);
    assert_eq!(log.size().unwrap(), 27);
    assert!(check(log.as_ref(), None).problem.is_none());
    // Opening an upgraded store again changes nothing.
    drop(log);
    let log = open(b, policy(10, None));
    assert_eq!(log.size().unwrap(), 27);
}
