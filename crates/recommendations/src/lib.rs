//! The Recommendations service: a tonic gRPC server that recommends books by
//! category, serving the v1 API and the tutorial's legacy API from one
//! implementation, with health checking and reflection beside them.

pub mod api;
pub mod catalog;
pub mod config;
pub mod error;
pub mod recommender;

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
        .add_service(LegacyApi::server(recommender.clone()))
        .add_service(V1Api::server(recommender))
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?))
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
    let recommender = Recommender::new(load_catalog(&config)?);
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
    let grpc = tonic::transport::Server::builder()
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
