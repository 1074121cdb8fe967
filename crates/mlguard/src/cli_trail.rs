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

#[derive(Debug, Subcommand)]
pub enum TrailCommand {
    /// Recompute the Merkle tree of the stored log and check every checkpoint; exit 0 when the
    /// log verifies, 1 when it does not (naming the first record that differs).
    Verify {
        #[command(flatten)]
        store: StoreArgs,
    },
}
