//! `mlguard audit serve|ingest`: the audit store's receiving side.

use crate::cli_receive::{AppendArgs, ReceiveCommand};
use crate::cmd_trail::store_url;
use crate::cmd_webhook::AbortOnDrop;
use crate::exit;
use anyhow::{bail, Context, Result};
use mlguard_audit::store::{CheckpointPolicy, OpenOptions, Store};
use mlguard_audit::trail::normalize::ModelMap;
use mlguard_server::audit::auth::{Auth, Tokens};
use mlguard_server::audit::{ingest_file, Receiver, Settings};
use mlguard_server::webhook::shutdown_signal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub fn run(cmd: ReceiveCommand) -> Result<u8> {
    match cmd {
        ReceiveCommand::Serve {
            listen,
            tls_cert,
            tls_key,
            client_ca,
            token_file,
            insecure_loopback,
            max_body,
            identity_header,
            retain,
            append,
        } => serve(ServeArgs {
            listen,
            tls: tls_cert.zip(tls_key),
            client_ca,
            token_file,
            insecure_loopback,
            max_body: parse_size(&max_body).context("--max-body")?,
            identity_headers: identity_header,
            retain,
            append,
        }),
        ReceiveCommand::Ingest {
            file,
            follow,
            state,
            batch,
            append,
        } => ingest(&file, follow, state, batch, &append),
    }
}

/// Bytes, or a number with a unit K/KiB, M/MiB, G/GiB (powers of 1024).
fn parse_size(s: &str) -> Result<usize> {
    let t = s.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let (n, unit) = t.split_at(digits);
    let n: usize = n
        .parse()
        .with_context(|| format!("{s:?} is not a size: write bytes, or e.g. 64KiB, 32MiB, 1GiB"))?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1 << 10,
        "m" | "mib" | "mb" => 1 << 20,
        "g" | "gib" | "gb" => 1 << 30,
        u => bail!("{s:?}: unknown unit {u:?} (use KiB, MiB or GiB)"),
    };
    let v = n
        .checked_mul(mult)
        .with_context(|| format!("{s:?} is too large"))?;
    if v == 0 {
        bail!("{s:?} is zero: no request would fit");
    }
    Ok(v)
}

fn duration(flag: &str, s: &str) -> Result<Duration> {
    let ns = mlguard_audit::store::retain::parse_duration(s)
        .map_err(|e| anyhow::anyhow!("{flag}: {}", e.replace("retention", "duration")))?;
    Ok(Duration::from_nanos(u64::try_from(ns).unwrap_or(0)))
}

/// The checkpoint policy from the flags (none without a signing key).
fn policy(a: &AppendArgs) -> Result<Option<CheckpointPolicy>> {
    let every = duration("--checkpoint-interval", &a.checkpoint_interval)?;
    let Some(key) = &a.signing_key else {
        if a.origin.is_some() || a.witness.is_some() {
            bail!("--origin and --witness need --signing-key (checkpoints are only signed with a key)");
        }
        return Ok(None);
    };
    let text = std::fs::read_to_string(key).with_context(|| format!("cannot read {key}"))?;
    let signer = mlguard_audit::trail::note::Signer::from_key_text(text.trim())
        .map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
    if a.checkpoint_every == 0 {
        bail!("--checkpoint-every must be at least 1");
    }
    Ok(Some(CheckpointPolicy {
        origin: a.origin.clone().unwrap_or_else(|| signer.name().to_owned()),
        signer,
        every_records: a.checkpoint_every,
        every,
        witness: a.witness.as_ref().map(PathBuf::from),
    }))
}

/// The SQLite file of a `sqlite:` URL.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    Some(PathBuf::from(rest.strip_prefix("//").unwrap_or(rest)))
}

fn open_options(a: &AppendArgs, url: &str) -> Result<OpenOptions> {
    if let Some(parent) = sqlite_path(url)
        .as_deref()
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    Ok(OpenOptions {
        checkpoints: policy(a)?,
        create: true,
    })
}

fn models(a: &AppendArgs) -> Result<ModelMap> {
    match &a.model_map {
        None => Ok(ModelMap::default()),
        Some(p) => mlguard_server::audit::load_model_map(Path::new(p))
            .map_err(|e| anyhow::anyhow!("--model-map {e}")),
    }
}

struct ServeArgs {
    listen: std::net::SocketAddr,
    tls: Option<(String, String)>,
    client_ca: Option<String>,
    token_file: Option<String>,
    insecure_loopback: bool,
    max_body: usize,
    identity_headers: Vec<String>,
    retain: Option<String>,
    append: AppendArgs,
}

