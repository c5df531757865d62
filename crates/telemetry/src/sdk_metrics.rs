//! The OpenTelemetry SDK's counts of its own work, on `/metrics`: how many
//! spans and log records its batch processors handled, and how many they
//! dropped because their queue was full
//! (`otel_sdk_processor_span_processed_total{error_type="queue_full"}`).
//!
//! The SDK counts these itself, on the global meter provider; this module
//! installs that provider and copies its counters into the process's
//! Prometheus recorder, so they sit beside every other metric. Only
//! monotonic sums are copied: they are all the SDK reports about itself.

use std::time::Duration;

use opentelemetry::global;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics, Sum};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};

use crate::prometheus::prometheus_name;

/// How often the counts are copied: `/metrics` lags the SDK by at most this.
const COPY_INTERVAL: Duration = Duration::from_secs(1);

/// Makes the SDK's self-metrics reach `/metrics`. Call it before the tracer
/// and logger providers are built: their batch processors take their
/// counters from the global meter provider as they start.
pub(crate) fn install() -> SdkMeterProvider {
    let reader = PeriodicReader::builder(ToPrometheus)
        .with_interval(COPY_INTERVAL)
        .build();
    let provider = SdkMeterProvider::builder().with_reader(reader).build();
    global::set_meter_provider(provider.clone());
    provider
}

/// The Prometheus name of a counter: `otel.sdk.processor.span.processed`
/// is `otel_sdk_processor_span_processed_total`. Annotation units such as
/// `{span}` add no suffix, as in the OpenTelemetry Prometheus exporters.
fn counter_name(name: &str) -> String {
    format!("{}_total", prometheus_name(name))
}

/// Copies cumulative sums into the `metrics` recorder.
#[derive(Debug)]
struct ToPrometheus;

impl ToPrometheus {
    fn copy<T: Copy>(name: &str, sum: &Sum<T>, total: fn(T) -> u64) {
        if !sum.is_monotonic() {
            return;
        }
        for point in sum.data_points() {
            let labels: Vec<metrics::Label> = point
                .attributes()
                .map(|kv| {
                    metrics::Label::new(prometheus_name(kv.key.as_str()), kv.value.to_string())
                })
                .collect();
            // Cumulative: each export carries the total so far.
            metrics::counter!(counter_name(name), labels).absolute(total(point.value()));
        }
    }
}

impl PushMetricExporter for ToPrometheus {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        for scope in metrics.scope_metrics() {
            for metric in scope.metrics() {
                match metric.data() {
                    AggregatedMetrics::U64(MetricData::Sum(sum)) => {
                        ToPrometheus::copy(metric.name(), sum, |total| total);
                    }
                    AggregatedMetrics::F64(MetricData::Sum(sum)) => {
                        // Counts of whole items, far below 2^53.
                        ToPrometheus::copy(metric.name(), sum, |total| total as u64);
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_named_as_the_prometheus_exporters_name_them() {
        assert_eq!(
            counter_name("otel.sdk.processor.span.processed"),
            "otel_sdk_processor_span_processed_total"
        );
    }
}
