//! `grpc.health.v1`, tied to the drain: SERVING for `""` and every served
//! service while the process is ready, NOT_SERVING for all of them the
//! moment the drain begins, so clients and load balancers stop picking this
//! instance before it stops accepting.

use lifecycle::Shutdown;
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::server::HealthReporter;

/// The health service for `names`, reporting SERVING until the drain begins.
pub(crate) async fn serve_until_draining(
    names: &[&'static str],
    shutdown: &Shutdown,
) -> HealthServer<impl Health> {
    let (reporter, service) = tonic_health::server::health_reporter();
    for name in names {
        reporter
            .set_service_status(name, ServingStatus::Serving)
            .await;
    }
    tokio::spawn(fail_on_drain(reporter, names.to_vec(), shutdown.clone()));
    service
}

async fn fail_on_drain(reporter: HealthReporter, names: Vec<&'static str>, shutdown: Shutdown) {
    shutdown.draining().await;
    reporter
        .set_service_status("", ServingStatus::NotServing)
        .await;
    for name in names {
        reporter
            .set_service_status(name, ServingStatus::NotServing)
            .await;
    }
}
