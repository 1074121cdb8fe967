//! mlguard-netpol: NetworkPolicy v1 and ClusterNetworkPolicy semantics (Admin tier, then
//! NetworkPolicy, then Baseline, then default allow; AdminNetworkPolicy and
//! BaselineAdminNetworkPolicy v1alpha1 read as legacy input mapped onto it).
//!
//! Owns: reading policies with the API server's validation ([`policy`]), the pods and
//! workloads they apply to ([`network`]), the connectivity engine ([`engine`]), the
//! connectivity list and its formats ([`connlist`]), `explain` ([`explain`]), intents and the
//! built-in `training-isolation` set ([`intents`]) and `diff` ([`diff`]).
//!
//! Must not: do I/O (callers hand it an [`mlguard_core::Inventory`] and get values back),
//! print, or decide what is a finding (mlguard-controls does, on top of this crate).
//!
//! hostNetwork pods are outside NetworkPolicy: no policy selects them, as subject or as pod
//! peer (only ipBlocks covering their address match them); they are listed in
//! [`network::Network::warnings`] and never shown as isolated.

pub mod connlist;
pub mod diff;

pub mod engine;
pub mod explain;
pub mod intents;

pub mod ip;
pub mod network;
pub mod policy;
pub mod ports;

pub use connlist::{connectivity, Connection, Format, Node as Endpoint};
pub use engine::Analysis;
pub use network::{HostNetwork, Level, Network};
pub use ports::{Conns, PortSet, Protocol};

/// The next number of a xorshift64 sequence: the tests' deterministic random sets, without a
/// dependency.
#[cfg(test)]
pub(crate) fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}
