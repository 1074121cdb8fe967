//! Controls that judge one pod template at a time: POD-001..006 (workload parts), NET-007,
//! IMG-001, IMG-003, QUOTA-003, ENC-001..004 (env part), DATA-002; MOD-002 (in `signing`).

use super::Ctx;
use mlguard_core::inventory::{
    is_gpu_resource, Classification, Container, PodTemplate, WorkloadClass, LABEL_CLASSIFICATION,
};
use mlguard_core::node::{At, Node, Value};

/// Templates a worker checks at a time; one chunk or fewer is checked on the calling thread.
const CHUNK: usize = 512;

pub fn run(ctx: &mut Ctx<'_>) {
    use rayon::prelude::*;
    let templates = ctx.templates.clone();
    if templates.len() <= CHUNK {
        for t in templates.iter() {
            check_template(ctx, t);
        }
        return;
    }
    let shared: &Ctx<'_> = ctx;
    let parts: Vec<Ctx<'_>> = templates
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut c = shared.fork();
            for t in chunk {
                check_template(&mut c, t);
            }
            c
        })
        .collect();
    for p in parts {
        ctx.merge(p);
    }
}

fn check_template(ctx: &mut Ctx<'_>, t: &PodTemplate<'_>) {
    // Every finding below lands on the template's object.
    if !ctx.wants(t.object) {
        return;
    }
    // A namespace that requires signed models opts in whatever `scope` says.
    super::signing::check(ctx, t);
    {
        let ns = ctx.ns_of(t.object);
        if !ctx.in_scope(ns) {
            return;
        }
        host_namespaces(ctx, t);
        for c in &t.containers {
            if c.resources_key == "resources" {
                privileged(ctx, t, c);
                run_as(ctx, t, c);
            }
            image(ctx, t, c);
            gpu_limits(ctx, t, c);
            env(ctx, t, c);
            storage_uri(ctx, t, c);
            jupyter_token(ctx, t, c);
        }
        dev_shm(ctx, t);
        sa_token(ctx, t);
        model_mounts(ctx, t);
        decrypted_to_disk(ctx, t);
        data_classification(ctx, t);
        ray(ctx, t);
    }
}

/// `true`, or the string "true" (which the API server rejects, and which is reported as an input
/// error): read as true so a wrongly typed field never turns into a passed control.
fn truthy(n: &At<'_>) -> bool {
    n.bool() == Some(true) || n.str().is_some_and(|s| s.eq_ignore_ascii_case("true"))
}

fn sc<'a>(c: &Container<'a>) -> Option<At<'a>> {
    c.at.get("securityContext")
}

fn privileged(ctx: &mut Ctx<'_>, t: &PodTemplate<'_>, c: &Container<'_>) {
    ctx.eval("MLG-POD-001");
    if let Some(p) = sc(c).and_then(|s| s.get("privileged")) {
        if truthy(&p) {
            ctx.emit(
                "MLG-POD-001",
                t.object,
                &p,
                format!("container `{}` is privileged", c.name),
            );
        }
    }
}

fn host_namespaces(ctx: &mut Ctx<'_>, t: &PodTemplate<'_>) {
    ctx.eval("MLG-POD-002");
    ctx.eval("MLG-NET-007");
    for key in ["hostIPC", "hostPID"] {
        if let Some(v) = t.spec.get(key) {
            if truthy(&v) {
                ctx.emit(
                    "MLG-POD-002",
                    t.object,
                    &v,
                    format!(
                        "pod shares the host's {} namespace (`{key}: true`)",
                        &key[4..]
                    ),
                );
            }
        }
    }
    if let Some(v) = t.spec.get("hostNetwork") {
        if truthy(&v) {
            ctx.emit(
                "MLG-NET-007",
                t.object,
                &v,
                "pod uses the host network (`hostNetwork: true`); NetworkPolicies do not apply to it",
            );
        }
    }
}

fn int_field(n: Option<&Node>) -> Option<i64> {
    n.and_then(Node::as_i64)
}

