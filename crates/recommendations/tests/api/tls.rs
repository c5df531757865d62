//! TLS and mutual TLS through real tonic clients, with rcgen certificates:
//! who gets served, and who is refused.

use std::net::SocketAddr;
use std::time::Duration;

use proto::v1::recommendations_service_client::RecommendationsServiceClient;
use proto::v1::{BookCategory, RecommendRequest};
use testkit::pki::{self, PkiFiles};
use testkit::process::config_error;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::helpers::{admin_get, spawn_app_with};

fn request() -> RecommendRequest {
    RecommendRequest {
        user_id: 1,
        category: BookCategory::Mystery as i32,
        max_results: 3,
    }
}

/// One call over TLS: trusting `ca`, presenting `identity` if any.
async fn call_tls(
    addr: SocketAddr,
    ca: &PkiFiles,
    identity: Option<&PkiFiles>,
) -> Result<usize, String> {
    kit::tls::install_crypto_provider();
    let mut config = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(PkiFiles::read(&ca.ca)))
        .domain_name("localhost");
    if let Some(pki) = identity {
        config = config.identity(Identity::from_pem(
            PkiFiles::read(&pki.client_cert),
            PkiFiles::read(&pki.client_key),
        ));
    }
    let endpoint = Channel::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(config)
        .map_err(|e| e.to_string())?;
    call(endpoint).await
}

/// One call in plaintext, as a client that does not know about TLS.
async fn call_plaintext(addr: SocketAddr) -> Result<usize, String> {
    call(Channel::from_shared(format!("http://{addr}")).unwrap()).await
}

/// Connects to `endpoint` and makes one call; the number of books, or why not.
async fn call(endpoint: tonic::transport::Endpoint) -> Result<usize, String> {
    let channel = endpoint
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    let response = RecommendationsServiceClient::new(channel)
        .recommend(request())
        .await
        .map_err(|status| format!("{status:?}"))?;
    Ok(response.into_inner().recommendations.len())
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test]
async fn tls_serves_a_trusting_client_and_refuses_plaintext_and_untrusting_clients() {
    let pki = pki::write("books-ca");
    let other = pki::write("other-ca");
    let app = spawn_app_with(&[
        "--tls-cert",
        path(&pki.server_cert),
        "--tls-key",
        path(&pki.server_key),
    ])
    .await;

    assert_eq!(call_tls(app.addr, &pki, None).await, Ok(3));
    let plaintext = call_plaintext(app.addr).await;
    assert!(plaintext.is_err(), "plaintext was served: {plaintext:?}");
    let untrusting = call_tls(app.addr, &other, None).await;
    assert!(
        untrusting.is_err(),
        "a client trusting another CA was served: {untrusting:?}"
    );
    // Still serving after all that.
    assert_eq!(call_tls(app.addr, &pki, None).await, Ok(3));
}

#[tokio::test]
async fn mutual_tls_refuses_clients_without_a_certificate_or_with_a_foreign_one() {
    let pki = pki::write("books-ca");
    let other = pki::write("other-ca");
    let app = spawn_app_with(&[
        "--tls-cert",
        path(&pki.server_cert),
        "--tls-key",
        path(&pki.server_key),
        "--tls-client-ca",
        path(&pki.ca),
    ])
    .await;

    assert_eq!(call_tls(app.addr, &pki, Some(&pki)).await, Ok(3));
    let anonymous = call_tls(app.addr, &pki, None).await;
    assert!(
        anonymous.is_err(),
        "a client without a certificate was served: {anonymous:?}"
    );
    let foreign = call_tls(app.addr, &pki, Some(&other)).await;
    assert!(
        foreign.is_err(),
        "a certificate from an unknown CA was accepted: {foreign:?}"
    );
    assert!(call_plaintext(app.addr).await.is_err());
}

#[tokio::test]
async fn the_admin_port_stays_plain_http_with_mutual_tls_on() {
    let pki = pki::write("books-ca");
    let app = spawn_app_with(&[
        "--tls-cert",
        path(&pki.server_cert),
        "--tls-key",
        path(&pki.server_key),
        "--tls-client-ca",
        path(&pki.ca),
    ])
    .await;
    let healthz = admin_get(app.admin_addr, "/healthz").await;
    assert!(healthz.starts_with("HTTP/1.1 200"), "{healthz}");
    let metrics = admin_get(app.admin_addr, "/metrics").await;
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
}

#[test]
fn bad_certificate_files_stop_start_up_with_one_clear_line() {
    let pki = pki::write("books-ca");
    let garbage = std::env::temp_dir().join(format!("garbage-{}.pem", std::process::id()));
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let empty = std::env::temp_dir().join(format!("empty-{}.pem", std::process::id()));
    std::fs::write(&empty, "no pem here\n").unwrap();
    let cases = [
        (
            path(&garbage).to_owned(),
            path(&pki.server_key).to_owned(),
            "TLS_CERT",
        ),
        (
            path(&empty).to_owned(),
            path(&pki.server_key).to_owned(),
            "no PEM certificate",
        ),
        (
            "/no/such/cert.pem".to_owned(),
            path(&pki.server_key).to_owned(),
            "cannot read",
        ),
        (
            path(&pki.server_cert).to_owned(),
            path(&pki.server_cert).to_owned(),
            "no PEM private key",
        ),
    ];
    for (cert, key, expected) in cases {
        let env = [("TLS_CERT", cert.as_str()), ("TLS_KEY", key.as_str())];
        let stderr = config_error(env!("CARGO_BIN_EXE_recommendations"), "GRPC_ADDR", &env);
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in {stderr}"
        );
    }
}
