//! Encodes batches of spans shaped like the gRPC server layer's with
//! `otlp::encode_export_request`, for counting its instructions per span
//! under callgrind, apart from everything else a service does:
//!
//!     valgrind --tool=callgrind --toggle-collect='otlp::encode::*' \
//!       target/release/encode-spans 512 200
//!
//! then divide the total by batch size times batches.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

fn server_span(i: u64) -> SpanData {
    let start = SystemTime::now();
    SpanData {
        span_context: SpanContext::new(
            TraceId::from(u128::from(i) << 64 | 0x4bf9_2f35),
            SpanId::from(i + 1),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::from(i + 2),
        parent_span_is_remote: true,
        span_kind: SpanKind::Server,
        name: Cow::Owned("recommendations.v1.RecommendationsService/Recommend".to_owned()),
        start_time: start,
        end_time: start + Duration::from_micros(40),
        attributes: vec![
            KeyValue::new("rpc.system.name", "grpc"),
            KeyValue::new(
                "rpc.method",
                "recommendations.v1.RecommendationsService/Recommend",
            ),
            KeyValue::new("rpc.response.status_code", "OK"),
        ],
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: InstrumentationScope::builder("telemetry")
            .with_version("0.1.0")
            .with_schema_url("https://opentelemetry.io/schemas/1.38.0")
            .build(),
    }
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>().unwrap_or(0));
    let (size, batches) = (args.next().unwrap_or(512), args.next().unwrap_or(100));
    let resource = Resource::builder()
        .with_service_name("recommendations")
        .build();
    let batch: Vec<SpanData> = (0..size as u64).map(server_span).collect();
    let mut bytes = 0;
    for _ in 0..batches {
        let mut buf = Vec::with_capacity(size * 256);
        otlp::encode_export_request(&resource, &batch, &mut buf);
        bytes += buf.len();
    }
    eprintln!("{batches} batches of {size} spans: {bytes} bytes");
}