fn run_as(ctx: &mut Ctx<'_>, t: &PodTemplate<'_>, c: &Container<'_>) {
    ctx.eval("MLG-POD-004");
    let csc = sc(c);
    let psc = t.spec.get("securityContext");
    let field = |k: &str| {
        csc.as_ref()
            .and_then(|s| s.node.get(k))
            .or_else(|| psc.as_ref().and_then(|s| s.node.get(k)))
    };
    let user = int_field(field("runAsUser"));
    let non_root = field("runAsNonRoot").and_then(Node::as_bool);
    let mut problems = Vec::new();
    if user == Some(0) {
        problems.push("runs as root (`runAsUser: 0`)".to_owned());
    } else if user.is_none() && non_root != Some(true) {
        problems.push(
            "may run as root (no `runAsNonRoot: true` and no non-zero `runAsUser`)".to_owned(),
        );
    }
    let ape = csc
        .as_ref()
        .and_then(|s| s.node.get("allowPrivilegeEscalation"))
        .and_then(Node::as_bool);
    if ape != Some(false) {
        problems.push("`allowPrivilegeEscalation` is not false".to_owned());
    }
    if !problems.is_empty() {
        let at = csc.unwrap_or_else(|| c.at.clone());
        ctx.emit(
            "MLG-POD-004",
            t.object,
            &at,
            format!("container `{}` {}", c.name, problems.join("; ")),
        );
    }
}

/// Registry and repository path of an image reference (`docker.io/library/x` for `x`).
pub fn image_repo(image: &str) -> (String, String) {
    let without_digest = image.split('@').next().unwrap_or(image);
    let (first, rest) = match without_digest.split_once('/') {
        Some((f, r)) if f.contains('.') || f.contains(':') || f == "localhost" => {
            (f.to_owned(), r.to_owned())
        }
        Some(_) => ("docker.io".to_owned(), without_digest.to_owned()),
        None => ("docker.io".to_owned(), format!("library/{without_digest}")),
    };
    let repo = match rest.rsplit_once(':') {
        Some((r, tag)) if !tag.contains('/') => r.to_owned(),
        _ => rest,
    };
    (first, repo)
}

fn image(ctx: &mut Ctx<'_>, t: &PodTemplate<'_>, c: &Container<'_>) {
    let Some(img) = c.image() else { return };
    let Some(s) = img.str() else { return };
    ctx.eval("MLG-IMG-001");
    let (name_part, digest) = match s.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (s, None),
    };
    let last = name_part.rsplit('/').next().unwrap_or(name_part);
    let tag = last.split_once(':').map(|(_, t)| t);
    let pinned = digest.is_some_and(|d| d.starts_with("sha256:") || d.starts_with("sha512:"));
    if !pinned {
        let why = match tag {
            None => "has no tag (means `latest`) and no digest",
            Some("latest") => "is tagged `latest`",
            Some(_) => "is not pinned by digest",
        };
        ctx.emit(
            "MLG-IMG-001",
            t.object,
            &img,
            format!("image `{s}` of container `{}` {why}", c.name),
        );
    }
    if ctx.cfg.allowed_registries.is_empty() {
        ctx.skipped
            .entry("MLG-IMG-003".to_owned())
            .or_insert_with(|| "no `allowedRegistries` configured in mlguard.yaml".to_owned());
        return;
    }
    ctx.eval("MLG-IMG-003");
    let (reg, repo) = image_repo(s);
    let full = format!("{reg}/{repo}");
    let allowed = ctx.cfg.allowed_registries.iter().any(|a| {
        let a = a.trim_end_matches('/');
        full == a || full.starts_with(&format!("{a}/")) || reg == a
    });
    if !allowed {
        ctx.emit(
            "MLG-IMG-003",
            t.object,
            &img,
            format!("image `{s}` comes from `{reg}`, which is not in allowedRegistries"),
        );
    }
}

/// A quantity that is a whole number (`1`, `"2"`), for extended resources.
fn whole_quantity(n: &Node) -> bool {
    match &n.value {
        Value::Int(i) => *i >= 0,
        Value::Str(s) => !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    }
}

