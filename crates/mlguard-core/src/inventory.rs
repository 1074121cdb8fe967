//! The Inventory: every object read, indexed, with the pod templates of every workload kind the
//! control catalog names, namespaces (declared or implied) and their classification.

use crate::load::{InputError, Loaded, Note, Object, SourceFile};
use crate::node::{At, Node};
use crate::FastMap as HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub const LABEL_TENANT: &str = "mlguard.io/tenant";
pub const LABEL_CLASSIFICATION: &str = "mlguard.io/data-classification";
pub const LABEL_NS_NAME: &str = "kubernetes.io/metadata.name";

/// Data classification of a namespace (`mlguard.io/data-classification`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Classification {
    Public,
    Internal,
    Confidential,
    Pii,
    Phi,
    Pci,
}

impl Classification {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "public" => Self::Public,
            "internal" => Self::Internal,
            "confidential" => Self::Confidential,
            "pii" => Self::Pii,
            "phi" => Self::Phi,
            "pci" => Self::Pci,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Internal => "internal",
            Self::Confidential => "confidential",
            Self::Pii => "pii",
            Self::Phi => "phi",
            Self::Pci => "pci",
        }
    }

    /// pii, phi and pci are regulated.
    pub fn is_regulated(self) -> bool {
        matches!(self, Self::Pii | Self::Phi | Self::Pci)
    }

    /// Ordering used to compare data with namespaces: regulated above confidential above
    /// internal above public.
    pub fn rank(self) -> u8 {
        match self {
            Self::Public => 0,
            Self::Internal => 1,
            Self::Confidential => 2,
            Self::Pii | Self::Phi | Self::Pci => 3,
        }
    }
}

/// What a workload is for; decides which controls apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkloadClass {
    Training,
    Serving,
    Notebook,
    Ray,
    Other,
}

impl WorkloadClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Training => "training",
            Self::Serving => "serving",
            Self::Notebook => "notebook",
            Self::Ray => "ray",
            Self::Other => "other",
        }
    }

    pub fn is_ml(self) -> bool {
        !matches!(self, Self::Other)
    }
}

/// A namespace, declared by a Namespace object or implied by objects in it.
#[derive(Debug, Clone)]
pub struct Namespace {
    pub name: String,
    /// Index of the Namespace object, if one was read.
    pub object: Option<usize>,
    /// Labels, with `kubernetes.io/metadata.name` synthesized as the API server does.
    pub labels: BTreeMap<String, String>,
}

impl Namespace {
    pub fn classification(&self) -> Classification {
        self.labels
            .get(LABEL_CLASSIFICATION)
            .and_then(|v| Classification::parse(v))
            .unwrap_or(Classification::Internal)
    }

    pub fn tenant(&self) -> Option<&str> {
        self.labels.get(LABEL_TENANT).map(String::as_str)
    }
}

/// One container-like entry of a pod template.
#[derive(Debug, Clone)]
pub struct Container<'a> {
    pub at: At<'a>,
    pub name: String,
    /// `initContainers` (and ephemeral containers).
    pub init: bool,
    /// The key under which this container keeps its resources (`resources`, or
    /// `resourcesPerNode` for a TrainJob trainer).
    pub resources_key: &'static str,
}

impl<'a> Container<'a> {
    pub fn image(&self) -> Option<At<'a>> {
        self.at.get("image")
    }

    pub fn resources(&self) -> Option<At<'a>> {
        self.at.get(self.resources_key)
    }
}

/// A pod template inside a workload object.
#[derive(Debug, Clone)]
pub struct PodTemplate<'a> {
    /// Index of the owning object in the Inventory.
    pub object: usize,
    /// Replica role, worker group or component (`Master`, `Worker`, `predictor`...).
    pub role: Option<String>,
    pub class: WorkloadClass,
    /// The template's metadata (labels of the pods), when the kind has one.
    pub meta: Option<At<'a>>,
    /// The pod spec (or the inline pod-spec-like node).
    pub spec: At<'a>,
    pub containers: Vec<Container<'a>>,
    /// [`Inventory::pod_labels`], computed on first use (the network and namespace checks
    /// both read them).
    labels: std::sync::OnceLock<Arc<BTreeMap<String, String>>>,
}

impl PodTemplate<'_> {
    pub fn spec_bool(&self, key: &str) -> Option<bool> {
        self.spec.node.get(key).and_then(Node::as_bool)
    }
}

/// Everything read, indexed.
///
/// A copy shares the namespaces and the lookup indexes with its original (behind `Arc`s),
/// and a few objects added to a copy (the admission webhook adds the object under review to
/// a copy of its context, for every request) are found by a scan of those objects instead of
/// being entered in the shared indexes, so neither is copied. The test
/// `extended_copies_answer_as_rebuilt_ones` compares such a copy with an Inventory built
/// afresh from the same objects.
#[derive(Debug, Default, Clone)]
pub struct Inventory {
    pub files: Vec<SourceFile>,
    pub objects: Vec<Object>,
    pub errors: Vec<InputError>,
    pub notes: Vec<Note>,
    pub namespaces: Arc<BTreeMap<String, Namespace>>,
    index: Arc<Index>,
    /// The objects `index` holds: `objects[..indexed]`. Later ones are looked up by a scan.
    indexed: usize,
    ml: Arc<MlNamespaces>,
    /// Namespaces objects added to a copy made ML, kept apart from the shared `ml` (see
    /// [`Inventory::extend`]): ML namespaces are `ml.names` and these.
    ml_added: BTreeSet<String>,
}

/// Lookup indexes of an Inventory's objects.
#[derive(Debug, Default, Clone)]
struct Index {
    by_kind: HashMap<String, Vec<usize>>,
    by_name: HashMap<(String, String, String), usize>,
    by_kind_ns: HashMap<(String, String), Vec<usize>>,
}

impl Index {
    /// Enter object `o`, at index `i`.
    fn enter(&mut self, o: &Object, i: usize) {
        self.by_kind.entry(o.kind.clone()).or_default().push(i);
        if let Some(ns) = &o.namespace {
            self.by_kind_ns
                .entry((o.kind.clone(), ns.clone()))
                .or_default()
                .push(i);
        }
        self.by_name.insert(
            (
                o.kind.clone(),
                o.namespace.clone().unwrap_or_default(),
                o.name.clone(),
            ),
            i,
        );
    }
}

