//! The built `recommendations` binary, run as an operator runs it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit::process::{assert_help_names, config_error, free_port};
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
        let stderr = config_error(BIN, "GRPC_ADDR", (var, value));
        assert!(stderr.contains(expected), "{var}={value}: {stderr}");
    }
}

#[test]
fn an_invalid_catalog_file_stops_start_up() {
    let path = std::env::temp_dir().join(format!("bad-catalog-{}.json", std::process::id()));
    std::fs::write(&path, r#"[{"id": 1, "title": "A", "category": "ROMANCE"}]"#).unwrap();
    let output = Command::new(BIN)
        .env("CATALOG_PATH", &path)
        .env("GRPC_ADDR", "127.0.0.1:0")
        .env("ADMIN_ADDR", "127.0.0.1:0")
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("invalid catalog") && stderr.contains("ROMANCE"),
        "{stderr}"
    );
}

#[tokio::test]
async fn serves_on_the_addresses_from_the_environment_and_stops_on_sigterm() {
    let (grpc_port, admin_port) = (free_port(), free_port());
    let mut child = tokio::process::Command::new(BIN)
        .env("GRPC_ADDR", format!("127.0.0.1:{grpc_port}"))
        .env("ADMIN_ADDR", format!("127.0.0.1:{admin_port}"))
        .env("SHUTDOWN_DELAY", "0s")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let attempt = async {
            let channel =
                tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{grpc_port}"))?
                    .connect()
                    .await?;
            let mut client = HealthClient::new(channel);
            let response = client.check(HealthCheckRequest::default()).await?;
            Ok::<_, Box<dyn std::error::Error>>(response.into_inner().status)
        };
        match attempt.await {
            Ok(status) => break status,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(error) => panic!("the binary never served on port {grpc_port}: {error}"),
        }
    };
    assert_eq!(status, crate::helpers::SERVING);

    let admin = tokio::net::TcpStream::connect(("127.0.0.1", admin_port)).await;
    assert!(admin.is_ok(), "admin port {admin_port} not served");

    let pid = child.id().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exit.code(), Some(0));
}