fn gpu_limits(ctx: &mut Ctx<'_>, t: &PodTemplate<'_>, c: &Container<'_>) {
    let Some(res) = c.resources() else { return };
    let limits = res.get("limits");
    let requests = res.get("requests");
    let gpu_keys = |m: &Option<At<'_>>| -> Vec<String> {
        m.as_ref()
            .map(|m| {
                m.node
                    .entries()
                    .iter()
                    .filter(|e| is_gpu_resource(&e.key))
                    .map(|e| e.key.to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let lk = gpu_keys(&limits);
    let rk = gpu_keys(&requests);
    if lk.is_empty() && rk.is_empty() {
        return;
    }
    ctx.eval("MLG-QUOTA-003");
    for k in &rk {
        if !lk.contains(k) {
            let at = requests
                .as_ref()
                .and_then(|r| r.get(k))
                .unwrap_or_else(|| res.clone());
            ctx.emit(
                "MLG-QUOTA-003",
                t.object,
                &at,
                format!("container `{}` requests `{k}` without a limit", c.name),
            );
        } else if let (Some(r), Some(l)) = (
            requests.as_ref().and_then(|r| r.get(k)),
            limits.as_ref().and_then(|l| l.get(k)),
        ) {
            if r.node.scalar_text() != l.node.scalar_text() {
                ctx.emit(
                    "MLG-QUOTA-003",
                    t.object,
                    &r,
                    format!(
                        "container `{}`: `{k}` request differs from its limit",
                        c.name
                    ),
                );
            }
        }
    }
    for (k, v) in lk
        .iter()
        .filter_map(|k| limits.as_ref().and_then(|l| l.get(k)).map(|v| (k, v)))
    {
        if !whole_quantity(v.node) {
            ctx.emit(
                "MLG-QUOTA-003",
                t.object,
                &v,
                format!(
                    "container `{}`: `{k}` must be a whole number of devices, not a fraction",
                    c.name
                ),
            );
        }
    }
    let all: Vec<&String> = lk.iter().chain(rk.iter()).collect();
    let whole = all.iter().any(|k| k.as_str() == "nvidia.com/gpu");
    let mig = all.iter().any(|k| k.starts_with("nvidia.com/mig-"));
    if whole && mig {
        ctx.emit(
            "MLG-QUOTA-003",
            t.object,
            &res,
            format!("container `{}` mixes whole GPUs and MIG slices", c.name),
        );
    }
}

/// Env names that denote a secret when given a literal value.
fn secret_like_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    let reference = [
        "_FILE", "_PATH", "_DIR", "_URI", "_URL", "_NAME", "_ENABLED", "_MODE", "_TYPE",
        "_ID_FILE", "_REF",
    ]
    .iter()
    .any(|s| n.ends_with(s));
    if reference {
        return false;
    }
    [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "ACCESS_KEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
        "AUTH_KEY",
        "ENCRYPTION_KEY",
    ]
    .iter()
    .any(|p| n.contains(p))
        || n.ends_with("_KEY")
        || n == "KEY"
}

/// Values that point at a secret rather than being one.
fn reference_like_value(v: &str) -> bool {
    let v = v.trim();
    v.is_empty()
        || v.starts_with('/')
        || v.starts_with("$(")
        || v.starts_with("${")
        || v.contains("://")
        || v.starts_with("pkcs11:")
        || matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "none" | "null" | "changeme" | "<redacted>"
        )
}

/// Values that are credentials whatever their name (never printed).
pub fn credential_signature(v: &str) -> Option<&'static str> {
    let v = v.trim();
    let alnum_run =
        |s: &str, n: usize| s.len() >= n && s.chars().take(n).all(|c| c.is_ascii_alphanumeric());
    if (v.starts_with("AKIA") || v.starts_with("ASIA"))
        && v.len() == 20
        && v.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Some("an AWS access key ID");
    }
    if v.contains("-----BEGIN") && v.contains("PRIVATE KEY") {
        return Some("a private key");
    }
    if let Some(r) = v.strip_prefix("hf_") {
        if alnum_run(r, 30) {
            return Some("a Hugging Face token");
        }
    }
    if let Some(r) = v
        .strip_prefix("ghp_")
        .or_else(|| v.strip_prefix("github_pat_"))
    {
        if alnum_run(r, 20) {
            return Some("a GitHub token");
        }
    }
    if let Some(r) = v.strip_prefix("sk-") {
        if r.len() >= 20
            && r.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Some("an API secret key");
        }
    }
    if let Some(r) = v.strip_prefix("AGE-SECRET-KEY-") {
        if r.len() > 20 {
            return Some("an age identity");
        }
    }
    None
}

