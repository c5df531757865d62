//! Spans to encode: one of every shape the SDK can hand an exporter, spans
//! from several scopes, and random batches.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng as _};

/// A service's resource, with attributes of several types.
pub fn resource() -> Resource {
    Resource::builder_empty()
        .with_attributes([
            KeyValue::new("service.name", "recommendations"),
            KeyValue::new("service.version", "0.1.0"),
            KeyValue::new(
                "service.instance.id",
                "7f6c3c4e-0d3c-4b8a-9c4e-2f1d0a9b8c7d",
            ),
            KeyValue::new("process.pid", 4242),
            KeyValue::new("host.arch.is_64", true),
        ])
        .build()
}

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("telemetry")
        .with_version("0.1.0")
        .with_schema_url("https://opentelemetry.io/schemas/1.38.0")
        .build()
}

fn context(trace: u128, span: u64, flags: TraceFlags, remote: bool, state: &str) -> SpanContext {
    SpanContext::new(
        TraceId::from(trace),
        SpanId::from(span),
        flags,
        remote,
        state.parse::<TraceState>().unwrap(),
    )
}

/// A span with nothing but ids, for the others to change.
fn plain(name: &'static str) -> SpanData {
    SpanData {
        span_context: context(1, 2, TraceFlags::SAMPLED, false, ""),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: Cow::Borrowed(name),
        start_time: UNIX_EPOCH + Duration::from_nanos(1_733_000_000_123_456_789),
        end_time: UNIX_EPOCH + Duration::from_nanos(1_733_000_000_223_456_789),
        attributes: Vec::new(),
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: scope(),
    }
}

/// An attribute of every type and edge of one.
fn every_attribute() -> Vec<KeyValue> {
    vec![
        KeyValue::new("bool.true", true),
        KeyValue::new("bool.false", false),
        KeyValue::new("int.zero", 0),
        KeyValue::new("int.negative", -42),
        KeyValue::new("int.min", i64::MIN),
        KeyValue::new("int.max", i64::MAX),
        KeyValue::new("double.zero", 0.0),
        KeyValue::new("double.negative", -1.5),
        KeyValue::new("double.infinite", f64::INFINITY),
        KeyValue::new("string.empty", ""),
        KeyValue::new("string.non_ascii", "Ünïcödé 日本語 🚀"),
        KeyValue::new("", "an empty key"),
        KeyValue::new("array.bool", Value::Array(Array::Bool(vec![true, false]))),
        KeyValue::new("array.int", Value::Array(Array::I64(vec![0, -1, i64::MAX]))),
        KeyValue::new("array.double", Value::Array(Array::F64(vec![0.5, -0.0]))),
        KeyValue::new(
            "array.string",
            Value::Array(Array::String(vec![
                StringValue::from(""),
                StringValue::from("ü"),
            ])),
        ),
        KeyValue::new("array.empty", Value::Array(Array::I64(Vec::new()))),
        KeyValue::new("string.long", "x".repeat(300)),
    ]
}

/// One span of every shape: each kind and status, remote and local
/// parents, trace state, events and links with attributes, dropped counts,
/// times at the epoch, an unsampled context, names empty and not.
pub fn every_shape() -> Vec<SpanData> {
    let mut spans = Vec::new();
    spans.push(plain(""));
    for (kind, name) in [
        (
            SpanKind::Server,
            "recommendations.v1.RecommendationsService/Recommend",
        ),
        (SpanKind::Client, "GET /"),
        (SpanKind::Producer, "publish"),
        (SpanKind::Consumer, "consume"),
    ] {
        let mut span = plain(name);
        span.span_kind = kind;
        spans.push(span);
    }

    let mut remote_child = plain("under a remote parent");
    remote_child.span_context = context(
        u128::MAX,
        u64::MAX,
        TraceFlags::SAMPLED,
        false,
        "vendor=value,other=x",
    );
    remote_child.parent_span_id = SpanId::from(7);
    remote_child.parent_span_is_remote = true;
    remote_child.attributes = every_attribute();
    remote_child.dropped_attributes_count = 3;
    spans.push(remote_child);

    let mut local_child = plain("under a local parent");
    local_child.parent_span_id = SpanId::from(9);
    local_child.span_context = context(5, 6, TraceFlags::default(), false, "");
    local_child.status = Status::Ok;
    spans.push(local_child);

    let mut failed = plain("failed");
    failed.status = Status::error("the deadline passed — échec");
    spans.push(failed);

    let mut failed_quietly = plain("failed without a message");
    failed_quietly.status = Status::error("");
    spans.push(failed_quietly);

    let mut eventful = plain("with events and links");
    eventful.events.events = vec![
        Event::new(
            "retry",
            UNIX_EPOCH + Duration::from_secs(1_733_000_000),
            every_attribute(),
            1,
        ),
        Event::new("", UNIX_EPOCH, Vec::new(), 0),
    ];
    eventful.events.dropped_count = 4;
    eventful.links.links = vec![
        Link::new(
            context(11, 12, TraceFlags::SAMPLED, true, "k=v"),
            vec![KeyValue::new("link.kind", "follows")],
            2,
        ),
        Link::new(
            context(13, 14, TraceFlags::default(), false, ""),
            Vec::new(),
            0,
        ),
    ];
    eventful.links.dropped_count = 5;
    spans.push(eventful);

    let mut at_the_epoch = plain("at the epoch");
    at_the_epoch.start_time = UNIX_EPOCH;
    at_the_epoch.end_time = UNIX_EPOCH;
    spans.push(at_the_epoch);

    let mut before_the_epoch = plain("before the epoch");
    before_the_epoch.start_time = UNIX_EPOCH - Duration::from_secs(1);
    spans.push(before_the_epoch);

    let mut invalid_ids = plain("with invalid ids");
    invalid_ids.span_context = SpanContext::empty_context();
    spans.push(invalid_ids);
    spans
}