/// The ML namespaces and what makes them.
#[derive(Debug, Default, Clone)]
struct MlNamespaces {
    names: BTreeSet<String>,
    /// Namespaces an object makes ML (an ML kind, a GPU request): with the tenant label,
    /// what `names` is made of.
    by_object: BTreeSet<String>,
}

/// At most this many objects added to a copy of an Inventory are looked up by a scan rather
/// than entered in its (then copied) indexes.
const SCANNED_MAX: usize = 16;

/// Whether an object's kind may carry a pod template: false for every kind of the core group
/// but Pod, ReplicationController and PodTemplate, and for every kind of the built-in groups
/// that hold no workloads (RBAC, networking, policy, storage...). Kinds of other groups (apps,
/// batch and every custom resource) may.
pub fn may_hold_pod_template(o: &Object) -> bool {
    match o.group() {
        "" => matches!(
            o.kind.as_str(),
            "Pod" | "ReplicationController" | "PodTemplate"
        ),
        "rbac.authorization.k8s.io"
        | "networking.k8s.io"
        | "policy.networking.k8s.io"
        | "policy"
        | "storage.k8s.io"
        | "scheduling.k8s.io"
        | "coordination.k8s.io"
        | "admissionregistration.k8s.io"
        | "apiextensions.k8s.io"
        | "certificates.k8s.io"
        | "node.k8s.io"
        | "discovery.k8s.io"
        | "audit.k8s.io" => false,
        _ => true,
    }
}

/// Kinds that are not namespaced (an object of these kinds has no namespace).
pub fn is_cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "Node"
            | "PersistentVolume"
            | "StorageClass"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "CustomResourceDefinition"
            | "ValidatingWebhookConfiguration"
            | "MutatingWebhookConfiguration"
            | "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding"
            | "MutatingAdmissionPolicy"
            | "MutatingAdmissionPolicyBinding"
            | "PriorityClass"
            | "RuntimeClass"
            | "IngressClass"
            | "APIService"
            | "CSIDriver"
            | "DeviceClass"
            | "ClusterNetworkPolicy"
            | "AdminNetworkPolicy"
            | "BaselineAdminNetworkPolicy"
            | "ClusterTrainingRuntime"
            | "ClusterServingRuntime"
            | "ClusterStorageContainer"
            | "ClusterQueue"
            | "ResourceFlavor"
            | "ClusterPolicyReport"
            | "MLTenant"
            | "Policy" // audit.k8s.io Policy is a file, not an API object
    )
}

/// The Kubeflow training-operator job kinds and the key holding their replica specs.
fn kubeflow_replica_key(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "PyTorchJob" => "pytorchReplicaSpecs",
        "TFJob" => "tfReplicaSpecs",
        "MPIJob" => "mpiReplicaSpecs",
        "XGBoostJob" => "xgbReplicaSpecs",
        "PaddleJob" => "paddleReplicaSpecs",
        "JAXJob" => "jaxReplicaSpecs",
        _ => return None,
    })
}

/// KServe predictor framework keys: each is a single container.
pub const KSERVE_FRAMEWORKS: &[&str] = &[
    "model",
    "sklearn",
    "xgboost",
    "tensorflow",
    "pytorch",
    "triton",
    "onnx",
    "pmml",
    "lightgbm",
    "paddle",
    "huggingface",
    "alibi",
    "art",
];

/// Whether `kind` (in `group`) is one of the ML kinds of CONTROLS.md.
pub fn is_ml_kind(group: &str, kind: &str) -> bool {
    match group {
        "kubeflow.org" => kubeflow_replica_key(kind).is_some() || kind == "Notebook",
        "trainer.kubeflow.org" => matches!(
            kind,
            "TrainJob" | "TrainingRuntime" | "ClusterTrainingRuntime"
        ),
        "serving.kserve.io" => matches!(
            kind,
            "InferenceService" | "LLMInferenceService" | "InferenceGraph" | "ServingRuntime"
        ),
        "ray.io" => matches!(kind, "RayCluster" | "RayJob" | "RayService"),
        _ => false,
    }
}

impl Inventory {
    /// Build from loaded inputs. Objects without a namespace that are namespaced get
    /// `default_namespace` (as `kubectl apply` would).
    pub fn new(loaded: Loaded, default_namespace: &str) -> Self {
        let mut inv = Inventory::default();
        inv.extend(loaded, default_namespace);
        inv
    }

