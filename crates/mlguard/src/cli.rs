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
    /// Network policies: who can reach whom, why, and whether isolation intents hold.
    #[command(subcommand)]
    Netpol(NetpolCommand),
    /// Audit logging: audit policies with the API server's semantics, and the tamper-evident
    /// audit trail (receive, store, verify, prove, query).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// ML tenants: one MLTenant object per team, rendered into its namespaces, policies,
    /// roles, quotas and audit rules.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// The admission webhook: the same controls, enforced when objects are created.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// The MLTenant operator: run it, or print what installs it.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// The controls as native Kubernetes policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Model artifacts: encrypt, decrypt at load time, rotate keys, sign and verify, scan.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Known vulnerabilities: the local OSV database, and checking one package version.
    #[command(subcommand)]
    Vuln(VulnCommand),
    /// Container images: the packages in them and their known vulnerabilities.
    #[command(subcommand)]
    Image(ImageCommand),
    /// Compliance evidence: the HTML report an auditor reads, and signed evidence packs.
    #[command(subcommand)]
    Report(crate::cli_report::ReportCommand),
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// List an image's packages (Python, conda, dpkg, apk, CUDA/cuDNN/NCCL) and match them
    /// against the local vulnerability database. Layers are streamed, never extracted.
    #[command(after_help = "Examples:
  mlguard image scan ./image-oci                      # an OCI image layout folder
  mlguard image scan image.tar --format json -o image-scan.json
  mlguard image scan registry.example.com/ml/train:2.3 --sbom sbom.cdx.json
  mlguard image scan /opt/conda                       # a Python environment or conda prefix
  mlguard image scan ./rootfs --vex vex.openvex.json --fail-on high
  mlguard scan ./manifests --image-scan image-scan.json   # control MLG-IMG-002

Targets are told apart by what is at the path: an OCI layout (oci-layout, index.json), a
docker-archive tar (docker save, also the OCI form Docker 25 writes), a Python environment
(site-packages or a conda prefix), any other folder as a root filesystem; a name that is not
a path is pulled from its registry over HTTPS. Force a kind with a prefix: oci:, docker-archive:,
dir:, python:, registry:. Registry credentials: MLGUARD_REGISTRY_USERNAME and
MLGUARD_REGISTRY_PASSWORD, else ~/.docker/config.json.
Severities come from the advisories (GitHub's rating, else the CVSS v3 base score); a finding
whose severity nobody rated is `unknown` and reaches every --fail-on threshold.
Exit codes: 0 nothing at or above --fail-on, 1 something is, 2 usage error, unreadable image,
missing database, or a record that could not be evaluated.")]
    Scan(ImageScanArgs),
}

#[derive(Debug, Args)]
pub struct ImageScanArgs {
    /// The image: an OCI layout folder, a docker-archive tar, a root filesystem or Python
    /// environment folder, or a registry reference.
    #[arg(value_name = "IMAGE")]
    pub target: String,
    /// table, json (docs/image-scan.md), sarif or cyclonedx (a CycloneDX 1.5 BOM with the
    /// vulnerabilities).
    #[arg(
        long,
        value_name = "FORMAT",
        default_value = "table",
        env = "MLGUARD_FORMAT"
    )]
    pub format: String,
    /// Write the report to PATH instead of stdout.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "PATH",
        env = "MLGUARD_OUTPUT"
    )]
    pub output: Option<String>,
    /// Also write a CycloneDX 1.5 SBOM (packages only) to PATH.
    #[arg(long, value_name = "PATH")]
    pub sbom: Option<String>,
    /// A VEX document (OpenVEX, or CycloneDX VEX): findings it says are not_affected or fixed
    /// are kept in the results but do not count; repeatable.
    #[arg(long, value_name = "FILE", action = clap::ArgAction::Append)]
    pub vex: Vec<String>,
    /// Exit 1 when a finding at or above this severity is found: critical, high, medium,
    /// low, or none. Unknown severities reach every threshold.
    #[arg(
        long,
        value_name = "SEVERITY",
        default_value = "medium",
        env = "MLGUARD_FAIL_ON"
    )]
    pub fail_on: String,
    /// The database folder (default: $MLGUARD_VULN_DB, else the user cache folder).
    #[arg(long, value_name = "DIR")]
    pub db: Option<String>,
    /// Warn when the database was last imported more than DAYS ago.
    #[arg(
        long,
        value_name = "DAYS",
        default_value_t = 7,
        env = "MLGUARD_VULN_DB_MAX_AGE"
    )]
    pub max_db_age: u64,
    /// The platform to pick from a multi-platform image.
    #[arg(long, value_name = "OS/ARCH", default_value = "linux/amd64")]
    pub platform: String,
    /// An extra CA certificate (PEM) to trust for the registry.
    #[arg(long, value_name = "FILE", env = "MLGUARD_REGISTRY_CA")]
    pub registry_ca: Option<String>,
    /// Talk plain HTTP to the registry (only allowed for a loopback address).
    #[arg(long)]
    pub plain_http: bool,
    /// In the table, list packages without vulnerabilities too.
    #[arg(long, env = "MLGUARD_ALL")]
    pub all: bool,
    /// No progress bar.
    #[arg(short, long, env = "MLGUARD_QUIET")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum VulnCommand {
    /// The local vulnerability database (OSV records; fully offline after an import).
    #[command(subcommand)]
    Db(VulnDbCommand),
    /// The advisories that affect one package version (a pin, a CUDA build of torch...).
    #[command(
        disable_version_flag = true,
        after_help = "Examples:
  mlguard vuln check --ecosystem PyPI --package torch --version 2.1.0+cu121
  mlguard vuln check --ecosystem Debian:12 --package openssl --version 3.0.11-1~deb12u1 --format json

