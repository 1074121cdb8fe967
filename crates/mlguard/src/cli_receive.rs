//! Flags of the audit trail's receiving commands: `mlguard audit serve` and `mlguard audit
//! ingest`.

use crate::cli_trail::StoreArgs;
use clap::{Args, Subcommand};

/// How receivers sign checkpoints and resolve models (shared by serve and ingest).
#[derive(Debug, Clone, Args)]
pub struct AppendArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The Ed25519 signer key (`PRIVATE+KEY+...`, from `mlguard audit keygen`) that signs
    /// checkpoints. Without it no checkpoint is signed.
    #[arg(long, value_name = "FILE", env = "MLGUARD_SIGNING_KEY")]
    pub signing_key: Option<String>,
    /// The log's name, the first line of every checkpoint (default: the key's name).
    #[arg(long, value_name = "NAME", env = "MLGUARD_ORIGIN")]
    pub origin: Option<String>,
    /// Sign a checkpoint after this many new records...
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1000,
        env = "MLGUARD_CHECKPOINT_EVERY"
    )]
    pub checkpoint_every: u64,
    /// ...or after this long with any new record (a number and a unit s, m, h, d).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "10s",
        env = "MLGUARD_CHECKPOINT_INTERVAL"
    )]
    pub checkpoint_interval: String,
    /// Also append every signed checkpoint to this file (the witness copy, kept apart from the
    /// store).
    #[arg(long, value_name = "FILE", env = "MLGUARD_WITNESS")]
    pub witness: Option<String>,
    /// Model resolution rules (YAML: `prefixes`, `inferenceServices`; docs/config.md).
    #[arg(long, value_name = "FILE", env = "MLGUARD_MODEL_MAP")]
    pub model_map: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ReceiveCommand {
    /// Receive audit events over HTTPS (the API server's audit webhook, MinIO's audit webhook,
    /// KServe's inference logger) and append them to the store; a sender gets its 2xx only once
    /// its batch is durable. SIGTERM stops accepting, finishes the requests in flight, exits 0.
    #[command(after_help = "Examples:
  mlguard audit keygen --name audit.example.com -o keys/
  mlguard audit serve --listen 0.0.0.0:8443 --tls-cert certs/tls.crt --tls-key certs/tls.key \\
      --client-ca certs/apiserver-ca.crt --token-file tokens.txt \\
      --store sqlite:/var/lib/mlguard/audit.db --signing-key keys/audit.example.com.key
  mlguard audit serve --insecure-loopback --listen 127.0.0.1:8080 --store sqlite:audit.db

Routes: POST /v1/k8s (audit.k8s.io/v1 EventList), POST /v1/storage (MinIO audit webhook),
POST /v1/inference (KServe inference logger CloudEvents), GET /healthz, /readyz, /metrics.
Status codes: 200 stored (or already stored), 400 unreadable body (nothing written), 401/403
credentials, 413 over --max-body, 503 store unavailable (the sender retries). Token file: one
token per line, optionally followed by the sources it may write (`TOKEN k8s` or
`TOKEN storage,inference`). docs/audit.md has the API server's webhook kubeconfig, MinIO's and
KServe's settings. Exit codes: 0 after SIGTERM, 2 on a usage, file, TLS or store error.")]
    Serve {
        /// Address to listen on (0.0.0.0:8443 to be reachable from the cluster).
        #[arg(
            long,
            value_name = "ADDR:PORT",
            default_value = "127.0.0.1:8443",
            env = "MLGUARD_LISTEN"
        )]
        listen: std::net::SocketAddr,
        /// Serving certificate chain (PEM); reloaded when the file changes.
        #[arg(
            long,
            value_name = "FILE",
            env = "MLGUARD_TLS_CERT",
            requires = "tls_key"
        )]
        tls_cert: Option<String>,
        /// Its private key (PEM).
        #[arg(
            long,
            value_name = "FILE",
            env = "MLGUARD_TLS_KEY",
            requires = "tls_cert"
        )]
        tls_key: Option<String>,
        /// Accept client certificates signed by these CA certificates (PEM) as credentials
        /// (mTLS: the API server's webhook kubeconfig `client-certificate`).
        #[arg(long, value_name = "FILE", env = "MLGUARD_CLIENT_CA")]
        client_ca: Option<String>,
        /// Accept these bearer tokens as credentials: one per line, optionally followed by the
        /// comma-separated sources it may write (k8s, storage, inference).
        #[arg(long, value_name = "FILE", env = "MLGUARD_TOKEN_FILE")]
        token_file: Option<String>,
        /// Serve plain HTTP, on a loopback address only, and without a credential unless
        /// --token-file is given (for a sender on the same host, and tests).
        #[arg(long, env = "MLGUARD_INSECURE_LOOPBACK", conflicts_with_all = ["tls_cert", "client_ca"])]
        insecure_loopback: bool,
        /// The largest request body accepted (bytes, or with a unit KiB, MiB, GiB); larger is a
        /// 413.
        #[arg(
            long,
            value_name = "SIZE",
            default_value = "32MiB",
            env = "MLGUARD_MAX_BODY"
        )]
        max_body: String,
        /// A request header (as KServe's logger copies it, `logger.metadataHeaders`) naming
        /// the caller of an inference request; repeatable, first present wins (e.g.
        /// X-Forwarded-Email set by an authenticating proxy).
        #[arg(long, value_name = "NAME", action = clap::ArgAction::Append, env = "MLGUARD_IDENTITY_HEADER", value_delimiter = ',')]
        identity_header: Vec<String>,
        /// Drop the payload of records whose event time is older than this (e.g. 6y, 400d;
        /// leaf hashes stay, so the log still verifies), checked hourly.
        #[arg(long, value_name = "DURATION", env = "MLGUARD_RETAIN")]
        retain: Option<String>,
        #[command(flatten)]
        append: AppendArgs,
    },
    /// Append the API server's log backend file (`--audit-log-path`: one audit.k8s.io/v1
    /// Event per line) to the store, in batches; with --follow keep reading as it grows and
    /// rotates. The position is saved after each durable batch, so a restart neither loses nor
    /// duplicates events.
    #[command(after_help = "Examples:
  mlguard audit ingest /var/log/kubernetes/audit.log --store sqlite:audit.db
  mlguard audit ingest /var/log/kubernetes/audit.log --follow --store sqlite:/var/lib/mlguard/audit.db \\
      --signing-key keys/audit.example.com.key

The state file (JSON: path, inode, offset) defaults to STORE.ingest-NAME-HASH.json next to a
SQLite store, else to $XDG_DATA_HOME/mlguard/ingest/ (~/.local/share/mlguard/ingest/). Lines
that are not Events are reported as FILE:LINE: reason and skipped. Exit codes: 0 when every
line was read, 2 when some were skipped or on a usage, file or store error.")]
    Ingest {
        /// The log file.
        #[arg(value_name = "FILE")]
        file: String,
        /// Keep reading as the file grows and rotates, until SIGTERM or Ctrl-C.
        #[arg(long, env = "MLGUARD_FOLLOW")]
        follow: bool,
        /// Where the position is saved (see below for the default).
        #[arg(long, value_name = "FILE", env = "MLGUARD_STATE")]
        state: Option<String>,
        /// Events per append.
        #[arg(long, value_name = "N", default_value_t = 400, env = "MLGUARD_BATCH")]
        batch: usize,
        #[command(flatten)]
        append: AppendArgs,
    },
}
