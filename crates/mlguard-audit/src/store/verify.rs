//! `audit verify`: recompute the log from its rows and check it against every signed
//! checkpoint, in the store and in the witness file.
//!
//! In order, stopping at the first problem:
//! 1. every stored checkpoint's note is signed by the key and states the size and root stored
//!    beside it;
//! 2. every note of the witness file is signed by the key, and the store holds the same
//!    checkpoint at that size (a missing or different one means checkpoints were deleted or
//!    the store was rewritten and re-signed with another key);
//! 3. the rows, by seq from 0: gapless; the leaf hash is `SHA-256(0x00 || canonical)`; the
//!    canonical bytes decode; the query columns equal the decoded record (after retention:
//!    are empty); at every checkpoint size, the root of the leaves so far is the signed root;
//! 4. the rows end at the tree size the store saved, and at or after every checkpoint, and
//!    there are no others (numbered outside the log).
//!
//! A changed row whose leaf hash was recomputed too cannot be told from the original by
//! itself: the checkpoint after it fails, and the problem names the records between the last
//! checkpoint that verified and that one.

use super::{Log, StoreError, StoredCheckpoint};
use crate::trail::checkpoint;
use crate::trail::merkle::{self, CompactTree, Hash};
use crate::trail::note::Verifier;
use crate::trail::record::Record;
use std::collections::BTreeMap;
use std::path::Path;

/// Rows read per query while scanning.
const CHUNK: u64 = 10_000;

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Records checked.
    pub records: u64,
    /// Records whose payload retention dropped (checked by their leaf hash only).
    pub expired: u64,
    /// Signed checkpoints checked (stored and witness, by distinct size).
    pub checkpoints: usize,
    /// Notes read from the witness file.
    pub witness_notes: usize,
    /// The largest signed size; records after it are checked but not yet covered by a
    /// signature.
    pub signed_size: u64,
    /// The first problem, if any: the log does not verify.
    pub problem: Option<Problem>,
}

/// The first thing that is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The first bad record, when one can be named.
    pub seq: Option<u64>,
    /// Its event id, when the row is there to read it from.
    pub event_id: Option<String>,
    /// What is wrong, in a sentence.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn problem(seq: Option<u64>, event_id: Option<&str>, message: String) -> Problem {
    Problem {
        seq,
        event_id: event_id.map(str::to_owned),
        message,
    }
}

/// The notes of a witness file: each a signed note followed by one empty line.
pub fn read_witness(text: &str) -> Result<Vec<String>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let Some(body) = text.strip_suffix("\n\n") else {
        return Err(
            "the file does not end with a complete note and an empty line (a write was \
                    cut short, or the file was edited)"
                .into(),
        );
    };
    let parts: Vec<&str> = body.split("\n\n").collect();
    if !parts.len().is_multiple_of(2) {
        return Err(format!(
            "note {} has no signature block",
            parts.len() / 2 + 1
        ));
    }
    Ok(parts
        .chunks(2)
        .map(|p| format!("{}\n\n{}\n", p[0], p[1]))
        .collect())
}

