//! The baseline of bench/webhook.sh: the same TLS server and HTTP stack as `mlguard webhook
//! serve` (rustls, hyper, axum), answering every POST /validate with a fixed "allowed"
//! AdmissionReview after reading the body but without decoding it. What the webhook costs above this is mlguard's work.
//!
//! With `--spin-us N` it also keeps its thread busy for N microseconds per request before
//! answering: a stand-in for a decision of that CPU cost, which `bench/webhook.sh --calibrate`
//! uses to show what a decision may cost on the machine for the webhook to meet its p99 ratio.
//!
//! It serves as `mlguard webhook serve` does by default, one single-threaded runtime per core;
//! with `MLGUARD_WEBHOOK_THREADS=pool` in its environment, as `--threads pool` does (the same
//! variable sets the webhook's mode), so that the bench compares the two servers in one mode.
//!
//! On SIGTERM or Ctrl-C it drains and exits 0, as the webhook does (scripts/build-pgo needs
//! that: a profile-generating build writes its profile at a normal exit).
//!
//! `cargo run --release -p mlguard-server --example noop_webhook -- ADDR CERT KEY [--spin-us N]`

use axum::routing::post;
use mlguard_server::tls::{server_config, ReloadingCert};
use mlguard_server::webhook::{serve, serve_per_core, shutdown_signal};
use std::sync::Arc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        eprintln!("usage: noop_webhook ADDR CERT KEY [--spin-us N]");
        std::process::exit(2);
    };
    let (addr, cert, key, spin_us) = match args.as_slice() {
        [_, addr, cert, key] => (addr, cert, key, 0),
        [_, addr, cert, key, flag, n] if flag == "--spin-us" => (
            addr,
            cert,
            key,
            n.parse::<u64>().unwrap_or_else(|_| usage()),
        ),
        _ => usage(),
    };
    let spin = std::time::Duration::from_micros(spin_us);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let certs = Arc::new(
            ReloadingCert::new(std::path::Path::new(cert), std::path::Path::new(key))
                .expect("certificate"),
        );
        let tls = server_config(certs).expect("tls");
        let app = axum::Router::new().route(
            "/validate",
            // The body is read (and dropped), so connections are reused as with the webhook.
            post(move |_body: axum::body::Bytes| async move {
                let start = std::time::Instant::now();
                while start.elapsed() < spin {
                    std::hint::spin_loop();
                }
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"","allowed":true}}"#,
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind(addr.as_str())
            .await
            .expect("listen");
        eprintln!("noop webhook listening on https://{}", listener.local_addr().expect("addr"));
        let per_core = match std::env::var("MLGUARD_WEBHOOK_THREADS").as_deref() {
            Ok("pool") => false,
            Err(_) | Ok("per-core") => true,
            Ok(other) => {
                eprintln!("MLGUARD_WEBHOOK_THREADS: expected pool or per-core, not `{other}`");
                std::process::exit(2);
            }
        };
        let served = if per_core {
            serve_per_core(listener, tls, app, shutdown_signal()).await
        } else {
            serve(listener, tls, app, shutdown_signal()).await
        };
        served.expect("serve");
    });
}