Local versions (+cu121) are matched on their public version (docs/vulnerability-matching.md).
Exit codes: 0 no advisory affects it, 1 some do, 2 usage error, missing database or a record
that could not be evaluated."
    )]
    Check {
        /// OSV ecosystem: PyPI, Debian (or Debian:12), Ubuntu, NVIDIA.
        #[arg(long, value_name = "ECOSYSTEM", env = "MLGUARD_ECOSYSTEM")]
        ecosystem: String,
        #[arg(long, value_name = "NAME", env = "MLGUARD_PACKAGE")]
        package: String,
        #[arg(long, value_name = "VERSION", env = "MLGUARD_VERSION")]
        version: String,
        /// table or json.
        #[arg(
            long,
            value_name = "FORMAT",
            default_value = "table",
            env = "MLGUARD_FORMAT"
        )]
        format: String,
        /// The database folder (default: $MLGUARD_VULN_DB, else the user cache folder).
        #[arg(long, value_name = "DIR")]
        db: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum VulnDbCommand {
    /// Import OSV records: folders or zips of OSV JSON, or the YAML of the PyPA advisory
    /// database. Records with the same ID are replaced.
    #[command(after_help = "Examples:
  mlguard vuln db import ./advisory-database/vulns
  mlguard vuln db import PyPI-all.zip Debian-all.zip --db /srv/mlguard/vuln-db
  mlguard vuln db import https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip

A URL is downloaded over HTTPS (the system's roots plus --ca) and read like a file of the same
name; a zip is told by its content.")]
    Import {
        /// Folders, files (.json, .yaml, .zip) or HTTPS URLs of OSV records.
        #[arg(value_name = "PATH|URL", required = true)]
        paths: Vec<String>,
        /// The database folder (default: $MLGUARD_VULN_DB, else the user cache folder).
        #[arg(long, value_name = "DIR")]
        db: Option<String>,
        /// An extra CA certificate (PEM) to trust for URLs.
        #[arg(long, value_name = "FILE", env = "MLGUARD_VULN_DB_CA")]
        ca: Option<String>,
    },
    /// Sources, record counts and age of the database.
    Info {
        /// table or json.
        #[arg(
            long,
            value_name = "FORMAT",
            default_value = "table",
            env = "MLGUARD_FORMAT"
        )]
        format: String,
        /// The database folder (default: $MLGUARD_VULN_DB, else the user cache folder).
        #[arg(long, value_name = "DIR")]
        db: Option<String>,
    },
}

/// Keys that can wrap a data key (encrypt, and rewrap's new stanzas).
#[derive(Debug, Args)]
pub struct WrapKeys {
    /// A local key file (`mlguard model keygen`) or a Kubernetes Secret mounted as a file;
    /// repeatable.
    #[arg(long = "key", value_name = "FILE", action = clap::ArgAction::Append, env = "MLGUARD_KEY")]
    pub key: Vec<String>,
    /// An age recipient (`age1...`) or a file of them, one per line; repeatable.
    #[arg(short = 'r', long = "recipient", value_name = "RECIPIENT", action = clap::ArgAction::Append, env = "MLGUARD_RECIPIENT")]
    pub recipient: Vec<String>,
    /// A key manager: vault://HOST[:PORT]/MOUNT/keys/NAME, awskms://KEY-ID?region=R,
    /// pkcs11:token=T;object=LABEL; repeatable.
    #[arg(long = "kms", value_name = "URI", action = clap::ArgAction::Append, env = "MLGUARD_KMS")]
    pub kms: Vec<String>,
}

/// Keys that can open a file (decrypt, and rewrap's old stanzas).
#[derive(Debug, Args)]
pub struct OpenKeys {
    /// A local key file or a mounted Kubernetes Secret; repeatable.
    #[arg(long = "key", value_name = "FILE", action = clap::ArgAction::Append, env = "MLGUARD_KEY")]
    pub key: Vec<String>,
    /// An age identity file (`age-keygen` or `mlguard model keygen --age`); repeatable.
    #[arg(short = 'i', long = "identity", value_name = "FILE", action = clap::ArgAction::Append, env = "MLGUARD_IDENTITY")]
    pub identity: Vec<String>,
    /// A key manager URI (as for encrypt); repeatable.
    #[arg(long = "kms", value_name = "URI", action = clap::ArgAction::Append, env = "MLGUARD_KMS")]
    pub kms: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Create a key: a local key file (default, mode 0600), an age identity (--age), or an
    /// AES key inside an HSM token (--kms pkcs11:...).
    #[command(after_help = "Examples:
  mlguard model keygen -o model.key
  kubectl -n team-a create secret generic model-key --from-file=model.key
  mlguard model keygen --age -o recovery.agekey        # prints the recipient (age1...) on stderr
  mlguard model keygen --kms 'pkcs11:token=ml;object=model-kek?module-path=/usr/lib/softhsm/libsofthsm2.so'

Key files are secrets: keygen refuses to overwrite one and never prints a key.")]
    Keygen {
        /// Where to write the key (`-` for stdout, e.g. into `kubectl create secret`).
        #[arg(
            short = 'o',
            long = "output",
            value_name = "PATH",
            env = "MLGUARD_OUTPUT"
        )]
        output: Option<String>,
        /// Write an age X25519 identity (the age tool's format) instead of a local key.
        #[arg(long, env = "MLGUARD_AGE", conflicts_with = "kms")]
        age: bool,
        /// Create the key in this PKCS#11 token instead (sensitive, never extractable).
        #[arg(long, value_name = "URI", env = "MLGUARD_KMS")]
        kms: Option<String>,
    },
    /// Encrypt a model file or folder tree (every file, same names) for one or more keys.
    /// Several keys give several stanzas: any one opens the file (for example a KMS key
    /// plus an offline recovery key).
    #[command(after_help = "Examples:
  mlguard model encrypt model.safetensors -o model.safetensors.enc --key model.key
  mlguard model encrypt ./llama-3-8b -o ./llama-3-8b.enc --kms 'awskms://alias/models?region=eu-west-1' -r age1...
  tar c model/ | mlguard model encrypt - -o - --key model.key > model.tar.enc

The format is docs/encrypted-model-format.md: Tink's AES256_GCM_HKDF_1MB body, every
segment encrypted in parallel. Exit codes: 0 done, 1 a key manager refused, 2 usage or input error.")]
    Encrypt {
        /// A file, a folder, or `-` for stdin.
        #[arg(value_name = "IN")]
        input: String,
        /// A file, a folder (for a folder IN), or `-` for stdout.
        #[arg(
            short = 'o',
            long = "output",
            value_name = "OUT",
            env = "MLGUARD_OUTPUT"
        )]
        output: String,
        #[command(flatten)]
        keys: WrapKeys,
        /// Record each file's plaintext SHA-256 in its header (checked again at decrypt; a
        /// sequential pass over the input first).
        #[arg(long, env = "MLGUARD_DIGEST")]
        digest: bool,
        /// Replace OUT if it exists.
        #[arg(long, env = "MLGUARD_FORCE")]
        force: bool,
        /// No progress bar.
        #[arg(short, long, env = "MLGUARD_QUIET")]
        quiet: bool,
    },
    /// Decrypt a model file or folder. Nothing is visible at OUT until every segment (and the
    /// plaintext digest, and with --verify-key the signature) verified: output is written under
    /// a temporary name and renamed into place. Meant as an init container writing into a
    /// memory-backed emptyDir; warns loudly when OUT is on a disk.
    #[command(after_help = "Examples:
  mlguard model decrypt model.safetensors.enc -o /models/model.safetensors --key /keys/model.key
  mlguard model decrypt /encrypted/llama -o /models/llama --kms 'vault://vault.vault:8200/transit/keys/models' --verify-key /keys/model.pub --require-memory-fs
  mlguard model decrypt - -o - -i recovery.agekey < model.tar.enc | tar x

