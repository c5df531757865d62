//! OTLP export of traces and logs: when it is on, how the SDK providers are
//! built, and the counting of what the exporters deliver or fail to.
//!
//! Export is on when an OTLP endpoint is configured and `OTEL_SDK_DISABLED`
//! is not `true`. Everything else (protocol, sampler, batch sizes, queue
//! bounds, timeouts) is read by the OpenTelemetry SDK itself from the
//! standard `OTEL_*` variables. The batch processors run on their own threads
//! with bounded queues, so a slow or absent collector never delays a request:
//! when a queue is full, spans are dropped, not waited on, and counted
//! (`sdk_metrics`).

use std::time::Duration;

use opentelemetry::metrics::BoundCounter;
use opentelemetry::{KeyValue, global};
use opentelemetry_otlp::{ExporterBuildError, LogExporter, SpanExporter};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, SdkLoggerProvider};
use opentelemetry_sdk::trace::{SpanData, TracerProviderBuilder};

use opentelemetry_semantic_conventions::attribute::{
    ERROR_TYPE, OTEL_COMPONENT_NAME, OTEL_COMPONENT_TYPE,
};

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
    let exporter = Counted {
        inner: SpanExporter::builder().build()?,
        exported: Exported::new("span", "otlp_grpc_span_exporter"),
    };
    Ok(builder.with_batch_exporter(exporter))
}

/// The logger provider behind the tracing-to-OTLP log bridge.
pub(crate) fn logger_provider(resource: Resource) -> Result<SdkLoggerProvider, ExporterBuildError> {
    let exporter = Counted {
        inner: LogExporter::builder().build()?,
        exported: Exported::new("log", "otlp_grpc_log_exporter"),
    };
    Ok(SdkLoggerProvider::builder()
        .with_resource(resource)
        .with_batch_exporter(exporter)
        .build())
}

/// The semconv SDK self-metric `otel.sdk.exporter.{span,log}.exported` of
/// one exporter: items it delivered, and with `error.type` those it failed
/// to. It is recorded on the global meter provider beside the SDK's own
/// counts (`sdk_metrics`), and reaches `/metrics` with them.
#[derive(Debug)]
struct Exported {
    delivered: BoundCounter<u64>,
    failed: BoundCounter<u64>,
}

impl Exported {
    fn new(signal: &str, component_type: &'static str) -> Exported {
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

    fn count(&self, items: usize, result: &OTelSdkResult) {
        match result {
            Ok(()) => self.delivered.add(items as u64),
            Err(_) => self.failed.add(items as u64),
        }
    }
}

/// An exporter, counted.
#[derive(Debug)]
struct Counted<E> {
    inner: E,
    exported: Exported,
}

impl<E: opentelemetry_sdk::trace::SpanExporter> opentelemetry_sdk::trace::SpanExporter
    for Counted<E>
{
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let items = batch.len();
        let result = self.inner.export(batch).await;
        self.exported.count(items, &result);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: opentelemetry_sdk::logs::LogExporter> opentelemetry_sdk::logs::LogExporter for Counted<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let items = batch.iter().count();
        let result = self.inner.export(batch).await;
        self.exported.count(items, &result);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
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
