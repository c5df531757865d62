//! Telemetry fidelity at the edges of a call: a call cut off by its deadline
//! or dropped by its caller, a page load the browser abandons, the upstream a
//! client call names, and what is dropped when the collector stalls. Each is
//! recorded exactly once, as what it was.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proto::v1::RecommendRequest;
use proto::v1::recommendations_service_client::RecommendationsServiceClient;
use testkit::http::series;
use testkit::otlp::{KIND_CLIENT, KIND_SERVER, OtlpReceiver, ReceivedSpan};
use testkit::process::{Process, Spec};
use tokio::io::AsyncWriteExt as _;

use crate::helpers::{
    get, listed_titles, marketplace_spec, recommendations_bin, sample, start_both,
};

const METHOD: &str = "recommendations.v1.RecommendationsService/Recommend";
const SERVER_CALLS: &str = "rpc_server_call_duration_seconds_count{";
const CLIENT_CALLS: &str = "rpc_client_call_duration_seconds_count{";
const PAGE_LOADS: &str = "http_server_request_duration_seconds_count{";

/// How long any expected record may take to show up.
const PATIENCE: Duration = Duration::from_secs(10);

/// After the first record of an event, the time a duplicate would take to
/// show up beside it; "exactly once" is checked after it.
const SETTLE: Duration = Duration::from_millis(500);

/// Export settings that make batches leave within a fraction of a second.
fn export_env(endpoint: String) -> Vec<(&'static str, String)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
        ("OTEL_BLRP_SCHEDULE_DELAY", "100".to_owned()),
    ]
}

/// Recommendations answering every call 300 ms late, exporting to `receiver`.
async fn slow_recommendations(receiver: &OtlpReceiver) -> Process {
    Spec::new(recommendations_bin(), "GRPC_ADDR")
        .envs(&export_env(receiver.endpoint()))
        .env("FAULT_LATENCY", "300ms")
        .start()
        .await
}

fn mystery() -> RecommendRequest {
    RecommendRequest {
        user_id: 1,
        category: 1,
        max_results: 3,
    }
}

