//! Time of one admission decision, without HTTP or TLS: decode an AdmissionReview and judge
//! it, for the three objects the HTTP benchmark (bench/webhook.sh) sends, against two contexts
//! from the example platform (examples/platform): every manifest (as `--context-dir` would
//! read the folder), and only the kinds `--in-cluster` watches (what a deployed webhook
//! holds). Prints the mean and p99 per decision, and the mean time of the decoding alone.
//!
//! `cargo bench -p mlguard-server --bench decide [-- --iterations N] [--only all|watched]`

// The allocator of the mlguard binary, so the figures are the server's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use mlguard_server::admission::{decode, Context, Judge};
use std::hint::black_box;
use std::time::Instant;

const IMG: &str = "registry.example.com/ml/pytorch@sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";

fn review(group: &str, version: &str, kind: &str, resource: &str, object: &str) -> Vec<u8> {
    format!(
        r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{{"uid":"b9a1c8e2-0000-4000-8000-000000000001","kind":{{"group":"{group}","version":"{version}","kind":"{kind}"}},"resource":{{"group":"{group}","version":"{version}","resource":"{resource}"}},"name":"x","namespace":"team-a","operation":"CREATE","userInfo":{{"username":"system:serviceaccount:kubeflow:training-operator"}},"object":{object},"dryRun":false}}}}"#
    )
    .into_bytes()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let iterations: usize = args
        .iter()
        .position(|a| a == "--iterations")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    // `--only all` or `--only watched`: one context (e.g. to profile it alone).
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/platform");
    let context = mlguard_core::load(&[root.to_owned()], &mlguard_core::LoadOptions::default());
    let mut in_cluster = context.clone();
    in_cluster.objects.retain(|o| {
        mlguard_server::cache::CONTEXT_KINDS
            .iter()
            .any(|k| k.3 == o.kind && k.0 == o.group())
    });
    let watched = Judge {
        context: Context::new(in_cluster),
        ..Judge::default()
    };
    let judge = Judge {
        context: Context::new(context),
        ..Judge::default()
    };
    let ctr = format!(
        r#"{{"name":"pytorch","image":"{IMG}","resources":{{"requests":{{"cpu":"8","memory":"64Gi","nvidia.com/gpu":"8"}},"limits":{{"cpu":"8","memory":"64Gi","nvidia.com/gpu":"8"}}}},"securityContext":{{"allowPrivilegeEscalation":false,"capabilities":{{"drop":["ALL"]}}}},"volumeMounts":[{{"name":"dshm","mountPath":"/dev/shm"}}]}}"#
    );
    let spec = format!(
        r#"{{"automountServiceAccountToken":false,"securityContext":{{"runAsNonRoot":true,"runAsUser":1000,"seccompProfile":{{"type":"RuntimeDefault"}}}},"containers":[{ctr}],"volumes":[{{"name":"dshm","emptyDir":{{"medium":"Memory","sizeLimit":"16Gi"}}}}]}}"#
    );
    let tmpl = format!(
        r#"{{"replicas":1,"template":{{"metadata":{{"labels":{{"mlguard.io/workload":"training","mlguard.io/job":"llama"}}}},"spec":{spec}}}}}"#
    );
    let bodies = [
        (
            "pod",
            review(
                "",
                "v1",
                "Pod",
                "pods",
                &format!(
                    r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"llama-worker-0","namespace":"team-a","labels":{{"mlguard.io/workload":"training","mlguard.io/job":"llama","training.kubeflow.org/job-name":"llama"}}}},"spec":{spec}}}"#
                ),
            ),
        ),
        (
            "pytorchjob",
            review(
                "kubeflow.org",
                "v1",
                "PyTorchJob",
                "pytorchjobs",
                &format!(
                    r#"{{"apiVersion":"kubeflow.org/v1","kind":"PyTorchJob","metadata":{{"name":"llama","namespace":"team-a"}},"spec":{{"pytorchReplicaSpecs":{{"Master":{tmpl},"Worker":{tmpl}}}}}}}"#
                ),
            ),
        ),
        (
            "isvc",
            review(
                "serving.kserve.io",
                "v1beta1",
                "InferenceService",
                "inferenceservices",
                r#"{"apiVersion":"serving.kserve.io/v1beta1","kind":"InferenceService","metadata":{"name":"llm","namespace":"team-a","labels":{"mlguard.io/workload":"serving"}},"spec":{"predictor":{"model":{"modelFormat":{"name":"pytorch"},"storageUri":"s3://models/llm","resources":{"limits":{"cpu":"4","memory":"16Gi"}}}}}}"#,
            ),
        ),
    ];
    // As the webhook's judging threads call it: from a thread outside rayon's pool.
    if only.as_deref().is_none_or(|o| o == "all") {
        println!(
            "context: every manifest of examples/platform ({} objects)",
            judge.context.len()
        );
        run(&judge, &bodies, iterations);
    }
    if only.as_deref().is_none_or(|o| o == "watched") {
        println!(
            "context: the kinds --in-cluster watches ({} objects)",
            watched.context.len()
        );
        run(&watched, &bodies, iterations);
    }
}

fn run(judge: &Judge, bodies: &[(&str, Vec<u8>)], iterations: usize) {
    println!(
        "{:<12} {:>12} {:>12} {:>16} {:>10}",
        "object", "mean µs", "p99 µs", "decode mean µs", "findings"
    );
    for (name, body) in bodies {
        let mut times = Vec::with_capacity(iterations);
        let mut decoding = 0.0;
        let mut findings = 0;
        for _ in 0..iterations {
            let t = Instant::now();
            let req = decode(black_box(body)).expect("valid review");
            decoding += t.elapsed().as_secs_f64() * 1e6;
            let d = judge.decide(&req);
            times.push(t.elapsed().as_secs_f64() * 1e6);
            findings = d.findings.len();
            black_box(d);
        }
        times.sort_by(f64::total_cmp);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        let p99 = times[times.len() * 99 / 100];
        let decoding = decoding / iterations as f64;
        println!("{name:<12} {mean:>12.1} {p99:>12.1} {decoding:>16.1} {findings:>10}");
    }
}
