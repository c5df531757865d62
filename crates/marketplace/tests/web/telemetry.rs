//! Telemetry end to end, with both services as real processes exporting to
//! a real OTLP receiver: one page load is one trace across both services,
//! logs arrive as JSON on stdout and over OTLP, `/metrics` carries the
//! semconv histograms, and a dead collector slows nothing down.

use std::time::{Duration, Instant};

use proto::v1::RecommendRequest;
use proto::v1::recommendations_service_client::RecommendationsServiceClient;

use testkit::http::{raw_exchange, status_of};
use testkit::otlp::{KIND_CLIENT, KIND_INTERNAL, KIND_SERVER, OtlpReceiver, ReceivedSpan};
use testkit::process::free_port;

use crate::helpers::{get, listed_titles, sample, start_both};

/// Export settings that make batches leave within a fraction of a second.
fn export_env(endpoint: String) -> Vec<(&'static str, String)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
        ("OTEL_BLRP_SCHEDULE_DELAY", "100".to_owned()),
    ]
}

/// The trace id in a `traceresponse` header: `00-{trace}-{span}-{flags}`.
fn trace_id_of(traceresponse: &str) -> (String, String) {
    let parts: Vec<&str> = traceresponse.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceresponse}");
    assert_eq!(
        (parts[0], parts[1].len(), parts[2].len()),
        ("00", 32, 16),
        "{traceresponse}"
    );
    (parts[1].to_owned(), parts[2].to_owned())
}