fn serve(a: ServeArgs) -> Result<u8> {
    mlguard_server::init_logging();
    if a.insecure_loopback {
        mlguard_server::audit::check_plain_listen(a.listen).map_err(anyhow::Error::msg)?;
    } else {
        if a.tls.is_none() {
            bail!(
                "give --tls-cert and --tls-key (HTTPS), or --insecure-loopback for plain HTTP on \
                 a loopback address"
            );
        }
        if a.client_ca.is_none() && a.token_file.is_none() {
            bail!(
                "no credential configured: give --client-ca (client certificates) and/or \
                 --token-file (bearer tokens); writes are never unauthenticated over HTTPS"
            );
        }
    }
    let tokens = match &a.token_file {
        Some(p) => Tokens::from_file(Path::new(p))?,
        None => Tokens::default(),
    };
    let settings = Settings {
        max_body: a.max_body,
        identity_headers: a.identity_headers.clone(),
        auth: Auth {
            open: a.insecure_loopback && tokens.is_empty(),
            tokens,
            client_ca: a.client_ca.is_some(),
        },
    };
    let tls = match &a.tls {
        None => None,
        Some((cert, key)) => {
            let certs = Arc::new(mlguard_server::tls::ReloadingCert::new(
                Path::new(cert),
                Path::new(key),
            )?);
            let cfg = mlguard_server::audit::server_config(
                certs.clone(),
                a.client_ca.as_deref().map(Path::new),
            )
            .map_err(anyhow::Error::msg)?;
            Some((cfg, certs))
        }
    };
    let retain = a
        .retain
        .as_deref()
        .map(|r| mlguard_audit::store::retain::parse_duration(r).map_err(anyhow::Error::msg))
        .transpose()
        .context("--retain")?;
    let models = models(&a.append)?;
    let url = store_url(&a.append.store)?;
    let opts = open_options(&a.append, &url)?;
    // Opened before the async runtime starts (the PostgreSQL client runs its own).
    let (store, log): (Arc<dyn Store>, Option<Arc<dyn mlguard_audit::store::Log>>) =
        if retain.is_some() {
            let log: Arc<dyn mlguard_audit::store::Log> =
                Arc::from(mlguard_audit::store::open_log(&url, opts)?);
            (log.clone(), Some(log))
        } else {
            (Arc::from(mlguard_audit::store::open(&url, opts)?), None)
        };
    let state = Arc::new(Receiver::new(store, models, settings));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .with_context(|| format!("cannot listen on {}", a.listen))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        eprintln!(
            "mlguard audit receiver listening on {scheme}://{} (store {})",
            listener.local_addr()?,
            mlguard_audit::store::redact_url(&url)
        );
        let _watch = tls
            .as_ref()
            .map(|(_, certs)| AbortOnDrop(certs.clone().watch(Duration::from_secs(2))));
        let _checkpoints = AbortOnDrop(tokio::spawn(mlguard_server::audit::checkpoints(
            state.clone(),
            Duration::from_secs(1),
        )));
        let _retention = match (log, retain) {
            (Some(log), Some(keep)) => Some(AbortOnDrop(tokio::spawn(
                mlguard_server::audit::retention(log, keep),
            ))),
            _ => None,
        };
        let app = mlguard_server::audit::router(state.clone());
        mlguard_server::audit::serve(listener, tls.map(|(c, _)| c), app, shutdown_signal()).await?;
        eprintln!("mlguard audit receiver stopped");
        Ok(exit::CLEAN)
    })
}

/// FNV-1a, 64 bits: a stable short name for a path.
fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The default state file of ingesting `file` into `url`: next to a SQLite store, else in the
/// user data folder.
fn default_state(file: &Path, url: &str) -> Result<PathBuf> {
    let abs = std::path::absolute(file).unwrap_or_else(|_| file.to_owned());
    let name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "log".into());
    let key = format!("{url}\n{}", abs.display());
    let leaf = format!("{name}-{:08x}.json", fnv(&key) as u32);
    if let Some(db) = sqlite_path(url) {
        let mut p = db.into_os_string();
        p.push(format!(".ingest-{leaf}"));
        return Ok(PathBuf::from(p));
    }
    let base = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(h) => PathBuf::from(h).join(".local/share"),
            None => bail!("give --state: neither XDG_DATA_HOME nor HOME is set"),
        },
    };
    Ok(base.join("mlguard/ingest").join(leaf))
}

fn ingest(
    file: &str,
    follow: bool,
    state: Option<String>,
    batch: usize,
    a: &AppendArgs,
) -> Result<u8> {
    mlguard_server::init_logging();
    if batch == 0 {
        bail!("--batch must be at least 1");
    }
    let path = Path::new(file);
    let mut models = models(a)?;
    let url = store_url(&a.store)?;
    let state = match state {
        Some(s) => PathBuf::from(s),
        None => default_state(path, &url)?,
    };
    let store = mlguard_audit::store::open(&url, open_options(a, &url)?)?;
    let mut opts = ingest_file::Options::new(state);
    opts.follow = follow;
    opts.batch = batch;
    let stop = Arc::new(AtomicBool::new(false));
    if follow {
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("mlguard-signals".into())
            .spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(shutdown_signal());
                    flag.store(true, Ordering::Release);
                }
            })
            .context("starting the signal thread")?;
    }
    let mut report_line = |f: &Path, line: u64, reason: &str| {
        eprintln!("{}:{line}: {reason}", f.display());
    };
    let report = ingest_file::ingest(
        path,
        store.as_ref(),
        &mut models,
        &opts,
        &stop,
        &mut report_line,
    )?;
    // Sign what is due before leaving, so a one-shot ingest ends on a checkpoint when the
    // interval passed.
    if let Err(e) = store.checkpoint_if_due() {
        eprintln!("warning: checkpoint not signed: {e}");
    }
    eprintln!(
        "{file}: {} events appended, {} already stored, {} lines skipped{}",
        report.appended,
        report.duplicates,
        report.rejected,
        if report.rotations > 0 {
            format!(", {} rotations followed", report.rotations)
        } else {
            String::new()
        }
    );
    Ok(if report.rejected > 0 {
        exit::ERROR
    } else {
        exit::CLEAN
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert_eq!(parse_size("32MiB").unwrap(), 32 << 20);
        assert_eq!(parse_size("64k").unwrap(), 64 << 10);
        assert!(parse_size("0").is_err());
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("MiB").is_err());
    }

    #[test]
    fn state_next_to_a_sqlite_store() {
        let p = default_state(Path::new("/var/log/audit.log"), "sqlite:/data/audit.db").unwrap();
        let s = p.display().to_string();
        assert!(s.starts_with("/data/audit.db.ingest-audit.log-"), "{s}");
        assert!(s.ends_with(".json"));
        let q = default_state(Path::new("/var/log/other.log"), "sqlite:/data/audit.db").unwrap();
        assert_ne!(p, q);
    }
}
