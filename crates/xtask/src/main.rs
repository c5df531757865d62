//! Project automation that would otherwise live in shell scripts: `cargo
//! xtask tidy` checks the house rules that rustfmt and clippy cannot.

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
}

/// The workspace root, two levels above this crate.
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn main() -> ExitCode {
    match Command::parse() {
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
