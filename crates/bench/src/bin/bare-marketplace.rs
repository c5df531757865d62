//! The bare baseline of the Marketplace: the product's own page and server
//! (`marketplace::web_server`: the template, security headers, limits) and
//! client (the balanced channel, deadline and retries) with the telemetry
//! left out: no layers, no subscriber and no recorder.

use std::time::Duration;

use clap::Parser as _;
use kit::Shutdown;
use marketplace::AppState;
use proto::v1::recommendations_service_client::RecommendationsServiceClient;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The product's own flags and environment, so the settings are the same.
    let config = marketplace::Config::parse();
    let state = AppState {
        recommendations: config
            .recommendations
            .connector(&config.tls_identity)?
            .without_telemetry()
            .connect(RecommendationsServiceClient::new)?,
        trace_link_template: None,
    };
    let listener = tokio::net::TcpListener::bind(config.http.http_addr).await?;
    let (shutdown, _controller) = Shutdown::new(Duration::from_secs(1));
    marketplace::web_server(&config, state)
        .without_telemetry()
        .serve(listener, shutdown)
        .await?;
    Ok(())
}