    /// Add more loaded inputs, as if they had come after the ones already here: the result is
    /// the Inventory [`Inventory::new`] builds from both (its errors in another order), but
    /// only the new objects are indexed and type-checked (the admission webhook adds the
    /// object under review to its prepared context this way). Objects without a namespace
    /// that are namespaced get `default_namespace`.
    pub fn extend(&mut self, loaded: Loaded, default_namespace: &str) {
        let Loaded {
            files,
            mut objects,
            errors,
            notes,
        } = loaded;
        let start = self.objects.len();
        let file_base = self.files.len();
        for o in &mut objects {
            o.file += file_base;
            if o.namespace.is_none() && !is_cluster_scoped(&o.kind) {
                o.namespace = Some(default_namespace.to_owned());
            }
        }
        self.files.extend(files);
        self.objects.extend(objects);
        self.errors.extend(errors);
        self.notes.extend(notes);
        // Indexes shared with another copy stay as they are for a few new objects (they are
        // then found by a scan); otherwise every object not yet indexed is entered.
        let shared = Arc::strong_count(&self.index) > 1;
        if !shared || self.objects.len() - self.indexed > SCANNED_MAX {
            let index = Arc::make_mut(&mut self.index);
            for i in self.indexed..self.objects.len() {
                index.enter(&self.objects[i], i);
            }
            self.indexed = self.objects.len();
        }
        // Namespace objects, and namespaces only implied by their objects (a later Namespace
        // object replaces one).
        let mut namespaces_changed = false;
        for i in start..self.objects.len() {
            let o = &self.objects[i];
            if o.kind == "Namespace" && o.api_version == "v1" {
                let mut labels = o.labels();
                labels.insert(LABEL_NS_NAME.to_owned(), o.name.clone());
                let ns = Namespace {
                    name: o.name.clone(),
                    object: Some(i),
                    labels,
                };
                Arc::make_mut(&mut self.namespaces).insert(o.name.clone(), ns);
                namespaces_changed = true;
            }
        }
        for i in start..self.objects.len() {
            if let Some(ns) = &self.objects[i].namespace {
                if !self.namespaces.contains_key(ns) {
                    Arc::make_mut(&mut self.namespaces).insert(
                        ns.clone(),
                        Namespace {
                            labels: BTreeMap::from([(LABEL_NS_NAME.to_owned(), ns.clone())]),
                            name: ns.clone(),
                            object: None,
                        },
                    );
                    namespaces_changed = true;
                }
            }
        }
        // One pass over every new pod template: GPU use marks ML namespaces, and the fields
        // the checks rely on are type-checked.
        use rayon::prelude::*;
        let end = self.objects.len();
        let per_object: Vec<(Vec<InputError>, Option<String>)> = if end - start < crate::PAR_MIN {
            (start..end).map(|i| self.check_object(i)).collect()
        } else {
            (start..end)
                .into_par_iter()
                .map(|i| self.check_object(i))
                .collect()
        };
        let mut marked = BTreeSet::new();
        for (errs, ml_ns) in per_object {
            self.errors.extend(errs);
            if let Some(ns) = ml_ns {
                if !self.ml.by_object.contains(&ns) && !self.ml_added.contains(&ns) {
                    marked.insert(ns);
                }
            }
        }
        // ML namespaces: an ML kind or a GPU request in it (above), or the tenant label.
        // Every namespace an object marks is in `namespaces` (added above if need be), so
        // while the namespaces stay as they are, the marked ones are simply added: apart
        // from the shared set in a copy, so that it is not copied.
        if namespaces_changed {
            let ml = Arc::make_mut(&mut self.ml);
            ml.by_object.append(&mut self.ml_added);
            ml.by_object.append(&mut marked);
            ml.names = self
                .namespaces
                .iter()
                .filter(|(name, ns)| ns.tenant().is_some() || ml.by_object.contains(*name))
                .map(|(name, _)| name.clone())
                .collect();
        } else if !marked.is_empty() {
            if Arc::strong_count(&self.ml) > 1 {
                self.ml_added.append(&mut marked);
            } else {
                let ml = Arc::make_mut(&mut self.ml);
                ml.names.extend(marked.iter().cloned());
                ml.by_object.append(&mut marked);
            }
        }
    }

