//! What both backends share: the row and checkpoint shapes, the saved frontier, the query
//! filter's SQL, and the append plan (deduplication, leaf hashes, the running tree and the
//! checkpoint a batch makes due), so SQLite and PostgreSQL behave the same.

use super::{CheckpointPolicy, StoreError};
use crate::trail::checkpoint::{self, Checkpoint};
use crate::trail::merkle::{self, CompactTree, Hash};
use crate::trail::record::Record;
use std::collections::HashSet;
use std::io::Write;

/// The schema version in `audit_meta` (key `schema_version`).
///
/// Version 2 keys a record on (time, source, event id, stage) instead of (source, event id,
/// stage), in an index that leads with the time, and drops the index on time alone (the key's
/// index serves time ranges). Opening a version 1 store upgrades it (each backend's
/// `migrate_v1`): every command that opens a store also writes to it (the reading commands
/// record their read), and version 1's key does not take this version's appends.
pub const SCHEMA_VERSION: &str = "2";

/// The tables and indexes, the same for both backends but for the names of the 64-bit integer
/// type (`int`) and the byte string type (`bytes`).
///
/// The idempotency key's index leads with the event's time. Events arrive in about the order of
/// their times, so each insert lands at the index's right edge, where its pages stay in the
/// cache; an index led by the random audit IDs had each insert dirty a page of its own, rewritten
/// in the WAL at every commit, and cost more than the table itself.
pub(crate) fn ddl(int: &str, bytes: &str) -> String {
    format!(
        "
CREATE TABLE IF NOT EXISTS audit_records (
    seq {int} PRIMARY KEY,
    leaf_hash {bytes} NOT NULL,
    source TEXT NOT NULL,
    event_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    time_ns {int} NOT NULL,
    actor TEXT,
    verb TEXT,
    resource TEXT,
    namespace TEXT,
    name TEXT,
    model TEXT,
    canonical {bytes}
);
CREATE UNIQUE INDEX IF NOT EXISTS audit_records_key ON audit_records (time_ns, source, event_id, stage);
CREATE INDEX IF NOT EXISTS audit_records_model ON audit_records (model, time_ns);
CREATE INDEX IF NOT EXISTS audit_records_actor ON audit_records (actor, time_ns);
CREATE INDEX IF NOT EXISTS audit_records_namespace ON audit_records (namespace, time_ns);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    size {int} PRIMARY KEY,
    root {bytes} NOT NULL,
    note TEXT NOT NULL,
    signed_at_ns {int} NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"
    )
}

/// The `audit_meta` key of the tree size.
pub(crate) const META_SIZE: &str = "tree_size";
/// The `audit_meta` key of the compact tree's frontier (hex hashes, largest subtree first).
pub(crate) const META_FRONTIER: &str = "frontier";
/// The `audit_meta` key of the schema version.
pub(crate) const META_VERSION: &str = "schema_version";

/// One stored row of `audit_records`, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow {
    /// The leaf index: arrival order, 0-based and gapless.
    pub seq: u64,
    pub leaf_hash: Vec<u8>,
    pub source: String,
    pub event_id: String,
    /// The Kubernetes stage; empty when the record has none.
    pub stage: String,
    pub time_ns: i64,
    pub actor: Option<String>,
    pub verb: Option<String>,
    pub resource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub model: Option<String>,
    /// The canonical encoding; `None` once retention dropped the payload.
    pub canonical: Option<Vec<u8>>,
}

impl StoredRow {
    /// The row a record is stored as.
    pub fn new(seq: u64, record: &Record, canonical: Vec<u8>, leaf: Hash) -> StoredRow {
        StoredRow {
            seq,
            leaf_hash: leaf.to_vec(),
            source: record.source.as_str().to_string(),
            event_id: record.event_id.clone(),
            stage: record.stage.clone().unwrap_or_default(),
            time_ns: record.time_ns,
            actor: Some(record.actor.clone()),
            verb: Some(record.verb.clone()),
            resource: Some(record.resource.clone()),
            namespace: record.namespace.clone(),
            name: record.name.clone(),
            model: record.model.clone(),
            canonical: Some(canonical),
        }
    }

