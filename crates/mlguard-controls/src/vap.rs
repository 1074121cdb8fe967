//! Controls exported as native ValidatingAdmissionPolicies (`mlguard policy export --format
//! vap`): CEL that gives, for every object the policy matches, the same verdict as the
//! built-in check (test `vap_matches_builtin` holds it to that over examples/ and the shared
//! corpus). Owns the CEL text and the policy and binding objects; it must not judge anything
//! itself.
//!
//! A policy matches the workload kinds whose pod templates the Inventory reads (Pods, apps,
//! batch, Kubeflow training jobs and Notebooks, KubeRay, KServe); it judges every namespace
//! it is bound to, as `mlguard scan` does with `scope: all`. Controls that read more than the
//! object, or whose CEL version is not written yet, are listed by [`not_exported`] with why.

use crate::catalog::Catalog;
use crate::model::Severity;
use mlguard_core::inventory::KSERVE_FRAMEWORKS;
use serde_json::{json, Value};

/// Namespaces no exported binding ever judges (as the webhook).
pub const NEVER_JUDGED: &[&str] = &[
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "mlguard-system",
];

/// (API group, resources, kinds) the exported policies match.
pub const MATCHED: &[(&str, &[&str], &[&str])] = &[
    (
        "",
        &["pods", "replicationcontrollers", "podtemplates"],
        &["Pod", "ReplicationController", "PodTemplate"],
    ),
    (
        "apps",
        &["deployments", "statefulsets", "daemonsets", "replicasets"],
        &["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"],
    ),
    ("batch", &["jobs", "cronjobs"], &["Job", "CronJob"]),
    (
        "kubeflow.org",
        &[
            "pytorchjobs",
            "tfjobs",
            "mpijobs",
            "xgboostjobs",
            "paddlejobs",
            "jaxjobs",
            "notebooks",
        ],
        &[
            "PyTorchJob",
            "TFJob",
            "MPIJob",
            "XGBoostJob",
            "PaddleJob",
            "JAXJob",
            "Notebook",
        ],
    ),
    (
        "ray.io",
        &["rayclusters", "rayjobs", "rayservices"],
        &["RayCluster", "RayJob", "RayService"],
    ),
    (
        "serving.kserve.io",
        &["inferenceservices", "llminferenceservices"],
        &["InferenceService", "LLMInferenceService"],
    ),
];

/// Whether the exported policies match objects of `group`/`kind`.
pub fn matches_kind(group: &str, kind: &str) -> bool {
    MATCHED
        .iter()
        .any(|(g, _, kinds)| *g == group && kinds.contains(&kind))
}

/// `[path]` when every step of `path` (from `object`) is present, else `[]`.
fn opt(path: &str) -> String {
    let parts: Vec<&str> = path.split('.').collect();
    let guards: Vec<String> = (2..=parts.len())
        .map(|n| format!("has({})", parts[..n].join(".")))
        .collect();
    format!("({} ? [{path}] : [])", guards.join(" && "))
}

/// The guard that every step of `path` is present.
fn present(path: &str) -> String {
    let parts: Vec<&str> = path.split('.').collect();
    (2..=parts.len())
        .map(|n| format!("has({})", parts[..n].join(".")))
        .collect::<Vec<_>>()
        .join(" && ")
}

fn ray_specs(base: &str) -> String {
    format!(
        "{} + ({} ? {base}.workerGroupSpecs.filter(g, has(g.template) && has(g.template.spec)).map(g, g.template.spec) : [])",
        opt(&format!("{base}.headGroupSpec.template.spec")),
        present(&format!("{base}.workerGroupSpecs"))
    )
}

