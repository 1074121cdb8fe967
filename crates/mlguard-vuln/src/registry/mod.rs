//! Pulling an image's manifest, config and layers from a registry over the OCI distribution
//! API (being written).
