//! The trail's RFC 6962 Merkle tree against the reference test vectors, a from-the-definitions
//! model, and tampering, over every tree shape up to a few hundred leaves.

use mlguard_audit::trail::merkle::{
    consistency_proof, empty_root, from_hex, inclusion_proof, leaf_hash, node_hash, root,
    root_from_inclusion_proof, to_hex, tree_root, verify_consistency, verify_inclusion,
    CompactTree, Hash, HashSource, LeafFn, NodeId, ProofError, VerifyError,
};
use std::cell::Cell;
use std::collections::HashMap;
use std::convert::Infallible;

// ---------------------------------------------------------------------------------------------
// Reference vectors: the RFC 6962 test tree used by the certificate-transparency
// implementations, values copied from transparency-dev/merkle proof/verify_test.go (the same
// values as certificate-transparency-go and the C++ merkle_tree_test.cc). Inclusion entries
// there are written with 1-based leaf numbers; they are 0-based indexes here.
// ---------------------------------------------------------------------------------------------

const LEAVES: [&[u8]; 8] = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
];

/// Roots of the trees of the first 1..=8 leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

const EMPTY_ROOT: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// (leaf index, tree size, audit path).
const INCLUSION: [(u64, u64, &[&str]); 4] = [
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old size, new size, consistency proof).
const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn h(hex: &str) -> Hash {
    from_hex(hex).expect("64 hex digits")
}

fn hs(hexes: &[&str]) -> Vec<Hash> {
    hexes.iter().map(|x| h(x)).collect()
}

fn reference_leaves() -> Vec<Hash> {
    LEAVES.iter().map(|d| leaf_hash(d)).collect()
}

// ---------------------------------------------------------------------------------------------
// A model written from the definitions of RFC 6962 section 2.1 (MTH, PATH, PROOF) over slices,
// with no sharing of code with the crate beyond leaf and node hashing.
// ---------------------------------------------------------------------------------------------

fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn model_mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => empty_root(),
        1 => d[0],
        n => {
            let k = k_of(n);
            node_hash(&model_mth(&d[..k]), &model_mth(&d[k..]))
        }
    }
}

fn model_path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n == 1 {
        return Vec::new();
    }
    let k = k_of(n);
    if m < k {
        let mut p = model_path(m, &d[..k]);
        p.push(model_mth(&d[k..]));
        p
    } else {
        let mut p = model_path(m - k, &d[k..]);
        p.push(model_mth(&d[..k]));
        p
    }
}

fn model_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { Vec::new() } else { vec![model_mth(d)] };
    }
    let k = k_of(n);
    if m <= k {
        let mut p = model_subproof(m, &d[..k], b);
        p.push(model_mth(&d[k..]));
        p
    } else {
        let mut p = model_subproof(m - k, &d[k..], false);
        p.push(model_mth(&d[..k]));
        p
    }
}

fn model_proof(m: usize, d: &[Hash]) -> Vec<Hash> {
    if m == 0 || m == d.len() {
        return Vec::new();
    }
    model_subproof(m, d, true)
}

// ---------------------------------------------------------------------------------------------
// Sources: a node cache filled by CompactTree::push_with, counting its reads.
// ---------------------------------------------------------------------------------------------

/// Every perfect subtree of the log, as a store keeping the nodes push_with reports would.
struct NodeCache {
    nodes: HashMap<NodeId, Hash>,
    reads: Cell<usize>,
}

impl NodeCache {
    fn new(leaves: &[Hash]) -> NodeCache {
        let mut nodes = HashMap::new();
        let mut tree = CompactTree::new();
        for leaf in leaves {
            tree.push_with(*leaf, |id, hash| {
                assert!(
                    nodes.insert(id, *hash).is_none(),
                    "node {id:?} reported twice"
                );
            });
        }
        NodeCache {
            nodes,
            reads: Cell::new(0),
        }
    }
}

impl HashSource for NodeCache {
    type Error = Infallible;

    fn leaf(&self, index: u64) -> Result<Hash, Infallible> {
        self.perfect_subtree(NodeId { level: 0, index })
    }

    fn perfect_subtree(&self, node: NodeId) -> Result<Hash, Infallible> {
        self.reads.set(self.reads.get() + 1);
        Ok(*self
            .nodes
            .get(&node)
            .unwrap_or_else(|| panic!("node {node:?} asked for but not complete")))
    }
}

