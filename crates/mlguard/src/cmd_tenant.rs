//! `mlguard tenant render`: files in, mlguard-tenant out.

use crate::cli::TenantCommand;
use crate::exit;
use anyhow::{bail, Context, Result};
use mlguard_core::emit::to_yaml_stream;
use mlguard_tenant::Tenant;
use std::path::Path;

/// Read the MLTenant objects under `paths`. Input errors are printed; then `Err(exit code)`.
pub fn read_tenants(paths: &[String]) -> std::result::Result<Vec<Tenant>, u8> {
    let loaded = mlguard_core::load(paths, &mlguard_core::LoadOptions::default());
    let mut errors = loaded.errors.clone();
    let objects: Vec<(String, mlguard_core::Object)> = loaded
        .objects
        .iter()
        .map(|o| {
            let file = loaded
                .files
                .get(o.file)
                .map_or_else(|| "<unknown>".to_owned(), |f| f.path.clone());
            (file, o.clone())
        })
        .collect();
    let (tenants, errs) = mlguard_tenant::read(&objects);
    errors.extend(errs);
    if tenants.is_empty() && errors.is_empty() {
        errors.push(mlguard_core::InputError {
            file: paths.join(", "),
            pos: None,
            field: None,
            message: "no MLTenant (mlguard.io/v1alpha1) found".to_owned(),
        });
    }
    if errors.is_empty() {
        Ok(tenants)
    } else {
        for e in &errors {
            eprintln!("error: {e}");
        }
        Err(exit::ERROR)
    }
}

pub fn run(cmd: TenantCommand) -> Result<u8> {
    let (paths, output, format) = match cmd {
        TenantCommand::Render {
            paths,
            output,
            format,
        } => (paths, output, format),
        TenantCommand::Crd { output, format } => {
            let crd = mlguard_tenant::crd::crd();
            let body = match format.as_str() {
                "yaml" => mlguard_core::emit::to_yaml(&crd),
                "json" => serde_json::to_string_pretty(&crd)? + "\n",
                _ => bail!("unknown --format `{format}` (yaml or json)"),
            };
            crate::output::write_to(output.as_deref().map(Path::new), body.as_bytes())?;
            return Ok(exit::CLEAN);
        }
    };
    if !matches!(format.as_str(), "yaml" | "json") {
        bail!("unknown --format `{format}` (yaml or json)");
    }
    let tenants = match read_tenants(&paths) {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    let body = |objs: &[serde_json::Value]| -> Result<String> {
        Ok(if format == "json" {
            serde_json::to_string_pretty(&serde_json::json!({
                "apiVersion": "v1", "kind": "List", "items": objs,
            }))? + "\n"
        } else {
            to_yaml_stream(objs)
        })
    };
    match output {
        None => {
            let all: Vec<serde_json::Value> =
                tenants.iter().flat_map(mlguard_tenant::render).collect();
            crate::output::write_to(None, body(&all)?.as_bytes())?;
        }
        Some(dir) => {
            let dir = Path::new(&dir);
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let ext = if format == "json" { "json" } else { "yaml" };
            for t in &tenants {
                let objs = mlguard_tenant::render(t);
                crate::output::write_to(
                    Some(&dir.join(format!("{}.{ext}", t.name))),
                    body(&objs)?.as_bytes(),
                )?;
            }
            let ns: Vec<_> = tenants
                .iter()
                .flat_map(mlguard_tenant::audit_namespaces)
                .collect();
            crate::output::write_to(
                Some(&dir.join("audit-policy.yaml")),
                mlguard_audit::generate::generate(&ns).as_bytes(),
            )?;
        }
    }
    Ok(exit::CLEAN)
}