Exit codes: 0 done, 1 authentication failed (wrong key, modified or truncated file, bad
signature), 2 usage or input error. On failure no plaintext is left behind.")]
    Decrypt {
        /// An encrypted file, a folder of them, or `-` for stdin.
        #[arg(value_name = "IN")]
        input: String,
        /// A file, a folder, or `-` for stdout.
        #[arg(
            short = 'o',
            long = "output",
            value_name = "OUT",
            env = "MLGUARD_OUTPUT"
        )]
        output: String,
        #[command(flatten)]
        keys: OpenKeys,
        /// Verify the decrypted model's signature (OpenSSF model-signing, ECDSA P-256) with
        /// this public key before anything is visible at OUT.
        #[arg(long, value_name = "PUB", env = "MLGUARD_VERIFY_KEY")]
        verify_key: Option<String>,
        /// The signature bundle (default: model.sig inside the decrypted folder).
        #[arg(
            long,
            value_name = "FILE",
            env = "MLGUARD_SIGNATURE",
            requires = "verify_key"
        )]
        signature: Option<String>,
        /// Scan the decrypted model (as `mlguard model scan` does) before anything is visible
        /// at OUT, and refuse it (exit 1) when a finding at or above this severity is found:
        /// critical, high, medium or low.
        #[arg(long, value_name = "SEVERITY", num_args = 0..=1, default_missing_value = "medium", env = "MLGUARD_SCAN")]
        scan: Option<String>,
        /// Fail (instead of warning) when OUT is not on a memory filesystem (tmpfs).
        #[arg(long, env = "MLGUARD_REQUIRE_MEMORY_FS")]
        require_memory_fs: bool,
        /// Replace OUT if it exists (a file, or a non-empty folder's entries).
        #[arg(long, env = "MLGUARD_FORCE")]
        force: bool,
        /// No progress bar.
        #[arg(short, long, env = "MLGUARD_QUIET")]
        quiet: bool,
    },
    /// Rotate or add key stanzas without touching the encrypted body: open with the current
    /// key, wrap with the new ones. Vault Transit stanzas are rewrapped to the latest key
    /// version inside Vault.
    #[command(after_help = "Examples:
  mlguard model rewrap model.enc --key old.key --to-key new.key            # rotate: only new.key opens it
  mlguard model rewrap model.enc --key model.key --to-recipient age1... --add  # add a recovery key
  mlguard model rewrap ./llama.enc --kms vault://vault:8200/transit/keys/models --to-kms vault://vault:8200/transit/keys/models

Exit codes: 0 done, 1 the current key does not open the file, 2 usage or input error.")]
    Rewrap {
        /// An encrypted file or a folder of them (rewritten in place unless -o is given).
        #[arg(value_name = "IN")]
        input: String,
        /// Write here instead of replacing IN.
        #[arg(
            short = 'o',
            long = "output",
            value_name = "OUT",
            env = "MLGUARD_OUTPUT"
        )]
        output: Option<String>,
        #[command(flatten)]
        open: OpenKeys,
        /// New local key file to wrap with; repeatable.
        #[arg(long = "to-key", value_name = "FILE", action = clap::ArgAction::Append)]
        to_key: Vec<String>,
        /// New age recipient; repeatable.
        #[arg(long = "to-recipient", value_name = "RECIPIENT", action = clap::ArgAction::Append)]
        to_recipient: Vec<String>,
        /// New key manager URI; repeatable.
        #[arg(long = "to-kms", value_name = "URI", action = clap::ArgAction::Append)]
        to_kms: Vec<String>,
        /// Keep the existing stanzas and add the new ones (default: replace them).
        #[arg(long, env = "MLGUARD_ADD")]
        add: bool,
    },
    /// Print an encrypted file's header: format, algorithm, original name and size, digest,
    /// and its key stanzas. Needs no key; prints no secret.
    #[command(after_help = "Examples:
  mlguard model inspect model.safetensors.enc
  mlguard model inspect model.safetensors.enc --format json | jq '.stanzas[].type'")]
    Inspect {
        /// Encrypted files.
        #[arg(value_name = "FILE", required = true)]
        input: Vec<String>,
        /// text or json.
        #[arg(long, default_value = "text", env = "MLGUARD_FORMAT")]
        format: String,
    },
    /// Find code hidden in model files before a server loads them: pickles (and the PyTorch,
    /// joblib and NumPy files built on them), Keras, TensorFlow SavedModel, ONNX, safetensors
    /// and GGUF. Formats are told by content, never by extension; folders are scanned
    /// recursively, files in parallel. Nothing is executed and tensor data is never read.
    #[command(after_help = "Examples:
  mlguard model scan ./checkpoints
  mlguard model scan model.pt --format json -o model-scan.json
  mlguard scan ./manifests --model-scan model-scan.json      # control MLG-MOD-001
  mlguard model scan ./hub-cache --format sarif -o model-scan.sarif --fail-on high

