//! Shared test plumbing: the service in-process on loopback, and clients.

use std::net::SocketAddr;

use proto::skeleton::v1::GetItemRequest;
use proto::skeleton::v1::skeleton_service_client::SkeletonServiceClient;
use testkit::Spawned;
pub use testkit::grpc::channel;
use tonic::transport::Channel;

/// Starts the service on loopback, with its upstreams stood in for.
pub async fn spawn_app() -> Spawned<skeleton::Error> {
    let flags: Vec<String> = vec![
        // xtask:calls {
        format!("--callee-url=http://{}", testkit::grpc::spawn_health_server().await),
        // xtask:}
    ];
    testkit::spawn(skeleton::run, flags).await
}

pub async fn client(addr: SocketAddr) -> SkeletonServiceClient<Channel> {
    SkeletonServiceClient::new(channel(addr).await)
}

pub fn get(id: u64) -> GetItemRequest {
    GetItemRequest { id }
}
