//! Shared test plumbing: start the service in-process on loopback, make
//! clients, and stop it.

use std::net::SocketAddr;

use proto::legacy::recommendations_client::RecommendationsClient;
use proto::v1::recommendations_service_client::RecommendationsServiceClient;
use testkit::Spawned;
use tonic::transport::Channel;
use tonic_health::pb::health_client::HealthClient;

/// The service running in-process on loopback (see `testkit::spawn`), with
/// clients for it.
pub struct TestApp(pub Spawned<recommendations::Error>);

impl std::ops::Deref for TestApp {
    type Target = Spawned<recommendations::Error>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Starts the service with the default, embedded catalogue.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the service with extra command-line flags, such as
/// `["--catalog-path", path]`.
pub async fn spawn_app_with(flags: &[&str]) -> TestApp {
    TestApp(testkit::spawn(recommendations::run, flags).await)
}

impl TestApp {
    pub async fn channel(&self) -> Channel {
        testkit::grpc::channel(self.addr).await
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
