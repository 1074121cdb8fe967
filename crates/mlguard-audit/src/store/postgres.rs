//! The scale-out store: the same tables in PostgreSQL, written by several receivers. Every
//! append (and checkpoint) runs in one transaction that first takes a transaction-level
//! advisory lock, so appends are serialized: seq stays gapless and the saved frontier matches
//! the rows. The session sets `synchronous_commit = on`, so a commit is flushed to the WAL on
//! disk before [`Store::append`] returns. Rows are written with `COPY ... FROM STDIN` in the
//! binary format.
//!
//! The connection is plain TCP or a Unix socket (no TLS in this build). A dropped connection
//! is reopened on the next call; errors reaching the server are [`StoreError::Unavailable`].

use super::schema::{self, Encoded, Param, StoredCheckpoint, StoredRow, ROW_COLUMNS};
use super::{AppendSummary, CheckpointPolicy, Log, OpenOptions, Query, Store, StoreError};
use crate::trail::merkle::{CompactTree, Hash};
use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls};
use std::collections::HashSet;
use std::io::Write;
use std::sync::{Mutex, MutexGuard};

/// The advisory lock key every append and checkpoint takes ("mlgaud" in ASCII).
const LOCK_KEY: i64 = 0x6d6c_6761_7564;

/// An audit store in a PostgreSQL database (the tables live in the connection's search
/// path).
pub struct PgStore {
    client: Mutex<Option<Client>>,
    url: String,
    policy: Option<CheckpointPolicy>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &super::redact_url(&self.url))
            .finish_non_exhaustive()
    }
}

/// The blocking client runs (and on drop, shuts down) its own runtime, which panics inside an
/// async context: drop it on a thread of its own, so a store may be dropped anywhere.
impl Drop for PgStore {
    fn drop(&mut self) {
        let client = self
            .client
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(c) = client {
            let _ = std::thread::spawn(move || drop(c)).join();
        }
    }
}

fn err(e: postgres::Error) -> StoreError {
    let Some(db) = e.as_db_error() else {
        // No server answer: I/O, connection closed, timeout.
        return StoreError::Unavailable(e.to_string());
    };
    let code = db.code().code();
    if code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P")
        || code == "40001"
        || code == "40P01"
        || code == "55P03"
    {
        StoreError::Unavailable(e.to_string())
    } else {
        StoreError::Backend(e.to_string())
    }
}

fn connect(url: &str) -> Result<Client, StoreError> {
    let mut c = Client::connect(url, NoTls).map_err(|e| {
        StoreError::Unavailable(format!(
            "cannot connect to {}: {}",
            super::redact_url(url),
            e
        ))
    })?;
    c.batch_execute("SET synchronous_commit = on")
        .map_err(err)?;
    Ok(c)
}

/// Upgrades a version 1 store to version 2 (see [`schema::SCHEMA_VERSION`]): the old key's
/// constraint (PostgreSQL's default name for `UNIQUE (source, event_id, stage)`) and the index
/// on time go, the new key's index comes. Rows are untouched.
fn migrate_v1(tx: &mut impl GenericClient) -> Result<(), postgres::Error> {
    tx.batch_execute(
        "ALTER TABLE audit_records DROP CONSTRAINT IF EXISTS audit_records_source_event_id_stage_key;
         DROP INDEX IF EXISTS audit_records_time;",
    )?;
    tx.batch_execute(&schema::ddl("BIGINT", "BYTEA"))?;
    tx.execute(
        "UPDATE audit_meta SET value = $1 WHERE key = $2",
        &[&schema::SCHEMA_VERSION, &schema::META_VERSION],
    )?;
    Ok(())
}

