//! OTLP export of traces and logs: when it is on, and how the SDK
//! providers are built.
//!
//! Export is on when an OTLP endpoint is configured and `OTEL_SDK_DISABLED`
//! is not `true`. Where and how to export (protocol, endpoint, headers,
//! timeout) come from the standard `OTEL_EXPORTER_OTLP_*` variables, read
//! once by `otlp::Config` for both signals; the sampler, batch sizes, queue
//! bounds and delays are read by the SDK itself from `OTEL_TRACES_SAMPLER*`,
//! `OTEL_BSP_*` and `OTEL_BLRP_*`. Spans go out through the `otlp` crate's
//! exporter, which encodes them straight from the SDK's span data; log
//! records through `opentelemetry-otlp`'s. The batch processors run on their
//! own threads with bounded queues, so a slow or absent collector never
//! delays a request: when a queue is full, items are dropped, not waited
//! on, and counted (`sdk_metrics`).

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry_otlp::{
    LogExporter, WithExportConfig as _, WithHttpConfig as _, WithTonicConfig as _,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, SdkLoggerProvider};
use opentelemetry_sdk::trace::{
    BatchConfig, BatchConfigBuilder, BatchSpanProcessor, TracerProviderBuilder,
};
use otlp::{Config, Protocol, Signal};

use crate::Error;

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

/// Adds OTLP export to a tracer provider, through a batch processor with
/// [`batch_config`].
pub(crate) fn with_otlp_spans(
    builder: TracerProviderBuilder,
) -> Result<TracerProviderBuilder, Error> {
    let config = Config::from_env(Signal::Traces)?;
    let exporter = otlp::SpanExporter::new(&config)?;
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(batch_config(|name| std::env::var_os(name).is_some()))
        .build();
    Ok(builder.with_span_processor(processor))
}

/// The span batch processor's defaults where `OTEL_BSP_*` leaves one unset:
/// a queue of 16384 spans, batches of 2048, sent every second. With the
/// SDK's (2048, 512, 5 s) a saturated service dropped a quarter of its
/// spans at the full queue; these dropped none, at the same latency
/// (`docs/benchmarks.md`, "Batch settings"). A variable that is set wins,
/// as the SDK reads it.
fn batch_config(is_set: impl Fn(&str) -> bool) -> BatchConfig {
    let mut config = BatchConfigBuilder::default();
    if !is_set("OTEL_BSP_MAX_QUEUE_SIZE") {
        config = config.with_max_queue_size(16_384);
    }
    if !is_set("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") {
        config = config.with_max_export_batch_size(2_048);
    }
    if !is_set("OTEL_BSP_SCHEDULE_DELAY") {
        config = config.with_scheduled_delay(Duration::from_secs(1));
    }
    config.build()
}

/// The logger provider behind the tracing-to-OTLP log bridge.
pub(crate) fn logger_provider(resource: Resource) -> Result<SdkLoggerProvider, Error> {
    let config = Config::from_env(Signal::Logs)?;
    let (inner, component) = match config.protocol {
        Protocol::Grpc => {
            let metadata = tonic::metadata::MetadataMap::from_headers(
                config.headers.iter().cloned().collect(),
            );
            let exporter = LogExporter::builder()
                .with_tonic()
                .with_endpoint(config.endpoint.to_string())
                .with_timeout(config.timeout)
                .with_metadata(metadata)
                .build()?;
            (exporter, "otlp_grpc_log_exporter")
        }
        Protocol::HttpProtobuf => {
            let headers: HashMap<String, String> = config
                .headers
                .iter()
                .filter_map(|(name, value)| {
                    Some((name.to_string(), value.to_str().ok()?.to_owned()))
                })
                .collect();
            let exporter = LogExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_endpoint(config.endpoint.to_string())
                .with_timeout(config.timeout)
                .with_headers(headers)
                .with_http_client(otlp::HttpClient::new(config.timeout)?)
                .build()?;
            (exporter, "otlp_http_log_exporter")
        }
    };
    let exporter = CountedLogs {
        inner,
        exported: otlp::Exported::new("log", component),
    };
    Ok(SdkLoggerProvider::builder()
        .with_resource(resource)
        .with_batch_exporter(exporter)
        .build())
}

/// `opentelemetry-otlp`'s log exporter, counted as the span exporter counts
/// itself (`otel.sdk.exporter.log.exported`).
#[derive(Debug)]
struct CountedLogs {
    inner: LogExporter,
    exported: otlp::Exported,
}

impl opentelemetry_sdk::logs::LogExporter for CountedLogs {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let items = batch.iter().count() as u64;
        let result = self.inner.export(batch).await;
        match result {
            Ok(()) => self.exported.count(items, 0),
            Err(_) => self.exported.count(0, items),
        }
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
    fn the_batch_defaults_apply_where_no_variable_is_set() {
        let ours = format!("{:?}", batch_config(|_| false));
        for setting in [
            "max_queue_size: 16384",
            "max_export_batch_size: 2048",
            "scheduled_delay: 1s",
        ] {
            assert!(ours.contains(setting), "{setting} in {ours}");
        }
        // Where a variable is set, the SDK's reading of it stands (here,
        // unset in the test's environment: the SDK's own defaults).
        let sdk = format!("{:?}", batch_config(|_| true));
        for setting in [
            "max_queue_size: 2048",
            "max_export_batch_size: 512",
            "scheduled_delay: 5s",
        ] {
            assert!(sdk.contains(setting), "{setting} in {sdk}");
        }
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
