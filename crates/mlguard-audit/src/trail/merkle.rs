//! The RFC 6962 Merkle tree (section 2.1; the same tree as RFC 9162 section 2.1) over the
//! trail's leaf hashes: hashing, an append-only compact tree for the running root, proof
//! generation from a source of hashes, and proof verification.
//!
//! Hashing is SHA-256 with domain separation: a leaf is `SHA-256(0x00 || data)`, an interior
//! node `SHA-256(0x01 || left || right)`, and the empty tree `SHA-256("")`. The tree over `n`
//! leaves splits at the largest power of two smaller than `n` (MTH in RFC 6962 section 2.1).
//!
//! Costs:
//! - [`CompactTree`] keeps one hash per set bit of the size (at most 64): a push is amortised
//!   two hashes, [`CompactTree::root`] at most 63. It is how a store computes the root over
//!   millions of leaves without holding them, and [`CompactTree::push_with`] reports every
//!   perfect subtree a push completes, so a store can keep them as a node cache.
//! - [`inclusion_proof`], [`consistency_proof`] and [`tree_root`] ask the [`HashSource`] for
//!   O(log n) perfect-subtree hashes ([`HashSource::perfect_subtree`]), every one of them
//!   aligned (a subtree of the full tree). With a cache of those nodes a proof is O(log n)
//!   reads and hashes. The default [`HashSource::perfect_subtree`] recomputes a node from its
//!   leaves, so a source that only knows leaves (such as a slice of leaf hashes) pays O(n)
//!   leaf reads and hashes per proof.
//! - [`verify_inclusion`] and [`verify_consistency`] are the iterative algorithms of RFC 9162
//!   sections 2.1.3.2 and 2.1.4.2: O(log n) hashes and no allocation.

use ring::digest;
use std::convert::Infallible;
use std::fmt;

/// Length of a SHA-256 hash.
pub const HASH_LEN: usize = 32;

/// A SHA-256 hash: a leaf hash, a node hash or a tree root.
pub type Hash = [u8; HASH_LEN];

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; HASH_LEN];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    sha256(&[])
}

/// The hash of a leaf whose content is `data`: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    sha256(&[&[0x00], data])
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[0x01], left, right])
}

/// The root (MTH) of the tree whose leaf hashes are `leaves`, in order; the empty tree's for
/// no leaves. O(n) hashes, O(log n) memory.
pub fn root(leaves: &[Hash]) -> Hash {
    let mut tree = CompactTree::new();
    for leaf in leaves {
        tree.push(*leaf);
    }
    tree.root()
}

/// Lower-case hexadecimal of a hash, for messages and proof listings.
pub fn to_hex(hash: &Hash) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 * HASH_LEN);
    for b in hash {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

/// A hash from 64 hexadecimal digits (either case); `None` for anything else.
pub fn from_hex(s: &str) -> Option<Hash> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    if bytes.len() != 2 * HASH_LEN {
        return None;
    }
    let mut out = [0u8; HASH_LEN];
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *o = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

/// A perfect subtree of the log: the `2^level` leaves from `index << level` up to (not
/// including) `(index + 1) << level`. Level 0 nodes are the leaves themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    pub level: u32,
    pub index: u64,
}

impl NodeId {
    /// The first leaf the node covers.
    pub fn first_leaf(self) -> u64 {
        self.index << self.level
    }

    /// How many leaves the node covers.
    pub fn width(self) -> u64 {
        1u64 << self.level
    }
}

/// The right-hand frontier of an append-only tree: the roots of its maximal perfect subtrees,
/// one per set bit of the size, largest (leftmost) first. Enough to compute the root and to
/// append, without the leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactTree {
    size: u64,
    frontier: Vec<Hash>,
}

impl CompactTree {
    /// The empty tree.
    pub fn new() -> CompactTree {
        CompactTree::default()
    }

