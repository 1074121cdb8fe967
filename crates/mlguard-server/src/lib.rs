//! mlguard-server: the HTTPS servers of mlguard.
//!
//! Owns: the admission webhook's decisions ([`admission`]): decoding an AdmissionReview
//! (admission.k8s.io/v1) with clear errors for bad input, judging the object with the same
//! controls `mlguard scan` runs (against a context of namespaces, quotas and policies), and the
//! AdmissionResponse (deny message with control IDs, warnings, audit annotations), by the
//! namespace's enforcement mode.
//!
//! Must not: define controls (mlguard-controls does, and exports them as
//! ValidatingAdmissionPolicies) or write to the cluster.
//!
//! Also: the webhook's routes and HTTPS server ([`webhook`]: axum, health, metrics, graceful
//! drain), TLS ([`tls`]: rustls, certificate reload, rcgen certificates), mutations
//! ([`mutate`]), the install manifests ([`manifests`]) and the in-cluster context ([`cache`]:
//! kube watches of namespaces, quotas, policies and RBAC).

pub mod admission;
pub mod audit;
pub mod cache;
pub mod manifests;
pub mod mutate;
pub mod tls;
pub mod webhook;

/// Log to stderr (warnings and above from the servers' own code paths, info for lifecycle).
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}
