//! `mlguard operator run|manifests`: flags in, mlguard-operator out.

use crate::cli::OperatorCommand;
use crate::exit;
use anyhow::{bail, Result};
use mlguard_operator::manifests::{manifests, pinned};
use std::path::Path;

pub fn run(cmd: OperatorCommand) -> Result<u8> {
    match cmd {
        OperatorCommand::Run { health_addr } => {
            mlguard_operator::main(health_addr)?;
            Ok(exit::CLEAN)
        }
        OperatorCommand::Manifests {
            image,
            output,
            format,
        } => {
            if !pinned(&image) {
                bail!(
                    "--image `{image}` is not pinned by digest: give REPO@sha256:<64 hex digits>"
                );
            }
            let objs = manifests(&image);
            let body = match format.as_str() {
                "yaml" => mlguard_core::emit::to_yaml_stream(&objs),
                "json" => {
                    serde_json::to_string_pretty(
                        &serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objs}),
                    )? + "\n"
                }
                _ => bail!("unknown --format `{format}` (yaml or json)"),
            };
            crate::output::write_to(output.as_deref().map(Path::new), body.as_bytes())?;
            Ok(exit::CLEAN)
        }
    }
}
