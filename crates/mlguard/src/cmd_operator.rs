//! `mlguard operator run|manifests`: flags in, mlguard-operator out.

use crate::cli::OperatorCommand;
use crate::exit;
use anyhow::Result;
use mlguard_operator::manifests::manifests;

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
            crate::output::require_pinned(&image)?;
            let objs = manifests(&image);
            crate::output::write_objects(&objs, &format, output.as_deref())?;
            Ok(exit::CLEAN)
        }
    }
}
