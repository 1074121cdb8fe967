//! Loader throughput: raw YAML parser events vs. spanned trees vs. objects, in one run, so the
//! ratios are comparable. `cargo bench -p mlguard-core --bench loader [-- FILE]`; without FILE it
//! generates 20,000 pod manifests (about 10 MB). Prints MB/s for each layer and the overhead of
//! ours over the bare parser.

use mlguard_core::load::{load_text, LoadOptions};
use mlguard_core::yaml::{parse_stream, Limits};
use std::time::Instant;

fn synthetic() -> String {
    let mut s = String::new();
    for i in 0..20_000 {
        s.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: trainer-{i}\n  namespace: team-{}\n  labels: {{app: trainer, job: j{}}}\nspec:\n  containers:\n  - name: pytorch\n    image: registry.example.com/ml/pytorch@sha256:{:064x}\n    args: [\"--epochs\", \"3\"]\n    resources:\n      limits: {{nvidia.com/gpu: 1, memory: 32Gi}}\n    securityContext: {{runAsNonRoot: true, allowPrivilegeEscalation: false}}\n    volumeMounts:\n    - {{name: dshm, mountPath: /dev/shm}}\n  volumes:\n  - name: dshm\n    emptyDir: {{medium: Memory, sizeLimit: 8Gi}}\n",
            i % 100,
            i % 7,
            i
        ));
    }
    s
}

fn best_of<T>(n: usize, mut f: impl FnMut() -> T) -> f64 {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let text = match std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        Some(p) => std::fs::read_to_string(&p).expect("read input"),
        None => synthetic(),
    };
    let mb = text.len() as f64 / 1e6;
    let raw = best_of(3, || {
        saphyr_parser::Parser::new_from_str(&text)
            .filter(Result::is_ok)
            .count()
    });
    let trees = best_of(3, || parse_stream(&text, Limits::default()).documents.len());
    let objects = best_of(3, || {
        load_text("bench.yaml", &text, &LoadOptions::default())
            .0
            .len()
    });
    println!("input: {mb:.1} MB (best of 3, one thread)");
    println!("saphyr-parser events  {:>7.1} MB/s", mb / raw);
    println!(
        "spanned trees         {:>7.1} MB/s  ({:.2}x the bare parser's time)",
        mb / trees,
        trees / raw
    );
    println!(
        "objects (load_text)   {:>7.1} MB/s  ({:.2}x the bare parser's time)",
        mb / objects,
        objects / raw
    );
}
