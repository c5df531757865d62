//! `skeleton.v1.SkeletonService` as clients see it: answers, the right
//! status for bad input, health and reflection.

use testkit::grpc::reflected_services;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::{channel, client, get, spawn_app};

#[tokio::test]
async fn a_known_id_gets_its_item() {
    let app = spawn_app().await;
    let item = client(app.addr)
        .await
        .get_item(get(1))
        .await
        .unwrap()
        .into_inner()
        .item
        .unwrap();
    assert_eq!((item.id, item.name.as_str()), (1, "First item"));
}

#[tokio::test]
async fn a_missing_id_is_invalid_argument_and_an_unknown_one_not_found() {
    let app = spawn_app().await;
    let mut client = client(app.addr).await;
    let missing = client.get_item(get(0)).await.unwrap_err();
    assert_eq!(missing.code(), Code::InvalidArgument, "{missing:?}");
    let unknown = client.get_item(get(999)).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
}

#[tokio::test]
async fn health_is_serving_and_reflection_lists_the_service() {
    let app = spawn_app().await;
    let status = HealthClient::new(channel(app.addr).await)
        .check(HealthCheckRequest {
            service: "skeleton.v1.SkeletonService".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);
    let services = reflected_services(channel(app.addr).await).await;
    assert!(
        services.iter().any(|s| s == "skeleton.v1.SkeletonService"),
        "{services:?}"
    );
}

#[tokio::test]
async fn calls_are_measured_by_method() {
    let app = spawn_app().await;
    client(app.addr).await.get_item(get(1)).await.unwrap();
    let exposition = app.render_metrics();
    assert!(
        exposition.contains(r#"rpc_method="skeleton.v1.SkeletonService/GetItem""#),
        "{exposition}"
    );
}
// xtask:calls {

#[tokio::test]
async fn with_callee_down_a_call_is_unavailable() {
    let closed = testkit::process::free_addr();
    let app = testkit::spawn(skeleton::run, [format!("--CALLEE_NAME-url=http://{closed}")]).await;
    let status = client(app.addr).await.get_item(get(1)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
}
// xtask:}
