//! `mlguard audit verify|prove|query|report|...`: the audit store's reading side.

use crate::cli_trail::{StoreArgs, TrailCommand};
use anyhow::{bail, Result};

/// The store URL: the flag, or `sqlite:` in the user data folder.
pub fn store_url(args: &StoreArgs) -> Result<String> {
    if let Some(url) = &args.store {
        return Ok(url.clone());
    }
    let base = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(d) => std::path::PathBuf::from(d),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(h) => std::path::PathBuf::from(h).join(".local/share"),
            None => bail!("no --store given and neither XDG_DATA_HOME nor HOME is set"),
        },
    };
    Ok(format!("sqlite:{}", base.join("mlguard/audit.db").display()))
}

pub fn run(cmd: TrailCommand) -> Result<u8> {
    match cmd {
        TrailCommand::Verify { store } => {
            let url = store_url(&store)?;
            bail!("audit verify of {url}: not built yet")
        }
    }
}