/// CEL: the list of pod specs of `object`, as the Inventory reads them for the matched kinds.
pub fn pod_specs() -> String {
    let mut arms: Vec<(String, String)> = vec![
        ("object.kind == 'Pod'".into(), opt("object.spec")),
        (
            "object.kind in ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'ReplicationController', 'Notebook']".into(),
            opt("object.spec.template.spec"),
        ),
        ("object.kind == 'PodTemplate'".into(), opt("object.template.spec")),
        (
            "object.kind == 'CronJob'".into(),
            opt("object.spec.jobTemplate.spec.template.spec"),
        ),
    ];
    for (kind, key) in [
        ("PyTorchJob", "pytorchReplicaSpecs"),
        ("TFJob", "tfReplicaSpecs"),
        ("MPIJob", "mpiReplicaSpecs"),
        ("XGBoostJob", "xgbReplicaSpecs"),
        ("PaddleJob", "paddleReplicaSpecs"),
        ("JAXJob", "jaxReplicaSpecs"),
    ] {
        let m = format!("object.spec.{key}");
        arms.push((
            format!("object.kind == '{kind}'"),
            format!(
                "({} ? {m}.map(r, {m}[r]).filter(t, has(t.template) && has(t.template.spec)).map(t, t.template.spec) : [])",
                present(&m)
            ),
        ));
    }
    arms.push((
        "object.kind == 'RayCluster'".into(),
        format!(
            "({} ? {} : [])",
            present("object.spec"),
            ray_specs("object.spec")
        ),
    ));
    arms.push((
        "object.kind == 'RayJob'".into(),
        format!(
            "({} ? {} : []) + {}",
            present("object.spec.rayClusterSpec"),
            ray_specs("object.spec.rayClusterSpec"),
            opt("object.spec.submitterPodTemplate.spec")
        ),
    ));
    arms.push((
        "object.kind == 'RayService'".into(),
        format!(
            "({} ? {} : [])",
            present("object.spec.rayClusterConfig"),
            ray_specs("object.spec.rayClusterConfig")
        ),
    ));
    arms.push((
        "object.kind == 'InferenceService'".into(),
        ["predictor", "transformer", "explainer"]
            .iter()
            .map(|c| {
                format!(
                    "{} + {}",
                    opt(&format!("object.spec.{c}")),
                    opt(&format!("object.spec.{c}.workerSpec"))
                )
            })
            .collect::<Vec<_>>()
            .join(" + "),
    ));
    arms.push((
        "object.kind == 'LLMInferenceService'".into(),
        ["template", "worker", "prefill.template", "prefill.worker"]
            .iter()
            .map(|p| opt(&format!("object.spec.{p}")))
            .collect::<Vec<_>>()
            .join(" + "),
    ));
    let mut out = String::from("[]");
    for (cond, value) in arms.into_iter().rev() {
        out = format!("({cond} ? {value} : {out})");
    }
    out
}

/// CEL: the non-init containers of pod spec `s`: regular ones and, for a KServe component,
/// its framework keys (each a container).
fn app_containers(s: &str) -> String {
    let fw: Vec<String> = KSERVE_FRAMEWORKS.iter().map(|f| format!("'{f}'")).collect();
    format!(
        "((has({s}.containers) ? {s}.containers : []) + (object.kind == 'InferenceService' ? [{}].filter(f, f in {s}).map(f, {s}[f]) : []))",
        fw.join(", ")
    )
}

/// CEL: every container of pod spec `s`: init and ephemeral ones too.
fn containers(s: &str) -> String {
    format!(
        "({} + (has({s}.initContainers) ? {s}.initContainers : []) + (has({s}.ephemeralContainers) ? {s}.ephemeralContainers : []))",
        app_containers(s)
    )
}

/// CEL: `x` is `true`, or the string "true" (read as true, as the built-in check does, so a
/// wrongly typed field in a manifest never passes; the API server's schema admits only
/// booleans). Written with equality only, which is defined across types in both cel-go and
/// cel-rust, so the same text runs in the API server and in the test.
fn truthy(x: &str) -> String {
    format!("({x} == true || {x} == 'true' || {x} == 'True' || {x} == 'TRUE')")
}

fn each_spec(body: &str) -> String {
    format!("{}.all(s, {body})", pod_specs())
}

fn each_container(body: &str) -> String {
    each_spec(&format!("{}.all(c, {body})", containers("s")))
}

/// `name` as kube-cel presents a map key: escaped as Kubernetes escapes property names
/// (`.` `__dot__`, `/` `__slash__`, `-` `__dash__`, `__` `__underscores__`). The API server
/// does not escape the keys of maps such as `resources.limits`, kube-cel does; the exported
/// CEL accepts both spellings so that the same text holds in the cluster and in the test.
fn escaped(name: &str) -> String {
    name.replace("__", "__underscores__")
        .replace('.', "__dot__")
        .replace('/', "__slash__")
        .replace('-', "__dash__")
}

