//! TLS and mutual TLS through real tonic clients, with certificates like
//! `cargo xtask certs` makes (one per service, each naming
//! `spiffe://online-books/NAME`): who gets served, who is refused, and how
//! a refusal shows.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proto::v1::recommendations_service_client::RecommendationsServiceClient;
use proto::v1::{BookCategory, RecommendRequest};
use testkit::http::sample;
use testkit::pki::{self, Pki};
use testkit::process::config_error;
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::helpers::{TestApp, admin_get, spawn_app_with};

fn request() -> RecommendRequest {
    RecommendRequest {
        user_id: 1,
        category: BookCategory::Mystery as i32,
        max_results: 3,
    }
}

/// One call over TLS: trusting `trusted`'s CA, presenting the certificate
/// of `identity` (a PKI and a service in it) if any.
async fn call_tls(
    addr: SocketAddr,
    trusted: &Pki,
    identity: Option<(&Pki, &str)>,
) -> Result<usize, tonic::Status> {
    kit::tls::install_crypto_provider();
    let mut config = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(Pki::read(&trusted.ca)))
        .domain_name("localhost");
    if let Some((pki, service)) = identity {
        config = config.identity(Identity::from_pem(
            Pki::read(&pki.cert(service)),
            Pki::read(&pki.key(service)),
        ));
    }
    let endpoint = Channel::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(config)
        .unwrap();
    call(endpoint).await
}

/// One call in plaintext, as a client that does not know about TLS.
async fn call_plaintext(addr: SocketAddr) -> Result<usize, tonic::Status> {
    call(Channel::from_shared(format!("http://{addr}")).unwrap()).await
}

/// Connects to `endpoint` and makes one call; the number of books, or the
/// status (a failed connection as UNAVAILABLE).
async fn call(endpoint: tonic::transport::Endpoint) -> Result<usize, tonic::Status> {
    let channel = endpoint
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| tonic::Status::unavailable(format!("connect: {e:?}")))?;
    let response = RecommendationsServiceClient::new(channel)
        .recommend(request())
        .await?;
    Ok(response.into_inner().recommendations.len())
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

/// Flags for mutual TLS as the mTLS overlays set it: recommendations' own
/// certificate, the CA, and its callers.
fn mutual_tls_flags<'a>(
    pki: &'a Pki,
    cert: &'a str,
    key: &'a str,
    allowed: &'a str,
) -> Vec<&'a str> {
    vec![
        "--tls-cert",
        cert,
        "--tls-key",
        key,
        "--tls-client-ca",
        path(&pki.ca),
        "--tls-allowed-clients",
        allowed,
    ]
}

/// Recommendations with mutual TLS on, its own certificate from `pki`, and
/// `allowed` as `TLS_ALLOWED_CLIENTS`.
async fn spawn_mutual_tls(pki: &Pki, allowed: &str) -> TestApp {
    let (cert, key) = (pki.cert("recommendations"), pki.key("recommendations"));
    spawn_app_with(&mutual_tls_flags(pki, path(&cert), path(&key), allowed)).await
}

#[tokio::test]
async fn tls_serves_a_trusting_client_and_refuses_plaintext_and_untrusting_clients() {
    let pki = pki::write("books-ca", &["recommendations"]);
    let other = pki::write("other-ca", &[]);
    let (cert, key) = (pki.cert("recommendations"), pki.key("recommendations"));
    let app = spawn_app_with(&["--tls-cert", path(&cert), "--tls-key", path(&key)]).await;

    assert_eq!(call_tls(app.addr, &pki, None).await.ok(), Some(3));
    let plaintext = call_plaintext(app.addr).await;
    assert!(plaintext.is_err(), "plaintext was served: {plaintext:?}");
    let untrusting = call_tls(app.addr, &other, None).await;
    assert!(
        untrusting.is_err(),
        "a client trusting another CA was served: {untrusting:?}"
    );
    // Still serving after all that.
    assert_eq!(call_tls(app.addr, &pki, None).await.ok(), Some(3));
}

#[tokio::test]
async fn mutual_tls_serves_allowed_services_and_denies_other_valid_certificates() {
    let pki = pki::write(
        "books-ca",
        &["recommendations", "marketplace", "storefront"],
    );
    let app = spawn_mutual_tls(&pki, "marketplace").await;

    assert_eq!(
        call_tls(app.addr, &pki, Some((&pki, "marketplace")))
            .await
            .ok(),
        Some(3)
    );
    // A valid certificate from the same CA, for a service not on the list.
    let denied = call_tls(app.addr, &pki, Some((&pki, "storefront")))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(
        denied
            .message()
            .contains("spiffe://online-books/storefront"),
        "{denied:?}"
    );
    let counted = sample(
        &app.render_metrics(),
        "tls_server_calls_refused_total",
        &["reason=\"not_allowed\""],
    );
    assert!(counted >= Some(1.0), "not counted: {counted:?}");
    // The server's own certificate names recommendations, which does not
    // call itself.
    let own = call_tls(app.addr, &pki, Some((&pki, "recommendations"))).await;
    assert_eq!(own.map_err(|s| s.code()), Err(Code::PermissionDenied));
}

#[tokio::test]
async fn an_empty_allow_list_admits_no_service() {
    // What a generated service that nothing calls yet runs with.
    let pki = pki::write("books-ca", &["recommendations", "marketplace"]);
    let app = spawn_mutual_tls(&pki, "").await;
    let denied = call_tls(app.addr, &pki, Some((&pki, "marketplace"))).await;
    assert_eq!(denied.map_err(|s| s.code()), Err(Code::PermissionDenied));
}

