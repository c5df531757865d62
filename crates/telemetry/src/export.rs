//! OTLP export of traces and logs: when it is on, how the SDK providers are
//! built, and the counting of what the exporter delivers or drops.
//!
//! Export is on when an OTLP endpoint is configured and `OTEL_SDK_DISABLED`
//! is not `true`. Everything else (protocol, sampler, batch sizes, queue
//! bounds, timeouts) is read by the OpenTelemetry SDK itself from the
//! standard `OTEL_*` variables. The batch processors run on their own threads
//! with bounded queues, so a slow or absent collector never delays a request:
//! when a queue is full, spans are dropped, not waited on, and counted
//! (`sdk_metrics`).

use std::time::Duration;

use opentelemetry_otlp::{ExporterBuildError, LogExporter, SpanExporter};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, SdkLoggerProvider};
use opentelemetry_sdk::trace::{SpanData, TracerProviderBuilder};

use crate::prometheus::names;

/// Which signals go out over OTLP, read from the standard variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExportPlan {
    pub(crate) traces: bool,
    pub(crate) logs: bool,
}

impl ExportPlan {
    pub(crate) fn from_env() -> ExportPlan {
        ExportPlan::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(var: impl Fn(&str) -> Option<String>) -> ExportPlan {
        let set = |name: &str| var(name).is_some_and(|v| !v.trim().is_empty());
        let disabled =
            var("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let exporter_off =
            |name: &str| var(name).is_some_and(|v| v.trim().eq_ignore_ascii_case("none"));
        let endpoint = set("OTEL_EXPORTER_OTLP_ENDPOINT");
        ExportPlan {
            traces: !disabled
                && !exporter_off("OTEL_TRACES_EXPORTER")
                && (endpoint || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")),
            logs: !disabled
                && !exporter_off("OTEL_LOGS_EXPORTER")
                && (endpoint || set("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")),
        }
    }
}

/// Adds OTLP export to a tracer provider, through a batch processor.
pub(crate) fn with_otlp_spans(
    builder: TracerProviderBuilder,
) -> Result<TracerProviderBuilder, ExporterBuildError> {
    Ok(builder.with_batch_exporter(CountingSpanExporter(SpanExporter::builder().build()?)))
}

/// The logger provider behind the tracing-to-OTLP log bridge.
pub(crate) fn logger_provider(resource: Resource) -> Result<SdkLoggerProvider, ExporterBuildError> {
    Ok(SdkLoggerProvider::builder()
        .with_resource(resource)
        .with_batch_exporter(CountingLogExporter(LogExporter::builder().build()?))
        .build())
}

/// Counts exported and failed items under the OpenTelemetry SDK self-metric
/// names, so dropped telemetry is visible on `/metrics`.
fn count(metric: &'static str, items: usize, result: &OTelSdkResult) {
    let items = items as u64;
    match result {
        Ok(()) => metrics::counter!(metric).increment(items),
        Err(_) => metrics::counter!(metric, "error_type" => "export_failed").increment(items),
    }
}

#[derive(Debug)]
struct CountingSpanExporter<E>(E);

impl<E: opentelemetry_sdk::trace::SpanExporter> opentelemetry_sdk::trace::SpanExporter
    for CountingSpanExporter<E>
{
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let items = batch.len();
        let result = self.0.export(batch).await;
        count(names::SPANS_EXPORTED, items, &result);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

#[derive(Debug)]
struct CountingLogExporter<E>(E);

impl<E: opentelemetry_sdk::logs::LogExporter> opentelemetry_sdk::logs::LogExporter
    for CountingLogExporter<E>
{
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let items = batch.iter().count();
        let result = self.0.export(batch).await;
        count(names::LOGS_EXPORTED, items, &result);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn plan(vars: &[(&str, &str)]) -> ExportPlan {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ExportPlan::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn without_an_endpoint_nothing_is_exported() {
        assert_eq!(
            plan(&[]),
            ExportPlan {
                traces: false,
                logs: false
            }
        );
        assert_eq!(
            plan(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")]),
            ExportPlan {
                traces: false,
                logs: false
            }
        );
    }

    #[test]
    fn an_endpoint_turns_both_signals_on() {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317");
        assert_eq!(
            plan(&[endpoint]),
            ExportPlan {
                traces: true,
                logs: true
            }
        );
    }

    #[test]
    fn sdk_disabled_wins_over_an_endpoint() {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317");
        assert_eq!(
            plan(&[endpoint, ("OTEL_SDK_DISABLED", "TRUE")]),
            ExportPlan {
                traces: false,
                logs: false
            }
        );
        assert_eq!(
            plan(&[endpoint, ("OTEL_SDK_DISABLED", "false")]),
            ExportPlan {
                traces: true,
                logs: true
            }
        );
    }

    #[test]
    fn signal_endpoints_and_exporter_none_select_signals() {
        assert_eq!(
            plan(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4317")]),
            ExportPlan {
                traces: true,
                logs: false
            }
        );
        assert_eq!(
            plan(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
                ("OTEL_LOGS_EXPORTER", "none")
            ]),
            ExportPlan {
                traces: true,
                logs: false
            }
        );
    }
}