/// splitmix64: deterministic test randomness without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn random_leaves(n: usize, seed: u64) -> Vec<Hash> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| leaf_hash(&rng.next().to_le_bytes()))
        .collect()
}

fn flip(hash: &Hash, bit: usize) -> Hash {
    let mut out = *hash;
    out[bit / 8 % 32] ^= 1 << (bit % 8);
    out
}

// ---------------------------------------------------------------------------------------------
// Hashing and roots.
// ---------------------------------------------------------------------------------------------

#[test]
fn empty_tree_root_is_sha256_of_nothing() {
    assert_eq!(empty_root(), h(EMPTY_ROOT));
    assert_eq!(root(&[]), h(EMPTY_ROOT));
    assert_eq!(CompactTree::new().root(), h(EMPTY_ROOT));
    assert_eq!(tree_root(&Vec::<Hash>::new(), 0).unwrap(), h(EMPTY_ROOT));
}

#[test]
fn reference_roots_for_sizes_1_to_8() {
    let leaves = reference_leaves();
    // A one-leaf tree's root is the leaf hash SHA-256(0x00 || "").
    assert_eq!(leaves[0], h(ROOTS[0]));
    let mut tree = CompactTree::new();
    for (n, want) in (1..=8).zip(ROOTS) {
        tree.push(leaves[n - 1]);
        assert_eq!(root(&leaves[..n]), h(want), "root() of {n} leaves");
        assert_eq!(tree.root(), h(want), "CompactTree of {n} leaves");
        assert_eq!(
            tree_root(&leaves[..], n as u64).unwrap(),
            h(want),
            "tree_root of {n}"
        );
        assert_eq!(model_mth(&leaves[..n]), h(want), "the model, {n} leaves");
    }
}

#[test]
fn reference_inclusion_proofs() {
    let leaves = reference_leaves();
    for (index, size, want) in INCLUSION {
        let want = hs(want);
        let got = inclusion_proof(&leaves[..], index, size).unwrap();
        assert_eq!(got, want, "PATH({index}, {size})");
        let r = h(ROOTS[size as usize - 1]);
        let leaf = leaves[index as usize];
        verify_inclusion(index, size, &leaf, &want, &r).unwrap();
        assert_eq!(
            root_from_inclusion_proof(index, size, &leaf, &want).unwrap(),
            r
        );
        assert_inclusion_tampering_fails(index, size, &leaf, &want, &r);
    }
    // Single-leaf trees: the proof is empty and the root is the leaf.
    assert_eq!(
        inclusion_proof(&leaves[..], 0, 1).unwrap(),
        Vec::<Hash>::new()
    );
    verify_inclusion(0, 1, &leaves[0], &[], &leaves[0]).unwrap();
}

#[test]
fn reference_consistency_proofs() {
    let leaves = reference_leaves();
    for (old, new, want) in CONSISTENCY {
        let want = hs(want);
        let got = consistency_proof(&leaves[..], old, new).unwrap();
        assert_eq!(got, want, "PROOF({old}, {new})");
        let (r1, r2) = (h(ROOTS[old as usize - 1]), h(ROOTS[new as usize - 1]));
        verify_consistency(old, new, &r1, &r2, &want).unwrap();
        if !want.is_empty() {
            assert_consistency_tampering_fails(old, new, &r1, &r2, &want);
        }
    }
}

