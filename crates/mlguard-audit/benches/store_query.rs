//! "Query by model over 10,000,000 records under 200 ms", for SQLite and PostgreSQL.
//!
//! Bulk-loads MLGUARD_BENCH_RECORDS (default 10,000,000) realistic records into each backend
//! through the store's own append (SQLite: one transaction of 100,000 rows per append;
//! PostgreSQL: the same batches written with COPY), then times `query --model M` as the CLI
//! runs it (the indexed query and the decoding of every matching record) for 20 models: p50,
//! p99 and max against the 200 ms target. SQLite is read two ways in the same run, alternated:
//! the query in one statement on one connection, and split over several connections (the
//! default). Three passes: the first read of each model (right after a load, what the load
//! left in the page cache); with MLGUARD_BENCH_COLD=1 (as root) each query with the OS page
//! cache dropped just before it, so every page it needs comes from the disk, beside the disk's
//! random-read limit measured in the same run; then all warm.
//!
//! Records: about 1,000 models, 5,000 identities, 100 namespaces, event times spread over ten
//! years (arrival order shuffled against event time), 70% inference queries, 20% storage reads
//! and writes, 10% Kubernetes requests, each with a gzip-compressed raw event of a few hundred
//! bytes, so a model has about 10,000 records.
//!
//! ```text
//! cargo bench -p mlguard-audit --bench store_query
//! MLGUARD_BENCH_RECORDS=1000000 MLGUARD_BENCH_POSTGRES=postgres://mlguard@127.0.0.1:55432/mlguard \
//!     cargo bench -p mlguard-audit --bench store_query
//! ```
//!
//! SQLite goes to MLGUARD_BENCH_DIR (default target/store-bench), PostgreSQL to the database
//! `mlguard_bench_<records>` on the server of MLGUARD_BENCH_POSTGRES (else
//! MLGUARD_TEST_POSTGRES; skipped when neither is set). A store that already holds the records
//! is reused, so a second run only queries. MLGUARD_BENCH_BACKENDS=sqlite or postgres runs one.

use mlguard_audit::store::sqlite::{SqliteStore, QUERY_READERS};
use mlguard_audit::store::{self, query, Log, OpenOptions, Query};
use mlguard_audit::trail::record::{compress_raw, Outcome, Record, Source};
use std::time::{Duration, Instant};

const MODELS: u64 = 1_000;
const BATCH: u64 = 100_000;
const TARGET: Duration = Duration::from_millis(200);
const TEN_YEARS_NS: i64 = 10 * 365 * 86_400 * 1_000_000_000;
const START_NS: i64 = 1_483_228_800 * 1_000_000_000; // 2017-01-01

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Raw events to share between records (compressing 10M distinct events would measure gzip).
fn raws() -> Vec<Vec<u8>> {
    (0..64)
        .map(|i| {
            let ev = format!(
                r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{i:08x}-6b1e-4a43-9a5f-{i:012x}","stage":"ResponseComplete","requestURI":"/apis/serving.kserve.io/v1beta1/namespaces/team-{i}/inferenceservices/model-{i}","verb":"get","user":{{"username":"user{i}@example.com","groups":["ml-team-{i}","system:authenticated"]}},"sourceIPs":["10.12.{i}.7"],"userAgent":"python-requests/2.31.0","objectRef":{{"resource":"inferenceservices","namespace":"team-{i}","name":"model-{i}","apiGroup":"serving.kserve.io","apiVersion":"v1beta1"}},"responseStatus":{{"metadata":{{}},"code":200}},"requestReceivedTimestamp":"2026-03-02T09:20:11.048217Z","stageTimestamp":"2026-03-02T09:20:11.052117Z","annotations":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by RoleBinding \"model-readers/team-{i}\" of ClusterRole \"model-reader\" to Group \"ml-team-{i}\""}}}}"#
            );
            compress_raw(ev.as_bytes())
        })
        .collect()
}

fn record(i: u64, rng: &mut Rng, raws: &[Vec<u8>]) -> Record {
    let model = rng.below(MODELS);
    let time = START_NS + (rng.next() % TEN_YEARS_NS as u64) as i64;
    let kind = rng.below(10);
    let source = match kind {
        0..=6 => Source::Inference,
        7 | 8 => Source::Storage,
        _ => Source::K8s,
    };
    let mut r = Record::new(source, format!("{i:016x}-{:08x}", rng.next() as u32), time);
    r.actor = format!("user{}@example.com", rng.below(5_000));
    r.groups = vec![
        format!("ml-team-{}", model % 100),
        "system:authenticated".into(),
    ];
    r.namespace = Some(format!("team-{}", model % 100));
    r.model = Some(format!("model-{model:04}"));
    r.source_ip = Some(format!("10.12.{}.{}", rng.below(256), rng.below(256)));
    r.user_agent = Some("python-requests/2.31.0".into());
    r.raw = raws[rng.below(raws.len() as u64) as usize].clone();
    match source {
        Source::Inference => {
            r.verb = "query".into();
            r.resource = "inferenceservices".into();
            r.name = Some(format!("model-{model:04}"));
            r.stage = Some("request".into());
            r.outcome = Outcome::UNKNOWN;
        }
        Source::Storage => {
            r.verb = if kind == 7 { "get" } else { "put" }.into();
            r.resource = "objects".into();
            r.name = Some(format!(
                "s3://models/model-{model:04}/weights-{}.safetensors",
                rng.below(8)
            ));
            r.outcome = Outcome::from_status(200);
            r.detail.insert(
                "api".into(),
                if kind == 7 { "GetObject" } else { "PutObject" }.into(),
            );
        }
        _ => {
            r.verb = ["get", "list", "create", "patch", "delete"][rng.below(5) as usize].into();
            r.resource = "inferenceservices".into();
            r.name = Some(format!("model-{model:04}"));
            r.stage = Some("ResponseComplete".into());
            r.outcome = Outcome::from_status(200);
            r.detail
                .insert("api_group".into(), "serving.kserve.io".into());
        }
    }
    r
}

