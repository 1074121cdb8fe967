//! mlguard-core: Kubernetes objects with source positions, the loader and the Inventory.
//!
//! Owns: reading YAML/JSON inputs (files, folders, stdin; multi-document; `List` kinds) into
//! trees where every node keeps file:line:column and its YAML path; the [`Inventory`] index over
//! them (namespaces and their classification, workloads and their pod templates for every kind
//! of the control catalog).
//!
//! Must not: judge anything (that is mlguard-controls), print anything, or talk to a cluster
//! API. It is the only crate that reads input files.

/// Below this many items a parallel step runs on the calling thread: splitting small work
/// costs more than it saves, and a split enters rayon's pool, which from another thread (an
/// admission decision) means a hand-off and a wait.
pub const PAR_MIN: usize = 64;

/// A hash map for the maps built for every admission decision and scan (indexes by kind and
/// name, pod classes, verdict caches): foldhash instead of SipHash, a few times faster on
/// short keys. Its seed is random per process and per map, so keys written in an input
/// cannot be chosen offline to collide; unlike SipHash it does not claim to resist an
/// attacker who can probe a running process's timings. The keys are object names, kinds and
/// labels, which the API server bounds. Build one with `FastMap::default()`.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

pub mod emit;
pub mod inventory;
pub mod load;
pub mod node;
pub mod selector;
pub mod text;
pub mod yaml;

pub use inventory::{Classification, Container, Inventory, Namespace, PodTemplate, WorkloadClass};
pub use load::{load, InputError, LoadOptions, Loaded, Note, Object, Origin, SourceFile};
pub use node::{At, Entry, Node, PathBuf, Pos, Value};
