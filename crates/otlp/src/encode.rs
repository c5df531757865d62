//! A batch of spans as an OTLP `ExportTraceServiceRequest`, written as
//! protobuf straight from the SDK's `SpanData`: the bytes that encoding
//! `opentelemetry-proto`'s conversion of the batch would give, without
//! building those structs first (one allocation or more per string, id and
//! attribute of every span, then dropped).
//!
//! Field numbers are the OTLP v1 protos' (`opentelemetry/proto/trace/v1`,
//! `common/v1`, `resource/v1`, `collector/trace/v1`). Protobuf lets a field
//! come in any order, and proto3 leaves out a scalar at its default; a
//! message field the conversion always sets (a span's status, a key's
//! value) is always written, even when empty. The oracle tests
//! (`tests/oracle`) decode these bytes with `opentelemetry-proto` and
//! compare them, span for span, with the conversion its own exporter runs.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

use self::values::{attributes_len, key_values_len, write_attribute, write_key_values};
use self::wire::{
    bytes_field, bytes_field_len, fixed32_field, fixed32_field_len, fixed64_field,
    fixed64_field_len, message_field_len, message_header, string_field, string_field_len,
    varint_field, varint_field_len,
};

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
    // Each span's length is needed twice (in its scope's length, and before
    // its own bytes): measure it once.
    let mut groups: Vec<(&InstrumentationScope, Vec<(&SpanData, usize)>)> = Vec::new();
    for data in spans {
        let measured = (data, span_len(data));
        match groups
            .iter_mut()
            .find(|(scope, _)| **scope == data.instrumentation_scope)
        {
            Some((_, members)) => members.push(measured),
            None => groups.push((&data.instrumentation_scope, vec![measured])),
        }
    }
    let group_lens: Vec<usize> = groups
        .iter()
        .map(|(scope, members)| {
            let spans: usize = members
                .iter()
                .map(|(_, len)| message_field_len(scope_spans::SPANS, *len))
                .sum();
            message_field_len(scope_spans::SCOPE, scope_len(scope))
                + spans
                + string_field_len(scope_spans::SCHEMA_URL, scope.schema_url().unwrap_or(""))
        })
        .collect();
    let resource_len = attributes_len(RESOURCE_ATTRIBUTES, resource.iter());
    let resource_spans_len = message_field_len(resource_spans::RESOURCE, resource_len)
        + group_lens
            .iter()
            .map(|len| message_field_len(resource_spans::SCOPE_SPANS, *len))
            .sum::<usize>()
        + string_field_len(
            resource_spans::SCHEMA_URL,
            resource.schema_url().unwrap_or(""),
        );

    buf.reserve(message_field_len(RESOURCE_SPANS, resource_spans_len));
    message_header(RESOURCE_SPANS, resource_spans_len, buf);
    message_header(resource_spans::RESOURCE, resource_len, buf);
    for (key, value) in resource.iter() {
        write_attribute(RESOURCE_ATTRIBUTES, key.as_str(), value, buf);
    }
    for ((scope, members), len) in groups.iter().zip(group_lens) {
        message_header(resource_spans::SCOPE_SPANS, len, buf);
        message_header(scope_spans::SCOPE, scope_len(scope), buf);
        write_scope(scope, buf);
        for (data, len) in members {
            message_header(scope_spans::SPANS, *len, buf);
            write_span(data, buf);
        }
        string_field(
            scope_spans::SCHEMA_URL,
            scope.schema_url().unwrap_or(""),
            buf,
        );
    }
    string_field(
        resource_spans::SCHEMA_URL,
        resource.schema_url().unwrap_or(""),
        buf,
    );
}

fn scope_len(scope: &InstrumentationScope) -> usize {
    string_field_len(scope::NAME, scope.name())
        + string_field_len(scope::VERSION, scope.version().unwrap_or(""))
        + attributes_len(
            scope::ATTRIBUTES,
            scope.attributes().map(|kv| (&kv.key, &kv.value)),
        )
}

fn write_scope(scope: &InstrumentationScope, buf: &mut Vec<u8>) {
    string_field(scope::NAME, scope.name(), buf);
    string_field(scope::VERSION, scope.version().unwrap_or(""), buf);
    write_key_values(scope::ATTRIBUTES, scope.attributes(), buf);
}

