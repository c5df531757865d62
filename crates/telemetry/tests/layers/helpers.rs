//! Captures everything the layers emit: finished spans (in memory), JSON log
//! lines (in a buffer, in the production format) and metrics (the real
//! Prometheus recorder).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use telemetry::{JsonFormat, Metrics, ServiceInfo};
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// A log sink the JSON formatter writes into.
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub struct Captured {
    spans: InMemorySpanExporter,
    provider: SdkTracerProvider,
    logs: LogBuffer,
    pub metrics: Metrics,
}

impl Captured {
    /// Finished spans so far.
    pub fn spans(&self) -> Vec<SpanData> {
        let _ = self.provider.force_flush();
        self.spans.get_finished_spans().unwrap()
    }

    /// JSON log lines so far, parsed.
    pub fn logs(&self) -> Vec<serde_json::Value> {
        let bytes = self.logs.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// Log lines with this message.
    pub fn logs_with_message(&self, message: &str) -> Vec<serde_json::Value> {
        self.logs()
            .into_iter()
            .filter(|l| l["message"] == message)
            .collect()
    }
}

/// Installs the capture once per process and returns it.
pub fn capture() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let spans = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(spans.clone())
            .build();
        // The layers take their tracer from this provider, as
        // `telemetry::init` installs it.
        telemetry::install_tracer_provider(&provider);
        let logs = LogBuffer::default();
        let writer = logs.clone();
        tracing_subscriber::registry()
            // INFO and above, as `telemetry::init` installs it.
            .with(
                tracing_opentelemetry::layer()
                    .with_tracer(provider.tracer("test"))
                    .with_filter(tracing_subscriber::filter::LevelFilter::INFO),
            )
            .with(
                tracing_subscriber::fmt::layer()
                    .event_format(JsonFormat)
                    .with_writer(move || writer.clone()),
            )
            .init();
        let metrics = Metrics::install(&ServiceInfo {
            name: "layer-tests".to_owned(),
            version: "0".to_owned(),
        })
        .unwrap();
        Captured {
            spans,
            provider,
            logs,
            metrics,
        }
    })
}

pub use testkit::http::sample;

/// The string value of a span attribute.
pub fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}
