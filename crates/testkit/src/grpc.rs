//! gRPC helpers: a connected channel, what a server says about itself, and
//! stand-in upstreams.

use std::net::SocketAddr;

use tonic::service::Routes;
use tonic::transport::Channel;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

/// A plaintext channel to the gRPC server at `addr`, connected.
pub async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// Asks the server, by reflection (`grpc.reflection.v1`), which services it
/// lists, sorted.
pub async fn reflected_services(channel: Channel) -> Vec<String> {
    list_services(channel).await.unwrap()
}

/// Asks the server, by reflection (`grpc.reflection.v1`), which services it
/// lists, sorted; or the status it refused with (UNIMPLEMENTED without
/// reflection).
pub async fn list_services(channel: Channel) -> Result<Vec<String>, tonic::Status> {
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await?
        .into_inner();
    let response: ServerReflectionResponse = responses
        .message()
        .await?
        .expect("no reply to list_services");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("not a list of services: {response:?}");
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    Ok(names)
}

/// Starts a plaintext gRPC server on loopback serving `routes`
/// (`tonic::service::Routes::new(SomeServiceServer::new(..))`): a stand-in
/// upstream. It runs for the rest of the test.
pub async fn serve(routes: Routes) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_routes(routes)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    addr
}

/// Starts a gRPC server on loopback that serves `grpc.health.v1` alone,
/// reporting SERVING: a stand-in upstream for a service whose example call
/// asks its upstream's health.
pub async fn spawn_health_server() -> SocketAddr {
    let (_reporter, service) = tonic_health::server::health_reporter();
    serve(Routes::new(service)).await
}
