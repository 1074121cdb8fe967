//! Inclusion and consistency proofs from the stored leaf hashes, as JSON documents an outside
//! party can check with the log's public key and nothing else ([`check`]; the algorithm is
//! documented in docs/audit-store.md).
//!
//! An inclusion proof (`mlguard.audit.inclusion/v1`) is for a record at a signed checkpoint:
//! the checkpoint's note, the record's leaf index, leaf hash and canonical bytes (when
//! retention has not dropped them), and the audit path (RFC 6962 section 2.1.1). A
//! consistency proof (`mlguard.audit.consistency/v1`) is between two tree sizes, the newer a
//! signed checkpoint. Hashes are lowercase hex; canonical bytes standard base64.

use super::{Log, StoreError};
use crate::trail::checkpoint::{self, Checkpoint};
use crate::trail::merkle::{self, Hash, HashSource, NodeId};
use crate::trail::note::Verifier;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// The `type` of an inclusion proof.
pub const INCLUSION_TYPE: &str = "mlguard.audit.inclusion/v1";
/// The `type` of a consistency proof.
pub const CONSISTENCY_TYPE: &str = "mlguard.audit.consistency/v1";

/// The stored leaf hash at `expected` read from a row with `seq`.
pub(crate) fn check_leaf(seq: i64, expected: u64, hash: &[u8]) -> Result<Hash, StoreError> {
    if u64::try_from(seq).ok() != Some(expected) {
        return Err(StoreError::Corrupt(format!(
            "record {expected} is missing (the next stored seq is {seq}); run mlguard audit verify"
        )));
    }
    hash.try_into().map_err(|_| {
        StoreError::Corrupt(format!(
            "record {seq}: leaf_hash has {} bytes, not 32",
            hash.len()
        ))
    })
}

/// Fails when fewer than `to - from` leaves were read.
pub(crate) fn check_leaf_count(from: u64, to: u64, got: usize) -> Result<(), StoreError> {
    if got as u64 != to - from {
        return Err(StoreError::Corrupt(format!(
            "record {} is missing (the store holds {} of the records {from}..{to}); run mlguard \
             audit verify",
            from + got as u64,
            got
        )));
    }
    Ok(())
}

/// The store's leaf hashes as a [`HashSource`]: a perfect subtree is one range read.
struct Source<'a>(&'a dyn Log);

impl HashSource for Source<'_> {
    type Error = StoreError;

    fn leaf(&self, index: u64) -> Result<Hash, StoreError> {
        Ok(self.0.leaf_hashes(index, index + 1)?[0])
    }

    fn perfect_subtree(&self, node: NodeId) -> Result<Hash, StoreError> {
        if node.level == 0 {
            return self.leaf(node.index);
        }
        let from = node.first_leaf();
        let mut tree = merkle::CompactTree::new();
        // Read in chunks so a large subtree does not hold every hash at once.
        let end = from + node.width();
        let mut at = from;
        while at < end {
            let to = end.min(at + 1_000_000);
            for h in self.0.leaf_hashes(at, to)? {
                tree.push(h);
            }
            at = to;
        }
        Ok(tree.root())
    }
}

/// The root of the first `size` stored leaves.
pub fn root_at(log: &dyn Log, size: u64) -> Result<Hash, StoreError> {
    merkle::tree_root(&Source(log), size)
}

fn proof_err(e: merkle::ProofError<StoreError>) -> StoreError {
    match e {
        merkle::ProofError::Source(e) => e,
        other => StoreError::Config(other.to_string()),
    }
}

/// An inclusion proof document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// [`INCLUSION_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The record's leaf index (its seq).
    pub leaf_index: u64,
    /// The number of leaves of the tree the proof is for (the checkpoint's size).
    pub tree_size: u64,
    /// `SHA-256(0x00 || canonical)`, hex.
    pub leaf_hash: String,
    /// The root at `tree_size`, hex (the checkpoint's root).
    pub root: String,
    /// The signed checkpoint note of `tree_size`.
    pub checkpoint: String,
    /// The sibling hashes from the leaf up (RFC 6962 PATH), hex.
    pub audit_path: Vec<String>,
    /// The record's canonical encoding, base64; `null` when retention dropped it.
    pub canonical: Option<String>,
}

/// A consistency proof document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// [`CONSISTENCY_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    pub old_size: u64,
    pub new_size: u64,
    /// The root at `old_size`, hex.
    pub old_root: String,
    /// The root at `new_size`, hex.
    pub new_root: String,
    /// The signed checkpoint note of `old_size`, when the store signed one at that size.
    pub old_checkpoint: Option<String>,
    /// The signed checkpoint note of `new_size`.
    pub new_checkpoint: String,
    /// RFC 6962 PROOF(old_size, D[new_size]), hex.
    pub proof: Vec<String>,
}

