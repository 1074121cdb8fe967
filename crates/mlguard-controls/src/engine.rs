//! The scan: run every check, apply severities and exceptions, summarise per control and clause.

use crate::catalog::{Catalog, State};
use crate::checks::{run_all, Ctx, RawFinding};
use crate::config::Config;
use crate::custom::CustomControls;
use crate::exceptions::{parse_annotation, Date, Exceptions, ANNOTATION};
use crate::model::*;
use mlguard_core::Inventory;
use mlguard_rbac::Rbac;
use std::collections::{BTreeMap, HashMap};

/// Everything a scan needs besides the Inventory.
#[derive(Debug)]
pub struct ScanOptions<'a> {
    pub config: &'a Config,
    pub exceptions: &'a Exceptions,
    pub custom: &'a CustomControls,
    /// The date exceptions are checked against.
    pub today: Date,
    /// Report findings on this object only (an admission decision); checks skip work whose
    /// findings would land elsewhere, and the summary and the list of inputs are left empty
    /// (exceptions in annotations are read, and reported when malformed, on the focus alone).
    pub focus: Option<usize>,
    /// Findings from results outside the manifests (a model scan's results for MLG-MOD-001).
    pub external: Option<&'a ExternalResults>,
}

/// Findings a control draws from results other than Kubernetes objects (the JSON of `mlguard
/// model scan` and `mlguard image scan`): each points at its own resource and location.
#[derive(Debug, Default)]
pub struct ExternalResults {
    pub findings: Vec<ExternalFinding>,
    /// Findings about a container image: they land on every workload whose container runs
    /// that image (at the `image` field), else on their own resource and location.
    pub images: Vec<ImageFinding>,
    /// Items each control looked at (a clean model file counts as evaluated).
    pub evaluated: HashMap<String, usize>,
}

/// A finding about an image, matched to the containers that run it.
#[derive(Debug, Clone)]
pub struct ImageFinding {
    /// The image as the results name it (a reference `registry/repo:tag[@digest]`), and its
    /// manifest digest when known.
    pub reference: String,
    pub digest: Option<String>,
    /// Where the finding lands when no container runs the image.
    pub finding: ExternalFinding,
}

impl ImageFinding {
    /// Does a container's `image` field name this image? The same manifest digest, or (when
    /// the container pins no digest, or the results know none) the same registry, repository
    /// and tag. A container pinned to another digest runs another image.
    pub fn matches(&self, container_image: &str) -> bool {
        let split = |s: &str| -> (String, Option<String>) {
            match s.split_once('@') {
                Some((n, d)) => (n.to_owned(), Some(d.to_owned())),
                None => (s.to_owned(), None),
            }
        };
        let (c_name, c_digest) = split(container_image);
        let (r_name, r_digest_inline) = split(&self.reference);
        let r_digest = self.digest.clone().or(r_digest_inline);
        if let (Some(c), Some(r)) = (&c_digest, &r_digest) {
            return c == r;
        }
        let norm = |n: &str| -> String {
            let (reg, repo) = crate::checks::workload::image_repo(n);
            let last = n.rsplit('/').next().unwrap_or(n);
            let tag = last.split_once(':').map_or("latest", |(_, t)| t);
            format!("{reg}/{repo}:{tag}")
        };
        !r_name.is_empty() && norm(&c_name) == norm(&r_name)
    }
}

#[derive(Debug, Clone)]
pub struct ExternalFinding {
    pub control: String,
    /// The severity of this finding when it differs from the control's.
    pub severity: Option<Severity>,
    pub resource: ResourceRef,
    pub location: Location,
    pub message: String,
}

