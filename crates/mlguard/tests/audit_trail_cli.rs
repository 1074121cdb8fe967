//! The audit trail's reading commands, run as the real binary on a store filled through the
//! library from the real audit log of ../shared/corpus/audit (37 Kubernetes events) and the
//! ML samples of crates/mlguard-audit/tests/data/trail: keygen, verify (exit 0, then 1 after
//! plain-SQL tampering, 2 on an empty store or bad key), query in every format with the JSON
//! contract, report, prove and verify-proof, retain, and the records of these reads; the same
//! commands on PostgreSQL when MLGUARD_TEST_POSTGRES names a server.

mod common;

use common::{code, err, out};
use mlguard_audit::store::{self, CheckpointPolicy, OpenOptions};
use mlguard_audit::trail::normalize::{k8s_event, minio, ModelMap, ModelMapConfig};
use mlguard_audit::trail::note::Signer;
use mlguard_audit::trail::record::Record;
use std::path::{Path, PathBuf};
use std::process::Output;

struct Fixture {
    dir: tempfile::TempDir,
    url: Option<String>,
}

impl Fixture {
    /// `audit verify` with the key and the witness file.
    fn verify_with_witness(&self) -> Output {
        self.run(&[
            "audit",
            "verify",
            "--key",
            &self.pubkey(),
            "--witness",
            &self.witness(),
        ])
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn store(&self) -> String {
        self.url
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", self.path("audit.db").display()))
    }
    fn run(&self, args: &[&str]) -> Output {
        let store = self.store();
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["--store", &store]);
        common::run(&a, None)
    }
    fn pubkey(&self) -> String {
        self.path("keys/audit.test.pub").display().to_string()
    }
    fn witness(&self) -> String {
        self.path("witness.txt").display().to_string()
    }
}

