//! Rendering 1,000 tenants, from YAML text to the YAML of every object, in one run.
//!
//! `cargo bench -p mlguard-tenant --bench render [-- --tenants N] [-- --reps K]` generates N
//! tenants (default 1,000; 3 namespaces each, members, quota with MIG and DRA keys, limits,
//! Kueue, storage endpoints, serving callers, mTLS, a Vault key provider; every third pins a
//! collective port range) as one multi-document YAML file, then times loading it, reading and
//! validating the tenants (overlap check included), rendering every object and writing them
//! as YAML (median of K runs, default 3), and prints the verdict against the target
//! (1,000 tenants in under 1 s).

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Instant;

const TARGET_S: f64 = 1.0;

fn tenants(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        let collective = if i % 3 == 0 {
            "{mode: port-range, from: 40000, to: 40999}"
        } else {
            "{mode: all-tcp}"
        };
        let class = ["internal", "phi", "pii", "confidential"][i % 4];
        let _ = write!(
            s,
            "---\napiVersion: mlguard.io/v1alpha1\nkind: MLTenant\nmetadata: {{name: team-{i}}}\nspec:\n  classification: {class}\n  frameworks: [hipaa, soc2]\n  namespaces:\n  - {{name: team-{i}-train, role: training}}\n  - {{name: team-{i}-serve, role: serving, quota: {{gpus: 2}}}}\n  - {{name: team-{i}-nb, role: notebooks}}\n  members:\n    engineers: {{groups: [ml-team-{i}], serviceAccounts: [team-{i}-train/pipeline]}}\n    viewers: {{groups: [analysts-{i}]}}\n    admins: {{users: [lead-{i}@example.com]}}\n  quota: {{gpus: 16, mig: {{1g.10gb: 4}}, deviceClasses: {{gpu.nvidia.com: 2}}, cpu: \"256\", memory: 1Ti, pvcs: 20, storage: 10Ti}}\n  limits: {{defaultCpu: \"2\", defaultMemory: 8Gi, maxCpu: \"64\", maxMemory: 512Gi}}\n  kueue: {{clusterQueue: gpu-shared}}\n  network:\n    collective: {collective}\n    storageEndpoints:\n    - {{cidr: 10.40.0.0/16, ports: [443]}}\n    - {{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: minio}}}}, podSelector: {{matchLabels: {{app: minio}}}}, ports: [9000]}}\n    servingCallers: [web-{i}]\n    mtls: istio\n  keyProvider: {{type: vault, parameters: {{address: \"https://vault.example.com:8200\", role: team-{i}, keyPath: transit/keys/team-{i}}}}}\n"
        );
    }
    s
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|s| s.parse::<usize>().ok())
    };
    let n = arg("--tenants").unwrap_or(1_000);
    let reps = arg("--reps").unwrap_or(3);
    let text = tenants(n);
    let (mut load, mut read, mut render, mut emit, mut total) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut objects = 0;
    let mut bytes = 0;
    for _ in 0..reps {
        let t0 = Instant::now();
        let (objs, errs, _) = mlguard_core::load::load_text(
            "tenants.yaml",
            &text,
            &mlguard_core::LoadOptions::default(),
        );
        assert!(errs.is_empty(), "{errs:?}");
        let t1 = Instant::now();
        let pairs: Vec<(String, mlguard_core::Object)> = objs
            .into_iter()
            .map(|o| ("tenants.yaml".to_owned(), o))
            .collect();
        let (ts, errs) = mlguard_tenant::read(&pairs);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(ts.len(), n);
        let t2 = Instant::now();
        let rendered: Vec<serde_json::Value> = ts.iter().flat_map(mlguard_tenant::render).collect();
        let t3 = Instant::now();
        let yaml = mlguard_core::emit::to_yaml_stream(&rendered);
        let t4 = Instant::now();
        objects = rendered.len();
        bytes = black_box(yaml).len();
        load.push((t1 - t0).as_secs_f64());
        read.push((t2 - t1).as_secs_f64());
        render.push((t3 - t2).as_secs_f64());
        emit.push((t4 - t3).as_secs_f64());
        total.push((t4 - t0).as_secs_f64());
    }
    let t = median(total);
    println!("render {n} tenants ({} KB of MLTenant YAML) into {objects} objects ({} KB of YAML), median of {reps}", text.len() / 1000, bytes / 1000);
    println!("  load YAML:          {:.3} s", median(load));
    println!("  read and validate:  {:.3} s", median(read));
    println!("  render objects:     {:.3} s", median(render));
    println!("  write YAML:         {:.3} s", median(emit));
    println!("  total:              {t:.3} s");
    println!(
        "target: 1,000 tenants in under {TARGET_S} s: {:.3} s for {n} -> {}",
        t,
        if n >= 1_000 && t < TARGET_S {
            "MET"
        } else if n < 1_000 {
            "n/a (fewer than 1,000 tenants)"
        } else {
            "NOT MET"
        }
    );
}
