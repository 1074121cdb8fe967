//! Query results as the reading commands print them: one JSON object per record (the
//! `audit query --format json` contract: at least `time`, `source`, `actor`, `verb`,
//! `namespace`, `resource`, `name`, `model`).

use super::{Log, Query, StoreError, StoredRow};
use crate::trail::record::{format_rfc3339, OutcomeKind, Record};
use serde::Serialize;
use std::collections::BTreeMap;

/// One record of a query's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryRecord {
    /// The leaf index (arrival order).
    pub seq: u64,
    /// The event time, RFC 3339 UTC.
    pub time: String,
    pub source: String,
    pub actor: String,
    pub on_behalf_of: Option<String>,
    pub groups: Vec<String>,
    pub verb: String,
    pub namespace: Option<String>,
    pub resource: String,
    pub name: Option<String>,
    pub model: Option<String>,
    /// `success`, `failure` or `unknown`.
    pub outcome: &'static str,
    pub code: Option<u16>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub event_id: String,
    pub stage: Option<String>,
    pub detail: BTreeMap<String, String>,
}

impl QueryRecord {
    /// The answer line of a stored row and its decoded record.
    pub fn new(seq: u64, r: Record) -> QueryRecord {
        QueryRecord {
            seq,
            time: format_rfc3339(r.time_ns),
            source: r.source.as_str().to_string(),
            actor: r.actor,
            on_behalf_of: r.on_behalf_of,
            groups: r.groups,
            verb: r.verb,
            namespace: r.namespace,
            resource: r.resource,
            name: r.name,
            model: r.model,
            outcome: match r.outcome.kind {
                OutcomeKind::Success => "success",
                OutcomeKind::Failure => "failure",
                _ => "unknown",
            },
            code: r.outcome.code,
            source_ip: r.source_ip,
            user_agent: r.user_agent,
            event_id: r.event_id,
            stage: r.stage,
            detail: r.detail,
        }
    }
}

/// Decodes a row's canonical bytes.
pub fn decode(row: &StoredRow) -> Result<Record, StoreError> {
    let c = row.canonical.as_deref().ok_or_else(|| {
        StoreError::Corrupt(format!("record {} has no payload (expired)", row.seq))
    })?;
    Record::from_canonical(c).map_err(|e| {
        StoreError::Corrupt(format!(
            "record {} (event id {}): {e}; run mlguard audit verify",
            row.seq, row.event_id
        ))
    })
}

/// A record of a query's answer, decoded, with its row's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub seq: u64,
    /// The row's `time_ns` column: what the query orders and pages by (equal to the record's
    /// time unless the row was altered behind the store's back).
    pub time_ns: i64,
    pub record: Record,
}

impl Decoded {
    /// A row, decoded ([`decode`]).
    pub fn of(row: &StoredRow) -> Result<Decoded, StoreError> {
        Ok(Decoded {
            seq: row.seq,
            time_ns: row.time_ns,
            record: decode(row)?,
        })
    }
}

/// Runs a query and decodes its records (all in memory: for large answers use [`for_each`]).
pub fn run(log: &dyn Log, q: &Query) -> Result<Vec<(u64, Record)>, StoreError> {
    Ok(log
        .query_records(q)?
        .into_iter()
        .map(|d| (d.seq, d.record))
        .collect())
}

/// Records read per page by [`for_each`].
pub const PAGE: u64 = 10_000;

/// Runs a query page by page ([`PAGE`] records at a time, keyed on event time and seq), calling
/// `f` with each decoded record in order, so an answer of any size needs one page of memory.
pub fn for_each(
    log: &dyn Log,
    q: &Query,
    f: &mut dyn FnMut(u64, Record) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    for_each_paged(log, q, PAGE, f)
}

/// [`for_each`] with pages of `page_size` records (at least 1).
pub fn for_each_paged(
    log: &dyn Log,
    q: &Query,
    page_size: u64,
    f: &mut dyn FnMut(u64, Record) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    let page_size = page_size.max(1);
    let mut page = q.clone();
    let mut left = q.limit;
    let mut n = 0u64;
    loop {
        page.limit = Some(left.map_or(page_size, |l| l.min(page_size)));
        if page.limit == Some(0) {
            return Ok(n);
        }
        let records = log.query_records(&page)?;
        let got = records.len() as u64;
        let Some(last) = records.last() else {
            return Ok(n);
        };
        page.after = Some((last.time_ns, last.seq));
        for d in records {
            f(d.seq, d.record)?;
        }
        n += got;
        left = left.map(|l| l - got);
        if got < page.limit.unwrap_or(page_size) {
            return Ok(n);
        }
    }
}