    /// The first query column that does not hold what the decoded canonical record says
    /// (`None` when all agree). For a row whose payload was dropped by retention the payload
    /// columns must be empty (NULL).
    pub fn column_mismatch(&self, record: Option<&Record>) -> Option<&'static str> {
        let Some(r) = record else {
            let cols = [
                ("actor", &self.actor),
                ("verb", &self.verb),
                ("resource", &self.resource),
                ("namespace", &self.namespace),
                ("name", &self.name),
                ("model", &self.model),
            ];
            return cols.iter().find(|(_, v)| v.is_some()).map(|(n, _)| *n);
        };
        if self.source != r.source.as_str() {
            return Some("source");
        }
        if self.event_id != r.event_id {
            return Some("event_id");
        }
        if self.stage != r.stage.as_deref().unwrap_or("") {
            return Some("stage");
        }
        if self.time_ns != r.time_ns {
            return Some("time_ns");
        }
        if self.actor.as_deref() != Some(r.actor.as_str()) {
            return Some("actor");
        }
        if self.verb.as_deref() != Some(r.verb.as_str()) {
            return Some("verb");
        }
        if self.resource.as_deref() != Some(r.resource.as_str()) {
            return Some("resource");
        }
        if self.namespace != r.namespace {
            return Some("namespace");
        }
        if self.name != r.name {
            return Some("name");
        }
        if self.model != r.model {
            return Some("model");
        }
        None
    }
}

/// One row of `audit_checkpoints`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Vec<u8>,
    /// The signed note, exactly as signed.
    pub note: String,
    /// When the store signed it (the receiver's clock), Unix nanoseconds.
    pub signed_at_ns: i64,
}

/// The frontier as saved in `audit_meta`: the hex hashes, concatenated.
pub(crate) fn frontier_text(tree: &CompactTree) -> String {
    tree.frontier().iter().map(merkle::to_hex).collect()
}

/// The tree restored from `audit_meta`.
pub(crate) fn tree_from_meta(size: &str, frontier: &str) -> Result<CompactTree, StoreError> {
    let size: u64 = size.parse().map_err(|_| {
        StoreError::Corrupt(format!("audit_meta tree_size {size:?} is not a number"))
    })?;
    if !frontier.len().is_multiple_of(64) || !frontier.is_ascii() {
        return Err(StoreError::Corrupt(
            "audit_meta frontier is not a list of hex SHA-256 hashes".into(),
        ));
    }
    let mut hashes = Vec::with_capacity(frontier.len() / 64);
    for i in (0..frontier.len()).step_by(64) {
        hashes.push(merkle::from_hex(&frontier[i..i + 64]).ok_or_else(|| {
            StoreError::Corrupt("audit_meta frontier is not a list of hex SHA-256 hashes".into())
        })?);
    }
    CompactTree::from_frontier(size, hashes)
        .map_err(|e| StoreError::Corrupt(format!("audit_meta frontier: {e}")))
}

/// `i64` column to `u64`, refusing negative values.
pub(crate) fn to_u64(v: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} is negative ({v})")))
}

/// `u64` to an `i64` column.
pub(crate) fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Backend(format!("{v} does not fit a BIGINT")))
}

/// A record encoded for the store: the row it becomes (every column but `seq`), with its
/// canonical encoding and leaf hash computed. Encoding is most of an append's CPU and needs no
/// lock, so a receiver encodes on its worker threads and the appending thread only numbers and
/// writes rows.
#[derive(Debug, Clone)]
pub struct Encoded {
    row: StoredRow,
    leaf: Hash,
}

impl Encoded {
    /// Encodes `record` (with its model already resolved: the model is part of the encoding).
    pub fn new(record: &Record) -> Encoded {
        let canonical = record.canonical();
        let leaf = merkle::leaf_hash(&canonical);
        Encoded {
            row: StoredRow::new(0, record, canonical, leaf),
            leaf,
        }
    }

    /// The record back, decoded from the canonical encoding.
    pub fn record(&self) -> Result<Record, crate::trail::record::RecordError> {
        Record::from_canonical(self.row.canonical.as_deref().unwrap_or_default())
    }

    /// The idempotency key: (source, event id, stage, time), as
    /// [`Record::idempotency_key`].
    pub(crate) fn key(&self) -> (&str, &str, &str, i64) {
        (
            &self.row.source,
            &self.row.event_id,
            &self.row.stage,
            self.row.time_ns,
        )
    }

