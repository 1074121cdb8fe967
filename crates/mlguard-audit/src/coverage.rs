//! Coverage (MLG-AUD-001): is access to ML resources and credentials in a namespace logged at
//! the level the namespace's classification needs?
//!
//! Regulated namespaces (pii, phi, pci): writes of ML resources at RequestResponse, reads at
//! Metadata or above. Others: writes at Request or above, reads at Metadata or above. Secrets
//! and service account tokens: Metadata exactly, everywhere (below loses who read them, above
//! leaks them). Requests are enumerated as in [`crate::probe`], for the users and groups the
//! policy names, an unnamed user, and the namespace's default service account.

use crate::eval::Request;
use crate::index::Compiled;
use crate::lint::effective;
use crate::ml::namespaced_ml_resources;
use crate::policy::Level;
use crate::probe::{describe, Identity, Literals, Space};
use std::collections::BTreeMap;

/// The requests the control asks about, by kind.
const WRITES: &[&str] = &["create", "update", "patch", "delete"];
const READS: &[&str] = &["get", "list"];

/// What a class of requests needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// At least this level.
    AtLeast(Level),
    /// This level exactly.
    Exactly(Level),
}

impl Need {
    fn met_by(self, l: Level) -> bool {
        match self {
            Need::AtLeast(x) => l >= x,
            Need::Exactly(x) => l == x,
        }
    }
}

impl std::fmt::Display for Need {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Need::AtLeast(l) if *l == Level::RequestResponse => write!(f, "{l}"),
            Need::AtLeast(l) => write!(f, "{l} or above"),
            Need::Exactly(l) => write!(f, "{l} exactly"),
        }
    }
}

/// Requests of one class logged below (or, for credentials, other than) what they need, all
/// decided by the same rule.
#[derive(Debug, Clone)]
pub struct Gap {
    /// `writes of ML resources`, `reads of ML resources`, `credentials`.
    pub class: &'static str,
    pub need: Need,
    /// The level they are logged at (after stage omissions).
    pub got: Level,
    /// The deciding rule; `None` when no rule matches.
    pub rule: Option<usize>,
    /// One of them, for the message.
    pub example: Request,
    /// Resources (`pytorchjobs.kubeflow.org`) and verbs involved.
    pub resources: Vec<String>,
    pub verbs: Vec<String>,
    pub requests: usize,
}

/// How one class of requests in a namespace is logged.
#[derive(Debug, Clone)]
pub struct ClassCoverage {
    pub class: &'static str,
    pub need: Need,
    /// The lowest and highest level any of its requests is logged at.
    pub lowest: Level,
    pub highest: Level,
    pub requests: usize,
    /// Requests logged below (or for credentials, other than) the need, by deciding rule.
    pub gaps: Vec<Gap>,
}

impl ClassCoverage {
    pub fn met(&self) -> bool {
        self.gaps.is_empty()
    }
}

/// The gaps of `namespace` under the compiled policy.
pub fn gaps(compiled: &Compiled<'_>, namespace: &str, regulated: bool) -> Vec<Gap> {
    coverage(compiled, namespace, regulated)
        .into_iter()
        .flat_map(|c| c.gaps)
        .collect()
}

/// How each class of requests in `namespace` is logged under the compiled policy.
pub fn coverage(compiled: &Compiled<'_>, namespace: &str, regulated: bool) -> Vec<ClassCoverage> {
    let lits = Literals::of(compiled.policy());
    let mut identities = lits.identities();
    identities.push(Identity::new(
        &format!("system:serviceaccount:{namespace}:default"),
        &[
            "system:serviceaccounts",
            &format!("system:serviceaccounts:{namespace}"),
            "system:authenticated",
        ],
    ));
    let ml: Vec<(String, String, String)> = namespaced_ml_resources()
        .map(|(g, r)| (g.to_owned(), r.to_owned(), String::new()))
        .collect();
    let creds = vec![
        (String::new(), "secrets".to_owned(), String::new()),
        (
            String::new(),
            "serviceaccounts".to_owned(),
            "token".to_owned(),
        ),
    ];
    let write_need = Need::AtLeast(if regulated {
        Level::RequestResponse
    } else {
        Level::Request
    });
    let mut all_verbs: Vec<String> = WRITES
        .iter()
        .chain(READS)
        .map(|v| (*v).to_owned())
        .collect();
    all_verbs.sort();
    type Class = (&'static str, Vec<(String, String, String)>, Vec<String>);
    let classes: [Class; 3] = [
        (
            "writes of ML resources",
            ml.clone(),
            WRITES.iter().map(|v| (*v).to_owned()).collect(),
        ),
        (
            "reads of ML resources",
            ml,
            READS.iter().map(|v| (*v).to_owned()).collect(),
        ),
        ("credentials", creds, all_verbs),
    ];
    let mut out = Vec::new();
    for (class, resources, verbs) in classes {
        let need = match class {
            "writes of ML resources" => write_need,
            "reads of ML resources" => Need::AtLeast(Level::Metadata),
            _ => Need::Exactly(Level::Metadata),
        };
        let space = Space {
            identities: identities.clone(),
            verbs,
            namespaces: vec![namespace.to_owned()],
            resources,
            names: lits.names_all(),
        };
        let mut by: BTreeMap<(Option<usize>, Level), Gap> = BTreeMap::new();
        let (mut lowest, mut highest, mut requests) = (Level::RequestResponse, Level::None, 0);
        space.for_each(|req| {
            let d = compiled.eval(req);
            let got = effective(d.level, &d.omit_stages);
            lowest = lowest.min(got);
            highest = highest.max(got);
            requests += 1;
            if !need.met_by(got) {
                let g = by.entry((d.rule, got)).or_insert_with(|| Gap {
                    class,
                    need,
                    got,
                    rule: d.rule,
                    example: req.clone(),
                    resources: Vec::new(),
                    verbs: Vec::new(),
                    requests: 0,
                });
                g.requests += 1;
                let res = if req.api_group.is_empty() {
                    req.resource.clone()
                } else {
                    format!("{}.{}", req.resource, req.api_group)
                };
                let res = if req.subresource.is_empty() {
                    res
                } else {
                    format!("{res}/{}", req.subresource)
                };
                if !g.resources.contains(&res) {
                    g.resources.push(res);
                }
                if !g.verbs.contains(&req.verb) {
                    g.verbs.push(req.verb.clone());
                }
            }
            true
        });
        out.push(ClassCoverage {
            class,
            need,
            lowest,
            highest,
            requests,
            gaps: by.into_values().collect(),
        });
    }
    out
}

impl Gap {
    /// A one-line account: what, how it is logged, what it needs.
    pub fn message(&self, namespace: &str, classification: &str) -> String {
        let mut res = self.resources.clone();
        let more = res.len().saturating_sub(4);
        res.truncate(4);
        let res = if more > 0 {
            format!("{} and {more} more", res.join(", "))
        } else {
            res.join(", ")
        };
        let by = match self.rule {
            Some(i) => format!("rule {i}"),
            None => "no rule (nothing matches)".to_owned(),
        };
        format!(
            "namespace {namespace} ({classification}): {} ({}; verbs {}) are logged at {} by {by}, e.g. {}; they need {}",
            self.class,
            res,
            self.verbs.join(", "),
            self.got,
            describe(&self.example),
            self.need
        )
    }
}
