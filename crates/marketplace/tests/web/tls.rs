//! The page rendered over mutual TLS between the services.

use testkit::pki;
use testkit::process::config_error;

use crate::helpers::{get, listed_titles, spawn_marketplace_with, spawn_recommendations_with};

fn path(p: &std::path::Path) -> String {
    p.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_page_renders_over_mutual_tls_and_degrades_without_a_client_certificate() {
    let pki = pki::write("books-ca");
    let recommendations = spawn_recommendations_with(&[
        format!("--tls-cert={}", path(&pki.server_cert)),
        format!("--tls-key={}", path(&pki.server_key)),
        format!("--tls-client-ca={}", path(&pki.ca)),
    ])
    .await
    .addr;
    // The server certificate names 127.0.0.1, so the URL can use the address.
    let url = format!("https://127.0.0.1:{}", recommendations.port());

    let with_certificate = spawn_marketplace_with(&[
        format!("--recommendations-url={url}"),
        format!("--recommendations-ca={}", path(&pki.ca)),
        format!("--tls-client-cert={}", path(&pki.client_cert)),
        format!("--tls-client-key={}", path(&pki.client_key)),
        "--recommendations-deadline=2s".to_owned(),
    ])
    .await;
    let page = get(with_certificate.addr, "/").await;
    assert_eq!(page.status, 200);
    assert_eq!(listed_titles(&page.body).len(), 3, "{}", page.body);

    let without_certificate = spawn_marketplace_with(&[
        format!("--recommendations-url={url}"),
        format!("--recommendations-ca={}", path(&pki.ca)),
    ])
    .await;
    let page = get(without_certificate.addr, "/").await;
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
        let stderr = config_error(crate::helpers::MARKETPLACE_BIN, "HTTP_ADDR", &vars);
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in {stderr}"
        );
    }
}
