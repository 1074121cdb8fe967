//! Group commit: the batches of concurrent requests are appended to the store together, in one
//! transaction, and made durable together, so that durable throughput is not bounded by one
//! flush per batch. Each batch stays whole: a group is all or nothing, so each of its batches
//! is. A request is answered once its group is durable.
//!
//! Two threads, so that one group is written while the one before is flushed to disk:
//! - the appending thread takes the first waiting batch, then every other batch already
//!   waiting (up to [`MAX_GROUP_RECORDS`] records), and commits them as one group
//!   ([`Store::append_deferred`]);
//! - the flushing thread takes every group committed since its last flush, makes them durable
//!   with one flush ([`Store::make_durable`]), and only then answers each of their batches.
//!
//! The counts of a batch are exact when it was alone in its group, or when its group had no
//! duplicate; otherwise only the group's counts are known.

use mlguard_audit::store::{AppendSummary, Deferred, Encoded, Store, StoreError};
use std::sync::mpsc;
use std::sync::Arc;

/// Records appended in one group at most (a batch larger than this is appended alone).
pub const MAX_GROUP_RECORDS: usize = 8192;

/// What happened to one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Committed {
    /// This batch's counts, when known.
    pub exact: Option<AppendSummary>,
    /// The group's counts (equal to `exact` for a batch alone).
    pub group: AppendSummary,
    /// Batches in the group.
    pub batches: usize,
}

/// Why the append failed (the error is shared by the group).
#[derive(Debug, Clone)]
pub(crate) struct Failed {
    pub unavailable: bool,
    pub message: String,
}

impl From<&StoreError> for Failed {
    fn from(e: &StoreError) -> Failed {
        Failed {
            unavailable: e.is_unavailable(),
            message: e.to_string(),
        }
    }
}

type Reply = tokio::sync::oneshot::Sender<Result<Committed, Failed>>;

struct Job {
    records: Vec<Encoded>,
    reply: Reply,
}

/// A group the appending thread committed, on its way to the flushing thread: each batch's
/// reply and record count, and what the commit did.
struct Appended {
    batches: Vec<(Reply, usize)>,
    result: Result<Deferred, Failed>,
}

/// The appending thread's queue.
pub(crate) struct Committer {
    tx: mpsc::Sender<Job>,
}

/// The counters the committing threads keep.
#[derive(Clone)]
pub(crate) struct Counters {
    pub appended: prometheus_client::metrics::counter::Counter,
    pub duplicates: prometheus_client::metrics::counter::Counter,
    pub batches: prometheus_client::metrics::histogram::Histogram,
}

impl Committer {
    pub fn start(store: Arc<dyn Store>, counters: Counters) -> Committer {
        let (tx, rx) = mpsc::channel::<Job>();
        let (appended_tx, appended_rx) = mpsc::channel::<Appended>();
        let flusher = store.clone();
        let threads = std::thread::Builder::new()
            .name("mlguard-audit-flush".into())
            .spawn(move || flush_loop(flusher.as_ref(), &appended_rx, &counters))
            .and_then(|_| {
                std::thread::Builder::new()
                    .name("mlguard-audit-append".into())
                    .spawn(move || append_loop(store.as_ref(), &rx, &appended_tx))
            });
        // Without both threads the queue's receiver is dropped, and every append is answered
        // "the appending thread stopped" (a 500), never a false success.
        if let Err(e) = threads {
            tracing::error!(error = %e, "cannot start the committing threads");
        }
        Committer { tx }
    }

    /// Appends `records` (with whatever else is waiting) and waits until durable.
    pub async fn append(&self, records: Vec<Encoded>) -> Result<Committed, Failed> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let lost = || Failed {
            unavailable: false,
            message: "the appending thread stopped".into(),
        };
        self.tx.send(Job { records, reply }).map_err(|_| lost())?;
        rx.await.map_err(|_| lost())?
    }
}

fn append_loop(store: &dyn Store, rx: &mpsc::Receiver<Job>, out: &mpsc::Sender<Appended>) {
    while let Ok(first) = rx.recv() {
        let mut n = first.records.len();
        let mut jobs = vec![first];
        while n < MAX_GROUP_RECORDS {
            match rx.try_recv() {
                Ok(j) => {
                    n += j.records.len();
                    jobs.push(j);
                }
                Err(_) => break,
            }
        }
        // A batch alone (the usual case at a steady rate) is appended as it came, not copied.
        let mut all = Vec::new();
        let mut batches = Vec::with_capacity(jobs.len());
        for mut j in jobs {
            batches.push((j.reply, j.records.len()));
            if all.is_empty() {
                all = std::mem::take(&mut j.records);
                all.reserve(n - all.len());
            } else {
                all.append(&mut j.records);
            }
        }
        let result = guarded("appending a batch", || store.append_deferred(all));
        if out.send(Appended { batches, result }).is_err() {
            // The flushing thread is gone: the replies were dropped with the group, so each
            // waiting request is answered "the appending thread stopped".
            return;
        }
    }
}

