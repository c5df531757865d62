//! Process lifecycle shared by every service: the shutdown plan that drives a
//! Kubernetes-friendly drain, the signal handling that starts it, and the
//! plain-HTTP admin server with the probes and `/metrics`.

pub mod admin;
mod config;
pub mod healthcheck;
pub mod http;
mod serve;
mod shutdown;
pub mod signals;

pub use config::{ShutdownArgs, parse_or_exit};
pub use serve::serve_until_drained;
pub use shutdown::{Shutdown, ShutdownController};

/// Logs where a service listens, once it is bound. Port 0 is resolved, so the
/// line names the real ports.
pub fn log_addresses(
    message: &str,
    service: &tokio::net::TcpListener,
    admin: &tokio::net::TcpListener,
) {
    let addr = |l: &tokio::net::TcpListener| {
        l.local_addr()
            .map_or_else(|e| e.to_string(), |a| a.to_string())
    };
    tracing::info!(service_addr = %addr(service), admin_addr = %addr(admin), "{message}");
}