/// The probes of transparency-dev/merkle's corruptInclusionProof, and then some.
fn assert_inclusion_tampering_fails(index: u64, size: u64, leaf: &Hash, proof: &[Hash], r: &Hash) {
    let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
    let mut probes: Vec<(String, u64, u64, Hash, Vec<Hash>, Hash)> = vec![
        (
            "index - 1".into(),
            index.wrapping_sub(1),
            size,
            *leaf,
            proof.to_vec(),
            *r,
        ),
        (
            "index + 1".into(),
            index + 1,
            size,
            *leaf,
            proof.to_vec(),
            *r,
        ),
        (
            "index ^ 2".into(),
            index ^ 2,
            size,
            *leaf,
            proof.to_vec(),
            *r,
        ),
        (
            "size * 2".into(),
            index,
            size * 2,
            *leaf,
            proof.to_vec(),
            *r,
        ),
        (
            "size / 2".into(),
            index,
            size / 2,
            *leaf,
            proof.to_vec(),
            *r,
        ),
        (
            "wrong leaf".into(),
            index,
            size,
            leaf_hash(b"WrongLeaf"),
            proof.to_vec(),
            *r,
        ),
        (
            "empty root".into(),
            index,
            size,
            *leaf,
            proof.to_vec(),
            empty_root(),
        ),
        (
            "random root".into(),
            index,
            size,
            *leaf,
            proof.to_vec(),
            some,
        ),
    ];
    let with = |f: &dyn Fn(&mut Vec<Hash>)| {
        let mut p = proof.to_vec();
        f(&mut p);
        p
    };
    probes.push((
        "trailing zero".into(),
        index,
        size,
        *leaf,
        with(&|p| p.push([0; 32])),
        *r,
    ));
    probes.push((
        "trailing root".into(),
        index,
        size,
        *leaf,
        with(&|p| p.push(*r)),
        *r,
    ));
    probes.push((
        "preceding zero".into(),
        index,
        size,
        *leaf,
        with(&|p| p.insert(0, [0; 32])),
        *r,
    ));
    probes.push((
        "preceding root".into(),
        index,
        size,
        *leaf,
        with(&|p| p.insert(0, *r)),
        *r,
    ));
    for i in 0..proof.len() {
        for bit in [0, 3, 100, 255] {
            let p = with(&|p| p[i] = flip(&p[i], bit));
            probes.push((format!("proof[{i}] bit {bit}"), index, size, *leaf, p, *r));
        }
    }
    if !proof.is_empty() {
        probes.push((
            "removed".into(),
            index,
            size,
            *leaf,
            with(&|p| {
                p.pop();
            }),
            *r,
        ));
    }
    if proof.len() > 1 {
        probes.push((
            "inserted".into(),
            index,
            size,
            *leaf,
            with(&|p| p.insert(1, some)),
            *r,
        ));
        probes.push((
            "swapped".into(),
            index,
            size,
            *leaf,
            with(&|p| p.swap(0, 1)),
            *r,
        ));
    }
    for (desc, i, s, l, p, rt) in probes {
        if p == proof && i == index && s == size && l == *leaf && rt == *r {
            continue;
        }
        assert!(
            verify_inclusion(i, s, &l, &p, &rt).is_err(),
            "inclusion of {index} in {size} verified with {desc}"
        );
    }
}

/// The probes of transparency-dev/merkle's corruptConsistencyProof, and then some.
fn assert_consistency_tampering_fails(old: u64, new: u64, r1: &Hash, r2: &Hash, proof: &[Hash]) {
    let wrong = leaf_hash(b"WrongRoot");
    let with = |f: &dyn Fn(&mut Vec<Hash>)| {
        let mut p = proof.to_vec();
        f(&mut p);
        p
    };
    let mut probes: Vec<(String, u64, u64, Hash, Hash, Vec<Hash>)> = vec![
        ("old - 1".into(), old - 1, new, *r1, *r2, proof.to_vec()),
        ("old + 1".into(), old + 1, new, *r1, *r2, proof.to_vec()),
        ("old ^ 2".into(), old ^ 2, new, *r1, *r2, proof.to_vec()),
        ("new * 2".into(), old, new * 2, *r1, *r2, proof.to_vec()),
        ("new / 2".into(), old, new / 2, *r1, *r2, proof.to_vec()),
        (
            "wrong old root".into(),
            old,
            new,
            wrong,
            *r2,
            proof.to_vec(),
        ),
        (
            "wrong new root".into(),
            old,
            new,
            *r1,
            wrong,
            proof.to_vec(),
        ),
        ("swapped roots".into(), old, new, *r2, *r1, proof.to_vec()),
        ("empty proof".into(), old, new, *r1, *r2, Vec::new()),
        (
            "trailing zero".into(),
            old,
            new,
            *r1,
            *r2,
            with(&|p| p.push([0; 32])),
        ),
        (
            "trailing old root".into(),
            old,
            new,
            *r1,
            *r2,
            with(&|p| p.push(*r1)),
        ),
        (
            "trailing new root".into(),
            old,
            new,
            *r1,
            *r2,
            with(&|p| p.push(*r2)),
        ),
        (
            "preceding zero".into(),
            old,
            new,
            *r1,
            *r2,
            with(&|p| p.insert(0, [0; 32])),
        ),
        (
            "preceding old root".into(),
            old,
            new,
            *r1,
            *r2,
            with(&|p| p.insert(0, *r1)),
        ),
        (
            "preceding new root".into(),
            old,
            new,
            *r1,
            *r2,
            with(&|p| p.insert(0, *r2)),
        ),
        (
            "preceding proof[0]".into(),
            old,
            new,
            *r1,
            *r2,
            with(&|p| p.insert(0, p[0])),
        ),
        (
            "truncated".into(),
            old,
            new,
            *r1,
            *r2,
            with(&|p| {
                p.pop();
            }),
        ),
    ];
    for i in 0..proof.len() {
        for bit in [4, 0, 200] {
            let p = with(&|p| p[i] = flip(&p[i], bit));
            probes.push((format!("proof[{i}] bit {bit}"), old, new, *r1, *r2, p));
        }
    }
    for (desc, o, n, a, b, p) in probes {
        assert!(
            verify_consistency(o, n, &a, &b, &p).is_err(),
            "consistency {old} -> {new} verified with {desc}"
        );
    }
}

