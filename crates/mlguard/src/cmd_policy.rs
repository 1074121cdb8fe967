//! `mlguard policy export`: flags in, mlguard-controls' ValidatingAdmissionPolicies out.

use crate::cli::PolicyCommand;
use crate::exit;
use anyhow::{bail, Context, Result};
use mlguard_controls::vap::{export, exported, not_exported, Mode};
use mlguard_controls::{Catalog, Severity};

pub fn run(cmd: PolicyCommand) -> Result<u8> {
    let PolicyCommand::Export {
        format,
        mode,
        deny_at,
        output,
    } = cmd;
    let mode = match mode.as_str() {
        "enforce" => Mode::Enforce,
        "warn" => Mode::Warn,
        "audit" => Mode::Audit,
        _ => bail!("unknown --mode `{mode}` (expected enforce, warn or audit)"),
    };
    let deny_at = Severity::parse(&deny_at).with_context(|| {
        format!("unknown --deny-at `{deny_at}` (expected critical, high, medium or low)")
    })?;
    let catalog = Catalog::builtin();
    let objs = export(catalog, mode, deny_at);
    let skipped = not_exported(catalog);
    let width = skipped.iter().map(|(id, _)| id.len()).max().unwrap_or(0);
    let mut header = format!(
        "# mlguard policy export: {} controls as ValidatingAdmissionPolicy and binding.\n# Not exported ({}; the webhook and `mlguard scan` judge them):\n",
        exported().len(),
        skipped.len()
    );
    for (id, why) in &skipped {
        header.push_str(&format!("#   {id:width$}  {why}\n"));
    }
    let body = match format.as_str() {
        "vap" => header + &mlguard_core::emit::to_yaml_stream(&objs),
        "vap-json" => {
            eprint!("{header}");
            serde_json::to_string_pretty(
                &serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objs}),
            )? + "\n"
        }
        _ => bail!("unknown --format `{format}` (vap or vap-json)"),
    };
    crate::output::write_to(output.as_deref().map(std::path::Path::new), body.as_bytes())?;
    Ok(exit::CLEAN)
}
