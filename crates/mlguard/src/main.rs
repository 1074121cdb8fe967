//! mlguard: the command-line front end. Parses flags, wires the crates together and prints.
//! No domain logic lives here: loading is mlguard-core, judging is mlguard-controls, rendering
//! is mlguard-report, permissions are mlguard-rbac, reachability is mlguard-netpol, audit policies are mlguard-audit.

mod cli;
mod cli_receive;
mod cli_report;
mod cli_trail;
mod cmd_audit;
mod cmd_controls;
mod cmd_image;
mod cmd_model;
mod cmd_model_keys;
mod cmd_model_manifests;
mod cmd_model_scan;
mod cmd_netpol;
mod cmd_operator;
mod cmd_policy;
mod cmd_rbac;
mod cmd_receive;
mod cmd_report;
mod cmd_scan;
mod cmd_tenant;
mod cmd_trail;
mod cmd_vuln;
mod cmd_webhook;
mod output;

use clap::{CommandFactory, FromArgMatches};
use std::process::ExitCode;

/// Parsing builds millions of small nodes; mimalloc measured faster than the system allocator
/// on the 100,000-object benchmark (see README, Performance).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes shared by every subcommand.
pub mod exit {
    /// Nothing at or above the threshold.
    pub const CLEAN: u8 = 0;
    /// Findings at or above `--fail-on`.
    pub const FINDINGS: u8 = 1;
    /// Usage or input error (wins over FINDINGS).
    pub const ERROR: u8 = 2;
}

fn main() -> ExitCode {
    let parsed = cli::Cli::command()
        .try_get_matches()
        .and_then(|m| cli::Cli::from_arg_matches(&m).map(|a| (a, m)));
    let (args, matches) = match parsed {
        Ok(x) => x,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::ERROR
            } else {
                exit::CLEAN
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match args.command {
        cli::Command::Scan(a) => {
            let sm = matches.subcommand_matches("scan");
            let indices = |id: &str, n: usize| -> Vec<usize> {
                let v: Vec<usize> = sm
                    .and_then(|m| m.indices_of(id))
                    .map(Iterator::collect)
                    .unwrap_or_default();
                if v.len() == n {
                    v
                } else {
                    Vec::new()
                }
            };
            let fi = indices("format", a.format.len());
            let oi = indices("output", a.output.len());
            cmd_scan::run_with(a, &fi, &oi)
        }
        cli::Command::Controls(a) => cmd_controls::run(a),
        cli::Command::Rbac(a) => cmd_rbac::run(a),
        cli::Command::Netpol(a) => cmd_netpol::run(a),
        cli::Command::Audit(cli::AuditCommand::Receive(c)) => cmd_receive::run(c),
        cli::Command::Audit(cli::AuditCommand::Trail(c)) => cmd_trail::run(c),
        cli::Command::Audit(cli::AuditCommand::Policy(c)) => cmd_audit::run(c),
        cli::Command::Tenant(a) => cmd_tenant::run(a),
        cli::Command::Operator(a) => cmd_operator::run(a),
        cli::Command::Webhook(a) => cmd_webhook::run(a),
        cli::Command::Policy(a) => cmd_policy::run(a),
        cli::Command::Model(a) => cmd_model::run(a),
        cli::Command::Vuln(a) => cmd_vuln::run(a),
        cli::Command::Image(cli::ImageCommand::Scan(a)) => cmd_image::run(a),
        cli::Command::Report(c) => cmd_report::run(c),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if output::is_broken_pipe(&e) => ExitCode::from(exit::CLEAN),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}