/// CEL: map key `k` is `name`, in either spelling.
fn key_is(k: &str, name: &str) -> String {
    format!("({k} == '{name}' || {k} == '{}')", escaped(name))
}

/// CEL: map key `k` starts with `prefix`, in either spelling.
fn key_starts(k: &str, prefix: &str) -> String {
    format!(
        "({k}.startsWith('{prefix}') || {k}.startsWith('{}'))",
        escaped(prefix)
    )
}

/// A control as CEL: its validation expression and the message the API server shows.
#[derive(Debug, Clone)]
pub struct Exported {
    pub control: &'static str,
    pub expression: String,
    pub message: &'static str,
    /// Whether the policy also matches ConfigMaps (MLG-ENC-004 reads their data).
    pub config_maps: bool,
}

impl Exported {
    /// Whether this control's policy matches objects of `group`/`kind`.
    pub fn matches(&self, group: &str, kind: &str) -> bool {
        matches_kind(group, kind) || (self.config_maps && group.is_empty() && kind == "ConfigMap")
    }
}

/// CEL: the object's label `key` (either spelling) has value `value`.
fn object_label(key: &str, value: &str) -> String {
    format!(
        "(has(object.metadata.labels) && object.metadata.labels.exists(k, {} && object.metadata.labels[k] == '{value}'))",
        key_is("k", key)
    )
}

/// Kinds whose workload class comes from the label `mlguard.io/workload`.
const LABEL_CLASSED: &str = "['Pod', 'ReplicationController', 'PodTemplate', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob']";

/// CEL: the object's pods serve models (WorkloadClass::Serving).
fn serving() -> String {
    format!(
        "(object.kind in ['InferenceService', 'LLMInferenceService', 'RayService'] || (object.kind in {LABEL_CLASSED} && {}))",
        object_label("mlguard.io/workload", "serving")
    )
}

/// CEL: the object's pods are notebooks (WorkloadClass::Notebook).
fn notebook() -> String {
    format!(
        "(object.kind == 'Notebook' || (object.kind in {LABEL_CLASSED} && {}))",
        object_label("mlguard.io/workload", "notebook")
    )
}

/// CEL: string `v` (already trimmed or not) is an http:// URL to something but loopback
/// (checks::workload::plaintext_url).
fn plaintext_url(v: &str) -> String {
    format!("({v}.trim().startsWith('http://') && !{v}.trim().matches('^http://(localhost|127[.]0[.]0[.]1)([/:]|$)'))")
}

/// CEL: `name: v` (v a string) holds a credential (checks::workload::literal_secret).
fn literal_secret(name: &str, v: &str) -> String {
    let t = format!("{v}.trim()");
    let signature = format!(
        "({t}.matches('^(AKIA|ASIA)[A-Z0-9]{{16}}$') || ({t}.contains('-----BEGIN') && {t}.contains('PRIVATE KEY')) || {t}.matches('^hf_[A-Za-z0-9]{{30}}') || {t}.matches('^(ghp_|github_pat_)[A-Za-z0-9]{{20}}') || {t}.matches('^sk-[A-Za-z0-9_-]{{20,}}$') || {t}.matches('(?s)^AGE-SECRET-KEY-.{{21,}}'))"
    );
    let n = format!("{name}.upperAscii()");
    let secret_name = format!(
        "(!{n}.matches('(_FILE|_PATH|_DIR|_URI|_URL|_NAME|_ENABLED|_MODE|_TYPE|_REF)$') && {n}.matches('PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|APIKEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIAL|AUTH_KEY|ENCRYPTION_KEY|_KEY$|^KEY$'))"
    );
    let reference = format!(
        "({t} == '' || {t}.startsWith('/') || {t}.startsWith('$(') || {t}.startsWith('${{') || {t}.contains('://') || {t}.startsWith('pkcs11:') || {t}.lowerAscii() in ['true', 'false', 'yes', 'no', 'none', 'null', 'changeme', '<redacted>'])"
    );
    format!("({signature} || ({secret_name} && !{reference}))")
}

/// CEL: scalar `v` read as text, as `Node::scalar_text` does for strings and numbers;
/// booleans and null hold no credential and no URL, so they are left out by the callers.
fn text_of(v: &str) -> String {
    format!("string({v})")
}

/// CEL: `v` is a scalar with text (not a boolean, not null).
fn has_text(v: &str) -> String {
    format!("({v} != null && {v} != true && {v} != false)")
}

