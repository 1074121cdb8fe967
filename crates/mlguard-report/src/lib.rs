//! mlguard-report
