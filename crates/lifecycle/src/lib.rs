//! Process lifecycle shared by every service: the shutdown plan that drives a
//! Kubernetes-friendly drain, the signal handling that starts it, the bound
//! on every server's graceful stop, the `healthcheck` subcommand, and the one
//! way every server accepts connections.

mod accept;
mod config;
pub mod healthcheck;
mod serve;
mod shutdown;
pub mod signals;

pub use accept::{accept, incoming};
pub use config::{ShutdownArgs, parse_or_exit};
pub use serve::serve_until_drained;
pub use shutdown::{Shutdown, ShutdownController};
