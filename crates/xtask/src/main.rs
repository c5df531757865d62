//! Project automation that would otherwise live in shell scripts: `cargo
//! xtask new-service` and `remove-service` add and remove a service wired end
//! to end, `cargo xtask tidy` checks the house rules that rustfmt and clippy
//! cannot, and `cargo xtask certs` makes a development PKI for mutual TLS:
//! a certificate per service.

// A command-line tool: printing to stdout is its interface. The workspace
// lint exists to keep stray prints out of the services.
#![allow(clippy::print_stdout)]

mod certs;
mod scaffold;
mod tidy;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser as _;

#[derive(clap::Parser)]
#[command(name = "cargo xtask", about = "Project automation")]
enum Command {
    /// Add a service on the kit, wired end to end: its crate (and proto, for
    /// gRPC), a compose service, Kubernetes manifests, a Prometheus scrape
    /// job, its place in both mTLS overlays. All of it or, on any failure,
    /// none of it. Prints every file it writes or changes.
    NewService {
        /// The service's name, also its host name: lower-case letters,
        /// digits and '-', starting with a letter, at most 63 long.
        name: String,
        /// A gRPC service (tonic, with its own proto) or a web service
        /// (axum, with a page).
        #[arg(long, value_enum)]
        kind: scaffold::Kind,
        /// A gRPC service of this repository to call (repeatable): its
        /// client, settings (`SERVICE_URL`, ...) and one example call.
        #[arg(long = "calls", value_name = "SERVICE")]
        calls: Vec<String>,
        /// Print what would be written and changed; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Remove a service that `new-service` made, and every change it made;
    /// also whatever part of one an interrupted run left.
    RemoveService {
        name: String,
        /// Print what would be removed and changed; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check house rules: a `//!` line atop every Rust file, no `mod.rs`,
    /// files under 500 lines.
    Tidy,
    /// Make a development CA and, for every app service of
    /// docker-compose.yaml, a certificate that is both its server
    /// certificate and its client identity (spiffe://online-books/NAME).
    /// Development only: production certificates come from your PKI
    /// (cert-manager), via Secrets.
    Certs {
        /// Where to write ca.crt, ca.key and NAME.crt/NAME.key (relative to
        /// the workspace). A CA already there is kept.
        #[arg(long, default_value = "certs")]
        out: PathBuf,
        /// Make a new CA instead of keeping the one in --out: every service
        /// then needs its new certificate.
        #[arg(long)]
        new_ca: bool,
        /// Extra names (DNS or IP) every certificate is valid for.
        #[arg(long = "server-name")]
        server_names: Vec<String>,
    },
}

/// The workspace the command runs in: the nearest directory up from the
/// current one whose `Cargo.toml` has a `[workspace]`. Not this crate's
/// build-time path, so that a binary from a shared target directory edits
/// the checkout it is run in.
fn workspace_root() -> PathBuf {
    let here = std::env::current_dir().unwrap_or_default();
    here.ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]"))
        })
        .map_or(here.clone(), std::path::Path::to_owned)
}

/// The generator's options. `XTASK_FAULT=fail:N` makes its Nth step fail
/// (and everything before it be undone); `XTASK_FAULT=abort:N` stops the
/// run dead at step N, as a kill would. They exist for the tests of its
/// all-or-nothing promise (`.ci/new-service-check`).
fn options(dry_run: bool) -> Result<scaffold::Options, String> {
    let fault = match std::env::var("XTASK_FAULT") {
        Err(_) => None,
        Ok(value) => {
            let parsed = value.split_once(':').and_then(|(kind, step)| {
                let kind = match kind {
                    "fail" => scaffold::FaultKind::Fail,
                    "abort" => scaffold::FaultKind::Abort,
                    _ => return None,
                };
                Some(scaffold::Fault {
                    step: step.parse().ok().filter(|s| *s > 0)?,
                    kind,
                })
            });
            Some(parsed.ok_or_else(|| {
                format!("XTASK_FAULT={value:?}: expected fail:N or abort:N, N from 1")
            })?)
        }
    };
    Ok(scaffold::Options { dry_run, fault })
}

/// Prints the lines of a successful run, or the one line of an error.
fn report(result: Result<Vec<String>, String>) -> ExitCode {
    match result {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    match Command::parse() {
        Command::NewService {
            name,
            kind,
            calls,
            dry_run,
        } => report(options(dry_run).and_then(|options| {
            scaffold::new_service(&workspace_root(), &name, kind, &calls, options)
        })),
        Command::RemoveService { name, dry_run } => report(
            options(dry_run)
                .and_then(|options| scaffold::remove_service(&workspace_root(), &name, options)),
        ),
        Command::Certs {
            out,
            new_ca,
            server_names,
        } => report(certs::run(
            &workspace_root(),
            &certs::Options {
                out,
                new_ca,
                extra_names: server_names,
            },
        )),
        Command::Tidy => {
            let problems = tidy::check(&workspace_root());
            for problem in &problems {
                eprintln!("{problem}");
            }
            if problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