/// Judge one `name: value` pair of env or ConfigMap data: Some(description) if it holds a
/// credential. The value itself never leaves this function.
pub fn literal_secret(name: &str, value: &str) -> Option<String> {
    if let Some(sig) = credential_signature(value) {
        return Some(format!("`{name}` holds {sig}"));
    }
    if secret_like_name(name) && !reference_like_value(value) {
        return Some(format!("`{name}` is a credential given as a literal value"));
    }
    None
}

const PLAINTEXT_FLAGS: &[&str] = &[
    "S3_USE_HTTPS",
    "S3_VERIFY_SSL",
    "AWS_S3_USE_HTTPS",
    "AWS_S3_VERIFY_SSL",
    "S3_USE_SSL",
];

fn storage_env_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "S3",
        "MODEL",
        "STORAGE",
        "MLFLOW",
        "MINIO",
        "ARTIFACT",
        "BUCKET",
        "HF_ENDPOINT",
        "AWS_ENDPOINT",
        "GCS",
        "AZURE",
    ]
    .iter()
    .any(|p| n.contains(p))
}

/// An `http://` URL to something other than loopback.
pub fn plaintext_url(v: &str) -> bool {
    let Some(rest) = v.trim().strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    !matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

fn falsy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "0" | "false" | "no" | "off"
    )
}

fn env(ctx: &mut Ctx<'_>, t: &PodTemplate<'_>, c: &Container<'_>) {
    let Some(envs) = c.at.get("env") else {
        ctx.eval("MLG-ENC-004");
        return;
    };
    ctx.eval("MLG-ENC-004");
    for e in envs.items() {
        let Some(name) = e.get("name").and_then(|n| n.str()) else {
            continue;
        };
        let Some(v) = e.get("value") else { continue };
        let Some(text) = v.node.scalar_text() else {
            continue;
        };
        if let Some(why) = literal_secret(name, &text) {
            ctx.emit(
                "MLG-ENC-004",
                t.object,
                &v,
                format!(
                    "container `{}`: env {why}; use valueFrom.secretKeyRef",
                    c.name
                ),
            );
        }
        let upper = name.to_ascii_uppercase();
        if PLAINTEXT_FLAGS.contains(&upper.as_str()) && falsy(&text) {
            ctx.eval("MLG-ENC-002");
            ctx.emit(
                "MLG-ENC-002",
                t.object,
                &v,
                format!(
                    "container `{}`: `{name}={text}` turns TLS off for model storage",
                    c.name
                ),
            );
        } else if storage_env_name(name) && text.starts_with("http") {
            ctx.eval("MLG-ENC-002");
            if plaintext_url(&text) {
                ctx.emit(
                    "MLG-ENC-002",
                    t.object,
                    &v,
                    format!(
                        "container `{}`: `{name}` points at storage over plaintext http://",
                        c.name
                    ),
                );
            }
        }
    }
}

fn storage_uri(ctx: &mut Ctx<'_>, t: &PodTemplate<'_>, c: &Container<'_>) {
    let mut uris: Vec<At<'_>> = c.at.get("storageUri").into_iter().collect();
    if let Some(list) = c.at.get("storageUris") {
        uris.extend(list.items().filter_map(|i| {
            if i.node.is_map() {
                i.get("uri")
            } else {
                Some(i)
            }
        }));
    }
    for u in uris {
        let Some(s) = u.str() else { continue };
        ctx.eval("MLG-ENC-002");
        if plaintext_url(s) {
            ctx.emit(
                "MLG-ENC-002",
                t.object,
                &u,
                format!("model fetched over plaintext: storageUri `{s}`"),
            );
        }
    }
}