#[test]
fn verification_edge_cases() {
    let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
    let empty = empty_root();
    // Inclusion in trees too small for the index (transparency-dev TestVerifyInclusion).
    for (index, size) in [(0, 0), (1, 0), (2, 1), (1, 1)] {
        assert_eq!(
            verify_inclusion(index, size, &some, &[], &empty),
            Err(VerifyError::IndexOutOfRange { index, size })
        );
    }
    // Wrong lengths are named as such.
    assert_eq!(
        verify_inclusion(0, 8, &some, &[some], &empty),
        Err(VerifyError::WrongProofLength {
            got: 1,
            expected: 3
        })
    );
    assert!(matches!(
        verify_inclusion(0, 1, &some, &[], &empty),
        Err(VerifyError::RootMismatch { .. })
    ));

    // Consistency, after transparency-dev TestVerifyConsistency (stricter for size 0: the old
    // root must be the empty tree's).
    let (r1, r2) = (leaf_hash(b"don't care 1"), leaf_hash(b"don't care 2"));
    assert!(verify_consistency(0, 0, &empty, &empty, &[]).is_ok());
    assert!(verify_consistency(0, 1, &empty, &r2, &[]).is_ok());
    assert!(verify_consistency(1, 1, &r2, &r2, &[]).is_ok());
    assert_eq!(
        verify_consistency(0, 0, &r1, &r2, &[]),
        Err(VerifyError::OldRootMismatch {
            computed: empty,
            expected: r1
        })
    );
    assert!(matches!(
        verify_consistency(0, 1, &r1, &r2, &[]),
        Err(VerifyError::OldRootMismatch { .. })
    ));
    assert_eq!(
        verify_consistency(1, 1, &r1, &r2, &[]),
        Err(VerifyError::EqualSizeRootsDiffer { size: 1 })
    );
    assert_eq!(
        verify_consistency(1, 0, &r1, &r2, &[]),
        Err(VerifyError::SizesOutOfOrder {
            old_size: 1,
            new_size: 0
        })
    );
    assert!(verify_consistency(2, 1, &r1, &r2, &[]).is_err());
    assert_eq!(
        verify_consistency(1, 2, &r1, &r2, &[]),
        Err(VerifyError::WrongProofLength {
            got: 0,
            expected: 1
        })
    );
    for (o, n) in [(0, 0), (0, 1), (1, 1)] {
        assert_eq!(
            verify_consistency(o, n, &empty, &empty, &[empty]),
            Err(VerifyError::WrongProofLength {
                got: 1,
                expected: 0
            }),
            "{o} -> {n} with a non-empty proof"
        );
    }
}

#[test]
fn proof_generation_errors() {
    let leaves = random_leaves(10, 1);
    assert!(matches!(
        inclusion_proof(&leaves[..], 10, 10),
        Err(ProofError::IndexOutOfRange {
            index: 10,
            size: 10
        })
    ));
    assert!(matches!(
        inclusion_proof(&leaves[..], 0, 0),
        Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
    ));
    assert!(matches!(
        consistency_proof(&leaves[..], 5, 4),
        Err(ProofError::SizesOutOfOrder {
            old_size: 5,
            new_size: 4
        })
    ));
    assert_eq!(
        consistency_proof(&leaves[..], 0, 10).unwrap(),
        Vec::<Hash>::new()
    );
    assert_eq!(
        consistency_proof(&leaves[..], 7, 7).unwrap(),
        Vec::<Hash>::new()
    );

    // A failing source's error comes through, with a message naming it.
    #[derive(Debug, thiserror::Error)]
    #[error("record {0} is unreadable")]
    struct Unreadable(u64);
    let src = LeafFn(|i: u64| {
        if i == 6 {
            Err(Unreadable(i))
        } else {
            Ok(leaves[i as usize])
        }
    });
    let err = inclusion_proof(&src, 0, 10).unwrap_err();
    assert!(matches!(err, ProofError::Source(Unreadable(6))));
    assert_eq!(
        err.to_string(),
        "reading the log's hashes: record 6 is unreadable"
    );
    assert!(matches!(
        consistency_proof(&src, 3, 10),
        Err(ProofError::Source(Unreadable(6)))
    ));
    // ... and a working one gives the same proofs as the slice.
    let ok = LeafFn(|i: u64| Ok::<_, Unreadable>(leaves[i as usize]));
    assert_eq!(
        inclusion_proof(&ok, 3, 5).unwrap(),
        inclusion_proof(&leaves[..], 3, 5).unwrap()
    );
}

