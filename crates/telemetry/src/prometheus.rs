//! The Prometheus side of telemetry: the process-wide `metrics` recorder with
//! OpenTelemetry-semconv histogram buckets, the process and build metrics, and
//! the handle the admin server renders `/metrics` from.

use std::time::Duration;

use metrics::Unit;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

use crate::ServiceInfo;

/// How often histogram samples are folded into their buckets when nobody
/// scrapes. The exporter keeps raw samples until then, so without upkeep an
/// unscraped busy process would grow without bound.
pub(crate) const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The semconv-advised buckets for request durations, 5 ms to 10 s.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Metric names, in Prometheus form. OpenTelemetry's `rpc.server.call.duration`
/// (unit `s`) is `rpc_server_call_duration_seconds` in Prometheus.
pub mod names {
    pub const RPC_SERVER_DURATION: &str = "rpc_server_call_duration_seconds";
    pub const RPC_CLIENT_DURATION: &str = "rpc_client_call_duration_seconds";
    pub const HTTP_SERVER_DURATION: &str = "http_server_request_duration_seconds";
    pub const SPANS_EXPORTED: &str = "otel_sdk_exporter_span_exported_total";
    pub const LOGS_EXPORTED: &str = "otel_sdk_exporter_log_exported_total";
    pub const BUILD_INFO: &str = "build_info";
}

/// Label names: OpenTelemetry attributes as the OpenTelemetry Prometheus
/// exporters name them, with `_` for `.` (`rpc.method` is `rpc_method`).
pub(crate) mod labels {
    pub(crate) const RPC_SYSTEM_NAME: &str = "rpc_system_name";
    pub(crate) const RPC_METHOD: &str = "rpc_method";
    pub(crate) const RPC_RESPONSE_STATUS_CODE: &str = "rpc_response_status_code";
    pub(crate) const SERVER_ADDRESS: &str = "server_address";
    pub(crate) const SERVER_PORT: &str = "server_port";
    pub(crate) const HTTP_REQUEST_METHOD: &str = "http_request_method";
    pub(crate) const HTTP_ROUTE: &str = "http_route";
    pub(crate) const HTTP_RESPONSE_STATUS_CODE: &str = "http_response_status_code";
    pub(crate) const ERROR_TYPE: &str = "error_type";
}

/// The Prometheus label of an OpenTelemetry attribute or metric name.
pub(crate) fn prometheus_name(otel_name: &str) -> String {
    otel_name.replace('.', "_")
}

/// Renders the process's metrics. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    process: metrics_process::Collector,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Installs the process-wide recorder. Once per process: a second call
    /// fails, since `metrics` has one global recorder.
    pub fn install(service: &ServiceInfo) -> Result<Metrics, BuildError> {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("_duration_seconds".to_owned()),
                &DURATION_BUCKETS,
            )?
            .install_recorder()?;
        spawn_upkeep(handle.clone(), UPKEEP_INTERVAL);
        describe();
        metrics::gauge!(
            names::BUILD_INFO,
            "service_name" => service.name.clone(),
            "service_version" => service.version.clone(),
        )
        .set(1.0);
        let process = metrics_process::Collector::default();
        process.describe();
        Ok(Metrics { handle, process })
    }

    /// A handle to a recorder that is not installed: it renders an empty
    /// page. For tests that do not look at metrics.
    pub fn detached() -> Metrics {
        Metrics {
            handle: PrometheusBuilder::new().build_recorder().handle(),
            process: metrics_process::Collector::default(),
        }
    }

    /// The Prometheus text exposition, with process metrics sampled now.
    pub fn render(&self) -> String {
        self.process.collect();
        self.handle.render()
    }
}

/// Runs the exporter's upkeep every `interval` on a small thread of its own,
/// so it never competes with request handling on the runtime.
fn spawn_upkeep(handle: PrometheusHandle, interval: Duration) {
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(interval);
                handle.run_upkeep();
            }
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot start metrics upkeep; histogram samples accumulate until scraped");
    }
}

fn describe() {
    metrics::describe_histogram!(
        names::RPC_SERVER_DURATION,
        Unit::Seconds,
        "Duration of gRPC calls served (OpenTelemetry rpc.server.call.duration)."
    );
    metrics::describe_histogram!(
        names::RPC_CLIENT_DURATION,
        Unit::Seconds,
        "Duration of gRPC calls made (OpenTelemetry rpc.client.call.duration)."
    );
    metrics::describe_histogram!(
        names::HTTP_SERVER_DURATION,
        Unit::Seconds,
        "Duration of HTTP requests served (OpenTelemetry http.server.request.duration)."
    );
    metrics::describe_counter!(
        names::SPANS_EXPORTED,
        "Spans handed to the OTLP exporter; error_type is set for spans that were dropped."
    );
    metrics::describe_counter!(
        names::LOGS_EXPORTED,
        "Log records handed to the OTLP exporter; error_type is set for records that were dropped."
    );
    metrics::describe_gauge!(
        names::BUILD_INFO,
        "Always 1; the labels name the running build."
    );
}

#[cfg(test)]
mod tests {
    use opentelemetry_semantic_conventions::attribute as semconv;

    use super::*;

    #[test]
    fn labels_are_the_semconv_attributes_in_prometheus_form() {
        for (label, attribute) in [
            (labels::RPC_SYSTEM_NAME, semconv::RPC_SYSTEM_NAME),
            (labels::RPC_METHOD, semconv::RPC_METHOD),
            (
                labels::RPC_RESPONSE_STATUS_CODE,
                semconv::RPC_RESPONSE_STATUS_CODE,
            ),
            (labels::SERVER_ADDRESS, semconv::SERVER_ADDRESS),
            (labels::SERVER_PORT, semconv::SERVER_PORT),
            (labels::HTTP_REQUEST_METHOD, semconv::HTTP_REQUEST_METHOD),
            (labels::HTTP_ROUTE, semconv::HTTP_ROUTE),
            (
                labels::HTTP_RESPONSE_STATUS_CODE,
                semconv::HTTP_RESPONSE_STATUS_CODE,
            ),
            (labels::ERROR_TYPE, semconv::ERROR_TYPE),
        ] {
            assert_eq!(label, prometheus_name(attribute));
        }
    }
}