/// Arguments that start Jupyter with an empty token or password.
pub fn empty_jupyter_secret(arg: &str) -> bool {
    for key in [".token=", ".password=", ".token =", ".password ="] {
        let mut rest = arg;
        while let Some(i) = rest.find(key) {
            let prefix = &rest[..i];
            let raw = &rest[i + key.len()..];
            let after = raw.trim_start();
            let is_jupyter = [
                "NotebookApp",
                "ServerApp",
                "IdentityProvider",
                "PasswordIdentityProvider",
            ]
            .iter()
            .any(|p| prefix.ends_with(p));
            let quoted_empty = after.starts_with("''") || after.starts_with("\"\"");
            let empty = if key.ends_with(" =") {
                after.is_empty() || quoted_empty
            } else {
                raw.is_empty()
                    || raw.starts_with(char::is_whitespace)
                    || raw.starts_with(';')
                    || quoted_empty
            };
            if is_jupyter && empty {
                return true;
            }
            rest = &rest[i + key.len()..];
        }
    }
    false
}

fn jupyter_token(ctx: &mut Ctx<'_>, t: &PodTemplate<'_>, c: &Container<'_>) {
    let mut args: Vec<At<'_>> = Vec::new();
    for k in ["command", "args"] {
        if let Some(l) = c.at.get(k) {
            args.extend(l.items());
        }
    }
    let mentions_jupyter = args.iter().any(|a| {
        a.str()
            .is_some_and(|s| s.contains("jupyter") || s.contains("App."))
    }) || c
        .image()
        .and_then(|i| i.str())
        .is_some_and(|i| i.contains("jupyter") || i.contains("notebook"))
        || t.class == WorkloadClass::Notebook;
    if !mentions_jupyter {
        return;
    }
    ctx.eval("MLG-POD-006");
    for a in &args {
        if a.str().is_some_and(empty_jupyter_secret) {
            ctx.emit(
                "MLG-POD-006",
                t.object,
                a,
                format!(
                    "container `{}` starts Jupyter with an empty token or password",
                    c.name
                ),
            );
        }
    }
    if let Some(envs) = c.at.get("env") {
        for e in envs.items() {
            let name = e.get("name").and_then(|n| n.str()).unwrap_or_default();
            if name == "JUPYTER_TOKEN" || name == "JUPYTER_PASSWORD" {
                if let Some(v) = e.get("value") {
                    if v.node.scalar_text().is_some_and(|s| s.trim().is_empty()) || v.node.is_null()
                    {
                        ctx.emit(
                            "MLG-POD-006",
                            t.object,
                            &v,
                            format!("container `{}`: `{name}` is empty", c.name),
                        );
                    }
                }
            }
        }
    }
}

/// Volume by name in the pod spec.
fn volume<'a>(t: &PodTemplate<'a>, name: &str) -> Option<At<'a>> {
    t.spec
        .get("volumes")?
        .items()
        .find(|v| v.get("name").and_then(|n| n.str()) == Some(name))
}

/// (container, mount) for every volumeMount of the template.
fn mounts<'a>(t: &PodTemplate<'a>) -> Vec<(Container<'a>, At<'a>)> {
    let mut out = Vec::new();
    for c in &t.containers {
        if let Some(vm) = c.at.get("volumeMounts") {
            for m in vm.items() {
                out.push((c.clone(), m));
            }
        }
    }
    out
}

