//! The SKELETON_NAME service: a tonic gRPC server on the service kit, which adds
//! health, reflection, limits, telemetry, probes and the drain.

pub mod config;
pub mod error;
pub mod handler;

use std::sync::Arc;

use kit::grpc_server::GrpcServer;
use kit::{Shutdown, TcpListener};
// xtask:calls-any-other {
use tonic_health::pb::health_client::HealthClient;
// xtask:}

pub use crate::config::Config;
use crate::handler::{SkeletonApi, example_items};

/// Why the service stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Server(#[from] kit::grpc_server::Error),
    // xtask:calls-any {
    #[error(transparent)]
    Client(#[from] kit::grpc_client::Error),
    // xtask:}
}

/// The server this process runs, without a socket.
pub fn grpc_server(config: &Config) -> Result<GrpcServer, Error> {
    let api = SkeletonApi {
        items: Arc::new(example_items()),
        // xtask:calls-generated {
        callee: config.callee.connect(
            &config.tls_identity,
            proto::callee::v1::callee_service_client::CalleeServiceClient::new,
        )?,
        // xtask:}
        // xtask:calls-other {
        callee: config
            .callee
            .connect(&config.tls_identity, HealthClient::new)?,
        // xtask:}
    };
    Ok(GrpcServer::new(&config.grpc)
        .add_service(api.server())
        .descriptor_set(proto::skeleton::FILE_DESCRIPTOR_SET))
}

/// Serves until `shutdown` has run its course.
pub async fn run(config: Config, listener: TcpListener, shutdown: Shutdown) -> Result<(), Error> {
    grpc_server(&config)?.serve(listener, shutdown).await?;
    Ok(())
}
