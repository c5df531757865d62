//! Mutual TLS between the services, with one certificate per service as
//! `cargo xtask certs` makes them (the same `tls::dev` code) and the
//! settings the mTLS overlays give each service: the page is served
//! through the call; a valid certificate of a service that is not on the
//! allow-list gets PERMISSION_DENIED, logged once and counted; a client
//! without a certificate cannot connect, and the refused handshake is
//! logged and counted. Also the web server's own TLS and allow-list.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use testkit::http::sample;
use testkit::pki::{self, Pki};
use testkit::process::{Process, Spec, config_error};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use crate::helpers::{
    MARKETPLACE_BIN, get, listed_titles, recommendations_bin, spawn_marketplace_with,
};

fn path(p: &std::path::Path) -> String {
    p.to_str().unwrap().to_owned()
}

/// The server settings the mTLS overlays give recommendations.
fn recommendations_env(pki: &Pki) -> Vec<(&'static str, String)> {
    vec![
        ("TLS_CERT", path(&pki.cert("recommendations"))),
        ("TLS_KEY", path(&pki.key("recommendations"))),
        ("TLS_CLIENT_CA", path(&pki.ca)),
        ("TLS_ALLOWED_CLIENTS", "marketplace".to_owned()),
    ]
}

/// A marketplace process calling `recommendations` over TLS, presenting
/// the certificate of `identity`, if any.
async fn start_marketplace(
    recommendations: &Process,
    pki: &Pki,
    identity: Option<&str>,
) -> Process {
    // The certificate names localhost, as every `cargo xtask certs` one does.
    let url = format!("https://localhost:{}", recommendations.addr.port());
    let mut spec = Spec::new(MARKETPLACE_BIN, "HTTP_ADDR")
        .env("RECOMMENDATIONS_URL", url)
        .env("RECOMMENDATIONS_CA", path(&pki.ca))
        .env("RECOMMENDATIONS_DEADLINE", "2s");
    if let Some(service) = identity {
        spec = spec
            .env("TLS_CLIENT_CERT", path(&pki.cert(service)))
            .env("TLS_CLIENT_KEY", path(&pki.key(service)));
    }
    spec.start().await
}

/// The admin port's metrics page.
async fn metrics(process: &Process) -> String {
    get(process.admin_addr, "/metrics").await.body
}

#[tokio::test]
async fn the_page_is_served_over_mutual_tls_and_only_listed_services_may_call() {
    let pki = pki::write(
        "books-ca",
        &["recommendations", "marketplace", "storefront"],
    );
    let recommendations = Spec::new(recommendations_bin(), "GRPC_ADDR")
        .envs(&recommendations_env(&pki))
        .start()
        .await;

    // The marketplace, with its own certificate: the page has its books.
    let marketplace = start_marketplace(&recommendations, &pki, Some("marketplace")).await;
    let page = get(marketplace.addr, "/").await;
    assert_eq!(page.status, 200);
    assert_eq!(listed_titles(&page.body).len(), 3, "{}", page.body);

    // Another service's valid certificate, from the same CA: the call is
    // answered PERMISSION_DENIED, and the page degrades.
    let impostor = start_marketplace(&recommendations, &pki, Some("storefront")).await;
    let page = get(impostor.addr, "/").await;
    assert_eq!(page.status, 200);
    assert!(listed_titles(&page.body).is_empty(), "{}", page.body);
    let fallbacks = sample(
        &metrics(&impostor).await,
        "marketplace_recommendations_fallback_total",
        &["rpc_response_status_code=\"PERMISSION_DENIED\""],
    );
    assert_eq!(fallbacks, Some(1.0));
    let refused = recommendations
        .log_lines_with_message("call refused: the client is not in TLS_ALLOWED_CLIENTS");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["client"], "spiffe://online-books/storefront");
    assert_eq!(refused[0]["reason"], "not_allowed");
    let counted = sample(
        &metrics(&recommendations).await,
        "tls_server_calls_refused_total",
        &["reason=\"not_allowed\""],
    );
    assert_eq!(counted, Some(1.0));

    // No certificate at all: the handshake is refused. The marketplace's
    // log says why; recommendations logs the peer and the reason.
    let anonymous = start_marketplace(&recommendations, &pki, None).await;
    let page = get(anonymous.addr, "/").await;
    assert_eq!(page.status, 200);
    assert!(listed_titles(&page.body).is_empty(), "{}", page.body);
    let failed = anonymous.log_lines_with_message("gRPC call failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    let error = failed[0]["error.message"].as_str().unwrap_or_default();
    assert!(
        error.contains("requires a client certificate") && error.contains("TLS_CLIENT_CERT"),
        "the client's error does not say a certificate was wanted: {error}"
    );
    let handshakes = recommendations.log_lines_with_message("TLS handshake refused");
    assert!(
        handshakes
            .iter()
            .any(|line| line["reason"] == "certificate_required"
                && line["peer"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("127.0.0.1:"))),
        "{handshakes:?}"
    );
    let counted = sample(
        &metrics(&recommendations).await,
        "tls_server_handshakes_refused_total",
        &["reason=\"certificate_required\""],
    );
    assert!(counted >= Some(1.0), "not counted: {counted:?}");

    // The marketplace with its certificate is still served.
    let page = get(marketplace.addr, "/").await;
    assert_eq!(listed_titles(&page.body).len(), 3, "{}", page.body);
}