fn records() -> Vec<Record> {
    let root = common::root();
    let lines = |p: PathBuf| -> Vec<Vec<u8>> {
        std::fs::read(&p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .split(|&b| b == b'\n')
            .filter(|l| !l.trim_ascii().is_empty())
            .map(<[u8]>::to_vec)
            .collect()
    };
    let mut out: Vec<Record> = lines(root.join("../shared/corpus/audit/audit2rbac-demo.log"))
        .iter()
        .map(|l| k8s_event(l).unwrap())
        .collect();
    let data = root.join("crates/mlguard-audit/tests/data/trail");
    let config: ModelMapConfig = serde_json::from_str(
        r#"{"prefixes":[{"prefix":"s3://models/llama-7b/","model":"llama-7b"}]}"#,
    )
    .unwrap();
    let mut map = ModelMap::new(&config).unwrap();
    let mut ml: Vec<Record> = lines(data.join("k8s-ml-events.jsonl"))
        .iter()
        .map(|l| k8s_event(l).unwrap())
        .collect();
    ml.push(minio(&std::fs::read(data.join("minio-getobject.json")).unwrap()).unwrap());
    for mut r in ml {
        if let Some(b) = map.resolve(&mut r) {
            map.learn(&b);
        }
        out.push(r);
    }
    out
}

/// keygen, then the records appended through the library with checkpoints every 10 and a
/// witness file.
fn fixture() -> Fixture {
    fixture_at(None)
}

/// [`fixture`] with the store at `url` (default: SQLite in the fixture's folder).
fn fixture_at(url: Option<String>) -> Fixture {
    let f = Fixture {
        dir: tempfile::tempdir().unwrap(),
        url,
    };
    let keys = f.path("keys");
    let o = common::run(
        &[
            "audit",
            "keygen",
            "--name",
            "audit.test",
            "-o",
            keys.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let key_file = keys.join("audit.test.key");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the signer key is private");
    }
    assert!(!out(&o).contains("PRIVATE+KEY"), "the key is never printed");
    // keygen never overwrites.
    let again = common::run(
        &[
            "audit",
            "keygen",
            "--name",
            "audit.test",
            "-o",
            keys.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code(&again), 2);
    assert!(err(&again).contains("exists"), "{}", err(&again));

    let signer = Signer::from_key_text(std::fs::read_to_string(&key_file).unwrap().trim()).unwrap();
    let log = store::open(
        &f.store(),
        OpenOptions {
            checkpoints: Some(CheckpointPolicy {
                signer,
                origin: "audit.test".into(),
                every_records: 10,
                every: std::time::Duration::from_secs(3600),
                witness: Some(f.path("witness.txt")),
            }),
            create: true,
        },
    )
    .unwrap();
    let recs = records();
    assert_eq!(recs.len(), 46);
    for chunk in recs.chunks(5) {
        log.append(chunk).unwrap();
    }
    f
}

fn sql(f: &Fixture, sql: &str) {
    rusqlite::Connection::open(f.path("audit.db"))
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

#[test]
fn verify_passes_then_fails_after_tampering() {
    let f = fixture();
    let o = f.verify_with_witness();
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    assert!(out(&o).starts_with("verified: 46 records"), "{}", out(&o));
    let o = f.run(&["audit", "verify", "--key", &f.pubkey(), "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["signed_size"], 40);
    // The first verify was recorded: 47 records now.
    assert_eq!(v["records"], 47);

    sql(
        &f,
        "UPDATE audit_records SET actor = 'mallory' WHERE seq = 12",
    );
    let o = f.verify_with_witness();
    assert_eq!(code(&o), 1, "{}{}", out(&o), err(&o));
    assert!(out(&o).contains("record 12 (event id "), "{}", out(&o));
    assert!(out(&o).contains("column `actor`"), "{}", out(&o));
    let o = f.run(&["audit", "verify", "--key", &f.pubkey(), "--format", "json"]);
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["verified"], false);
    assert_eq!(v["problem"]["seq"], 12);

    // Delete a record.
    sql(&f, "UPDATE audit_records SET actor = (SELECT actor FROM audit_records WHERE seq = 11) WHERE seq = 12; DELETE FROM audit_records WHERE seq = 30");
    let o = f.run(&["audit", "verify", "--key", &f.pubkey()]);
    assert_eq!(code(&o), 1, "{}", out(&o));
    assert!(out(&o).contains("record 30 is missing"), "{}", out(&o));
}

#[test]
fn verify_usage_errors_exit_2() {
    let f = fixture();
    // A private key given as --key.
    let key = f.path("keys/audit.test.key").display().to_string();
    let o = f.run(&["audit", "verify", "--key", &key]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("private signer key"), "{}", err(&o));
    // Another key: the checkpoints do not verify (exit 1, naming the checkpoint).
    let other = f.path("other");
    common::run(
        &[
            "audit",
            "keygen",
            "--name",
            "audit.test",
            "-o",
            other.to_str().unwrap(),
        ],
        None,
    );
    let o = f.run(&[
        "audit",
        "verify",
        "--key",
        other.join("audit.test.pub").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}{}", out(&o), err(&o));
    assert!(
        out(&o).contains("does not verify with the key"),
        "{}",
        out(&o)
    );
    // No store at all, and an empty store.
    let missing = format!("sqlite:{}", f.path("none.db").display());
    let o = common::run(
        &["audit", "verify", "--key", &f.pubkey(), "--store", &missing],
        None,
    );
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("there is no audit store"), "{}", err(&o));
    let empty = f.path("empty.db");
    drop(
        store::open(
            &format!("sqlite:{}", empty.display()),
            OpenOptions {
                checkpoints: None,
                create: true,
            },
        )
        .unwrap(),
    );
    let o = common::run(
        &[
            "audit",
            "verify",
            "--key",
            &f.pubkey(),
            "--store",
            &format!("sqlite:{}", empty.display()),
        ],
        None,
    );
    assert_eq!(code(&o), 2, "{}", out(&o));
    assert!(err(&o).contains("empty"), "{}", err(&o));
    // A witness file that is not one.
    std::fs::write(f.path("bad-witness.txt"), "not a note").unwrap();
    let o = f.run(&[
        "audit",
        "verify",
        "--key",
        &f.pubkey(),
        "--witness",
        f.path("bad-witness.txt").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2, "{}", out(&o));
    assert!(err(&o).contains("bad-witness.txt"), "{}", err(&o));
}

#[test]
fn query_formats_and_the_json_contract() {
    let f = fixture();
    let o = f.run(&[
        "audit",
        "query",
        "--user",
        "system:admin",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let v: Vec<serde_json::Value> = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v.len(), 37, "the corpus events are all by system:admin");
    for r in &v {
        for k in [
            "time",
            "source",
            "actor",
            "verb",
            "namespace",
            "resource",
            "name",
            "model",
        ] {
            assert!(r.get(k).is_some(), "{k} in {r}");
        }
        assert_eq!(r["source"], "k8s");
    }
    let times: Vec<&str> = v.iter().map(|r| r["time"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "by event time");

    let o = f.run(&["audit", "query", "--model", "llama-7b", "--format", "json"]);
    let v: Vec<serde_json::Value> = serde_json::from_str(&out(&o)).unwrap();
    assert!(v.iter().all(|r| r["model"] == "llama-7b"));
    assert!(v.iter().any(|r| r["source"] == "storage"), "{v:?}");

    let o = f.run(&[
        "audit",
        "query",
        "--verb",
        "list",
        "--namespace",
        "ns1",
        "--format",
        "csv",
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let text = out(&o);
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "seq,time,source,actor,verb,namespace,resource,name,model,outcome,code,event_id,stage"
    );
    assert!(lines.clone().count() > 0);
    assert!(lines.all(|l| l.contains(",list,ns1,")), "{text}");

    let o = f.run(&[
        "audit",
        "query",
        "--since",
        "2017-09-11T20:00:00Z",
        "--until",
        "2018-01-01",
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(out(&o).starts_with("SEQ  TIME"), "{}", out(&o));

    // Bad flags are usage errors.
    for bad in [
        vec!["audit", "query", "--source", "mail"],
        vec!["audit", "query", "--since", "yesterday"],
        vec!["audit", "query", "--format", "xml"],
    ] {
        let o = f.run(&bad);
        assert_eq!(code(&o), 2, "{bad:?}");
        assert!(!err(&o).is_empty());
    }

    // The reads were recorded: who queried the audit log.
    let o = f.run(&["audit", "query", "--source", "audit", "--format", "json"]);
    let v: Vec<serde_json::Value> = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(
        v.len(),
        5,
        "4 successful queries before this one, and this one: {v:?}"
    );
    assert!(v
        .iter()
        .all(|r| r["verb"] == "query" && r["resource"] == "auditrecords"));
    assert_eq!(v[0]["detail"]["user"], "system:admin");
    assert_eq!(v[1]["detail"]["model"], "llama-7b");
    assert!(
        v[1]["model"].is_null(),
        "a read about a model is not a record of the model"
    );
}

#[test]
fn report_of_a_model() {
    let f = fixture();
    let o = f.run(&["audit", "report", "--model", "llama-7b", "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["model"], "llama-7b");
    assert_eq!(v["lifecycle"][0]["action"], "deployed");
    assert_eq!(v["lifecycle"][0]["resource"], "inferenceservices");
    assert_eq!(v["downloaded_by"].as_array().unwrap().len(), 1);
    let o = f.run(&["audit", "report", "--model", "llama-7b"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let t = out(&o);
    assert!(t.contains("Lifecycle (Kubernetes):"), "{t}");
    assert!(t.contains("deployed"), "{t}");
    assert!(t.contains("Weights downloaded by (storage reads):"), "{t}");
}

#[test]
fn prove_and_verify_proof() {
    let f = fixture();
    let proof = f.path("proof.json");
    let o = f.run(&[
        "audit",
        "prove",
        "--record",
        "7",
        "-o",
        proof.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&proof).unwrap()).unwrap();
    assert_eq!(p["type"], "mlguard.audit.inclusion/v1");
    assert_eq!(p["leaf_index"], 7);
    assert_eq!(p["tree_size"], 40);
    let check = |file: &Path| {
        common::run(
            &[
                "audit",
                "verify-proof",
                file.to_str().unwrap(),
                "--key",
                &f.pubkey(),
            ],
            None,
        )
    };
    let o = check(&proof);
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    assert!(
        out(&o).contains("record 7 is in the log audit.test"),
        "{}",
        out(&o)
    );

    // An altered proof fails (1); a non-proof is an input error (2).
    let mut bad = p.clone();
    bad["leaf_index"] = 8.into();
    std::fs::write(f.path("bad.json"), bad.to_string()).unwrap();
    assert_eq!(code(&check(&f.path("bad.json"))), 1);
    let mut extra = p.clone();
    extra["note"] = "x".into();
    std::fs::write(f.path("extra.json"), extra.to_string()).unwrap();
    let o = check(&f.path("extra.json"));
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("unknown field"), "{}", err(&o));

    let o = f.run(&["audit", "prove", "--consistency", "10", "40"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let o = common::run(
        &["audit", "verify-proof", "-", "--key", &f.pubkey()],
        Some(&out(&o)),
    );
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    assert!(
        out(&o).contains("extends its tree of size 10 (also signed)"),
        "{}",
        out(&o)
    );

    // Not yet signed, not a checkpoint: usage errors naming why.
    let o = f.run(&["audit", "prove", "--record", "45"]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("not covered"), "{}", err(&o));
    let o = f.run(&["audit", "prove", "--consistency", "10", "41"]);
    assert_eq!(code(&o), 2);
    assert!(
        err(&o).contains("no signed checkpoint of size 41"),
        "{}",
        err(&o)
    );
}

#[test]
fn retain_keeps_the_log_verifiable() {
    let f = fixture();
    let o = f.run(&["audit", "retain", "--retain", "1y"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(out(&o).starts_with("expired 37 records"), "{}", out(&o));
    let o = f.run(&["audit", "query", "--user", "system:admin"]);
    assert!(out(&o).contains("no records match"), "{}", out(&o));
    let o = f.verify_with_witness();
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    assert!(out(&o).contains("(37 expired)"), "{}", out(&o));
    let o = f.run(&["audit", "retain", "--retain", "6 years"]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("--retain"), "{}", err(&o));
}

/// A fresh database on the MLGUARD_TEST_POSTGRES server, dropped at the end.
struct PgDb {
    admin: String,
    name: String,
    url: String,
}

impl PgDb {
    fn new() -> Option<PgDb> {
        let admin = match std::env::var("MLGUARD_TEST_POSTGRES") {
            Ok(u) if !u.is_empty() => u,
            _ => {
                assert!(
                    std::env::var("MLGUARD_REQUIRE_TOOLS").as_deref() != Ok("1"),
                    "MLGUARD_TEST_POSTGRES is not set but MLGUARD_REQUIRE_TOOLS=1"
                );
                eprintln!("skipped: set MLGUARD_TEST_POSTGRES to run");
                return None;
            }
        };
        let name = format!(
            "t_cli_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let base = admin.split('?').next().unwrap();
        let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
        Some(PgDb { admin, name, url })
    }

    fn sql(&self, sql: &str) {
        postgres::Client::connect(&self.url, postgres::NoTls)
            .unwrap()
            .batch_execute(sql)
            .unwrap();
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

#[test]
fn postgres_store_verify_query_prove() {
    let Some(db) = PgDb::new() else { return };
    let f = fixture_at(Some(db.url.clone()));
    let o = f.verify_with_witness();
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    let o = f.run(&["audit", "query", "--model", "llama-7b", "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let v: Vec<serde_json::Value> = serde_json::from_str(&out(&o)).unwrap();
    assert!(!v.is_empty() && v.iter().all(|r| r["model"] == "llama-7b"));
    let o = f.run(&["audit", "prove", "--record", "3"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let o = common::run(
        &["audit", "verify-proof", "-", "--key", &f.pubkey()],
        Some(&out(&o)),
    );
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    db.sql("UPDATE audit_records SET model = 'other' WHERE seq = 40");
    let o = f.run(&["audit", "verify", "--key", &f.pubkey()]);
    assert_eq!(code(&o), 1, "{}{}", out(&o), err(&o));
    assert!(out(&o).contains("record 40 (event id "), "{}", out(&o));
}
