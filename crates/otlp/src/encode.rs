//! A batch of spans as an OTLP `ExportTraceServiceRequest`, written as
//! protobuf straight from the SDK's `SpanData`: the bytes that encoding
//! `opentelemetry-proto`'s conversion of the batch would give, without
//! building those structs first (one allocation or more per string, id and
//! attribute of every span, then dropped).
//!
//! Each message is written in one pass, and its length, which protobuf puts
//! before it, is filled in after (`wire::nested`). Field numbers are the
//! OTLP v1 protos' (`opentelemetry/proto/trace/v1`, `common/v1`,
//! `resource/v1`, `collector/trace/v1`). Protobuf lets a field come in any
//! order, and proto3 leaves out a scalar at its default; a message field the
//! conversion always sets (a span's status, a key's value) is always
//! written, even when empty. The oracle tests (`tests/oracle`) decode these
//! bytes with `opentelemetry-proto` and compare them, span for span, with the
//! conversion its own exporter runs.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

use self::values::{write_attribute, write_key_values};
use self::wire::{
    bytes_field, fixed32_field, fixed64_field, nested, nested_sized, string_field, varint_field,
};

/// Bytes kept for the length of a span (most are 128 bytes to 16 KiB) and
/// of a batch's outer messages (up to 2 MiB).
const SPAN_LENGTH_BYTES: usize = 2;
const BATCH_LENGTH_BYTES: usize = 3;

mod values;
mod wire;

/// `ExportTraceServiceRequest.resource_spans`.
const RESOURCE_SPANS: u32 = 1;

/// `ResourceSpans` fields.
mod resource_spans {
    pub(super) const RESOURCE: u32 = 1;
    pub(super) const SCOPE_SPANS: u32 = 2;
    pub(super) const SCHEMA_URL: u32 = 3;
}

/// `Resource.attributes`.
const RESOURCE_ATTRIBUTES: u32 = 1;

/// `ScopeSpans` fields.
mod scope_spans {
    pub(super) const SCOPE: u32 = 1;
    pub(super) const SPANS: u32 = 2;
    pub(super) const SCHEMA_URL: u32 = 3;
}

/// `InstrumentationScope` fields.
mod scope {
    pub(super) const NAME: u32 = 1;
    pub(super) const VERSION: u32 = 2;
    pub(super) const ATTRIBUTES: u32 = 3;
}

/// `Span` fields.
mod span {
    pub(super) const TRACE_ID: u32 = 1;
    pub(super) const SPAN_ID: u32 = 2;
    pub(super) const TRACE_STATE: u32 = 3;
    pub(super) const PARENT_SPAN_ID: u32 = 4;
    pub(super) const NAME: u32 = 5;
    pub(super) const KIND: u32 = 6;
    pub(super) const START_TIME: u32 = 7;
    pub(super) const END_TIME: u32 = 8;
    pub(super) const ATTRIBUTES: u32 = 9;
    pub(super) const DROPPED_ATTRIBUTES: u32 = 10;
    pub(super) const EVENTS: u32 = 11;
    pub(super) const DROPPED_EVENTS: u32 = 12;
    pub(super) const LINKS: u32 = 13;
    pub(super) const DROPPED_LINKS: u32 = 14;
    pub(super) const STATUS: u32 = 15;
    pub(super) const FLAGS: u32 = 16;
}

/// `Span.Event` fields.
mod event {
    pub(super) const TIME: u32 = 1;
    pub(super) const NAME: u32 = 2;
    pub(super) const ATTRIBUTES: u32 = 3;
    pub(super) const DROPPED_ATTRIBUTES: u32 = 4;
}

/// `Span.Link` fields.
mod link {
    pub(super) const TRACE_ID: u32 = 1;
    pub(super) const SPAN_ID: u32 = 2;
    pub(super) const TRACE_STATE: u32 = 3;
    pub(super) const ATTRIBUTES: u32 = 4;
    pub(super) const DROPPED_ATTRIBUTES: u32 = 5;
    pub(super) const FLAGS: u32 = 6;
}

/// `Status` fields.
mod status {
    pub(super) const MESSAGE: u32 = 2;
    pub(super) const CODE: u32 = 3;
}

/// `SpanFlags`: the parent's remoteness is known, and whether it is remote.
const CONTEXT_HAS_IS_REMOTE: u32 = 0x100;
const CONTEXT_IS_REMOTE: u32 = 0x200;

