//! `mlguard audit serve|ingest`: the audit store's receiving side.

use crate::cli_receive::ReceiveCommand;
use crate::cmd_trail::store_url;
use anyhow::{bail, Result};

pub fn run(cmd: ReceiveCommand) -> Result<u8> {
    match cmd {
        ReceiveCommand::Serve { store } => {
            let url = store_url(&store)?;
            bail!("audit serve to {url}: not built yet")
        }
    }
}
