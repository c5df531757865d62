//! Project automation that would otherwise live in shell scripts: `cargo
//! xtask tidy` checks the house rules that rustfmt and clippy cannot, and
//! `cargo xtask certs` makes a development PKI for mutual TLS.

// A command-line tool: printing to stdout is its interface. The workspace
// lint exists to keep stray prints out of the services.
#![allow(clippy::print_stdout)]

mod tidy;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser as _;

#[derive(clap::Parser)]
#[command(name = "cargo xtask", about = "Project automation")]
enum Command {
    /// Check house rules: a `//!` line atop every Rust file, no `mod.rs`,
    /// files under 500 lines.
    Tidy,
    /// Make a development CA, a server certificate for Recommendations and a
    /// client certificate for the Marketplace (for mutual TLS). Development
    /// only: production certificates come from your PKI, via Secrets.
    Certs {
        /// Where to write ca.pem, server.pem/.key and client.pem/.key.
        #[arg(long, default_value = "certs")]
        out: PathBuf,
        /// Extra names (DNS or IP) the server certificate is valid for.
        #[arg(long = "server-name")]
        server_names: Vec<String>,
    },
}

/// The workspace root, two levels above this crate.
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn main() -> ExitCode {
    match Command::parse() {
        Command::Certs { out, server_names } => {
            let mut names: Vec<&str> = tls::dev::DEFAULT_SERVER_NAMES.to_vec();
            names.extend(server_names.iter().map(String::as_str));
            let written = tls::dev::generate("Online Books For You dev CA", &names)
                .map_err(|e| e.to_string())
                .and_then(|pki| pki.write_to(&out).map_err(|e| e.to_string()));
            match written {
                Ok(()) => {
                    println!(
                        "wrote a development PKI to {} (server names: {})",
                        out.display(),
                        names.join(", ")
                    );
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::FAILURE
                }
            }
        }
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