/// Image findings placed on the containers that run their image (the object, at the image
/// field), or on their own resource when no container does.
fn image_findings(
    inv: &Inventory,
    images: &[ImageFinding],
    focus: Option<usize>,
) -> Vec<(ExternalFinding, Option<usize>)> {
    let mut out = Vec::new();
    let mut placed = vec![false; images.len()];
    for t in inv.all_pod_templates() {
        for c in &t.containers {
            let Some(at) = c.image() else { continue };
            let Some(s) = at.str() else { continue };
            for (k, f) in images.iter().enumerate() {
                if !f.matches(s) {
                    continue;
                }
                placed[k] = true;
                if focus.is_some_and(|o| o != t.object) {
                    continue;
                }
                let o = &inv.objects[t.object];
                let pos = at.pos();
                let mut x = f.finding.clone();
                x.resource = ResourceRef {
                    api_version: o.api_version.clone(),
                    kind: o.kind.clone(),
                    namespace: o.namespace.clone(),
                    name: o.name.clone(),
                };
                x.location = Location {
                    file: inv.file_of(o).to_owned(),
                    line: pos.line,
                    column: pos.column,
                    path: at.path().to_string(),
                };
                x.message = format!("container `{}` runs {}: {}", c.name, s, x.message);
                out.push((x, Some(t.object)));
            }
        }
    }
    if focus.is_none() {
        for (k, f) in images.iter().enumerate() {
            if !placed[k] {
                out.push((f.finding.clone(), None));
            }
        }
    }
    out
}

/// The catalog for a scan: built-in controls plus custom ones.
pub fn catalog_with(custom: &CustomControls) -> Catalog {
    let mut c = Catalog::builtin().clone();
    c.controls.extend(custom.defs().cloned());
    c
}

fn problem(
    file: &str,
    pos: Option<mlguard_core::Pos>,
    field: Option<String>,
    message: String,
) -> InputProblem {
    InputProblem {
        file: file.to_owned(),
        line: pos.map(|p| p.line),
        column: pos.map(|p| p.column),
        field,
        message,
    }
}

/// Facts of an Inventory that a scan would otherwise compute, computed once for scans of
/// inventories that share them: an admission decision judges one object against a context
/// that changes rarely. Valid for a scan of an Inventory whose network policy objects are
/// those the facts were built from, at the same indices and in the same files (the object
/// under review replaces a non-policy object or is appended, and is not a policy).
#[derive(Debug, Default)]
pub struct Prepared {
    /// `mlguard_netpol::policy::read_policies` of the inventory.
    pub policies: (
        std::sync::Arc<Vec<mlguard_netpol::policy::Policy>>,
        Vec<mlguard_core::InputError>,
    ),
}

impl Prepared {
    pub fn new(inv: &Inventory) -> Prepared {
        let (policies, errors) = mlguard_netpol::policy::read_policies(inv);
        Prepared {
            policies: (std::sync::Arc::new(policies), errors),
        }
    }

    /// Whether an object of this kind, added or replaced, changes the facts (a network
    /// policy of any flavour the network analysis reads).
    pub fn changed_by(o: &mlguard_core::Object) -> bool {
        mlguard_netpol::policy::is_policy_kind(o)
    }
}

/// Run the scan.
pub fn scan(inv: &Inventory, opts: &ScanOptions<'_>) -> (Report, Catalog) {
    scan_with_rbac(inv, &Rbac::new(inv), opts)
}

/// Run the scan with the RBAC model of `inv` already built (`Rbac::new(inv)`, or one built
/// from an Inventory with the same RBAC objects at the same indices).
pub fn scan_with_rbac(inv: &Inventory, rbac: &Rbac, opts: &ScanOptions<'_>) -> (Report, Catalog) {
    let catalog = catalog_with(opts.custom);
    let report = scan_inner(inv, rbac, opts, None, &catalog);
    (report, catalog)
}

/// Run the scan with the RBAC model and, when given, facts [`Prepared`] from an Inventory
/// that shares them (see there for when that holds). The report only: without custom
/// controls the built-in catalog is read in place, not copied.
pub fn scan_prepared(
    inv: &Inventory,
    rbac: &Rbac,
    opts: &ScanOptions<'_>,
    prepared: Option<&Prepared>,
) -> Report {
    let owned;
    let catalog = if opts.custom.defs().next().is_none() {
        Catalog::builtin()
    } else {
        owned = catalog_with(opts.custom);
        &owned
    };
    scan_inner(inv, rbac, opts, prepared, catalog)
}

