//! The analysed network: namespaces, workloads, pods (live or synthetic), services and
//! policies, read from an [`Inventory`].

use crate::policy::{read_policies, Policy};
use crate::ports::Protocol;
use mlguard_core::inventory::LABEL_NS_NAME;
use mlguard_core::selector::Selector;
use mlguard_core::FastMap as HashMap;
use mlguard_core::{At, InputError, Inventory, Namespace, Object, PodTemplate, Pos, WorkloadClass};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

/// A named container port (`name`, protocol, number).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NamedPort {
    pub name: String,
    pub proto: Protocol,
    pub port: u16,
}

/// A workload as printed: `ns/name[Kind]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub ns: String,
    pub name: String,
    pub kind: String,
    /// The object it comes from, when it is in the inputs.
    pub object: Option<usize>,
    /// ML role (PyTorchJob Master/Worker, Ray head/group, KServe component) when the object
    /// has several pod templates.
    pub role: Option<String>,
}

impl Workload {
    pub fn display(&self) -> String {
        let mut out = String::with_capacity(self.ns.len() + self.name.len() + self.kind.len() + 3);
        push_printable(&mut out, &self.ns);
        out.push('/');
        push_printable(&mut out, &self.name);
        out.push('[');
        push_printable(&mut out, &self.kind);
        out.push(']');
        out
    }
}

/// Whether `s` holds a control character (`char::is_control`: U+0000-U+001F and
/// U+007F-U+009F), by its UTF-8 bytes.
fn has_control(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        c < 0x20
            || c == 0x7f
            || (c == 0xc2 && b.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)))
    })
}

/// Append `s` as [`printable`] gives it.
fn push_printable(out: &mut String, s: &str) {
    if has_control(s) {
        out.push_str(&printable(s));
    } else {
        out.push_str(s);
    }
}

