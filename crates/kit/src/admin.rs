//! The admin server: plain-HTTP probes and metrics on their own port.
//!
//! It is kept apart from the service port so that probes and scrapes never
//! need TLS (kubelet probes cannot present client certificates), never
//! compete with user traffic, and never appear in the RED metrics or traces.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use telemetry::Metrics;
use tokio::net::TcpListener;

use lifecycle::Shutdown;

#[derive(Clone)]
struct AdminState {
    shutdown: Shutdown,
    metrics: Metrics,
}

/// The admin routes:
/// - `/healthz`: 200 while the process is alive, draining or not;
/// - `/readyz`: 200 while ready, 503 once the drain has begun;
/// - `/metrics`: the Prometheus exposition of the process's metrics.
pub(crate) fn router(shutdown: Shutdown, metrics: Metrics) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .with_state(AdminState { shutdown, metrics })
}

async fn readyz(State(state): State<AdminState>) -> (StatusCode, &'static str) {
    if state.shutdown.is_draining() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining\n")
    } else {
        (StatusCode::OK, "ready\n")
    }
}

async fn render_metrics(
    State(state): State<AdminState>,
) -> ([(&'static str, &'static str); 1], String) {
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
}

/// Serves the admin routes on `listener` until the process stops, bounded by
/// the shutdown timeout like every other server.
pub(crate) async fn serve(
    listener: TcpListener,
    shutdown: Shutdown,
    metrics: Metrics,
) -> std::io::Result<()> {
    let app = router(shutdown.clone(), metrics);
    http_server::serve_router(listener, app, http_server::HttpLimits::default(), shutdown).await
}
