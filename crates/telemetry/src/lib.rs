//! Telemetry for every service: one call at start-up installs structured
//! logs and the Prometheus recorder, and returns the handles the servers need.

use metrics_exporter_prometheus::{BuildError, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to install the Prometheus recorder")]
    Metrics(#[from] BuildError),
    #[error("failed to install the tracing subscriber")]
    Subscriber(#[from] tracing_subscriber::util::TryInitError),
}

/// What telemetry start-up hands to the servers. Dropping it flushes.
#[derive(Debug)]
pub struct Telemetry {
    metrics: PrometheusHandle,
}

impl Telemetry {
    /// The handle that renders `/metrics`.
    pub fn metrics(&self) -> PrometheusHandle {
        self.metrics.clone()
    }
}

/// Installs the process-wide log subscriber and metrics recorder. Call it
/// once, from `main`.
///
/// Logs are JSON lines on stdout, filtered by `RUST_LOG` (default `info`).
pub fn init() -> Result<Telemetry, Error> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().json().flatten_event(true))
        .try_init()?;
    let metrics = PrometheusBuilder::new().install_recorder()?;
    Ok(Telemetry { metrics })
}