/// Polls `probe` until it gives `Ok`, failing after [`PATIENCE`] with `what`
/// was missing and the last state the probe described.
async fn eventually<T>(what: &str, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match probe() {
            Ok(found) => return found,
            Err(state) if Instant::now() > deadline => {
                panic!("after {PATIENCE:?}, still no {what}; found:\n{state}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The value of the sample of `name` with all of `labels` on `admin`'s
/// `/metrics`, once it appears.
async fn metric(admin: SocketAddr, name: &str, labels: &[&str]) -> f64 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let exposition = get(admin, "/metrics").await.body;
        if let Some(value) = sample(&exposition, name, labels) {
            return value;
        }
        if Instant::now() > deadline {
            let present = series(&exposition, name);
            let present = if present.is_empty() {
                "nothing of that name".to_owned()
            } else {
                present.join("\n")
            };
            panic!("after {PATIENCE:?}, no sample {name}{labels:?} on {admin}; present: {present}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The sum of the samples on `admin`'s `/metrics` of `name` whose line
/// contains `containing`, and those lines: how many times something was
/// recorded, whatever its other labels.
async fn total(admin: SocketAddr, name: &str, containing: &str) -> (f64, String) {
    let exposition = get(admin, "/metrics").await.body;
    let lines: Vec<&str> = exposition
        .lines()
        .filter(|line| line.starts_with(name) && line.contains(containing))
        .collect();
    let sum = lines
        .iter()
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    (sum, lines.join("\n"))
}

/// One line per span: enough to see what arrived instead.
fn describe(spans: &[ReceivedSpan]) -> String {
    let line = |s: &ReceivedSpan| {
        let attributes: Vec<_> = s
            .attributes
            .iter()
            .map(|kv| (&kv.key, s.attribute(&kv.key)))
            .collect();
        let (service, kind, name, status) = (&s.service_name, s.kind, &s.name, s.status_code);
        format!("{service} kind={kind} {name:?} status={status} {attributes:?}\n")
    };
    spans.iter().map(line).collect()
}

/// The first span received that `matches`, once it arrives.
async fn span(
    receiver: &OtlpReceiver,
    what: &str,
    matches: impl Fn(&ReceivedSpan) -> bool,
) -> ReceivedSpan {
    eventually(what, || {
        let spans = receiver.spans();
        spans
            .iter()
            .find(|s| matches(s))
            .cloned()
            .ok_or_else(|| describe(&spans))
    })
    .await
}

/// The one log line with `message`: it must appear, and after [`SETTLE`]
/// be the only one.
async fn the_one_log_line(process: &Process, message: &str) -> serde_json::Value {
    let what = format!("log line {message:?}");
    eventually(&what, || {
        let lines = process.log_lines();
        let found = lines.iter().any(|line| line["message"] == message);
        found.then_some(()).ok_or_else(|| format!("{lines:#?}"))
    })
    .await;
    tokio::time::sleep(SETTLE).await;
    let mut lines = process.log_lines_with_message(message);
    assert_eq!(lines.len(), 1, "logged more than once: {lines:#?}");
    lines.remove(0)
}

/// The server side of a failed call to `recommendations`: one sample of
/// `code`, one SERVER span with it, one log line at `level`.
async fn assert_recorded_once(
    recommendations: &Process,
    receiver: &OtlpReceiver,
    code: &str,
    level: &str,
) -> ReceivedSpan {
    let status = format!("rpc_response_status_code=\"{code}\"");
    let labels = [
        "rpc_system_name=\"grpc\"",
        &format!("rpc_method=\"{METHOD}\""),
        &status,
    ];
    assert_eq!(
        metric(recommendations.admin_addr, SERVER_CALLS, &labels).await,
        1.0
    );
    let what = format!("recommendations SERVER span with rpc.response.status_code={code}");
    let server_span = span(receiver, &what, |s| {
        s.service_name == "recommendations"
            && s.kind == KIND_SERVER
            && s.name == METHOD
            && s.attribute("rpc.response.status_code").as_deref() == Some(code)
    })
    .await;
    assert_eq!(server_span.attribute("rpc.method").as_deref(), Some(METHOD));

    let line = the_one_log_line(recommendations, "gRPC call failed").await;
    assert_eq!(line["rpc.response.status_code"], code, "{line}");
    assert_eq!(line["rpc.method"], METHOD, "{line}");
    assert_eq!(line["level"], level, "{line}");

    let (calls, lines) = total(recommendations.admin_addr, SERVER_CALLS, METHOD).await;
    assert_eq!(calls, 1.0, "one call, recorded more than once:\n{lines}");
    let server_spans: Vec<_> = receiver
        .spans()
        .into_iter()
        .filter(|s| s.service_name == "recommendations" && s.kind == KIND_SERVER)
        .collect();
    assert_eq!(
        server_spans.len(),
        1,
        "one call, more than one span:\n{}",
        describe(&server_spans)
    );
    server_span
}

#[tokio::test]
async fn a_call_cut_off_by_its_deadline_is_recorded_once_as_deadline_exceeded() {
    let receiver = OtlpReceiver::start().await;
    let recommendations = slow_recommendations(&receiver).await;
    let channel = testkit::grpc::channel(recommendations.addr).await;
    let mut request = tonic::Request::new(mystery());
    request.set_timeout(Duration::from_millis(100));
    let status = RecommendationsServiceClient::new(channel)
        .recommend(request)
        .await
        .expect_err("a 300 ms call answered within its 100 ms deadline");
    // tonic's client runs the same deadline and, when its own timer wins the
    // race with the server's answer, reports it as CANCELLED "Timeout
    // expired" (tonic's `Status::from_error`): the client's view is tonic's,
    // not ours. What is pinned here is the server's record of the call.
    let locally_expired =
        status.code() == tonic::Code::Cancelled && status.message() == "Timeout expired";
    assert!(
        status.code() == tonic::Code::DeadlineExceeded || locally_expired,
        "the client saw {status:?}"
    );

    let span =
        assert_recorded_once(&recommendations, &receiver, "DEADLINE_EXCEEDED", "ERROR").await;
    assert_eq!(
        span.status_code, 2,
        "a missed deadline is a server error: {span:#?}"
    );
}

#[tokio::test]
async fn a_call_the_client_cancels_is_recorded_once_as_cancelled() {
    let receiver = OtlpReceiver::start().await;
    let recommendations = slow_recommendations(&receiver).await;
    let channel = testkit::grpc::channel(recommendations.addr).await;
    let mut client = RecommendationsServiceClient::new(channel);
    let call = client.recommend(mystery());
    // Dropping the call future resets the stream; the server sees the
    // RST_STREAM on its own time, hence the polling below.
    let gave_up = tokio::time::timeout(Duration::from_millis(100), call).await;
    assert!(
        gave_up.is_err(),
        "a 300 ms call answered within 100 ms: {gave_up:?}"
    );

    let span = assert_recorded_once(&recommendations, &receiver, "CANCELLED", "WARN").await;
    assert_ne!(
        span.status_code, 2,
        "the caller's cancel is not a server error: {span:#?}"
    );
}

#[tokio::test]
async fn a_page_load_the_client_abandons_is_recorded_once() {
    let receiver = OtlpReceiver::start().await;
    let recommendations = slow_recommendations(&receiver).await;
    let marketplace = marketplace_spec(recommendations.addr)
        .envs(&export_env(receiver.endpoint()))
        .env("RECOMMENDATIONS_DEADLINE", "2s")
        .start()
        .await;
    let mut browser = tokio::net::TcpStream::connect(marketplace.addr)
        .await
        .unwrap();
    browser
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(browser);

    // The client side already records a dropped call: proof that the page
    // load was abandoned, before what this test is about.
    let cancelled = [
        &format!("rpc_method=\"{METHOD}\""),
        "rpc_response_status_code=\"CANCELLED\"",
    ];
    assert_eq!(
        metric(marketplace.admin_addr, CLIENT_CALLS, &cancelled).await,
        1.0
    );

    let abandoned = ["error_type=\"cancelled\"", "http_route=\"/\""];
    assert_eq!(
        metric(marketplace.admin_addr, PAGE_LOADS, &abandoned).await,
        1.0
    );
    let page_span = span(&receiver, "marketplace SERVER span GET /", |s| {
        s.service_name == "marketplace" && s.kind == KIND_SERVER && s.name == "GET /"
    })
    .await;
    let shown = describe(std::slice::from_ref(&page_span));
    let error_type = page_span.attribute("error.type");
    assert_eq!(
        error_type.as_deref(),
        Some("cancelled"),
        "error.type of {shown}"
    );

    let line = the_one_log_line(&marketplace, "HTTP request ended before its response").await;
    assert_eq!(line["level"], "WARN", "{line}");
    assert_eq!(line["http.route"], "/", "{line}");
    assert_eq!(line["error.type"], "cancelled", "{line}");

    let (calls, lines) = total(marketplace.admin_addr, CLIENT_CALLS, METHOD).await;
    assert_eq!(
        calls, 1.0,
        "one client call, recorded more than once:\n{lines}"
    );
    let (loads, lines) = total(marketplace.admin_addr, PAGE_LOADS, "").await;
    assert_eq!(
        loads, 1.0,
        "one page load, recorded more than once:\n{lines}"
    );
}

#[tokio::test]
async fn client_spans_and_metrics_name_the_configured_upstream() {
    let receiver = OtlpReceiver::start().await;
    let (recommendations, marketplace) = start_both(&export_env(receiver.endpoint())).await;
    let page = get(marketplace.addr, "/").await;
    assert_eq!(listed_titles(&page.body).len(), 3, "{}", page.body);
    let port = recommendations.addr.port().to_string();

    let client_span = span(&receiver, "marketplace CLIENT span", |s| {
        s.service_name == "marketplace" && s.kind == KIND_CLIENT
    })
    .await;
    let shown = describe(std::slice::from_ref(&client_span));
    let address = client_span.attribute("server.address");
    assert_eq!(
        address.as_deref(),
        Some("127.0.0.1"),
        "server.address of {shown}"
    );
    let server_port = client_span.attribute("server.port");
    assert_eq!(server_port, Some(port.clone()), "server.port of {shown}");

    let server_port = format!("server_port=\"{port}\"");
    let labels = [
        &format!("rpc_method=\"{METHOD}\""),
        "server_address=\"127.0.0.1\"",
        &server_port,
    ];
    assert_eq!(
        metric(marketplace.admin_addr, CLIENT_CALLS, &labels).await,
        1.0
    );
}

#[tokio::test]
async fn spans_and_logs_dropped_on_full_queues_are_counted() {
    // A stuck collector: it takes connections and never says a word, so
    // every export hangs and the queues behind it fill.
    let collector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", collector.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = collector.accept().await {
            held.push(socket);
        }
    });
    let recommendations = Spec::new(recommendations_bin(), "GRPC_ADDR")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_BSP_MAX_QUEUE_SIZE", "4")
        .env("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "2")
        .env("OTEL_BLRP_MAX_QUEUE_SIZE", "4")
        .env("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "2")
        .start()
        .await;
    let channel = testkit::grpc::channel(recommendations.addr).await;
    let mut client = RecommendationsServiceClient::new(channel);
    for i in 0..100 {
        // Every other call is NOT_FOUND, which logs a warning: log records.
        let category = if i % 2 == 0 { 1 } else { 99 };
        let request = RecommendRequest {
            category,
            ..mystery()
        };
        let answer = tokio::time::timeout(PATIENCE, client.recommend(request))
            .await
            .unwrap_or_else(|_| panic!("call {i} got no answer with the collector stuck"));
        let code = answer.map_or_else(|status| status.code(), |_| tonic::Code::Ok);
        let expected = [tonic::Code::Ok, tonic::Code::NotFound][i % 2];
        assert_eq!(code, expected, "call {i}, category {category}");
    }

    let queue_full = ["error_type=\"queue_full\""];
    for name in [
        "otel_sdk_processor_span_processed_total{",
        "otel_sdk_processor_log_processed_total{",
    ] {
        let dropped = metric(recommendations.admin_addr, name, &queue_full).await;
        assert!(dropped > 0.0, "{name}{queue_full:?} is {dropped}");
    }
}