// ---------------------------------------------------------------------------------------------
// Every shape up to a few hundred leaves.
// ---------------------------------------------------------------------------------------------

const MAX: usize = 300;

#[test]
fn compact_tree_matches_the_model_for_every_prefix() {
    let leaves = random_leaves(MAX, 7);
    let mut tree = CompactTree::new();
    let mut reported: HashMap<NodeId, Hash> = HashMap::new();
    for n in 1..=MAX {
        tree.push_with(leaves[n - 1], |id, hash| {
            reported.insert(id, *hash);
        });
        assert_eq!(tree.size(), n as u64);
        assert_eq!(tree.frontier().len(), (n as u64).count_ones() as usize);
        let want = model_mth(&leaves[..n]);
        assert_eq!(tree.root(), want, "CompactTree root at size {n}");
        assert_eq!(root(&leaves[..n]), want, "root() at size {n}");
        // A restored tree carries on identically.
        let restored = CompactTree::from_frontier(tree.size(), tree.frontier().to_vec()).unwrap();
        assert_eq!(restored, tree);
    }
    // Every perfect subtree is reported exactly once, with its hash.
    assert_eq!(reported.len(), 2 * MAX - MAX.count_ones() as usize);
    for (id, hash) in &reported {
        let first = id.first_leaf() as usize;
        assert_eq!(
            *hash,
            model_mth(&leaves[first..first + id.width() as usize]),
            "{id:?}"
        );
    }
    let err = CompactTree::from_frontier(5, vec![[0; 32]]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a compact tree of size 5 has 2 frontier hashes, not 1"
    );
}

#[test]
fn every_inclusion_proof_verifies_and_matches_the_model() {
    let leaves = random_leaves(MAX, 11);
    let cache = NodeCache::new(&leaves);
    let mut rng = Rng(12);
    let mut root_at = vec![empty_root()];
    let mut tree = CompactTree::new();
    for leaf in &leaves {
        tree.push(*leaf);
        root_at.push(tree.root());
    }
    for size in 1..=MAX as u64 {
        let r = root_at[size as usize];
        assert_eq!(tree_root(&cache, size).unwrap(), r);
        for index in 0..size {
            let proof = inclusion_proof(&cache, index, size).unwrap();
            let leaf = leaves[index as usize];
            verify_inclusion(index, size, &leaf, &proof, &r)
                .unwrap_or_else(|e| panic!("inclusion of {index} in {size}: {e}"));
            // Model and slice source agree on small trees and on a sample of large ones.
            if size <= 40 || rng.below(50) == 0 {
                assert_eq!(proof, model_path(index as usize, &leaves[..size as usize]));
                assert_eq!(proof, inclusion_proof(&leaves[..], index, size).unwrap());
            }
            // A wrong index, size or leaf, or a flipped bit, fails: on a sample.
            if rng.below(20) == 0 {
                assert_inclusion_tampering_fails(index, size, &leaf, &proof, &r);
                let other = rng.below(size);
                if other != index && leaves[other as usize] != leaf {
                    assert!(verify_inclusion(other, size, &leaf, &proof, &r).is_err());
                    assert!(
                        verify_inclusion(index, size, &leaves[other as usize], &proof, &r).is_err()
                    );
                }
                // Claiming the leaf in a tree of another size, with that tree's root, fails.
                let other_size = 1 + rng.below(MAX as u64);
                if other_size != size && index < other_size {
                    let r2 = root_at[other_size as usize];
                    assert!(verify_inclusion(index, other_size, &leaf, &proof, &r2).is_err());
                }
                if !proof.is_empty() {
                    let i = rng.below(proof.len() as u64) as usize;
                    let mut p = proof.clone();
                    p[i] = flip(&p[i], rng.below(256) as usize);
                    assert!(verify_inclusion(index, size, &leaf, &p, &r).is_err());
                }
            }
        }
    }
}

