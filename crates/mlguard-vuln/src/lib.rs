//! mlguard-vuln: which known vulnerabilities affect the packages of an ML image.
//!
//! Owns: version schemes (`version::pypi`, PEP 440 with mlguard's rule for local versions like
//! `2.1.0+cu121`; `version::debian`, dpkg's ordering) and OSV records with their evaluation
//! (`osv`: ranges with introduced/fixed/last_affected/limit events, explicit version lists,
//! withdrawn records, aliases). This version has no image reading, package inventory or local
//! database yet (issue 9 builds them on these pieces).
//!
//! Must not touch: Kubernetes objects and controls (mlguard-controls), terminal output and exit
//! codes (the `mlguard` binary), and the network: records are given to it.

pub mod cuda;
pub mod db;
pub mod image;
pub mod inventory;
pub mod osv;
pub mod output;
pub mod registry;
pub mod scan;
pub mod severity;
pub mod version;
