//! mlguard-rbac
