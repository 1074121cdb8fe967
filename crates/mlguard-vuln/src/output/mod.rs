//! Renderings of a [`crate::scan::ScanReport`] for other tools (being written).
