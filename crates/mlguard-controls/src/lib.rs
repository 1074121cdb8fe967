//! mlguard-controls