fn scan_inner(
    inv: &Inventory,
    rbac: &Rbac,
    opts: &ScanOptions<'_>,
    prepared: Option<&Prepared>,
    catalog: &Catalog,
) -> Report {
    let mut ctx = Ctx::new(inv, rbac, opts.config);
    ctx.focus = opts.focus;
    ctx.prepared = prepared;
    run_all(&mut ctx);
    opts.custom.run(&mut ctx);
    if let Some(x) = opts.external {
        for (c, n) in &x.evaluated {
            *ctx.evaluated.entry(c.clone()).or_default() += n;
        }
    }
    let mut external: Vec<(ExternalFinding, Option<usize>)> = opts
        .external
        .map(|x| x.findings.iter().map(|f| (f.clone(), None)).collect())
        .unwrap_or_default();
    if let Some(x) = opts.external.filter(|x| !x.images.is_empty()) {
        external.extend(image_findings(inv, &x.images, opts.focus));
    }
    if !ctx.evaluated.contains_key("MLG-IMG-002") {
        ctx.skipped.entry("MLG-IMG-002".to_owned()).or_insert_with(|| {
            "no image scan results given: run `mlguard image scan IMAGE --format json -o R.json` and pass `--image-scan R.json`, or pass `--images OCI_DIR`".to_owned()
        });
    }
    if !ctx.evaluated.contains_key("MLG-MOD-001") {
        ctx.skipped.entry("MLG-MOD-001".to_owned()).or_insert_with(|| {
            "no model scan results given: run `mlguard model scan DIR --format json -o R.json` and pass `--model-scan R.json`".to_owned()
        });
    }
    if let Some(f) = opts.focus {
        ctx.raw.retain(|r| r.object == f);
    }

    let mut errors: Vec<InputProblem> = inv
        .errors
        .iter()
        .chain(&ctx.input_errors)
        .map(|e| problem(&e.file, e.pos, e.field.clone(), e.message.clone()))
        .collect();
    let mut notes: Vec<InputProblem> = inv
        .notes
        .iter()
        .map(|n| problem(&n.file, None, None, n.message.clone()))
        .collect();

    // Exceptions declared in annotations, checked once per object (with a focus, on it
    // alone: no other object's finding is kept).
    let mut annotated: HashMap<usize, Vec<(String, String)>> = HashMap::new();
    for (i, o) in inv.objects.iter().enumerate() {
        if opts.focus.is_some_and(|f| f != i) {
            continue;
        }
        let Some(v) = o.annotation(ANNOTATION) else {
            continue;
        };
        let (ok, bad) = parse_annotation(v);
        let pos = o
            .root
            .at("metadata.annotations")
            .and_then(|a| a.get(ANNOTATION))
            .map(|n| n.pos);
        for b in bad {
            errors.push(problem(
                inv.file_of(o),
                pos,
                Some(format!("metadata.annotations[\"{ANNOTATION}\"]")),
                format!("`{b}` is not `CONTROL-ID=reason`"),
            ));
        }
        for (id, _) in &ok {
            if catalog.get(id).is_none() {
                errors.push(problem(
                    inv.file_of(o),
                    pos,
                    Some(format!("metadata.annotations[\"{ANNOTATION}\"]")),
                    format!("unknown control `{id}` in exception"),
                ));
            }
        }
        annotated.insert(i, ok);
    }
    for e in &opts.exceptions.entries {
        if catalog.get(&e.control).is_none() {
            errors.push(problem(
                &e.file,
                Some(e.pos),
                Some("control".to_owned()),
                format!("unknown control `{}`", e.control),
            ));
        }
    }

    // Raw findings become findings in parallel: severities, resources, locations and
    // exceptions are per finding.
    use rayon::prelude::*;
    let raw = std::mem::take(&mut ctx.raw);
    let build = |RawFinding {
                     control,
                     object,
                     path,
                     pos,
                     message,
                 }| {
        let def = catalog.get(&control)?;
        let o = &inv.objects[object];
        let regulated = o.namespace.as_deref().is_some_and(|n| inv.is_regulated(n));
        let resource = ResourceRef {
            api_version: o.api_version.clone(),
            kind: o.kind.clone(),
            namespace: o.namespace.clone(),
            name: o.name.clone(),
        };
        let mut status = FindingStatus::Failed;
        let mut exception = None;
        let mut message = message;
        let mut used = None;
        if let Some((_, reason)) = annotated
            .get(&object)
            .and_then(|v| v.iter().find(|(id, _)| *id == control))
        {
            status = FindingStatus::Excepted;
            exception = Some(annotation_exception(reason));
        } else if !opts.exceptions.entries.is_empty() {
            if let Some(m) = file_exception(opts, &control, &resource, &o.labels()) {
                (used, exception) = (Some(m.index), Some(m.info));
                status = m.status;
                if let Some(suffix) = m.expired_note {
                    message.push_str(&suffix);
                }
            }
        }
        let finding = Finding {
            title: def.title.clone(),
            severity: def.severity_for(regulated),
            status,
            exception,
            resource,
            location: Location {
                file: inv.file_of(o).to_owned(),
                line: pos.line,
                column: pos.column,
                path: path.to_string(),
            },
            message,
            remediation: def.remediation.clone(),
            frameworks: def.frameworks.clone(),
            control,
        };
        Some((finding, used))
    };
    // Below PAR_MIN (an admission decision's few findings) on this thread: rayon's collect of a
    // filtered iterator goes through a list of vectors.
    let mut built: Vec<(Finding, Option<usize>)> = if raw.len() < mlguard_core::PAR_MIN {
        raw.into_iter().filter_map(build).collect()
    } else {
        raw.into_par_iter().filter_map(build).collect()
    };
    for (x, object) in &external {
        let Some(def) = catalog.get(&x.control) else {
            continue;
        };
        let mut status = FindingStatus::Failed;
        let mut exception = None;
        let mut message = x.message.clone();
        let mut used = None;
        let labels = object.map(|o| inv.objects[o].labels()).unwrap_or_default();
        if let Some((_, reason)) = object
            .and_then(|o| annotated.get(&o))
            .and_then(|v| v.iter().find(|(id, _)| *id == x.control))
        {
            status = FindingStatus::Excepted;
            exception = Some(annotation_exception(reason));
        } else if let Some(m) = file_exception(opts, &x.control, &x.resource, &labels) {
            (used, exception) = (Some(m.index), Some(m.info));
            status = m.status;
            if let Some(suffix) = m.expired_note {
                message.push_str(&suffix);
            }
        }
        built.push((
            Finding {
                control: x.control.clone(),
                title: def.title.clone(),
                severity: x.severity.unwrap_or(def.severity),
                status,
                exception,
                resource: x.resource.clone(),
                location: x.location.clone(),
                message,
                remediation: def.remediation.clone(),
                frameworks: def.frameworks.clone(),
            },
            used,
        ));
    }
    let mut used_file_exceptions = vec![false; opts.exceptions.entries.len()];
    let mut findings = Vec::with_capacity(built.len());
    for (f, used) in built {
        if let Some(i) = used {
            used_file_exceptions[i] = true;
        }
        findings.push(f);
    }
    for (i, used) in used_file_exceptions.iter().enumerate() {
        if !used {
            let e = &opts.exceptions.entries[i];
            notes.push(problem(
                &e.file,
                Some(e.pos),
                None,
                format!("exception for {} matched no finding", e.control),
            ));
        }
    }
    let order = |a: &Finding, b: &Finding| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.control.cmp(&b.control))
            .then_with(|| a.location.cmp(&b.location))
            .then_with(|| a.message.cmp(&b.message))
    };
    if findings.len() < mlguard_core::PAR_MIN {
        findings.sort_by(order);
    } else {
        findings.par_sort_by(order);
    }
    findings.dedup_by(|a, b| {
        a.control == b.control && a.location == b.location && a.message == b.message
    });

    // A focused scan (an admission decision) wants its object's findings, not the per-control
    // summary of a whole scan.
    let summary = if opts.focus.is_some() {
        Summary::default()
    } else {
        summarise(catalog, &findings, &ctx.evaluated, &ctx.skipped)
    };
    let report = Report {
        tool: Tool {
            name: "mlguard".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        inputs: if opts.focus.is_some() {
            Vec::new()
        } else {
            inv.files
                .iter()
                .map(|f| InputFile {
                    file: f.path.clone(),
                    sha256: f.sha256.clone(),
                })
                .collect()
        },
        summary,
        findings,
        errors,
        notes,
        context: std::mem::take(&mut ctx.context),
    };
    report
}

