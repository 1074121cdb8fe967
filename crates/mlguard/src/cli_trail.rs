//! Flags of the audit trail's reading commands: `mlguard audit verify|prove|query|report|...`
//! (the store's side), and the `--store` flag every audit trail command shares.

use clap::{Args, Subcommand};

/// The audit store every audit trail command reads or writes.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The audit store: `sqlite:PATH` or `postgres://USER@HOST:PORT/DB`. Default: the SQLite
    /// file audit.db in the user data folder ($XDG_DATA_HOME/mlguard, else
    /// ~/.local/share/mlguard).
    #[arg(long, env = "MLGUARD_STORE", value_name = "URL")]
    pub store: Option<String>,
}

/// The filters of `audit query` and `audit report`.
#[derive(Debug, Clone, Args)]
pub struct FilterArgs {
    /// Records about this model.
    #[arg(long, value_name = "M", env = "MLGUARD_MODEL")]
    pub model: Option<String>,
    /// Records of this actor (the authenticated user, service account or access key).
    #[arg(long, value_name = "U", env = "MLGUARD_USER")]
    pub user: Option<String>,
    /// Records in this namespace.
    #[arg(long, value_name = "N", env = "MLGUARD_NAMESPACE")]
    pub namespace: Option<String>,
    /// Records of this verb (get, list, create, update, patch, delete; query for inference;
    /// get, put, delete, list for storage).
    #[arg(long, value_name = "V", env = "MLGUARD_VERB")]
    pub verb: Option<String>,
    /// Records from this source: k8s, storage, inference or audit (reads of the trail).
    #[arg(long, value_name = "SOURCE", env = "MLGUARD_SOURCE")]
    pub source: Option<String>,
    /// Events at or after this time: RFC 3339 (2026-03-01T00:00:00Z), a date (2026-03-01,
    /// midnight UTC) or an age (7d, 12h: that long ago).
    #[arg(long, value_name = "T", env = "MLGUARD_SINCE")]
    pub since: Option<String>,
    /// Events before this time (the same forms as --since).
    #[arg(long, value_name = "T", env = "MLGUARD_UNTIL")]
    pub until: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TrailCommand {
    /// Recompute the Merkle tree of the stored log and check every checkpoint; exit 0 when the
    /// log verifies, 1 when it does not (naming the first record that differs).
    #[command(after_help = "Examples:
  mlguard audit verify --key keys/audit.example.com.pub
  mlguard audit verify --store postgres://mlguard@db:5432/audit --key audit.pub \\
      --witness /mnt/witness/checkpoints.txt --format json

Checks, stopping at the first problem: every stored checkpoint and every note of the witness
file is signed by --key and agrees with the store; the records are gapless from 0; each
record's canonical bytes hash to its leaf hash and its query columns equal the record; the
tree root at every checkpoint size is the signed root; the log ends where the store and its
checkpoints say. docs/audit-store.md explains each message. The verification is itself
recorded in the trail (source audit). Exit codes: 0 the log verifies, 1 it does not (the
first bad record or checkpoint is named), 2 the store, key or witness file cannot be read, or
the store is empty.")]
    Verify {
        #[command(flatten)]
        store: StoreArgs,
        /// The checkpoint verifier key (`NAME+HASH+KEY`, the .pub file of `audit keygen`).
        #[arg(long, value_name = "FILE", env = "MLGUARD_KEY")]
        key: String,
        /// The witness file the receivers append every checkpoint to (--witness of serve).
        #[arg(long, value_name = "FILE", env = "MLGUARD_WITNESS")]
        witness: Option<String>,
        /// txt or json.
        #[arg(long, default_value = "txt", env = "MLGUARD_FORMAT")]
        format: String,
    },
    /// Print a proof that a record is in the signed log (--record N) or that one tree extends
    /// another (--consistency OLD NEW), as JSON anyone with the public key can check.
    #[command(after_help = "Examples:
  mlguard audit prove --record 1234 -o proof-1234.json
  mlguard audit prove --record 1234 --size 2000
  mlguard audit prove --consistency 1000 2000 -o consistency.json
  mlguard audit verify-proof proof-1234.json --key keys/audit.example.com.pub

An inclusion proof is for the newest signed checkpoint (or the one of --size); a consistency
proof needs a signed checkpoint of size NEW. docs/audit-store.md documents the JSON and how to
check it without mlguard (RFC 9162 sections 2.1.3.2 and 2.1.4.2). Exit codes: 0 printed, 2 no
such record or checkpoint, or the store cannot be read.")]
    Prove {
        #[command(flatten)]
        store: StoreArgs,
        /// The record's leaf index (its seq, from `audit query`).
        #[arg(
            long,
            value_name = "N",
            conflicts_with = "consistency",
            required_unless_present = "consistency"
        )]
        record: Option<u64>,
        /// The checkpoint size to prove --record at (default: the newest).
        #[arg(long, value_name = "SIZE", requires = "record")]
        size: Option<u64>,
        /// Prove that the tree of NEW records (a signed checkpoint) extends the tree of OLD.
        #[arg(long, num_args = 2, value_names = ["OLD", "NEW"])]
        consistency: Option<Vec<u64>>,
        /// Write the proof to this file instead of stdout.
        #[arg(short = 'o', long, value_name = "PATH", env = "MLGUARD_OUTPUT")]
        output: Option<String>,
    },
    /// Check a proof printed by `audit prove`, offline, with the log's public key.
    #[command(
        name = "verify-proof",
        after_help = "Examples:
  mlguard audit verify-proof proof-1234.json --key keys/audit.example.com.pub
  cat consistency.json | mlguard audit verify-proof - --key audit.pub

