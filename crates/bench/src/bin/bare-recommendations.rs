//! The bare baseline of Recommendations: the product's own server
//! (`recommendations::grpc_server`: the catalogue, validation, sampling, both
//! APIs, the kit's limits) with the telemetry left out: no layer, no
//! subscriber and no recorder.

use std::time::Duration;

use clap::Parser as _;
use kit::Shutdown;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The product's own flags and environment, so the settings are the same.
    let config = recommendations::Config::parse();
    let listener = tokio::net::TcpListener::bind(config.grpc.grpc_addr).await?;
    let (shutdown, _controller) = Shutdown::new(Duration::from_secs(1));
    recommendations::grpc_server(&config)
        .without_telemetry()
        .serve(listener, shutdown)
        .await?;
    Ok(())
}