    /// The objects added to a copy and not entered in its shared indexes, with their indices.
    fn scanned(&self) -> impl DoubleEndedIterator<Item = (usize, &Object)> + '_ {
        self.objects[self.indexed..]
            .iter()
            .enumerate()
            .map(|(k, o)| (self.indexed + k, o))
    }

    /// The type errors of object `i`'s pod templates, and its namespace when the object makes
    /// it an ML namespace (an ML kind, a GPU request or a resource claim).
    fn check_object(&self, i: usize) -> (Vec<InputError>, Option<String>) {
        let o = &self.objects[i];
        let templates = self.pod_templates(i);
        let mut errs = Vec::new();
        for t in &templates {
            validate_template(t, self.file_of(o), &mut errs);
        }
        let ml_ns = o.namespace.clone().filter(|_| {
            is_ml_kind(o.group(), &o.kind)
                || templates
                    .iter()
                    .any(|t| t.containers.iter().any(|c| requests_gpu(c)) || has_resource_claims(t))
        });
        (errs, ml_ns)
    }

    /// An Inventory of one in-memory manifest stream named `name` (tests, fuzzing, stdin-like
    /// callers). Load errors are kept in `errors`, as with files.
    pub fn from_text(name: &str, text: &str, default_namespace: &str) -> Self {
        let (objects, errors, notes) =
            crate::load::load_text(name, text, &crate::load::LoadOptions::default());
        let files = vec![SourceFile {
            path: name.to_owned(),
            sha256: String::new(),
            size: text.len() as u64,
        }];
        Inventory::new(
            Loaded {
                files,
                objects,
                errors,
                notes,
            },
            default_namespace,
        )
    }

    pub fn objects_of<'a>(&'a self, kind: &str) -> impl Iterator<Item = (usize, &'a Object)> + 'a {
        // The kind is copied for the scan only when there are objects to scan (a scan calls
        // this often, and its objects are all indexed).
        let scanned_kind = (self.indexed < self.objects.len()).then(|| kind.to_owned());
        self.index
            .by_kind
            .get(kind)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(move |i| (*i, &self.objects[*i]))
            .chain(
                self.scanned()
                    .filter(move |(_, o)| scanned_kind.as_deref() == Some(o.kind.as_str())),
            )
    }

    /// Objects of `kind` in namespace `ns`.
    pub fn objects_in<'a>(
        &'a self,
        kind: &str,
        ns: &str,
    ) -> impl Iterator<Item = (usize, &'a Object)> + 'a {
        let key = (kind.to_owned(), ns.to_owned());
        self.index
            .by_kind_ns
            .get(&key)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(move |i| (*i, &self.objects[*i]))
            .chain(
                self.scanned()
                    .filter(move |(_, o)| o.kind == key.0 && o.namespace.as_ref() == Some(&key.1)),
            )
    }

    /// The object of `kind` named `name` in namespace `ns` (None for cluster-scoped). When the
    /// inputs define it twice, the later definition (as `kubectl apply` would leave it).
    pub fn find(&self, kind: &str, ns: Option<&str>, name: &str) -> Option<(usize, &Object)> {
        let ns = ns.unwrap_or_default();
        let scanned = self.scanned().rev().find(|(_, o)| {
            o.kind == kind && o.namespace.as_deref().unwrap_or_default() == ns && o.name == name
        });
        if scanned.is_some() {
            return scanned;
        }
        let key = (kind.to_owned(), ns.to_owned(), name.to_owned());
        self.index
            .by_name
            .get(&key)
            .map(|i| (*i, &self.objects[*i]))
    }

    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.get(name)
    }

    pub fn is_ml_namespace(&self, name: &str) -> bool {
        self.ml.names.contains(name) || self.ml_added.contains(name)
    }

    /// The ML namespaces, by name: the shared set and those added to this copy, merged.
    pub fn ml_namespaces(&self) -> impl Iterator<Item = &Namespace> {
        let mut shared = self.ml.names.iter().peekable();
        let mut added = self.ml_added.iter().peekable();
        let names = std::iter::from_fn(move || match (shared.peek(), added.peek()) {
            (Some(a), Some(b)) if a < b => shared.next(),
            (Some(a), Some(b)) if b < a => added.next(),
            // In both (a tenant-labelled namespace an object also marks): once.
            (Some(_), Some(_)) => {
                added.next();
                shared.next()
            }
            (Some(_), None) => shared.next(),
            (None, _) => added.next(),
        });
        names.filter_map(|n| self.namespaces.get(n))
    }

    pub fn classification(&self, ns: &str) -> Classification {
        self.namespace(ns)
            .map_or(Classification::Internal, Namespace::classification)
    }

    pub fn is_regulated(&self, ns: &str) -> bool {
        self.classification(ns).is_regulated()
    }

    /// The file an object came from.
    pub fn file_of(&self, obj: &Object) -> &str {
        self.files
            .get(obj.file)
            .map_or("<unknown>", |f| f.path.as_str())
    }

    /// Every pod template of object `idx`, for every workload kind of CONTROLS.md.
    /// Objects of other kinds have none.
    pub fn pod_templates(&self, idx: usize) -> Vec<PodTemplate<'_>> {
        // Not even the search for templates where custom kinds keep them (the test
        // `kinds_without_templates_have_none` checks this loses nothing).
        if !may_hold_pod_template(&self.objects[idx]) {
            return Vec::new();
        }
        self.templates_by_kind(idx)
    }

    /// [`Inventory::pod_templates`] for any kind.
    fn templates_by_kind(&self, idx: usize) -> Vec<PodTemplate<'_>> {
        let o = &self.objects[idx];
        let root = o.at();
        let mut out = Vec::new();
        let group = o.group();
        let kind = o.kind.as_str();
        let label_class = || match o.label("mlguard.io/workload") {
            Some("training") => WorkloadClass::Training,
            Some("serving") => WorkloadClass::Serving,
            Some("notebook") => WorkloadClass::Notebook,
            _ => WorkloadClass::Other,
        };
        match (group, kind) {
            ("", "Pod") => {
                if let Some(spec) = root.get("spec") {
                    out.push(make_template(
                        idx,
                        None,
                        label_class(),
                        root.get("metadata"),
                        spec,
                    ));
                }
            }
            ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
            | ("batch", "Job")
            | ("", "ReplicationController" | "PodTemplate") => {
                let t = if kind == "PodTemplate" {
                    root.get("template")
                } else {
                    root.at(&["spec", "template"])
                };
                let class = if kind == "Job" && label_class() == WorkloadClass::Other {
                    WorkloadClass::Other
                } else {
                    label_class()
                };
                push_t(&mut out, idx, None, class, t);
            }
            ("batch", "CronJob") => push_t(
                &mut out,
                idx,
                None,
                label_class(),
                root.at(&["spec", "jobTemplate", "spec", "template"]),
            ),
            ("kubeflow.org", "Notebook") => {
                push_t(
                    &mut out,
                    idx,
                    None,
                    WorkloadClass::Notebook,
                    root.at(&["spec", "template"]),
                );
            }
            ("kubeflow.org", k) if kubeflow_replica_key(k).is_some() => {
                let key = kubeflow_replica_key(k).unwrap_or_default();
                if let Some(specs) = root.at(&["spec", key]) {
                    for (role, rs) in specs.entries() {
                        push_t(
                            &mut out,
                            idx,
                            Some(role.to_owned()),
                            WorkloadClass::Training,
                            rs.get("template"),
                        );
                    }
                }
            }
            ("trainer.kubeflow.org", "TrainJob") => {
                if let Some(trainer) = root.at(&["spec", "trainer"]) {
                    let containers = vec![Container {
                        name: "trainer".to_owned(),
                        at: trainer.clone(),
                        init: false,
                        resources_key: "resourcesPerNode",
                    }];
                    out.push(PodTemplate {
                        object: idx,
                        role: Some("trainer".to_owned()),
                        class: WorkloadClass::Training,
                        meta: None,
                        spec: trainer,
                        containers,
                        labels: std::sync::OnceLock::new(),
                    });
                }
            }
            ("trainer.kubeflow.org", "TrainingRuntime" | "ClusterTrainingRuntime") => {
                if let Some(jobs) = root.at(&["spec", "template", "spec", "replicatedJobs"]) {
                    for rj in jobs.items() {
                        let role = rj.get("name").and_then(|n| n.str()).map(str::to_owned);
                        push_t(
                            &mut out,
                            idx,
                            role,
                            WorkloadClass::Training,
                            rj.at(&["template", "spec", "template"]),
                        );
                    }
                }
            }
            ("serving.kserve.io", "InferenceService") => {
                for comp in ["predictor", "transformer", "explainer"] {
                    if let Some(c) = root.at(&["spec", comp]) {
                        out.push(inline_pod_spec(
                            idx,
                            comp,
                            c.clone(),
                            WorkloadClass::Serving,
                        ));
                        if let Some(w) = c.get("workerSpec") {
                            out.push(inline_pod_spec(
                                idx,
                                &format!("{comp}.workerSpec"),
                                w,
                                WorkloadClass::Serving,
                            ));
                        }
                    }
                }
            }
            ("serving.kserve.io", "LLMInferenceService") => {
                let s = root.get("spec");
                if let Some(s) = s {
                    for (role, at) in [
                        ("template", s.get("template")),
                        ("worker", s.get("worker")),
                        ("prefill.template", s.at(&["prefill", "template"])),
                        ("prefill.worker", s.at(&["prefill", "worker"])),
                    ] {
                        if let Some(at) = at {
                            out.push(make_template(
                                idx,
                                Some(role.to_owned()),
                                WorkloadClass::Serving,
                                None,
                                at,
                            ));
                        }
                    }
                }
            }
            ("ray.io", "RayCluster" | "RayJob" | "RayService") => {
                let cluster = match kind {
                    "RayCluster" => root.get("spec"),
                    "RayJob" => root.at(&["spec", "rayClusterSpec"]),
                    _ => root.at(&["spec", "rayClusterConfig"]),
                };
                let class = match kind {
                    "RayJob" => WorkloadClass::Training,
                    "RayService" => WorkloadClass::Serving,
                    _ => WorkloadClass::Ray,
                };
                if let Some(c) = cluster {
                    push_t(
                        &mut out,
                        idx,
                        Some("head".to_owned()),
                        class,
                        c.at(&["headGroupSpec", "template"]),
                    );
                    if let Some(groups) = c.get("workerGroupSpecs") {
                        for g in groups.items() {
                            let role = g
                                .get("groupName")
                                .and_then(|n| n.str())
                                .unwrap_or("worker")
                                .to_owned();
                            push_t(&mut out, idx, Some(role), class, g.get("template"));
                        }
                    }
                }
                if kind == "RayJob" {
                    push_t(
                        &mut out,
                        idx,
                        Some("submitter".to_owned()),
                        class,
                        root.at(&["spec", "submitterPodTemplate"]),
                    );
                }
            }
            // Other kinds (JobSet, Volcano Job, LeaderWorkerSet, Knative, Argo, custom
            // resources): pod templates found where those kinds keep them.
            _ => generic_templates(idx, &root, label_class(), &mut out),
        }
        out
    }

    /// Labels the pods of a template carry: the template's own labels plus those the owning
    /// controller adds (Kubeflow training operator, KServe, KubeRay, Notebook controller, Job
    /// controller), so selectors written against those labels are understood.
    ///
    /// `t` must be a template of this Inventory (from [`Inventory::pod_templates`] or
    /// [`Inventory::all_pod_templates`]): the labels are kept in the template on first use.
    pub fn pod_labels<'t>(&self, t: &'t PodTemplate<'_>) -> &'t BTreeMap<String, String> {
        self.pod_labels_shared(t)
    }

    /// [`Inventory::pod_labels`], as the shared map (a copy costs a reference count).
    pub fn pod_labels_shared<'t>(
        &self,
        t: &'t PodTemplate<'_>,
    ) -> &'t Arc<BTreeMap<String, String>> {
        t.labels
            .get_or_init(|| Arc::new(self.compute_pod_labels(t)))
    }

    fn compute_pod_labels(&self, t: &PodTemplate<'_>) -> BTreeMap<String, String> {
        let o = &self.objects[t.object];
        let mut labels =
            crate::selector::labels_of(t.meta.as_ref().and_then(|m| m.node.get("labels")));
        let mut add = |k: &str, v: &str| {
            labels.entry(k.to_owned()).or_insert_with(|| v.to_owned());
        };
        let role = t.role.clone().unwrap_or_default();
        match (o.group(), o.kind.as_str()) {
            ("kubeflow.org", "Notebook") => {
                add("notebook-name", &o.name);
                add("statefulset", &o.name);
            }
            ("kubeflow.org", _) => {
                add("training.kubeflow.org/job-name", &o.name);
                add("training.kubeflow.org/replica-type", &role.to_lowercase());
                let mut operator = o.kind.to_lowercase();
                operator.push_str("-controller");
                add("training.kubeflow.org/operator-name", &operator);
            }
            ("serving.kserve.io", "InferenceService") => {
                add("serving.kserve.io/inferenceservice", &o.name);
                add("component", role.split('.').next().unwrap_or_default());
            }
            ("ray.io", _) => {
                if o.kind == "RayCluster" {
                    add("ray.io/cluster", &o.name);
                }
                if role == "head" {
                    add("ray.io/node-type", "head");
                } else if role != "submitter" {
                    add("ray.io/node-type", "worker");
                    add("ray.io/group", &role);
                }
            }
            ("batch", "Job") => {
                add("job-name", &o.name);
                add("batch.kubernetes.io/job-name", &o.name);
            }
            ("trainer.kubeflow.org", "TrainJob") => {
                add("jobset.sigs.k8s.io/jobset-name", &o.name);
            }
            _ => {}
        }
        labels
    }

    /// All pod templates of all objects.
    pub fn all_pod_templates(&self) -> Vec<PodTemplate<'_>> {
        use rayon::prelude::*;
        let n = self.objects.len();
        if n < crate::PAR_MIN {
            return (0..n).flat_map(|i| self.pod_templates(i)).collect();
        }
        (0..n)
            .into_par_iter()
            .flat_map_iter(|i| self.pod_templates(i))
            .collect()
    }
}

