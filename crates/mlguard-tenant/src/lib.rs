//! mlguard-tenant: the MLTenant resource (`mlguard.io/v1alpha1`) and what it renders into.
//!
//! Owns: the MLTenant types and reading them strictly with errors at file, line and field
//! ([`spec`]); rendering a tenant into its Namespaces (classification and Pod Security labels),
//! NetworkPolicies (default deny, DNS, job replicas to each other per the collective setting,
//! model storage, serving callers), Roles and RoleBindings (viewer, engineer, admin),
//! ResourceQuota (`requests.` GPU keys), LimitRange, Kueue LocalQueue, SecretProviderClass,
//! and the audit policy entries of its namespaces ([`render`]); the CustomResourceDefinition,
//! generated from the types with CEL rules for what a schema cannot say ([`crd`]).
//!
//! Must not: read files or talk to a cluster (the CLI and the operator do), or judge objects
//! (mlguard-controls does; the tests run the scan over what this renders).

pub mod crd;
pub mod render;
pub mod spec;

pub use render::{audit_namespaces, render};
pub use spec::{read, MLTenantSpec, Tenant};
