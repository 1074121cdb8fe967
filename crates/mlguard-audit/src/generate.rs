//! Generating a production audit policy for ML namespaces.
//!
//! Order matters (the first matching rule wins), so the policy is written from the most
//! specific to the most general: None for the system's own noise; Metadata for credentials,
//! never their bodies; RequestResponse for writes of ML objects in regulated namespaces, listed
//! by name; Request for those writes elsewhere; Metadata for reads of ML objects; a Metadata
//! catch-all. `omitStages: [RequestReceived]` halves the event count. The result lints clean
//! (a test holds it to that).

use crate::ml::{ML_RESOURCES, READ_VERBS, WRITE_VERBS};
use std::fmt::Write;

/// Classifications a namespace can have (`mlguard.io/data-classification`).
pub const CLASSIFICATIONS: &[&str] = &["public", "internal", "confidential", "pii", "phi", "pci"];

/// Whether `class` needs request and response bodies of writes.
pub fn is_regulated(class: &str) -> bool {
    matches!(class, "pii" | "phi" | "pci")
}

/// A namespace and its classification, from `NAME=CLASSIFICATION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceClass {
    pub name: String,
    pub classification: String,
    /// Log writes of ML objects with request and response bodies: true for regulated
    /// classifications, and when a tenant asks for it.
    pub request_response: bool,
}

impl std::str::FromStr for NamespaceClass {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let Some((name, class)) = s.split_once('=') else {
            return Err(format!(
                "`{s}`: expected NAME=CLASSIFICATION (e.g. team-a=phi)"
            ));
        };
        let valid_name = !name.is_empty()
            && name.len() <= 63
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if !valid_name {
            return Err(format!(
                "`{name}` is not a namespace name (lowercase letters, digits and `-`, at most 63)"
            ));
        }
        if !CLASSIFICATIONS.contains(&class) {
            return Err(format!(
                "`{class}` is not a classification ({})",
                CLASSIFICATIONS.join(", ")
            ));
        }
        Ok(NamespaceClass {
            name: name.to_owned(),
            classification: class.to_owned(),
            request_response: is_regulated(class),
        })
    }
}

fn quoted(items: &[&str]) -> String {
    let q: Vec<String> = items.iter().map(|s| format!("\"{s}\"")).collect();
    format!("[{}]", q.join(", "))
}

fn ml_resources(out: &mut String, namespaced_only: bool) {
    out.push_str("    resources:\n");
    for (group, resources) in ML_RESOURCES {
        let rs: Vec<&str> = resources
            .iter()
            .copied()
            .filter(|r| !namespaced_only || !r.starts_with("cluster"))
            .collect();
        let _ = writeln!(
            out,
            "      - group: \"{group}\"\n        resources: {}",
            quoted(&rs)
        );
    }
}

const NOISE_AND_CREDENTIALS: &str = r#"# Rules are tried in order and the first match wins: keep specific rules above general ones.
apiVersion: audit.k8s.io/v1
kind: Policy
# Each request is logged once, when its response completes.
omitStages: ["RequestReceived"]
rules:
  # 1. The system's own noise is not logged.
  - level: None
    users: ["system:kube-proxy"]
    verbs: ["watch"]
    resources:
      - group: ""
        resources: ["endpoints", "services", "services/status"]
      - group: "discovery.k8s.io"
        resources: ["endpointslices"]
  - level: None
    userGroups: ["system:nodes"]
    verbs: ["get", "list", "watch"]
    resources:
      - group: ""
        resources: ["nodes", "nodes/status"]
  - level: None
    userGroups: ["system:nodes"]
    verbs: ["get", "update"]
    resources:
      - group: "coordination.k8s.io"
        resources: ["leases"]
  - level: None
    users: ["system:kube-controller-manager", "system:kube-scheduler"]
    verbs: ["get", "update"]
    resources:
      - group: "coordination.k8s.io"
        resources: ["leases"]
  - level: None
    verbs: ["create", "update", "patch"]
    resources:
      - group: ""
        resources: ["events"]
      - group: "events.k8s.io"
        resources: ["events"]
  - level: None
    nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/version"]
  # 2. Credentials: who touched them, never their contents.
  - level: Metadata
    resources:
      - group: ""
        resources: ["secrets", "configmaps", "serviceaccounts/token"]
      - group: "authentication.k8s.io"
        resources: ["tokenreviews"]
"#;

/// The policy for `namespaces`, as YAML text.
pub fn generate(namespaces: &[NamespaceClass]) -> String {
    let mut regulated: Vec<&str> = namespaces
        .iter()
        .filter(|n| n.request_response)
        .map(|n| n.name.as_str())
        .collect();
    regulated.sort_unstable();
    regulated.dedup();
    let mut out = String::new();
    out.push_str(
        "# Audit policy for ML workloads, generated by `mlguard audit policy generate`.\n",
    );
    if !namespaces.is_empty() {
        out.push_str("# Namespaces:");
        for n in namespaces {
            let _ = write!(out, " {}={}", n.name, n.classification);
            if n.request_response && !is_regulated(&n.classification) {
                out.push_str("(RequestResponse)");
            }
        }
        out.push('\n');
    }
    out.push_str(NOISE_AND_CREDENTIALS);
    let writes = quoted(WRITE_VERBS);
    if !regulated.is_empty() {
        out.push_str(
            "  # 3. Writes of ML objects in regulated namespaces (pii, phi, pci): request and response bodies.\n",
        );
        let _ = writeln!(
            out,
            "  - level: RequestResponse\n    verbs: {writes}\n    namespaces: {}",
            quoted(&regulated)
        );
        ml_resources(&mut out, true);
    }
    out.push_str("  # 4. Writes of ML objects elsewhere: request bodies.\n");
    let _ = writeln!(out, "  - level: Request\n    verbs: {writes}");
    ml_resources(&mut out, false);
    out.push_str("  # 5. Reads of ML objects: who read what, without bodies.\n");
    let _ = writeln!(
        out,
        "  - level: Metadata\n    verbs: {}",
        quoted(READ_VERBS)
    );
    ml_resources(&mut out, false);
    out.push_str("  # 6. Everything else: who did what, without bodies.\n  - level: Metadata\n");
    out
}
