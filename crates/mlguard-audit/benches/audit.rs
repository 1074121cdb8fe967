//! Audit policy evaluation at volume, in one run so the figures are comparable.
//!
//! `cargo bench -p mlguard-audit --bench audit [-- --requests N] [-- --reps K]` generates,
//! deterministically, a 100-rule policy shaped like production ones (None rules for noise,
//! credentials at Metadata, per-team rules naming users, groups, namespaces, verbs, resources
//! with subresource patterns and resourceNames, non-resource rules, a catch-all) and N requests
//! (default 1,000,000) drawn from the same pools plus values no rule names. It times, on one
//! thread, the compiled index (`Compiled::eval`) and the reference evaluator
//! (`Policy::eval`, the rule-by-rule checker) over the same requests, checks they agree on
//! every request, and prints requests/s and the verdict against the target (1,000,000 requests
//! in under 1 s on one core). Medians of `--reps` (default 3) runs.
//!
//! `-- --write-log PATH MB` instead writes a synthetic audit log of about MB megabytes (JSON
//! lines of audit.k8s.io/v1 Events over one day, a third with request or response bodies) and
//! the policy next to it (`PATH.policy.yaml`), for bench/audit-estimate.sh.

use mlguard_audit::{Compiled, Policy, Request};
use std::fmt::Write as _;
use std::hint::black_box;
use std::io::Write as _;
use std::time::Instant;

const TARGET_REQUESTS: usize = 1_000_000;
const TARGET_S: f64 = 1.0;

#[path = "../../../bench/common/rng.rs"]
mod rng;
use rng::Rng;

struct Pools {
    users: Vec<String>,
    groups: Vec<String>,
    namespaces: Vec<String>,
    /// (group, resource)
    resources: Vec<(String, String)>,
    verbs: Vec<String>,
    subresources: Vec<String>,
    paths: Vec<String>,
}

fn pools() -> Pools {
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    let mut resources = Vec::new();
    for (g, rs) in [
        (
            "",
            &[
                "pods",
                "services",
                "configmaps",
                "secrets",
                "serviceaccounts",
                "events",
                "endpoints",
                "nodes",
                "persistentvolumeclaims",
            ][..],
        ),
        (
            "apps",
            &["deployments", "statefulsets", "replicasets", "daemonsets"][..],
        ),
        ("batch", &["jobs", "cronjobs"][..]),
        ("coordination.k8s.io", &["leases"][..]),
        (
            "kubeflow.org",
            &["pytorchjobs", "tfjobs", "mpijobs", "notebooks"][..],
        ),
        (
            "trainer.kubeflow.org",
            &["trainjobs", "trainingruntimes"][..],
        ),
        (
            "serving.kserve.io",
            &["inferenceservices", "servingruntimes"][..],
        ),
        ("ray.io", &["rayclusters", "rayjobs"][..]),
        ("rbac.authorization.k8s.io", &["roles", "rolebindings"][..]),
        ("networking.k8s.io", &["networkpolicies", "ingresses"][..]),
    ] {
        for r in rs {
            resources.push((g.to_owned(), (*r).to_owned()));
        }
    }
    Pools {
        users: (0..40)
            .map(|i| format!("user-{i}@example.com"))
            .chain((0..20).map(|i| format!("system:serviceaccount:team-{}:runner", i % 20)))
            .chain(s(&[
                "system:kube-proxy",
                "system:kube-scheduler",
                "system:kube-controller-manager",
            ]))
            .collect(),
        groups: (0..20)
            .map(|i| format!("ml-team-{i}"))
            .chain(s(&[
                "system:authenticated",
                "system:nodes",
                "system:serviceaccounts",
                "platform-admins",
            ]))
            .collect(),
        namespaces: (0..20)
            .map(|i| format!("team-{i}"))
            .chain((0..20).map(|i| format!("team-{i}-serving")))
            .chain(s(&["kube-system", "default", "monitoring"]))
            .collect(),
        resources,
        verbs: s(&[
            "get",
            "list",
            "watch",
            "create",
            "update",
            "patch",
            "delete",
            "deletecollection",
        ]),
        subresources: s(&["status", "log", "exec", "scale", "token"]),
        paths: s(&[
            "/healthz",
            "/livez",
            "/readyz",
            "/metrics",
            "/version",
            "/apis",
            "/openapi/v2",
        ]),
    }
}