/// Loads the page with both services exporting to a receiver, each with
/// `env` too, and returns the page's spans once `count` have arrived, and
/// its own span id.
async fn page_trace(env: &[(&'static str, String)], count: usize) -> (Vec<ReceivedSpan>, String) {
    let receiver = OtlpReceiver::start().await;
    let mut all = export_env(receiver.endpoint());
    all.extend_from_slice(env);
    let (recommendations, marketplace) = start_both(&all).await;

    let page = get(marketplace.addr, "/").await;
    assert_eq!(page.status, 200);
    assert_eq!(listed_titles(&page.body).len(), 3);
    let header = page
        .headers
        .get("traceresponse")
        .expect("traceresponse header")
        .to_str()
        .unwrap();
    let (trace_id, page_span_id) = trace_id_of(header);
    receiver
        .wait_for("the page load's spans", |r| {
            r.spans_of_trace(&trace_id).len() >= count
        })
        .await;
    assert_eq!(marketplace.terminate().await, Some(0));
    assert_eq!(recommendations.terminate().await, Some(0));
    (receiver.spans_of_trace(&trace_id), page_span_id)
}

fn find(spans: &[ReceivedSpan], service: &str, kind: i32) -> ReceivedSpan {
    spans
        .iter()
        .find(|s| s.service_name == service && s.kind == kind)
        .unwrap_or_else(|| panic!("no {service} span of kind {kind} in {spans:#?}"))
        .clone()
}

#[tokio::test]
async fn one_page_load_is_one_trace_across_both_services() {
    let (spans, page_span_id) = page_trace(&[], 3).await;
    let page_span = find(&spans, "marketplace", KIND_SERVER);
    let client_span = find(&spans, "marketplace", KIND_CLIENT);
    let server_span = find(&spans, "recommendations", KIND_SERVER);
    // At the default RUST_LOG, the handler's debug span is not recorded.
    assert_eq!(spans.len(), 3, "{spans:#?}");

    // The chain: page → client call → server call.
    assert_eq!(
        page_span.span_id, page_span_id,
        "traceresponse names the page's span"
    );
    assert_eq!(page_span.name, "GET /");
    assert_eq!(page_span.attribute("http.route").as_deref(), Some("/"));
    assert_eq!(client_span.parent_span_id, page_span.span_id);
    assert_eq!(server_span.parent_span_id, client_span.span_id);
    for span in [client_span, server_span] {
        assert_eq!(
            span.name,
            "recommendations.v1.RecommendationsService/Recommend"
        );
        assert_eq!(span.attribute("rpc.system.name").as_deref(), Some("grpc"));
        assert_eq!(
            span.attribute("rpc.method").as_deref(),
            Some("recommendations.v1.RecommendationsService/Recommend")
        );
        assert_eq!(
            span.attribute("rpc.response.status_code").as_deref(),
            Some("OK")
        );
    }
}

#[tokio::test]
async fn the_handlers_debug_span_joins_the_trace_where_rust_log_enables_it() {
    let debug = [("RUST_LOG", "info,recommendations=debug".to_owned())];
    let (spans, _) = page_trace(&debug, 4).await;
    let server_span = find(&spans, "recommendations", KIND_SERVER);
    let work_span = find(&spans, "recommendations", KIND_INTERNAL);
    assert_eq!(work_span.name, "catalog.sample");
    assert_eq!(work_span.parent_span_id, server_span.span_id);
    assert_eq!(
        work_span.attribute("book.category").as_deref(),
        Some("MYSTERY")
    );
}

#[tokio::test]
async fn a_request_forces_its_trace_kept_with_sampling_priority_baggage() {
    let receiver = OtlpReceiver::start().await;
    let (recommendations, marketplace) = start_both(&export_env(receiver.endpoint())).await;
    let request = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                   baggage: sampling.priority=1\r\n\r\n";
    let response = raw_exchange(
        marketplace.addr,
        request.as_bytes(),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(status_of(&response), Some(200), "{response}");
    let traceresponse = response
        .lines()
        .find_map(|line| line.strip_prefix("traceresponse: "))
        .expect("a traceresponse header");
    let (trace_id, _) = trace_id_of(traceresponse.trim());
    receiver
        .wait_for("the page load's spans", |r| {
            r.spans_of_trace(&trace_id).len() >= 3
        })
        .await;
    let spans = receiver.spans_of_trace(&trace_id);
    // Each service's server span says so, for the collector's tail sampler.
    for service in ["marketplace", "recommendations"] {
        let span = find(&spans, service, KIND_SERVER);
        assert_eq!(
            span.attribute("sampling.priority").as_deref(),
            Some("1"),
            "{span:#?}"
        );
    }
    assert_eq!(marketplace.terminate().await, Some(0));
    assert_eq!(recommendations.terminate().await, Some(0));
}

#[tokio::test]
async fn a_not_found_call_logs_one_json_line_with_its_trace_id_also_over_otlp() {
    let receiver = OtlpReceiver::start().await;
    let (recommendations, marketplace) = start_both(&export_env(receiver.endpoint())).await;
    let channel = testkit::grpc::channel(recommendations.addr).await;
    let request = RecommendRequest {
        user_id: 1,
        category: 99,
        max_results: 3,
    };
    let status = RecommendationsServiceClient::new(channel)
        .recommend(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);

    let deadline = Instant::now() + Duration::from_secs(10);
    let failures = loop {
        let failures = recommendations.log_lines_with_message("gRPC call failed");
        if !failures.is_empty() || Instant::now() > deadline {
            break failures;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(failures.len(), 1, "{failures:#?}");
    let line = &failures[0];
    assert_eq!(line["level"], "WARN", "a client fault is a warning: {line}");
    assert_eq!(line["rpc.response.status_code"], "NOT_FOUND");
    assert_eq!(
        line["rpc.method"],
        "recommendations.v1.RecommendationsService/Recommend"
    );
    assert_eq!(line["error.message"], "category not found");
    let trace_id = line["trace_id"].as_str().expect("trace_id").to_owned();
    assert_eq!(trace_id.len(), 32);

    receiver
        .wait_for("the warning over OTLP", |r| {
            r.logs().iter().any(|l| l.trace_id == trace_id)
        })
        .await;
    let logs = receiver.logs();
    let exported = logs.iter().find(|l| l.trace_id == trace_id).unwrap();
    assert_eq!(exported.service_name, "recommendations");
    assert_eq!(exported.severity_text, "WARN");
    assert_eq!(exported.body, "gRPC call failed");
    assert_eq!(
        exported.attribute("rpc.response.status_code").as_deref(),
        Some("NOT_FOUND")
    );
    // The server span of a NOT_FOUND call is not an error (a client fault).
    receiver
        .wait_for("the server span", |r| {
            !r.spans_of_trace(&trace_id).is_empty()
        })
        .await;
    let span = &receiver.spans_of_trace(&trace_id)[0];
    assert_ne!(span.status_code, 2, "{span:#?}");

    drop(marketplace);
    assert_eq!(recommendations.terminate().await, Some(0));
}

/// A call whose caller chose not to sample its trace records no spans, on
/// the server or below it, yet its log lines still carry the caller's trace
/// id, on stdout and over OTLP.
#[tokio::test]
async fn an_unsampled_call_exports_no_spans_but_logs_with_its_trace_id() {
    const UNSAMPLED: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SAMPLED: &str = "0af7651916cd43dd8448eb211c80319c";
    let receiver = OtlpReceiver::start().await;
    let (recommendations, marketplace) = start_both(&export_env(receiver.endpoint())).await;
    let channel = testkit::grpc::channel(recommendations.addr).await;
    let mut client = RecommendationsServiceClient::new(channel);
    let request = |trace_id: &str, flags: &str, category: i32| {
        let mut request = tonic::Request::new(RecommendRequest {
            user_id: 1,
            category,
            max_results: 3,
        });
        let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-{flags}");
        request
            .metadata_mut()
            .insert("traceparent", traceparent.parse().unwrap());
        request
    };
    const MYSTERY: i32 = 1;
    client
        .recommend(request(UNSAMPLED, "00", MYSTERY))
        .await
        .unwrap();
    let status = client
        .recommend(request(UNSAMPLED, "00", 99))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    // The same exporter queue carries a sampled call's spans after them.
    client
        .recommend(request(SAMPLED, "01", MYSTERY))
        .await
        .unwrap();
    receiver
        .wait_for("the sampled call's server span", |r| {
            !r.spans_of_trace(SAMPLED).is_empty()
        })
        .await;
    let stray: Vec<_> = receiver
        .spans()
        .into_iter()
        .filter(|span| span.trace_id != SAMPLED)
        .collect();
    assert!(
        stray.is_empty(),
        "only the sampled call is traced: {stray:#?}"
    );

    receiver
        .wait_for("the warning over OTLP", |r| {
            r.logs().iter().any(|l| l.trace_id == UNSAMPLED)
        })
        .await;
    let warnings = recommendations.log_lines_with_message("gRPC call failed");
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_eq!(warnings[0]["trace_id"], UNSAMPLED);

    drop(marketplace);
    assert_eq!(recommendations.terminate().await, Some(0));
}

#[tokio::test]
async fn metrics_carry_semconv_names_and_labels_and_nothing_for_probes_or_raw_paths() {
    let (recommendations, marketplace) = start_both(&[]).await;
    for _ in 0..3 {
        assert_eq!(get(marketplace.addr, "/").await.status, 200);
    }
    for path in ["/wp-admin", "/no/such/page", "/etc/passwd"] {
        assert_eq!(get(marketplace.addr, path).await.status, 404);
    }
    for admin in [marketplace.admin_addr, recommendations.admin_addr] {
        assert_eq!(get(admin, "/healthz").await.status, 200);
        assert_eq!(get(admin, "/readyz").await.status, 200);
    }
    let channel = testkit::grpc::channel(recommendations.addr).await;
    tonic_health::pb::health_client::HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .unwrap();

    let page_metrics = get(marketplace.admin_addr, "/metrics").await.body;
    let http = "http_server_request_duration_seconds_count{";
    let page = [
        "http_request_method=\"GET\"",
        "http_route=\"/\"",
        "http_response_status_code=\"200\"",
    ];
    assert_eq!(
        sample(&page_metrics, http, &page),
        Some(3.0),
        "{page_metrics}"
    );
    let unmatched = ["http_route=\"_OTHER\"", "http_response_status_code=\"404\""];
    assert_eq!(
        sample(&page_metrics, http, &unmatched),
        Some(3.0),
        "{page_metrics}"
    );
    for raw in [
        "wp-admin",
        "no/such/page",
        "passwd",
        "healthz",
        "readyz",
        "metrics",
    ] {
        assert!(
            !page_metrics.contains(raw),
            "{raw} leaked into a label:\n{page_metrics}"
        );
    }
    let client = [
        "rpc_method=\"recommendations.v1.RecommendationsService/Recommend\"",
        "rpc_response_status_code=\"OK\"",
    ];
    assert_eq!(
        sample(
            &page_metrics,
            "rpc_client_call_duration_seconds_count{",
            &client
        ),
        Some(3.0)
    );
    assert!(
        page_metrics.contains("http_server_request_duration_seconds_bucket{")
            && page_metrics.contains("le=\"0.005\"")
    );
    assert!(page_metrics.contains("le=\"10\""), "buckets reach 10 s");
    for name in [
        "build_info{",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
    ] {
        assert!(page_metrics.contains(name), "{name} missing");
    }

    let rec_metrics = get(recommendations.admin_addr, "/metrics").await.body;
    let server = [
        "rpc_system_name=\"grpc\"",
        "rpc_method=\"recommendations.v1.RecommendationsService/Recommend\"",
        "rpc_response_status_code=\"OK\"",
    ];
    assert_eq!(
        sample(
            &rec_metrics,
            "rpc_server_call_duration_seconds_count{",
            &server
        ),
        Some(3.0),
        "{rec_metrics}"
    );
    assert!(
        !rec_metrics.contains("Health"),
        "health checks must not be measured:\n{rec_metrics}"
    );

    assert_eq!(marketplace.terminate().await, Some(0));
    assert_eq!(recommendations.terminate().await, Some(0));
}

#[tokio::test]
async fn with_the_collector_down_page_loads_stay_fast_and_drops_are_counted() {
    // A closed port: every export fails.
    let closed = format!("http://127.0.0.1:{}", free_port());
    let (recommendations, marketplace) = start_both(&export_env(closed)).await;
    for _ in 0..20 {
        let started = Instant::now();
        let page = get(marketplace.addr, "/").await;
        let took = started.elapsed();
        assert_eq!(page.status, 200);
        assert_eq!(listed_titles(&page.body).len(), 3);
        assert!(
            took < Duration::from_millis(500),
            "a page load took {took:?}"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let metrics = get(marketplace.admin_addr, "/metrics").await.body;
        let failed = sample(
            &metrics,
            "otel_sdk_exporter_span_exported_total{",
            &["error_type=\"export_failed\""],
        );
        if failed.is_some_and(|n| n > 0.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "failed exports never counted:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(marketplace.terminate().await, Some(0));
    assert_eq!(recommendations.terminate().await, Some(0));
}
