//! The kit's servers in-process, for what the examples cannot show: a
//! handler that panics is answered INTERNAL or 500, and the server keeps
//! serving, with telemetry on or off (panic recovery is a layer of its own);
//! and a gRPC server without reflection still names its calls.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use clap::Parser as _;
use kit::grpc_server::{GrpcServer, GrpcServerArgs};
use kit::http_server::{HttpServerArgs, WebServer};
use kit::lifecycle::Shutdown;
use proto::hello::v1::hello_service_client::HelloServiceClient;
use proto::hello::v1::hello_service_server::{HelloService, HelloServiceServer};
use proto::hello::v1::{SayHelloRequest, SayHelloResponse};
use testkit::http::{get as fetch, sample};
use testkit::telemetry::capture;
use tokio::net::TcpListener;
use tonic::{Code, Request, Response, Status};

/// Greets, and panics when asked to greet "panic".
struct Fragile;

#[tonic::async_trait]
impl HelloService for Fragile {
    async fn say_hello(
        &self,
        request: Request<SayHelloRequest>,
    ) -> Result<Response<SayHelloResponse>, Status> {
        let name = request.into_inner().name;
        if name == "panic" {
            panic!("told to panic");
        }
        Ok(Response::new(SayHelloResponse {
            message: format!("Hello, {name}!"),
        }))
    }
}

#[derive(clap::Parser)]
struct GrpcConfig {
    #[command(flatten)]
    grpc: GrpcServerArgs,
}

#[derive(clap::Parser)]
struct WebConfig {
    #[command(flatten)]
    http: HttpServerArgs,
}

/// Runs `serve` on a loopback listener until the test ends; returns its
/// address.
async fn serve_on_loopback<F, Fut, E>(serve: F) -> SocketAddr
where
    F: FnOnce(TcpListener, Shutdown) -> Fut,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Debug,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (shutdown, controller) = Shutdown::new(Duration::from_secs(1));
    let served = serve(listener, shutdown);
    tokio::spawn(async move {
        let _controller = controller;
        served.await.unwrap();
    });
    addr
}

/// Serves `server` on loopback until the test ends.
async fn serve_grpc(server: GrpcServer) -> SocketAddr {
    serve_on_loopback(|listener, shutdown| server.serve(listener, shutdown)).await
}

fn grpc_server() -> GrpcServer {
    let config = GrpcConfig::parse_from(["test"]);
    GrpcServer::new(&config.grpc).add_service(HelloServiceServer::new(Fragile))
}

async fn say_hello(addr: SocketAddr, name: &str) -> Result<String, Status> {
    let mut client = HelloServiceClient::new(testkit::grpc::channel(addr).await);
    let request = SayHelloRequest {
        name: name.to_owned(),
    };
    Ok(client.say_hello(request).await?.into_inner().message)
}

/// Serves `router` on a `WebServer` (with or without telemetry) on loopback
/// until the test ends.
async fn serve_web(router: Router, telemetry: bool) -> SocketAddr {
    let config = WebConfig::parse_from(["test"]);
    let mut server = WebServer::new(router, &config.http);
    if !telemetry {
        server = server.without_telemetry();
    }
    serve_on_loopback(|listener, shutdown| server.serve(listener, shutdown)).await
}

fn fragile_router() -> Router {
    async fn boom() -> &'static str {
        panic!("told to panic")
    }
    Router::new()
        .route("/", get(|| async { "home" }))
        .route("/boom", get(boom))
}

#[tokio::test]
async fn without_telemetry_a_panicking_grpc_handler_is_answered_internal() {
    let addr = serve_grpc(grpc_server().without_telemetry()).await;
    let status = say_hello(addr, "panic").await.unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    assert_eq!(status.message(), "internal error", "the panic stays inside");
    assert_eq!(say_hello(addr, "Ada").await.unwrap(), "Hello, Ada!");
}

