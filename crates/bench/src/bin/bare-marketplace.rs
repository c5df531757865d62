//! The bare baseline of the Marketplace: the same page (the real template and
//! security headers), the same balanced channel, deadline and retries
//! (`recommendations_client::channel`, `recommend`) and the same HTTP server
//! and limits (`lifecycle::http`), with no telemetry layer, no subscriber and
//! no recorder.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use clap::Parser as _;
use marketplace::recommendations_client::{self, ClientSettings};
use marketplace::resolver::Dns;
use proto::v1::BookCategory;
use proto::v1::recommendations_service_client::RecommendationsServiceClient;
use tonic::transport::Channel;

#[derive(Clone)]
struct Bare {
    client: RecommendationsServiceClient<Channel>,
    deadline: Duration,
}

async fn index(State(bare): State<Bare>) -> Response {
    let books =
        recommendations_client::recommend(&bare.client, bare.deadline, 1, BookCategory::Mystery, 3)
            .await
            .ok();
    marketplace::pages::index_page(books)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The product's own flags and environment, so the settings are the same.
    let config = marketplace::Config::parse();
    let settings = ClientSettings {
        url: config.recommendations_url.clone(),
        deadline: config.recommendations_deadline,
        connect_timeout: config.recommendations_connect_timeout,
        resolve_interval: config.recommendations_resolve_interval,
        tls: None,
    };
    let client =
        RecommendationsServiceClient::new(recommendations_client::channel(&settings, Dns)?);
    let app = Router::new()
        .route("/", get(index))
        .layer(marketplace::pages::security_headers())
        .with_state(Bare {
            client,
            deadline: config.recommendations_deadline,
        });
    let listener = tokio::net::TcpListener::bind(config.http_addr).await?;
    let (shutdown, _controller) = lifecycle::Shutdown::new(Duration::from_secs(1));
    let limits = lifecycle::http::HttpLimits {
        header_read_timeout: config.http_header_read_timeout,
        ..lifecycle::http::HttpLimits::default()
    };
    lifecycle::http::serve(listener, app, limits, shutdown).await?;
    Ok(())
}
