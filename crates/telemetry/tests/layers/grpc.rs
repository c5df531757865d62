//! The gRPC server and client layers around a dummy service that does what
//! each request tells it: succeed, fail with a code, or sleep.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanKind, Status};
use proto::v1::recommendations_service_client::RecommendationsServiceClient;
use proto::v1::recommendations_service_server::{
    RecommendationsService, RecommendationsServiceServer,
};
use proto::v1::{RecommendRequest, RecommendResponse};
use telemetry::{GrpcClientLayer, GrpcClientService, GrpcServerLayer};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Channel;
use tonic::{Code, Request, Response};

use testkit::http::sample;
use testkit::telemetry::{LOG_FILTER, attribute, capture};

/// What the dummy does, chosen by `user_id`; `max_results` is its argument.
const SUCCEED: i32 = 0;
const FAIL_WITH_CODE: i32 = 1;
const SLEEP_MS: i32 = 3;
const DEBUG_WORK: i32 = 4;

/// The one method the dummy serves.
const RECOMMEND: &str = "recommendations.v1.RecommendationsService/Recommend";

struct Dummy;

#[tonic::async_trait]
impl RecommendationsService for Dummy {
    async fn recommend(
        &self,
        request: Request<RecommendRequest>,
    ) -> Result<Response<RecommendResponse>, tonic::Status> {
        let request = request.into_inner();
        match request.user_id {
            FAIL_WITH_CODE => Err(tonic::Status::new(
                Code::from(request.max_results),
                "told to fail",
            )),
            SLEEP_MS => {
                tokio::time::sleep(Duration::from_millis(request.max_results as u64)).await;
                Ok(Response::new(RecommendResponse::default()))
            }
            DEBUG_WORK => {
                detail();
                Ok(Response::new(RecommendResponse::default()))
            }
            _ => Ok(Response::new(RecommendResponse::default())),
        }
    }
}

/// Work worth a span only when someone is debugging it.
#[tracing::instrument(level = "debug")]
fn detail() {}

/// Serves the dummy (and health) behind the server layer on loopback.
async fn serve_dummy() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (_, health) = tonic_health::server::health_reporter();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(GrpcServerLayer::new([RECOMMEND]).unwrap())
            .add_service(health)
            .add_service(RecommendationsServiceServer::new(Dummy))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    addr
}

async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// A client with the client layer, as the marketplace makes one.
async fn client(addr: SocketAddr) -> RecommendationsServiceClient<GrpcClientService<Channel>> {
    let service = tower::ServiceBuilder::new()
        .layer(GrpcClientLayer::new("127.0.0.1", addr.port()).unwrap())
        .service(channel(addr).await);
    RecommendationsServiceClient::new(service)
}

/// Has the dummy fail with `code`, called through the client layer, and
/// returns what the client got.
async fn call_failing_with(code: Code) -> tonic::Status {
    let addr = serve_dummy().await;
    client(addr)
        .await
        .recommend(order(FAIL_WITH_CODE, code as i32))
        .await
        .unwrap_err()
}

fn order(behaviour: i32, argument: i32) -> RecommendRequest {
    RecommendRequest {
        user_id: behaviour,
        category: 1,
        max_results: argument,
    }
}

const SERVER_COUNT: &str = "rpc_server_call_duration_seconds_count{";
const CLIENT_COUNT: &str = "rpc_client_call_duration_seconds_count{";

