//! Recommendations' configuration: every setting is a flag and an environment
//! variable, parsed once at start-up.

use std::path::Path;
use std::time::Duration;

use kit::ServiceArgs;
use kit::grpc_server::GrpcServerArgs;

use crate::catalog::Catalog;
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
    // Read and checked as the config is parsed, so a missing or invalid file
    // is a config error, reported before anything starts or says "serving".
    #[arg(long = "catalog-path", env = "CATALOG_PATH", value_name = "CATALOG_PATH", value_parser = load_catalog)]
    pub catalog: Option<Catalog>,

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
    /// The catalogue to serve: `CATALOG_PATH`'s, or the embedded one.
    pub fn catalog(&self) -> Catalog {
        self.catalog.clone().unwrap_or_else(Catalog::embedded)
    }

    /// The faults to inject, from `FAULT_*`.
    pub fn faults(&self) -> Faults {
        Faults {
            latency: self.fault_latency,
            error_rate: self.fault_error_rate,
        }
    }
}

/// Loads `CATALOG_PATH`. clap prints only this message, on one line, so it
/// carries the causes too: which file, and what is wrong with it.
fn load_catalog(path: &str) -> Result<Catalog, String> {
    Catalog::load(Path::new(path)).map_err(|error| {
        let mut message = error.to_string();
        let mut cause = std::error::Error::source(&error);
        while let Some(source) = cause {
            message.push_str(&format!(": {source}"));
            cause = source.source();
        }
        message
    })
}
