//! Shared by the oracle tests: where the netpol-analyzer oracle is, and which folders apply.

#![allow(dead_code)]

use mlguard_core::{load, Inventory, LoadOptions};
use std::path::{Path, PathBuf};

/// Kinds we do not model: a folder holding one is outside the applicable set.
pub const EXCLUDED_KINDS: &[&str] = &[
    "Route",
    "Ingress",
    "NetworkAttachmentDefinition",
    "UserDefinedNetwork",
    "ClusterUserDefinedNetwork",
    "VirtualMachine",
    "VirtualMachineInstance",
    "MultiNetworkPolicy",
];

/// ../shared/oracles/netpol-analyzer, when present.
pub fn oracle() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/oracles/netpol-analyzer");
    if !p.is_dir() {
        assert!(
            std::env::var_os("MLGUARD_REQUIRE_TOOLS").is_none(),
            "../shared/oracles/netpol-analyzer is missing"
        );
        eprintln!("skipped: ../shared/oracles/netpol-analyzer not present");
    }
    p.is_dir().then_some(p)
}

/// The inventory of a folder, or None when it holds a kind we do not model.
pub fn applicable_inventory(dir: &Path) -> Option<Inventory> {
    let loaded = load(
        &[dir.to_string_lossy().into_owned()],
        &LoadOptions::default(),
    );
    let inv = Inventory::new(loaded, "default");
    (!inv
        .objects
        .iter()
        .any(|o| EXCLUDED_KINDS.contains(&o.kind.as_str())))
    .then_some(inv)
}
