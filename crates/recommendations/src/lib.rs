//! The Recommendations service: a tonic gRPC server that recommends books by
//! category, serving the v1 API and the tutorial's legacy API from one
//! implementation. The kit's gRPC server adds health, reflection, limits and
//! telemetry.

pub mod api;
pub mod catalog;
pub mod config;
pub mod error;
pub mod faults;
pub mod recommender;

use kit::Shutdown;
use kit::grpc_server::GrpcServer;
use tokio::net::TcpListener;

use crate::api::legacy::LegacyApi;
use crate::api::v1::V1Api;
pub use crate::config::Config;
use crate::recommender::Recommender;

/// The largest response message: 100 books of long titles fit easily.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Why the service stopped with an error. A bad catalogue is not one of
/// them: it is a config error, found before the service starts.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Server(#[from] kit::grpc_server::Error),
}

/// The server this process runs, without a socket: both APIs over one
/// recommender, listed by reflection, on the kit's gRPC server (health,
/// limits, telemetry).
pub fn grpc_server(config: &Config) -> GrpcServer {
    let faults = config.faults();
    if faults.is_active() {
        tracing::warn!(
            fault.latency = ?faults.latency,
            fault.error_rate = faults.error_rate,
            "fault injection is ON"
        );
    }
    let recommender = Recommender::with_faults(config.catalog(), faults);
    GrpcServer::new(&config.grpc)
        .add_service(
            LegacyApi::server(recommender.clone()).max_encoding_message_size(MAX_RESPONSE_BYTES),
        )
        .add_service(V1Api::server(recommender).max_encoding_message_size(MAX_RESPONSE_BYTES))
        .descriptor_set(proto::FILE_DESCRIPTOR_SET)
}

/// Serves until `shutdown` has run its course (see [`GrpcServer::serve`]).
pub async fn run(config: Config, listener: TcpListener, shutdown: Shutdown) -> Result<(), Error> {
    grpc_server(&config).serve(listener, shutdown).await?;
    Ok(())
}