#[tokio::test]
async fn with_telemetry_a_panic_is_logged_in_its_trace_and_counted_as_internal() {
    let captured = capture();
    let addr = serve_grpc(grpc_server().descriptor_set(proto::hello::FILE_DESCRIPTOR_SET)).await;
    let status = say_hello(addr, "panic").await.unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status:?}");

    let panics = captured.logs_with_message("handler panicked; answering INTERNAL");
    assert_eq!(panics.len(), 1, "{:#?}", captured.logs());
    assert_eq!(panics[0]["level"], "ERROR");
    assert_eq!(panics[0]["panic.message"], "told to panic");
    let span = captured
        .spans()
        .into_iter()
        .find(|span| span.name == "hello.v1.HelloService/SayHello")
        .expect("the call's span");
    assert_eq!(
        panics[0]["trace_id"],
        span.span_context.trace_id().to_string()
    );
    let internal = [
        "rpc_method=\"hello.v1.HelloService/SayHello\"",
        "rpc_response_status_code=\"INTERNAL\"",
    ];
    let metrics = captured.metrics.render();
    assert_eq!(
        sample(
            &metrics,
            "rpc_server_call_duration_seconds_count{",
            &internal
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(say_hello(addr, "Ada").await.unwrap(), "Hello, Ada!");
}

#[tokio::test]
async fn without_telemetry_a_panicking_web_handler_is_answered_500_with_the_security_headers() {
    let addr = serve_web(fragile_router(), false).await;
    let page = fetch(addr, "/boom").await;
    assert_eq!(page.status, 500);
    assert!(!page.body.contains("told to panic"), "{}", page.body);
    assert!(
        page.headers.contains_key("content-security-policy"),
        "{:?}",
        page.headers
    );
    assert_eq!(fetch(addr, "/").await.status, 200);
}

#[tokio::test]
async fn with_telemetry_a_web_panic_is_logged_in_its_trace_and_counted_as_500() {
    let captured = capture();
    let addr = serve_web(fragile_router(), true).await;
    let page = fetch(addr, "/boom").await;
    assert_eq!(page.status, 500);
    let trace_id = page.headers["traceresponse"].to_str().unwrap()[3..35].to_owned();

    let panics = captured.logs_with_message("handler panicked; answering 500");
    assert_eq!(panics.len(), 1, "{:#?}", captured.logs());
    assert_eq!(panics[0]["panic.message"], "told to panic");
    assert_eq!(panics[0]["trace_id"], trace_id.as_str());
    let metrics = captured.metrics.render();
    assert_eq!(
        sample(
            &metrics,
            "http_server_request_duration_seconds_count{",
            &["http_route=\"/boom\"", "http_response_status_code=\"500\""]
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(fetch(addr, "/").await.status, 200);
}

#[tokio::test]
async fn a_server_without_reflection_still_names_its_calls_by_their_methods() {
    let captured = capture();
    let server = grpc_server()
        .descriptor_set(proto::hello::FILE_DESCRIPTOR_SET)
        .without_reflection();
    let addr = serve_grpc(server).await;
    assert_eq!(say_hello(addr, "Ada").await.unwrap(), "Hello, Ada!");

    let named = [
        "rpc_method=\"hello.v1.HelloService/SayHello\"",
        "rpc_response_status_code=\"OK\"",
    ];
    let metrics = captured.metrics.render();
    assert_eq!(
        sample(&metrics, "rpc_server_call_duration_seconds_count{", &named),
        Some(1.0),
        "{metrics}"
    );
    assert!(
        captured
            .spans()
            .iter()
            .any(|span| span.name == "hello.v1.HelloService/SayHello"),
        "{:#?}",
        captured.spans()
    );
    // And reflection is really off.
    let listed = testkit::grpc::list_services(testkit::grpc::channel(addr).await).await;
    assert_eq!(listed.unwrap_err().code(), Code::Unimplemented);
}