    /// The row (its `seq` is not yet assigned).
    pub(crate) fn row(&self) -> &StoredRow {
        &self.row
    }

    pub(crate) fn leaf(&self) -> Hash {
        self.leaf
    }

    /// The row numbered `seq`, and the leaf hash.
    fn into_row(self, seq: u64) -> (StoredRow, Hash) {
        let mut row = self.row;
        row.seq = seq;
        (row, self.leaf)
    }
}

/// What an append will write: the new rows, the tree after them, and the checkpoint that
/// became due.
#[derive(Debug)]
pub(crate) struct Plan {
    pub rows: Vec<StoredRow>,
    pub tree: CompactTree,
    pub duplicates: usize,
    pub checkpoint: Option<StoredCheckpoint>,
}

/// Plans an append of `batch` onto `tree`: skips records whose key `exists` in the store or
/// repeats one earlier in the batch, numbers the rest from the tree size, and signs a
/// checkpoint when `policy` makes one due by record count since `last_checkpoint` (its size).
pub(crate) fn plan_append(
    batch: Vec<Encoded>,
    mut tree: CompactTree,
    mut exists: impl FnMut(&Encoded) -> Result<bool, StoreError>,
    policy: Option<&CheckpointPolicy>,
    last_checkpoint: u64,
) -> Result<Plan, StoreError> {
    let mut keep = Vec::with_capacity(batch.len());
    {
        let mut seen: HashSet<(&str, &str, &str, i64)> = HashSet::with_capacity(batch.len());
        for e in &batch {
            keep.push(seen.insert(e.key()) && !exists(e)?);
        }
    }
    let mut rows = Vec::with_capacity(batch.len());
    let mut duplicates = 0;
    for (e, keep) in batch.into_iter().zip(keep) {
        if !keep {
            duplicates += 1;
            continue;
        }
        let (row, leaf) = e.into_row(tree.size());
        rows.push(row);
        tree.push(leaf);
    }
    let checkpoint = checkpoint_due(policy, &tree, !rows.is_empty(), last_checkpoint)?;
    Ok(Plan {
        rows,
        tree,
        duplicates,
        checkpoint,
    })
}

/// The checkpoint `policy` makes due by record count after an append that added rows (or
/// `appended` false: none), signed, given the size of the last checkpoint.
pub(crate) fn checkpoint_due(
    policy: Option<&CheckpointPolicy>,
    tree: &CompactTree,
    appended: bool,
    last_checkpoint: u64,
) -> Result<Option<StoredCheckpoint>, StoreError> {
    match policy {
        Some(p)
            if p.every_records > 0
                && appended
                && tree.size() - last_checkpoint >= p.every_records =>
        {
            Ok(Some(sign(p, tree)?))
        }
        _ => Ok(None),
    }
}

/// Signs the checkpoint of `tree` now.
pub(crate) fn sign(
    policy: &CheckpointPolicy,
    tree: &CompactTree,
) -> Result<StoredCheckpoint, StoreError> {
    let root = tree.root();
    let cp = Checkpoint::new(policy.origin.clone(), tree.size(), root);
    let note = checkpoint::sign(&cp, &policy.signer)
        .map_err(|e| StoreError::Config(format!("cannot sign a checkpoint: {e}")))?;
    Ok(StoredCheckpoint {
        size: tree.size(),
        root: root.to_vec(),
        note,
        signed_at_ns: now_ns(),
    })
}

/// Whether the time policy makes a checkpoint due: new records since the last one and
/// `policy.every` passed since it was signed (or none was ever signed).
pub(crate) fn due_by_time(policy: &CheckpointPolicy, size: u64, last: Option<(u64, i64)>) -> bool {
    match last {
        None => size > 0,
        Some((last_size, signed_at)) => {
            let every = i64::try_from(policy.every.as_nanos()).unwrap_or(i64::MAX);
            size > last_size && now_ns().saturating_sub(signed_at) >= every
        }
    }
}

