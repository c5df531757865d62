//! The Recommendations service: a tonic gRPC server that recommends books by
//! category, serving the v1 API and the tutorial's legacy API from one
//! implementation, with health checking and reflection beside them.

pub mod api;
pub mod catalog;
pub mod config;
pub mod error;
pub mod faults;
pub mod recommender;

use std::time::Duration;

use lifecycle::{Shutdown, serve_until_drained};
use telemetry::{GrpcServerLayer, Metrics};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::Routes;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::api::legacy::LegacyApi;
use crate::api::v1::V1Api;
use crate::catalog::{Catalog, CatalogError};
pub use crate::config::Config;
use crate::recommender::Recommender;

/// Concurrent HTTP/2 streams per connection.
const MAX_CONCURRENT_STREAMS: u32 = 256;

/// Client-reset streams not yet served, before the client gets GOAWAY.
const MAX_PENDING_ACCEPT_RESETS: usize = 50;

/// Streams a client may make the server reset before it gets GOAWAY.
const MAX_LOCAL_ERROR_RESETS: usize = 1024;

/// Request header bytes, HPACK-decoded.
const MAX_HEADER_LIST_BYTES: u32 = 16 * 1024;

/// The largest request message. A Recommend request is a few bytes; this
/// leaves ample room and refuses megabytes (OUT_OF_RANGE).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The largest response message: 100 books of long titles fit easily.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The gRPC service names health checking reports on, besides `""`.
pub const SERVICE_NAMES: [&str; 2] = [
    "Recommendations",
    "recommendations.v1.RecommendationsService",
];

/// Why the service stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("failed to build the reflection service")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC server failed")]
    Grpc(#[from] tonic::transport::Error),
    #[error("admin server failed")]
    Admin(#[source] std::io::Error),
}

/// The sockets the service serves on, bound by the caller so tests can use
/// port 0 and read the address back.
#[derive(Debug)]
pub struct Listeners {
    pub grpc: TcpListener,
    pub admin: TcpListener,
}

impl Listeners {
    /// Binds the addresses from the config.
    pub async fn bind(config: &Config) -> std::io::Result<Listeners> {
        Ok(Listeners {
            grpc: TcpListener::bind(config.grpc_addr).await?,
            admin: TcpListener::bind(config.admin_addr).await?,
        })
    }
}

/// Loads the configured catalogue, or the embedded one.
pub fn load_catalog(config: &Config) -> Result<Catalog, CatalogError> {
    match &config.catalog_path {
        Some(path) => Catalog::load(path),
        None => Ok(Catalog::embedded()),
    }
}

/// Every gRPC service this process serves, without a socket: both APIs,
/// `grpc.health.v1` and server reflection (v1 and v1alpha, since grpcurl and
/// older tools still ask for the latter).
pub fn grpc_routes(
    recommender: Recommender,
    health_service: tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
) -> Result<Routes, Error> {
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    Ok(Routes::new(health_service)
        .add_service(
            LegacyApi::server(recommender.clone())
                .max_decoding_message_size(MAX_REQUEST_BYTES)
                .max_encoding_message_size(MAX_RESPONSE_BYTES),
        )
        .add_service(
            V1Api::server(recommender)
                .max_decoding_message_size(MAX_REQUEST_BYTES)
                .max_encoding_message_size(MAX_RESPONSE_BYTES),
        )
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?))
}

/// The gRPC server with its limits, set explicitly rather than left to
/// defaults; without TLS and without layers, which `run` adds.
pub fn server_builder(config: &Config) -> tonic::transport::Server {
    tonic::transport::Server::builder()
        // No `max_connection_age`: tonic panics without a grace period, and
        // client-side balancing re-resolves on its own.
        .timeout(config.grpc_request_timeout)
        .max_concurrent_streams(Some(MAX_CONCURRENT_STREAMS))
        // HTTP/2 reset floods: streams a client opens and cancels before
        // they are served (CVE-2023-44487), and streams a client makes the
        // server reset (tonic 0.14 turns h2's limit off; it is back on).
        // Past either, the client gets GOAWAY.
        .http2_max_pending_accept_reset_streams(Some(MAX_PENDING_ACCEPT_RESETS))
        .http2_max_local_error_reset_streams(Some(MAX_LOCAL_ERROR_RESETS))
        .http2_max_header_list_size(Some(MAX_HEADER_LIST_BYTES))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .tcp_nodelay(true)
}

/// Serves until `shutdown` has run its course: readiness fails as soon as the
/// drain begins, the servers stop accepting when it says, and in-flight calls
/// get at most the shutdown timeout to finish.
pub async fn run(
    config: Config,
    listeners: Listeners,
    shutdown: Shutdown,
    metrics: Metrics,
) -> Result<(), Error> {
    let tls = config.tls.load()?;
    tracing::info!(tls = ?config.tls.mode(), "gRPC transport security");
    let faults = config.faults();
    if faults.is_active() {
        tracing::warn!(
            fault.latency = ?faults.latency,
            fault.error_rate = faults.error_rate,
            "fault injection is ON"
        );
    }
    let recommender = Recommender::with_faults(load_catalog(&config)?, faults);
    let (health, health_service) = tonic_health::server::health_reporter();
    for name in SERVICE_NAMES {
        health
            .set_service_status(name, ServingStatus::Serving)
            .await;
    }
    tokio::spawn(fail_health_on_drain(health.clone(), shutdown.clone()));

    let routes = grpc_routes(recommender, health_service)?;

    lifecycle::log_addresses("recommendations serving", &listeners.grpc, &listeners.admin);
    let stopping = shutdown.clone();
    let mut builder = server_builder(&config);
    if let Some(tls) = tls {
        builder = builder.tls_config(tls)?;
    }
    let grpc = builder
        // Traces, RED metrics, error logs and panic recovery for every call.
        .layer(GrpcServerLayer::new())
        .add_routes(routes)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listeners.grpc), async move {
            stopping.stopping().await;
        });
    let admin = lifecycle::admin::serve(listeners.admin, shutdown.clone(), metrics);
    let (grpc, admin) = tokio::join!(serve_until_drained(grpc, &shutdown), admin);
    grpc?;
    admin.map_err(Error::Admin)?;
    Ok(())
}

/// Reports NOT_SERVING for `""` and every service the moment the drain
/// begins, so clients and load balancers stop picking this instance.
async fn fail_health_on_drain(health: HealthReporter, shutdown: Shutdown) {
    shutdown.draining().await;
    health
        .set_service_status("", ServingStatus::NotServing)
        .await;
    for name in SERVICE_NAMES {
        health
            .set_service_status(name, ServingStatus::NotServing)
            .await;
    }
}