fn list(v: &[&String]) -> String {
    let q: Vec<String> = v.iter().map(|s| format!("\"{s}\"")).collect();
    format!("[{}]", q.join(", "))
}

/// A 100-rule policy over the pools.
fn policy_text(p: &Pools, rng: &mut Rng) -> String {
    let mut t = String::from(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [\"RequestReceived\"]\nrules:\n",
    );
    t.push_str("  - level: None\n    users: [\"system:kube-proxy\"]\n    verbs: [\"watch\"]\n    resources: [{group: \"\", resources: [\"endpoints\", \"services\", \"services/status\"]}]\n");
    t.push_str("  - level: None\n    userGroups: [\"system:nodes\"]\n    resources: [{group: \"coordination.k8s.io\", resources: [\"leases\"]}]\n");
    t.push_str("  - level: None\n    nonResourceURLs: [\"/healthz*\", \"/livez*\", \"/readyz*\", \"/version\"]\n");
    t.push_str("  - level: Metadata\n    resources: [{group: \"\", resources: [\"secrets\", \"configmaps\", \"serviceaccounts/token\"]}]\n");
    let levels = ["Metadata", "Request", "RequestResponse", "None"];
    while t.matches("  - level:").count() < 99 {
        let level = levels[rng.below(levels.len())];
        let _ = writeln!(t, "  - level: {level}");
        // Per-team rules are narrow: a user or a group, usually namespaces, always resources.
        let by_user = rng.chance(50);
        if by_user {
            let n = 1 + rng.below(4);
            let v: Vec<&String> = (0..n).map(|_| rng.pick(&p.users)).collect();
            let _ = writeln!(t, "    users: {}", list(&v));
        }
        if !by_user || rng.chance(20) {
            let n = 1 + rng.below(3);
            let v: Vec<&String> = (0..n).map(|_| rng.pick(&p.groups)).collect();
            let _ = writeln!(t, "    userGroups: {}", list(&v));
        }
        if rng.chance(60) {
            let n = 1 + rng.below(4);
            let v: Vec<&String> = (0..n).map(|_| rng.pick(&p.verbs)).collect();
            let _ = writeln!(t, "    verbs: {}", list(&v));
        }
        if rng.chance(10) {
            let n = 1 + rng.below(3);
            let v: Vec<&String> = (0..n).map(|_| rng.pick(&p.paths)).collect();
            let urls: Vec<String> = v
                .iter()
                .map(|u| {
                    if rng.chance(30) {
                        format!("{u}*")
                    } else {
                        (*u).clone()
                    }
                })
                .collect();
            let r: Vec<&String> = urls.iter().collect();
            let _ = writeln!(t, "    nonResourceURLs: {}", list(&r));
            continue;
        }
        if rng.chance(85) {
            let n = 1 + rng.below(5);
            let v: Vec<&String> = (0..n).map(|_| rng.pick(&p.namespaces)).collect();
            let _ = writeln!(t, "    namespaces: {}", list(&v));
        }
        {
            t.push_str("    resources:\n");
            for _ in 0..1 + rng.below(3) {
                let (g, r) = &p.resources[rng.below(p.resources.len())];
                let pat = match rng.below(6) {
                    0 => format!("{r}/*"),
                    1 => format!("*/{}", rng.pick(&p.subresources)),
                    2 => format!("{r}/{}", rng.pick(&p.subresources)),
                    _ => r.clone(),
                };
                let names = if rng.chance(10) {
                    "\n        resourceNames: [\"model-0\", \"model-1\"]"
                } else {
                    ""
                };
                let _ = writeln!(
                    t,
                    "      - group: \"{g}\"\n        resources: [\"{pat}\"]{names}"
                );
            }
        }
    }
    t.push_str("  - level: Metadata\n");
    t
}

fn request(p: &Pools, rng: &mut Rng) -> Request {
    let user = if rng.chance(10) {
        format!("someone-{}@example.com", rng.below(1000))
    } else {
        rng.pick(&p.users).clone()
    };
    let mut groups = vec!["system:authenticated".to_owned()];
    for _ in 0..rng.below(3) {
        groups.push(rng.pick(&p.groups).clone());
    }
    let verb = rng.pick(&p.verbs).clone();
    if rng.chance(8) {
        return Request {
            user: Some(user),
            groups,
            verb: "get".into(),
            path: rng.pick(&p.paths).clone(),
            ..Request::default()
        };
    }
    let (g, r) = &p.resources[rng.below(p.resources.len())];
    Request {
        user: Some(user),
        groups,
        verb,
        namespace: if rng.chance(5) {
            String::new()
        } else if rng.chance(10) {
            format!("other-{}", rng.below(100))
        } else {
            rng.pick(&p.namespaces).clone()
        },
        api_group: g.clone(),
        resource: r.clone(),
        subresource: if rng.chance(20) {
            rng.pick(&p.subresources).clone()
        } else {
            String::new()
        },
        name: if rng.chance(5) {
            format!("model-{}", rng.below(3))
        } else {
            format!("obj-{}", rng.below(10_000))
        },
        path: String::new(),
        resource_request: true,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn write_log(path: &str, mb: usize) -> std::io::Result<()> {
    let p = pools();
    let mut rng = Rng::new(7);
    let policy = policy_text(&p, &mut rng);
    std::fs::write(format!("{path}.policy.yaml"), &policy)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let target = mb as u64 * 1_000_000;
    let mut written = 0u64;
    let mut i = 0u64;
    let body = "{\"apiVersion\":\"kubeflow.org/v1\",\"kind\":\"PyTorchJob\",\"metadata\":{\"name\":\"train\",\"labels\":{\"team\":\"a\"}},\"spec\":{\"pytorchReplicaSpecs\":{\"Worker\":{\"replicas\":4,\"template\":{\"spec\":{\"containers\":[{\"name\":\"pytorch\",\"image\":\"example.com/train@sha256:0123\",\"args\":[\"--epochs\",\"10\"]}]}}}}}}";
    while written < target {
        let r = request(&p, &mut rng);
        let secs = i * 86_400 / (target / 700).max(1);
        let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
        let ts = format!(
            "2026-11-{:02}T{h:02}:{m:02}:{s:02}.{:06}Z",
            20 + secs / 86_400,
            i % 1_000_000
        );
        let level = ["Metadata", "Request", "RequestResponse"][rng.below(3)];
        let mut line = format!(
            "{{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"{level}\",\"auditID\":\"{:016x}-{i}\",\"stage\":\"ResponseComplete\",",
            rng.next()
        );
        if r.resource_request {
            let _ = write!(
                line,
                "\"requestURI\":\"/apis/{}/v1/namespaces/{}/{}/{}\",\"verb\":\"{}\",\"user\":{{\"username\":\"{}\",\"groups\":[{}]}},\"sourceIPs\":[\"10.0.{}.{}\"],\"userAgent\":\"kubectl/v1.33.0\",\"objectRef\":{{\"resource\":\"{}\",\"namespace\":\"{}\",\"name\":\"{}\",\"apiGroup\":\"{}\",\"apiVersion\":\"v1\"{}}},",
                r.api_group, r.namespace, r.resource, r.name, r.verb,
                r.user.as_deref().unwrap_or_default(),
                r.groups.iter().map(|g| format!("\"{g}\"")).collect::<Vec<_>>().join(","),
                rng.below(256), rng.below(256),
                r.resource, r.namespace, r.name, r.api_group,
                if r.subresource.is_empty() { String::new() } else { format!(",\"subresource\":\"{}\"", r.subresource) }
            );
        } else {
            let _ = write!(line, "\"requestURI\":\"{}?timeout=32s\",\"verb\":\"get\",\"user\":{{\"username\":\"{}\",\"groups\":[\"system:authenticated\"]}},\"sourceIPs\":[\"10.0.0.1\"],", r.path, r.user.as_deref().unwrap_or_default());
        }
        let _ = write!(
            line,
            "\"responseStatus\":{{\"metadata\":{{}},\"code\":200}},"
        );
        if level != "Metadata" && r.verb != "get" && r.verb != "list" {
            let _ = write!(line, "\"requestObject\":{body},");
        }
        if level == "RequestResponse" {
            let _ = write!(line, "\"responseObject\":{body},");
        }
        let _ = writeln!(
            line,
            "\"requestReceivedTimestamp\":\"{ts}\",\"stageTimestamp\":\"{ts}\"}}"
        );
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
        i += 1;
    }
    out.flush()?;
    eprintln!("wrote {path}: {i} events, {written} bytes; policy {path}.policy.yaml");
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if let Some(path) = arg("--write-log") {
        let i = args.iter().position(|a| a == "--write-log").unwrap_or(0);
        let mb = args.get(i + 2).and_then(|s| s.parse().ok()).unwrap_or(1024);
        if let Err(e) = write_log(&path, mb) {
            eprintln!("error: {path}: {e}");
            std::process::exit(2);
        }
        return;
    }
    let n: usize = arg("--requests")
        .and_then(|s| s.parse().ok())
        .unwrap_or(TARGET_REQUESTS);
    let reps: usize = arg("--reps").and_then(|s| s.parse().ok()).unwrap_or(3);
    let p = pools();
    let mut rng = Rng::new(42);
    let text = policy_text(&p, &mut rng);
    let policy = Policy::parse("bench.yaml", &text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    assert_eq!(policy.rules.len(), 100);
    let t = Instant::now();
    let compiled = Compiled::new(&policy);
    let compile_s = t.elapsed().as_secs_f64();
    let requests: Vec<Request> = (0..n).map(|_| request(&p, &mut rng)).collect();
    // They agree on every request, and the decisions spread over the rules.
    let mut hist = vec![0usize; 101];
    for r in &requests {
        let d = compiled.eval(r);
        assert_eq!(d, &policy.eval(r), "{r:?}");
        hist[d.rule.unwrap_or(100)] += 1;
    }
    let decided_by = hist.iter().filter(|&&c| c > 0).count();
    let mean_rule: f64 = hist
        .iter()
        .enumerate()
        .take(100)
        .map(|(i, c)| (i * c) as f64)
        .sum::<f64>()
        / n as f64;
    let mut comp = Vec::new();
    let mut reference = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        let mut acc = 0usize;
        for r in &requests {
            acc += black_box(compiled.eval(black_box(r))).rule.unwrap_or(0);
        }
        black_box(acc);
        comp.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let mut acc = 0usize;
        for r in &requests {
            acc += black_box(policy.eval(black_box(r))).rule.unwrap_or(0);
        }
        black_box(acc);
        reference.push(t.elapsed().as_secs_f64());
    }
    let (c, r) = (median(comp), median(reference));
    println!("audit policy evaluation, 100 rules, {n} requests, one thread, median of {reps}");
    println!("  compile the index:        {:.3} ms", compile_s * 1e3);
    println!("  decisions spread over {decided_by} of 100 rules (+ no match); mean deciding rule index {mean_rule:.1}");
    println!(
        "  compiled index:           {c:.3} s  ({:.2} M requests/s)",
        n as f64 / c / 1e6
    );
    println!(
        "  reference (rule by rule): {r:.3} s  ({:.2} M requests/s)",
        n as f64 / r / 1e6
    );
    println!("  index speed-up:           {:.2}x", r / c);
    let per_million = c * TARGET_REQUESTS as f64 / n as f64;
    println!(
        "target: 1,000,000 requests in under {TARGET_S} s on one core: {:.3} s -> {}",
        per_million,
        if per_million < TARGET_S {
            "MET"
        } else {
            "NOT MET"
        }
    );
}