#[tokio::test]
async fn mutual_tls_refuses_handshakes_without_a_certificate_or_with_a_foreign_one() {
    let pki = pki::write("books-ca", &["recommendations", "marketplace"]);
    let other = pki::write("other-ca", &["marketplace"]);
    let app = spawn_mutual_tls(&pki, "marketplace").await;

    let anonymous = call_tls(app.addr, &pki, None).await;
    assert!(
        anonymous.is_err(),
        "a client without a certificate was served: {anonymous:?}"
    );
    let foreign = call_tls(app.addr, &pki, Some((&other, "marketplace"))).await;
    assert!(
        foreign.is_err(),
        "a certificate from an unknown CA was accepted: {foreign:?}"
    );
    assert!(call_plaintext(app.addr).await.is_err());

    let metrics = app.render_metrics();
    for reason in ["certificate_required", "unknown_ca", "protocol"] {
        let counted = sample(
            &metrics,
            "tls_server_handshakes_refused_total",
            &[&format!("reason=\"{reason}\"")],
        );
        assert!(counted >= Some(1.0), "{reason} not counted:\n{metrics}");
    }
    // The allowed service is still served.
    assert_eq!(
        call_tls(app.addr, &pki, Some((&pki, "marketplace")))
            .await
            .ok(),
        Some(3)
    );
}

#[tokio::test]
async fn a_silent_handshake_neither_blocks_others_nor_outlives_its_timeout() {
    use tokio::io::AsyncReadExt as _;

    let pki = pki::write("books-ca", &["recommendations", "marketplace"]);
    let (cert, key) = (pki.cert("recommendations"), pki.key("recommendations"));
    let mut flags = mutual_tls_flags(&pki, path(&cert), path(&key), "marketplace");
    flags.extend(["--tls-handshake-timeout", "2s"]);
    let app = spawn_app_with(&flags).await;

    // Connected, but never says a word: its handshake waits for it.
    let mut silent = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    assert_eq!(
        call_tls(app.addr, &pki, Some((&pki, "marketplace")))
            .await
            .ok(),
        Some(3)
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "a call waited behind a silent handshake: {:?}",
        started.elapsed()
    );
    // The silent connection is closed at the handshake timeout.
    let mut buffer = [0; 16];
    let closed = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buffer)).await;
    assert!(
        matches!(closed, Ok(Ok(0) | Err(_))),
        "still open: {closed:?}"
    );
    let counted = sample(
        &app.render_metrics(),
        "tls_server_handshakes_refused_total",
        &["reason=\"timeout\""],
    );
    assert!(counted >= Some(1.0), "not counted: {counted:?}");
}

#[tokio::test]
async fn the_admin_port_stays_plain_http_with_mutual_tls_on() {
    let pki = pki::write("books-ca", &["recommendations"]);
    let app = spawn_mutual_tls(&pki, "marketplace").await;
    let healthz = admin_get(app.admin_addr, "/healthz").await;
    assert!(healthz.starts_with("HTTP/1.1 200"), "{healthz}");
    let metrics = admin_get(app.admin_addr, "/metrics").await;
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
}

#[test]
fn mutual_tls_without_an_allow_list_stops_start_up_naming_the_variable() {
    let pki = pki::write("books-ca", &["recommendations"]);
    let (cert, key) = (pki.cert("recommendations"), pki.key("recommendations"));
    let base = [
        ("TLS_CERT", path(&cert)),
        ("TLS_KEY", path(&key)),
        ("TLS_CLIENT_CA", path(&pki.ca)),
    ];
    let stderr = config_error(env!("CARGO_BIN_EXE_recommendations"), "GRPC_ADDR", &base);
    assert!(
        stderr.contains("TLS_ALLOWED_CLIENTS is not"),
        "expected the missing variable named in {stderr}"
    );

    let mut bad_name = base.to_vec();
    bad_name.push(("TLS_ALLOWED_CLIENTS", "Marketplace"));
    let stderr = config_error(
        env!("CARGO_BIN_EXE_recommendations"),
        "GRPC_ADDR",
        &bad_name,
    );
    assert!(
        stderr.contains("TLS_ALLOWED_CLIENTS") && stderr.contains("not a service name"),
        "{stderr}"
    );

    let without_ca = [
        ("TLS_CERT", path(&cert)),
        ("TLS_KEY", path(&key)),
        ("TLS_ALLOWED_CLIENTS", "marketplace"),
    ];
    let stderr = config_error(
        env!("CARGO_BIN_EXE_recommendations"),
        "GRPC_ADDR",
        &without_ca,
    );
    assert!(
        stderr.contains("TLS_CLIENT_CA is not"),
        "expected the missing CA named in {stderr}"
    );
}

#[test]
fn bad_certificate_files_stop_start_up_with_one_clear_line() {
    let pki = pki::write("books-ca", &["recommendations"]);
    let (cert, key) = (pki.cert("recommendations"), pki.key("recommendations"));
    let garbage = std::env::temp_dir().join(format!("garbage-{}.pem", std::process::id()));
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let empty = std::env::temp_dir().join(format!("empty-{}.pem", std::process::id()));
    std::fs::write(&empty, "no pem here\n").unwrap();
    let cases = [
        (path(&garbage).to_owned(), path(&key).to_owned(), "TLS_CERT"),
        (
            path(&empty).to_owned(),
            path(&key).to_owned(),
            "no PEM certificate",
        ),
        (
            "/no/such/cert.pem".to_owned(),
            path(&key).to_owned(),
            "cannot read",
        ),
        (
            path(&cert).to_owned(),
            path(&cert).to_owned(),
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
