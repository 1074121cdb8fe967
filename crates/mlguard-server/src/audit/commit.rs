//! Group commit: the batches of concurrent requests are appended to the store together, in one
//! transaction (one fsync), so that durable throughput is not bounded by one commit per batch.
//! Each batch stays whole: a group is all or nothing, so each of its batches is. A request is
//! answered once its group is durable.
//!
//! One thread appends: it takes the first waiting batch, then every other batch already waiting
//! (up to [`MAX_GROUP_RECORDS`] records), appends them as one, and answers each. The counts of
//! a batch are exact when it was alone, or when its group had no duplicate; otherwise only the
//! group's counts are known.

use mlguard_audit::store::{AppendSummary, Encoded, Store, StoreError};
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

/// The appending thread's queue.
pub(crate) struct Committer {
    tx: mpsc::Sender<Job>,
}

/// The counters the appending thread keeps.
#[derive(Clone)]
pub(crate) struct Counters {
    pub appended: prometheus_client::metrics::counter::Counter,
    pub duplicates: prometheus_client::metrics::counter::Counter,
    pub batches: prometheus_client::metrics::histogram::Histogram,
}

impl Committer {
    pub fn start(store: Arc<dyn Store>, counters: Counters) -> Committer {
        let (tx, rx) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("mlguard-audit-append".into())
            .spawn(move || run(store.as_ref(), &rx, &counters));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the appending thread");
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

fn run(store: &dyn Store, rx: &mpsc::Receiver<Job>, counters: &Counters) {
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
        commit(store, jobs, counters);
    }
}

fn commit(store: &dyn Store, mut jobs: Vec<Job>, counters: &Counters) {
    let batches = jobs.len();
    let lens: Vec<usize> = jobs.iter().map(|j| j.records.len()).collect();
    let all: Vec<Encoded> = if batches == 1 {
        std::mem::take(&mut jobs[0].records)
    } else {
        let mut v = Vec::with_capacity(lens.iter().sum());
        for j in &mut jobs {
            v.append(&mut j.records);
        }
        v
    };
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| store.append_encoded(all)));
    if let Ok(Ok(s)) = &res {
        counters.appended.inc_by(s.appended as u64);
        counters.duplicates.inc_by(s.duplicates as u64);
        counters.batches.observe(batches as f64);
    }
    for (job, len) in jobs.into_iter().zip(lens) {
        let answer = match &res {
            Ok(Ok(group)) => {
                let exact = if batches == 1 {
                    Some(*group)
                } else if group.duplicates == 0 {
                    Some(AppendSummary {
                        appended: len,
                        duplicates: 0,
                    })
                } else {
                    None
                };
                Ok(Committed {
                    exact,
                    group: *group,
                    batches,
                })
            }
            Ok(Err(e)) => Err(Failed::from(e)),
            Err(_) => {
                tracing::error!("the store panicked appending a batch");
                Err(Failed {
                    unavailable: false,
                    message: "internal error".into(),
                })
            }
        };
        let _ = job.reply.send(answer);
    }
}
