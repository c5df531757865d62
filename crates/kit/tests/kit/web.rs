//! The web example as browsers and attackers see it: the page with its
//! `traceresponse` and security headers, the 404 page, the slowloris
//! defence, and RED metrics by route template on the admin port.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kit::http_server::CONTENT_SECURITY_POLICY;
use testkit::http::{Page, get, sample};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::helpers::{eventually, metrics, start_web};

/// Asserts the browser security headers every response of the kit carries.
fn assert_security_headers(page: &Page) {
    let header = |name: &str| page.headers.get(name).and_then(|v| v.to_str().ok());
    assert_eq!(
        header("content-security-policy"),
        Some(CONTENT_SECURITY_POLICY),
        "{:?}",
        page.headers
    );
    assert_eq!(header("x-content-type-options"), Some("nosniff"));
    assert_eq!(header("referrer-policy"), Some("no-referrer"));
}

/// Whether `value` is a W3C Trace Context `traceresponse`:
/// `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`, with ids that are
/// not all zeros (an all-zero id is invalid).
fn is_traceresponse(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let lowercase_hex = |part: &str| {
        part.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let non_zero = |part: &str| part.bytes().any(|b| b != b'0');
    matches!(parts.as_slice(), [version, trace, span, flags]
        if *version == "00"
            && trace.len() == 32 && lowercase_hex(trace) && non_zero(trace)
            && span.len() == 16 && lowercase_hex(span) && non_zero(span)
            && flags.len() == 2 && lowercase_hex(flags))
}

#[test]
fn is_traceresponse_takes_the_w3c_format_only() {
    assert!(is_traceresponse(
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    ));
    for bad in [
        "",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-00",
    ] {
        assert!(!is_traceresponse(bad), "{bad:?}");
    }
}

#[tokio::test]
async fn the_page_has_a_traceresponse_and_the_security_headers() {
    let process = start_web(&[]).await;
    let page = get(process.addr, "/").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<h1>Hello from the kit</h1>"),
        "{}",
        page.body
    );
    let traceresponse = page
        .headers
        .get("traceresponse")
        .unwrap_or_else(|| panic!("no traceresponse in {:?}", page.headers))
        .to_str()
        .unwrap();
    assert!(is_traceresponse(traceresponse), "{traceresponse:?}");
    assert_security_headers(&page);
}

#[tokio::test]
async fn an_unknown_path_gets_the_404_page_with_the_security_headers() {
    let process = start_web(&[]).await;
    let page = get(process.addr, "/no/such/page").await;
    assert_eq!(page.status, 404, "{}", page.body);
    assert!(page.body.contains("Not found"), "{}", page.body);
    assert_security_headers(&page);
}

#[tokio::test]
async fn headers_that_never_end_are_cut_off_by_the_header_read_timeout() {
    let process = start_web(&[("HTTP_HEADER_READ_TIMEOUT", "1s")]).await;
    let answer = cut_off_after_a_second(process.addr, b"GET / HTTP/1.1\r\nHost: x\r\n").await;
    assert!(!answer.contains(" 200 "), "{answer}");
    // Only that connection was cut off.
    assert_eq!(get(process.addr, "/").await.status, 200);
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_cut_off_by_the_header_read_timeout() {
    let process = start_web(&[("HTTP_HEADER_READ_TIMEOUT", "1s")]).await;
    let answer = cut_off_after_a_second(process.addr, b"").await;
    assert!(answer.is_empty(), "{answer}");
    assert_eq!(get(process.addr, "/").await.status, 200);
}

/// Connects, sends `request` (headers that never end, or nothing), and
/// returns what the server answered once it closed the connection, asserting
/// that it did, within 5 s, and no sooner than the 1 s timeout. Timed from
/// before the connection exists, so the server's timer cannot have started
/// earlier than ours.
async fn cut_off_after_a_second(addr: SocketAddr, request: &[u8]) -> String {
    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    // Either end is a disconnection: a clean close, or a reset.
    let closed =
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let took = started.elapsed();
    assert!(
        closed.is_ok(),
        "the connection was still open after {took:?}"
    );
    assert!(took >= Duration::from_secs(1), "closed after only {took:?}");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn silent_connections_do_not_hold_up_the_drain() {
    let mut process = start_web(&[("HTTP_HEADER_READ_TIMEOUT", "10s")]).await;
    let _web = tokio::net::TcpStream::connect(process.addr).await.unwrap();
    let _admin = tokio::net::TcpStream::connect(process.admin_addr)
        .await
        .unwrap();
    process.signal("TERM");
    let (code, took) = process.wait_exit(Duration::from_secs(30)).await;
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(5), "exited after {took:?}");
}

/// The `http_server_request_duration_seconds_count` of the requests with
/// these labels, or what the exposition holds instead.
async fn request_count(admin_addr: SocketAddr, labels: &[&str]) -> Result<f64, String> {
    let exposition = metrics(admin_addr).await;
    sample(
        &exposition,
        "http_server_request_duration_seconds_count{",
        labels,
    )
    .ok_or_else(|| format!("no sample with {labels:?} in:\n{exposition}"))
}

#[tokio::test]
async fn page_loads_are_counted_by_route_template_in_http_server_request_duration_seconds() {
    let process = start_web(&[]).await;
    for _ in 0..2 {
        assert_eq!(get(process.addr, "/").await.status, 200);
    }
    let unknown = "/no/such/page/4f1c";
    assert_eq!(get(process.addr, unknown).await.status, 404);

    let admin_addr = process.admin_addr;
    let page_loads = [
        "http_request_method=\"GET\"",
        "http_route=\"/\"",
        "http_response_status_code=\"200\"",
    ];
    let not_found = ["http_response_status_code=\"404\""];
    for (what, labels, count) in [
        (
            "2 page loads counted under http_route=\"/\"",
            &page_loads[..],
            2.0,
        ),
        ("the 404 counted", &not_found[..], 1.0),
    ] {
        eventually(what, || async move {
            match request_count(admin_addr, labels).await? {
                seen if seen == count => Ok(()),
                seen => Err(format!("a count of {seen}")),
            }
        })
        .await;
    }
    // The 404 is counted, but its raw path is no label: a scan of random
    // paths would otherwise make a series per path.
    let exposition = metrics(admin_addr).await;
    assert!(!exposition.contains(unknown), "{exposition}");
}

#[tokio::test]
async fn a_port_taken_before_the_process_binds_it_is_replaced() {
    // testkit's `Spec` picks ports that were free a moment ago. One can be
    // taken before the process binds it, as the source port of some
    // connection: bound, not listening, as here.
    let spec = testkit::process::Spec::new(crate::helpers::example("hello_web"), "HTTP_ADDR");
    let taken = tokio::net::TcpSocket::new_v4().unwrap();
    taken.bind(spec.addr).unwrap();
    let process = spec.start().await;
    assert_ne!(process.addr, spec.addr);
    assert_eq!(get(process.addr, "/").await.status, 200);
}