Verdicts: clean, suspicious (an unknown global: medium), not-verifiably-safe (the file or a
member could not be analysed to its end), unsafe (runs code on load), skipped (not a model).
Finding codes (MS001...) are listed in docs/model-scan.md.
Exit codes: 0 nothing at or above --fail-on, 1 something was, 2 usage error or unreadable file.")]
    Scan {
        /// Model files or folders.
        #[arg(value_name = "PATH", required = true)]
        paths: Vec<String>,
        /// table, json or sarif.
        #[arg(
            long,
            value_name = "FORMAT",
            default_value = "table",
            env = "MLGUARD_FORMAT"
        )]
        format: String,
        /// Write the report to PATH instead of stdout.
        #[arg(
            short = 'o',
            long = "output",
            value_name = "PATH",
            env = "MLGUARD_OUTPUT"
        )]
        output: Option<String>,
        /// Exit 1 when a finding at or above this severity is found: critical, high, medium,
        /// low, or none.
        #[arg(
            long,
            value_name = "SEVERITY",
            default_value = "medium",
            env = "MLGUARD_FAIL_ON"
        )]
        fail_on: String,
        /// In the table, list clean and skipped files too.
        #[arg(long, env = "MLGUARD_ALL")]
        all: bool,
        /// No progress bar.
        #[arg(short, long, env = "MLGUARD_QUIET")]
        quiet: bool,
    },
    /// Print the pod spec snippet that decrypts a model at load time: an mlguard init container
    /// (verifying the signature), a memory-backed emptyDir with a sizeLimit, the model mounted
    /// read-only into the server, and the key wiring (a Secret, a CSI SecretProviderClass, or
    /// a key manager reached with the pod's service account).
    #[command(after_help = "Examples:
  mlguard model manifests --image registry.example.com/mlguard@sha256:<digest> --key-secret model-key --size-limit 20Gi
  mlguard model manifests --image ... --kms 'vault://vault.vault:8200/transit/keys/models?k8s-role=team-a' --verify-key-secret model-signing-pub
  mlguard model manifests --image ... --key-csi team-a-model-keys --container kserve-container")]
    Manifests {
        /// The mlguard image, pinned by digest.
        #[arg(long, value_name = "IMAGE", env = "MLGUARD_IMAGE")]
        image: String,
        /// Where the encrypted model is mounted in the init container.
        #[arg(
            long,
            value_name = "PATH",
            default_value = "/encrypted/model",
            env = "MLGUARD_ENCRYPTED_PATH"
        )]
        encrypted_path: String,
        /// The volume holding the encrypted model (a PVC name).
        #[arg(
            long,
            value_name = "PVC",
            default_value = "encrypted-models",
            env = "MLGUARD_ENCRYPTED_PVC"
        )]
        encrypted_pvc: String,
        /// Where the server reads the decrypted model (read-only).
        #[arg(
            long,
            value_name = "PATH",
            default_value = "/models",
            env = "MLGUARD_MODEL_PATH"
        )]
        model_path: String,
        /// Memory the decrypted model may take (the emptyDir's sizeLimit).
        #[arg(
            long,
            value_name = "QUANTITY",
            default_value = "16Gi",
            env = "MLGUARD_SIZE_LIMIT"
        )]
        size_limit: String,
        /// The key comes from this Secret (a key file from `mlguard model keygen`).
        #[arg(long, value_name = "SECRET", env = "MLGUARD_KEY_SECRET", conflicts_with_all = ["key_csi", "kms"])]
        key_secret: Option<String>,
        /// The key comes from this Secrets Store CSI SecretProviderClass.
        #[arg(
            long,
            value_name = "CLASS",
            env = "MLGUARD_KEY_CSI",
            conflicts_with = "kms"
        )]
        key_csi: Option<String>,
        /// The key is in a key manager reached with the pod's service account token.
        #[arg(long, value_name = "URI", env = "MLGUARD_KMS")]
        kms: Option<String>,
        /// The Secret holding the model-signing public key (`model.pub`) to verify with.
        #[arg(long, value_name = "SECRET", env = "MLGUARD_VERIFY_KEY_SECRET")]
        verify_key_secret: Option<String>,
        /// The init container scans the decrypted model (`decrypt --scan`) and refuses it on a
        /// finding at or above this severity: critical, high, medium, low, or none for no scan.
        #[arg(
            long,
            value_name = "SEVERITY",
            default_value = "high",
            env = "MLGUARD_SCAN"
        )]
        scan: String,
        /// The serving container's name, to mount the model into.
        #[arg(
            long,
            value_name = "NAME",
            default_value = "kserve-container",
            env = "MLGUARD_CONTAINER"
        )]
        container: String,
        /// yaml or json.
        #[arg(long, default_value = "yaml", env = "MLGUARD_FORMAT")]
        format: String,
    },
    /// Sign a model folder (or file) in the OpenSSF model-signing v1.0 format (a Sigstore
    /// bundle with a DSSE envelope over an in-toto statement listing every file's SHA-256),
    /// with an ECDSA P-256 private key. Verifiable by `model_signing verify key`.
    #[command(after_help = "Examples:
  openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out signing.key
  openssl ec -in signing.key -pubout -out signing.pub
  mlguard model sign ./llama-3-8b --key signing.key            # writes ./llama-3-8b/model.sig
  mlguard model verify ./llama-3-8b --key signing.pub")]
    Sign {
        /// The model folder or file.
        #[arg(value_name = "MODEL")]
        model: String,
        /// The private key (PEM: PKCS#8 or SEC1 EC P-256).
        #[arg(long, value_name = "FILE", env = "MLGUARD_SIGNING_KEY")]
        key: String,
        /// Where to write the bundle (default: MODEL/model.sig, or MODEL.sig for a file).
        #[arg(long, value_name = "FILE", env = "MLGUARD_SIGNATURE")]
        signature: Option<String>,
    },
    /// Verify a model-signing signature: every file's digest, no file added or removed, and
    /// the ECDSA P-256 signature with the given public key.
    #[command(after_help = "Examples:
  mlguard model verify ./llama-3-8b --key signing.pub
  mlguard model verify ./llama-3-8b --key signing.pub --signature llama.sig

Exit codes: 0 verified, 1 verification failed, 2 usage or input error.")]
    Verify {
        /// The model folder or file.
        #[arg(value_name = "MODEL")]
        model: String,
        /// The public key (PEM, SPKI).
        #[arg(long, value_name = "FILE", env = "MLGUARD_VERIFY_KEY")]
        key: String,
        /// The bundle (default: MODEL/model.sig, or MODEL.sig for a file).
        #[arg(long, value_name = "FILE", env = "MLGUARD_SIGNATURE")]
        signature: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print every control that CEL can express as a ValidatingAdmissionPolicy with its
    /// ValidatingAdmissionPolicyBinding, so a cluster enforces them without any webhook. The
    /// controls that are not exported are listed, with why, at the top of the output (a YAML
    /// comment; on stderr for vap-json).
    #[command(after_help = "Examples:
  mlguard policy export --format vap | kubectl apply -f -
  mlguard policy export --format vap --mode warn -o policies.yaml
  mlguard policy export --format vap-json --deny-at critical

Bindings never match kube-system, kube-public, kube-node-lease or mlguard-system. With
--mode enforce a control at or above --deny-at denies (validationActions Deny, Audit) and
the others warn (Warn, Audit); where a control is more severe in regulated namespaces
(label mlguard.io/data-classification: pii, phi or pci) and that changes its action, it has
a second binding for them.")]
    Export {
        /// vap (ValidatingAdmissionPolicy YAML) or vap-json (a v1 List).
        #[arg(
            long,
            value_name = "FORMAT",
            default_value = "vap",
            env = "MLGUARD_FORMAT"
        )]
        format: String,
        /// enforce, warn or audit: what the bindings do with a violation.
        #[arg(
            long,
            value_name = "MODE",
            default_value = "enforce",
            env = "MLGUARD_MODE"
        )]
        mode: String,
        /// In enforce mode, controls at or above this severity deny; the others warn.
        #[arg(
            long,
            value_name = "SEV",
            default_value = "high",
            env = "MLGUARD_DENY_AT"
        )]
        deny_at: String,
        /// Write to PATH instead of stdout.
        #[arg(
            short = 'o',
            long = "output",
            value_name = "PATH",
            env = "MLGUARD_OUTPUT"
        )]
        output: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Run the controller: reconcile every MLTenant with server-side apply, repair drift,
    /// report Ready/Degraded. Uses the in-cluster service account, or KUBECONFIG. Only the
    /// holder of the Lease POD_NAMESPACE/mlguard-operator (default mlguard-system) reconciles;
    /// SIGTERM finishes the reconciles in flight and releases it.
    #[command(after_help = "Examples:
  mlguard operator run
  KUBECONFIG=~/.kube/dev POD_NAMESPACE=default mlguard operator run --health-addr 127.0.0.1:8080

