//! `audit report --model M`: a model's timeline from the trail: when it was deployed,
//! changed and deleted and by whom (Kubernetes requests on InferenceServices and
//! TrainedModels), which identities queried it (inference records: counts, first and last),
//! and who downloaded or uploaded its weights (object-storage records).

use super::query::{self, QueryRecord};
use super::{Log, Query, StoreError};
use crate::trail::record::{format_rfc3339, OutcomeKind, Record, Source};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A model's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelReport {
    pub model: String,
    /// Kubernetes writes to the model's objects, by event time: `deployed` (create),
    /// `changed` (update, patch), `deleted` (delete, deletecollection).
    pub lifecycle: Vec<LifecycleEvent>,
    /// Who queried the model (inference records), by count, most first.
    pub queried_by: Vec<Identity>,
    /// Who read the model's objects from storage (storage `get`).
    pub downloaded_by: Vec<Identity>,
    /// Who wrote the model's objects to storage (storage `put`, `delete`).
    pub written_by: Vec<Identity>,
    /// Records about the model in all.
    pub records: u64,
}

/// One lifecycle step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LifecycleEvent {
    /// `deployed`, `changed` or `deleted`.
    pub action: &'static str,
    pub time: String,
    pub actor: String,
    pub verb: String,
    pub resource: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// `success`, `failure` or `unknown`.
    pub outcome: &'static str,
    pub seq: u64,
}

/// An identity's accesses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub actor: String,
    /// Distinct events (a request logged at several stages counts once).
    pub count: u64,
    pub first: String,
    pub last: String,
}

#[derive(Default)]
struct Acc {
    events: BTreeSet<String>,
    first: i64,
    last: i64,
}

fn add(map: &mut BTreeMap<String, Acc>, r: &Record) {
    let a = map.entry(r.actor.clone()).or_insert(Acc {
        events: BTreeSet::new(),
        first: i64::MAX,
        last: i64::MIN,
    });
    a.events.insert(r.event_id.clone());
    a.first = a.first.min(r.time_ns);
    a.last = a.last.max(r.time_ns);
}

fn identities(map: BTreeMap<String, Acc>) -> Vec<Identity> {
    let mut v: Vec<Identity> = map
        .into_iter()
        .map(|(actor, a)| Identity {
            actor,
            count: a.events.len() as u64,
            first: format_rfc3339(a.first),
            last: format_rfc3339(a.last),
        })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.actor.cmp(&b.actor)));
    v
}

/// Builds the report of `model` from the records the query `base` (with `model` set) returns,
/// reading them page by page.
pub fn model_report(log: &dyn Log, model: &str, base: &Query) -> Result<ModelReport, StoreError> {
    let q = Query {
        model: Some(model.to_string()),
        ..base.clone()
    };
    let mut b = Builder::new(model);
    query::for_each(log, &q, &mut |seq, r| {
        b.add(seq, r);
        Ok(())
    })?;
    Ok(b.finish())
}

/// The report over already-read records of the model.
pub fn build(model: &str, records: Vec<(u64, Record)>) -> ModelReport {
    let mut b = Builder::new(model);
    for (seq, r) in records {
        b.add(seq, r);
    }
    b.finish()
}

/// Accumulates a report one record at a time.
struct Builder {
    model: String,
    lifecycle: Vec<LifecycleEvent>,
    queried: BTreeMap<String, Acc>,
    downloaded: BTreeMap<String, Acc>,
    written: BTreeMap<String, Acc>,
    total: u64,
}

impl Builder {
    fn new(model: &str) -> Builder {
        Builder {
            model: model.to_string(),
            lifecycle: Vec::new(),
            queried: BTreeMap::new(),
            downloaded: BTreeMap::new(),
            written: BTreeMap::new(),
            total: 0,
        }
    }

    fn add(&mut self, seq: u64, r: Record) {
        self.total += 1;
        match r.source {
            Source::K8s => {
                // One entry per request: its final stage.
                if matches!(
                    r.stage.as_deref(),
                    Some("RequestReceived" | "ResponseStarted")
                ) {
                    return;
                }
                let action = match r.verb.as_str() {
                    "create" => "deployed",
                    "update" | "patch" => "changed",
                    "delete" | "deletecollection" => "deleted",
                    _ => return,
                };
                let q = QueryRecord::new(seq, r);
                self.lifecycle.push(LifecycleEvent {
                    action,
                    time: q.time,
                    actor: q.actor,
                    verb: q.verb,
                    resource: q.resource,
                    namespace: q.namespace,
                    name: q.name,
                    outcome: q.outcome,
                    seq,
                });
            }
            Source::Inference => add(&mut self.queried, &r),
            Source::Storage if r.outcome.kind != OutcomeKind::Failure => match r.verb.as_str() {
                "get" => add(&mut self.downloaded, &r),
                "put" | "delete" => add(&mut self.written, &r),
                _ => {}
            },
            _ => {}
        }
    }

    fn finish(self) -> ModelReport {
        ModelReport {
            model: self.model,
            lifecycle: self.lifecycle,
            queried_by: identities(self.queried),
            downloaded_by: identities(self.downloaded),
            written_by: identities(self.written),
            records: self.total,
        }
    }
}