fn flush_loop(store: &dyn Store, rx: &mpsc::Receiver<Appended>, counters: &Counters) {
    while let Ok(first) = rx.recv() {
        let mut committed = Vec::new();
        let mut waiting = Vec::new();
        for group in std::iter::once(first).chain(rx.try_iter()) {
            match group.result {
                Ok(d) => {
                    committed.push(d);
                    waiting.push(group.batches);
                }
                Err(f) => answer(group.batches, &Err(f)),
            }
        }
        if committed.is_empty() {
            continue;
        }
        let flushed = guarded("flushing the store", || store.make_durable(&committed));
        for (batches, d) in waiting.into_iter().zip(&committed) {
            let result = flushed.clone().map(|()| d.summary);
            if let Ok(s) = &result {
                counters.appended.inc_by(s.appended as u64);
                counters.duplicates.inc_by(s.duplicates as u64);
                counters.batches.observe(batches.len() as f64);
            }
            answer(batches, &result);
        }
    }
}

/// Runs a store call, turning its error, or a panic, into the group's [`Failed`].
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, Failed> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Failed::from(&e)),
        Err(_) => {
            tracing::error!("the store panicked {what}");
            Err(Failed {
                unavailable: false,
                message: "internal error".into(),
            })
        }
    }
}

/// Answers each batch of a group with the group's outcome.
fn answer(batches: Vec<(Reply, usize)>, group: &Result<AppendSummary, Failed>) {
    let n = batches.len();
    for (reply, len) in batches {
        let answer = group.clone().map(|group| Committed {
            exact: if n == 1 {
                Some(group)
            } else if group.duplicates == 0 {
                Some(AppendSummary {
                    appended: len,
                    duplicates: 0,
                })
            } else {
                None
            },
            group,
            batches: n,
        });
        let _ = reply.send(answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlguard_audit::trail::record::{Record, Source};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use std::time::Duration;

    /// A store whose flush waits until the test lets it through, and fails if told to.
    struct GatedStore {
        appended: AtomicUsize,
        flushes: AtomicUsize,
        gate: Mutex<mpsc::Receiver<Result<(), StoreError>>>,
    }

    impl Store for GatedStore {
        fn append_encoded(&self, batch: Vec<Encoded>) -> Result<AppendSummary, StoreError> {
            self.appended.fetch_add(batch.len(), Ordering::SeqCst);
            Ok(AppendSummary {
                appended: batch.len(),
                duplicates: 0,
            })
        }

        fn make_durable(&self, _done: &[Deferred]) -> Result<(), StoreError> {
            self.flushes.fetch_add(1, Ordering::SeqCst);
            let gate = self.gate.lock().unwrap();
            gate.recv().unwrap_or(Ok(()))
        }

        fn checkpoint_if_due(&self) -> Result<Option<String>, StoreError> {
            Ok(None)
        }
    }

    fn counters() -> Counters {
        Counters {
            appended: Default::default(),
            duplicates: Default::default(),
            batches: prometheus_client::metrics::histogram::Histogram::new([1.0, 2.0, 4.0]),
        }
    }

    fn batch(n: usize, tag: &str) -> Vec<Encoded> {
        (0..n)
            .map(|i| {
                let r = Record::new(Source::K8s, format!("{tag}-{i}"), 1_700_000_000_000_000_000);
                Encoded::new(&r)
            })
            .collect()
    }

    async fn until(what: &str, f: impl Fn() -> bool) {
        for _ in 0..500 {
            if f() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting for {what}");
    }

    fn start() -> (
        Arc<GatedStore>,
        mpsc::Sender<Result<(), StoreError>>,
        Committer,
    ) {
        let (open, gate) = mpsc::channel();
        let store = Arc::new(GatedStore {
            appended: AtomicUsize::new(0),
            flushes: AtomicUsize::new(0),
            gate: Mutex::new(gate),
        });
        let committer = Committer::start(store.clone(), counters());
        (store, open, committer)
    }

    /// A batch is answered only after the flush that covers it returns, and the next group is
    /// appended while that flush is still running.
    #[tokio::test]
    async fn a_batch_is_answered_after_its_flush_and_the_next_is_written_meanwhile() {
        let (store, open, committer) = start();
        let committer = Arc::new(committer);
        let c = committer.clone();
        let mut first = tokio::spawn(async move { c.append(batch(3, "a")).await });
        until("the first flush", || {
            store.flushes.load(Ordering::SeqCst) == 1
        })
        .await;
        assert!(
            tokio::time::timeout(Duration::from_millis(100), &mut first)
                .await
                .is_err(),
            "answered before its flush returned"
        );
        let c = committer.clone();
        let mut second = tokio::spawn(async move { c.append(batch(2, "b")).await });
        until("the second append, during the first flush", || {
            store.appended.load(Ordering::SeqCst) == 5
        })
        .await;
        open.send(Ok(())).unwrap();
        let got = first.await.unwrap().unwrap();
        assert_eq!(got.group.appended, 3);
        assert!(
            tokio::time::timeout(Duration::from_millis(100), &mut second)
                .await
                .is_err(),
            "the second batch was answered before a flush after its commit"
        );
        open.send(Ok(())).unwrap();
        assert_eq!(second.await.unwrap().unwrap().group.appended, 2);
    }

    /// A failed flush answers its batches unavailable (503: the sender retries).
    #[tokio::test]
    async fn a_failed_flush_answers_unavailable() {
        let (_store, open, committer) = start();
        open.send(Err(StoreError::Unavailable("disk gone".into())))
            .unwrap();
        let got = committer.append(batch(1, "c")).await.unwrap_err();
        assert!(got.unavailable);
        assert!(got.message.contains("disk gone"), "{}", got.message);
    }
}
