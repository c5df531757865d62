//! The built `SKELETON_NAME` binary, run as an operator runs it.

use testkit::process::{Spec, assert_help_names, config_error};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::channel;

const BIN: &str = env!("CARGO_BIN_EXE_SKELETON_NAME");

#[test]
fn help_documents_every_setting_with_its_variable() {
    let vars = [
        "GRPC_ADDR",
        "ADMIN_ADDR",
        "SHUTDOWN_DELAY",
        "RUST_LOG",
        // xtask:calls {
        "CALLEE_URL",
        // xtask:}
    ];
    assert_help_names(BIN, &vars);
}

#[test]
fn bad_config_prints_one_line_and_exits_non_zero() {
    let stderr = config_error(BIN, "GRPC_ADDR", &[("GRPC_ADDR", "nowhere")]);
    assert!(stderr.contains("--grpc-addr"), "{stderr}");
}

#[tokio::test]
async fn serves_on_the_addresses_from_the_environment_and_drains_on_sigterm() {
    let process = Spec::new(BIN, "GRPC_ADDR").start().await;
    let status = HealthClient::new(channel(process.addr).await)
        .check(HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);
    assert_eq!(process.terminate().await, Some(0));
}