/// Spans from three scopes, interleaved: one with a version, schema URL and
/// attributes, one with a name alone, and the first again.
pub fn from_interleaved_scopes() -> Vec<SpanData> {
    let scopes = [
        InstrumentationScope::builder("telemetry")
            .with_version("0.1.0")
            .with_schema_url("https://opentelemetry.io/schemas/1.38.0")
            .with_attributes([KeyValue::new("scope.attr", 1)])
            .build(),
        InstrumentationScope::builder("recommendations").build(),
        InstrumentationScope::builder("").build(),
    ];
    [0, 1, 0, 2, 1, 0]
        .into_iter()
        .enumerate()
        .map(|(i, scope)| {
            let mut span = plain("scoped");
            span.span_context =
                context(i as u128 + 1, i as u64 + 1, TraceFlags::SAMPLED, false, "");
            span.instrumentation_scope = scopes[scope].clone();
            span
        })
        .collect()
}

/// A random batch: the seed picks how many spans, and each span's ids,
/// times, kind, status, attributes, events and links.
pub fn random_batch(seed: u64) -> Vec<SpanData> {
    let mut rng = StdRng::seed_from_u64(seed);
    let scopes = [scope(), InstrumentationScope::builder("other").build()];
    let count = rng.random_range(1..20);
    (0..count)
        .map(|_| {
            let mut span = plain("random");
            span.span_context = context(
                rng.random(),
                rng.random(),
                TraceFlags::new(rng.random_range(0..2)),
                rng.random_bool(0.5),
                if rng.random_bool(0.2) { "a=1" } else { "" },
            );
            span.parent_span_id = SpanId::from(rng.random_range(0..3u64));
            span.parent_span_is_remote = rng.random_bool(0.5);
            span.span_kind = [SpanKind::Internal, SpanKind::Server, SpanKind::Client]
                [rng.random_range(0..3)]
            .clone();
            span.name = Cow::Owned("span".repeat(rng.random_range(0..40)));
            let start = rng.random_range(0..u64::from(u32::MAX)) * 1_000_000;
            span.start_time = UNIX_EPOCH + Duration::from_nanos(start);
            span.end_time =
                span.start_time + Duration::from_nanos(rng.random_range(0..1_000_000_000));
            span.status = match rng.random_range(0..3) {
                0 => Status::Unset,
                1 => Status::Ok,
                _ => Status::error("x".repeat(rng.random_range(0..200))),
            };
            span.attributes = (0..rng.random_range(0..12))
                .map(|i| random_attribute(&mut rng, i))
                .collect();
            span.dropped_attributes_count = rng.random_range(0..3);
            for _ in 0..rng.random_range(0..3) {
                let attributes = (0..rng.random_range(0..3))
                    .map(|i| random_attribute(&mut rng, i))
                    .collect();
                span.events.events.push(Event::new(
                    "event",
                    SystemTime::UNIX_EPOCH + Duration::from_millis(rng.random_range(0..1u64 << 40)),
                    attributes,
                    0,
                ));
            }
            for _ in 0..rng.random_range(0..2) {
                span.links.links.push(Link::new(
                    context(
                        rng.random(),
                        rng.random(),
                        TraceFlags::SAMPLED,
                        rng.random_bool(0.5),
                        "",
                    ),
                    vec![random_attribute(&mut rng, 0)],
                    rng.random_range(0..2),
                ));
            }
            span.instrumentation_scope = scopes[rng.random_range(0..2)].clone();
            span
        })
        .collect()
}

fn random_attribute(rng: &mut StdRng, index: usize) -> KeyValue {
    let key = format!("key.{index}.{}", "k".repeat(rng.random_range(0..150)));
    let value = match rng.random_range(0..6) {
        0 => Value::Bool(rng.random_bool(0.5)),
        1 => Value::I64(rng.random()),
        2 => Value::F64(rng.random_range(-1e9..1e9)),
        3 => Value::String("é".repeat(rng.random_range(0..100)).into()),
        4 => Value::Array(Array::I64(
            (0..rng.random_range(0..5)).map(|_| rng.random()).collect(),
        )),
        _ => Value::Array(Array::String(
            (0..rng.random_range(0..5))
                .map(|_| StringValue::from("v".repeat(rng.random_range(0..10))))
                .collect(),
        )),
    };
    KeyValue::new(key, value)
}
