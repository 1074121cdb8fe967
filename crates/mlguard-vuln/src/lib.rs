//! mlguard-vuln: which known vulnerabilities affect the packages of an ML image.
//!
//! Owns:
//! - version schemes (`version::pypi`, PEP 440 with mlguard's rule for local versions like
//!   `2.1.0+cu121`; `version::debian`, dpkg's ordering) and OSV records with their evaluation
//!   (`osv`: ranges with introduced/fixed/last_affected/limit events, explicit version lists,
//!   withdrawn records, aliases) and severities (`severity`: GitHub ratings, CVSS v3 scores);
//! - the package inventory (`inventory`: Python, conda, dpkg, apk records; `cuda`: NVIDIA
//!   components) and image reading (`image`: OCI layouts, docker archives, root filesystems,
//!   layers streamed with whiteouts and digest checks; `registry`: pulls over the OCI
//!   distribution API);
//! - the local database (`db`), the scan result document (`scan`, `mlguard.image-scan/v1`) and
//!   its renderings and VEX (`output`: SARIF, CycloneDX, OpenVEX/CycloneDX VEX).
//!
//! Must not touch: Kubernetes objects and controls (mlguard-controls), terminal output and exit
//! codes (the `mlguard` binary), and the network, except `registry` (image pulls, and
//! `get_url` for `vuln db import URL`).

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