/// The controls exported as CEL.
pub fn exported() -> Vec<Exported> {
    // mlguard_core::inventory::is_gpu_resource, in CEL.
    let gpu = |k: &str| {
        format!(
            "({} || {} || {} || {})",
            key_is(k, "nvidia.com/gpu"),
            key_starts(k, "nvidia.com/mig-"),
            key_is(k, "amd.com/gpu"),
            key_starts(k, "gpu.intel.com/")
        )
    };
    let whole = key_is("k", "nvidia.com/gpu");
    let mig = key_starts("k", "nvidia.com/mig-");
    let l = "(has(c.resources.limits) ? c.resources.limits : {})";
    let r = "(has(c.resources.requests) ? c.resources.requests : {})";
    let quota = format!(
        "!has(c.resources) || ({r}.all(k, !{gk} || (k in {l} && string({r}[k]) == string({l}[k]))) && {l}.all(k, !{gk} || string({l}[k]).matches('^[0-9]+$')) && !(({l}.exists(k, {whole}) || {r}.exists(k, {whole})) && ({l}.exists(k, {mig}) || {r}.exists(k, {mig}))))",
        gk = gpu("k"),
    );
    let user_c = "has(c.securityContext) && has(c.securityContext.runAsUser)";
    let user_p = "has(s.securityContext) && has(s.securityContext.runAsUser)";
    let nonroot_c = "has(c.securityContext) && has(c.securityContext.runAsNonRoot)";
    let nonroot_p = "has(s.securityContext) && has(s.securityContext.runAsNonRoot)";
    // The schema makes runAsUser an integer and the others booleans; equality with a
    // literal is false (not an error) for any other type, as the built-in check reads them.
    let is_root = format!(
        "(({user_c}) ? c.securityContext.runAsUser == 0 : (({user_p}) && s.securityContext.runAsUser == 0))"
    );
    let no_user = format!("(!({user_c}) && !({user_p}))");
    let non_root = format!(
        "(({nonroot_c}) ? c.securityContext.runAsNonRoot == true : (({nonroot_p}) && s.securityContext.runAsNonRoot == true))"
    );
    let ape_false = "(has(c.securityContext) && has(c.securityContext.allowPrivilegeEscalation) && c.securityContext.allowPrivilegeEscalation == false)";
    vec![
        Exported {
            control: "MLG-POD-001",
            expression: each_container(&format!(
                "!(has(c.securityContext) && has(c.securityContext.privileged) && {})",
                truthy("c.securityContext.privileged")
            )),
            message: "MLG-POD-001: a container is privileged (prefer an RDMA device resource plus IPC_LOCK)",
            config_maps: false,
        },
        Exported {
            control: "MLG-POD-002",
            expression: each_spec(&format!(
                "!(has(s.hostIPC) && {}) && !(has(s.hostPID) && {})",
                truthy("s.hostIPC"),
                truthy("s.hostPID")
            )),
            message: "MLG-POD-002: the pod shares the host's IPC or PID namespace",
            config_maps: false,
        },
        Exported {
            control: "MLG-POD-004",
            expression: each_container(&format!(
                "!({is_root} || ({no_user} && !{non_root}) || !{ape_false})"
            )),
            message: "MLG-POD-004: a container may run as root, or allowPrivilegeEscalation is not false",
            config_maps: false,
        },
        Exported {
            control: "MLG-NET-007",
            expression: each_spec(&format!(
                "!(has(s.hostNetwork) && {})",
                truthy("s.hostNetwork")
            )),
            message: "MLG-NET-007: the pod uses the host network; NetworkPolicies do not apply to it",
            config_maps: false,
        },
        Exported {
            control: "MLG-IMG-001",
            expression: each_container(
                "!has(c.image) || c.image.matches('^[^@]*@sha(256|512):')",
            ),
            message: "MLG-IMG-001: an image is not pinned by digest",
            config_maps: false,
        },
        Exported {
            control: "MLG-QUOTA-003",
            expression: each_container(&quota),
            message: "MLG-QUOTA-003: a GPU request has no equal whole-number limit, or whole GPUs and MIG slices are mixed",
            config_maps: false,
        },
        Exported {
            control: "MLG-POD-003",
            expression: each_container(
                "!has(c.volumeMounts) || c.volumeMounts.all(m, !(has(m.mountPath) && m.mountPath.matches('^/dev/shm/*$') && has(m.name)) || !has(s.volumes) || s.volumes.filter(v, has(v.name) && v.name == m.name).size() == 0 || s.volumes.filter(v, has(v.name) && v.name == m.name).all(v, has(v.emptyDir) && has(v.emptyDir.medium) && v.emptyDir.medium == 'Memory' && has(v.emptyDir.sizeLimit)))",
            ),
            message: "MLG-POD-003: /dev/shm is not a memory-backed emptyDir with a sizeLimit",
            config_maps: false,
        },
        Exported {
            control: "MLG-POD-006",
            expression: pod_006(),
            message: "MLG-POD-006: a Ray head is exposed or runs without token authentication, or Jupyter starts with an empty token or password",
            config_maps: false,
        },
        Exported {
            control: "MLG-ENC-001",
            expression: format!(
                "!{} || {}",
                serving(),
                each_spec(&format!(
                    "{}.all(c, !has(c.volumeMounts) || c.volumeMounts.all(m, !has(m.name) || !has(s.volumes) || s.volumes.filter(v, has(v.name) && v.name == m.name).size() == 0 || {}))",
                    app_containers("s"),
                    enc_001_volume()
                ))
            ),
            message: "MLG-ENC-001: a serving container mounts a model volume writable, or from the node (hostPath)",
            config_maps: false,
        },
        Exported {
            control: "MLG-ENC-002",
            expression: each_container(&enc_002_container()),
            message: "MLG-ENC-002: model artifacts are fetched over plaintext (http:// storage, TLS turned off)",
            config_maps: false,
        },
        Exported {
            control: "MLG-ENC-004",
            expression: format!(
                "object.kind == 'ConfigMap' ? (!has(object.data) || object.data.all(k, !{} || !{})) : {}",
                has_text("object.data[k]"),
                literal_secret("k", &text_of("object.data[k]")),
                each_container(&format!(
                    "!has(c.env) || c.env.all(e, !has(e.name) || !has(e.value) || !{} || !{})",
                    has_text("e.value"),
                    literal_secret("e.name", &text_of("e.value"))
                ))
            ),
            message: "MLG-ENC-004: a key or credential is given as a literal env value or ConfigMap data; keep it in a Secret",
            config_maps: true,
        },
    ]
}

