//! Shared test plumbing: start the service in-process on loopback, make
//! clients, and stop it.

use std::net::SocketAddr;
use std::sync::Once;
use std::time::Duration;

use clap::Parser as _;
use lifecycle::{Shutdown, ShutdownController};
use proto::legacy::recommendations_client::RecommendationsClient;
use proto::v1::recommendations_service_client::RecommendationsServiceClient;
use recommendations::{Config, Listeners};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic_health::pb::health_client::HealthClient;

/// Test logs go to a sink unless `TEST_LOG=1`.
fn init_test_logs() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            tracing_subscriber::fmt().with_test_writer().init();
        }
    });
}

/// A running service and the handles to reach and stop it.
pub struct TestApp {
    pub grpc_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub controller: ShutdownController,
    pub server: JoinHandle<Result<(), recommendations::Error>>,
}

/// Starts the service with the default, embedded catalogue.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the service with extra command-line flags, such as
/// `["--catalog-path", path]`.
pub async fn spawn_app_with(flags: &[&str]) -> TestApp {
    init_test_logs();
    let args = [
        "recommendations",
        "--grpc-addr",
        "127.0.0.1:0",
        "--admin-addr",
        "127.0.0.1:0",
    ];
    let config = Config::parse_from(args.iter().chain(flags));
    let listeners = Listeners {
        grpc: TcpListener::bind("127.0.0.1:0").await.unwrap(),
        admin: TcpListener::bind("127.0.0.1:0").await.unwrap(),
    };
    let grpc_addr = listeners.grpc.local_addr().unwrap();
    let admin_addr = listeners.admin.local_addr().unwrap();
    let (shutdown, controller) = Shutdown::new(Duration::from_secs(5));
    let metrics = telemetry::Metrics::detached();
    let server = tokio::spawn(recommendations::run(config, listeners, shutdown, metrics));
    TestApp {
        grpc_addr,
        admin_addr,
        controller,
        server,
    }
}

impl TestApp {
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.grpc_addr))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    pub async fn legacy_client(&self) -> RecommendationsClient<Channel> {
        RecommendationsClient::new(self.channel().await)
    }

    pub async fn v1_client(&self) -> RecommendationsServiceClient<Channel> {
        RecommendationsServiceClient::new(self.channel().await)
    }

    pub async fn health_client(&self) -> HealthClient<Channel> {
        HealthClient::new(self.channel().await)
    }

    /// The serving status of `service` ("" for the whole server).
    pub async fn health(&self, service: &str) -> i32 {
        let request = tonic_health::pb::HealthCheckRequest {
            service: service.to_owned(),
        };
        self.health_client()
            .await
            .check(request)
            .await
            .unwrap()
            .into_inner()
            .status
    }
}

/// `grpc.health.v1` SERVING.
pub const SERVING: i32 = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;

/// A plain HTTP/1.1 GET on the admin port; returns the whole response.
pub async fn admin_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}