/// Expected type of a pod-spec field the checks read.
#[derive(Clone, Copy)]
enum Ty {
    Bool,
    Int,
    Str,
    Map,
    List,
}

impl Ty {
    fn accepts(self, n: &Node) -> bool {
        n.is_null()
            || match self {
                Ty::Bool => n.as_bool().is_some(),
                Ty::Int => n.as_i64().is_some(),
                Ty::Str => n.as_str().is_some(),
                Ty::Map => n.is_map(),
                Ty::List => n.is_seq(),
            }
    }

    fn name(self) -> &'static str {
        match self {
            Ty::Bool => "a boolean",
            Ty::Int => "an integer",
            Ty::Str => "a string",
            Ty::Map => "a mapping",
            Ty::List => "a list",
        }
    }
}

fn check_fields(at: &At<'_>, fields: &[(&str, Ty)], file: &str, out: &mut Vec<InputError>) {
    for (k, ty) in fields {
        if let Some(v) = at.get(k) {
            if !ty.accepts(v.node) {
                out.push(InputError {
                    file: file.to_owned(),
                    pos: Some(v.pos()),
                    field: Some(v.path().to_string()),
                    message: format!("expected {}, found {}", ty.name(), v.node.type_name()),
                });
            }
        }
    }
}

/// The fields the checks rely on must have the types Kubernetes gives them: a wrongly typed
/// `privileged: "true"` or `containers: x` is reported, never silently skipped.
fn validate_template(t: &PodTemplate<'_>, file: &str, out: &mut Vec<InputError>) {
    if !t.spec.node.is_map() {
        out.push(InputError {
            file: file.to_owned(),
            pos: Some(t.spec.pos()),
            field: Some(t.spec.path().to_string()),
            message: format!(
                "expected a mapping (a pod spec), found {}",
                t.spec.node.type_name()
            ),
        });
        return;
    }
    use Ty::*;
    check_fields(
        &t.spec,
        &[
            ("containers", List),
            ("initContainers", List),
            ("ephemeralContainers", List),
            ("volumes", List),
            ("securityContext", Map),
            ("hostNetwork", Bool),
            ("hostIPC", Bool),
            ("hostPID", Bool),
            ("automountServiceAccountToken", Bool),
            ("serviceAccountName", Str),
        ],
        file,
        out,
    );
    if let Some(sc) = t.spec.get("securityContext") {
        check_fields(
            &sc,
            &[("runAsUser", Int), ("runAsNonRoot", Bool)],
            file,
            out,
        );
    }
    for key in ["containers", "initContainers", "ephemeralContainers"] {
        if let Some(list) = t.spec.get(key) {
            for c in list.items() {
                if !c.node.is_map() {
                    out.push(InputError {
                        file: file.to_owned(),
                        pos: Some(c.pos()),
                        field: Some(c.path().to_string()),
                        message: format!(
                            "expected a mapping (a container), found {}",
                            c.node.type_name()
                        ),
                    });
                }
            }
        }
    }
    for c in &t.containers {
        check_fields(
            &c.at,
            &[
                ("name", Str),
                ("image", Str),
                ("securityContext", Map),
                ("env", List),
                ("volumeMounts", List),
                ("command", List),
                ("args", List),
                (c.resources_key, Map),
            ],
            file,
            out,
        );
        if let Some(sc) = c.at.get("securityContext") {
            check_fields(
                &sc,
                &[
                    ("privileged", Bool),
                    ("allowPrivilegeEscalation", Bool),
                    ("runAsUser", Int),
                    ("runAsNonRoot", Bool),
                ],
                file,
                out,
            );
        }
        if let Some(res) = c.resources() {
            check_fields(&res, &[("limits", Map), ("requests", Map)], file, out);
        }
    }
}

