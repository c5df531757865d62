//! The page rendered over mutual TLS between the services.

use std::time::Duration;

use clap::Parser as _;
use lifecycle::Shutdown;
use testkit::pki;

use crate::helpers::{get, listed_titles};

async fn loopback() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()
}

fn path(p: &std::path::Path) -> String {
    p.to_str().unwrap().to_owned()
}

/// Starts Recommendations requiring client certificates from `pki`'s CA.
async fn mtls_recommendations(pki: &pki::PkiFiles) -> std::net::SocketAddr {
    let config = recommendations::Config::parse_from([
        "recommendations".to_owned(),
        "--tls-cert".to_owned(),
        path(&pki.server_cert),
        "--tls-key".to_owned(),
        path(&pki.server_key),
        "--tls-client-ca".to_owned(),
        path(&pki.ca),
    ]);
    let listeners = recommendations::Listeners {
        grpc: loopback().await,
        admin: loopback().await,
    };
    let addr = listeners.grpc.local_addr().unwrap();
    let (shutdown, controller) = Shutdown::new(Duration::from_secs(1));
    tokio::spawn(recommendations::run(
        config,
        listeners,
        shutdown,
        telemetry::Metrics::detached(),
    ));
    std::mem::forget(controller);
    addr
}

/// Starts the marketplace with `flags`; returns its HTTP address.
async fn marketplace_with(flags: Vec<String>) -> std::net::SocketAddr {
    let config =
        marketplace::Config::parse_from(std::iter::once("marketplace".to_owned()).chain(flags));
    let listeners = marketplace::Listeners {
        http: loopback().await,
        admin: loopback().await,
    };
    let addr = listeners.http.local_addr().unwrap();
    let (shutdown, controller) = Shutdown::new(Duration::from_secs(1));
    tokio::spawn(marketplace::run(
        config,
        listeners,
        shutdown,
        telemetry::Metrics::detached(),
    ));
    std::mem::forget(controller);
    addr
}

#[tokio::test]
async fn the_page_renders_over_mutual_tls_and_degrades_without_a_client_certificate() {
    let pki = pki::write("books-ca");
    let recommendations = mtls_recommendations(&pki).await;
    // The server certificate names 127.0.0.1, so the URL can use the address.
    let url = format!("https://127.0.0.1:{}", recommendations.port());

    let with_certificate = marketplace_with(vec![
        format!("--recommendations-url={url}"),
        format!("--recommendations-ca={}", path(&pki.ca)),
        format!("--tls-client-cert={}", path(&pki.client_cert)),
        format!("--tls-client-key={}", path(&pki.client_key)),
        "--recommendations-deadline=2s".to_owned(),
    ])
    .await;
    let page = get(with_certificate, "/").await;
    assert_eq!(page.status, 200);
    assert_eq!(listed_titles(&page.body).len(), 3, "{}", page.body);

    let without_certificate = marketplace_with(vec![
        format!("--recommendations-url={url}"),
        format!("--recommendations-ca={}", path(&pki.ca)),
    ])
    .await;
    let page = get(without_certificate, "/").await;
    assert_eq!(page.status, 200);
    assert!(
        listed_titles(&page.body).is_empty(),
        "served without a client certificate"
    );
    assert!(
        page.body
            .contains("Recommendations are unavailable right now")
    );
}

#[test]
fn https_without_a_ca_or_tls_files_with_plain_http_stop_start_up_in_one_line() {
    for (vars, expected) in [
        (
            vec![("RECOMMENDATIONS_URL", "https://recommendations:50051")],
            "RECOMMENDATIONS_CA is not set",
        ),
        (
            vec![
                ("RECOMMENDATIONS_URL", "http://recommendations:50051"),
                ("RECOMMENDATIONS_CA", "/tmp/ca.pem"),
            ],
            "is not https",
        ),
        (
            vec![
                ("RECOMMENDATIONS_URL", "https://recommendations:50051"),
                ("RECOMMENDATIONS_CA", "/no/such/ca.pem"),
            ],
            "RECOMMENDATIONS_CA /no/such/ca.pem: cannot read it",
        ),
    ] {
        let mut command = std::process::Command::new(crate::helpers::MARKETPLACE_BIN);
        command
            .env_clear()
            .env("HTTP_ADDR", "127.0.0.1:0")
            .env("ADMIN_ADDR", "127.0.0.1:0");
        for (name, value) in &vars {
            command.env(name, value);
        }
        let output = command
            .stdout(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(!output.status.success(), "{vars:?} was accepted");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in {stderr}"
        );
    }
}
