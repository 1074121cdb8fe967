//! mlguard-audit: Kubernetes audit policies (audit.k8s.io/v1 `Policy`) with the API server's
//! own semantics.
//!
//! Owns: reading a policy with positions and the API server's validation ([`policy`]), and
//! evaluating a request against it exactly as the API server's policy checker does
//! ([`eval`]): first matching rule wins, no match is level None, exact comparison of users,
//! groups, verbs and namespaces, the resource patterns `res`, `res/sub`, `*`, `*/sub` and
//! `res/*`, `nonResourceURLs` with a trailing `*`, omitStages unions and the omitManagedFields
//! override.
//!
//! Must not: do I/O, print, or decide what is a finding (mlguard-controls does). Linting,
//! policy generation, volume estimates and the audit trail come with their own issues.

pub mod eval;
pub mod policy;

pub use eval::{Decision, Request};
pub use policy::{Level, Policy, PolicyRule, Stage};