    /// A tree restored from a saved [`CompactTree::size`] and [`CompactTree::frontier`].
    /// Fails when the number of hashes is not the number of set bits of `size`.
    pub fn from_frontier(size: u64, frontier: Vec<Hash>) -> Result<CompactTree, FrontierError> {
        let expected = size.count_ones() as usize;
        if frontier.len() != expected {
            return Err(FrontierError {
                size,
                got: frontier.len(),
                expected,
            });
        }
        Ok(CompactTree { size, frontier })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The roots of the maximal perfect subtrees, largest first (what to save to restore the
    /// tree with [`CompactTree::from_frontier`]).
    pub fn frontier(&self) -> &[Hash] {
        &self.frontier
    }

    /// Append a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        self.push_with(leaf, |_, _| {});
    }

    /// Append a leaf hash, calling `completed` for every perfect subtree this completes, the
    /// leaf itself first and then upwards (a store that keeps these has everything
    /// [`HashSource::perfect_subtree`] needs for O(log n) proofs).
    ///
    /// Panics when the tree already has `u64::MAX` leaves.
    pub fn push_with(&mut self, leaf: Hash, mut completed: impl FnMut(NodeId, &Hash)) {
        let index = self.size;
        let new_size = index
            .checked_add(1)
            .expect("a tree has at most u64::MAX leaves");
        completed(NodeId { level: 0, index }, &leaf);
        let mut hash = leaf;
        let mut level = 0u32;
        while (index >> level) & 1 == 1 {
            let left = self
                .frontier
                .pop()
                .expect("the frontier holds one hash per set bit of the size");
            hash = node_hash(&left, &hash);
            level += 1;
            completed(
                NodeId {
                    level,
                    index: index >> level,
                },
                &hash,
            );
        }
        self.frontier.push(hash);
        self.size = new_size;
    }

    /// The tree's root (MTH over all leaves pushed so far); the empty tree's when none were.
    pub fn root(&self) -> Hash {
        let mut rest = self.frontier.iter().rev();
        let Some(last) = rest.next() else {
            return empty_root();
        };
        rest.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

/// A saved frontier does not fit its tree size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a compact tree of size {size} has {expected} frontier hashes, not {got}")]
pub struct FrontierError {
    pub size: u64,
    pub got: usize,
    pub expected: usize,
}

/// Where proof generation reads the log's hashes from.
///
/// Implement [`HashSource::leaf`]; also implement [`HashSource::perfect_subtree`] from a
/// node cache (for instance the nodes [`CompactTree::push_with`] reports) to make proofs
/// O(log n) instead of O(n).
pub trait HashSource {
    /// What reading a hash can fail with (a store's I/O error; [`Infallible`] in memory).
    type Error;

    /// The leaf hash at `index` (0-based). Only called for indexes below the size the proof
    /// is for.
    fn leaf(&self, index: u64) -> Result<Hash, Self::Error>;

    /// The root of the perfect subtree `node`. Only called for nodes inside the tree the
    /// proof is for. The default computes it from the leaves: `2^level` leaf reads and
    /// `2^level - 1` hashes.
    fn perfect_subtree(&self, node: NodeId) -> Result<Hash, Self::Error> {
        if node.level == 0 {
            return self.leaf(node.index);
        }
        let left = self.perfect_subtree(NodeId {
            level: node.level - 1,
            index: node.index << 1,
        })?;
        let right = self.perfect_subtree(NodeId {
            level: node.level - 1,
            index: (node.index << 1) | 1,
        })?;
        Ok(node_hash(&left, &right))
    }
}

/// Leaf hashes held in memory. Proofs are O(n) hashes (no node cache).
impl HashSource for [Hash] {
    type Error = Infallible;

    fn leaf(&self, index: u64) -> Result<Hash, Infallible> {
        Ok(self[usize::try_from(index).expect("index below the slice length")])
    }
}

impl HashSource for Vec<Hash> {
    type Error = Infallible;

    fn leaf(&self, index: u64) -> Result<Hash, Infallible> {
        self.as_slice().leaf(index)
    }
}

/// A [`HashSource`] from a function returning the leaf hash at an index (say, a store's
/// lookup). Proofs are O(n) calls and hashes; implement [`HashSource`] with a node cache to
/// do better.
pub struct LeafFn<F>(pub F);

impl<F> fmt::Debug for LeafFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LeafFn(..)")
    }
}

impl<F, E> HashSource for LeafFn<F>
where
    F: Fn(u64) -> Result<Hash, E>,
{
    type Error = E;

    fn leaf(&self, index: u64) -> Result<Hash, E> {
        (self.0)(index)
    }
}

/// Why a proof could not be generated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError<E> {
    /// The leaf is not in the tree.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("cannot prove consistency from tree size {old_size} to the smaller size {new_size}")]
    SizesOutOfOrder { old_size: u64, new_size: u64 },
    /// The hash source failed.
    #[error("reading the log's hashes: {0}")]
    Source(#[source] E),
}

/// The largest power of two strictly smaller than `n`; `n` must be at least 2.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// MTH of the leaves `start..end` (non-empty). Every perfect subtree asked from `src` is
/// aligned when `start` is a multiple of the largest power of two not above `end - start`,
/// which holds for every range the proofs and [`tree_root`] ask for: O(log n) reads.
fn range_hash<S: HashSource + ?Sized>(src: &S, start: u64, end: u64) -> Result<Hash, S::Error> {
    let n = end - start;
    if n.is_power_of_two() && start.is_multiple_of(n) {
        let level = n.trailing_zeros();
        return src.perfect_subtree(NodeId {
            level,
            index: start >> level,
        });
    }
    let k = split_point(n);
    let left = range_hash(src, start, start + k)?;
    let right = range_hash(src, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// The root of the first `size` leaves of `src` (the empty tree's for 0): O(log n) perfect
/// subtrees read.
pub fn tree_root<S: HashSource + ?Sized>(src: &S, size: u64) -> Result<Hash, S::Error> {
    if size == 0 {
        return Ok(empty_root());
    }
    range_hash(src, 0, size)
}

/// The audit path for leaf `index` in the tree of the first `size` leaves of `src` (PATH in
/// RFC 6962 section 2.1.1): the sibling hashes from the leaf up to the root.
pub fn inclusion_proof<S: HashSource + ?Sized>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut proof = Vec::with_capacity(64 - size.leading_zeros() as usize);
    path(src, index, 0, size, &mut proof).map_err(ProofError::Source)?;
    Ok(proof)
}

/// PATH(m, D[start:end]) with `m` an absolute index in `start..end`.
fn path<S: HashSource + ?Sized>(
    src: &S,
    m: u64,
    start: u64,
    end: u64,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = end - start;
    if n == 1 {
        return Ok(());
    }
    let k = split_point(n);
    if m < start + k {
        path(src, m, start, start + k, out)?;
        out.push(range_hash(src, start + k, end)?);
    } else {
        path(src, m, start + k, end, out)?;
        out.push(range_hash(src, start, start + k)?);
    }
    Ok(())
}

/// The consistency proof from the tree of the first `old_size` leaves of `src` to the tree of
/// the first `new_size` (PROOF in RFC 6962 section 2.1.2). Empty when `old_size` is 0 or
/// equals `new_size`.
pub fn consistency_proof<S: HashSource + ?Sized>(
    src: &S,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if old_size > new_size {
        return Err(ProofError::SizesOutOfOrder { old_size, new_size });
    }
    let mut proof = Vec::new();
    if old_size == 0 || old_size == new_size {
        return Ok(proof);
    }
    subproof(src, old_size, 0, new_size, true, &mut proof).map_err(ProofError::Source)?;
    Ok(proof)
}

/// SUBPROOF(m - start, D[start:end], b) with `m` the absolute old size, `start < m <= end`.
fn subproof<S: HashSource + ?Sized>(
    src: &S,
    m: u64,
    start: u64,
    end: u64,
    b: bool,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    if m == end {
        if !b {
            out.push(range_hash(src, start, end)?);
        }
        return Ok(());
    }
    let k = split_point(end - start);
    if m - start <= k {
        subproof(src, m, start, start + k, b, out)?;
        out.push(range_hash(src, start + k, end)?);
    } else {
        subproof(src, m, start + k, end, false, out)?;
        out.push(range_hash(src, start, start + k)?);
    }
    Ok(())
}

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// The old tree is larger than the new one.
    #[error("the old tree size {old_size} is larger than the new tree size {new_size}")]
    SizesOutOfOrder { old_size: u64, new_size: u64 },
    /// The proof has the wrong number of hashes for the sizes (and index) given.
    #[error("the proof has {got} hashes; these tree sizes need {expected}")]
    WrongProofLength { got: usize, expected: usize },
    /// Two roots for the same tree size differ: one of them is not the log's.
    #[error("two different roots for the same tree size {size}")]
    EqualSizeRootsDiffer { size: u64 },
    /// The inclusion proof leads to another root.
    #[error(
        "the inclusion proof leads to root {}, not {}",
        to_hex(.computed),
        to_hex(.expected)
    )]
    RootMismatch { computed: Hash, expected: Hash },
    /// The consistency proof does not lead to the old root.
    #[error(
        "the consistency proof leads to old root {}, not {}",
        to_hex(.computed),
        to_hex(.expected)
    )]
    OldRootMismatch { computed: Hash, expected: Hash },
    /// The consistency proof does not lead to the new root.
    #[error(
        "the consistency proof leads to new root {}, not {}",
        to_hex(.computed),
        to_hex(.expected)
    )]
    NewRootMismatch { computed: Hash, expected: Hash },
}