Exit codes: 0 after SIGTERM or Ctrl-C, 2 on an error (the Lease lost to another replica is one:
the restarted process becomes a candidate again).")]
    Run {
        /// Address of the /healthz and /readyz endpoints.
        #[arg(
            long,
            value_name = "ADDR",
            default_value = "0.0.0.0:8080",
            env = "MLGUARD_HEALTH_ADDR"
        )]
        health_addr: std::net::SocketAddr,
    },
    /// Print the install manifests: the MLTenant CRD, the mlguard-system namespace, a
    /// ServiceAccount, a least-privilege ClusterRole and binding, the Lease Role and binding,
    /// the Deployment (two replicas) and its NetworkPolicies.
    #[command(after_help = "Examples:
  mlguard operator manifests --image registry.example.com/mlguard@sha256:<digest> | kubectl apply --server-side -f -")]
    Manifests {
        /// The mlguard image, pinned by digest (`repo@sha256:...`).
        #[arg(long, value_name = "IMAGE", env = "MLGUARD_IMAGE")]
        image: String,
        /// Write to PATH instead of stdout.
        #[arg(
            short = 'o',
            long = "output",
            value_name = "PATH",
            env = "MLGUARD_OUTPUT"
        )]
        output: Option<String>,
        /// yaml or json (a v1 List).
        #[arg(long, default_value = "yaml", env = "MLGUARD_FORMAT")]
        format: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Serve the admission webhook over HTTPS: POST /validate (AdmissionReview
    /// admission.k8s.io/v1), /healthz, /readyz, /metrics. The certificate and key are reloaded
    /// when their files change. SIGTERM drains requests in flight, then exits 0.
    #[command(after_help = "Examples:
  mlguard webhook certs -o certs/
  mlguard webhook serve --tls-cert certs/tls.crt --tls-key certs/tls.key --context-dir cluster-snapshot/
  mlguard webhook serve --listen 127.0.0.1:8443 --tls-cert certs/tls.crt --tls-key certs/tls.key --exceptions exceptions.yaml

A namespace's label mlguard.io/enforcement (enforce, warn, audit; default enforce) decides what
findings do: deny (at or above --deny-at), warn, or only annotate the audit event. The decisions
are documented in docs/webhook.md. Exit codes: 0 after SIGTERM, 2 on a usage, file or TLS error.")]
    Serve {
        /// Address to listen on.
        #[arg(
            long,
            value_name = "ADDR:PORT",
            default_value = "0.0.0.0:8443",
            env = "MLGUARD_LISTEN"
        )]
        listen: std::net::SocketAddr,
        /// Serving certificate chain (PEM).
        #[arg(long, value_name = "FILE", env = "MLGUARD_TLS_CERT")]
        tls_cert: String,
        /// Its private key (PEM).
        #[arg(long, value_name = "FILE", env = "MLGUARD_TLS_KEY")]
        tls_key: String,
        /// Manifests of the objects decisions need as context (namespaces with their labels,
        /// quotas, network policies, RBAC); files or folders, read at start.
        #[arg(long, value_name = "PATH", action = clap::ArgAction::Append, env = "MLGUARD_CONTEXT_DIR", conflicts_with = "in_cluster")]
        context_dir: Vec<String>,
        /// Keep the context from the cluster instead: watch namespaces, quotas, limit
        /// ranges, service accounts, services, claims, network policies, ingresses and RBAC
        /// (the in-cluster service account, or KUBECONFIG). /readyz answers 503 until every
        /// watch has listed.
        #[arg(long, env = "MLGUARD_IN_CLUSTER")]
        in_cluster: bool,
        /// With --in-cluster, the kubeconfig context to use (default: in-cluster, else the
        /// current context).
        #[arg(
            long,
            value_name = "NAME",
            env = "MLGUARD_KUBE_CONTEXT",
            requires = "in_cluster"
        )]
        kube_context: Option<String>,
        /// Scan settings (docs/config.md).
        #[arg(long, value_name = "FILE", env = "MLGUARD_CONFIG")]
        config: Option<String>,
        /// Custom controls in Kubernetes CEL; repeatable.
        #[arg(long, value_name = "FILE", action = clap::ArgAction::Append, env = "MLGUARD_CONTROLS")]
        controls: Vec<String>,
        /// Exceptions file; repeatable.
        #[arg(long, value_name = "FILE", action = clap::ArgAction::Append, env = "MLGUARD_EXCEPTIONS")]
        exceptions: Vec<String>,
        /// Deny, in enforce mode, findings at or above this severity: critical, high, medium, low.
        #[arg(
            long,
            value_name = "SEV",
            default_value = "high",
            env = "MLGUARD_DENY_AT"
        )]
        deny_at: String,
        /// Mutations POST /mutate makes, comma-separated: labels, shm[=SIZE], sa-token,
        /// readonly-models, or all (default: none; /mutate then allows without a patch).
        #[arg(long, value_name = "LIST", default_value = "", env = "MLGUARD_MUTATE")]
        mutate: String,
        /// How requests are served. `per-core`: one thread per core reads, judges and
        /// answers the connections it is given, each new connection going to the thread
        /// with the fewest open (a quarter to a third less CPU a request in
        /// bench/webhook.sh; a slow decision delays the other requests of its thread).
        /// `pool`: connections on the async runtime, decisions on a pool of judging threads,
        /// so a slow decision holds up no other connection. See docs/webhook.md.
        #[arg(
            long,
            value_name = "MODE",
            default_value = "per-core",
            value_parser = ["pool", "per-core"],
            env = "MLGUARD_WEBHOOK_THREADS"
        )]
        threads: String,
    },
    /// Print the install manifests: ServiceAccount (no token), the context ConfigMap, the
    /// Deployment (two replicas, non-root, read-only root filesystem, HTTPS probes), a
    /// PodDisruptionBudget, the Service, a NetworkPolicy and the ValidatingWebhookConfiguration
    /// (caBundle, failurePolicy Fail, timeoutSeconds 5, never kube-system or mlguard-system).
    #[command(after_help = "Examples:
  mlguard webhook certs -o certs/
  kubectl -n mlguard-system create secret tls mlguard-webhook-tls --cert certs/tls.crt --key certs/tls.key
  mlguard webhook manifests --image registry.example.com/mlguard@sha256:<digest> --ca-bundle certs/ca.crt | kubectl apply -f -")]
    Manifests {
        /// The mlguard image, pinned by digest (`repo@sha256:...`).
        #[arg(long, value_name = "IMAGE", env = "MLGUARD_IMAGE")]
        image: String,
        /// The CA certificate (PEM) that signed the serving certificate: the caBundle.
        #[arg(long, value_name = "FILE", env = "MLGUARD_CA_BUNDLE")]
        ca_bundle: String,
        /// Also install the MutatingWebhookConfiguration, with these mutations (as for
        /// `serve --mutate`).
        #[arg(long, value_name = "LIST", default_value = "", env = "MLGUARD_MUTATE")]
        mutate: String,
        /// Write to PATH instead of stdout.
        #[arg(
            short = 'o',
            long = "output",
            value_name = "PATH",
            env = "MLGUARD_OUTPUT"
        )]
        output: Option<String>,
        /// yaml or json (a v1 List).
        #[arg(long, default_value = "yaml", env = "MLGUARD_FORMAT")]
        format: String,
    },
    /// Generate a CA and a serving certificate for the webhook Service (ECDSA P-256; the CA
    /// for 10 years, the certificate for 1): DIR/ca.crt, DIR/tls.crt, DIR/tls.key (mode 0600).
    #[command(after_help = "Examples:
  mlguard webhook certs -o certs/
  mlguard webhook certs -o certs/ --dns mlguard-webhook.ml-security.svc

