//! The JSON log line format: one object per event with timestamp, level,
//! target, message, the event's fields, and the `trace_id`/`span_id` of the
//! span it happened in, so a log line leads to its trace and back.
//!
//! tracing-subscriber's own JSON format cannot carry OpenTelemetry ids, which
//! live in the current OpenTelemetry context; this formatter reads them there.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime as _, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats events as single-line JSON objects.
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonFormat;

impl<S, N> FormatEvent<S, N> for JsonFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;

        let mut object = Map::new();
        object.insert("timestamp".into(), Value::String(timestamp));
        object.insert(
            "level".into(),
            Value::String(event.metadata().level().to_string()),
        );
        object.insert(
            "target".into(),
            Value::String(event.metadata().target().to_owned()),
        );
        let mut fields = FieldVisitor(Map::new());
        event.record(&mut fields);
        // The message first, for readers who scan; the other fields after.
        if let Some(message) = fields.0.remove("message") {
            object.insert("message".into(), message);
        }
        object.extend(fields.0);

        if let Some(span_context) = crate::call_span::current_span_context() {
            let (trace_id, span_id) = (span_context.trace_id(), span_context.span_id());
            object.insert("trace_id".into(), Value::String(trace_id.to_string()));
            object.insert("span_id".into(), Value::String(span_id.to_string()));
        }
        let line = serde_json::to_string(&object).map_err(|_| fmt::Error)?;
        writeln!(writer, "{line}")
    }
}

/// Collects an event's fields into a JSON map, keeping numbers and booleans
/// typed so log queries can compare them.
struct FieldVisitor(Map<String, Value>);

impl Visit for FieldVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_owned(), Value::String(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::Bool(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().to_owned(), Value::String(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::String(format!("{value:?}")));
    }
}