fn span_len(data: &SpanData) -> usize {
    let context = &data.span_context;
    let events = &data.events;
    let links = &data.links;
    ids_len(span::TRACE_ID, span::SPAN_ID)
        + string_field_len(span::TRACE_STATE, &context.trace_state().header())
        + parent_len(data.parent_span_id)
        + string_field_len(span::NAME, &data.name)
        + varint_field_len(span::KIND, kind(&data.span_kind))
        + fixed64_field_len(span::START_TIME, nanos(data.start_time))
        + fixed64_field_len(span::END_TIME, nanos(data.end_time))
        + key_values_len(span::ATTRIBUTES, &data.attributes)
        + varint_field_len(
            span::DROPPED_ATTRIBUTES,
            u64::from(data.dropped_attributes_count),
        )
        + events
            .iter()
            .map(|e| message_field_len(span::EVENTS, event_len(e)))
            .sum::<usize>()
        + varint_field_len(span::DROPPED_EVENTS, u64::from(events.dropped_count))
        + links
            .iter()
            .map(|l| message_field_len(span::LINKS, link_len(l)))
            .sum::<usize>()
        + varint_field_len(span::DROPPED_LINKS, u64::from(links.dropped_count))
        + message_field_len(span::STATUS, status_len(&data.status))
        + fixed32_field_len(span::FLAGS, flags(context, data.parent_span_is_remote))
}

fn write_span(data: &SpanData, buf: &mut Vec<u8>) {
    let context = &data.span_context;
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
    varint_field(
        span::DROPPED_ATTRIBUTES,
        u64::from(data.dropped_attributes_count),
        buf,
    );
    for e in data.events.iter() {
        message_header(span::EVENTS, event_len(e), buf);
        fixed64_field(event::TIME, nanos(e.timestamp), buf);
        string_field(event::NAME, &e.name, buf);
        write_key_values(event::ATTRIBUTES, &e.attributes, buf);
        varint_field(
            event::DROPPED_ATTRIBUTES,
            u64::from(e.dropped_attributes_count),
            buf,
        );
    }
    varint_field(
        span::DROPPED_EVENTS,
        u64::from(data.events.dropped_count),
        buf,
    );
    for l in data.links.iter() {
        message_header(span::LINKS, link_len(l), buf);
        let linked = &l.span_context;
        bytes_field(link::TRACE_ID, &linked.trace_id().to_bytes(), buf);
        bytes_field(link::SPAN_ID, &linked.span_id().to_bytes(), buf);
        string_field(link::TRACE_STATE, &linked.trace_state().header(), buf);
        write_key_values(link::ATTRIBUTES, &l.attributes, buf);
        varint_field(
            link::DROPPED_ATTRIBUTES,
            u64::from(l.dropped_attributes_count),
            buf,
        );
        fixed32_field(link::FLAGS, flags(linked, linked.is_remote()), buf);
    }
    varint_field(
        span::DROPPED_LINKS,
        u64::from(data.links.dropped_count),
        buf,
    );
    message_header(span::STATUS, status_len(&data.status), buf);
    let (code, message) = status_parts(&data.status);
    string_field(status::MESSAGE, message, buf);
    varint_field(status::CODE, code, buf);
    fixed32_field(span::FLAGS, flags(context, data.parent_span_is_remote), buf);
}

/// A trace id and a span id, always written in full (even all zeros).
fn ids_len(trace_tag: u32, span_tag: u32) -> usize {
    bytes_field_len(trace_tag, 16) + bytes_field_len(span_tag, 8)
}

fn parent_len(parent: SpanId) -> usize {
    if parent == SpanId::INVALID {
        0
    } else {
        bytes_field_len(span::PARENT_SPAN_ID, 8)
    }
}

fn event_len(e: &opentelemetry::trace::Event) -> usize {
    fixed64_field_len(event::TIME, nanos(e.timestamp))
        + string_field_len(event::NAME, &e.name)
        + key_values_len(event::ATTRIBUTES, &e.attributes)
        + varint_field_len(
            event::DROPPED_ATTRIBUTES,
            u64::from(e.dropped_attributes_count),
        )
}

fn link_len(l: &opentelemetry::trace::Link) -> usize {
    let linked = &l.span_context;
    ids_len(link::TRACE_ID, link::SPAN_ID)
        + string_field_len(link::TRACE_STATE, &linked.trace_state().header())
        + key_values_len(link::ATTRIBUTES, &l.attributes)
        + varint_field_len(
            link::DROPPED_ATTRIBUTES,
            u64::from(l.dropped_attributes_count),
        )
        + fixed32_field_len(link::FLAGS, flags(linked, linked.is_remote()))
}

/// The status code (Unset 0, Ok 1, Error 2) and message (an error's only).
fn status_parts(status: &Status) -> (u64, &str) {
    match status {
        Status::Unset => (0, ""),
        Status::Ok => (1, ""),
        Status::Error { description } => (2, description),
    }
}

fn status_len(status: &Status) -> usize {
    let (code, message) = status_parts(status);
    string_field_len(status::MESSAGE, message) + varint_field_len(status::CODE, code)
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
