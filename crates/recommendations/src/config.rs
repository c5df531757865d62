//! Recommendations' configuration: every setting is a flag and an environment
//! variable, parsed once at start-up.

use std::net::SocketAddr;
use std::path::PathBuf;

use lifecycle::ShutdownArgs;

/// The Recommendations gRPC service of Online Books For You.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "recommendations", version, about, long_about = None)]
pub struct Config {
    /// Address of the gRPC server (both APIs, health and reflection).
    #[arg(long, env = "GRPC_ADDR", default_value = "0.0.0.0:50051")]
    pub grpc_addr: SocketAddr,

    /// Address of the plain-HTTP admin server: /healthz, /readyz, /metrics.
    #[arg(long, env = "ADMIN_ADDR", default_value = "0.0.0.0:9051")]
    pub admin_addr: SocketAddr,

    /// A JSON catalogue to serve instead of the embedded one:
    /// [{"id": 1, "title": "...", "category": "MYSTERY"}, ...].
    #[arg(long, env = "CATALOG_PATH")]
    pub catalog_path: Option<PathBuf>,

    #[command(flatten)]
    pub shutdown: ShutdownArgs,
}
