//! The exporter against real OTLP receivers: testkit's, on
//! `opentelemetry-proto`'s types, over gRPC and over HTTP.

use opentelemetry_sdk::trace::SpanExporter as _;
use otlp::{Config, Signal, SpanExporter};
use testkit::otlp::OtlpReceiver;

use crate::spans;

/// Exports every shape of span to `receiver` with the protocol `protocol`
/// names, and checks every span arrived with its resource.
async fn every_shape_arrives(receiver: &OtlpReceiver, protocol: &str) {
    let endpoint = receiver.endpoint();
    let config = Config::from_lookup(Signal::Traces, |name| match name {
        "OTEL_EXPORTER_OTLP_PROTOCOL" => Some(protocol.to_owned()),
        "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(endpoint.clone()),
        _ => None,
    })
    .unwrap();
    let mut exporter = SpanExporter::new(&config).unwrap();
    exporter.set_resource(&spans::resource());
    let batch = spans::every_shape();
    // The SDK's batch thread awaits exports outside the runtime; so does this.
    let result =
        tokio::task::spawn_blocking(move || futures_executor::block_on(exporter.export(batch)))
            .await
            .unwrap();
    result.unwrap();

    let received = receiver.spans();
    let expected = spans::every_shape();
    assert_eq!(received.len(), expected.len(), "{received:#?}");
    for (got, sent) in received.iter().zip(&expected) {
        assert_eq!(got.name, sent.name);
        assert_eq!(got.service_name, "recommendations");
        assert_eq!(got.attributes.len(), sent.attributes.len(), "{}", got.name);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_otlp_grpc_receiver_takes_every_span() {
    let receiver = OtlpReceiver::start().await;
    every_shape_arrives(&receiver, "grpc").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_otlp_http_receiver_takes_every_span() {
    let receiver = OtlpReceiver::start_http().await;
    every_shape_arrives(&receiver, "http/protobuf").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_that_is_not_there_fails_the_export_within_its_timeout() {
    // A port nothing listens on: connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for protocol in ["grpc", "http/protobuf"] {
        let config = Config::from_lookup(Signal::Traces, |name| match name {
            "OTEL_EXPORTER_OTLP_PROTOCOL" => Some(protocol.to_owned()),
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(format!("http://127.0.0.1:{port}")),
            "OTEL_EXPORTER_OTLP_TIMEOUT" => Some("2000".to_owned()),
            _ => None,
        })
        .unwrap();
        let exporter = SpanExporter::new(&config).unwrap();
        let started = std::time::Instant::now();
        let result = tokio::task::spawn_blocking(move || {
            futures_executor::block_on(exporter.export(spans::every_shape()))
        })
        .await
        .unwrap();
        assert!(result.is_err(), "{protocol}: {result:?}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{protocol}"
        );
    }
}
