//! The telemetry of a test process, captured: finished spans (in memory),
//! JSON log lines (in a buffer, in the production format) and metrics (the
//! real Prometheus recorder), on the subscriber `telemetry::init` builds.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use kit::telemetry::{Metrics, ServiceInfo, Setup, Telemetry};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};

/// The log filter of a capture: the services' default, with debug on for
/// the test crates' own code (their `#[instrument(level = "debug")]` spans).
pub const LOG_FILTER: &str = "info,layers=debug,kit=debug";

/// A log sink the JSON formatter writes into.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a test process's telemetry emitted.
pub struct Captured {
    spans: InMemorySpanExporter,
    /// Kept for the life of the process: dropping it stops telemetry.
    _telemetry: Telemetry,
    logs: LogBuffer,
    pub metrics: Metrics,
}

impl Captured {
    /// Finished spans so far.
    pub fn spans(&self) -> Vec<SpanData> {
        // The exporter gets each span as it ends.
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

/// Starts telemetry once per process with the subscriber `telemetry::init`
/// builds, its log lines and spans captured, and returns the capture. Use it
/// instead of [`crate::start_telemetry`], not beside it: a process has one
/// subscriber.
pub fn capture() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let spans = InMemorySpanExporter::default();
        let logs = LogBuffer::default();
        let writer = logs.clone();
        let service = ServiceInfo {
            name: "test".to_owned(),
            version: "0".to_owned(),
        };
        let telemetry = Setup::new(service, LOG_FILTER)
            .log_writer(move || writer.clone())
            .span_exporter(spans.clone())
            .init()
            .unwrap();
        Captured {
            spans,
            metrics: telemetry.metrics(),
            _telemetry: telemetry,
            logs,
        }
    })
}

/// The string value of a span attribute.
pub fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}
