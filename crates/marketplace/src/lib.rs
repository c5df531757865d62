//! The Marketplace web app: an axum server whose home page lists book
//! recommendations fetched from Recommendations over one shared gRPC channel.
//! The kit's web server adds limits, security headers and telemetry; its
//! gRPC client adds balancing, the deadline and retries.

pub mod config;
pub mod pages;

use axum::Router;
use axum::routing::get;
use kit::Shutdown;
use kit::http_server::WebServer;
use proto::v1::recommendations_service_client::RecommendationsServiceClient;
use tokio::net::TcpListener;

pub use crate::config::{Config, Recommendations};

/// The shared, cheap-to-clone client of Recommendations, with its deadline.
pub type RecommendationsClient =
    kit::grpc_client::Client<RecommendationsServiceClient<kit::grpc_client::Channel>>;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub recommendations: RecommendationsClient,
    /// `TRACE_LINK_TEMPLATE`: where a page's trace can be opened.
    pub trace_link_template: Option<String>,
}

/// Why the service stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Http(#[from] kit::http_server::Error),
    #[error(transparent)]
    Client(#[from] kit::grpc_client::Error),
}

/// The public routes, without a socket or layers.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::index))
        .with_state(state)
}

/// The server this process runs, without a socket: the routes and the
/// templated 404 page on the kit's web server (limits, security headers,
/// telemetry).
pub fn web_server(config: &Config, state: AppState) -> WebServer {
    WebServer::new(router(state), &config.http).not_found(pages::not_found)
}

/// Serves until `shutdown` has run its course (see [`WebServer::serve`]).
/// Recommendations is a soft dependency: the client connects lazily, so the
/// marketplace starts and is ready while Recommendations is down.
pub async fn run(config: Config, listener: TcpListener, shutdown: Shutdown) -> Result<(), Error> {
    let state = AppState {
        recommendations: config
            .recommendations
            .connect(&config.tls_identity, RecommendationsServiceClient::new)?,
        trace_link_template: config.trace_link_template.clone(),
    };
    web_server(&config, state).serve(listener, shutdown).await?;
    Ok(())
}