impl PgStore {
    /// Connects to `url` (a libpq URL) and checks (with `opts.create`, creates) the schema.
    pub fn open(url: &str, opts: OpenOptions) -> Result<PgStore, StoreError> {
        let mut c = connect(url)?;
        let mut tx = c.transaction().map_err(err)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
            .map_err(err)?;
        let has: bool = tx
            .query_one("SELECT to_regclass('audit_meta') IS NOT NULL", &[])
            .map_err(err)?
            .try_get(0)
            .map_err(err)?;
        if !has {
            if !opts.create {
                return Err(StoreError::Config(format!(
                    "{} holds no mlguard audit store (no audit_meta table)",
                    super::redact_url(url)
                )));
            }
            tx.batch_execute(&schema::ddl("BIGINT", "BYTEA"))
                .map_err(err)?;
            for (k, v) in [
                (schema::META_VERSION, schema::SCHEMA_VERSION),
                (schema::META_SIZE, "0"),
                (schema::META_FRONTIER, ""),
            ] {
                tx.execute(
                    "INSERT INTO audit_meta (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[&k, &v],
                )
                .map_err(err)?;
            }
        }
        let version = meta(&mut tx, schema::META_VERSION).ok();
        match version.as_deref() {
            Some(schema::SCHEMA_VERSION) => {}
            // Under the advisory lock: no other process upgrades it at the same time.
            Some("1") => migrate_v1(&mut tx).map_err(|e| {
                StoreError::Unavailable(format!(
                    "{}: cannot upgrade the store from schema version 1: {e}",
                    super::redact_url(url)
                ))
            })?,
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "{}: schema version {version:?}; this build reads version {} (and \
                     upgrades version 1)",
                    super::redact_url(url),
                    schema::SCHEMA_VERSION
                )))
            }
        }
        tx.commit().map_err(err)?;
        Ok(PgStore {
            client: Mutex::new(Some(c)),
            url: url.to_string(),
            policy: opts.checkpoints,
        })
    }

    /// Runs `f` on the connection, reconnecting first when it was closed.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard: MutexGuard<'_, Option<Client>> =
            self.client.lock().unwrap_or_else(|p| p.into_inner());
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(connect(&self.url)?);
        }
        let c = guard.as_mut().expect("connected above");
        let out = f(c);
        if matches!(out, Err(StoreError::Unavailable(_))) && c.is_closed() {
            *guard = None;
        }
        out
    }
}

fn meta(c: &mut impl GenericClient, key: &str) -> Result<String, StoreError> {
    c.query_opt("SELECT value FROM audit_meta WHERE key = $1", &[&key])
        .map_err(err)?
        .map(|r| r.try_get::<_, String>(0).map_err(err))
        .transpose()?
        .ok_or_else(|| StoreError::Corrupt(format!("audit_meta has no {key}")))
}

fn load_tree(c: &mut impl GenericClient) -> Result<CompactTree, StoreError> {
    let size = meta(c, schema::META_SIZE)?;
    let frontier = meta(c, schema::META_FRONTIER)?;
    schema::tree_from_meta(&size, &frontier)
}

fn last_checkpoint(c: &mut impl GenericClient) -> Result<Option<(u64, i64)>, StoreError> {
    let Some(r) = c
        .query_opt(
            "SELECT size, signed_at_ns FROM audit_checkpoints ORDER BY size DESC LIMIT 1",
            &[],
        )
        .map_err(err)?
    else {
        return Ok(None);
    };
    let size: i64 = r.try_get(0).map_err(err)?;
    Ok(Some((
        schema::to_u64(size, "checkpoint size")?,
        r.try_get(1).map_err(err)?,
    )))
}

