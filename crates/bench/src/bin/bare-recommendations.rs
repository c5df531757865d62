//! The bare baseline of Recommendations: the same catalogue, validation,
//! sampling, both APIs (`grpc_routes`) and server limits (`server_builder`),
//! with no telemetry layer, no subscriber and no recorder.

use clap::Parser as _;
use recommendations::catalog::Catalog;
use recommendations::recommender::Recommender;
use tokio_stream::wrappers::TcpListenerStream;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The product's own flags and environment, so the limits are the same.
    let config = recommendations::Config::parse();
    let (_health, health_service) = tonic_health::server::health_reporter();
    let routes =
        recommendations::grpc_routes(Recommender::new(Catalog::embedded()), health_service)?;
    let listener = tokio::net::TcpListener::bind(config.grpc_addr).await?;
    recommendations::server_builder(&config)
        .add_routes(routes)
        .serve_with_incoming(TcpListenerStream::new(listener))
        .await?;
    Ok(())
}
