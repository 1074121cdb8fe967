//! mlguard-server: the HTTPS servers of mlguard.
//!
//! Owns: the admission webhook's decisions ([`admission`]): decoding an AdmissionReview
//! (admission.k8s.io/v1) with clear errors for bad input, judging the object with the same
//! controls `mlguard scan` runs (against a context of namespaces, quotas and policies), and the
//! AdmissionResponse (deny message with control IDs, warnings, audit annotations), by the
//! namespace's enforcement mode.
//!
//! Must not: define controls (mlguard-controls does) or read the cluster (mlguard-operator's
//! snapshot does).
//!
//! Still to come with the webhook issue: the HTTPS server (rustls, certificate reload,
//! health and metrics, graceful drain), mutations, certificates and manifests.

pub mod admission;
pub mod tls;
pub mod webhook;