/// CEL for MLG-ENC-001 on mount `m` of container `c` in spec `s`, the volume named: not a
/// hostPath, and read-only if it looks like a model volume.
fn enc_001_volume() -> String {
    let v = "s.volumes.filter(v, has(v.name) && v.name == m.name)[0]";
    format!(
        "(!has({v}.hostPath) && (!((has(m.mountPath) && m.mountPath.lowerAscii().contains('model')) || m.name.lowerAscii().contains('model') || has({v}.persistentVolumeClaim)) || (has(m.readOnly) && m.readOnly == true) || (has({v}.persistentVolumeClaim) && has({v}.persistentVolumeClaim.readOnly) && {v}.persistentVolumeClaim.readOnly == true)))"
    )
}

/// CEL for MLG-ENC-002 on container `c`: no plaintext storageUri(s), no TLS-off flag, no
/// storage env pointing at http://.
fn enc_002_container() -> String {
    let uri = |u: &str| {
        format!(
            "!{} || !({u} == string({u}) && {})",
            has_text(u),
            plaintext_url(u)
        )
    };
    let flags =
        "['S3_USE_HTTPS', 'S3_VERIFY_SSL', 'AWS_S3_USE_HTTPS', 'AWS_S3_VERIFY_SSL', 'S3_USE_SSL']";
    let storage = "e.name.upperAscii().matches('S3|MODEL|STORAGE|MLFLOW|MINIO|ARTIFACT|BUCKET|HF_ENDPOINT|AWS_ENDPOINT|GCS|AZURE')";
    let t = "string(e.value)";
    let off = format!("(e.name.upperAscii() in {flags} && {t}.trim().lowerAscii() in ['0', 'false', 'no', 'off'])");
    format!(
        "(!has(c.storageUri) || ({})) && (!has(c.storageUris) || c.storageUris.all(i, !has(i.uri) || ({}))) && (!has(c.env) || c.env.all(e, !has(e.name) || !has(e.value) || !{} || (!{off} && !({storage} && {t}.startsWith('http') && {}))))",
        uri("c.storageUri"),
        uri("i.uri"),
        has_text("e.value"),
        plaintext_url(t)
    )
}