Prefer cert-manager in production; the webhook reloads rotated files without a restart.")]
    Certs {
        /// Folder to write ca.crt, tls.crt and tls.key into (created if missing).
        #[arg(
            short = 'o',
            long = "output",
            value_name = "DIR",
            env = "MLGUARD_OUTPUT"
        )]
        output: String,
        /// DNS names of the certificate; repeatable.
        #[arg(long, value_name = "NAME", action = clap::ArgAction::Append,
              default_values_t = ["mlguard-webhook.mlguard-system.svc".to_owned(), "mlguard-webhook.mlguard-system.svc.cluster.local".to_owned()],
              env = "MLGUARD_DNS")]
        dns: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Render MLTenant objects into the Kubernetes objects that set each team up: Namespaces,
    /// NetworkPolicies, Roles and RoleBindings, ResourceQuota, LimitRange, Kueue LocalQueue,
    /// SecretProviderClass; with -o DIR also the audit policy for their namespaces.
    #[command(after_help = "Examples:
  mlguard tenant render examples/tenants/               # all objects, one YAML stream
  mlguard tenant render examples/tenants/ -o rendered/  # rendered/<tenant>.yaml + audit-policy.yaml
  mlguard tenant render team-a.yaml | kubectl apply --server-side -f -

The MLTenant format is in docs/tenants.md. An invalid tenant is an error with file, line and
field (exit 2), and then nothing is rendered. Exit codes: 0 rendered, 2 input error.")]
    Render {
        /// MLTenant files or folders.
        #[arg(required = true)]
        paths: Vec<String>,
        /// Write DIR/<tenant>.yaml per tenant and DIR/audit-policy.yaml instead of stdout.
        #[arg(
            short = 'o',
            long = "output",
            value_name = "DIR",
            env = "MLGUARD_OUTPUT"
        )]
        output: Option<String>,
        /// yaml or json (a JSON List).
        #[arg(long, default_value = "yaml", env = "MLGUARD_FORMAT")]
        format: String,
    },
    /// Print the MLTenant CustomResourceDefinition: the schema generated from mlguard's types,
    /// with CEL validation rules for what the schema cannot say.
    #[command(after_help = "Examples:
  mlguard tenant crd | kubectl apply --server-side -f -
  mlguard tenant crd --format json -o mltenant-crd.json")]
    Crd {
        /// Write to PATH instead of stdout.
        #[arg(
            short = 'o',
            long = "output",
            value_name = "PATH",
            env = "MLGUARD_OUTPUT"
        )]
        output: Option<String>,
        /// yaml or json.
        #[arg(long, default_value = "yaml", env = "MLGUARD_FORMAT")]
        format: String,
    },
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  mlguard scan examples/platform
  mlguard scan manifests/ --fail-on critical
  helm template charts/serving | mlguard scan -
  mlguard scan k8s/ --format sarif -o mlguard.sarif --format junit -o junit.xml
  mlguard scan k8s/ --framework hipaa
  mlguard scan k8s/ --controls acme-controls.yaml --exceptions exceptions.yaml --config mlguard.yaml
  mlguard scan --cluster --kube-context prod-gpu /etc/kubernetes/audit-policy.yaml
  mlguard scan --cluster --save-snapshot evidence/2026-11-27/cluster --format json -o evidence/findings.json
  mlguard scan k8s/ --format html -o report.html --previous evidence/2026-10-01/findings.json

Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or input error (2 wins over 1).")]
pub struct ScanArgs {
    /// Files or folders of manifests (YAML or JSON, searched recursively); `-` reads stdin.
    #[arg(value_name = "PATH", required_unless_present = "cluster")]
    pub paths: Vec<String>,

    /// Also read a live cluster through its API server (every kind the controls read that
    /// the cluster serves; Secrets as metadata only). Files given as well are scanned with it
    /// (the API server's audit Policy is a file, not an API object).
    #[arg(long, env = "MLGUARD_CLUSTER")]
    pub cluster: bool,

    /// The kubeconfig context to read with --cluster (default: in-cluster, else the current
    /// context of KUBECONFIG or ~/.kube/config).
    #[arg(
        long,
        value_name = "CONTEXT",
        requires = "cluster",
        env = "MLGUARD_KUBE_CONTEXT"
    )]
    pub kube_context: Option<String>,

    /// With --cluster, also write what was read to DIR (one JSON List per kind, as
    /// DIR/<group_version>/<plural>.json), and point findings at those files, so the evidence
    /// can be scanned again offline.
    #[arg(
        long,
        value_name = "DIR",
        requires = "cluster",
        env = "MLGUARD_SAVE_SNAPSHOT"
    )]
    pub save_snapshot: Option<String>,

    /// Output format: table, json, sarif, junit, policyreport, html (the self-contained
    /// evidence report, docs/report.md). Repeat with -o for several reports in one run; a
    /// format without -o goes to stdout.
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

    /// Results of `mlguard model scan --format json`, folded in as control MLG-MOD-001 (one
    /// finding per model file that fails the model scan); repeatable.
    #[arg(long, value_name = "RESULTS.json", action = clap::ArgAction::Append, env = "MLGUARD_MODEL_SCAN")]
    pub model_scan: Vec<String>,

    /// Results of `mlguard image scan --format json` for MLG-IMG-002 (a finding per affected
    /// package, on every container that runs the image); repeatable.
    #[arg(long, value_name = "RESULTS.json", action = clap::ArgAction::Append, env = "MLGUARD_IMAGE_SCAN")]
    pub image_scan: Vec<String>,

    /// A findings JSON of an earlier scan: the HTML report then shows what changed since
    /// (new, fixed and changed findings). Only for --format html.
    #[arg(long, value_name = "OLD.json", env = "MLGUARD_PREVIOUS")]
    pub previous: Option<String>,

    /// An OCI image layout folder holding the images the manifests run (named by their
    /// references, `org.opencontainers.image.ref.name`, or matched by digest): each is scanned
    /// against the vulnerability database for MLG-IMG-002.
    #[arg(long, value_name = "OCI_DIR", env = "MLGUARD_IMAGES")]
    pub images: Option<String>,

    /// The vulnerability database for --images (default: $MLGUARD_VULN_DB, else the user
    /// cache folder).
    #[arg(long, value_name = "DIR")]
    pub vuln_db: Option<String>,

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