/// Pod templates of kinds mlguard does not model: `spec.template`, `spec.podTemplate`,
/// `spec.tasks[].template` (Volcano), `spec.replicatedJobs[].template.spec.template` (JobSet),
/// `spec.leaderWorkerTemplate.{leaderTemplate,workerTemplate}` (LeaderWorkerSet). A candidate
/// counts only when its `spec.containers` is a list.
fn generic_templates<'a>(
    idx: usize,
    root: &At<'a>,
    class: WorkloadClass,
    out: &mut Vec<PodTemplate<'a>>,
) {
    let Some(spec) = root.get("spec") else { return };
    let is_pod_template = |t: &At<'a>| {
        t.node
            .get("spec")
            .is_some_and(|s| s.get("containers").is_some_and(Node::is_seq))
    };
    let mut candidates: Vec<(Option<String>, At<'a>)> = Vec::new();
    for key in ["template", "podTemplate"] {
        if let Some(t) = spec.get(key) {
            candidates.push((None, t));
        }
    }
    if let Some(tasks) = spec.get("tasks") {
        for t in tasks.items() {
            let role = t.get("name").and_then(|n| n.str()).map(str::to_owned);
            if let Some(tpl) = t.get("template") {
                candidates.push((role, tpl));
            }
        }
    }
    if let Some(jobs) = spec.get("replicatedJobs") {
        for j in jobs.items() {
            let role = j.get("name").and_then(|n| n.str()).map(str::to_owned);
            if let Some(tpl) = j.at(&["template", "spec", "template"]) {
                candidates.push((role, tpl));
            }
        }
    }
    if let Some(lws) = spec.get("leaderWorkerTemplate") {
        for key in ["leaderTemplate", "workerTemplate"] {
            if let Some(tpl) = lws.get(key) {
                candidates.push((Some(key.trim_end_matches("Template").to_owned()), tpl));
            }
        }
    }
    for (role, t) in candidates {
        if is_pod_template(&t) {
            push_t(out, idx, role, class, Some(t));
        }
    }
}

fn push_t<'a>(
    out: &mut Vec<PodTemplate<'a>>,
    idx: usize,
    role: Option<String>,
    class: WorkloadClass,
    template: Option<At<'a>>,
) {
    if let Some(t) = template {
        if let Some(spec) = t.get("spec") {
            out.push(make_template(idx, role, class, t.get("metadata"), spec));
        }
    }
}

fn containers_of<'a>(spec: &At<'a>) -> Vec<Container<'a>> {
    let mut out = Vec::new();
    for (key, init) in [
        ("containers", false),
        ("initContainers", true),
        ("ephemeralContainers", true),
    ] {
        if let Some(list) = spec.get(key) {
            for c in list.items() {
                if !c.node.is_map() {
                    continue;
                }
                out.push(Container {
                    name: c
                        .get("name")
                        .and_then(|n| n.str())
                        .unwrap_or_default()
                        .to_owned(),
                    at: c,
                    init,
                    resources_key: "resources",
                });
            }
        }
    }
    out
}

fn make_template<'a>(
    object: usize,
    role: Option<String>,
    class: WorkloadClass,
    meta: Option<At<'a>>,
    spec: At<'a>,
) -> PodTemplate<'a> {
    PodTemplate {
        object,
        role,
        class,
        meta,
        containers: containers_of(&spec),
        spec,
        labels: std::sync::OnceLock::new(),
    }
}

/// KServe component: an inline pod spec plus framework keys, each a container.
fn inline_pod_spec<'a>(
    object: usize,
    role: &str,
    spec: At<'a>,
    class: WorkloadClass,
) -> PodTemplate<'a> {
    let mut containers = containers_of(&spec);
    for fw in KSERVE_FRAMEWORKS {
        if let Some(c) = spec.get(fw) {
            if c.node.is_map() {
                containers.push(Container {
                    name: c
                        .get("name")
                        .and_then(|n| n.str())
                        .unwrap_or("kserve-container")
                        .to_owned(),
                    at: c,
                    init: false,
                    resources_key: "resources",
                });
            }
        }
    }
    PodTemplate {
        object,
        role: Some(role.to_owned()),
        class,
        meta: None,
        spec,
        containers,
        labels: std::sync::OnceLock::new(),
    }
}

