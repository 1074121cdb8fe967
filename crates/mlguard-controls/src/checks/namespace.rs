//! Controls that judge a namespace or a policy object against the rest of the Inventory:
//! NET-001, NET-008, QUOTA-001, QUOTA-002, DATA-001, ENC-002 (annotations, SecretProviderClass),
//! ENC-004 (ConfigMaps), ENC-005, ENC-006, POD-006 (Services and Ingresses).

use super::workload::{literal_secret, plaintext_url};
use super::Ctx;
use mlguard_core::inventory::{
    requests_gpu, Classification, PodTemplate, WorkloadClass, LABEL_CLASSIFICATION,
};
use mlguard_core::node::{At, Node};
use mlguard_core::selector::Selector;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

type Labels = BTreeMap<String, String>;
/// Pod labels of every template per namespace, with the template's class and object: the
/// template's shared label map (a copy costs a reference count).
type PodsByNs = BTreeMap<String, Vec<PodOf>>;
/// A template's pod labels, class and object.
type PodOf = (Arc<Labels>, WorkloadClass, usize);

pub fn run(ctx: &mut Ctx<'_>) {
    let pods = pod_labels_by_ns(ctx);
    default_deny(ctx);
    dead_policies(ctx, &pods);
    gpu_quota(ctx);
    quota_context(ctx);
    classification_label(ctx);
    config_maps(ctx);
    storage_tls_settings(ctx);
    encryption_at_rest(ctx);
    transport_security(ctx, &pods);
    exposed_endpoints(ctx, &pods);
}

/// Pod labels of every template, per namespace, with the template's class.
fn pod_labels_by_ns(ctx: &Ctx<'_>) -> PodsByNs {
    use rayon::prelude::*;
    let label = |t: &PodTemplate<'_>| {
        let ns = ctx.ns_of(t.object)?;
        Some((
            ns.to_owned(),
            (ctx.inv.pod_labels_shared(t).clone(), t.class, t.object),
        ))
    };
    let labelled: Vec<(String, PodOf)> = if ctx.templates.len() < mlguard_core::PAR_MIN {
        ctx.templates.iter().filter_map(label).collect()
    } else {
        ctx.templates.par_iter().filter_map(label).collect()
    };
    let mut out = PodsByNs::new();
    for (ns, v) in labelled {
        out.entry(ns).or_default().push(v);
    }
    out
}

/// The ML namespaces whose namespace-level findings are wanted. With a focus (an admission
/// decision), only the focus object's own namespace (its name, for a Namespace): another
/// namespace's findings land on its Namespace object or on one of its objects, never on the
/// focus, and a cluster's namespaces are many.
fn ml_namespaces(ctx: &Ctx<'_>) -> Vec<String> {
    let focus = ctx.focus.map(|f| {
        let o = &ctx.inv.objects[f];
        if o.kind == "Namespace" {
            Some(o.name.as_str())
        } else {
            o.namespace.as_deref()
        }
    });
    match focus {
        // One lookup, not a walk over every ML namespace of the cluster.
        Some(f) => f
            .filter(|n| ctx.inv.is_ml_namespace(n) && ctx.inv.namespace(n).is_some())
            .map(str::to_owned)
            .into_iter()
            .collect(),
        None => ctx.inv.ml_namespaces().map(|n| n.name.clone()).collect(),
    }
}

/// The objects of `objects` whose findings are wanted: all of them, or with a focus (an
/// admission decision) the focus alone. For checks whose findings land on the object they
/// look at, so that a decision does not judge what it would drop.
fn wanted(ctx: &Ctx<'_>, mut objects: Vec<usize>) -> Vec<usize> {
    objects.retain(|&i| ctx.wants(i));
    objects
}

/// Effective policyTypes as the API server defaults them.
fn policy_types(p: &Node) -> (bool, bool) {
    match p.at("spec.policyTypes") {
        Some(t) if t.is_seq() => {
            let has = |s: &str| t.items().iter().any(|i| i.as_str() == Some(s));
            (has("Ingress"), has("Egress"))
        }
        _ => (true, p.at("spec.egress").is_some()),
    }
}

fn selects_all(p: &Node) -> bool {
    match p.at("spec.podSelector") {
        None => true,
        Some(s) => Selector::parse(s).is_ok_and(|s| s.is_empty()),
    }
}