Exit codes: 0 the proof checks, 1 it does not (wrong signature, root, path or record), 2 the
file is not a proof document or the key cannot be read."
    )]
    VerifyProof {
        /// The proof (JSON), or `-` for stdin.
        proof: String,
        /// The checkpoint verifier key (the .pub file of `audit keygen`).
        #[arg(long, value_name = "FILE", env = "MLGUARD_KEY")]
        key: String,
    },
    /// Find records by model, user, namespace, verb, source and event time.
    #[command(after_help = "Examples:
  mlguard audit query --model llama-7b --since 30d
  mlguard audit query --user alice@example.com --source inference --format json
  mlguard audit query --namespace team-a --verb delete --since 2026-01-01 --until 2026-02-01 \\
      --format csv > deletes.csv

Records are filtered and sorted by event time (ties by arrival); expired records (after
audit retain) are not returned. --format json prints a JSON array of records with time,
source, actor, verb, namespace, resource, name, model, outcome, code, seq, event_id, stage,
groups, on_behalf_of, source_ip, user_agent and detail (docs/audit-store.md). The query is
itself recorded in the trail (source audit, actor the local user). Exit codes: 0 answered
(also with no records), 2 bad flags or the store cannot be read.")]
    Query {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        filter: FilterArgs,
        /// At most this many records (the earliest).
        #[arg(long, value_name = "N", env = "MLGUARD_LIMIT")]
        limit: Option<u64>,
        /// table, json or csv.
        #[arg(long, default_value = "table", env = "MLGUARD_FORMAT")]
        format: String,
    },
    /// A model's timeline: deployed, changed and deleted by whom; queried by which identities
    /// (counts, first and last); weights downloaded and written by whom.
    #[command(after_help = "Examples:
  mlguard audit report --model llama-7b
  mlguard audit report --model llama-7b --since 2026-01-01 --format json

Deployed/changed/deleted: Kubernetes create, update/patch, delete of the model's
InferenceServices and TrainedModels; queried: inference records; downloaded: storage reads of
its objects; written: storage writes. The report is itself recorded in the trail. Exit codes:
0 printed, 2 bad flags or the store cannot be read.")]
    Report {
        #[command(flatten)]
        store: StoreArgs,
        /// The model.
        #[arg(long, value_name = "M", env = "MLGUARD_MODEL")]
        model: String,
        /// Events at or after this time (as for audit query).
        #[arg(long, value_name = "T", env = "MLGUARD_SINCE")]
        since: Option<String>,
        /// Events before this time.
        #[arg(long, value_name = "T", env = "MLGUARD_UNTIL")]
        until: Option<String>,
        /// table or json.
        #[arg(long, default_value = "table", env = "MLGUARD_FORMAT")]
        format: String,
    },
    /// Drop the payloads of records older than the retention period; their leaf hashes stay,
    /// so the log still verifies and proofs still check.
    #[command(after_help = "Examples:
  mlguard audit retain --retain 6y
  mlguard audit retain --retain 90d --store postgres://mlguard@db:5432/audit

Expired records (by event time) keep seq, leaf hash, source, event id, stage and time; their
canonical bytes (with the raw event) and actor, verb, resource, namespace, name and model are
removed, and queries no longer return them. Run it from a daily CronJob. Exit codes: 0 done,
2 bad duration or the store cannot be written.")]
    Retain {
        #[command(flatten)]
        store: StoreArgs,
        /// Keep this long: a whole number and s, m, h, d, w or y (365.25 days): 6y, 90d, 12h.
        #[arg(long, value_name = "DURATION", env = "MLGUARD_RETAIN")]
        retain: String,
    },
    /// Generate the Ed25519 key pair that signs checkpoints: NAME.key (the signer, mode 0600;
    /// keep it outside the store, e.g. in a Secret) and NAME.pub (the verifier, for auditors).
    #[command(after_help = "Examples:
  mlguard audit keygen --name audit.example.com -o keys/
  kubectl -n mlguard-system create secret generic audit-signing-key \\
      --from-file=audit.key=keys/audit.example.com.key

The name is the log's identity (the checkpoints' origin by default). The key texts are those
of golang.org/x/mod/sumdb/note. An existing file is never overwritten. Exit codes: 0 written,
2 bad name or the files cannot be written.")]
    Keygen {
        /// The key's (and log's) name, e.g. audit.example.com.
        #[arg(long, value_name = "NAME")]
        name: String,
        /// The folder to write NAME.key and NAME.pub to (created if missing).
        #[arg(short = 'o', long, value_name = "DIR", default_value = ".")]
        output: String,
    },
}