/// Resource names that denote GPUs or GPU slices.
pub fn is_gpu_resource(name: &str) -> bool {
    name == "nvidia.com/gpu"
        || name.starts_with("nvidia.com/mig-")
        || name == "amd.com/gpu"
        || name.starts_with("gpu.intel.com/")
}

/// Whether a container requests or limits any GPU resource.
pub fn requests_gpu(c: &Container<'_>) -> bool {
    let Some(res) = c.resources() else {
        return false;
    };
    ["limits", "requests"].iter().any(|k| {
        res.node
            .get(k)
            .is_some_and(|m| m.entries().iter().any(|e| is_gpu_resource(&e.key)))
    })
}

fn has_resource_claims(t: &PodTemplate<'_>) -> bool {
    t.spec
        .node
        .get("resourceClaims")
        .is_some_and(|c| !c.items().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an Inventory says about its objects, comparable across two builds (files by
    /// path, errors unordered).
    fn summary(i: &Inventory) -> String {
        let mut out = Vec::new();
        for (k, o) in i.objects.iter().enumerate() {
            out.push(format!(
                "object {k}: {} {}/{} {:?} in {}",
                o.api_version,
                o.kind,
                o.name,
                o.namespace,
                i.file_of(o)
            ));
            out.push(format!(
                "  find: {:?}, same kind: {:?}",
                i.find(&o.kind, o.namespace.as_deref(), &o.name)
                    .map(|f| f.0),
                i.objects_of(&o.kind).map(|f| f.0).collect::<Vec<_>>()
            ));
            if let Some(ns) = &o.namespace {
                let in_ns: Vec<usize> = i.objects_in(&o.kind, ns).map(|f| f.0).collect();
                out.push(format!("  in its namespace: {in_ns:?}"));
            }
        }
        for ns in i.namespaces.values() {
            out.push(format!(
                "namespace {} {:?} {:?}",
                ns.name, ns.object, ns.labels
            ));
        }
        let ml: Vec<&str> = i.ml_namespaces().map(|n| n.name.as_str()).collect();
        out.push(format!("ml namespaces: {ml:?}"));
        let mut errors: Vec<String> = i.errors.iter().map(|e| format!("{e:?}")).collect();
        errors.sort();
        out.extend(errors);
        out.join("\n")
    }

    #[test]
    fn extend_gives_the_inventory_new_builds_from_both() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
        let loaded = crate::load::load(&[root.to_owned()], &crate::load::LoadOptions::default());
        let n = loaded.objects.len();
        assert!(n > 40, "{n} objects in examples/");
        let whole = summary(&Inventory::new(loaded.clone(), "team-x"));
        // The comparison covers ML namespaces: examples/ has some.
        assert!(whole.contains("ml namespaces: [\""), "{whole}");
        for cut in [0, 1, n / 3, n / 2, n - 1, n] {
            let mut first = loaded.clone();
            let mut rest = first.objects.split_off(cut);
            // The second part lists its files in another order, as its own input would.
            let nf = loaded.files.len();
            for o in &mut rest {
                o.file = nf - 1 - o.file;
            }
            let second = Loaded {
                files: loaded.files.iter().rev().cloned().collect(),
                objects: rest,
                errors: Vec::new(),
                notes: Vec::new(),
            };
            let mut inv = Inventory::new(first, "team-x");
            inv.extend(second, "team-x");
            assert_eq!(summary(&inv), whole, "split after {cut} objects");
        }
    }

    /// A copy extended with a few objects (found by a scan, the shared indexes untouched) and
    /// with more (indexes copied and entered) answers as an Inventory built afresh from all
    /// of them, the original is unchanged, and a redefinition added to a copy is the one
    /// `find` gives.
    #[test]
    fn extended_copies_answer_as_rebuilt_ones() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
        let loaded = crate::load::load(&[root.to_owned()], &crate::load::LoadOptions::default());
        let n = loaded.objects.len();
        assert!(n > SCANNED_MAX + 1, "{n} objects in examples/");
        let part = |objects: Vec<Object>| Loaded {
            files: loaded.files.clone(),
            objects,
            errors: Vec::new(),
            notes: Vec::new(),
        };
        let whole = summary(&Inventory::new(loaded.clone(), "team-x"));
        for k in [1, 2, 5, SCANNED_MAX, SCANNED_MAX + 1, n / 2] {
            let mut first = loaded.objects.clone();
            let rest = first.split_off(n - k);
            let base = Inventory::new(part(first), "team-x");
            let before = summary(&base);
            let mut copy = base.clone();
            copy.extend(part(rest), "team-x");
            assert_eq!(
                summary(&copy),
                whole,
                "the last {k} objects added to a copy"
            );
            assert_eq!(
                summary(&base),
                before,
                "the original, {k} added to its copy"
            );
            assert_eq!(copy.indexed < copy.objects.len(), k <= SCANNED_MAX, "{k}");
        }
        // Every object redefined, one at a time, in a copy: `find` gives the redefinition.
        let base = Inventory::new(loaded.clone(), "team-x");
        for (i, o) in loaded.objects.iter().enumerate() {
            let mut copy = base.clone();
            copy.extend(part(vec![o.clone()]), "team-x");
            let mut all = loaded.clone();
            all.objects.push(o.clone());
            let rebuilt = Inventory::new(all, "team-x");
            assert_eq!(summary(&copy), summary(&rebuilt), "object {i} redefined");
            let ns = copy.objects[n].namespace.as_deref();
            assert_eq!(copy.find(&o.kind, ns, &o.name).map(|f| f.0), Some(n));
        }
        // A GPU pod added to a copy makes its namespace ML there, not in the original.
        let ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: quiet}\n";
        let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: quiet}\nspec: {containers: [{name: c, image: i, resources: {limits: {nvidia.com/gpu: 1}}}]}\n";
        let docs = |texts: &[&str]| {
            let docs: Vec<(String, String)> = texts
                .iter()
                .map(|t| (format!("{}.yaml", t.len()), (*t).to_owned()))
                .collect();
            crate::load::load_documents(&docs, &crate::load::LoadOptions::default())
        };
        let base = Inventory::new(docs(&[ns]), "default");
        let mut copy = base.clone();
        copy.extend(docs(&[pod]), "default");
        assert!(!copy.ml_added.is_empty());
        assert!(copy.is_ml_namespace("quiet") && !base.is_ml_namespace("quiet"));
        let rebuilt = Inventory::new(docs(&[ns, pod]), "default");
        assert_eq!(summary(&copy), summary(&rebuilt));
        // Marked in a copy: a tenant's namespace (ML already) and one that sorts between two.
        let namespaces = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {mlguard.io/tenant: t}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: c, labels: {mlguard.io/tenant: t}}\n";
        let pods = pod.replace("quiet", "a") + "---\n" + &pod.replace("quiet", "b");
        let base = Inventory::new(docs(&[namespaces]), "default");
        let mut copy = base.clone();
        copy.extend(docs(&[&pods]), "default");
        assert!(!copy.ml_added.is_empty());
        let names: Vec<&str> = copy.ml_namespaces().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        let rebuilt = Inventory::new(docs(&[namespaces, &pods]), "default");
        assert_eq!(summary(&copy), summary(&rebuilt));
    }

    fn inv(text: &str) -> Inventory {
        let i = Inventory::from_text("t.yaml", text, "default");
        assert!(i.errors.is_empty(), "{:?}", i.errors);
        i
    }

    #[test]
    fn templates_of_other_kinds_are_found_where_they_keep_them() {
        let i = inv(r"
apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata: {name: js, namespace: ml}
spec:
  replicatedJobs:
  - name: workers
    template: {spec: {template: {spec: {containers: [{name: w, image: a}]}}}}
---
apiVersion: leaderworkerset.x-k8s.io/v1
kind: LeaderWorkerSet
metadata: {name: lws, namespace: ml}
spec:
  leaderWorkerTemplate:
    leaderTemplate: {spec: {containers: [{name: l, image: a}]}}
    workerTemplate: {spec: {containers: [{name: w, image: a}]}}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: ml}
spec:
  template: {note: not a pod template}
");
        let js = i.pod_templates(0);
        assert_eq!(js.len(), 1);
        assert_eq!(js[0].role.as_deref(), Some("workers"));
        assert_eq!(
            js[0].containers[0].at.path().to_string(),
            "spec.replicatedJobs[0].template.spec.template.spec.containers[0]"
        );
        let lws = i.pod_templates(1);
        assert_eq!(
            lws.iter()
                .map(|t| t.role.clone().unwrap_or_default())
                .collect::<Vec<_>>(),
            ["leader", "worker"]
        );
        assert!(i.pod_templates(2).is_empty());
    }

    #[test]
    fn kubeflow_kserve_and_ray_templates_are_found() {
        let i = inv(r"
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: j, namespace: ml}
spec:
  pytorchReplicaSpecs:
    Master:
      template:
        spec:
          containers: [{name: pytorch, image: a}]
    Worker:
      template:
        spec:
          containers: [{name: pytorch, image: b, resources: {limits: {nvidia.com/gpu: 1}}}]
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: s, namespace: serve}
spec:
  predictor:
    serviceAccountName: x
    model:
      modelFormat: {name: sklearn}
      storageUri: gs://b/m
    containers: [{name: side, image: c}]