/// Appends the `ExportTraceServiceRequest` of `spans`, all from the process
/// `resource` describes, to `buf`. Spans are grouped by instrumentation
/// scope, in the order each scope first appears, as the upstream exporter
/// groups them.
pub fn encode_export_request(resource: &Resource, spans: &[SpanData], buf: &mut Vec<u8>) {
    let mut groups: Vec<(&InstrumentationScope, Vec<&SpanData>)> = Vec::new();
    for data in spans {
        let scope = &data.instrumentation_scope;
        match groups.iter_mut().find(|(known, _)| *known == scope) {
            Some((_, members)) => members.push(data),
            None => groups.push((scope, vec![data])),
        }
    }
    nested_sized(RESOURCE_SPANS, BATCH_LENGTH_BYTES, buf, |buf| {
        nested(resource_spans::RESOURCE, buf, |buf| {
            for (key, value) in resource.iter() {
                write_attribute(RESOURCE_ATTRIBUTES, key.as_str(), value, buf);
            }
        });
        for (scope, members) in &groups {
            nested_sized(
                resource_spans::SCOPE_SPANS,
                BATCH_LENGTH_BYTES,
                buf,
                |buf| {
                    nested(scope_spans::SCOPE, buf, |buf| write_scope(scope, buf));
                    for data in members {
                        nested_sized(scope_spans::SPANS, SPAN_LENGTH_BYTES, buf, |buf| {
                            write_span(data, buf);
                        });
                    }
                    let schema_url = scope.schema_url().unwrap_or("");
                    string_field(scope_spans::SCHEMA_URL, schema_url, buf);
                },
            );
        }
        let schema_url = resource.schema_url().unwrap_or("");
        string_field(resource_spans::SCHEMA_URL, schema_url, buf);
    });
}

fn write_scope(scope: &InstrumentationScope, buf: &mut Vec<u8>) {
    string_field(scope::NAME, scope.name(), buf);
    string_field(scope::VERSION, scope.version().unwrap_or(""), buf);
    write_key_values(scope::ATTRIBUTES, scope.attributes(), buf);
}

fn write_span(data: &SpanData, buf: &mut Vec<u8>) {
    let context = &data.span_context;
    // Ids are written in full, even when invalid (all zeros), as the
    // conversion does.
    bytes_field(span::TRACE_ID, &context.trace_id().to_bytes(), buf);
    bytes_field(span::SPAN_ID, &context.span_id().to_bytes(), buf);
    string_field(span::TRACE_STATE, &context.trace_state().header(), buf);
    if data.parent_span_id != SpanId::INVALID {
        bytes_field(span::PARENT_SPAN_ID, &data.parent_span_id.to_bytes(), buf);
    }
    string_field(span::NAME, &data.name, buf);
    varint_field(span::KIND, kind(&data.span_kind), buf);
    fixed64_field(span::START_TIME, nanos(data.start_time), buf);
    fixed64_field(span::END_TIME, nanos(data.end_time), buf);
    write_key_values(span::ATTRIBUTES, &data.attributes, buf);
    let dropped = data.dropped_attributes_count;
    varint_field(span::DROPPED_ATTRIBUTES, u64::from(dropped), buf);
    for e in data.events.iter() {
        nested(span::EVENTS, buf, |buf| {
            fixed64_field(event::TIME, nanos(e.timestamp), buf);
            string_field(event::NAME, &e.name, buf);
            write_key_values(event::ATTRIBUTES, &e.attributes, buf);
            let dropped = e.dropped_attributes_count;
            varint_field(event::DROPPED_ATTRIBUTES, u64::from(dropped), buf);
        });
    }
    let dropped = data.events.dropped_count;
    varint_field(span::DROPPED_EVENTS, u64::from(dropped), buf);
    for l in data.links.iter() {
        nested(span::LINKS, buf, |buf| {
            let linked = &l.span_context;
            bytes_field(link::TRACE_ID, &linked.trace_id().to_bytes(), buf);
            bytes_field(link::SPAN_ID, &linked.span_id().to_bytes(), buf);
            string_field(link::TRACE_STATE, &linked.trace_state().header(), buf);
            write_key_values(link::ATTRIBUTES, &l.attributes, buf);
            let dropped = l.dropped_attributes_count;
            varint_field(link::DROPPED_ATTRIBUTES, u64::from(dropped), buf);
            fixed32_field(link::FLAGS, flags(linked, linked.is_remote()), buf);
        });
    }
    let dropped = data.links.dropped_count;
    varint_field(span::DROPPED_LINKS, u64::from(dropped), buf);
    nested(span::STATUS, buf, |buf| {
        let (code, message) = status_parts(&data.status);
        string_field(status::MESSAGE, message, buf);
        varint_field(status::CODE, code, buf);
    });
    let flags = flags(context, data.parent_span_is_remote);
    fixed32_field(span::FLAGS, flags, buf);
}

/// The status code (Unset 0, Ok 1, Error 2) and message (an error's only).
fn status_parts(status: &Status) -> (u64, &str) {
    match status {
        Status::Unset => (0, ""),
        Status::Ok => (1, ""),
        Status::Error { description } => (2, description),
    }
}

/// `SpanKind` as the proto numbers it (0, unspecified, is never sent).
fn kind(kind: &SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

/// The W3C trace flags, and whether the parent (or linked span) is remote.
fn flags(context: &SpanContext, is_remote: bool) -> u32 {
    let remote = if is_remote { CONTEXT_IS_REMOTE } else { 0 };
    u32::from(context.trace_flags().to_u8()) | CONTEXT_HAS_IS_REMOTE | remote
}

/// Nanoseconds since the Unix epoch; 0 for a time before it.
fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}
