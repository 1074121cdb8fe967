//! `mlguard webhook serve|certs`: flags in, mlguard-server out.

use crate::cli::WebhookCommand;
use crate::exit;
use anyhow::{bail, Context, Result};
use mlguard_controls::{Date, Severity};
use mlguard_server::admission::{Context as JudgeContext, Judge};
use mlguard_server::webhook::shutdown_signal;
use std::path::Path;
use std::sync::Arc;

pub fn run(cmd: WebhookCommand) -> Result<u8> {
    match cmd {
        WebhookCommand::Certs { output, dns } => certs(Path::new(&output), &dns),
        WebhookCommand::Manifests {
            image,
            ca_bundle,
            mutate,
            output,
            format,
        } => {
            mlguard_server::mutate::Mutations::parse(&mutate)
                .map_err(|e| anyhow::anyhow!("--mutate: {e}"))?;
            crate::output::require_pinned(&image)?;
            let pem =
                std::fs::read(&ca_bundle).with_context(|| format!("cannot read {ca_bundle}"))?;
            mlguard_server::tls::client_config(&pem)
                .with_context(|| format!("{ca_bundle} is not a PEM CA certificate"))?;
            if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                bail!("{ca_bundle}: no CERTIFICATE in the file");
            }
            use base64::Engine;
            let b64 = base64::engine::general_purpose::STANDARD.encode(&pem);
            let objs = mlguard_server::manifests::manifests(&image, &b64, &mutate);
            crate::output::write_objects(&objs, &format, output.as_deref())?;
            Ok(exit::CLEAN)
        }
        WebhookCommand::Serve {
            listen,
            tls_cert,
            tls_key,
            context_dir,
            in_cluster,
            kube_context,
            config,
            controls,
            exceptions,
            deny_at,
            mutate,
            threads,
        } => {
            let mutations = mlguard_server::mutate::Mutations::parse(&mutate)
                .map_err(|e| anyhow::anyhow!("--mutate: {e}"))?;
            let deny_at = Severity::parse(&deny_at).with_context(|| {
                format!("unknown --deny-at `{deny_at}` (expected critical, high, medium or low)")
            })?;
            let (config, custom, exceptions) =
                crate::cmd_scan::read_settings(config.as_deref(), &controls, &exceptions)?;
            let context = mlguard_core::load(&context_dir, &mlguard_core::LoadOptions::default());
            if !context.errors.is_empty() {
                for e in &context.errors {
                    eprintln!("error: {e}");
                }
                return Ok(exit::ERROR);
            }
            let judge = Judge {
                context: JudgeContext::new(context),
                config,
                exceptions,
                custom: Arc::new(custom),
                deny_at,
                today: Date::today(),
            };
            let cluster = in_cluster.then_some(kube_context);
            serve(
                listen,
                Path::new(&tls_cert),
                Path::new(&tls_key),
                judge,
                mutations,
                cluster,
                threads == "per-core",
            )
        }
    }
}

fn certs(dir: &Path, dns: &[String]) -> Result<u8> {
    if dns.is_empty() {
        bail!("give at least one --dns name");
    }
    let g = mlguard_server::tls::generate(dns)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let write = |name: &str, text: &str, private: bool| -> Result<()> {
        let path = dir.join(name);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        use std::io::Write;
        opts.open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .with_context(|| format!("cannot write {}", path.display()))
    };
    write("ca.crt", &g.ca_cert, false)?;
    write("tls.crt", &g.cert, false)?;
    write("tls.key", &g.key, true)?;
    eprintln!(
        "wrote {0}/ca.crt, {0}/tls.crt and {0}/tls.key for {1}",
        dir.display(),
        dns.join(", ")
    );
    Ok(exit::CLEAN)
}

fn serve(
    listen: std::net::SocketAddr,
    cert: &Path,
    key: &Path,
    judge: Judge,
    mutations: mlguard_server::mutate::Mutations,
    cluster: Option<Option<String>>,
    per_core: bool,
) -> Result<u8> {
    mlguard_server::init_logging();
    let certs = Arc::new(mlguard_server::tls::ReloadingCert::new(cert, key)?);
    let tls = mlguard_server::tls::server_config(certs.clone())?;
    judge.warm_up();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if per_core {
        // Only the signal, the certificate watch and the context's watches run here.
        rt.worker_threads(1);
    }
    let rt = rt
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        eprintln!(
            "mlguard webhook listening on https://{}",
            listener.local_addr()?
        );
        let _watch = certs.watch(std::time::Duration::from_secs(2));
        let mut state = mlguard_server::webhook::AppState::new(judge);
        state.mutations = mutations;
        let state = Arc::new(state);
        let _context = match cluster {
            None => None,
            Some(kube_context) => {
                let (client, name) =
                    mlguard_operator::snapshot::client_for(kube_context.as_deref())
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                eprintln!("keeping the context from {name} (watches)");
                state.set_ready(false);
                let st = state.clone();
                Some(AbortOnDrop(tokio::spawn(
                    mlguard_server::cache::keep_context(
                        client,
                        st,
                        mlguard_server::cache::CONTEXT_KINDS,
                        std::time::Duration::from_secs(1),
                    ),
                )))
            }
        };
        let app = mlguard_server::webhook::router(state);
        if per_core {
            mlguard_server::webhook::serve_per_core(listener, tls, app, shutdown_signal()).await?;
        } else {
            mlguard_server::webhook::serve(listener, tls, app, shutdown_signal()).await?;
        }
        eprintln!("mlguard webhook stopped");
        Ok(exit::CLEAN)
    })
}

/// Stops a background task when dropped.
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
