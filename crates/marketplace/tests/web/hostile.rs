//! Hostile HTTP input against the marketplace binary: each case gets a
//! clear answer, nothing leaks into metrics, and none of it can hold the
//! process past its shutdown bound.

use std::time::{Duration, Instant};

use testkit::http::{raw_exchange, series, status_of};
use testkit::process::{Process, Spec};

use crate::helpers::{get, listed_titles, marketplace_spec, recommendations_bin};

/// Both services; the marketplace with `env`.
async fn start(env: &[(&str, String)]) -> (Process, Process) {
    let recommendations = Spec::new(recommendations_bin(), "GRPC_ADDR").start().await;
    let marketplace = marketplace_spec(recommendations.addr)
        .envs(env)
        .start()
        .await;
    (recommendations, marketplace)
}

async fn assert_page_still_served(marketplace: &Process) {
    let page = get(marketplace.addr, "/").await;
    assert_eq!(page.status, 200);
    assert_eq!(listed_titles(&page.body).len(), 3);
}

#[tokio::test]
async fn traversal_paths_get_404() {
    let (_recommendations, marketplace) = start(&[]).await;
    for path in [
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2fetc%2fpasswd",
        "/..;/..;/etc/passwd",
        "//etc/passwd",
    ] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let response =
            raw_exchange(marketplace.addr, request.as_bytes(), Duration::from_secs(5)).await;
        let status = status_of(&response);
        assert!(matches!(status, Some(400 | 404)), "{path}: {response}");
        assert!(!response.contains("root:"), "{path} leaked a file");
    }
    assert_page_still_served(&marketplace).await;
}

#[tokio::test]
async fn a_200_kb_header_and_a_100_kb_uri_are_refused() {
    let (_recommendations, marketplace) = start(&[]).await;
    let huge_header = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Junk: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    let response = raw_exchange(
        marketplace.addr,
        huge_header.as_bytes(),
        Duration::from_secs(5),
    )
    .await;
    assert!(
        matches!(status_of(&response), Some(431 | 400)),
        "{}",
        &response[..response.len().min(200)]
    );

    let huge_uri = format!(
        "GET /{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    let response = raw_exchange(
        marketplace.addr,
        huge_uri.as_bytes(),
        Duration::from_secs(5),
    )
    .await;
    assert!(
        matches!(status_of(&response), Some(414 | 431 | 400)),
        "{}",
        &response[..response.len().min(200)]
    );
    assert_page_still_served(&marketplace).await;
}

#[tokio::test]
async fn an_oversized_body_is_refused_without_being_read() {
    let (_recommendations, marketplace) = start(&[]).await;
    // No route reads a body; the claim of 1 GiB must not be waited for.
    let request = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\nConnection: close\r\n\r\npartial";
    let started = Instant::now();
    let response = raw_exchange(marketplace.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(status_of(&response), Some(405), "{response}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "waited for the body"
    );
    assert_page_still_served(&marketplace).await;
}

#[tokio::test]
async fn slowloris_is_cut_off_by_the_header_read_timeout() {
    let (_recommendations, marketplace) =
        start(&[("HTTP_HEADER_READ_TIMEOUT", "1s".to_owned())]).await;
    let started = Instant::now();
    // Headers that never end.
    let response = raw_exchange(
        marketplace.addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n",
        Duration::from_secs(10),
    )
    .await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "the connection was held {took:?}"
    );
    assert!(
        took >= Duration::from_millis(900),
        "closed before the timeout: {took:?}"
    );
    assert!(!response.contains("200 OK"), "{response}");
    assert_page_still_served(&marketplace).await;
}

#[tokio::test]
async fn twenty_half_open_connections_cannot_hold_the_shutdown() {
    let (_recommendations, mut marketplace) = start(&[
        ("SHUTDOWN_DELAY", "0s".to_owned()),
        ("SHUTDOWN_TIMEOUT", "3s".to_owned()),
    ])
    .await;
    let mut held = Vec::new();
    for i in 0..20 {
        use tokio::io::AsyncWriteExt as _;
        let mut stream = tokio::net::TcpStream::connect(marketplace.addr)
            .await
            .unwrap();
        // Half the connections send half a request; half send nothing.
        if i % 2 == 0 {
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
        }
        held.push(stream);
    }
    marketplace.signal("TERM");
    let (code, took) = marketplace.wait_exit(Duration::from_secs(10)).await;
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[tokio::test]
async fn a_scan_of_random_paths_adds_no_http_series() {
    use rand::RngExt as _;
    let (_recommendations, marketplace) = start(&[]).await;
    assert_eq!(get(marketplace.addr, "/").await.status, 200);
    assert_eq!(get(marketplace.addr, "/first-miss").await.status, 404);
    let before = series(
        &get(marketplace.admin_addr, "/metrics").await.body,
        "http_server_",
    );
    for _ in 0..2000 {
        let path = format!(
            "/{:016x}/{}",
            rand::rng().random::<u64>(),
            rand::rng().random::<u32>()
        );
        assert_eq!(get(marketplace.addr, &path).await.status, 404);
    }
    let exposition = get(marketplace.admin_addr, "/metrics").await.body;
    assert_eq!(
        series(&exposition, "http_server_"),
        before,
        "random paths created series"
    );
}

#[tokio::test]
async fn a_catalog_title_with_markup_is_escaped_on_the_page() {
    let path = std::env::temp_dir().join(format!("xss-catalog-{}.json", std::process::id()));
    std::fs::write(
        &path,
        r#"[{"id": 1, "title": "<script>alert('owned')</script>", "category": "MYSTERY"},
            {"id": 2, "title": "Tom & Jerry \"Detectives\"", "category": "MYSTERY"}]"#,
    )
    .unwrap();
    let recommendations = Spec::new(recommendations_bin(), "GRPC_ADDR")
        .env("CATALOG_PATH", path.to_str().unwrap())
        .start()
        .await;
    let marketplace = marketplace_spec(recommendations.addr).start().await;
    let page = get(marketplace.addr, "/").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(
        page.body
            .contains("&#60;script&#62;alert(&#39;owned&#39;)&#60;/script&#62;"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Tom &#38; Jerry &#34;Detectives&#34;"),
        "{}",
        page.body
    );
}
