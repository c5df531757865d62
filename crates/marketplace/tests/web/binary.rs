//! The built `marketplace` binary, run as an operator runs it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit::process::{assert_help_names, config_error, free_port};

use crate::helpers::{get, listed_titles, spawn_recommendations};

const BIN: &str = env!("CARGO_BIN_EXE_marketplace");

#[test]
fn help_documents_every_setting_with_its_variable() {
    assert_help_names(
        BIN,
        &[
            "HTTP_ADDR",
            "ADMIN_ADDR",
            "RECOMMENDATIONS_URL",
            "RECOMMENDATIONS_DEADLINE",
            "RECOMMENDATIONS_CA",
            "SHUTDOWN_DELAY",
            "SHUTDOWN_TIMEOUT",
        ],
    );
}

#[test]
fn bad_config_prints_one_line_and_exits_non_zero() {
    for env in [
        ("HTTP_ADDR", "localhost"),
        ("RECOMMENDATIONS_URL", "recommendations:50051"),
        ("SHUTDOWN_TIMEOUT", "-1s"),
        ("RUST_LOG", "info,=="),
    ] {
        let stderr = config_error(BIN, "HTTP_ADDR", env);
        assert!(
            stderr.starts_with("error: invalid value"),
            "{env:?}: {stderr}"
        );
    }
}

#[tokio::test]
async fn serves_the_page_on_the_addresses_from_the_environment() {
    let recommendations = spawn_recommendations().await;
    let (http_port, admin_port) = (free_port(), free_port());
    let mut child = tokio::process::Command::new(BIN)
        .env("HTTP_ADDR", format!("127.0.0.1:{http_port}"))
        .env("ADMIN_ADDR", format!("127.0.0.1:{admin_port}"))
        .env(
            "RECOMMENDATIONS_URL",
            format!("http://{}", recommendations.addr),
        )
        .env("SHUTDOWN_DELAY", "0s")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", http_port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "the binary never listened on {http_port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let page = get(format!("127.0.0.1:{http_port}").parse().unwrap(), "/").await;
    assert_eq!(page.status, 200);
    assert_eq!(listed_titles(&page.body).len(), 3, "{}", page.body);
    let ready = get(
        format!("127.0.0.1:{admin_port}").parse().unwrap(),
        "/readyz",
    )
    .await;
    assert_eq!(ready.status, 200);

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
