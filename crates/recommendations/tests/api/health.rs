//! Health checking and server reflection.

use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

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
async fn reflection_lists_both_apis_and_health() {
    let app = spawn_app().await;
    let mut client = ServerReflectionClient::new(app.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer: {response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "Recommendations",
        "recommendations.v1.RecommendationsService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
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
