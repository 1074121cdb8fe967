//! mlguard-controls: the control catalog, the built-in checks over the Inventory, CEL custom
//! controls, exceptions and the findings model.
//!
//! Owns: `data/catalog.yaml` (the catalog as data), every judgement of the scan, the
//! [`model::Report`] type every renderer consumes, and the object-local controls written as
//! CEL for ValidatingAdmissionPolicies ([`vap`]).
//!
//! Must not: read input files (mlguard-core does), render output (mlguard-report does), or
//! print anything.

pub mod catalog;
pub mod checks;
pub mod config;
pub mod custom;
pub mod engine;
pub mod exceptions;
pub mod model;
pub mod vap;

pub use catalog::{Catalog, CatalogError, ControlDef, State};
pub use config::Config;
pub use custom::CustomControls;
pub use engine::{
    scan, scan_prepared, scan_with_rbac, ExternalFinding, ExternalResults, ImageFinding, Prepared,
    ScanOptions,
};
pub use exceptions::{Date, Exceptions};
pub use model::*;