/// A file exception that matched a finding.
struct FileExceptionMatch {
    /// Its index in the exceptions file(s).
    index: usize,
    info: ExceptionInfo,
    /// Excepted, or still failed when the exception expired.
    status: FindingStatus,
    /// What to add to the finding's message when it expired.
    expired_note: Option<String>,
}

/// The exception an object's own annotation grants.
fn annotation_exception(reason: &str) -> ExceptionInfo {
    ExceptionInfo {
        reason: reason.to_owned(),
        expires: None,
        source: format!("annotation {ANNOTATION}"),
        expired: false,
    }
}

fn file_exception(
    opts: &ScanOptions<'_>,
    control: &str,
    resource: &ResourceRef,
    labels: &BTreeMap<String, String>,
) -> Option<FileExceptionMatch> {
    let fe = opts.exceptions.find(control, resource, labels)?;
    let index = opts
        .exceptions
        .entries
        .iter()
        .position(|e| std::ptr::eq(e, fe))?;
    let info = fe.info(opts.today);
    let (status, expired_note) = if info.expired {
        let note = format!(" (exception expired on {}: {})", fe.expires, fe.reason);
        (FindingStatus::Failed, Some(note))
    } else {
        (FindingStatus::Excepted, None)
    };
    Some(FileExceptionMatch {
        index,
        info,
        status,
        expired_note,
    })
}

