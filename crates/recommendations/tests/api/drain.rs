//! The drain, as Kubernetes drives it: real processes, real signals.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proto::v1::recommendations_service_client::RecommendationsServiceClient;
use proto::v1::{BookCategory, RecommendRequest};
use testkit::grpc::channel;
use testkit::process::Spec;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const BIN: &str = env!("CARGO_BIN_EXE_recommendations");

fn spec() -> Spec {
    Spec::new(BIN, "GRPC_ADDR")
}

/// The overall serving status, asked on a fresh connection as a load
/// balancer's probe would; `None` when the server could not be asked.
async fn health_on_new_connection(addr: SocketAddr) -> Option<i32> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .ok()?
        .connect()
        .await
        .ok()?;
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .ok()?;
    Some(response.into_inner().status)
}

fn mystery() -> RecommendRequest {
    RecommendRequest {
        user_id: 1,
        category: BookCategory::Mystery as i32,
        max_results: 3,
    }
}

#[tokio::test]
async fn sigterm_fails_health_at_once_and_lets_eight_slow_calls_finish() {
    let mut process = spec()
        .env("FAULT_LATENCY", "2s")
        .env("SHUTDOWN_DELAY", "1s")
        .env("SHUTDOWN_TIMEOUT", "10s")
        .start()
        .await;
    let client = RecommendationsServiceClient::new(channel(process.addr).await);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let mut client = client.clone();
        calls.spawn(async move { client.recommend(mystery()).await });
    }
    // Let all eight reach the server before the signal.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let signalled = Instant::now();
    process.signal("TERM");
    let not_serving = loop {
        let status = health_on_new_connection(process.addr).await;
        if status == Some(ServingStatus::NotServing as i32) {
            break signalled.elapsed();
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(1),
            "health still {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(
        not_serving <= Duration::from_millis(200),
        "NOT_SERVING after {not_serving:?}"
    );

    let mut succeeded = 0;
    while let Some(call) = calls.join_next().await {
        let books = call
            .unwrap()
            .expect("an in-flight call failed during the drain");
        assert_eq!(books.into_inner().recommendations.len(), 3);
        succeeded += 1;
    }
    assert_eq!(succeeded, 8);
    let (code, _) = process.wait_exit(Duration::from_secs(12)).await;
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn sigint_skips_the_delay() {
    let mut process = spec().env("SHUTDOWN_DELAY", "30s").start().await;
    process.signal("INT");
    let (code, took) = process.wait_exit(Duration::from_secs(5)).await;
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[tokio::test]
async fn a_second_signal_exits_at_once() {
    let mut process = spec().env("SHUTDOWN_DELAY", "30s").start().await;
    process.signal("TERM");
    // Still serving, with health failing, during the 30 s delay.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        health_on_new_connection(process.addr).await,
        Some(ServingStatus::NotServing as i32)
    );
    process.signal("TERM");
    let (code, took) = process.wait_exit(Duration::from_secs(5)).await;
    assert_eq!(code, Some(128 + 15), "exit code of a second SIGTERM");
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[tokio::test]
async fn open_watch_streams_and_idle_connections_cannot_hold_the_exit_past_the_bound() {
    let mut process = spec().env("SHUTDOWN_TIMEOUT", "2s").start().await;
    // An open health Watch stream, an idle HTTP/2 connection, and a TCP
    // connection that never says anything.
    let mut watch = HealthClient::new(channel(process.addr).await)
        .watch(HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.message().await.unwrap().unwrap().status,
        ServingStatus::Serving as i32
    );
    let _idle_h2 = channel(process.addr).await;
    let _silent_tcp = tokio::net::TcpStream::connect(process.addr).await.unwrap();
    let _silent_admin = tokio::net::TcpStream::connect(process.admin_addr)
        .await
        .unwrap();

    process.signal("TERM");
    // The watcher is told first.
    let update = tokio::time::timeout(Duration::from_secs(1), watch.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(update.status, ServingStatus::NotServing as i32);
    let (code, took) = process.wait_exit(Duration::from_secs(6)).await;
    assert_eq!(code, Some(0));
    assert!(
        took < Duration::from_millis(3500),
        "the 2 s bound did not hold: {took:?}"
    );
}