/// CEL for MLG-POD-006 on workloads: Ray heads (service type, ingress, token auth) and
/// Jupyter containers (empty token or password in args or env).
fn pod_006() -> String {
    let ray_base = "(object.kind == 'RayCluster' ? object.spec : (object.kind == 'RayJob' ? object.spec.rayClusterSpec : object.spec.rayClusterConfig))";
    let present_base = "(object.kind == 'RayCluster' ? has(object.spec) : (object.kind == 'RayJob' ? has(object.spec) && has(object.spec.rayClusterSpec) : has(object.spec) && has(object.spec.rayClusterConfig)))";
    let b = ray_base;
    let head_containers = format!(
        "((has({b}.headGroupSpec) && has({b}.headGroupSpec.template) && has({b}.headGroupSpec.template.spec)) ? {} : [])",
        containers(&format!("{b}.headGroupSpec.template.spec"))
    );
    let env_mode = format!(
        "{head_containers}.exists(c, has(c.env) && c.env.exists(e, has(e.name) && e.name == 'RAY_AUTH_MODE' && has(e.value)))"
    );
    // The first container that names RAY_AUTH_MODE, and its first such entry, decide.
    let env_token = format!(
        "{head_containers}.filter(c, has(c.env) && c.env.exists(e, has(e.name) && e.name == 'RAY_AUTH_MODE' && has(e.value)))[0].env.filter(e, has(e.name) && e.name == 'RAY_AUTH_MODE' && has(e.value))[0]"
    );
    let ray = format!(
        "!(object.kind in ['RayCluster', 'RayJob', 'RayService']) || !{present_base} || !(has({b}.headGroupSpec) && has({b}.headGroupSpec.template) && has({b}.headGroupSpec.template.spec)) || (!(has({b}.headGroupSpec.serviceType) && {b}.headGroupSpec.serviceType in ['LoadBalancer', 'NodePort']) && !(has({b}.headGroupSpec.enableIngress) && {b}.headGroupSpec.enableIngress == true) && ((has({b}.authOptions) && has({b}.authOptions.mode) && {b}.authOptions.mode == 'token') || ({env_mode} && {env_token}.value == 'token')))"
    );
    // checks::workload::empty_jupyter_secret as a regular expression, in a CEL
    // double-quoted string (`\\s` reaches RE2 as `\s`).
    let arg = r#"(NotebookApp|ServerApp|IdentityProvider)[.](token|password)(=($|[\\s;]|''|\"\")| =\\s*($|''|\"\"))"#;
    let args = "((has(c.command) ? c.command : []) + (has(c.args) ? c.args : []))";
    let jupyter = format!(
        "({args}.exists(a, a == string(a) && (a.contains('jupyter') || a.contains('App.'))) || (has(c.image) && (c.image.contains('jupyter') || c.image.contains('notebook'))) || {})",
        notebook()
    );
    let jupyter_ok = format!(
        "!{jupyter} || (!{args}.exists(a, a == string(a) && a.matches(\"{arg}\")) && (!has(c.env) || c.env.all(e, !(has(e.name) && e.name in ['JUPYTER_TOKEN', 'JUPYTER_PASSWORD'] && has(e.value)) || (e.value != null && (e.value == true || e.value == false || string(e.value).trim() != '')))))"
    );
    format!("({ray}) && {}", each_container(&jupyter_ok))
}

