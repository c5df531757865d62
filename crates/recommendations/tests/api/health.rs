//! Health checking and server reflection.

use testkit::grpc::reflected_services;

use crate::helpers::{SERVING, spawn_app};

#[tokio::test]
async fn health_reports_serving_for_the_server_and_both_apis() {
    let app = spawn_app().await;
    for service in [
        "",
        "Recommendations",
        "recommendations.v1.RecommendationsService",
    ] {
        assert_eq!(app.health(service).await, SERVING, "service {service:?}");
    }
}

#[tokio::test]
async fn health_of_an_unknown_service_is_not_found() {
    let app = spawn_app().await;
    let request = tonic_health::pb::HealthCheckRequest {
        service: "no.such.Service".to_owned(),
    };
    let status = app.health_client().await.check(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn reflection_lists_both_apis_and_health_and_nothing_else() {
    let app = spawn_app().await;
    assert_eq!(
        reflected_services(app.channel().await).await,
        [
            "Recommendations",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "recommendations.v1.RecommendationsService",
        ]
    );
}

#[tokio::test]
async fn the_drain_fails_health_at_once_and_the_server_then_stops() {
    let app = spawn_app().await;
    assert_eq!(app.health("").await, SERVING);

    // A long delay: health must fail now, long before the servers stop.
    app.controller.begin(std::time::Duration::from_secs(30));
    let not_serving = tonic_health::pb::health_check_response::ServingStatus::NotServing as i32;
    for service in [
        "",
        "Recommendations",
        "recommendations.v1.RecommendationsService",
    ] {
        assert_eq!(
            app.health(service).await,
            not_serving,
            "service {service:?}"
        );
    }
    let ready = crate::helpers::admin_get(app.admin_addr, "/readyz").await;
    assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
    let live = crate::helpers::admin_get(app.admin_addr, "/healthz").await;
    assert!(live.starts_with("HTTP/1.1 200"), "{live}");

    app.controller.stop_now();
    let result = tokio::time::timeout(std::time::Duration::from_secs(10), app.0.server).await;
    assert!(matches!(result, Ok(Ok(Ok(())))), "{result:?}");
}
