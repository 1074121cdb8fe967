//! Flags of `mlguard report`: the HTML evidence report from a saved scan, and the signed
//! evidence pack (docs/report.md).

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Render the HTML evidence report (one self-contained file: per-framework clause tables,
    /// inline SVG charts, network, tenant and audit coverage views) from a saved scan.
    #[command(after_help = "Examples:
  mlguard scan ./manifests --format json -o findings.json
  mlguard report render findings.json -o report.html
  mlguard report render findings.json --previous last-week.json -o report.html   # what changed
  mlguard report render findings.json --image-scan image-scan.json --model-scan model-scan.json -o report.html
  mlguard scan ./manifests --format html -o report.html     # the same page straight from a scan

The page has no scripts and loads nothing: it works offline and from a file URL, and prints to
PDF cleanly. Large scans are aggregated (counts per control and clause, at most
--evidence-per-clause evidence objects per clause, then \"and K more\").
Exit codes: 0 written, 2 unreadable or invalid input (the message names the file and field).")]
    Render(RenderArgs),
    /// Make a signed evidence pack: a ZIP of the HTML report, the findings JSON, SARIF, the
    /// other inputs and a manifest with the SHA-256 of every file, signed with an Ed25519 key.
    #[command(after_help = "Examples:
  mlguard report keygen -o keys/                            # keys/mlguard-report.key and .pub
  mlguard report pack findings.json -o evidence.zip --key keys/mlguard-report.key
  mlguard report pack findings.json --previous last-week.json --image-scan image-scan.json \\
      -o evidence.zip --key keys/mlguard-report.key
  mlguard report verify evidence.zip --key keys/mlguard-report.pub

Keys are the audit trail's Ed25519 key texts (C2SP signed-note / Go sumdb note format):
PRIVATE+KEY+<name>+<id>+<base64> for signing, <name>+<id>+<base64> to verify.
Exit codes: 0 written, 2 unreadable or invalid input or key.")]
    Pack(PackArgs),
    /// Check an evidence pack: the signature over its manifest, and every file against the
    /// manifest's SHA-256. Exit 0 when it verifies, 1 when the pack was altered (naming the
    /// file or the signature that failed), 2 on a usage error.
    #[command(after_help = "Examples:
  mlguard report verify evidence.zip --key keys/mlguard-report.pub
  mlguard report verify evidence.zip --key keys/mlguard-report.pub --quiet && echo intact

Any changed byte of the pack fails: contents against the manifest's hashes, the manifest
against the signature, and the ZIP structure against what mlguard writes for those files.")]
    Verify {
        /// The pack (a ZIP written by `mlguard report pack`).
        #[arg(value_name = "PACK.zip")]
        pack: String,
        /// The public (verifier) key text file: <name>+<id>+<base64>.
        #[arg(long, value_name = "PUB", env = "MLGUARD_KEY")]
        key: String,
        /// Print nothing on success.
        #[arg(short, long, env = "MLGUARD_QUIET")]
        quiet: bool,
    },
    /// Create an Ed25519 key pair for signing evidence packs: DIR/NAME.key (secret, mode
    /// 0600) and DIR/NAME.pub.
    #[command(after_help = "Examples:
  mlguard report keygen -o keys/
  mlguard report keygen -o keys/ --name acme-compliance

Existing files are never overwritten. The key texts are those of the audit trail's
checkpoint keys, so one key can sign both.")]
    Keygen {
        /// The folder to write the key pair to (created if missing).
        #[arg(
            short = 'o',
            long = "output",
            value_name = "DIR",
            env = "MLGUARD_OUTPUT"
        )]
        output: String,
        /// The key name (no spaces or plus signs); it is part of every signature.
        #[arg(long, default_value = "mlguard-report", env = "MLGUARD_NAME")]
        name: String,
    },
}

/// What a report is drawn from.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// The findings JSON of a scan (`mlguard scan --format json`).
    #[arg(value_name = "FINDINGS.json")]
    pub findings: String,

    /// An earlier findings JSON: the report adds what changed since (new and resolved
    /// findings, controls whose status changed).
    #[arg(long, value_name = "OLD.json", env = "MLGUARD_PREVIOUS")]
    pub previous: Option<String>,

    /// Results of `mlguard image scan --format json`, summarised in the report; repeatable.
    #[arg(long, value_name = "RESULTS.json", action = clap::ArgAction::Append, env = "MLGUARD_IMAGE_SCAN")]
    pub image_scan: Vec<String>,

    /// Results of `mlguard model scan --format json`, summarised in the report; repeatable.
    #[arg(long, value_name = "RESULTS.json", action = clap::ArgAction::Append, env = "MLGUARD_MODEL_SCAN")]
    pub model_scan: Vec<String>,

    /// Only one framework's clauses and the findings mapped to it: hipaa, soc2 or gdpr.
    #[arg(long, value_name = "FRAMEWORK", env = "MLGUARD_FRAMEWORK")]
    pub framework: Option<String>,

    /// The most evidence objects listed per clause (the rest are counted).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 50,
        env = "MLGUARD_EVIDENCE_PER_CLAUSE"
    )]
    pub evidence_per_clause: usize,
}

#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Write the HTML to PATH instead of stdout.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "PATH",
        env = "MLGUARD_OUTPUT"
    )]
    pub output: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct PackArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// The pack to write (a ZIP).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "OUT.zip",
        env = "MLGUARD_OUTPUT"
    )]
    pub output: String,
    /// The signing key text file: PRIVATE+KEY+<name>+<id>+<base64> (`mlguard report keygen`).
    #[arg(long, value_name = "KEY", env = "MLGUARD_KEY")]
    pub key: String,
}