/// A name as printed: control characters escaped (`\n`), so one connection stays one line
/// whatever the input holds (the API server would reject such names; files need not).
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if has_control(s) {
        std::borrow::Cow::Owned(
            s.chars()
                .map(|c| {
                    if c.is_control() {
                        c.escape_default().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
        )
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// A pod: live (from a Pod object) or synthetic (one per workload template).
#[derive(Debug, Clone)]
pub struct Pod {
    pub ns: String,
    pub name: String,
    /// Shared with the inventory's pod template (a network is built for every decision).
    pub labels: Arc<BTreeMap<String, String>>,
    pub named_ports: Vec<NamedPort>,
    pub ips: Vec<IpAddr>,
    pub host_network: bool,
    pub workload: usize,
    pub object: usize,
    /// Training, serving, notebook, Ray or other.
    pub class: WorkloadClass,
    /// `net.ipv4.ip_local_port_range` from the pod's sysctls, when pinned.
    pub local_port_range: Option<(u16, u16)>,
    /// How many pods this one stands for (a synthetic pod's replicas; 1 for a live pod).
    pub replicas: u32,
}

/// The training job a pod belongs to: the owning ML object, or the job labels of live pods.
impl Pod {
    pub fn job_key(&self) -> String {
        for k in [
            "mlguard.io/job",
            "training.kubeflow.org/job-name",
            "jobset.sigs.k8s.io/jobset-name",
            "ray.io/cluster",
            "batch.kubernetes.io/job-name",
        ] {
            if let Some(v) = self.labels.get(k) {
                let mut key = String::with_capacity(self.ns.len() + 1 + v.len());
                key.push_str(&self.ns);
                key.push('/');
                key.push_str(v);
                return key;
            }
        }
        format!("#{}", self.object)
    }
}

/// A Service port: `port` → `target` (a number or a container port name).
#[derive(Debug, Clone)]
pub struct ServicePort {
    pub port: u16,
    pub proto: Protocol,
    pub target: ServiceTarget,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceTarget {
    Number(u16),
    Name(String),
}

#[derive(Debug, Clone)]
pub struct Service {
    pub ns: String,
    pub name: String,
    /// `None`: a Service without selector (manually managed endpoints).
    pub selector: Option<Selector>,
    pub ports: Vec<ServicePort>,
    pub type_: String,
    pub object: usize,
}

/// Something the analysis could not model exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub file: String,
    pub pos: Option<Pos>,
    pub message: String,
}

/// How hostNetwork pods meet NetworkPolicy. Kubernetes leaves this to the network plugin and
/// names two possibilities; see docs/netpol.md.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HostNetwork {
    /// The plugin cannot tell hostNetwork pods from their node (the most common case): no
    /// selector picks them, as subject or peer; they are open both ways.
    #[default]
    Ignored,
    /// The plugin tells hostNetwork pods apart and applies policies to them like any pod
    /// (netpol-analyzer's model).
    AsPods,
}

#[derive(Debug, Default)]
pub struct Network {
    pub host_network: HostNetwork,
    /// The inventory's namespaces (labels included), shared: a Network built for every
    /// admission decision does not copy a cluster's namespaces.
    pub namespaces: Arc<BTreeMap<String, Namespace>>,
    pub workloads: Vec<Workload>,
    pub pods: Vec<Pod>,
    pub services: Vec<Service>,
    /// Shared: a Network built from prepared policies (an admission decision) does not copy
    /// them.
    pub policies: Arc<Vec<Policy>>,
    pub errors: Vec<InputError>,
    pub warnings: Vec<Warning>,
}

/// Granularity of the identities in results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// One identity per workload (replicas and pods of one owner collapsed).
    Workload,
    /// One identity per pod; workloads without live pods keep one synthetic pod.
    Pod,
}

impl Network {
    /// Add a stand-in kube-dns pod (`kube-system/kube-dns[Deployment]`, `k8s-app: kube-dns`,
    /// DNS ports) when the inputs hold none, so intents and controls about DNS can be judged
    /// on manifests that leave the cluster add-ons out. Call before [`crate::Analysis::new`].
    pub fn ensure_kube_dns(&mut self) {
        let has = self.pods.iter().any(|p| {
            p.ns == "kube-system" && p.labels.get("k8s-app").map(String::as_str) == Some("kube-dns")
        });
        if has {
            return;
        }
        self.workloads.push(Workload {
            ns: "kube-system".to_owned(),
            name: "kube-dns".to_owned(),
            kind: "Deployment".to_owned(),
            object: None,
            role: None,
        });
        self.pods.push(Pod {
            ns: "kube-system".to_owned(),
            name: "kube-dns".to_owned(),
            labels: Arc::new(BTreeMap::from([(
                "k8s-app".to_owned(),
                "kube-dns".to_owned(),
            )])),
            named_ports: vec![
                NamedPort {
                    name: "dns".to_owned(),
                    proto: Protocol::Udp,
                    port: 53,
                },
                NamedPort {
                    name: "dns-tcp".to_owned(),
                    proto: Protocol::Tcp,
                    port: 53,
                },
            ],
            ips: Vec::new(),
            host_network: false,
            workload: self.workloads.len() - 1,
            object: usize::MAX,
            class: WorkloadClass::Other,
            local_port_range: None,
            replicas: 2,
        });
    }

    /// The labels of namespace `ns`; a namespace the inputs do not know has only its
    /// `kubernetes.io/metadata.name`.
    pub fn namespace_labels(&self, ns: &str) -> Cow<'_, BTreeMap<String, String>> {
        match self.namespaces.get(ns) {
            Some(n) => Cow::Borrowed(&n.labels),
            None => Cow::Owned(BTreeMap::from([(LABEL_NS_NAME.to_owned(), ns.to_owned())])),
        }
    }

    /// Build from an inventory.
    pub fn from_inventory(inv: &Inventory, level: Level) -> Network {
        Self::from_inventory_with(inv, level, HostNetwork::default())
    }

    /// Build from an inventory with a chosen hostNetwork model.
    pub fn from_inventory_with(inv: &Inventory, level: Level, host: HostNetwork) -> Network {
        Self::build(inv, level, host, None, None)
    }

    /// As [`Network::from_inventory_with`], reusing pod templates the caller already has
    /// (`Inventory::all_pod_templates`, ordered by object), as the scan does.
    pub fn from_templates(
        inv: &Inventory,
        templates: &[PodTemplate<'_>],
        level: Level,
        host: HostNetwork,
    ) -> Network {
        Self::build(inv, level, host, Some(templates), None)
    }

    /// As [`Network::from_templates`], with the policies already read
    /// ([`crate::policy::read_policies`] of an Inventory whose policy objects are those of
    /// `inv`, at the same indices and in the same files): an admission decision reads the
    /// policies of its context once, not per request.
    pub fn from_templates_with_policies(
        inv: &Inventory,
        templates: &[PodTemplate<'_>],
        level: Level,
        host: HostNetwork,
        policies: &(Arc<Vec<Policy>>, Vec<InputError>),
    ) -> Network {
        Self::build(inv, level, host, Some(templates), Some(policies))
    }

    fn build(
        inv: &Inventory,
        level: Level,
        host: HostNetwork,
        known: Option<&[PodTemplate<'_>]>,
        read: Option<&(Arc<Vec<Policy>>, Vec<InputError>)>,
    ) -> Network {
        let (policies, errors) = match read {
            Some((p, e)) => (p.clone(), e.clone()),
            None => {
                let (p, e) = read_policies(inv);
                (Arc::new(p), e)
            }
        };
        let mut net = Network {
            host_network: host,
            policies,
            errors,
            ..Default::default()
        };
        net.namespaces = inv.namespaces.clone();
        let mut wl_index: HashMap<(String, String, String), usize> = HashMap::default();
        let mut workload = |net: &mut Network, w: Workload| -> usize {
            let key = (w.ns.clone(), w.name.clone(), w.kind.clone());
            *wl_index.entry(key).or_insert_with(|| {
                net.workloads.push(w);
                net.workloads.len() - 1
            })
        };
        // Workloads that have live pods in the inputs do not get a synthetic pod.
        let mut owned: HashMap<(String, String, String), ()> = HashMap::default();
        for (idx, o) in inv.objects.iter().enumerate() {
            if o.kind != "Pod" || o.group() != "" {
                continue;
            }
            let ns = o.namespace.clone().unwrap_or_else(|| "default".to_owned());
            let root = o.at();
            let spec = root.get("spec");
            // The controlling owner (Node-owned static pods have none). An owner without a
            // kind prints as a Pod, as netpol-analyzer does.
            let owner = root
                .at(&["metadata", "ownerReferences"])
                .and_then(|l| {
                    l.items().find(|r| {
                        r.get("controller").and_then(|c| c.bool()) == Some(true)
                            && r.get("kind").and_then(|k| k.str()) != Some("Node")
                    })
                })
                .and_then(|r| {
                    let kind = r.get("kind").and_then(|k| k.str()).unwrap_or("Pod");
                    Some((kind.to_owned(), r.get("name")?.str()?.to_owned()))
                });
            let (kind, name) = match (&owner, level) {
                (Some((k, n)), Level::Workload) => (k.clone(), n.clone()),
                _ => ("Pod".to_owned(), o.name.clone()),
            };
            if let Some((k, n)) = &owner {
                owned.insert((ns.clone(), n.clone(), k.clone()), ());
            }
            let w = workload(
                &mut net,
                Workload {
                    ns: ns.clone(),
                    name,
                    kind,
                    object: Some(idx),
                    role: None,
                },
            );
            let mut ips = Vec::new();
            if let Some(status) = root.get("status") {
                if let Some(ip) = status.get("podIP").and_then(|i| i.str()) {
                    push_ip(&mut net, inv, o, &status, ip, &mut ips);
                }
                if let Some(list) = status.get("podIPs") {
                    for it in list.items() {
                        if let Some(ip) = it.get("ip").and_then(|i| i.str()) {
                            push_ip(&mut net, inv, o, &it, ip, &mut ips);
                        }
                    }
                }
            }
            ips.sort_unstable();
            ips.dedup();
            let host_network = spec
                .as_ref()
                .and_then(|s| s.get("hostNetwork"))
                .and_then(|h| h.bool())
                == Some(true);
            let labels = o.labels();
            let class = class_from_labels(&labels);
            net.pods.push(Pod {
                ns,
                name: o.name.clone(),
                named_ports: spec.as_ref().map(named_ports).unwrap_or_default(),
                local_port_range: spec.as_ref().and_then(local_port_range),
                labels: Arc::new(labels),
                ips,
                host_network,
                workload: w,
                object: idx,
                class,
                replicas: 1,
            });
        }
        // Synthetic pods for workloads.
        for (idx, o) in inv.objects.iter().enumerate() {
            if o.kind == "Pod" && o.group().is_empty() {
                continue;
            }
            if !may_hold_pods(o) {
                continue;
            }
            let computed;
            let templates: &[PodTemplate<'_>] = match known {
                Some(all) => {
                    let start = all.partition_point(|t| t.object < idx);
                    let end = all.partition_point(|t| t.object <= idx);
                    &all[start..end]
                }
                None => {
                    computed = inv.pod_templates(idx);
                    &computed
                }
            };
            if templates.is_empty() || o.kind == "PodTemplate" {
                continue;
            }
            if matches!(
                o.kind.as_str(),
                "TrainingRuntime" | "ClusterTrainingRuntime"
            ) {
                continue;
            }
            let ns = o.namespace.clone().unwrap_or_else(|| "default".to_owned());
            if owned.contains_key(&(ns.clone(), o.name.clone(), o.kind.clone())) {
                continue;
            }
            let multi = templates.len() > 1;
            for t in templates {
                let role = t.role.clone();
                let name = match (&role, multi) {
                    (Some(r), true) => format!("{}-{}", o.name, r.to_lowercase().replace('.', "-")),
                    _ => o.name.clone(),
                };
                let w = workload(
                    &mut net,
                    Workload {
                        ns: ns.clone(),
                        name: name.clone(),
                        kind: o.kind.clone(),
                        object: Some(idx),
                        role: role.clone(),
                    },
                );
                net.pods.push(Pod {
                    ns: ns.clone(),
                    name,
                    labels: inv.pod_labels_shared(t).clone(),
                    named_ports: named_ports(&t.spec),
                    ips: Vec::new(),
                    host_network: t.spec_bool("hostNetwork") == Some(true),
                    workload: w,
                    object: idx,
                    class: t.class,
                    local_port_range: local_port_range(&t.spec),
                    replicas: replicas_of(o, role.as_deref()),
                });
            }
        }
        policy_warnings(&mut net);
        for p in net
            .pods
            .iter()
            .filter(|p| p.host_network && net.host_network == HostNetwork::Ignored)
        {
            let o = &inv.objects[p.object];
            net.warnings.push(Warning {
                file: inv.file_of(o).to_owned(),
                pos: Some(o.root.pos),
                message: format!(
                    "{} uses hostNetwork: no NetworkPolicy selects it, as subject or as peer; it is shown open both ways",
                    net.workloads[p.workload].display()
                ),
            });
        }
        for (idx, o) in inv.objects_of("Service") {
            if o.group() != "" {
                continue;
            }
            net.services.push(read_service(inv, idx, o));
        }
        net
    }
}

/// What the policies say that the analysis cannot model exactly.
fn policy_warnings(net: &mut Network) {
    use crate::policy::{Direction, Peer, Tier};
    let mut out = Vec::new();
    for p in net.policies.iter() {
        for d in [Direction::Ingress, Direction::Egress] {
            for r in p.rules(d).unwrap_or_default() {
                if r.peers
                    .iter()
                    .flatten()
                    .any(|x| matches!(x, Peer::Nodes(_)))
                {
                    out.push(Warning {
                        file: r.origin.file.clone(),
                        pos: Some(r.origin.pos),
                        message: format!(
                            "{}: `nodes` peers are not modelled (node addresses are not in the inputs); that peer matches nothing here",
                            p.display()
                        ),
                    });
                }
            }
        }
    }
    // Equal priorities in one tier: the API leaves the order to the implementation.
    let mut seen: BTreeMap<(Tier, i32), &str> = BTreeMap::new();
    for p in net
        .policies
        .iter()
        .filter(|p| p.tier != Tier::NetworkPolicy)
    {
        if let Some(other) = seen.insert((p.tier, p.priority), &p.name) {
            if other != p.name {
                out.push(Warning {
                    file: p.origin.file.clone(),
                    pos: Some(p.origin.pos),
                    message: format!(
                        "{} has priority {} like `{other}` in the same tier: their order is undefined upstream; analysed in name order",
                        p.display(),
                        p.priority
                    ),
                });
            }
        }
    }
    net.warnings.extend(out);
}

fn push_ip(
    net: &mut Network,
    inv: &Inventory,
    o: &Object,
    at: &At<'_>,
    ip: &str,
    ips: &mut Vec<IpAddr>,
) {
    match ip.parse() {
        Ok(a) => ips.push(a),
        Err(_) => net.errors.push(InputError::at(
            inv.file_of(o),
            at,
            format!("`{ip}` is not an IP address"),
        )),
    }
}

/// Kinds that may make pods (skipping the others saves walking every ConfigMap): those that
/// may carry a pod template, but PodTemplate, which only holds one.
fn may_hold_pods(o: &Object) -> bool {
    mlguard_core::inventory::may_hold_pod_template(o)
        && !(o.group().is_empty() && o.kind == "PodTemplate")
}

/// Replicas a workload template stands for, from the field its controller reads.
fn replicas_of(o: &Object, role: Option<&str>) -> u32 {
    let root = &o.root;
    let int = |path: &str| root.at(path).and_then(mlguard_core::Node::as_i64);
    let n = match (o.group(), o.kind.as_str()) {
        ("apps", "DaemonSet") => Some(2),
        ("apps", _) | ("", "ReplicationController") => int("spec.replicas"),
        ("batch", "Job") => int("spec.parallelism"),
        ("kubeflow.org", _) => role.and_then(|r| {
            let specs = root
                .get("spec")?
                .entries()
                .iter()
                .find(|e| e.key.ends_with("ReplicaSpecs"))?;
            specs.value.get(r)?.get("replicas")?.as_i64()
        }),
        ("trainer.kubeflow.org", "TrainJob") => int("spec.trainer.numNodes"),
        ("ray.io", _) => match role {
            Some("head") | Some("submitter") | None => Some(1),
            Some(g) => {
                let cluster = root.get("spec").and_then(|s| {
                    s.get("workerGroupSpecs")
                        .or_else(|| s.at("rayClusterSpec.workerGroupSpecs"))
                        .or_else(|| s.at("rayClusterConfig.workerGroupSpecs"))
                });
                cluster.and_then(|l| {
                    l.items()
                        .iter()
                        .find(|x| {
                            x.get("groupName").and_then(mlguard_core::Node::as_str) == Some(g)
                        })
                        .and_then(|x| x.get("replicas").or_else(|| x.get("minReplicas")))
                        .and_then(mlguard_core::Node::as_i64)
                })
            }
        },
        ("serving.kserve.io", _) => role
            .and_then(|r| {
                root.at(&format!(
                    "spec.{}.minReplicas",
                    r.split('.').next().unwrap_or(r)
                ))
            })
            .and_then(mlguard_core::Node::as_i64),
        _ => None,
    };
    n.map_or(1, |n| u32::try_from(n.max(1)).unwrap_or(1))
}

fn class_from_labels(labels: &BTreeMap<String, String>) -> WorkloadClass {
    match labels.get("mlguard.io/workload").map(String::as_str) {
        Some("training") => WorkloadClass::Training,
        Some("serving") => WorkloadClass::Serving,
        Some("notebook") => WorkloadClass::Notebook,
        _ if labels.contains_key("training.kubeflow.org/job-name") => WorkloadClass::Training,
        _ if labels.contains_key("serving.kserve.io/inferenceservice") => WorkloadClass::Serving,
        _ if labels.contains_key("notebook-name") => WorkloadClass::Notebook,
        _ if labels.contains_key("ray.io/node-type") => WorkloadClass::Ray,
        _ => WorkloadClass::Other,
    }
}

/// The pinned ephemeral port range (`securityContext.sysctls` `net.ipv4.ip_local_port_range`).
fn local_port_range(spec: &At<'_>) -> Option<(u16, u16)> {
    let list = spec.at(&["securityContext", "sysctls"])?;
    let v = list
        .items()
        .find(|s| s.get("name").and_then(|n| n.str()) == Some("net.ipv4.ip_local_port_range"))?
        .get("value")?
        .node
        .scalar_text()?;
    let mut it = v.split_whitespace().map(|x| x.parse::<u16>().ok());
    match (it.next()??, it.next()??) {
        (a, b) if a >= 1 && a <= b => Some((a, b)),
        _ => None,
    }
}

/// A container or Service port's `protocol` (TCP when absent; the API server has validated it).
fn protocol_of(port: &At<'_>) -> Protocol {
    port.get("protocol")
        .and_then(|x| x.str())
        .and_then(Protocol::parse)
        .unwrap_or(Protocol::Tcp)
}

/// Named container ports of a pod spec (init containers included: sidecars listen too).
pub fn named_ports(spec: &At<'_>) -> Vec<NamedPort> {
    let mut out = Vec::new();
    for key in ["containers", "initContainers"] {
        let Some(cs) = spec.get(key) else { continue };
        for c in cs.items() {
            let Some(ports) = c.get("ports") else {
                continue;
            };
            for p in ports.items() {
                let (Some(name), Some(num)) = (
                    p.get("name").and_then(|n| n.str()),
                    p.get("containerPort").and_then(|n| n.node.as_i64()),
                ) else {
                    continue;
                };
                let proto = protocol_of(&p);
                if let Ok(port) = u16::try_from(num) {
                    out.push(NamedPort {
                        name: name.to_owned(),
                        proto,
                        port,
                    });
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn read_service(inv: &Inventory, idx: usize, o: &Object) -> Service {
    let root = o.at();
    let spec = root.get("spec");
    let selector = spec
        .as_ref()
        .and_then(|s| s.get("selector"))
        .filter(|s| !s.node.entries().is_empty())
        .map(|s| Selector {
            requirements: mlguard_core::selector::labels_of(Some(s.node))
                .into_iter()
                .map(|(k, v)| mlguard_core::selector::Requirement::In(k, vec![v]))
                .collect(),
        });
    let mut ports = Vec::new();
    if let Some(list) = spec.as_ref().and_then(|s| s.get("ports")) {
        for p in list.items() {
            let Some(port) = p
                .get("port")
                .and_then(|n| n.node.as_i64())
                .and_then(|n| u16::try_from(n).ok())
            else {
                continue;
            };
            let proto = protocol_of(&p);
            let target = match p.get("targetPort") {
                None => ServiceTarget::Number(port),
                Some(t) => match t.node.as_i64() {
                    Some(n) => ServiceTarget::Number(u16::try_from(n).unwrap_or(port)),
                    None => match t.str() {
                        Some(s) => match s.parse::<u16>() {
                            Ok(n) => ServiceTarget::Number(n),
                            Err(_) => ServiceTarget::Name(s.to_owned()),
                        },
                        None => ServiceTarget::Number(port),
                    },
                },
            };
            ports.push(ServicePort {
                port,
                proto,
                target,
            });
        }
    }
    let _ = inv;
    Service {
        ns: o.namespace.clone().unwrap_or_else(|| "default".to_owned()),
        name: o.name.clone(),
        selector,
        ports,
        type_: spec
            .as_ref()
            .and_then(|s| s.get("type"))
            .and_then(|t| t.str().map(str::to_owned))
            .unwrap_or_else(|| "ClusterIP".to_owned()),
        object: idx,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte test of a control character is `char::is_control`, for every character
    /// (alone and between others), and a display escapes exactly those.
    #[test]
    fn control_characters_are_found_by_their_bytes() {
        for c in (0..=0x10ffffu32).filter_map(char::from_u32) {
            let alone = c.to_string();
            let framed = format!("a{c}\u{a0}");
            assert_eq!(has_control(&alone), c.is_control(), "{c:?}");
            assert_eq!(has_control(&framed), c.is_control(), "{c:?}");
        }
        let w = Workload {
            ns: "n\u{85}s".into(),
            name: "a\nb".into(),
            kind: "Pod".into(),
            object: None,
            role: None,
        };
        assert_eq!(w.display(), "n\\u{85}s/a\\nb[Pod]");
    }

    /// A Network is built for every admission decision: it must share the inventory's
    /// namespaces rather than copy a cluster's worth of them each time, and still answer
    /// each namespace's labels (a namespace it does not know has only its name label).
    #[test]
    fn a_network_shares_its_inventorys_namespaces() {
        let inv = Inventory::from_text(
            "t.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {team: x}}\n",
            "default",
        );
        let net = Network::from_inventory(&inv, Level::Workload);
        assert!(Arc::ptr_eq(&net.namespaces, &inv.namespaces));
        assert_eq!(
            net.namespace_labels("a").get("team").map(String::as_str),
            Some("x")
        );
        assert_eq!(
            net.namespace_labels("b").into_owned(),
            BTreeMap::from([(LABEL_NS_NAME.to_owned(), "b".to_owned())])
        );
    }
}
