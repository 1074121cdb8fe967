//! Built-in checks. Each function implements one or a few related controls and reports through
//! [`Ctx`]: `ctx.eval(ID)` for each object a control looked at, `ctx.emit(...)` for a violation.

pub mod audit;
pub mod namespace;
pub mod network;
pub mod rbac;
pub mod signing;
pub mod workload;

use crate::config::{Config, Scope};
use mlguard_core::inventory::PodTemplate;
use mlguard_core::node::{At, PathBuf, Pos};
use mlguard_core::Inventory;
use mlguard_rbac::Rbac;
use std::collections::HashMap;

/// A violation before exceptions and severities are applied.
#[derive(Debug, Clone)]
pub struct RawFinding {
    pub control: String,
    pub object: usize,
    pub path: PathBuf,
    pub pos: Pos,
    pub message: String,
}

/// What checks see and where they report.
pub struct Ctx<'a> {
    pub inv: &'a Inventory,
    pub rbac: &'a Rbac,
    pub cfg: &'a Config,
    /// Every pod template, ordered by object; shared by parallel workers.
    pub templates: std::sync::Arc<Vec<PodTemplate<'a>>>,
    pub raw: Vec<RawFinding>,
    pub evaluated: HashMap<String, usize>,
    /// Controls that could not be evaluated in this scan, with the reason.
    pub skipped: HashMap<String, String>,
    /// Input errors found by analyses (policies the API server would reject).
    pub input_errors: Vec<mlguard_core::InputError>,
    /// Sections for the report's `context` (evidence beyond findings), by name.
    pub context: serde_json::Map<String, serde_json::Value>,
    /// Only findings on this object are wanted (an admission decision): checks may skip
    /// work whose findings would land on other objects.
    pub focus: Option<usize>,
    /// Facts of the inventory computed before the scan (an admission decision's context).
    pub prepared: Option<&'a crate::engine::Prepared>,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("raw", &self.raw.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Ctx<'a> {
    pub fn new(inv: &'a Inventory, rbac: &'a Rbac, cfg: &'a Config) -> Self {
        Self {
            inv,
            rbac,
            cfg,
            templates: std::sync::Arc::new(inv.all_pod_templates()),
            raw: Vec::new(),
            evaluated: HashMap::new(),
            skipped: HashMap::new(),
            input_errors: Vec::new(),
            context: serde_json::Map::new(),
            focus: None,
            prepared: None,
        }
    }

    /// Whether findings on `object` are wanted (always, unless the scan has a focus).
    pub fn wants(&self, object: usize) -> bool {
        self.focus.is_none_or(|f| f == object)
    }

    /// Count one object looked at by `control`.
    pub fn eval(&mut self, control: &str) {
        // The counts make the summary, which a focused scan leaves empty.
        if self.focus.is_some() {
            return;
        }
        match self.evaluated.get_mut(control) {
            Some(n) => *n += 1,
            None => {
                self.evaluated.insert(control.to_owned(), 1);
            }
        }
    }

    pub fn emit(&mut self, control: &str, object: usize, at: &At<'_>, message: impl Into<String>) {
        self.raw.push(RawFinding {
            control: control.to_owned(),
            object,
            path: at.path(),
            pos: at.pos(),
            message: message.into(),
        });
    }

    /// A context with the same inputs and empty results, for one parallel worker.
    pub fn fork(&self) -> Ctx<'a> {
        Ctx {
            inv: self.inv,
            rbac: self.rbac,
            cfg: self.cfg,
            templates: self.templates.clone(),
            raw: Vec::new(),
            evaluated: HashMap::new(),
            skipped: HashMap::new(),
            input_errors: Vec::new(),
            context: serde_json::Map::new(),
            focus: self.focus,
            prepared: self.prepared,
        }
    }

    /// Take over a worker's results.
    pub fn merge(&mut self, other: Ctx<'a>) {
        self.raw.extend(other.raw);
        for (k, v) in other.evaluated {
            *self.evaluated.entry(k).or_default() += v;
        }
        for (k, v) in other.skipped {
            self.skipped.entry(k).or_insert(v);
        }
        self.input_errors.extend(other.input_errors);
        self.context.extend(other.context);
    }

    /// The pod templates of object `idx` (templates are ordered by object).
    pub fn templates_of(&self, idx: usize) -> &[PodTemplate<'a>] {
        let start = self.templates.partition_point(|t| t.object < idx);
        let end = self.templates.partition_point(|t| t.object <= idx);
        &self.templates[start..end]
    }

    /// Objects of `kind` in namespaces workload controls look at.
    pub fn objects_in_scope(&self, kind: &str) -> Vec<usize> {
        self.inv
            .objects_of(kind)
            .filter(|(_, o)| self.in_scope(o.namespace.as_deref()))
            .map(|(i, _)| i)
            .collect()
    }

    /// Objects of `kind` in ML namespaces.
    pub fn objects_in_ml(&self, kind: &str) -> Vec<usize> {
        self.inv
            .objects_of(kind)
            .filter(|(_, o)| {
                o.namespace
                    .as_deref()
                    .is_some_and(|n| self.inv.is_ml_namespace(n))
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Whether workload controls look at namespace `ns`.
    pub fn in_scope(&self, ns: Option<&str>) -> bool {
        match ns {
            Some(ns) => self.cfg.scope == Scope::All || self.inv.is_ml_namespace(ns),
            None => false,
        }
    }

    pub fn ns_of(&self, object: usize) -> Option<&'a str> {
        self.inv.objects[object].namespace.as_deref()
    }

    /// Where to point a namespace-level finding: the Namespace object when one was read, else
    /// the first object of the namespace.
    pub fn namespace_anchor(&self, ns: &str) -> Option<usize> {
        self.inv.namespace(ns).and_then(|n| n.object).or_else(|| {
            self.inv
                .objects
                .iter()
                .position(|o| o.namespace.as_deref() == Some(ns))
        })
    }
}

/// Run every built-in check.
pub fn run_all(ctx: &mut Ctx<'_>) {
    // Workload checks (parallel over templates) and namespace checks run side by side.
    let (mut w, mut n, mut r) = (ctx.fork(), ctx.fork(), ctx.fork());
    let network = |r: &mut Ctx<'_>| {
        let errs = network::run(r);
        r.input_errors.extend(errs);
    };
    // With a focus (an admission decision) the work is small whatever the context's size,
    // and a join would hand it to rayon's pool and wait for it there.
    if ctx.focus.is_some() || ctx.inv.objects.len() < mlguard_core::PAR_MIN {
        workload::run(&mut w);
        namespace::run(&mut n);
        network(&mut r);
    } else {
        rayon::join(
            || rayon::join(|| workload::run(&mut w), || namespace::run(&mut n)),
            || network(&mut r),
        );
    }
    ctx.merge(w);
    ctx.merge(n);
    ctx.merge(r);
    rbac::run(ctx);
    let errs = audit::run(ctx);
    ctx.input_errors.extend(errs);
}
