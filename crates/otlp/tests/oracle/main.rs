//! The encoder held to the upstream conversion: each batch is encoded by
//! `otlp::encode_export_request`, decoded with `opentelemetry-proto`, and
//! compared, span for span and attribute for attribute, with what
//! `opentelemetry-proto`'s own conversion (the one `opentelemetry-otlp`'s
//! exporter runs) makes of the same batch. Then the exporter sends to real
//! OTLP receivers, over gRPC and over HTTP.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Items here are `pub` for the test modules, not for export.
#![allow(unreachable_pub)]

mod receivers;
mod spans;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;
use prost::Message as _;

/// Encodes `spans` and checks the decoded request against the upstream
/// conversion, naming the first span that differs.
fn assert_encodes_as_upstream(resource: &Resource, spans: &[SpanData]) {
    let mut bytes = Vec::new();
    otlp::encode_export_request(resource, spans, &mut bytes);
    let ours = ExportTraceServiceRequest::decode(bytes.as_slice())
        .unwrap_or_else(|e| panic!("not a valid ExportTraceServiceRequest: {e}"));
    let upstream = ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(
            spans.to_vec(),
            &ResourceAttributesWithSchema::from(resource),
        ),
    };
    if ours == upstream {
        return;
    }
    // Point at the difference before dumping everything.
    for (ours, upstream) in ours.resource_spans.iter().zip(&upstream.resource_spans) {
        assert_eq!(ours.resource, upstream.resource, "the resource differs");
        assert_eq!(
            ours.schema_url, upstream.schema_url,
            "the resource schema URL differs"
        );
        for (ours, upstream) in ours.scope_spans.iter().zip(&upstream.scope_spans) {
            assert_eq!(ours.scope, upstream.scope, "a scope differs");
            assert_eq!(
                ours.schema_url, upstream.schema_url,
                "a scope schema URL differs"
            );
            for (ours, upstream) in ours.spans.iter().zip(&upstream.spans) {
                assert_eq!(ours, upstream, "span {:?} differs", upstream.name);
            }
        }
    }
    assert_eq!(ours, upstream);
}

#[test]
fn spans_of_every_shape_encode_as_the_upstream_conversion_does() {
    let resource = spans::resource();
    for span in spans::every_shape() {
        assert_encodes_as_upstream(&resource, std::slice::from_ref(&span));
    }
    assert_encodes_as_upstream(&resource, &spans::every_shape());
}

#[test]
fn spans_of_several_scopes_are_grouped_in_the_order_each_first_appears() {
    assert_encodes_as_upstream(&spans::resource(), &spans::from_interleaved_scopes());
}

#[test]
fn an_empty_resource_and_a_resource_with_a_schema_encode_alike() {
    let spans = spans::every_shape();
    assert_encodes_as_upstream(&Resource::builder_empty().build(), &spans);
    let with_schema = Resource::builder_empty()
        .with_schema_url(
            [opentelemetry::KeyValue::new("service.name", "schema")],
            "https://opentelemetry.io/schemas/1.38.0",
        )
        .build();
    assert_encodes_as_upstream(&with_schema, &spans);
}

#[test]
fn random_batches_encode_as_the_upstream_conversion_does() {
    let resource = spans::resource();
    for seed in 0..300 {
        assert_encodes_as_upstream(&resource, &spans::random_batch(seed));
    }
}
