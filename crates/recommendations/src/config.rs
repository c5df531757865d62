//! Recommendations' configuration: every setting is a flag and an environment
//! variable, parsed once at start-up.

use std::path::PathBuf;
use std::time::Duration;

use kit::ServiceArgs;
use kit::grpc_server::GrpcServerArgs;

use crate::faults::{Faults, parse_error_rate};

/// The Recommendations gRPC service of Online Books For You.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "recommendations", version, about, long_about = None)]
#[command(mut_arg("admin_addr", |a| a.default_value("0.0.0.0:9051")))]
pub struct Config {
    #[command(flatten)]
    pub grpc: GrpcServerArgs,

    /// A JSON catalogue to serve instead of the embedded one:
    /// [{"id": 1, "title": "...", "category": "MYSTERY"}, ...].
    #[arg(long, env = "CATALOG_PATH")]
    pub catalog_path: Option<PathBuf>,

    /// Fault injection: latency added to every Recommend call, e.g. `200ms`.
    /// Off by default.
    #[arg(long, env = "FAULT_LATENCY", value_parser = humantime::parse_duration)]
    pub fault_latency: Option<Duration>,

    /// Fault injection: the share of Recommend calls answered UNAVAILABLE,
    /// from 0 to 1.
    #[arg(long, env = "FAULT_ERROR_RATE", default_value = "0", value_parser = parse_error_rate)]
    pub fault_error_rate: f64,

    #[command(flatten)]
    pub service: ServiceArgs,
}

kit::service_config!(Config, service, grpc.grpc_addr);

impl Config {
    /// The faults to inject, from `FAULT_*`.
    pub fn faults(&self) -> Faults {
        Faults {
            latency: self.fault_latency,
            error_rate: self.fault_error_rate,
        }
    }
}