fn save(
    c: &mut impl GenericClient,
    tree: &CompactTree,
    cp: Option<&StoredCheckpoint>,
) -> Result<(), StoreError> {
    let size = tree.size().to_string();
    let frontier = schema::frontier_text(tree);
    c.execute(
        "UPDATE audit_meta SET value = $2 WHERE key = $1",
        &[&schema::META_SIZE, &size],
    )
    .map_err(err)?;
    c.execute(
        "UPDATE audit_meta SET value = $2 WHERE key = $1",
        &[&schema::META_FRONTIER, &frontier],
    )
    .map_err(err)?;
    if let Some(cp) = cp {
        c.execute(
            "INSERT INTO audit_checkpoints (size, root, note, signed_at_ns) VALUES ($1, $2, $3, $4)",
            &[&schema::to_i64(cp.size)?, &cp.root, &cp.note, &cp.signed_at_ns],
        )
        .map_err(err)?;
    }
    Ok(())
}

/// The keys of `batch` already stored: one query, an index lookup per key.
fn existing(c: &mut impl GenericClient, batch: &[Encoded]) -> Result<HashSet<Key>, StoreError> {
    let (mut sources, mut ids, mut stages, mut times) = (
        Vec::with_capacity(batch.len()),
        Vec::with_capacity(batch.len()),
        Vec::with_capacity(batch.len()),
        Vec::with_capacity(batch.len()),
    );
    for e in batch {
        let (source, id, stage, time) = e.key();
        sources.push(source);
        ids.push(id);
        stages.push(stage);
        times.push(time);
    }
    let rows = c
        .query(
            "SELECT k.s, k.e, k.g, k.t \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS k(s, e, g, t) \
             WHERE EXISTS (SELECT 1 FROM audit_records r \
                 WHERE r.time_ns = k.t AND r.source = k.s AND r.event_id = k.e AND r.stage = k.g)",
            &[&sources, &ids, &stages, &times],
        )
        .map_err(err)?;
    let mut out = HashSet::with_capacity(rows.len());
    for r in rows {
        out.insert((
            r.try_get::<_, String>(0).map_err(err)?,
            r.try_get::<_, String>(1).map_err(err)?,
            r.try_get::<_, String>(2).map_err(err)?,
            r.try_get::<_, i64>(3).map_err(err)?,
        ));
    }
    Ok(out)
}

/// An idempotency key, owned: (source, event id, stage, time).
type Key = (String, String, String, i64);

/// COPY's binary format (PostgreSQL documentation, "Binary Format"): the signature, flags 0
/// and no header extension.
const COPY_BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// A binary-format field: its length (-1 for NULL) and its bytes, which for `text` are the
/// UTF-8 string and for `bytea` the bytes themselves.
fn copy_field(out: &mut Vec<u8>, v: Option<&[u8]>) -> Result<(), StoreError> {
    match v {
        None => out.extend_from_slice(&(-1_i32).to_be_bytes()),
        Some(v) => {
            let len = i32::try_from(v.len()).map_err(|_| {
                StoreError::Backend(format!("a record field of {} bytes (over 2 GiB)", v.len()))
            })?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(v);
        }
    }
    Ok(())
}

/// A binary-format `bigint` field.
fn copy_bigint(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&8_i32.to_be_bytes());
    out.extend_from_slice(&v.to_be_bytes());
}

/// Writes rows with COPY in the binary format: the server parses no text and decodes no hex.
fn copy_rows(c: &mut impl GenericClient, rows: &[StoredRow]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut w = c
        .copy_in(
            "COPY audit_records (seq, leaf_hash, source, event_id, stage, time_ns, actor, verb, \
             resource, namespace, name, model, canonical) FROM STDIN (FORMAT binary)",
        )
        .map_err(err)?;
    let mut buf = Vec::with_capacity(1 << 20);
    buf.extend_from_slice(COPY_BINARY_HEADER);
    for r in rows {
        buf.extend_from_slice(&13_i16.to_be_bytes());
        copy_bigint(&mut buf, schema::to_i64(r.seq)?);
        copy_field(&mut buf, Some(&r.leaf_hash))?;
        for v in [&r.source, &r.event_id, &r.stage] {
            copy_field(&mut buf, Some(v.as_bytes()))?;
        }
        copy_bigint(&mut buf, r.time_ns);
        for v in [
            &r.actor,
            &r.verb,
            &r.resource,
            &r.namespace,
            &r.name,
            &r.model,
        ] {
            copy_field(&mut buf, v.as_deref().map(str::as_bytes))?;
        }
        copy_field(&mut buf, r.canonical.as_deref())?;
        if buf.len() >= 1 << 20 {
            w.write_all(&buf)
                .map_err(|e| StoreError::Unavailable(format!("COPY to PostgreSQL: {e}")))?;
            buf.clear();
        }
    }
    buf.extend_from_slice(&(-1_i16).to_be_bytes());
    w.write_all(&buf)
        .map_err(|e| StoreError::Unavailable(format!("COPY to PostgreSQL: {e}")))?;
    w.finish().map_err(err)?;
    Ok(())
}

