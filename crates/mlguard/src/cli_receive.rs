//! Flags of the audit trail's receiving commands: `mlguard audit serve` and `mlguard audit
//! ingest`.

use crate::cli_trail::StoreArgs;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ReceiveCommand {
    /// Receive audit events over HTTPS (the API server's audit webhook, MinIO's audit webhook,
    /// KServe's inference logger) and append them to the store.
    Serve {
        #[command(flatten)]
        store: StoreArgs,
    },
}