/// A rule with no peers and no ports allows everything in its direction.
fn has_allow_all(p: &Node, dir: &str, peers: &str) -> bool {
    p.at(&format!("spec.{dir}")).is_some_and(|rules| {
        rules.items().iter().any(|r| {
            let no_peers = r.get(peers).is_none_or(|x| x.items().is_empty());
            let no_ports = r.get("ports").is_none_or(|x| x.items().is_empty());
            no_peers && no_ports
        })
    })
}

fn default_deny(ctx: &mut Ctx<'_>) {
    for ns in ml_namespaces(ctx) {
        ctx.eval("MLG-NET-001");
        // The finding lands on the namespace's anchor: with a focus, only there is it worked on.
        let Some(anchor) = ctx.namespace_anchor(&ns) else {
            continue;
        };
        if !ctx.wants(anchor) {
            continue;
        }
        let mut ing = false;
        let mut egr = false;
        let mut ing_open = false;
        let mut egr_open = false;
        for (_, p) in ctx.inv.objects_in("NetworkPolicy", &ns) {
            if !p.api_version.starts_with("networking.k8s.io/") {
                continue;
            }
            if !selects_all(&p.root) {
                continue;
            }
            let (i, e) = policy_types(&p.root);
            ing |= i;
            egr |= e;
            ing_open |= i && has_allow_all(&p.root, "ingress", "from");
            egr_open |= e && has_allow_all(&p.root, "egress", "to");
        }
        let mut missing = Vec::new();
        if !ing || ing_open {
            missing.push("ingress");
        }
        if !egr || egr_open {
            missing.push("egress");
        }
        if missing.is_empty() {
            continue;
        }
        let at = ctx.inv.objects[anchor].at();
        ctx.emit(
            "MLG-NET-001",
            anchor,
            &at,
            format!(
                "ML namespace `{ns}` has no default-deny NetworkPolicy for {}",
                missing.join(" and ")
            ),
        );
    }
}

fn dead_policies(ctx: &mut Ctx<'_>, pods: &PodsByNs) {
    let empty = Vec::new();
    let policies: Vec<usize> = ctx
        .inv
        .objects_of("NetworkPolicy")
        .filter(|(_, o)| {
            o.api_version.starts_with("networking.k8s.io/") && ctx.in_scope(o.namespace.as_deref())
        })
        .map(|(i, _)| i)
        // Findings land on the policy itself: with a focus, only the focus is worked on (the
        // counts of a focused scan are not reported).
        .filter(|&i| ctx.wants(i))
        .collect();
    for idx in policies {
        ctx.eval("MLG-NET-008");
        let o = &ctx.inv.objects[idx];
        let ns = o.namespace.clone().unwrap_or_default();
        let ns_pods = pods.get(&ns).unwrap_or(&empty);
        let root = o.at();
        if let Some(ps) = root.at(&["spec", "podSelector"]) {
            if let Ok(sel) = Selector::parse(ps.node) {
                if !sel.is_empty() && !ns_pods.iter().any(|(l, _, _)| sel.matches(l)) {
                    ctx.emit(
                        "MLG-NET-008",
                        idx,
                        &ps,
                        format!(
                            "NetworkPolicy `{}` selects no pods in namespace `{ns}`",
                            o.name
                        ),
                    );
                }
            }
        }
        for (dir, peers) in [("ingress", "from"), ("egress", "to")] {
            let Some(rules) = root.at(&["spec", dir]) else {
                continue;
            };
            for r in rules.items() {
                let Some(list) = r.get(peers) else { continue };
                for peer in list.items() {
                    if let Some(why) = dead_peer(ctx, &ns, &peer, pods) {
                        ctx.emit(
                            "MLG-NET-008",
                            idx,
                            &peer,
                            format!("NetworkPolicy `{}`: {dir} peer {why}", o.name),
                        );
                    }
                }
            }
        }
    }
}

