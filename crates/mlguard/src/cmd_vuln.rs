//! `mlguard vuln`: the local OSV database (import, info) and checking one package version.
//! mlguard-vuln does the work. Exit codes: 0 nothing affects it, 1 something does, 2 errors.

use crate::cli::{VulnCommand, VulnDbCommand};
use crate::exit;
use anyhow::{bail, Result};
use mlguard_vuln::db::{self, Db};
use std::path::PathBuf;

fn dir(db: Option<&str>) -> PathBuf {
    db.map(PathBuf::from).unwrap_or_else(db::default_dir)
}

pub fn run(cmd: VulnCommand) -> Result<u8> {
    match cmd {
        VulnCommand::Db(VulnDbCommand::Import { paths, db, ca }) => {
            let d = dir(db.as_deref());
            let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
            let meta = db::import_with(&d, &paths, ca.as_deref().map(std::path::Path::new))?;
            let added: usize = meta
                .sources
                .iter()
                .rev()
                .take(paths.len())
                .map(|s| s.records)
                .sum();
            eprintln!(
                "imported {added} records from {} source(s) into {}: {} records in all",
                paths.len(),
                d.display(),
                meta.records
            );
            Ok(exit::CLEAN)
        }
        VulnCommand::Db(VulnDbCommand::Info { format, db }) => {
            let d = dir(db.as_deref());
            let db = Db::open(&d)?;
            match format.as_str() {
                "json" => {
                    let v = serde_json::json!({
                        "path": d.display().to_string(),
                        "records": db.meta.records,
                        "updatedAt": db.meta.updated_at,
                        "ageSeconds": db.age(),
                        "sources": db.meta.sources,
                    });
                    println!("{}", serde_json::to_string_pretty(&v)?);
                }
                "table" => {
                    println!("database: {}", d.display());
                    println!("records:  {}", db.meta.records);
                    println!("age:      {} days", db.age() / 86_400);
                    for s in &db.meta.sources {
                        println!("source:   {} ({} records)", s.path, s.records);
                    }
                }
                f => bail!("--format {f:?} is not one of table, json"),
            }
            Ok(exit::CLEAN)
        }
        VulnCommand::Check {
            ecosystem,
            package,
            version,
            format,
            db,
        } => {
            if !matches!(format.as_str(), "table" | "json") {
                bail!("--format {format:?} is not one of table, json");
            }
            if mlguard_vuln::osv::scheme_of(&ecosystem).is_none() {
                bail!(
                    "--ecosystem {ecosystem:?} is not one of PyPI, Debian[:N], Ubuntu[:N], NVIDIA"
                );
            }
            let db = Db::open(&dir(db.as_deref()))?;
            let (hits, errors) = db.check(&ecosystem, &package, &version);
            if format == "json" {
                let v = serde_json::json!({
                    "ecosystem": ecosystem, "package": package, "version": version,
                    "vulnerabilities": hits,
                    "errors": errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
                });
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for h in &hits {
                    let fix = if h.fixed.is_empty() {
                        "no fix".to_string()
                    } else {
                        format!("fixed in {}", h.fixed.join(", "))
                    };
                    println!(
                        "{}  {}  ({fix})",
                        h.ids.join(" "),
                        h.summary.as_deref().unwrap_or("")
                    );
                }
                println!(
                    "{package} {version} ({ecosystem}): {} vulnerabilities",
                    hits.len()
                );
            }
            for e in &errors {
                eprintln!("error: {e}");
            }
            Ok(if !errors.is_empty() {
                exit::ERROR
            } else if hits.is_empty() {
                exit::CLEAN
            } else {
                exit::FINDINGS
            })
        }
    }
}