#[test]
fn every_consistency_proof_verifies_and_matches_the_model() {
    let leaves = random_leaves(MAX, 21);
    let cache = NodeCache::new(&leaves);
    let mut rng = Rng(22);
    let root_at: Vec<Hash> = (0..=MAX).map(|n| root(&leaves[..n])).collect();
    for new in 1..=MAX as u64 {
        for old in 0..=new {
            let proof = consistency_proof(&cache, old, new).unwrap();
            let (r1, r2) = (root_at[old as usize], root_at[new as usize]);
            verify_consistency(old, new, &r1, &r2, &proof)
                .unwrap_or_else(|e| panic!("consistency {old} -> {new}: {e}"));
            if new <= 40 || rng.below(100) == 0 {
                assert_eq!(proof, model_proof(old as usize, &leaves[..new as usize]));
                assert_eq!(proof, consistency_proof(&leaves[..], old, new).unwrap());
            }
            if old > 0 && old < new && rng.below(40) == 0 {
                assert_consistency_tampering_fails(old, new, &r1, &r2, &proof);
                // Other sizes, with their own roots, fail.
                let o2 = 1 + rng.below(new);
                if o2 != old {
                    let r = root_at[o2 as usize];
                    assert!(verify_consistency(o2, new, &r, &r2, &proof).is_err());
                }
                let n2 = old + rng.below(MAX as u64 - old + 1);
                if n2 != new {
                    let r = root_at[n2 as usize];
                    assert!(verify_consistency(old, n2, &r1, &r, &proof).is_err());
                }
                // Another old root of the same size (a rewritten history) fails.
                let mut forked = leaves[..old as usize].to_vec();
                let i = rng.below(old) as usize;
                forked[i] = leaf_hash(b"rewritten");
                assert!(verify_consistency(old, new, &root(&forked), &r2, &proof).is_err());
            }
        }
    }
}

/// A source over a huge virtual log that only counts: proofs must cost O(log n) node reads.
struct Counting {
    reads: Cell<usize>,
}

impl HashSource for Counting {
    type Error = Infallible;

    fn leaf(&self, _: u64) -> Result<Hash, Infallible> {
        panic!("leaves are never read when perfect_subtree is implemented")
    }

    fn perfect_subtree(&self, node: NodeId) -> Result<Hash, Infallible> {
        self.reads.set(self.reads.get() + 1);
        assert!(node.level < 64);
        Ok(leaf_hash(&node.index.to_le_bytes()))
    }
}

#[test]
fn proofs_read_logarithmically_many_nodes() {
    let src = Counting {
        reads: Cell::new(0),
    };
    let mut rng = Rng(31);
    for _ in 0..500 {
        let size = 1 + rng.below(1 << 40);
        let index = rng.below(size);
        let bits = 64 - size.leading_zeros() as usize;
        src.reads.set(0);
        let proof = inclusion_proof(&src, index, size).unwrap();
        assert!(proof.len() <= bits);
        assert!(
            src.reads.get() <= 2 * bits,
            "{} reads for size {size}",
            src.reads.get()
        );

        let old = 1 + rng.below(size);
        src.reads.set(0);
        let proof = consistency_proof(&src, old, size).unwrap();
        assert!(proof.len() <= 2 * bits);
        assert!(
            src.reads.get() <= 3 * bits,
            "{} reads for {old} -> {size}",
            src.reads.get()
        );

        src.reads.set(0);
        tree_root(&src, size).unwrap();
        assert!(src.reads.get() <= bits);
    }
    // And the node cache over a real log agrees.
    let leaves = random_leaves(1000, 41);
    let cache = NodeCache::new(&leaves);
    cache.reads.set(0);
    inclusion_proof(&cache, 517, 1000).unwrap();
    assert!(cache.reads.get() <= 20, "{}", cache.reads.get());
}

#[test]
fn hex_round_trip() {
    let x = leaf_hash(b"x");
    assert_eq!(from_hex(&to_hex(&x)), Some(x));
    assert_eq!(from_hex(&to_hex(&x).to_uppercase()), Some(x));
    assert_eq!(from_hex("00"), None);
    assert_eq!(from_hex(&"g".repeat(64)), None);
    assert_eq!(to_hex(&empty_root()), EMPTY_ROOT);
}