fn dev_shm(ctx: &mut Ctx<'_>, t: &PodTemplate<'_>) {
    for (c, m) in mounts(t) {
        if m.get("mountPath")
            .and_then(|p| p.str())
            .map(|p| p.trim_end_matches('/'))
            != Some("/dev/shm")
        {
            continue;
        }
        let Some(vname) = m.get("name").and_then(|n| n.str()) else {
            continue;
        };
        let Some(v) = volume(t, vname) else { continue };
        ctx.eval("MLG-POD-003");
        match v.get("emptyDir") {
            Some(ed) => {
                let mem = ed.get("medium").and_then(|m| m.str()) == Some("Memory");
                let size = ed.get("sizeLimit").is_some();
                if !mem || !size {
                    let what = match (mem, size) {
                        (false, false) => "is disk-backed and has no sizeLimit",
                        (false, true) => "is disk-backed (no `medium: Memory`)",
                        _ => "has no sizeLimit",
                    };
                    ctx.emit(
                        "MLG-POD-003",
                        t.object,
                        &ed,
                        format!("/dev/shm volume `{vname}` of container `{}` {what}", c.name),
                    );
                }
            }
            None => ctx.emit(
                "MLG-POD-003",
                t.object,
                &v,
                format!(
                    "/dev/shm of container `{}` is not a memory-backed emptyDir",
                    c.name
                ),
            ),
        }
    }
}

fn sa_token(ctx: &mut Ctx<'_>, t: &PodTemplate<'_>) {
    if t.class != WorkloadClass::Training
        || t.containers.iter().all(|c| c.resources_key != "resources")
    {
        return;
    }
    ctx.eval("MLG-POD-005");
    let needs_api = |n: Option<&Node>| {
        n.and_then(|m| m.at("annotations"))
            .and_then(|a| a.get("mlguard.io/needs-api"))
            .and_then(Node::as_str)
            == Some("true")
    };
    let obj = &ctx.inv.objects[t.object];
    if needs_api(t.meta.as_ref().map(|m| m.node)) || needs_api(obj.metadata()) {
        return;
    }
    let explicit = t.spec.get("automountServiceAccountToken");
    match explicit.as_ref().and_then(|e| e.bool()) {
        Some(false) => {}
        Some(true) => {
            if let Some(e) = &explicit {
                ctx.emit(
                    "MLG-POD-005",
                    t.object,
                    e,
                    "training pod mounts a service account token it does not need",
                );
            }
        }
        None => {
            let sa = t
                .spec
                .node
                .get("serviceAccountName")
                .and_then(Node::as_str)
                .unwrap_or("default");
            let ns = obj.namespace.as_deref();
            let sa_off = ctx.inv.objects_of("ServiceAccount").any(|(_, o)| {
                o.name == sa
                    && o.namespace.as_deref() == ns
                    && o.root
                        .get("automountServiceAccountToken")
                        .and_then(Node::as_bool)
                        == Some(false)
            });
            if !sa_off {
                ctx.emit(
                    "MLG-POD-005",
                    t.object,
                    &t.spec,
                    format!("training pod mounts the token of service account `{sa}` (set automountServiceAccountToken: false)"),
                );
            }
        }
    }
}

fn model_mounts(ctx: &mut Ctx<'_>, t: &PodTemplate<'_>) {
    if t.class != WorkloadClass::Serving {
        return;
    }
    ctx.eval("MLG-ENC-001");
    for (c, m) in mounts(t) {
        if c.init {
            continue; // storage initializers write the model before the server starts
        }
        let Some(vname) = m.get("name").and_then(|n| n.str()) else {
            continue;
        };
        let path = m.get("mountPath").and_then(|p| p.str()).unwrap_or_default();
        let Some(v) = volume(t, vname) else { continue };
        if let Some(hp) = v.get("hostPath") {
            ctx.emit(
                "MLG-ENC-001",
                t.object,
                &hp,
                format!(
                    "serving container `{}` mounts volume `{vname}` from the node (hostPath)",
                    c.name
                ),
            );
            continue;
        }
        let pvc = v.get("persistentVolumeClaim");
        let modelish = path.to_ascii_lowercase().contains("model")
            || vname.to_ascii_lowercase().contains("model")
            || pvc.is_some();
        let ro = m.get("readOnly").and_then(|r| r.bool()) == Some(true)
            || pvc
                .as_ref()
                .and_then(|p| p.get("readOnly"))
                .and_then(|r| r.bool())
                == Some(true);
        if modelish && !ro {
            ctx.emit(
                "MLG-ENC-001",
                t.object,
                &m,
                format!("serving container `{}` mounts model volume `{vname}` at `{path}` writable (set readOnly: true)", c.name),
            );
        }
    }
}