#[tokio::test]
async fn a_successful_call_is_measured_on_both_sides_under_one_trace() {
    let captured = capture();
    let addr = serve_dummy().await;
    client(addr)
        .await
        .recommend(order(SUCCEED, 0))
        .await
        .unwrap();

    let metrics = captured.metrics.render();
    let ok = [
        "rpc_system_name=\"grpc\"",
        "rpc_method=\"recommendations.v1.RecommendationsService/Recommend\"",
        "rpc_response_status_code=\"OK\"",
    ];
    assert_eq!(sample(&metrics, SERVER_COUNT, &ok), Some(1.0), "{metrics}");
    assert_eq!(sample(&metrics, CLIENT_COUNT, &ok), Some(1.0), "{metrics}");

    let spans = captured.spans();
    let server = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .expect("server span");
    let client = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Client)
        .expect("client span");
    assert_eq!(
        server.name,
        "recommendations.v1.RecommendationsService/Recommend"
    );
    assert_eq!(
        server.span_context.trace_id(),
        client.span_context.trace_id()
    );
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    assert_eq!(
        attribute(client, "server.address").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(
        attribute(client, "server.port"),
        Some(addr.port().to_string())
    );
    let upstream = format!("server_port=\"{}\"", addr.port());
    assert_eq!(
        sample(
            &metrics,
            CLIENT_COUNT,
            &["server_address=\"127.0.0.1\"", &upstream]
        ),
        Some(1.0),
        "{metrics}"
    );
    for span in [server, client] {
        assert_eq!(attribute(span, "rpc.system.name").as_deref(), Some("grpc"));
        assert_eq!(
            attribute(span, "rpc.method").as_deref(),
            Some("recommendations.v1.RecommendationsService/Recommend")
        );
        assert_eq!(attribute(span, "rpc.service"), None, "deprecated");
        assert_eq!(attribute(span, "rpc.method_original"), None);
    }
    assert_eq!(
        attribute(server, "rpc.response.status_code").as_deref(),
        Some("OK")
    );
    assert_eq!(server.status, Status::Unset);
    assert!(captured.logs_with_message("gRPC call failed").is_empty());
}

#[tokio::test]
async fn a_client_fault_logs_one_warning_and_only_the_client_span_is_an_error() {
    let captured = capture();
    let status = call_failing_with(Code::NotFound).await;
    assert_eq!(status.code(), Code::NotFound);

    let metrics = captured.metrics.render();
    assert_eq!(
        sample(
            &metrics,
            SERVER_COUNT,
            &["rpc_response_status_code=\"NOT_FOUND\""]
        ),
        Some(1.0)
    );
    let spans = captured.spans();
    let server = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .unwrap();
    let client = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Client)
        .unwrap();
    assert_eq!(
        server.status,
        Status::Unset,
        "NOT_FOUND is not the server's fault"
    );
    assert!(
        matches!(client.status, Status::Error { .. }),
        "{:?}",
        client.status
    );

    let server_logs: Vec<_> = captured
        .logs_with_message("gRPC call failed")
        .into_iter()
        .filter(|l| l["rpc.side"] == "server")
        .collect();
    assert_eq!(server_logs.len(), 1, "{server_logs:#?}");
    let line = &server_logs[0];
    assert_eq!(line["level"], "WARN");
    assert_eq!(line["rpc.response.status_code"], "NOT_FOUND");
    assert_eq!(line["error.message"], "told to fail");
    assert_eq!(line["trace_id"], server.span_context.trace_id().to_string());
}

#[tokio::test]
async fn a_server_fault_logs_one_error_and_marks_the_server_span() {
    let captured = capture();
    let status = call_failing_with(Code::Unavailable).await;
    assert_eq!(status.code(), Code::Unavailable);

    let server = captured
        .spans()
        .into_iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .unwrap();
    assert!(
        matches!(server.status, Status::Error { .. }),
        "{:?}",
        server.status
    );
    let errors: Vec<_> = captured
        .logs_with_message("gRPC call failed")
        .into_iter()
        .filter(|l| l["rpc.side"] == "server")
        .collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["level"], "ERROR");
    assert_eq!(errors[0]["rpc.response.status_code"], "UNAVAILABLE");
}