/// Controls not exported, with why: they read more than the object, or their CEL version is
/// not written yet (the webhook and `mlguard scan` judge them).
pub fn not_exported(catalog: &Catalog) -> Vec<(String, String)> {
    let done: Vec<&str> = exported().iter().map(|e| e.control).collect();
    catalog
        .controls
        .iter()
        .filter(|c| !done.contains(&c.id.as_str()))
        .map(|c| {
            let id = c.id.as_str();
            let why = match id {
                _ if id.starts_with("MLG-RBAC-") => {
                    "judges what bindings grant across roles and namespaces, not one object"
                }
                _ if id.starts_with("MLG-AUD-") => {
                    "judges the API server's audit policy file, which is not admitted"
                }
                _ if id.starts_with("MLG-NET-") => {
                    "judges reachability over the namespace's NetworkPolicies, Services and pods"
                }
                "MLG-QUOTA-001" => "compares a namespace's ResourceQuota with its GPU workloads",
                "MLG-DATA-001" => {
                    "whether a namespace is an ML namespace depends on the workloads in it"
                }
                "MLG-DATA-002" => "reads the labels of the PVCs and Secrets a workload mounts",
                "MLG-ENC-005" => "reads the key provider and artifacts beside the InferenceService",
                "MLG-ENC-006" => "reads PeerAuthentications and Ingress TLS beside the endpoint",
                "MLG-POD-005" => {
                    "reads the ServiceAccount's automountServiceAccountToken when the pod sets none"
                }
                "MLG-IMG-002" | "MLG-MOD-001" => {
                    "judges image and model scan results, which are not in the object"
                }
                "MLG-MOD-002" => {
                    "reads the namespace's labels and signedModelNamespaces from mlguard.yaml, not only the object"
                }
                "MLG-IMG-003" => {
                    "needs allowedRegistries from mlguard.yaml; not yet exported with parameters"
                }
                _ => "object-local, not yet written as CEL: the webhook enforces it",
            };
            (c.id.clone(), why.to_owned())
        })
        .collect()
}

/// How exported controls act where they are bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Deny at or above `deny_at`, warn below.
    Enforce,
    Warn,
    Audit,
}

fn actions(mode: Mode, severity: Severity, deny_at: Severity) -> Value {
    match mode {
        Mode::Enforce if severity >= deny_at => json!(["Deny", "Audit"]),
        Mode::Enforce | Mode::Warn => json!(["Warn", "Audit"]),
        Mode::Audit => json!(["Audit"]),
    }
}

const REGULATED: &[&str] = &["pii", "phi", "pci"];

/// The ValidatingAdmissionPolicy and its bindings for every exported control: one binding
/// for every namespace, or, where a control is more severe in regulated namespaces and that
/// changes its action, one for regulated namespaces (label
/// `mlguard.io/data-classification` in pii, phi, pci) and one for the others.
pub fn export(catalog: &Catalog, mode: Mode, deny_at: Severity) -> Vec<Value> {
    let rules: Vec<Value> = MATCHED
        .iter()
        .map(|(g, res, _)| {
            json!({"apiGroups": [g], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"], "resources": res})
        })
        .collect();
    let mut out = Vec::new();
    for e in exported() {
        let Some(def) = catalog.get(e.control) else {
            continue;
        };
        let name = format!(
            "mlguard-{}",
            e.control.trim_start_matches("MLG-").to_lowercase()
        );
        let meta = |name: &str| {
            json!({"name": name, "labels": {"app.kubernetes.io/managed-by": "mlguard"},
                   "annotations": {"mlguard.io/control": e.control, "mlguard.io/title": def.title}})
        };
        let mut rules = rules.clone();
        if e.config_maps {
            rules.push(json!({"apiGroups": [""], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"], "resources": ["configmaps"]}));
        }
        out.push(json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": meta(&name),
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {"resourceRules": rules},
                "validations": [{"expression": e.expression, "message": e.message, "reason": "Forbidden"}],
                "auditAnnotations": [{"key": "control", "valueExpression": format!("'{}'", e.control)}],
            }
        }));
        let base = actions(mode, def.severity, deny_at);
        let regulated = def.regulated_severity.map(|s| actions(mode, s, deny_at));
        let never = json!({"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": NEVER_JUDGED});
        let binding = |bname: &str, actions: &Value, extra: Option<Value>| {
            let mut exprs = vec![never.clone()];
            exprs.extend(extra);
            json!({
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingAdmissionPolicyBinding",
                "metadata": meta(bname),
                "spec": {
                    "policyName": name,
                    "validationActions": actions,
                    "matchResources": {"namespaceSelector": {"matchExpressions": exprs}},
                }
            })
        };
        match regulated {
            Some(reg) if reg != base => {
                let class = |op: &str| json!({"key": "mlguard.io/data-classification", "operator": op, "values": REGULATED});
                out.push(binding(
                    &format!("{name}-regulated"),
                    &reg,
                    Some(class("In")),
                ));
                out.push(binding(&name, &base, Some(class("NotIn"))));
            }
            _ => out.push(binding(&name, &base, None)),
        }
    }
    out
}
