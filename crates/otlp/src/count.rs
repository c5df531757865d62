//! The exporters' count of what they delivered: the semconv SDK self-metric
//! `otel.sdk.exporter.{span,log}.exported`, recorded on the global meter
//! provider beside the SDK's own counts (which `telemetry` copies to
//! `/metrics`).

use opentelemetry::metrics::BoundCounter;
use opentelemetry::{KeyValue, global};
use opentelemetry_semantic_conventions::attribute::{
    ERROR_TYPE, OTEL_COMPONENT_NAME, OTEL_COMPONENT_TYPE,
};

/// One exporter's counts: items the collector took, and, with
/// `error.type="export_failed"`, items it refused or never got.
#[derive(Debug)]
pub struct Exported {
    delivered: BoundCounter<u64>,
    failed: BoundCounter<u64>,
}

impl Exported {
    /// The counts of the exporter of `signal` (`span`, `log`) whose semconv
    /// component type is `component_type` (`otlp_grpc_span_exporter`).
    pub fn new(signal: &str, component_type: &'static str) -> Exported {
        let counter = global::meter("otel.sdk")
            .u64_counter(format!("otel.sdk.exporter.{signal}.exported"))
            .build();
        let component = [
            KeyValue::new(OTEL_COMPONENT_TYPE, component_type),
            KeyValue::new(OTEL_COMPONENT_NAME, format!("{component_type}/0")),
        ];
        let mut failed = component.to_vec();
        failed.push(KeyValue::new(ERROR_TYPE, "export_failed"));
        Exported {
            delivered: counter.bind(&component),
            failed: counter.bind(&failed),
        }
    }

    pub fn count(&self, delivered: u64, failed: u64) {
        self.delivered.add(delivered);
        self.failed.add(failed);
    }
}
