//! The SKELETON_NAME service: an axum web server on the service kit, which adds
//! the hardened server, security headers, telemetry, probes and the drain.

pub mod config;
pub mod pages;

use axum::Router;
use axum::routing::get;
use kit::http_server::WebServer;
use kit::{Shutdown, TcpListener};
// xtask:calls-any-other {
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
// xtask:}

pub use crate::config::Config;
use crate::pages::UpstreamStatus;

/// What every handler shares: the upstream clients. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    // xtask:calls {
    pub callee: pages::CalleeClient,
    // xtask:}
}

impl AppState {
    /// Asks each upstream how it is, with one example call each. A failure
    /// is logged and shown, never an error page: upstreams are soft
    /// dependencies.
    pub async fn upstreams(&self) -> Vec<UpstreamStatus> {
        vec![
            // xtask:calls-generated {
            UpstreamStatus::of(
                "CALLEE_NAME",
                self.callee
                    .call(proto::callee::v1::GetItemRequest { id: 1 }, |mut client, request| async move {
                        client.get_item(request).await
                    })
                    .await,
            ),
            // xtask:}
            // xtask:calls-other {
            UpstreamStatus::of(
                "CALLEE_NAME",
                self.callee
                    .call(HealthCheckRequest::default(), |mut client, request| async move {
                        client.check(request).await
                    })
                    .await,
            ),
            // xtask:}
        ]
    }
}

/// Why the service stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Http(#[from] kit::http_server::Error),
    // xtask:calls-any {
    #[error(transparent)]
    Client(#[from] kit::grpc_client::Error),
    // xtask:}
}

/// The public routes, without a socket or layers.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::index))
        .with_state(state)
}

/// The server this process runs, without a socket: the routes and the 404
/// page on the kit's web server (limits, security headers, telemetry).
pub fn web_server(config: &Config, state: AppState) -> WebServer {
    WebServer::new(router(state), &config.http).not_found(pages::not_found)
}

/// Serves until `shutdown` has run its course. Upstream clients connect
/// lazily, so the service starts and is ready while they are down.
pub async fn run(config: Config, listener: TcpListener, shutdown: Shutdown) -> Result<(), Error> {
    let state = AppState {
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
    web_server(&config, state)
        .serve(listener, shutdown)
        .await?;
    Ok(())
}