fn read_row(r: &postgres::Row) -> Result<StoredRow, StoreError> {
    let seq: i64 = r.try_get(0).map_err(err)?;
    Ok(StoredRow {
        seq: schema::to_u64(seq, "seq")?,
        leaf_hash: r.try_get(1).map_err(err)?,
        source: r.try_get(2).map_err(err)?,
        event_id: r.try_get(3).map_err(err)?,
        stage: r.try_get(4).map_err(err)?,
        time_ns: r.try_get(5).map_err(err)?,
        actor: r.try_get(6).map_err(err)?,
        verb: r.try_get(7).map_err(err)?,
        resource: r.try_get(8).map_err(err)?,
        namespace: r.try_get(9).map_err(err)?,
        name: r.try_get(10).map_err(err)?,
        model: r.try_get(11).map_err(err)?,
        canonical: r.try_get(12).map_err(err)?,
    })
}

impl Store for PgStore {
    fn append_encoded(&self, batch: Vec<Encoded>) -> Result<AppendSummary, StoreError> {
        if batch.is_empty() {
            return Ok(AppendSummary::default());
        }
        let (plan, summary) = self.with(|c| {
            let mut tx = c.transaction().map_err(err)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
                .map_err(err)?;
            let tree = load_tree(&mut tx)?;
            let last = last_checkpoint(&mut tx)?.map_or(0, |l| l.0);
            let stored = existing(&mut tx, &batch)?;
            let plan =
                schema::plan_append(
                    batch,
                    tree,
                    |e| {
                        let (source, id, stage, time) = e.key();
                        Ok(stored.contains(&(
                            source.to_owned(),
                            id.to_owned(),
                            stage.to_owned(),
                            time,
                        )))
                    },
                    self.policy.as_ref(),
                    last,
                )?;
            copy_rows(&mut tx, &plan.rows)?;
            save(&mut tx, &plan.tree, plan.checkpoint.as_ref())?;
            tx.commit().map_err(err)?;
            let summary = AppendSummary {
                appended: plan.rows.len(),
                duplicates: plan.duplicates,
            };
            Ok((plan.checkpoint, summary))
        })?;
        if let (Some(cp), Some(p)) = (&plan, &self.policy) {
            schema::write_witness(p, &cp.note)?;
        }
        Ok(summary)
    }

    fn checkpoint_if_due(&self) -> Result<Option<String>, StoreError> {
        let Some(policy) = &self.policy else {
            return Ok(None);
        };
        let cp = self.with(|c| {
            let mut tx = c.transaction().map_err(err)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
                .map_err(err)?;
            let tree = load_tree(&mut tx)?;
            if !schema::due_by_time(policy, tree.size(), last_checkpoint(&mut tx)?) {
                return Ok(None);
            }
            let cp = schema::sign(policy, &tree)?;
            save(&mut tx, &tree, Some(&cp))?;
            tx.commit().map_err(err)?;
            Ok(Some(cp))
        })?;
        let Some(cp) = cp else { return Ok(None) };
        schema::write_witness(policy, &cp.note)?;
        Ok(Some(cp.note))
    }
}