fn fmt_ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn bench(name: &str, url: &str, n: u64) {
    println!("== {name}: {n} records ({})", store::redact_url(url));
    let log = store::open_log(
        url,
        OpenOptions {
            checkpoints: None,
            create: true,
        },
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let have = log.size().expect("size");
    if have > n {
        panic!("{name}: the store has {have} records, more than {n}: remove it first");
    }
    if have < n {
        let raws = raws();
        let mut rng = Rng(0x6d6c_6775_6172_6400 ^ have);
        let start = Instant::now();
        let mut at = have;
        while at < n {
            let to = n.min(at + BATCH);
            let batch: Vec<Record> = (at..to).map(|i| record(i, &mut rng, &raws)).collect();
            let s = log.append(&batch).expect("append");
            assert_eq!(
                s.appended as u64,
                to - at,
                "no duplicates in generated records"
            );
            at = to;
            if at.is_multiple_of(1_000_000) || at == n {
                let secs = start.elapsed().as_secs_f64();
                println!(
                    "  loaded {at} records, {:.0} records/s",
                    (at - have) as f64 / secs
                );
            }
        }
        println!(
            "  load: {:.1} s for {} records",
            start.elapsed().as_secs_f64(),
            n - have
        );
    } else {
        println!("  reusing the loaded store");
    }
    let models: Vec<String> = (0..20)
        .map(|i| format!("model-{:04}", i * (MODELS / 20) + 7))
        .collect();
    match url.strip_prefix("sqlite:") {
        // The same file read two ways, alternated in one run: the query in one statement
        // (one connection, as before queries were split) and the default split query.
        Some(path) => {
            let path = std::path::Path::new(path);
            let open = || {
                SqliteStore::open(path, OpenOptions::default())
                    .unwrap_or_else(|e| panic!("{name}: {e}"))
            };
            let whole = open().with_query_readers(1);
            let split = open();
            let label = format!("split over up to {QUERY_READERS} connections (default)");
            time_queries(
                &[("one statement, one connection", &whole), (&label, &split)],
                &models,
                Some(path),
            );
        }
        None => time_queries(&[("default", log.as_ref())], &models, None),
    }
}

fn q(m: &str) -> Query {
    Query {
        model: Some(m.to_string()),
        ..Query::default()
    }
}

/// Drops the OS page cache (root only), so the next read of each page goes to the disk.
fn drop_page_cache() -> bool {
    let _ = std::process::Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok()
}

/// Bytes this process has had read from storage (/proc/self/io `read_bytes`, all threads).
fn storage_read_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("read_bytes: ")?.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The disk's random-read limit: reads of 4 KiB at random page offsets of `file` per second,
/// from 32 threads for two seconds, with the page cache dropped first (the most reads in
/// flight a split query has).
fn random_read_limit(file: &std::path::Path) -> f64 {
    use std::os::unix::fs::FileExt;
    drop_page_cache();
    let pages = std::fs::metadata(file).expect("size").len() / 4096;
    let done = std::sync::atomic::AtomicU64::new(0);
    let until = Instant::now() + Duration::from_secs(2);
    std::thread::scope(|s| {
        for t in 0..32u64 {
            let done = &done;
            s.spawn(move || {
                let f = std::fs::File::open(file).expect("open");
                let mut rng = Rng(0x5eed ^ (t << 32));
                let mut buf = [0u8; 4096];
                let mut n = 0;
                while Instant::now() < until {
                    f.read_exact_at(&mut buf, rng.below(pages) * 4096)
                        .expect("read");
                    n += 1;
                }
                done.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            });
        }
    });
    done.into_inner() as f64 / 2.0
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    First,
    Cold,
    Warm,
}

/// Times `query --model` for each model and prints each way's p50, p99 and max, and the pages
/// its queries read from storage, in passes: the first read of each model since the store was
/// opened (one way per model, taking turns: right after a load, what the load left in the page
/// cache); with MLGUARD_BENCH_COLD=1 (as root) every way on every model with the page cache
/// dropped before each query, and the time the disk's random-read limit
/// ([`random_read_limit`], on `file`) puts on that many reads; then warm, every way on every
/// model after one untimed pass over all.
fn time_queries(ways: &[(&str, &dyn Log)], models: &[String], file: Option<&std::path::Path>) {
    let cold = std::env::var("MLGUARD_BENCH_COLD").is_ok_and(|v| v == "1");
    // The first read of each model since the store was opened (by one way only: the ways
    // take turns), then the cold pass, then warm.
    let mut passes = vec![(
        "first read of each model, whatever the page cache holds (the ways take turns)",
        Pass::First,
    )];
    if cold {
        if drop_page_cache() {
            passes.push(("page cache dropped before each query", Pass::Cold));
        } else {
            println!("  cold: cannot write /proc/sys/vm/drop_caches (run as root): skipped");
        }
    }
    passes.push(("warm (one untimed pass first)", Pass::Warm));
    for (pass, kind) in passes {
        let mut times = vec![Vec::new(); ways.len()];
        let mut rows = vec![0; ways.len()];
        let mut pages = vec![0; ways.len()];
        if kind == Pass::Warm {
            for (_, log) in ways {
                for m in models {
                    query::run(*log, &q(m)).expect("query");
                }
            }
        }
        for (i, m) in models.iter().enumerate() {
            // Alternate which way reads a model first.
            let turns = if kind == Pass::First { 1 } else { ways.len() };
            for k in 0..turns {
                let w = (k + i) % ways.len();
                if kind == Pass::Cold {
                    drop_page_cache();
                }
                let read = storage_read_bytes();
                let t = Instant::now();
                let r = query::run(ways[w].1, &q(m)).expect("query");
                times[w].push(t.elapsed());
                pages[w] += (storage_read_bytes() - read) / 4096;
                rows[w] += r.len();
            }
        }
        println!("  query --model, {pass}:");
        for (w, (label, _)) in ways.iter().enumerate() {
            let t = &mut times[w];
            t.sort();
            let n = t.len();
            let p50 = t[n / 2];
            let p99 = t[(n * 99).div_ceil(100) - 1];
            println!(
                "    {label}: {n} models, {} records a query on average, {} pages read from \
                 storage; p50 {}, p99 {}, max {}: {} the 200 ms target",
                rows[w] / n,
                pages[w] / n as u64,
                fmt_ms(p50),
                fmt_ms(p99),
                fmt_ms(t[n - 1]),
                if p99 < TARGET { "within" } else { "OVER" }
            );
        }
        if ways.len() == 2 {
            let mid = |t: &Vec<Duration>| t[t.len() / 2].as_secs_f64();
            println!(
                "    ratio of p50s (second / first): {:.2}",
                mid(&times[1]) / mid(&times[0])
            );
        }
        if let (Pass::Cold, Some(file)) = (kind, file) {
            let iops = random_read_limit(file);
            let most = pages.iter().max().copied().unwrap_or(0) / models.len() as u64;
            println!(
                "    the disk's random-read limit (4 KiB reads from 32 threads, page cache \
                 dropped): {iops:.0} reads/s; {most} reads take at least {}",
                fmt_ms(Duration::from_secs_f64(most as f64 / iops))
            );
        }
    }
}

fn main() {
    // Only under `cargo bench` (which passes --bench): `cargo test --benches` and test
    // listers run the binary without it, and a 10M-record load is not a test.
    if !std::env::args().any(|a| a == "--bench") {
        println!("store_query: run with cargo bench (it loads millions of records)");
        return;
    }
    let n: u64 = std::env::var("MLGUARD_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let only = std::env::var("MLGUARD_BENCH_BACKENDS").unwrap_or_default();
    let run = |b: &str| only.is_empty() || only.split(',').any(|x| x == b);
    if run("sqlite") {
        let dir = std::env::var("MLGUARD_BENCH_DIR").map_or_else(
            |_| {
                std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../../target/store-bench")
            },
            std::path::PathBuf::from,
        );
        std::fs::create_dir_all(&dir).expect("bench dir");
        let path = dir.join(format!("audit-{n}.db"));
        bench("SQLite", &format!("sqlite:{}", path.display()), n);
    }
    if run("postgres") {
        let server = std::env::var("MLGUARD_BENCH_POSTGRES")
            .or_else(|_| std::env::var("MLGUARD_TEST_POSTGRES"))
            .ok()
            .filter(|s| !s.is_empty());
        let Some(server) = server else {
            println!("== PostgreSQL: skipped (set MLGUARD_BENCH_POSTGRES=postgres://...)");
            return;
        };
        let db = format!("mlguard_bench_{n}");
        let mut c = postgres::Client::connect(&server, postgres::NoTls).expect("connect");
        let exists = c
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&db])
            .expect("pg_database")
            .is_some();
        if !exists {
            c.batch_execute(&format!("CREATE DATABASE {db}"))
                .expect("create database");
        }
        let base = server.split('?').next().unwrap_or(&server);
        let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
        bench("PostgreSQL", &format!("{base}/{db}"), n);
    }
}
