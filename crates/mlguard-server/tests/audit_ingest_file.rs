//! `audit ingest`'s file follower against an in-memory store: batches, the saved position,
//! restarts, bad lines, incomplete lines, rotation (rename and truncation, while running and
//! while stopped) and an unavailable store; every event exactly once.

use mlguard_audit::store::{AppendSummary, Encoded, Store, StoreError};
use mlguard_audit::trail::normalize::ModelMap;
use mlguard_audit::trail::record::{Record, Source};
use mlguard_server::audit::ingest_file::{ingest, Options, Report, State};
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An idempotency key, owned: (source, event id, stage, time).
type Key = (Source, String, Option<String>, i64);

#[derive(Default)]
struct MemStore {
    ids: Mutex<Vec<String>>,
    keys: Mutex<HashSet<Key>>,
    appends: Mutex<Vec<usize>>,
    /// Fail this many appends as unavailable.
    fail: AtomicUsize,
}

impl Store for MemStore {
    fn append(&self, batch: &[Record]) -> Result<AppendSummary, StoreError> {
        if self
            .fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(StoreError::Unavailable("down for the test".into()));
        }
        self.appends.lock().unwrap().push(batch.len());
        let mut keys = self.keys.lock().unwrap();
        let mut s = AppendSummary::default();
        for r in batch {
            let (src, id, stage, time) = r.idempotency_key();
            if keys.insert((src, id.to_owned(), stage.map(str::to_owned), time)) {
                self.ids.lock().unwrap().push(r.event_id.clone());
                s.appended += 1;
            } else {
                s.duplicates += 1;
            }
        }
        Ok(s)
    }

    fn append_encoded(&self, batch: Vec<Encoded>) -> Result<AppendSummary, StoreError> {
        let records: Vec<Record> = batch.iter().map(|e| e.record().unwrap()).collect();
        self.append(&records)
    }

    fn checkpoint_if_due(&self) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
}

impl MemStore {
    fn ids(&self) -> Vec<String> {
        self.ids.lock().unwrap().clone()
    }
}

fn line(id: &str) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{{"username":"alice"}},"sourceIPs":["10.0.0.1"],"objectRef":{{"resource":"pods","apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":200}},"stageTimestamp":"2026-03-02T09:00:00.000001Z"}}"#
    ) + "\n"
}

fn append(path: &Path, ids: impl IntoIterator<Item = String>) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for id in ids {
        f.write_all(line(&id).as_bytes()).unwrap();
    }
}

fn ids(prefix: &str, r: std::ops::Range<usize>) -> Vec<String> {
    r.map(|i| format!("{prefix}-{i}")).collect()
}

fn opts(dir: &Path) -> Options {
    let mut o = Options::new(dir.join("state.json"));
    o.poll = Duration::from_millis(20);
    o
}

fn once(path: &Path, store: &MemStore, o: &Options) -> (Report, Vec<(PathBuf, u64, String)>) {
    let mut bad = Vec::new();
    let stop = AtomicBool::new(false);
    let r = ingest(
        path,
        store,
        &mut ModelMap::default(),
        o,
        &stop,
        &mut |f, l, m| bad.push((f.to_owned(), l, m.to_owned())),
    )
    .unwrap();
    (r, bad)
}

/// Runs ingest --follow on a thread until `stop`.
struct Follower {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<Report>>,
}

impl Follower {
    fn start(path: &Path, store: Arc<MemStore>, o: Options) -> Follower {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let path = path.to_owned();
        let handle = std::thread::spawn(move || {
            let mut o = o;
            o.follow = true;
            ingest(
                &path,
                store.as_ref(),
                &mut ModelMap::default(),
                &o,
                &s,
                &mut |f, l, m| eprintln!("{}:{l}: {m}", f.display()),
            )
            .unwrap()
        });
        Follower {
            stop,
            handle: Some(handle),
        }
    }

    fn stop(mut self) -> Report {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.take().unwrap().join().unwrap()
    }
}

