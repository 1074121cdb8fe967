//! Flags as the user types them (the low-level form). Each subcommand validates these into its
//! own plan before doing any work.

use crate::output::ColorChoice;
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "mlguard",
    version,
    about = "Secure AI/ML workloads on shared Kubernetes, and prove it to an auditor",
    long_about = "mlguard checks Kubernetes manifests (or a cluster snapshot) of ML platforms against a \
catalog of controls: network isolation of training jobs, RBAC and GPU quotas per team, model \
encryption, audit logging, image and model scanning. Findings point at file, line and YAML path \
and are mapped to HIPAA, SOC 2 and GDPR clauses.",
    after_help = "Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or input error.\n\
Every flag can also be set with MLGUARD_<FLAG> (for example MLGUARD_FAIL_ON=critical).",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests against the control catalog (the main job).
    Scan(ScanArgs),
    /// List and explain the controls mlguard checks.
    #[command(subcommand)]
    Controls(ControlsCommand),
    /// Effective RBAC permissions computed from Roles and bindings in manifests.
    #[command(subcommand)]
    Rbac(RbacCommand),
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  mlguard scan examples/platform
  mlguard scan manifests/ --fail-on critical
  helm template charts/serving | mlguard scan -
  mlguard scan k8s/ --format sarif -o mlguard.sarif --format junit -o junit.xml
  mlguard scan k8s/ --framework hipaa
  mlguard scan k8s/ --controls acme-controls.yaml --exceptions exceptions.yaml --config mlguard.yaml

Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or input error (2 wins over 1).")]
pub struct ScanArgs {
    /// Files or folders of manifests (YAML or JSON, searched recursively); `-` reads stdin.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<String>,

    /// Output format: table, json, sarif, junit, policyreport. Repeat with -o for several
    /// reports in one run; a format without -o goes to stdout.
    #[arg(long, value_name = "FORMAT", action = clap::ArgAction::Append, env = "MLGUARD_FORMAT")]
    pub format: Vec<String>,

    /// Write the report of the preceding --format to PATH instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "PATH", action = clap::ArgAction::Append, env = "MLGUARD_OUTPUT")]
    pub output: Vec<String>,

    /// Exit 1 when a finding at or above this severity is open: critical, high, medium, low,
    /// or none to never fail on findings.
    #[arg(
        long,
        value_name = "SEVERITY",
        default_value = "high",
        env = "MLGUARD_FAIL_ON"
    )]
    pub fail_on: String,

    /// Only findings and clause coverage for one framework: hipaa, soc2 or gdpr.
    #[arg(long, value_name = "FRAMEWORK", env = "MLGUARD_FRAMEWORK")]
    pub framework: Option<String>,

    /// Custom controls in Kubernetes CEL (docs/custom-controls.md); repeatable.
    #[arg(long, value_name = "FILE", action = clap::ArgAction::Append, env = "MLGUARD_CONTROLS")]
    pub controls: Vec<String>,

    /// Exceptions file (docs/exceptions.md); repeatable.
    #[arg(long, value_name = "FILE", action = clap::ArgAction::Append, env = "MLGUARD_EXCEPTIONS")]
    pub exceptions: Vec<String>,

    /// Scan settings (docs/config.md). Default: ./mlguard.yaml, else mlguard.yaml in the first
    /// folder scanned.
    #[arg(long, value_name = "FILE", env = "MLGUARD_CONFIG")]
    pub config: Option<String>,

    /// Namespace of namespaced objects that name none.
    #[arg(
        long,
        value_name = "NAMESPACE",
        default_value = "default",
        env = "MLGUARD_DEFAULT_NAMESPACE"
    )]
    pub default_namespace: String,

    /// Largest input file read, in MiB.
    #[arg(
        long,
        value_name = "MIB",
        default_value_t = 64,
        env = "MLGUARD_MAX_FILE_SIZE"
    )]
    pub max_file_size: u64,

    /// Colour in table output.
    #[arg(long, value_enum, default_value = "auto", env = "MLGUARD_COLOR")]
    pub color: ColorChoice,

    /// Also list excepted findings one by one in table output.
    #[arg(short, long, env = "MLGUARD_VERBOSE")]
    pub verbose: bool,

    /// No progress bar and no notes on stderr.
    #[arg(short, long, env = "MLGUARD_QUIET")]
    pub quiet: bool,

    /// Check exception expiry against this date (YYYY-MM-DD) instead of today, to reproduce an
    /// earlier evidence run.
    #[arg(
        long,
        value_name = "DATE",
        env = "MLGUARD_TODAY",
        hide_short_help = true
    )]
    pub today: Option<String>,

    /// Print how long each phase took (read, index, check, render) to stderr.
    #[arg(long, env = "MLGUARD_TIMINGS", hide_short_help = true)]
    pub timings: bool,
}

