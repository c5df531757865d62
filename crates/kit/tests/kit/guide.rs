//! The tests docs/writing-a-service.md shows ("Test a service", "Opt out,
//! explicitly"), run on the kit's gRPC example exactly as the guide quotes
//! them (`docs.rs` holds the guide to this file). A service's own tests
//! name its library (`my_service::run`) where these name the example.

use std::time::Duration;

use kit::grpc_server::{GrpcLimits, GrpcServer};
use proto::hello::v1::SayHelloRequest;
use proto::hello::v1::hello_service_client::HelloServiceClient;
use proto::hello::v1::hello_service_server::HelloServiceServer;
use testkit::process::Spec;

use crate::hello_grpc::{self, Hello};

#[tokio::test]
async fn says_hello_by_name() {
    let app = testkit::spawn(hello_grpc::run, ["--grpc-request-timeout", "5s"]).await;
    let mut client = HelloServiceClient::connect(format!("http://{}", app.addr))
        .await
        .unwrap();
    let reply = client
        .say_hello(SayHelloRequest {
            name: "Ada".to_owned(),
        })
        .await
        .unwrap();
    assert_eq!(reply.into_inner().message, "Hello, Ada!");
    app.stop().await;
}

#[tokio::test]
async fn readiness_fails_as_soon_as_the_drain_begins() {
    let app = testkit::spawn(hello_grpc::run, Vec::<String>::new()).await;
    assert_eq!(
        testkit::http::get(app.admin_addr, "/readyz").await.status,
        200
    );
    // Drain as SIGTERM does: readiness fails now, accepting stops in 5 s.
    app.controller.begin(Duration::from_secs(5));
    assert_eq!(
        testkit::http::get(app.admin_addr, "/readyz").await.status,
        503
    );
    app.stop().await;
}

#[tokio::test]
async fn sigterm_drains_and_exits_zero() {
    let mut process = Spec::new(crate::helpers::example("hello_grpc"), "GRPC_ADDR")
        .env("GRPC_REQUEST_TIMEOUT", "5s")
        .start()
        .await;
    process.signal("TERM");
    let (code, _took) = process.wait_exit(Duration::from_secs(30)).await;
    assert_eq!(code, Some(0));
    assert!(!process.log_lines_with_message("serving").is_empty());
}

#[tokio::test]
async fn raised_grpc_limits_serve_a_message_the_defaults_refuse() {
    let raised = testkit::spawn(
        |config: hello_grpc::Config, listener, shutdown| async move {
            let limits = GrpcLimits {
                max_request_bytes: 1024 * 1024,
                ..GrpcLimits::default()
            };
            GrpcServer::with_limits(&config.grpc, limits)
                .add_service(HelloServiceServer::new(Hello))
                .serve(listener, shutdown)
                .await
        },
        Vec::<String>::new(),
    )
    .await;
    let defaults = testkit::spawn(hello_grpc::run, Vec::<String>::new()).await;
    // 100 KiB: over the default 64 KiB, under the raised 1 MiB.
    let name = "a".repeat(100 * 1024);
    let answer = |addr| {
        let name = name.clone();
        async move {
            HelloServiceClient::connect(format!("http://{addr}"))
                .await
                .unwrap()
                .say_hello(SayHelloRequest { name })
                .await
        }
    };
    assert!(answer(raised.addr).await.is_ok());
    let refused = answer(defaults.addr).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::OutOfRange);
    raised.stop().await;
    defaults.stop().await;
}