/// Flags every `netpol` subcommand shares.
#[derive(Debug, Args)]
pub struct NetpolCommon {
    /// Namespace for objects that name none (as `kubectl apply` does).
    #[arg(
        long,
        default_value = "default",
        value_name = "NS",
        env = "MLGUARD_DEFAULT_NAMESPACE"
    )]
    pub default_namespace: String,
    /// How hostNetwork pods meet NetworkPolicy: `ignored` (the network plugin cannot tell them
    /// from their node, the common case: no policy selects them) or `as-pods` (policies apply
    /// to them like any pod, as netpol-analyzer models it).
    #[arg(
        long,
        default_value = "ignored",
        value_name = "MODEL",
        env = "MLGUARD_HOST_NETWORK"
    )]
    pub host_network: String,
    /// Write the result to PATH instead of stdout.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "PATH",
        env = "MLGUARD_OUTPUT"
    )]
    pub output: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum NetpolCommand {
    /// The connectivity list: every allowed connection, `SRC => DST : CONNS`.
    #[command(after_help = "Examples:
  mlguard netpol reach examples/platform
  mlguard netpol reach k8s/ --focus team-a/bert-worker --format md
  mlguard netpol reach k8s/ --level pod --format json -o reach.json
  kubectl get pods,netpol,ns -A -o yaml | mlguard netpol reach -

Workloads print as ns/name[Kind]; addresses outside the cluster as ranges split at policy
boundaries, a.b.c.d-e.f.g.h[External]. Exit codes: 0 done, 2 input error (the analysis of
everything valid is still printed).")]
    Reach {
        /// Files or folders of manifests (YAML or JSON, recursive); `-` reads stdin.
        #[arg(value_name = "PATH", required = true)]
        paths: Vec<String>,
        /// workload (one line per workload, replicas collapsed) or pod (one per live pod).
        #[arg(long, default_value = "workload", env = "MLGUARD_LEVEL")]
        level: String,
        /// Only connections to or from this workload (`name`, `ns/name` or `ns/name[Kind]`);
        /// repeatable.
        #[arg(long, value_name = "WORKLOAD", action = clap::ArgAction::Append, env = "MLGUARD_FOCUS")]
        focus: Vec<String>,
        /// txt, json, csv, md or dot.
        #[arg(long, default_value = "txt", env = "MLGUARD_FORMAT")]
        format: String,
        #[command(flatten)]
        common: NetpolCommon,
    },
    /// Is traffic from X to Y allowed, and which policy and rule decided each direction.
    #[command(after_help = "Examples:
  mlguard netpol explain examples/platform --from team-a/bert-worker[PyTorchJob] --to team-a/bert-master[PyTorchJob] --port 29500/TCP
  mlguard netpol explain k8s/ --from team-b/notebook --to 8.8.8.8 --port 53/UDP
  mlguard netpol explain k8s/ --from team-a/client --to team-b/llm[Service] --port 80

X and Y: ns/name, ns/name[Kind] (Kind Service: its backends, the port translated to the
targetPort), or an IP address. Exit codes: 0 allowed, 1 denied, 2 input error.")]
    Explain {
        /// Files or folders of manifests; `-` reads stdin.
        #[arg(value_name = "PATH", required = true)]
        paths: Vec<String>,
        /// Source: ns/name, ns/name[Kind] or an IP address.
        #[arg(long, value_name = "X")]
        from: String,
        /// Destination: ns/name, ns/name[Kind] or an IP address.
        #[arg(long, value_name = "Y")]
        to: String,
        /// One port: 29500/TCP, 53/UDP, 8080 (TCP) or a container port name.
        #[arg(long, value_name = "PORT")]
        port: Option<String>,
        /// txt or json.
        #[arg(long, default_value = "txt", env = "MLGUARD_FORMAT")]
        format: String,
        #[command(flatten)]
        common: NetpolCommon,
    },
    /// Check must-allow and must-deny intents; exit 1 if any fails.
    #[command(after_help = "Examples:
  mlguard netpol verify examples/platform --intents training-isolation
  mlguard netpol verify k8s/ --intents intents.yaml --intents training-isolation --config mlguard.yaml

`training-isolation` is the built-in set: per training job, replicas reach each other on all
TCP ports (or the pinned ephemeral range plus 29500 and 29400), UDP and TCP 53 to kube-dns, the
storageEndpoints of mlguard.yaml, and nothing else outside clusterCIDRs and serviceCIDRs.
The intents file format is in docs/netpol-intents.md. Exit codes: 0 all hold, 1 some fail,
2 input error.")]
    Verify {
        /// Files or folders of manifests; `-` reads stdin.
        #[arg(value_name = "PATH", required = true)]
        paths: Vec<String>,
        /// An intents file, or `training-isolation`; repeatable.
        #[arg(long, value_name = "FILE", required = true, action = clap::ArgAction::Append, env = "MLGUARD_INTENTS")]
        intents: Vec<String>,
        /// mlguard.yaml with clusterCIDRs, serviceCIDRs and storageEndpoints (default:
        /// ./mlguard.yaml, else mlguard.yaml in the first folder).
        #[arg(long, value_name = "FILE", env = "MLGUARD_CONFIG")]
        config: Option<String>,
        /// txt or json.
        #[arg(long, default_value = "txt", env = "MLGUARD_FORMAT")]
        format: String,
        #[command(flatten)]
        common: NetpolCommon,
    },
    /// Connections added, removed and changed between two manifest sets.
    #[command(after_help = "Examples:
  mlguard netpol diff main-manifests/ pr-manifests/
  mlguard netpol diff old.yaml new.yaml --format json

Exit codes: 0 no difference, 1 differences, 2 input error.")]
    Diff {
        /// The old manifests (file or folder).
        old: String,
        /// The new manifests (file or folder).
        new: String,
        /// txt or json.
        #[arg(long, default_value = "txt", env = "MLGUARD_FORMAT")]
        format: String,
        #[command(flatten)]
        common: NetpolCommon,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Audit policies (audit.k8s.io/v1 Policy).
    #[command(subcommand)]
    Policy(AuditPolicyCommand),
    #[command(flatten)]
    Receive(crate::cli_receive::ReceiveCommand),
    #[command(flatten)]
    Trail(crate::cli_trail::TrailCommand),
}

#[derive(Debug, Subcommand)]
pub enum AuditPolicyCommand {
    /// What the policy logs for a request: level, omitted stages, omitManagedFields and the rule
    /// that matched, exactly as the API server's policy checker decides.
    #[command(after_help = "Examples:
  mlguard audit policy eval examples/platform/cluster/audit-policy.yaml \\
      --user alice --group ml-team-a --verb create --namespace team-a \\
      --api-group serving.kserve.io --resource inferenceservices
  mlguard audit policy eval policy.yaml --path /healthz --verb get --user kubelet
  mlguard audit policy eval policy.yaml --request requests.json --format json

--request takes one request or a JSON array of them, each
{\"user\",\"groups\":[..],\"verb\",\"namespace\",\"apiGroup\",\"resource\",\"subresource\",\"name\",\"path\"}
(absent strings are empty; a non-resource request has path and no resource). JSON output is one
{\"level\",\"omitStages\",\"omitManagedFields\",\"rule\"} per request, an array when the
input was one. Exit codes: 0 answered, 2 input error.")]
    Eval {
        /// The audit policy file.
        policy: String,
        /// Requests as JSON (a file, or `-` for stdin); instead of the request flags.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["user", "group", "verb", "namespace", "api_group", "resource", "subresource", "name", "path"])]
        request: Option<String>,
        /// The user name.
        #[arg(long)]
        user: Option<String>,
        /// A group of the user; repeatable.
        #[arg(long, action = clap::ArgAction::Append)]
        group: Vec<String>,
        /// get, list, watch, create, update, patch, delete, deletecollection, ...
        #[arg(long)]
        verb: Option<String>,
        /// Namespace of the object (empty: cluster-scoped).
        #[arg(long)]
        namespace: Option<String>,
        /// API group (empty: the core group).
        #[arg(long = "api-group")]
        api_group: Option<String>,
        /// Resource (plural, lower case: pods, inferenceservices).
        #[arg(long)]
        resource: Option<String>,
        /// Subresource (log, exec, status, ...).
        #[arg(long)]
        subresource: Option<String>,
        /// Object name.
        #[arg(long)]
        name: Option<String>,
        /// URL path of a non-resource request (/healthz, /metrics).
        #[arg(long)]
        path: Option<String>,
        /// txt or json.
        #[arg(long, default_value = "txt", env = "MLGUARD_FORMAT")]
        format: String,
    },
    /// Find what in a policy does not do what it says (MLG-AUD-002), logs credentials with
    /// their contents (MLG-AUD-003) or makes the log needlessly large (MLG-AUD-004).
    #[command(after_help = "Examples:
  mlguard audit policy lint examples/platform/cluster/audit-policy.yaml
  mlguard audit policy lint policy.yaml --format json --fail-on low

Each diagnostic names the control, a stable code (docs/audit-policy.md lists them), the file,
line and column, and what to change. Exit codes: 0 nothing at or above --fail-on, 1 something,
2 the policy cannot be read.")]
    Lint {
        /// The audit policy file.
        policy: String,
        /// txt or json.
        #[arg(long, default_value = "txt", env = "MLGUARD_FORMAT")]
        format: String,
        /// Exit 1 when a diagnostic's control is at or above this severity: critical, high,
        /// medium, low, or none.
        #[arg(
            long,
            value_name = "SEVERITY",
            default_value = "high",
            env = "MLGUARD_FAIL_ON"
        )]
        fail_on: String,
        /// Write the result to PATH instead of stdout.
        #[arg(
            short = 'o',
            long = "output",
            value_name = "PATH",
            env = "MLGUARD_OUTPUT"
        )]
        output: Option<String>,
    },
    /// Write a production audit policy for ML namespaces: None for system noise, Metadata for
    /// credentials, RequestResponse for writes of ML objects in regulated namespaces, Request
    /// elsewhere, Metadata for reads and a Metadata catch-all. It lints clean.
    #[command(after_help = "Examples:
  mlguard audit policy generate --namespace team-a=phi --namespace team-b=internal \
      --namespace team-b-serving=pii -o audit-policy.yaml
  mlguard audit policy generate --namespace team-a=phi --estimate /var/log/kubernetes/audit.log
  mlguard audit policy generate --tenants examples/tenants/ -o audit-policy.yaml