/// Per-control status and per-clause counts.
pub fn summarise(
    catalog: &Catalog,
    findings: &[Finding],
    evaluated: &HashMap<String, usize>,
    skipped: &HashMap<String, String>,
) -> Summary {
    let mut per: HashMap<&str, (usize, usize)> = HashMap::new();
    for f in findings {
        let e = per.entry(f.control.as_str()).or_default();
        match f.status {
            FindingStatus::Failed => e.0 += 1,
            FindingStatus::Excepted => e.1 += 1,
        }
    }
    let mut controls = Vec::new();
    let mut frameworks: BTreeMap<Framework, BTreeMap<String, ClauseCounts>> = BTreeMap::new();
    for def in &catalog.controls {
        let (failed, excepted) = per.get(def.id.as_str()).copied().unwrap_or_default();
        let n_eval = evaluated.get(&def.id).copied().unwrap_or(0);
        let (status, reason) = match &def.state {
            State::Pending { lands_with } => (
                ControlStatus::NotEvaluated,
                Some(format!(
                    "not implemented in this version (lands with the {lands_with} work)"
                )),
            ),
            _ if failed > 0 => (ControlStatus::Failed, None),
            _ if excepted > 0 => (ControlStatus::Excepted, None),
            _ => match skipped.get(&def.id) {
                Some(why) if n_eval == 0 => (ControlStatus::NotEvaluated, Some(why.clone())),
                _ if n_eval == 0 => (
                    ControlStatus::NotEvaluated,
                    Some("no objects this control applies to in the inputs".to_owned()),
                ),
                _ => (ControlStatus::Passed, None),
            },
        };
        for fw in Framework::ALL {
            for clause in def.frameworks.of(fw) {
                let c = frameworks
                    .entry(fw)
                    .or_default()
                    .entry(clause.clone())
                    .or_default();
                match status {
                    ControlStatus::Passed => c.passed += 1,
                    ControlStatus::Failed => c.failed += 1,
                    ControlStatus::Excepted => c.excepted += 1,
                    ControlStatus::NotEvaluated => c.not_evaluated += 1,
                }
            }
        }
        controls.push(ControlSummary {
            id: def.id.clone(),
            status,
            findings: failed + excepted,
            evaluated: n_eval,
            reason,
        });
    }
    Summary {
        controls,
        frameworks,
    }
}