fn hexes(v: &[Hash]) -> Vec<String> {
    v.iter().map(merkle::to_hex).collect()
}

/// The inclusion proof of record `index` at the stored checkpoint of `size` (default: the
/// newest checkpoint).
pub fn inclusion(
    log: &dyn Log,
    index: u64,
    size: Option<u64>,
) -> Result<InclusionProof, StoreError> {
    let cps = log.checkpoints()?;
    let cp = match size {
        Some(s) => cps.iter().find(|c| c.size == s).ok_or_else(|| {
            StoreError::Config(format!(
                "the store has no checkpoint of size {s} (mlguard audit prove lists none; \
                 omit --size to use the latest)"
            ))
        })?,
        None => cps.last().ok_or_else(|| {
            StoreError::Config(
                "the store has no signed checkpoint yet: receivers sign one every N records or \
                 seconds"
                    .into(),
            )
        })?,
    };
    if index >= cp.size {
        return Err(StoreError::Config(format!(
            "record {index} is not covered by the checkpoint of size {} yet (it covers records \
             0..{}); wait for the next checkpoint",
            cp.size,
            cp.size - 1
        )));
    }
    let src = Source(log);
    let path = merkle::inclusion_proof(&src, index, cp.size).map_err(proof_err)?;
    let root = merkle::tree_root(&src, cp.size)?;
    if root.as_slice() != cp.root.as_slice() {
        return Err(StoreError::Corrupt(format!(
            "the stored records do not match the checkpoint of size {}: run mlguard audit verify",
            cp.size
        )));
    }
    let row = log
        .rows(index, 1)?
        .into_iter()
        .next()
        .filter(|r| r.seq == index)
        .ok_or_else(|| StoreError::Corrupt(format!("record {index} is missing")))?;
    Ok(InclusionProof {
        kind: INCLUSION_TYPE.into(),
        leaf_index: index,
        tree_size: cp.size,
        leaf_hash: hex::encode(&row.leaf_hash),
        root: merkle::to_hex(&root),
        checkpoint: cp.note.clone(),
        audit_path: hexes(&path),
        canonical: row.canonical.as_ref().map(|c| B64.encode(c)),
    })
}

/// The consistency proof from `old` to `new` (a stored checkpoint size).
pub fn consistency(log: &dyn Log, old: u64, new: u64) -> Result<ConsistencyProof, StoreError> {
    if old > new {
        return Err(StoreError::Config(format!(
            "--consistency {old} {new}: the old size is larger than the new one"
        )));
    }
    let cps = log.checkpoints()?;
    let new_cp = cps.iter().find(|c| c.size == new).ok_or_else(|| {
        StoreError::Config(format!(
            "the store has no signed checkpoint of size {new}; its checkpoints are: {}",
            sizes(&cps)
        ))
    })?;
    let src = Source(log);
    let proof = merkle::consistency_proof(&src, old, new).map_err(proof_err)?;
    let old_root = merkle::tree_root(&src, old)?;
    let new_root = merkle::tree_root(&src, new)?;
    if new_root.as_slice() != new_cp.root.as_slice() {
        return Err(StoreError::Corrupt(format!(
            "the stored records do not match the checkpoint of size {new}: run mlguard audit verify"
        )));
    }
    Ok(ConsistencyProof {
        kind: CONSISTENCY_TYPE.into(),
        old_size: old,
        new_size: new,
        old_root: merkle::to_hex(&old_root),
        new_root: merkle::to_hex(&new_root),
        old_checkpoint: cps.iter().find(|c| c.size == old).map(|c| c.note.clone()),
        new_checkpoint: new_cp.note.clone(),
        proof: hexes(&proof),
    })
}

fn sizes(cps: &[super::StoredCheckpoint]) -> String {
    if cps.is_empty() {
        return "none".into();
    }
    let mut s: Vec<String> = cps
        .iter()
        .rev()
        .take(10)
        .map(|c| c.size.to_string())
        .collect();
    if cps.len() > 10 {
        s.push("...".into());
    }
    s.join(", ")
}

/// What a checked proof showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// The record at `leaf_index` is in the signed tree of `tree_size`.
    Inclusion {
        leaf_index: u64,
        tree_size: u64,
        origin: String,
        /// Whether the proof carried the canonical bytes (checked against the leaf hash).
        canonical: bool,
    },
    /// The signed tree of `new_size` extends the tree of `old_size`.
    Consistency {
        old_size: u64,
        new_size: u64,
        origin: String,
        /// Whether the old root was also signed (checked).
        old_signed: bool,
    },
}

/// Why a proof document does not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// Not JSON, unknown fields, missing fields, bad hex or base64: not a proof document.
    #[error("not an mlguard audit proof: {0}")]
    Format(String),
    /// A well-formed proof that does not verify.
    #[error("the proof does not verify: {0}")]
    Invalid(String),
}