/// A GET over TLS, trusting `pki`'s CA and presenting `identity`'s
/// certificate if any: the status code, or why there is none.
async fn get_tls(
    addr: SocketAddr,
    path: &str,
    pki: &Pki,
    identity: Option<&str>,
) -> Result<u16, String> {
    kit::tls::install_crypto_provider();
    let mut roots = RootCertStore::empty();
    roots
        .add(pem_certificates(&pki.ca).remove(0))
        .map_err(|e| e.to_string())?;
    let builder = ClientConfig::builder().with_root_certificates(roots);
    let config = match identity {
        Some(service) => {
            let key = rustls::pki_types::pem::PemObject::from_pem_file(pki.key(service))
                .map_err(|e| e.to_string())?;
            builder
                .with_client_auth_cert(pem_certificates(&pki.cert(service)), key)
                .map_err(|e| e.to_string())?
        }
        None => builder.with_no_client_auth(),
    };
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut stream = TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| format!("read: {e}"))?;
    testkit::http::status_of(&String::from_utf8_lossy(&response))
        .ok_or_else(|| "no HTTP response".to_owned())
}

fn pem_certificates(file: &std::path::Path) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject as _;
    rustls::pki_types::CertificateDer::pem_file_iter(file)
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn a_web_server_with_mutual_tls_serves_listed_services_and_forbids_others() {
    let pki = pki::write("books-ca", &["marketplace", "loadgen", "storefront"]);
    let app = spawn_marketplace_with(&[
        format!("--tls-cert={}", path(&pki.cert("marketplace"))),
        format!("--tls-key={}", path(&pki.key("marketplace"))),
        format!("--tls-client-ca={}", path(&pki.ca)),
        "--tls-allowed-clients=loadgen".to_owned(),
        // Nothing listens there: the page degrades, which is all this needs.
        "--recommendations-url=http://127.0.0.1:1".to_owned(),
    ])
    .await;

    assert_eq!(get_tls(app.addr, "/", &pki, Some("loadgen")).await, Ok(200));
    assert_eq!(
        get_tls(app.addr, "/", &pki, Some("storefront")).await,
        Ok(403)
    );
    let counted = sample(
        &app.render_metrics(),
        "tls_server_calls_refused_total",
        &["reason=\"not_allowed\""],
    );
    assert!(counted >= Some(1.0), "not counted: {counted:?}");
    // No certificate: no answer at all, and the refusal is counted.
    let anonymous = get_tls(app.addr, "/", &pki, None).await;
    assert!(
        anonymous
            .as_ref()
            .is_err_and(|e| e.contains("CertificateRequired")),
        "{anonymous:?}"
    );
    let counted = sample(
        &app.render_metrics(),
        "tls_server_handshakes_refused_total",
        &["reason=\"certificate_required\""],
    );
    assert!(counted >= Some(1.0), "not counted: {counted:?}");
    // Plain HTTP on the TLS port gets nothing; the admin port stays plain.
    let plain = testkit::http::raw_exchange(
        app.addr,
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(testkit::http::status_of(&plain), None, "{plain}");
    assert_eq!(get(app.admin_addr, "/readyz").await.status, 200);
}

#[tokio::test]
async fn a_tls_client_that_says_nothing_after_the_handshake_is_cut_off() {
    let pki = pki::write("books-ca", &["marketplace"]);
    let app = spawn_marketplace_with(&[
        format!("--tls-cert={}", path(&pki.cert("marketplace"))),
        format!("--tls-key={}", path(&pki.key("marketplace"))),
        "--http-header-read-timeout=300ms".to_owned(),
        "--recommendations-url=http://127.0.0.1:1".to_owned(),
    ])
    .await;
    kit::tls::install_crypto_provider();
    let mut roots = RootCertStore::empty();
    roots.add(pem_certificates(&pki.ca).remove(0)).unwrap();
    let config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut stream = TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
        .unwrap();
    let mut buffer = [0; 16];
    let closed = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buffer)).await;
    assert!(
        matches!(closed, Ok(Ok(0) | Err(_))),
        "a silent TLS connection was kept open: {closed:?}"
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
        let stderr = config_error(MARKETPLACE_BIN, "HTTP_ADDR", &vars);
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in {stderr}"
        );
    }
}