/// Appends a signed note to the witness file (created if missing, opened append-only) and
/// flushes it to disk. Notes follow one another, each followed by one empty line.
pub(crate) fn write_witness(policy: &CheckpointPolicy, note: &str) -> Result<(), StoreError> {
    let Some(path) = &policy.witness else {
        return Ok(());
    };
    let fail = |e: std::io::Error| {
        StoreError::Unavailable(format!(
            "the checkpoint was stored but not copied to the witness file {}: {e}",
            path.display()
        ))
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(fail)?;
    let mut text = String::with_capacity(note.len() + 1);
    text.push_str(note);
    text.push('\n');
    f.write_all(text.as_bytes()).map_err(fail)?;
    f.sync_all().map_err(fail)
}

/// Now, Unix nanoseconds.
pub(crate) fn now_ns() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// A bound value of a generated query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Param {
    Text(String),
    Int(i64),
}

/// The columns every row read selects, in [`StoredRow`] order.
pub(crate) const ROW_COLUMNS: &str = "seq, leaf_hash, source, event_id, stage, time_ns, actor, \
     verb, resource, namespace, name, model, canonical";

/// The SQL and parameters of a query; `ph(n)` writes the n-th placeholder (1-based).
pub(crate) fn query_sql(q: &super::Query, ph: impl Fn(usize) -> String) -> (String, Vec<Param>) {
    let (conds, params) = filter(q, true, ph);
    (ordered(ROW_COLUMNS, &conds, q.limit), params)
}

/// The first step of a query read in two ([`crate::store::sqlite`]): the seqs of the records
/// it selects, in its order, from one index alone. `None` when the query filters on a column
/// the index lacks (the verb, the source, or more than one of model, actor and namespace), or
/// on none of those three.
///
/// It leaves out the query's `canonical IS NOT NULL`: the index does not hold the payload.
/// Retention empties the model, actor and namespace with the payload, so an equality on one
/// of them selects only records that have theirs; a row altered behind the store's back may
/// not, and the second step then sees it (it reads each row with the full condition).
pub(crate) fn candidates_sql(
    q: &super::Query,
    ph: impl Fn(usize) -> String,
) -> Option<(String, Vec<Param>)> {
    let keyed = [&q.model, &q.actor, &q.namespace]
        .iter()
        .filter(|v| v.is_some())
        .count();
    if keyed != 1 || q.verb.is_some() || q.source.is_some() {
        return None;
    }
    let (conds, params) = filter(q, false, ph);
    Some((ordered("seq", &conds, q.limit), params))
}

fn ordered(columns: &str, conds: &[String], limit: Option<u64>) -> String {
    let mut sql = format!(
        "SELECT {columns} FROM audit_records WHERE {} ORDER BY time_ns, seq",
        conds.join(" AND ")
    );
    if let Some(l) = limit {
        sql.push_str(&format!(" LIMIT {l}"));
    }
    sql
}

/// A query's conditions and their parameters (with `payload`, only records that still have
/// theirs).
fn filter(
    q: &super::Query,
    payload: bool,
    ph: impl Fn(usize) -> String,
) -> (Vec<String>, Vec<Param>) {
    let mut conds = Vec::new();
    if payload {
        conds.push("canonical IS NOT NULL".to_string());
    }
    let mut params = Vec::new();
    let mut add = |col: &str, p: Param, op: &str| {
        params.push(p);
        conds.push(format!("{col} {op} {}", ph(params.len())));
    };
    if let Some(m) = &q.model {
        add("model", Param::Text(m.clone()), "=");
    }
    if let Some(u) = &q.actor {
        add("actor", Param::Text(u.clone()), "=");
    }
    if let Some(n) = &q.namespace {
        add("namespace", Param::Text(n.clone()), "=");
    }
    if let Some(v) = &q.verb {
        add("verb", Param::Text(v.clone()), "=");
    }
    if let Some(s) = q.source {
        add("source", Param::Text(s.as_str().to_string()), "=");
    }
    if let Some(t) = q.since_ns {
        add("time_ns", Param::Int(t), ">=");
    }
    if let Some(t) = q.until_ns {
        add("time_ns", Param::Int(t), "<");
    }
    if let Some((t, seq)) = q.after {
        // The range on time_ns keeps the index usable; the OR orders ties by seq.
        params.push(Param::Int(t));
        let pt = ph(params.len());
        params.push(Param::Int(i64::try_from(seq).unwrap_or(i64::MAX)));
        let ps = ph(params.len());
        conds.push(format!(
            "time_ns >= {pt} AND (time_ns > {pt} OR seq > {ps})"
        ));
    }
    (conds, params)
}
