//! Recommendations' configuration: every setting is a flag and an environment
//! variable, parsed once at start-up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use lifecycle::ShutdownArgs;
use lifecycle::healthcheck::Command;

use crate::faults::{Faults, parse_error_rate};

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

    /// The most time one call may take on the server, whatever deadline the
    /// client sent; past it the call is cut off and its resources freed.
    #[arg(long, env = "GRPC_REQUEST_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub grpc_request_timeout: Duration,

    /// Fault injection: latency added to every Recommend call, e.g. `200ms`.
    /// Off by default.
    #[arg(long, env = "FAULT_LATENCY", value_parser = humantime::parse_duration)]
    pub fault_latency: Option<Duration>,

    /// Fault injection: the share of Recommend calls answered UNAVAILABLE,
    /// from 0 to 1.
    #[arg(long, env = "FAULT_ERROR_RATE", default_value = "0", value_parser = parse_error_rate)]
    pub fault_error_rate: f64,

    #[command(flatten)]
    pub tls: tls::ServerTlsArgs,

    #[command(flatten)]
    pub shutdown: ShutdownArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Config {
    /// The faults to inject, from `FAULT_*`.
    pub fn faults(&self) -> Faults {
        Faults {
            latency: self.fault_latency,
            error_rate: self.fault_error_rate,
        }
    }
}
