//! The HTTP server layer around a small axum app.

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry::trace::SpanKind;
use telemetry::HttpServerLayer;

use testkit::http::sample;
use testkit::telemetry::{attribute, capture};

async fn serve_app() -> SocketAddr {
    let app = Router::new()
        .route("/", get(|| async { "home" }))
        .route("/books/{id}", get(|| async { "a book" }))
        .layer(HttpServerLayer::new().unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn get_with(
    addr: SocketAddr,
    path: &str,
    traceparent: Option<&str>,
) -> http::Response<String> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let mut request = http::Request::get(format!("http://{addr}{path}"));
    if let Some(value) = traceparent {
        request = request.header("traceparent", value);
    }
    let response = client
        .request(request.body(Empty::new()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    http::Response::from_parts(parts, String::from_utf8(body.to_vec()).unwrap())
}

const HTTP_COUNT: &str = "http_server_request_duration_seconds_count{";

#[tokio::test]
async fn requests_are_labelled_by_route_template_and_unmatched_paths_share_one_label() {
    let captured = capture();
    let addr = serve_app().await;
    for path in ["/books/1", "/books/2", "/books/3"] {
        assert_eq!(get_with(addr, path, None).await.status(), 200);
    }
    for path in ["/admin", "/.env", "/books/1/edit"] {
        assert_eq!(get_with(addr, path, None).await.status(), 404);
    }
    let metrics = captured.metrics.render();
    let books = [
        "http_request_method=\"GET\"",
        "http_route=\"/books/{id}\"",
        "http_response_status_code=\"200\"",
    ];
    assert_eq!(sample(&metrics, HTTP_COUNT, &books), Some(3.0), "{metrics}");
    let unmatched = ["http_route=\"_OTHER\"", "http_response_status_code=\"404\""];
    assert_eq!(
        sample(&metrics, HTTP_COUNT, &unmatched),
        Some(3.0),
        "{metrics}"
    );
    assert!(
        !metrics.contains(".env") && !metrics.contains("/admin") && !metrics.contains("books/1")
    );

    let spans = captured.spans();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(
        names.iter().filter(|n| **n == "GET /books/{id}").count(),
        3,
        "{names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| **n == "GET").count(),
        3,
        "{names:?}"
    );
}

#[tokio::test]
async fn every_response_carries_a_traceresponse_naming_its_server_span() {
    let captured = capture();
    let addr = serve_app().await;
    let response = get_with(addr, "/", None).await;
    let header = response.headers()["traceresponse"]
        .to_str()
        .unwrap()
        .to_owned();
    let span = captured
        .spans()
        .into_iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .unwrap();
    let expected = format!(
        "00-{}-{}-01",
        span.span_context.trace_id(),
        span.span_context.span_id()
    );
    assert_eq!(header, expected);
    assert_eq!(attribute(&span, "http.route").as_deref(), Some("/"));
    assert_eq!(
        attribute(&span, "http.response.status_code").as_deref(),
        Some("200")
    );
    // Unmatched routes get one too.
    assert!(
        get_with(addr, "/nope", None)
            .await
            .headers()
            .contains_key("traceresponse")
    );
}

#[tokio::test]
async fn an_incoming_traceparent_is_continued() {
    let captured = capture();
    let addr = serve_app().await;
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let response = get_with(addr, "/", Some(parent)).await;
    let header = response.headers()["traceresponse"].to_str().unwrap();
    assert!(
        header.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{header}"
    );
    let span = captured
        .spans()
        .into_iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .unwrap();
    assert_eq!(span.parent_span_id.to_string(), "00f067aa0ba902b7");
}