/// Verifies the log in `log` with the checkpoint key `verifier` and, when given, the witness
/// file. `Err` only when the store cannot be read (or is empty: nothing to verify) or the
/// witness file cannot be read; a log that does not verify is `Ok` with a
/// [`Verification::problem`].
pub fn verify(
    log: &dyn Log,
    verifier: &Verifier,
    witness: Option<&Path>,
) -> Result<Verification, StoreError> {
    let stored_tree = log.stored_tree()?;
    let size = stored_tree.size();
    if size == 0 && log.row_count()? == 0 {
        return Err(StoreError::Config(
            "the audit store is empty: there is nothing to verify".into(),
        ));
    }
    let mut v = Verification {
        records: 0,
        expired: 0,
        checkpoints: 0,
        witness_notes: 0,
        signed_size: 0,
        problem: None,
    };
    let keys = std::slice::from_ref(verifier);
    // 1. Stored checkpoints.
    let stored: Vec<StoredCheckpoint> = log.checkpoints()?;
    let mut signed: BTreeMap<u64, Hash> = BTreeMap::new();
    for cp in &stored {
        let opened = match checkpoint::open(&cp.note, keys) {
            Ok(c) => c,
            Err(e) => {
                v.problem = Some(problem(
                    None,
                    None,
                    format!(
                        "the stored checkpoint of size {} does not verify with the key {}: {e}",
                        cp.size,
                        verifier.name()
                    ),
                ));
                return Ok(v);
            }
        };
        if opened.size != cp.size || opened.root.as_slice() != cp.root.as_slice() {
            v.problem = Some(problem(
                None,
                None,
                format!(
                    "the stored checkpoint of size {} has a signed note of size {} and another \
                     root: the checkpoints table was edited",
                    cp.size, opened.size
                ),
            ));
            return Ok(v);
        }
        signed.insert(opened.size, opened.root);
    }
    // 2. The witness file.
    if let Some(path) = witness {
        let text = std::fs::read_to_string(path).map_err(|e| {
            StoreError::Config(format!(
                "cannot read the witness file {}: {e}",
                path.display()
            ))
        })?;
        let notes = read_witness(&text)
            .map_err(|e| StoreError::Config(format!("witness file {}: {e}", path.display())))?;
        v.witness_notes = notes.len();
        for (i, note) in notes.iter().enumerate() {
            let opened = match checkpoint::open(note, keys) {
                Ok(c) => c,
                Err(e) => {
                    v.problem = Some(problem(
                        None,
                        None,
                        format!(
                            "note {} of the witness file {} does not verify with the key {}: {e}",
                            i + 1,
                            path.display(),
                            verifier.name()
                        ),
                    ));
                    return Ok(v);
                }
            };
            match signed.get(&opened.size) {
                Some(root) if *root == opened.root => {}
                Some(_) => {
                    v.problem = Some(problem(
                        None,
                        None,
                        format!(
                            "the store's checkpoint of size {} has another root than the witness \
                             copy (note {} of {}): the store was rewritten",
                            opened.size,
                            i + 1,
                            path.display()
                        ),
                    ));
                    return Ok(v);
                }
                None => {
                    v.problem = Some(problem(
                        None,
                        None,
                        format!(
                            "the witness checkpoint of size {} (note {} of {}) is missing from \
                             the store: its checkpoints were deleted or the store was rewritten",
                            opened.size,
                            i + 1,
                            path.display()
                        ),
                    ));
                    return Ok(v);
                }
            }
        }
    }
    v.checkpoints = signed.len();
    v.signed_size = signed.keys().next_back().copied().unwrap_or(0);
    // 3. The rows.
    let mut tree = CompactTree::new();
    let mut verified_to = 0u64;
    let mut next_cp = signed.iter().peekable();
    let mut at = 0u64;
    loop {
        let chunk = log.rows(at, CHUNK)?;
        if chunk.is_empty() {
            break;
        }
        for row in &chunk {
            let expected = tree.size();
            if row.seq != expected {
                v.problem = Some(problem(
                    Some(expected),
                    None,
                    format!(
                        "record {expected} is missing: the next stored record is {} (event id \
                         {}); records were deleted or renumbered",
                        row.seq, row.event_id
                    ),
                ));
                return Ok(v);
            }
            let eid = Some(row.event_id.as_str());
            let leaf: Hash = match row.leaf_hash.as_slice().try_into() {
                Ok(h) => h,
                Err(_) => {
                    v.problem = Some(problem(
                        Some(row.seq),
                        eid,
                        format!(
                            "record {} (event id {}): its leaf hash has {} bytes, not 32",
                            row.seq,
                            row.event_id,
                            row.leaf_hash.len()
                        ),
                    ));
                    return Ok(v);
                }
            };
            let record = match &row.canonical {
                Some(c) => {
                    if merkle::leaf_hash(c) != leaf {
                        v.problem = Some(problem(
                            Some(row.seq),
                            eid,
                            format!(
                                "record {} (event id {}): its canonical bytes do not hash to its \
                                 leaf hash: the record was edited",
                                row.seq, row.event_id
                            ),
                        ));
                        return Ok(v);
                    }
                    match Record::from_canonical(c) {
                        Ok(r) => Some(r),
                        Err(e) => {
                            v.problem = Some(problem(
                                Some(row.seq),
                                eid,
                                format!("record {} (event id {}): {e}", row.seq, row.event_id),
                            ));
                            return Ok(v);
                        }
                    }
                }
                None => {
                    v.expired += 1;
                    None
                }
            };
            if let Some(col) = row.column_mismatch(record.as_ref()) {
                let what = if record.is_some() {
                    "does not match the signed record"
                } else {
                    "is set although retention dropped the record's payload"
                };
                v.problem = Some(problem(
                    Some(row.seq),
                    eid,
                    format!(
                        "record {} (event id {}): column `{col}` {what}: the row was edited",
                        row.seq, row.event_id
                    ),
                ));
                return Ok(v);
            }
            tree.push(leaf);
            if let Some((&cp_size, cp_root)) = next_cp.peek() {
                if cp_size == tree.size() {
                    if tree.root() != **cp_root {
                        v.problem = Some(problem(
                            Some(verified_to),
                            None,
                            format!(
                                "records {verified_to}..{} do not match the signed checkpoint of \
                                 size {cp_size}: one of them was changed, replaced or reordered \
                                 (with its leaf hash recomputed); the records before \
                                 {verified_to} verify",
                                cp_size - 1
                            ),
                        ));
                        return Ok(v);
                    }
                    verified_to = cp_size;
                    next_cp.next();
                }
            }
        }
        at = tree.size();
        v.records = at;
    }
    // 4. The end of the log.
    let n = tree.size();
    if let Some((&cp_size, _)) = next_cp.peek() {
        v.problem = Some(problem(
            Some(n),
            None,
            format!(
                "the log ends after record {} but a signed checkpoint covers {cp_size} records: \
                 records from {n} on were deleted (truncated)",
                n.saturating_sub(1)
            ),
        ));
        return Ok(v);
    }
    if n < size {
        v.problem = Some(problem(
            Some(n),
            None,
            format!(
                "the log ends after record {} but the store appended {size}: records from {n} on \
                 were deleted (truncated)",
                n.saturating_sub(1)
            ),
        ));
        return Ok(v);
    }
    if n > size {
        v.problem = Some(problem(
            Some(size),
            None,
            format!(
                "the store holds {n} records but appended only {size}: records from {size} on \
                 were inserted behind its back"
            ),
        ));
        return Ok(v);
    }
    if tree != stored_tree {
        v.problem = Some(problem(
            None,
            None,
            format!(
                "the tree the store saved (audit_meta frontier, size {size}) does not match its \
                 {n} records: it was edited, and the next append would sign a wrong root"
            ),
        ));
        return Ok(v);
    }
    let rows = log.row_count()?;
    if rows != n {
        v.problem = Some(problem(
            None,
            None,
            format!(
                "the store holds {rows} rows but the log has {n} records: rows numbered outside \
                 0..{} were added",
                n.saturating_sub(1)
            ),
        ));
    }
    Ok(v)
}
