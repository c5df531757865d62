//! The Marketplace web app: an axum server whose home page lists book
//! recommendations fetched from Recommendations over one shared gRPC channel.

pub mod config;
pub mod pages;
pub mod recommendations_client;
pub mod resolver;

use axum::Router;
use axum::routing::get;
use std::time::Duration;

use lifecycle::Shutdown;
use lifecycle::http::HttpLimits;
use telemetry::{HttpServerLayer, Metrics};
use tokio::net::TcpListener;

pub use crate::config::Config;
use crate::recommendations_client::Client;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub recommendations: Client,
    /// The budget of one recommendation call, retries included.
    pub recommendations_deadline: Duration,
    /// `TRACE_LINK_TEMPLATE`: where a page's trace can be opened.
    pub trace_link_template: Option<String>,
}

/// Why the service stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("HTTP server failed")]
    Http(#[source] std::io::Error),
    #[error("admin server failed")]
    Admin(#[source] std::io::Error),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("invalid recommendations client configuration")]
    Client(#[from] tonic::transport::Error),
}

/// The sockets the service serves on, bound by the caller so tests can use
/// port 0 and read the address back.
#[derive(Debug)]
pub struct Listeners {
    pub http: TcpListener,
    pub admin: TcpListener,
}

impl Listeners {
    /// Binds the addresses from the config.
    pub async fn bind(config: &Config) -> std::io::Result<Listeners> {
        Ok(Listeners {
            http: TcpListener::bind(config.http_addr).await?,
            admin: TcpListener::bind(config.admin_addr).await?,
        })
    }
}

/// The public routes, without a socket.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::index))
        .fallback(pages::not_found)
        // For every route and the fallback, outermost first: the browser
        // security headers, then traces, RED metrics by route,
        // `traceresponse` and panic recovery (so a panic's 500 gets the
        // headers too). One `layer` call: axum wraps each route once per
        // call, and pays for each wrapper on every request.
        .layer((pages::security_headers(), HttpServerLayer::new()))
        .with_state(state)
}

/// Serves until `shutdown` has run its course: readiness fails as soon as the
/// drain begins, the servers stop accepting when it says, and in-flight
/// requests get at most the shutdown timeout to finish.
pub async fn run(
    config: Config,
    listeners: Listeners,
    shutdown: Shutdown,
    metrics: Metrics,
) -> Result<(), Error> {
    let settings = recommendations_client::ClientSettings {
        url: config.recommendations_url.clone(),
        deadline: config.recommendations_deadline,
        connect_timeout: config.recommendations_connect_timeout,
        resolve_interval: config.recommendations_resolve_interval,
        tls: config.tls.load(&config.recommendations_url)?,
    };
    let state = AppState {
        recommendations: recommendations_client::connect(&settings, resolver::Dns)?,
        recommendations_deadline: config.recommendations_deadline,
        trace_link_template: config.trace_link_template.clone(),
    };
    tracing::info!(recommendations_url = %config.recommendations_url, "recommendations client configured");
    lifecycle::log_addresses("marketplace serving", &listeners.http, &listeners.admin);
    let limits = HttpLimits {
        header_read_timeout: config.http_header_read_timeout,
        ..HttpLimits::default()
    };
    let http = lifecycle::http::serve(listeners.http, router(state), limits, shutdown.clone());
    let admin = lifecycle::admin::serve(listeners.admin, shutdown, metrics);
    let (http, admin) = tokio::join!(http, admin);
    http.map_err(Error::Http)?;
    admin.map_err(Error::Admin)?;
    Ok(())
}