/// Why a peer can match nothing, when the inputs allow that conclusion.
fn dead_peer(ctx: &Ctx<'_>, ns: &str, peer: &At<'_>, pods: &PodsByNs) -> Option<String> {
    if peer.get("ipBlock").is_some() {
        return None;
    }
    let pod_sel = peer
        .get("podSelector")
        .and_then(|p| Selector::parse(p.node).ok());
    let namespaces: Vec<String> = match peer.get("namespaceSelector") {
        None => vec![ns.to_owned()],
        Some(nsel) => {
            let sel = Selector::parse(nsel.node).ok()?;
            let matched: Vec<String> = ctx
                .inv
                .namespaces
                .values()
                .filter(|n| sel.matches(&n.labels))
                .map(|n| n.name.clone())
                .collect();
            if matched.is_empty() {
                // A selector that only names namespaces refers to namespaces that may simply
                // not be among the inputs (kube-system for DNS): no conclusion.
                if sel.only_names_namespaces() {
                    return None;
                }
                return Some("has a namespaceSelector that matches no namespace".to_owned());
            }
            matched
        }
    };
    let sel = pod_sel?;
    if sel.is_empty() {
        return None;
    }
    let mut any_pods = false;
    for n in &namespaces {
        if let Some(list) = pods.get(n) {
            any_pods |= !list.is_empty();
            if list.iter().any(|(l, _, _)| sel.matches(l)) {
                return None;
            }
        }
    }
    any_pods.then(|| "has a podSelector that matches no pod".to_owned())
}