---
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: r}
spec:
  headGroupSpec:
    template: {spec: {containers: [{name: head, image: ray}]}}
  workerGroupSpecs:
  - groupName: gpu
    template: {spec: {containers: [{name: w, image: ray}]}}
");
        let t = i.pod_templates(0);
        assert_eq!(t.len(), 2);
        assert_eq!(
            t[1].containers[0].at.path().to_string(),
            "spec.pytorchReplicaSpecs.Worker.template.spec.containers[0]"
        );
        let s = i.pod_templates(1);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].containers.len(), 2);
        assert_eq!(
            s[0].containers[1].at.path().to_string(),
            "spec.predictor.model"
        );
        let r = i.pod_templates(2);
        assert_eq!(
            r.iter()
                .map(|t| t.role.clone().unwrap_or_default())
                .collect::<Vec<_>>(),
            ["head", "gpu"]
        );
        assert!(i.is_ml_namespace("ml"));
        assert!(i.is_ml_namespace("serve"));
        assert!(i.is_ml_namespace("default"));
        assert_eq!(
            i.namespace("ml").map(|n| n.labels[LABEL_NS_NAME].clone()),
            Some("ml".into())
        );
    }

    /// Kinds `may_hold_pod_template` rules out have no template where any kind is searched:
    /// over examples/ and the shared corpus, skipping them loses nothing.
    #[test]
    fn kinds_without_templates_have_none() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let paths = [
            format!("{root}/examples"),
            format!("{root}/../shared/corpus/manifests"),
        ];
        let loaded = crate::load::load(&paths, &crate::load::LoadOptions::default());
        let inv = Inventory::new(loaded, "default");
        let mut skipped = BTreeSet::new();
        for (i, o) in inv.objects.iter().enumerate() {
            if !may_hold_pod_template(o) {
                assert!(inv.pod_templates(i).is_empty());
                let found = inv.templates_by_kind(i);
                assert!(
                    found.is_empty(),
                    "{} {} has {}",
                    o.kind,
                    o.name,
                    found.len()
                );
                skipped.insert(o.kind.as_str());
            }
        }
        for kind in ["Namespace", "NetworkPolicy", "Role", "ConfigMap", "Service"] {
            assert!(skipped.contains(kind), "no {kind} skipped: {skipped:?}");
        }
        // The search does find a template in a core kind that has none by its schema (the
        // API server would drop the field): the shortcut is about schemas, not luck.
        let odd = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: i}]\n";
        let (objects, _, _) = crate::load::load_text("odd.yaml", odd, &Default::default());
        let inv = Inventory::new(
            Loaded {
                objects,
                ..Default::default()
            },
            "default",
        );
        assert!(inv.pod_templates(0).is_empty());
        assert_eq!(inv.templates_by_kind(0).len(), 1);
    }
}