fn is_decryptor(c: &Container<'_>) -> bool {
    let mut text = c.name.to_ascii_lowercase();
    for k in ["image", "command", "args"] {
        if let Some(n) = c.at.get(k) {
            if let Some(s) = n.str() {
                text.push_str(&s.to_ascii_lowercase());
            }
            for i in n.items() {
                if let Some(s) = i.str() {
                    text.push(' ');
                    text.push_str(&s.to_ascii_lowercase());
                }
            }
        }
    }
    text.contains("decrypt") || text.contains("unseal") || text.contains("unwrap")
}

fn decrypted_to_disk(ctx: &mut Ctx<'_>, t: &PodTemplate<'_>) {
    let Some(vols) = t.spec.get("volumes") else {
        return;
    };
    for v in vols.items() {
        let Some(ed) = v.get("emptyDir") else {
            continue;
        };
        let vname = v.get("name").and_then(|n| n.str()).unwrap_or_default();
        let lname = vname.to_ascii_lowercase();
        let named = ["decrypt", "plain", "key", "secret", "unsealed"]
            .iter()
            .any(|p| lname.contains(p));
        let by_decryptor = mounts(t)
            .iter()
            .any(|(c, m)| m.get("name").and_then(|n| n.str()) == Some(vname) && is_decryptor(c));
        if !named && !by_decryptor {
            continue;
        }
        ctx.eval("MLG-ENC-003");
        let mem = ed.get("medium").and_then(|m| m.str()) == Some("Memory");
        let size = ed.get("sizeLimit").is_some();
        if !mem {
            ctx.emit(
                "MLG-ENC-003",
                t.object,
                &ed,
                format!("volume `{vname}` holds decrypted model or key material on node disk (emptyDir without `medium: Memory`)"),
            );
        } else if !size {
            ctx.emit(
                "MLG-ENC-003",
                t.object,
                &ed,
                format!("memory-backed volume `{vname}` has no sizeLimit"),
            );
        }
    }
}

