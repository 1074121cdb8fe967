//! mlguard-audit: Kubernetes audit policies (audit.k8s.io/v1 `Policy`) with the API server's
//! own semantics.
//!
//! Owns:
//! - reading a policy with positions and the API server's validation ([`policy`]);
//! - evaluating a request exactly as the API server's policy checker does ([`eval`]): first
//!   matching rule wins, no match is level None, exact comparison of users, groups, verbs and
//!   namespaces, the resource patterns `res`, `res/sub`, `*`, `*/sub` and `res/*`,
//!   `nonResourceURLs` with a trailing `*`, omitStages unions and the omitManagedFields override;
//! - the same decisions from a compiled index, for many requests ([`index`]);
//! - enumerating the requests a policy can tell apart ([`probe`]), on which lint and coverage
//!   stand;
//! - lint with stable diagnostic codes for MLG-AUD-002..004 ([`lint`]), coverage of ML
//!   resources against a namespace's classification for MLG-AUD-001 ([`coverage`]);
//! - generating a production policy ([`generate`]) and estimating the volume a policy logs
//!   from a recorded audit log ([`estimate`]).
//!
//! - the audit trail's foundations ([`trail`]): normalized records of Kubernetes, object-storage
//!   and inference access events with their canonical encoding, the RFC 6962 Merkle tree and
//!   signed checkpoints (C2SP signed notes);
//! - the audit trail's store ([`store`]): SQLite and PostgreSQL backends with durable,
//!   idempotent appends and signed checkpoints, verification, inclusion and consistency
//!   proofs, retention, queries and model reports (docs/audit-store.md).
//!
//! Must not: do file I/O other than the audit store's database and witness file, or print (the
//! CLI does), or decide severities and exceptions (mlguard-controls does).

pub mod coverage;
pub mod estimate;
pub mod eval;
pub mod generate;
pub mod index;
pub mod lint;
pub mod ml;
pub mod policy;
pub mod probe;
pub mod store;
pub mod trail;

pub use eval::{Decision, Request};
pub use index::Compiled;
pub use policy::{Level, Policy, PolicyRule, Stage};
