//! mlguard-controls: the control catalog, the built-in checks over the Inventory, CEL custom
//! controls, exceptions and the findings model.
//!
//! Owns: `data/catalog.yaml` (the catalog as data), every judgement of the scan, and the
//! [`model::Report`] type every renderer consumes.
//!
//! Must not: read input files (mlguard-core does), render output (mlguard-report does), or
//! print anything.

pub mod catalog;
pub mod model;

pub use catalog::{Catalog, CatalogError, ControlDef, State};
pub use model::*;
