//! The built `recommendations` binary, run as an operator runs it.

use std::process::{Command, Stdio};

use testkit::process::{Spec, assert_help_names, config_error};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const BIN: &str = env!("CARGO_BIN_EXE_recommendations");

#[test]
fn help_documents_every_setting_with_its_variable() {
    assert_help_names(
        BIN,
        &[
            "GRPC_ADDR",
            "ADMIN_ADDR",
            "CATALOG_PATH",
            "GRPC_REQUEST_TIMEOUT",
            "TLS_CERT",
            "SHUTDOWN_DELAY",
            "SHUTDOWN_TIMEOUT",
            "RUST_LOG",
        ],
    );
}

#[test]
fn bad_config_prints_one_line_and_exits_non_zero() {
    let cases: [(&str, &str, &str); 3] = [
        ("GRPC_ADDR", "not-an-address", "--grpc-addr"),
        ("SHUTDOWN_DELAY", "soon", "--shutdown-delay"),
        (
            "CATALOG_PATH",
            "/no/such/catalog.json",
            "cannot read catalog /no/such/catalog.json",
        ),
    ];
    for (var, value, expected) in cases {
        let stderr = config_error(BIN, "GRPC_ADDR", &[(var, value)]);
        assert!(stderr.contains(expected), "{var}={value}: {stderr}");
    }
}

#[test]
fn an_invalid_catalog_file_stops_start_up_as_a_config_error_before_serving() {
    let path = std::env::temp_dir().join(format!("bad-catalog-{}.json", std::process::id()));
    std::fs::write(&path, r#"[{"id": 1, "title": "A", "category": "ROMANCE"}]"#).unwrap();
    let output = Command::new(BIN)
        .env("CATALOG_PATH", &path)
        .env("GRPC_ADDR", "127.0.0.1:0")
        .env("ADMIN_ADDR", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "a config error exits 2");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("invalid catalog") && stderr.contains("ROMANCE"),
        "{stderr}"
    );
    // Nothing may claim to serve a catalogue it could not load.
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(!stdout.contains("serving"), "{stdout}");
}

#[tokio::test]
async fn serves_on_the_addresses_from_the_environment_and_stops_on_sigterm() {
    // GRPC_ADDR and ADMIN_ADDR come from the environment, on free ports.
    let process = Spec::new(BIN, "GRPC_ADDR").start().await;
    let status = HealthClient::new(testkit::grpc::channel(process.addr).await)
        .check(HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, crate::helpers::SERVING);
    let ready = crate::helpers::admin_get(process.admin_addr, "/readyz").await;
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    assert_eq!(process.terminate().await, Some(0));
}