Classifications: public, internal, confidential, pii, phi, pci (pii, phi and pci are regulated).
With --estimate, the policy goes to -o (or stdout) and the volume estimate to stderr.")]
    Generate {
        /// NAME=CLASSIFICATION of an ML namespace; repeatable.
        #[arg(long, value_name = "NAME=CLASS", action = clap::ArgAction::Append, env = "MLGUARD_NAMESPACE", value_delimiter = ',')]
        namespace: Vec<String>,
        /// Write the policy to PATH instead of stdout.
        #[arg(
            short = 'o',
            long = "output",
            value_name = "PATH",
            env = "MLGUARD_OUTPUT"
        )]
        output: Option<String>,
        /// MLTenant files or folders whose namespaces the policy covers (merged with
        /// --namespace).
        #[arg(long, value_name = "FILES", action = clap::ArgAction::Append, env = "MLGUARD_TENANTS", value_delimiter = ',')]
        tenants: Vec<String>,
        /// Replay this audit log (JSON lines) through the generated policy and print the
        /// volume estimate to stderr.
        #[arg(long, value_name = "LOG", env = "MLGUARD_ESTIMATE")]
        estimate: Option<String>,
    },
    /// Replay a recorded audit log (JSON lines of audit.k8s.io Events) through a policy and
    /// print the events and bytes per day each rule would log, to size the log before rollout.
    #[command(after_help = "Examples:
  mlguard audit policy estimate audit-policy.yaml --estimate /var/log/kubernetes/audit.log
  zcat audit.log.gz | mlguard audit policy estimate audit-policy.yaml --estimate - --format json

Per-day figures scale by the span between the log's first and last timestamps. Events the
policy logs above their recorded level lack the bodies that level adds: they are counted
(levelRaised) and their bytes are a lower bound. Lines that are not audit events are reported
with their line number (exit 2), after the estimate.")]
    Estimate {
        /// The audit policy file.
        policy: String,
        /// The audit log (JSON lines), or `-` for stdin.
        #[arg(long, value_name = "LOG", env = "MLGUARD_ESTIMATE")]
        estimate: String,
        /// txt or json.
        #[arg(long, default_value = "txt", env = "MLGUARD_FORMAT")]
        format: String,
        /// Write the result to PATH instead of stdout.
        #[arg(
            short = 'o',
            long = "output",
            value_name = "PATH",
            env = "MLGUARD_OUTPUT"
        )]
        output: Option<String>,
        /// No progress bar.
        #[arg(short, long, env = "MLGUARD_QUIET")]
        quiet: bool,
    },
}