fn wait_for(store: &MemStore, n: usize) {
    let until = Instant::now() + Duration::from_secs(20);
    while store.ids().len() < n {
        assert!(
            Instant::now() < until,
            "only {} of {n} events arrived",
            store.ids().len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn assert_exactly(store: &MemStore, want: &[String]) {
    let got = store.ids();
    let set: HashSet<&String> = got.iter().collect();
    assert_eq!(set.len(), got.len(), "a duplicate was stored");
    let want_set: HashSet<&String> = want.iter().collect();
    assert_eq!(set, want_set);
}

#[test]
fn audit_ingest_batches_and_resumes_without_rereading() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    append(&log, ids("a", 0..1000));
    let store = MemStore::default();
    let o = opts(dir.path());
    let (r, bad) = once(&log, &store, &o);
    assert_eq!(r.appended, 1000);
    assert!(bad.is_empty());
    assert_eq!(*store.appends.lock().unwrap(), vec![400, 400, 200]);
    let st = State::load(&o.state).unwrap().unwrap();
    assert_eq!(st.offset, std::fs::metadata(&log).unwrap().len());
    assert_eq!(st.line, 1000);
    // Again: nothing is read twice.
    let (r, _) = once(&log, &store, &o);
    assert_eq!(r, Report::default());
    assert_eq!(store.appends.lock().unwrap().len(), 3);
    // New lines: only they are read.
    append(&log, ids("b", 0..10));
    let (r, _) = once(&log, &store, &o);
    assert_eq!(r.appended, 10);
    assert_eq!(r.duplicates, 0);
    let mut all = ids("a", 0..1000);
    all.extend(ids("b", 0..10));
    assert_exactly(&store, &all);
}

#[test]
fn audit_ingest_replay_after_a_lost_state_is_harmless() {
    // A crash after the append but before the state was saved: the batch is read again and
    // the store skips it.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    append(&log, ids("a", 0..50));
    let store = MemStore::default();
    let o = opts(dir.path());
    once(&log, &store, &o);
    std::fs::remove_file(&o.state).unwrap();
    let (r, _) = once(&log, &store, &o);
    assert_eq!((r.appended, r.duplicates), (0, 50));
    assert_exactly(&store, &ids("a", 0..50));
}

#[test]
fn audit_ingest_bad_lines_are_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    append(&log, ids("a", 0..2));
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(b"not json\n\n{\"kind\":\"Pod\",\"apiVersion\":\"v1\"}\n")
        .unwrap();
    append(&log, ids("b", 0..2));
    let store = MemStore::default();
    let (r, bad) = once(&log, &store, &opts(dir.path()));
    assert_eq!(r.appended, 4);
    assert_eq!(r.rejected, 2);
    assert_eq!(bad[0].1, 3, "{bad:?}");
    assert!(bad[0].2.contains("malformed JSON"), "{bad:?}");
    assert_eq!(bad[1].1, 5, "{bad:?}");
    assert!(bad[1].2.contains("kind"), "{bad:?}");
}

#[test]
fn audit_ingest_incomplete_last_line_waits() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    append(&log, ids("a", 0..3));
    let full = line("a-3");
    let (head, tail) = full.split_at(40);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(head.as_bytes())
        .unwrap();
    let store = MemStore::default();
    let o = opts(dir.path());
    let (r, bad) = once(&log, &store, &o);
    assert_eq!(r.appended, 3);
    assert!(bad[0].2.contains("incomplete last line"), "{bad:?}");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(tail.as_bytes())
        .unwrap();
    let (r, bad) = once(&log, &store, &o);
    assert_eq!(r.appended, 1);
    assert!(bad.is_empty());
    assert_exactly(&store, &ids("a", 0..4));
}