fn quota_keys(ctx: &Ctx<'_>, ns: &str) -> Vec<String> {
    ctx.inv
        .objects_in("ResourceQuota", ns)
        .flat_map(|(_, o)| {
            o.root
                .at("spec.hard")
                .map(|h| {
                    h.entries()
                        .iter()
                        .map(|e| e.key.to_string())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .collect()
}

fn gpu_quota_key(k: &str) -> bool {
    k == "requests.nvidia.com/gpu"
        || k.starts_with("requests.nvidia.com/mig-")
        || k == "requests.amd.com/gpu"
        || k.starts_with("requests.gpu.intel.com/")
        || k.ends_with(".deviceclass.resource.k8s.io/devices")
}

/// The report's `quotas` section: `{namespace: {resource: quantity}}` from every ResourceQuota's
/// `spec.hard`. Several quotas in one namespace each bind, so when two set the same resource
/// to plain numbers (GPU counts) the smaller is kept; otherwise the first one read.
fn quota_context(ctx: &mut Ctx<'_>) {
    if ctx.focus.is_some() {
        return;
    }
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (_, o) in ctx.inv.objects_of("ResourceQuota") {
        let (Some(ns), Some(hard)) = (o.namespace.as_deref(), o.root.at("spec.hard")) else {
            continue;
        };
        let m = out.entry(ns.to_owned()).or_default();
        for e in hard.entries() {
            let Some(v) = e.value.scalar_text() else {
                continue;
            };
            let key = e.key.to_string();
            let keep = match m.get(&key) {
                None => true,
                Some(old) => matches!(
                    (v.parse::<f64>(), old.parse::<f64>()),
                    (Ok(new), Ok(old)) if new < old
                ),
            };
            if keep {
                m.insert(key, v);
            }
        }
    }
    if !out.is_empty() {
        ctx.context.insert(
            "quotas".to_owned(),
            serde_json::to_value(out).unwrap_or_default(),
        );
    }
}

fn gpu_quota(ctx: &mut Ctx<'_>) {
    let mut gpu_ns: BTreeMap<String, usize> = BTreeMap::new();
    for t in ctx.templates.iter() {
        let gpu = t.containers.iter().any(requests_gpu)
            || t.spec
                .node
                .get("resourceClaims")
                .is_some_and(|c| !c.items().is_empty());
        if gpu {
            if let Some(ns) = ctx.ns_of(t.object) {
                gpu_ns.entry(ns.to_owned()).or_insert(t.object);
            }
        }
    }
    for (ns, first) in gpu_ns {
        ctx.eval("MLG-QUOTA-001");
        let anchor = ctx
            .inv
            .namespace(&ns)
            .and_then(|n| n.object)
            .unwrap_or(first);
        if !ctx.wants(anchor) {
            continue;
        }
        let keys = quota_keys(ctx, &ns);
        if !keys.iter().any(|k| gpu_quota_key(k)) {
            let at = ctx.inv.objects[anchor].at();
            let extra = if keys.iter().any(|k| k.starts_with("limits.nvidia.com/")) {
                " (its `limits.nvidia.com/gpu` key is ignored by Kubernetes)"
            } else {
                ""
            };
            ctx.emit(
                "MLG-QUOTA-001",
                anchor,
                &at,
                format!("namespace `{ns}` runs GPU workloads but has no GPU quota{extra}"),
            );
        }
    }
    let quotas: Vec<usize> = wanted(ctx, ctx.objects_in_scope("ResourceQuota"));
    for idx in quotas {
        ctx.eval("MLG-QUOTA-002");
        let o = &ctx.inv.objects[idx];
        let Some(hard) = o.at().at(&["spec", "hard"]) else {
            continue;
        };
        for (k, v) in hard.entries() {
            if let Some(res) = k.strip_prefix("limits.") {
                if res.contains('/') {
                    ctx.emit(
                        "MLG-QUOTA-002",
                        idx,
                        &v,
                        format!("quota key `{k}` is ignored for extended resources; use `requests.{res}`"),
                    );
                }
            }
        }
    }
}

fn classification_label(ctx: &mut Ctx<'_>) {
    for ns in ml_namespaces(ctx) {
        let Some(idx) = ctx.inv.namespace(&ns).and_then(|n| n.object) else {
            continue;
        };
        if !ctx.wants(idx) {
            continue;
        }
        ctx.eval("MLG-DATA-001");
        let o = &ctx.inv.objects[idx];
        let root = o.at();
        match o.label(LABEL_CLASSIFICATION) {
            Some(v) if Classification::parse(v).is_some() => {}
            Some(v) => {
                let at = root
                    .at(&["metadata", "labels", LABEL_CLASSIFICATION])
                    .unwrap_or_else(|| root.clone());
                ctx.emit(
                    "MLG-DATA-001",
                    idx,
                    &at,
                    format!("namespace `{ns}` has data classification `{v}`, not one of public, internal, confidential, pii, phi, pci"),
                );
            }
            None => {
                let at = root
                    .at(&["metadata", "labels"])
                    .or_else(|| root.get("metadata"))
                    .unwrap_or_else(|| root.clone());
                ctx.emit(
                    "MLG-DATA-001",
                    idx,
                    &at,
                    format!("ML namespace `{ns}` has no `{LABEL_CLASSIFICATION}` label"),
                );
            }
        }
    }
}

fn config_maps(ctx: &mut Ctx<'_>) {
    let cms: Vec<usize> = wanted(ctx, ctx.objects_in_scope("ConfigMap"));
    for idx in cms {
        ctx.eval("MLG-ENC-004");
        let o = &ctx.inv.objects[idx];
        let Some(data) = o.at().get("data") else {
            continue;
        };
        for (k, v) in data.entries() {
            let Some(text) = v.node.scalar_text() else {
                continue;
            };
            if let Some(why) = literal_secret(k, &text) {
                ctx.emit(
                    "MLG-ENC-004",
                    idx,
                    &v,
                    format!("ConfigMap `{}`: {why}; keep it in a Secret", o.name),
                );
            }
        }
    }
}

fn falsy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "0" | "false" | "no" | "off"
    )
}

fn storage_tls_settings(ctx: &mut Ctx<'_>) {
    let mut targets: Vec<usize> = Vec::new();
    for kind in ["ServiceAccount", "Secret", "SecretProviderClass"] {
        targets.extend(ctx.objects_in_scope(kind));
    }
    let targets = wanted(ctx, targets);
    for idx in targets {
        let o = &ctx.inv.objects[idx];
        let root = o.at();
        if o.kind == "SecretProviderClass" {
            ctx.eval("MLG-ENC-002");
            if let Some(params) = root.at(&["spec", "parameters"]) {
                for (k, v) in params.entries() {
                    if v.str().is_some_and(plaintext_url) {
                        ctx.emit(
                            "MLG-ENC-002",
                            idx,
                            &v,
                            format!("SecretProviderClass `{}`: parameter `{k}` reaches the key provider over plaintext http://", o.name),
                        );
                    }
                }
            }
            continue;
        }
        let Some(ann) = root.at(&["metadata", "annotations"]) else {
            continue;
        };
        for (k, v) in ann.entries() {
            if !k.starts_with("serving.kserve.io/s3-") {
                continue;
            }
            ctx.eval("MLG-ENC-002");
            let text = v.str().unwrap_or_default();
            let bad = match k {
                "serving.kserve.io/s3-usehttps" | "serving.kserve.io/s3-verifyssl" => falsy(text),
                "serving.kserve.io/s3-endpoint" => plaintext_url(text),
                _ => false,
            };
            if bad {
                ctx.emit(
                    "MLG-ENC-002",
                    idx,
                    &v,
                    format!(
                        "{} `{}`: `{k}: {text}` fetches models without TLS",
                        o.kind, o.name
                    ),
                );
            }
        }
    }
}

/// Serving objects: InferenceService, LLMInferenceService and workloads whose templates serve.
fn serving_objects(ctx: &Ctx<'_>) -> Vec<usize> {
    let mut set = BTreeSet::new();
    for t in ctx.templates.iter() {
        if t.class == WorkloadClass::Serving {
            set.insert(t.object);
        }
    }
    set.into_iter().collect()
}

fn has_annotation(n: Option<&Node>, key: &str) -> bool {
    n.and_then(|m| m.at("annotations"))
        .and_then(|a| a.get(key))
        .is_some()
}

fn encryption_at_rest(ctx: &mut Ctx<'_>) {
    for idx in wanted(ctx, serving_objects(ctx)) {
        let o = &ctx.inv.objects[idx];
        let Some(ns) = o.namespace.as_deref() else {
            continue;
        };
        if !ctx.inv.is_regulated(ns) || !ctx.inv.is_ml_namespace(ns) {
            continue;
        }
        ctx.eval("MLG-ENC-005");
        let templates: Vec<_> = ctx.templates_of(idx).iter().collect();
        let confidential = o.annotation("serving.kserve.io/confidential") == Some("true");
        let annotated = has_annotation(o.metadata(), "mlguard.io/model-encryption")
            || templates.iter().any(|t| {
                has_annotation(
                    t.meta.as_ref().map(|m| m.node),
                    "mlguard.io/model-encryption",
                )
            });
        let encrypted_uri = templates.iter().any(|t| {
            t.containers.iter().any(|c| {
                c.at.get("storageUri")
                    .and_then(|u| u.str())
                    .is_some_and(|u| u.ends_with(".mlge"))
            })
        });
        let csi = templates.iter().any(|t| {
            t.spec.node.get("volumes").is_some_and(|v| {
                v.items().iter().any(|v| {
                    v.at("csi.driver").and_then(Node::as_str) == Some("secrets-store.csi.k8s.io")
                })
            })
        });
        let decryptor = templates.iter().any(|t| {
            t.containers.iter().any(|c| {
                let words: Vec<&str> = ["image", "command", "args"]
                    .iter()
                    .filter_map(|k| c.at.node.get(k))
                    .flat_map(|l| {
                        if l.is_seq() {
                            l.items()
                                .iter()
                                .filter_map(Node::as_str)
                                .collect::<Vec<_>>()
                        } else {
                            l.as_str().into_iter().collect()
                        }
                    })
                    .collect();
                let joined = words.join(" ");
                joined.contains("mlguard") && joined.contains("decrypt")
            })
        });
        if !(confidential || annotated || encrypted_uri || csi || decryptor) {
            let at = o.at();
            ctx.emit(
                "MLG-ENC-005",
                idx,
                &at,
                format!(
                    "{} `{}` serves a model in regulated namespace `{ns}` ({}) with no evidence of encryption at rest",
                    o.kind,
                    o.name,
                    ctx.inv.classification(ns).as_str()
                ),
            );
        }
    }
}

/// The STRICT-ness of mTLS for pods with `labels` in `ns`: workload-level, then namespace-level,
/// then mesh-level (istio-system) PeerAuthentication, as Istio resolves it.
fn mtls_mode(ctx: &Ctx<'_>, ns: &str, labels: &Labels) -> Option<String> {
    let pas: Vec<_> = ctx
        .inv
        .objects_of("PeerAuthentication")
        .filter(|(_, o)| o.group() == "security.istio.io")
        .map(|(_, o)| o)
        .collect();
    let mode = |o: &mlguard_core::Object| {
        o.root
            .at("spec.mtls.mode")
            .and_then(Node::as_str)
            .filter(|m| *m != "UNSET")
            .map(str::to_owned)
    };
    let selector = |o: &mlguard_core::Object| {
        o.root
            .at("spec.selector")
            .and_then(|s| Selector::parse(s).ok())
            .filter(|s| !s.is_empty())
    };
    for o in &pas {
        if o.namespace.as_deref() == Some(ns) {
            if let Some(sel) = selector(o) {
                if sel.matches(labels) {
                    if let Some(m) = mode(o) {
                        return Some(m);
                    }
                }
            }
        }
    }
    for scope in [ns, "istio-system"] {
        for o in &pas {
            if o.namespace.as_deref() == Some(scope) && selector(o).is_none() {
                if let Some(m) = mode(o) {
                    return Some(m);
                }
            }
        }
    }
    None
}

fn transport_security(ctx: &mut Ctx<'_>, pods: &PodsByNs) {
    for idx in wanted(ctx, serving_objects(ctx)) {
        let o = &ctx.inv.objects[idx];
        let Some(ns) = o.namespace.clone() else {
            continue;
        };
        if !ctx.inv.is_ml_namespace(&ns) {
            continue;
        }
        ctx.eval("MLG-ENC-006");
        let labels: Vec<&Labels> = pods
            .get(&ns)
            .map(|v| {
                v.iter()
                    .filter(|(_, _, i)| *i == idx)
                    .map(|(l, _, _)| &**l)
                    .collect()
            })
            .unwrap_or_default();
        let empty = Labels::new();
        let modes: Vec<Option<String>> = if labels.is_empty() {
            vec![mtls_mode(ctx, &ns, &empty)]
        } else {
            labels.iter().map(|l| mtls_mode(ctx, &ns, l)).collect()
        };
        if let Some(bad) = modes.iter().find(|m| m.as_deref() != Some("STRICT")) {
            let at = o.at();
            let why = match bad {
                Some(m) => format!("mTLS mode is {m}"),
                None => "no Istio PeerAuthentication in STRICT mode covers it".to_owned(),
            };
            ctx.emit(
                "MLG-ENC-006",
                idx,
                &at,
                format!(
                    "{} `{}` in `{ns}` may be called without TLS: {why}",
                    o.kind, o.name
                ),
            );
        }
    }
    let ingresses: Vec<usize> = wanted(ctx, ctx.objects_in_ml("Ingress"));
    for idx in ingresses {
        ctx.eval("MLG-ENC-006");
        let o = &ctx.inv.objects[idx];
        let root = o.at();
        let tls = root
            .at(&["spec", "tls"])
            .is_some_and(|t| !t.node.items().is_empty());
        if !tls {
            let at = root.get("spec").unwrap_or_else(|| root.clone());
            ctx.emit(
                "MLG-ENC-006",
                idx,
                &at,
                format!(
                    "Ingress `{}` in ML namespace serves without TLS (no spec.tls)",
                    o.name
                ),
            );
        }
    }
}

fn exposed_endpoints(ctx: &mut Ctx<'_>, pods: &PodsByNs) {
    let empty = Vec::new();
    let services: Vec<usize> = wanted(ctx, ctx.objects_in_ml("Service"));
    for idx in services {
        let o = &ctx.inv.objects[idx];
        let ns = o.namespace.clone().unwrap_or_default();
        let root = o.at();
        let Some(sel) = root.at(&["spec", "selector"]) else {
            continue;
        };
        let labels = mlguard_core::selector::labels_of(Some(sel.node));
        if labels.is_empty() {
            continue;
        }
        let targets: Vec<&PodOf> = pods
            .get(&ns)
            .unwrap_or(&empty)
            .iter()
            .filter(|(l, _, _)| labels.iter().all(|(k, v)| l.get(k) == Some(v)))
            .collect();
        let ray_head = targets
            .iter()
            .any(|(l, _, _)| l.get("ray.io/node-type").map(String::as_str) == Some("head"));
        let notebook = targets
            .iter()
            .any(|(_, c, _)| *c == WorkloadClass::Notebook);
        if !ray_head && !notebook {
            continue;
        }
        ctx.eval("MLG-POD-006");
        if let Some(t) = root.at(&["spec", "type"]) {
            if matches!(t.str(), Some("LoadBalancer" | "NodePort")) {
                let what = if ray_head {
                    "the Ray head"
                } else {
                    "a Jupyter notebook"
                };
                ctx.emit(
                    "MLG-POD-006",
                    idx,
                    &t,
                    format!(
                        "Service `{}` exposes {what} as {}",
                        o.name,
                        t.str().unwrap_or_default()
                    ),
                );
            }
        }
    }
    let ingresses: Vec<usize> = wanted(ctx, ctx.objects_in_ml("Ingress"));
    for idx in ingresses {
        let o = &ctx.inv.objects[idx];
        let root = o.at();
        let Some(rules) = root.at(&["spec", "rules"]) else {
            continue;
        };
        for r in rules.items() {
            let Some(paths) = r.at(&["http", "paths"]) else {
                continue;
            };
            for p in paths.items() {
                let Some(svc) = p.at(&["backend", "service", "name"]) else {
                    continue;
                };
                if svc.str().is_some_and(|s| s.ends_with("-head-svc")) {
                    ctx.eval("MLG-POD-006");
                    ctx.emit(
                        "MLG-POD-006",
                        idx,
                        &svc,
                        format!(
                            "Ingress `{}` exposes Ray head service `{}`",
                            o.name,
                            svc.str().unwrap_or_default()
                        ),
                    );
                }
            }
        }
    }
}
