//! The operator against the loopback fake API server (tests/support/fake_api.rs), in one run:
//! N tenants (default 1,000; 2 namespaces each) created before the controller starts; time
//! from start until every tenant is Ready at its generation, the writes it took, then the
//! process CPU time over an idle window (default 10 s) with no change, as a share of one core.
//! Targets: 1,000 tenants Ready in under 60 s; idle under 1% CPU.
//!
//! `cargo bench -p mlguard-operator --bench reconcile [-- --tenants N] [-- --idle S]`

#[path = "../tests/support/fake_api.rs"]
mod fake_api;

use fake_api::FakeApi;
use mlguard_operator::{run_with, Context};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const T: &str = "apis/mlguard.io/v1alpha1";

/// User plus system CPU seconds of this process so far (/proc/self/stat).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the command name.
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|s| s.parse::<u64>().ok())
    };
    let n = arg("--tenants").unwrap_or(1_000) as usize;
    let idle = arg("--idle").unwrap_or(10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let api = FakeApi::start().await;
        for i in 0..n {
            let class = ["internal", "phi"][i % 2];
            api.put(T, "mltenants", json!({
                "apiVersion": "mlguard.io/v1alpha1", "kind": "MLTenant", "metadata": {"name": format!("team-{i}")},
                "spec": {"classification": class,
                         "namespaces": [{"name": format!("team-{i}-train"), "role": "training"}, {"name": format!("team-{i}-serve"), "role": "serving"}],
                         "members": {"engineers": {"groups": [format!("ml-team-{i}")]}},
                         "quota": {"gpus": 8},
                         "network": {"storageEndpoints": [{"cidr": "10.40.0.0/16", "ports": [443]}], "servingCallers": ["web"]}}}));
        }
        let ctx = Arc::new(Context::new(api.client()));
        let start = Instant::now();
        let controller = tokio::spawn(run_with(ctx));
        let ready = |api: &FakeApi| {
            api.all(T, "mltenants")
                .iter()
                .filter(|t| {
                    t["status"]["conditions"].as_array().is_some_and(|c| {
                        c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True")
                    })
                })
                .count()
        };
        loop {
            let r = ready(&api);
            if r == n {
                break;
            }
            if start.elapsed() > Duration::from_secs(600) {
                println!("only {r} of {n} tenants Ready after 600 s");
                std::process::exit(1);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let took = start.elapsed().as_secs_f64();
        let objects = ["namespaces", "networkpolicies", "roles", "rolebindings", "resourcequotas"]
            .iter()
            .map(|p| api.requests("PATCH", p))
            .sum::<usize>();
        // The watch events of the first applies wake the controller a few more times; wait
        // until 2 s pass without a write, then measure an idle window.
        let writes = |api: &FakeApi| {
            ["mltenants", "namespaces", "networkpolicies", "roles", "rolebindings", "resourcequotas"]
                .iter()
                .map(|p| api.requests("PATCH", p))
                .sum::<usize>()
        };
        let mut last = writes(&api);
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let now = writes(&api);
            if now == last || start.elapsed() > Duration::from_secs(600) {
                break;
            }
            last = now;
        }
        let quiet = start.elapsed().as_secs_f64();
        if std::env::var_os("MLGUARD_BENCH_DEBUG").is_some() {
            println!("  resourceVersion {}; events {:?}", api.resource_version(), api.event_counts());
        }
        let writes_before = writes(&api);
        let (c0, t0) = (cpu_seconds(), Instant::now());
        tokio::time::sleep(Duration::from_secs(idle)).await;
        let (c1, t1) = (cpu_seconds(), Instant::now());
        let writes_after = writes(&api);
        let share = (c1 - c0) / (t1 - t0).as_secs_f64() * 100.0;
        println!("operator vs fake API server: {n} tenants (2 namespaces each)");
        println!("  all Ready after:   {took:.2} s ({objects} object applies)");
        println!("  no more writes after: {quiet:.2} s ({} applies in all)", writes_before);
        println!("  idle {idle} s:         {:.2}% of one core (operator and fake server together), {} writes", share, writes_after - writes_before);
        println!(
            "target: 1,000 tenants Ready in under 60 s: {} ; idle under 1% CPU with no drift: {}",
            if n >= 1000 && took < 60.0 { "MET" } else if n < 1000 { "n/a" } else { "NOT MET" },
            if share < 1.0 && writes_after == writes_before { "MET" } else { "NOT MET" }
        );
        controller.abort();
    });
}