#[derive(Debug, Subcommand)]
pub enum ControlsCommand {
    /// List controls, optionally only those giving evidence for one framework.
    #[command(
        after_help = "Examples:\n  mlguard controls list\n  mlguard controls list --framework hipaa --format json"
    )]
    List {
        /// hipaa, soc2 or gdpr.
        #[arg(long, value_name = "FRAMEWORK", env = "MLGUARD_FRAMEWORK")]
        framework: Option<String>,
        /// table or json.
        #[arg(long, default_value = "table", env = "MLGUARD_FORMAT")]
        format: String,
        /// Include custom controls from this file.
        #[arg(long, value_name = "FILE", action = clap::ArgAction::Append, env = "MLGUARD_CONTROLS")]
        controls: Vec<String>,
    },
    /// Everything about one control: what it looks at, remediation, clauses.
    #[command(after_help = "Example:\n  mlguard controls show MLG-NET-001")]
    Show {
        /// Control ID, e.g. MLG-POD-001.
        id: String,
        /// table or json.
        #[arg(long, default_value = "table", env = "MLGUARD_FORMAT")]
        format: String,
        /// Include custom controls from this file.
        #[arg(long, value_name = "FILE", action = clap::ArgAction::Append, env = "MLGUARD_CONTROLS")]
        controls: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RbacCommand {
    /// Who can do VERB on RESOURCE in a namespace, and through which bindings.
    #[command(after_help = "Examples:
  mlguard rbac who-can get secrets -n team-a examples/platform
  mlguard rbac who-can create pods/exec -n team-a examples/platform
  mlguard rbac who-can patch networkpolicies.networking.k8s.io -n team-b k8s/")]
    WhoCan {
        /// Verb: get, list, watch, create, update, patch, delete, ...
        verb: String,
        /// Resource, optionally with subresource and group: `secrets`, `pods/exec`,
        /// `deployments.apps`, `pytorchjobs.kubeflow.org`.
        resource: String,
        /// Files or folders of manifests holding the RBAC objects; `-` reads stdin.
        #[arg(value_name = "PATH", required = true)]
        paths: Vec<String>,
        /// Namespace (omit for cluster-wide grants only).
        #[arg(short, long, env = "MLGUARD_NAMESPACE")]
        namespace: Option<String>,
        /// table or json.
        #[arg(long, default_value = "table", env = "MLGUARD_FORMAT")]
        format: String,
    },
    /// What a subject can do: every rule granted, per namespace, with the binding and role.
    #[command(after_help = "Examples:
  mlguard rbac can group:ml-team-a examples/platform
  mlguard rbac can sa:team-a/trainer -n team-a examples/platform --format json
  mlguard rbac can user:alice@example.com k8s/")]
    Can {
        /// `user:NAME`, `group:NAME` or `sa:NAMESPACE/NAME`.
        subject: String,
        /// Files or folders of manifests holding the RBAC objects; `-` reads stdin.
        #[arg(value_name = "PATH", required = true)]
        paths: Vec<String>,
        /// Only this namespace (default: every namespace the subject has grants in, and
        /// cluster-wide grants).
        #[arg(short, long, env = "MLGUARD_NAMESPACE")]
        namespace: Option<String>,
        /// table or json.
        #[arg(long, default_value = "table", env = "MLGUARD_FORMAT")]
        format: String,
    },
}