#[tokio::test]
async fn unknown_methods_share_the_other_label() {
    let captured = capture();
    let addr = serve_dummy().await;
    let mut grpc = tonic::client::Grpc::new(channel(addr).await);
    for path in [
        "/recommendations.v1.RecommendationsService/Nope",
        "/random.Scan/x1",
        "/random.Scan/x2",
    ] {
        grpc.ready().await.unwrap();
        let status = grpc
            .unary::<_, RecommendResponse, _>(
                Request::new(order(SUCCEED, 0)),
                http::uri::PathAndQuery::from_static(path),
                tonic_prost::ProstCodec::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented);
    }
    let metrics = captured.metrics.render();
    let other = [
        "rpc_method=\"_OTHER\"",
        "rpc_response_status_code=\"UNIMPLEMENTED\"",
    ];
    assert_eq!(
        sample(&metrics, SERVER_COUNT, &other),
        Some(3.0),
        "{metrics}"
    );
    for raw in ["Nope", "random.Scan", "x1"] {
        assert!(!metrics.contains(raw), "{raw} leaked into a label");
    }
    // Spans may carry what was asked for: as `rpc.method_original`, under
    // the system's name and `_OTHER`, each key once.
    let spans = captured.spans();
    let mut originals: Vec<_> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Server)
        .map(|span| {
            assert_eq!(span.name, "grpc");
            assert_eq!(attribute(span, "rpc.method").as_deref(), Some("_OTHER"));
            let mut keys: Vec<_> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
            let all = keys.len();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys.len(), all, "a key set twice: {keys:?}");
            attribute(span, "rpc.method_original").expect("rpc.method_original")
        })
        .collect();
    originals.sort();
    assert_eq!(
        originals,
        [
            "random.Scan/x1",
            "random.Scan/x2",
            "recommendations.v1.RecommendationsService/Nope"
        ]
    );
}

#[tokio::test]
async fn a_handlers_own_unimplemented_keeps_its_method() {
    let captured = capture();
    let status = call_failing_with(Code::Unimplemented).await;
    assert_eq!(status.code(), Code::Unimplemented);

    let metrics = captured.metrics.render();
    let own = [
        &*format!("rpc_method=\"{RECOMMEND}\""),
        "rpc_response_status_code=\"UNIMPLEMENTED\"",
    ];
    assert_eq!(sample(&metrics, SERVER_COUNT, &own), Some(1.0), "{metrics}");
    let server = captured
        .spans()
        .into_iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .unwrap();
    assert_eq!(server.name, RECOMMEND);
    assert_eq!(attribute(&server, "rpc.method").as_deref(), Some(RECOMMEND));
    assert_eq!(attribute(&server, "rpc.method_original"), None);
}

#[tokio::test]
async fn debug_spans_exist_under_a_sampled_call_where_rust_log_enables_debug() {
    let captured = capture();
    let addr = serve_dummy().await;
    client(addr)
        .await
        .recommend(order(DEBUG_WORK, 0))
        .await
        .unwrap();
    let spans = captured.spans();
    let server = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .expect("server span");
    let detail = spans
        .iter()
        .find(|s| s.name == "detail")
        .unwrap_or_else(|| panic!("no debug span with RUST_LOG={}: {spans:#?}", LOG_FILTER));
    assert_eq!(detail.span_kind, SpanKind::Internal);
    assert_eq!(detail.parent_span_id, server.span_context.span_id());
}

#[tokio::test]
async fn health_checks_are_neither_traced_nor_measured() {
    let captured = capture();
    let addr = serve_dummy().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(addr).await);
    for _ in 0..3 {
        health
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .unwrap();
    }
    assert!(captured.spans().is_empty(), "{:#?}", captured.spans());
    assert!(
        !captured
            .metrics
            .render()
            .contains("rpc_server_call_duration_seconds")
    );
}

#[tokio::test]
async fn concurrent_slow_calls_overlap_instead_of_queueing() {
    let _captured = capture();
    let addr = serve_dummy().await;
    let client = client(addr).await;
    let started = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let mut client = client.clone();
        calls.spawn(async move { client.recommend(order(SLEEP_MS, 300)).await });
    }
    while let Some(result) = calls.join_next().await {
        result.unwrap().unwrap();
    }
    // Eight 300 ms calls in series would take 2.4 s.
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1500), "calls queued: {took:?}");
    let metrics = _captured.metrics.render();
    let slow = ["rpc_response_status_code=\"OK\"", "le=\"0.25\""];
    assert_eq!(
        sample(&metrics, "rpc_server_call_duration_seconds_bucket{", &slow),
        Some(0.0),
        "a 300 ms call must not land in the 250 ms bucket:\n{metrics}"
    );
}