/// Right-shift `fn_` and `sn` together until the low bit of `fn_` is set or `fn_` is 0.
fn shift_to_set_bit(fn_: &mut u64, sn: &mut u64) {
    while *fn_ & 1 == 0 && *fn_ != 0 {
        *fn_ >>= 1;
        *sn >>= 1;
    }
}

/// How many hashes an inclusion proof for `index < size` has (the RFC 9162 loop, counted).
fn inclusion_len(index: u64, size: u64) -> usize {
    let (mut fn_, mut sn) = (index, size - 1);
    let mut len = 0;
    while sn != 0 {
        // The hashing branch of the verifier with fn_ even: the right edge, where a node
        // has no right sibling and the path skips levels.
        if fn_ & 1 == 0 && fn_ == sn {
            shift_to_set_bit(&mut fn_, &mut sn);
        }
        fn_ >>= 1;
        sn >>= 1;
        len += 1;
    }
    len
}

/// The root an inclusion proof leads to for `leaf` at `index` in a tree of `size` (RFC 9162
/// section 2.1.3.2, steps 1 to 4); the caller compares it with a trusted root.
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_len(index, size);
    if proof.len() != expected {
        return Err(VerifyError::WrongProofLength {
            got: proof.len(),
            expected,
        });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        // The length check above makes `sn == 0` here impossible; RFC 9162 fails the proof.
        if sn == 0 {
            return Err(VerifyError::WrongProofLength {
                got: proof.len(),
                expected,
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                shift_to_set_bit(&mut fn_, &mut sn);
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(VerifyError::WrongProofLength {
            got: proof.len(),
            expected,
        });
    }
    Ok(r)
}

/// Check that `leaf` is the leaf at `index` of the tree of `size` leaves whose root is
/// `root`, given the audit path `proof` (RFC 9162 section 2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    let computed = root_from_inclusion_proof(index, size, leaf, proof)?;
    if computed != *root {
        return Err(VerifyError::RootMismatch {
            computed,
            expected: *root,
        });
    }
    Ok(())
}

/// How many hashes a consistency proof for `0 < old_size < new_size` has.
fn consistency_len(old_size: u64, new_size: u64) -> usize {
    let mut len = usize::from(!old_size.is_power_of_two());
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    while sn != 0 {
        // The hashing branch of the verifier with fn_ even: the right edge, where a node
        // has no right sibling and the path skips levels.
        if fn_ & 1 == 0 && fn_ == sn {
            shift_to_set_bit(&mut fn_, &mut sn);
        }
        fn_ >>= 1;
        sn >>= 1;
        len += 1;
    }
    len
}

/// Check that the tree of `new_size` leaves with root `new_root` extends the tree of
/// `old_size` leaves with root `old_root`, given the consistency proof `proof` (RFC 9162
/// section 2.1.4.2 for `0 < old_size < new_size`).
///
/// Equal sizes need an empty proof and equal roots. An old size of 0 needs an empty proof and
/// the empty tree's root as `old_root` (stricter than implementations that take any old root
/// for the empty tree).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if old_size > new_size {
        return Err(VerifyError::SizesOutOfOrder { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        if !proof.is_empty() {
            return Err(VerifyError::WrongProofLength {
                got: proof.len(),
                expected: 0,
            });
        }
        if old_size == 0 {
            let empty = empty_root();
            if *old_root != empty {
                return Err(VerifyError::OldRootMismatch {
                    computed: empty,
                    expected: *old_root,
                });
            }
        } else if old_root != new_root {
            return Err(VerifyError::EqualSizeRootsDiffer { size: old_size });
        }
        return Ok(());
    }
    let expected = consistency_len(old_size, new_size);
    if proof.len() != expected {
        return Err(VerifyError::WrongProofLength {
            got: proof.len(),
            expected,
        });
    }
    // Step 2: a power-of-two old tree is a node of the new one; its root starts the path.
    let (first, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        (&proof[0], &proof[1..])
    };
    // Steps 3 and 4.
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // Steps 5 and 6.
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return Err(VerifyError::WrongProofLength {
                got: proof.len(),
                expected,
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                shift_to_set_bit(&mut fn_, &mut sn);
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 7.
    if sn != 0 {
        return Err(VerifyError::WrongProofLength {
            got: proof.len(),
            expected,
        });
    }
    if fr != *old_root {
        return Err(VerifyError::OldRootMismatch {
            computed: fr,
            expected: *old_root,
        });
    }
    if sr != *new_root {
        return Err(VerifyError::NewRootMismatch {
            computed: sr,
            expected: *new_root,
        });
    }
    Ok(())
}