impl Log for PgStore {
    fn stored_tree(&self) -> Result<CompactTree, StoreError> {
        self.with(load_tree)
    }

    fn row_count(&self) -> Result<u64, StoreError> {
        self.with(|c| {
            let n: i64 = c
                .query_one("SELECT count(*) FROM audit_records", &[])
                .map_err(err)?
                .try_get(0)
                .map_err(err)?;
            schema::to_u64(n, "row count")
        })
    }

    fn rows(&self, from: u64, limit: u64) -> Result<Vec<StoredRow>, StoreError> {
        self.with(|c| {
            let rows = c
                .query(
                    &format!(
                        "SELECT {ROW_COLUMNS} FROM audit_records WHERE seq >= $1 ORDER BY seq LIMIT $2"
                    ),
                    &[&schema::to_i64(from)?, &schema::to_i64(limit)?],
                )
                .map_err(err)?;
            rows.iter().map(read_row).collect()
        })
    }

    fn leaf_hashes(&self, from: u64, to: u64) -> Result<Vec<Hash>, StoreError> {
        self.with(|c| {
            let rows = c
                .query(
                    "SELECT seq, leaf_hash FROM audit_records WHERE seq >= $1 AND seq < $2 ORDER BY seq",
                    &[&schema::to_i64(from)?, &schema::to_i64(to)?],
                )
                .map_err(err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let seq: i64 = r.try_get(0).map_err(err)?;
                let h: Vec<u8> = r.try_get(1).map_err(err)?;
                out.push(super::proof::check_leaf(seq, from + out.len() as u64, &h)?);
            }
            super::proof::check_leaf_count(from, to, out.len())?;
            Ok(out)
        })
    }

    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        self.with(|c| {
            let rows = c
                .query(
                    "SELECT size, root, note, signed_at_ns FROM audit_checkpoints ORDER BY size",
                    &[],
                )
                .map_err(err)?;
            rows.iter()
                .map(|r| {
                    Ok(StoredCheckpoint {
                        size: schema::to_u64(r.try_get(0).map_err(err)?, "checkpoint size")?,
                        root: r.try_get(1).map_err(err)?,
                        note: r.try_get(2).map_err(err)?,
                        signed_at_ns: r.try_get(3).map_err(err)?,
                    })
                })
                .collect()
        })
    }

    fn query(&self, q: &Query) -> Result<Vec<StoredRow>, StoreError> {
        let (sql, params) = schema::query_sql(q, |n| format!("${n}"));
        let boxed: Vec<Box<dyn ToSql + Sync>> = params
            .into_iter()
            .map(|p| -> Box<dyn ToSql + Sync> {
                match p {
                    Param::Text(s) => Box::new(s),
                    Param::Int(i) => Box::new(i),
                }
            })
            .collect();
        let refs: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|b| b.as_ref()).collect();
        self.with(|c| {
            let rows = c.query(&sql, &refs).map_err(err)?;
            rows.iter().map(read_row).collect()
        })
    }

    fn retain(&self, cutoff_ns: i64) -> Result<u64, StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE audit_records SET canonical = NULL, actor = NULL, verb = NULL, \
                 resource = NULL, namespace = NULL, name = NULL, model = NULL \
                 WHERE time_ns < $1 AND canonical IS NOT NULL",
                &[&cutoff_ns],
            )
            .map_err(err)
        })
    }

    fn durability(&self) -> Result<String, StoreError> {
        self.with(|c| {
            let sc: String = c
                .query_one("SHOW synchronous_commit", &[])
                .map_err(err)?
                .try_get(0)
                .map_err(err)?;
            let fsync: String = c
                .query_one("SHOW fsync", &[])
                .map_err(err)?
                .try_get(0)
                .map_err(err)?;
            Ok(format!("synchronous_commit={sc} fsync={fsync}"))
        })
    }
}