#[test]
fn audit_ingest_follow_through_rename_and_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    append(&log, ids("a", 0..100));
    let store = Arc::new(MemStore::default());
    let f = Follower::start(&log, store.clone(), opts(dir.path()));
    wait_for(&store, 100);
    append(&log, ids("b", 0..50));
    wait_for(&store, 150);
    // Rotation by rename (lumberjack, logrotate create): the writer's last lines go to the old
    // file just before the new one appears.
    let old = dir.path().join("audit-2026-03-02T09-00-00.000.log");
    std::fs::rename(&log, &old).unwrap();
    append(&old, ids("c", 0..5));
    append(&log, ids("d", 0..20));
    wait_for(&store, 175);
    // Rotation by truncation (copytruncate).
    std::fs::write(&log, "").unwrap();
    append(&log, ids("e", 0..7));
    wait_for(&store, 182);
    let r = f.stop();
    assert!(r.rotations >= 2, "{r:?}");
    let mut all = ids("a", 0..100);
    for (p, n) in [("b", 50), ("c", 5), ("d", 20), ("e", 7)] {
        all.extend(ids(p, 0..n));
    }
    assert_exactly(&store, &all);
}

#[test]
fn audit_ingest_finishes_a_file_rotated_while_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    append(&log, ids("a", 0..10));
    let store = MemStore::default();
    let o = opts(dir.path());
    once(&log, &store, &o);
    // While stopped: more lines, then rotation, then lines in the new file.
    append(&log, ids("b", 0..10));
    std::fs::rename(&log, dir.path().join("audit.log.1")).unwrap();
    append(&log, ids("c", 0..10));
    let (r, _) = once(&log, &store, &o);
    assert_eq!(r.appended, 20);
    assert_eq!(r.rotations, 1);
    let mut all = ids("a", 0..10);
    all.extend(ids("b", 0..10));
    all.extend(ids("c", 0..10));
    assert_exactly(&store, &all);
}

#[test]
fn audit_ingest_follow_waits_out_an_unavailable_store() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    append(&log, ids("a", 0..30));
    let store = Arc::new(MemStore::default());
    store.fail.store(2, Ordering::SeqCst);
    let f = Follower::start(&log, store.clone(), opts(dir.path()));
    wait_for(&store, 30);
    f.stop();
    assert_exactly(&store, &ids("a", 0..30));
    // Without --follow an unavailable store is an error and the position is not advanced.
    let dir2 = tempfile::tempdir().unwrap();
    let log2 = dir2.path().join("audit.log");
    append(&log2, ids("x", 0..3));
    let s2 = MemStore::default();
    s2.fail.store(1, Ordering::SeqCst);
    let o2 = opts(dir2.path());
    let stop = AtomicBool::new(false);
    let err = ingest(
        &log2,
        &s2,
        &mut ModelMap::default(),
        &o2,
        &stop,
        &mut |_, _, _| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("unavailable"), "{err}");
    assert!(State::load(&o2.state).unwrap().is_none());
    let (r, _) = once(&log2, &s2, &o2);
    assert_eq!(r.appended, 3);
}

#[test]
fn audit_ingest_follow_waits_for_a_log_not_yet_created() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let store = Arc::new(MemStore::default());
    let f = Follower::start(&log, store.clone(), opts(dir.path()));
    std::thread::sleep(Duration::from_millis(100));
    append(&log, ids("a", 0..30));
    wait_for(&store, 30);
    f.stop();
    assert_exactly(&store, &ids("a", 0..30));

    // Stopped while still waiting: returns, nothing stored, no error.
    let absent = dir.path().join("never.log");
    let other = Arc::new(MemStore::default());
    let f = Follower::start(&absent, other.clone(), opts(dir.path()));
    std::thread::sleep(Duration::from_millis(60));
    f.stop();
    assert!(other.ids().is_empty());

    // Without --follow a missing log is an error naming it.
    let stop = AtomicBool::new(false);
    let e = ingest(
        &absent,
        &MemStore::default(),
        &mut ModelMap::default(),
        &opts(dir.path()),
        &stop,
        &mut |_, _, _| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("never.log"), "{e}");
}