fn hex_hash(field: &str, s: &str) -> Result<Hash, CheckError> {
    merkle::from_hex(s).ok_or_else(|| {
        CheckError::Format(format!(
            "`{field}` is not a 64-digit hex SHA-256 hash: {s:?}"
        ))
    })
}

fn hex_list(field: &str, v: &[String]) -> Result<Vec<Hash>, CheckError> {
    v.iter()
        .enumerate()
        .map(|(i, s)| hex_hash(&format!("{field}[{i}]"), s))
        .collect()
}

fn open_cp(field: &str, note: &str, key: &Verifier) -> Result<Checkpoint, CheckError> {
    checkpoint::open(note, std::slice::from_ref(key))
        .map_err(|e| CheckError::Invalid(format!("`{field}`: {e}")))
}

/// Checks a proof document (JSON) offline against the log's verifier key.
pub fn check(json: &[u8], key: &Verifier) -> Result<Checked, CheckError> {
    let v: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| CheckError::Format(e.to_string()))?;
    let kind = v
        .get("type")
        .and_then(|t| t.as_str())
        .ok_or_else(|| CheckError::Format("no string field `type`".into()))?;
    match kind {
        INCLUSION_TYPE => {
            let p: InclusionProof =
                serde_json::from_value(v).map_err(|e| CheckError::Format(e.to_string()))?;
            let leaf = hex_hash("leaf_hash", &p.leaf_hash)?;
            let root = hex_hash("root", &p.root)?;
            let path = hex_list("audit_path", &p.audit_path)?;
            let cp = open_cp("checkpoint", &p.checkpoint, key)?;
            if cp.size != p.tree_size || cp.root != root {
                return Err(CheckError::Invalid(format!(
                    "the signed checkpoint is of size {} root {}, the proof claims size {} root {}",
                    cp.size,
                    merkle::to_hex(&cp.root),
                    p.tree_size,
                    p.root
                )));
            }
            if let Some(c) = &p.canonical {
                let bytes = B64
                    .decode(c)
                    .map_err(|e| CheckError::Format(format!("`canonical` is not base64: {e}")))?;
                if merkle::leaf_hash(&bytes) != leaf {
                    return Err(CheckError::Invalid(
                        "`canonical` does not hash to `leaf_hash`".into(),
                    ));
                }
            }
            merkle::verify_inclusion(p.leaf_index, p.tree_size, &leaf, &path, &cp.root)
                .map_err(|e| CheckError::Invalid(e.to_string()))?;
            Ok(Checked::Inclusion {
                leaf_index: p.leaf_index,
                tree_size: p.tree_size,
                origin: cp.origin,
                canonical: p.canonical.is_some(),
            })
        }
        CONSISTENCY_TYPE => {
            let p: ConsistencyProof =
                serde_json::from_value(v).map_err(|e| CheckError::Format(e.to_string()))?;
            let old_root = hex_hash("old_root", &p.old_root)?;
            let new_root = hex_hash("new_root", &p.new_root)?;
            let proof = hex_list("proof", &p.proof)?;
            let new_cp = open_cp("new_checkpoint", &p.new_checkpoint, key)?;
            if new_cp.size != p.new_size || new_cp.root != new_root {
                return Err(CheckError::Invalid(format!(
                    "the signed new checkpoint is of size {} root {}, the proof claims size {} \
                     root {}",
                    new_cp.size,
                    merkle::to_hex(&new_cp.root),
                    p.new_size,
                    p.new_root
                )));
            }
            if let Some(note) = &p.old_checkpoint {
                let old_cp = open_cp("old_checkpoint", note, key)?;
                if old_cp.size != p.old_size || old_cp.root != old_root {
                    return Err(CheckError::Invalid(format!(
                        "the signed old checkpoint is of size {} root {}, the proof claims size \
                         {} root {}",
                        old_cp.size,
                        merkle::to_hex(&old_cp.root),
                        p.old_size,
                        p.old_root
                    )));
                }
                if old_cp.origin != new_cp.origin {
                    return Err(CheckError::Invalid(format!(
                        "the checkpoints are of different logs: {:?} and {:?}",
                        old_cp.origin, new_cp.origin
                    )));
                }
            }
            merkle::verify_consistency(p.old_size, p.new_size, &old_root, &new_root, &proof)
                .map_err(|e| CheckError::Invalid(e.to_string()))?;
            Ok(Checked::Consistency {
                old_size: p.old_size,
                new_size: p.new_size,
                origin: new_cp.origin,
                old_signed: p.old_checkpoint.is_some(),
            })
        }
        other => Err(CheckError::Format(format!(
            "`type` {other:?} is neither {INCLUSION_TYPE} nor {CONSISTENCY_TYPE}"
        ))),
    }
}

mod hex {
    pub fn encode(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