fn data_classification(ctx: &mut Ctx<'_>, t: &PodTemplate<'_>) {
    let Some(ns) = ctx.ns_of(t.object) else {
        return;
    };
    let ns_class = ctx.inv.classification(ns);
    let Some(vols) = t.spec.get("volumes") else {
        return;
    };
    let lookup = |kind: &str, name: &str| -> Option<Classification> {
        ctx.inv.find(kind, Some(ns), name).map(|(_, o)| {
            o.label(LABEL_CLASSIFICATION)
                .and_then(Classification::parse)
                .unwrap_or(Classification::Internal)
        })
    };
    let mut refs: Vec<(At<'_>, &str, String)> = Vec::new();
    for v in vols.items() {
        if let Some(c) = v.at(&["persistentVolumeClaim", "claimName"]) {
            if let Some(n) = c.str() {
                refs.push((c.clone(), "PersistentVolumeClaim", n.to_owned()));
            }
        }
        if let Some(c) = v.at(&["secret", "secretName"]) {
            if let Some(n) = c.str() {
                refs.push((c.clone(), "Secret", n.to_owned()));
            }
        }
        if let Some(srcs) = v.at(&["projected", "sources"]) {
            for s in srcs.items() {
                if let Some(c) = s.at(&["secret", "name"]) {
                    if let Some(n) = c.str() {
                        refs.push((c.clone(), "Secret", n.to_owned()));
                    }
                }
            }
        }
    }
    for (at, kind, name) in refs {
        let Some(data_class) = lookup(kind, &name) else {
            continue;
        };
        ctx.eval("MLG-DATA-002");
        if data_class.rank() > ns_class.rank() {
            ctx.emit(
                "MLG-DATA-002",
                t.object,
                &at,
                format!(
                    "{kind} `{name}` holds {} data but namespace `{ns}` is classified {}",
                    data_class.as_str(),
                    ns_class.as_str()
                ),
            );
        }
    }
}

fn ray(ctx: &mut Ctx<'_>, t: &PodTemplate<'_>) {
    let obj = &ctx.inv.objects[t.object];
    if obj.group() != "ray.io" || t.role.as_deref() != Some("head") {
        return;
    }
    ctx.eval("MLG-POD-006");
    let root = obj.at();
    let cluster = match obj.kind.as_str() {
        "RayCluster" => root.get("spec"),
        "RayJob" => root.at(&["spec", "rayClusterSpec"]),
        _ => root.at(&["spec", "rayClusterConfig"]),
    };
    let Some(cluster) = cluster else { return };
    if let Some(st) = cluster.at(&["headGroupSpec", "serviceType"]) {
        if matches!(st.str(), Some("LoadBalancer" | "NodePort")) {
            ctx.emit(
                "MLG-POD-006",
                t.object,
                &st,
                format!(
                    "Ray head service is exposed as {} (the Ray dashboard and job API run code)",
                    st.str().unwrap_or_default()
                ),
            );
        }
    }
    if let Some(ing) = cluster.at(&["headGroupSpec", "enableIngress"]) {
        if ing.bool() == Some(true) {
            ctx.emit(
                "MLG-POD-006",
                t.object,
                &ing,
                "Ray head is exposed through an Ingress (`enableIngress: true`)",
            );
        }
    }
    let mode = cluster.at(&["authOptions", "mode"]);
    let env_mode = t.containers.iter().find_map(|c| {
        c.at.get("env")?.items().find_map(|e| {
            (e.get("name").and_then(|n| n.str()) == Some("RAY_AUTH_MODE"))
                .then(|| e.get("value"))
                .flatten()
        })
    });
    let token = mode.as_ref().and_then(|m| m.str()) == Some("token")
        || env_mode.as_ref().and_then(|m| m.str()) == Some("token");
    if !token {
        let at = mode.or(env_mode).unwrap_or_else(|| cluster.clone());
        ctx.emit(
            "MLG-POD-006",
            t.object,
            &at,
            "Ray token authentication is not enabled (set `authOptions.mode: token`); without it anyone who reaches the head can run code",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        assert_eq!(image_repo("pytorch/pytorch:2.1.0").0, "docker.io");
        assert_eq!(image_repo("ubuntu").1, "library/ubuntu");
        assert_eq!(
            image_repo("nvcr.io/nvidia/pytorch:24.01-py3"),
            ("nvcr.io".into(), "nvidia/pytorch".into())
        );
        assert_eq!(
            image_repo("localhost:5000/x@sha256:ab"),
            ("localhost:5000".into(), "x".into())
        );
    }

    #[test]
    fn secrets_are_recognised_without_printing_them() {
        assert!(literal_secret("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI").is_some());
        assert!(literal_secret("HF_TOKEN", "abc").is_some());
        assert!(literal_secret("TOKEN_PATH", "/var/run/token").is_none());
        assert!(literal_secret("MODEL_KEY_URI", "awskms://arn:aws:kms:x").is_none());
        assert!(literal_secret("MODEL_ENCRYPTION_KEY", "vault://transit/keys/m").is_none());
        assert!(literal_secret("LOG_LEVEL", "info").is_none());
        let m = literal_secret("ANYTHING", "AKIAIOSFODNN7EXAMPLE").expect("aws key id");
        assert!(!m.contains("AKIA"));
        assert!(literal_secret("X", "hf_abcdefghijklmnopqrstuvwxyz0123456789").is_some());
    }

    #[test]
    fn jupyter_empty_token() {
        assert!(empty_jupyter_secret("--NotebookApp.token=''"));
        assert!(empty_jupyter_secret("--ServerApp.token="));
        assert!(empty_jupyter_secret(
            "jupyter lab --ServerApp.token= --ip=0.0.0.0"
        ));
        assert!(empty_jupyter_secret("--NotebookApp.password=\"\""));
        assert!(!empty_jupyter_secret("--ServerApp.token=s3cr3t"));
        assert!(!empty_jupyter_secret("--ServerApp.base_url=/x"));
    }

    #[test]
    fn plaintext_urls() {
        assert!(plaintext_url("http://minio.storage:9000"));
        assert!(!plaintext_url("https://s3.amazonaws.com"));
        assert!(!plaintext_url("http://localhost:9000"));
    }
}
