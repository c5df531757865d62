//! The marketplace when Recommendations is down, slow, restarted, drained or
//! replicated: the page degrades instead of failing, and recovers by itself.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use clap::Parser as _;
use kit::grpc_client::Fixed;
use proto::v1::recommendations_service_client::RecommendationsServiceClient;
use proto::v1::{BookCategory, RecommendRequest};
use testkit::process::Spec;

use crate::helpers::{
    MARKETPLACE_BIN, get, listed_titles, marketplace_spec, recommendations_bin, sample,
    spawn_recommendations_with,
};

const NOTICE: &str = "Recommendations are unavailable right now";

#[tokio::test]
async fn readiness_ignores_recommendations_and_fails_during_the_own_drain() {
    let recommendations = Spec::new(recommendations_bin(), "GRPC_ADDR").start().await;
    let mut marketplace = marketplace_spec(recommendations.addr)
        .env("SHUTDOWN_DELAY", "2s")
        .start()
        .await;
    assert_eq!(get(marketplace.admin_addr, "/readyz").await.status, 200);

    assert_eq!(recommendations.terminate().await, Some(0));
    // A soft dependency: failing readiness on it would cascade.
    assert_eq!(get(marketplace.admin_addr, "/readyz").await.status, 200);

    marketplace.signal("TERM");
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(get(marketplace.admin_addr, "/readyz").await.status, 503);
    assert_eq!(get(marketplace.admin_addr, "/healthz").await.status, 200);
    // Still serving pages during the delay.
    assert_eq!(get(marketplace.addr, "/").await.status, 200);
    let (code, took) = marketplace.wait_exit(Duration::from_secs(10)).await;
    assert_eq!(code, Some(0));
    assert!(
        took > Duration::from_millis(1500),
        "the delay was skipped: {took:?}"
    );
}

#[tokio::test]
async fn with_recommendations_stopped_the_page_degrades_then_recovers_on_restart() {
    let recommendations_spec = Spec::new(recommendations_bin(), "GRPC_ADDR");
    let recommendations = recommendations_spec.start().await;
    let marketplace = marketplace_spec(recommendations.addr).start().await;
    assert_eq!(
        listed_titles(&get(marketplace.addr, "/").await.body).len(),
        3
    );

    assert_eq!(recommendations.terminate().await, Some(0));
    for _ in 0..3 {
        let started = Instant::now();
        let page = get(marketplace.addr, "/").await;
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(page.status, 200);
        assert!(page.body.contains(NOTICE), "{}", page.body);
        assert!(page.body.contains("<title>Online Books For You</title>"));
    }
    let metrics = get(marketplace.admin_addr, "/metrics").await.body;
    let fallbacks = sample(
        &metrics,
        "marketplace_recommendations_fallback_total{",
        &["UNAVAILABLE"],
    );
    assert_eq!(fallbacks, Some(3.0), "{metrics}");

    // Back on the same port: the same channel reconnects, no restart.
    let _recommendations = recommendations_spec.start().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = get(marketplace.addr, "/").await;
        if listed_titles(&page.body).len() == 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "books never came back:\n{}",
            page.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn with_recommendations_slow_the_page_renders_within_the_deadline_and_logs_its_trace() {
    let recommendations = Spec::new(recommendations_bin(), "GRPC_ADDR")
        .env("FAULT_LATENCY", "5s")
        .start()
        .await;
    let marketplace = marketplace_spec(recommendations.addr).start().await;

    let started = Instant::now();
    let page = get(marketplace.addr, "/").await;
    let took = started.elapsed();
    assert_eq!(page.status, 200);
    assert!(page.body.contains(NOTICE), "{}", page.body);
    assert!(took < Duration::from_millis(1500), "took {took:?}");

    let traceresponse = page.headers["traceresponse"].to_str().unwrap();
    let trace_id = traceresponse.split('-').nth(1).unwrap();
    let failures = warnings_and_errors(&marketplace);
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert_eq!(failures[0]["message"], "gRPC call failed");
    assert_eq!(failures[0]["rpc.response.status_code"], "DEADLINE_EXCEEDED");
    assert_eq!(failures[0]["trace_id"], trace_id);
    assert_recommend_attempts(&marketplace, "DEADLINE_EXCEEDED", 1.0).await;
}

/// Asserts that the marketplace's client recorded `count` Recommend
/// attempts that ended with `code`.
async fn assert_recommend_attempts(
    marketplace: &testkit::process::Process,
    code: &str,
    count: f64,
) {
    let metrics = get(marketplace.admin_addr, "/metrics").await.body;
    let status = format!("rpc_response_status_code=\"{code}\"");
    let labels = [
        "rpc_method=\"recommendations.v1.RecommendationsService/Recommend\"",
        status.as_str(),
    ];
    assert_eq!(
        sample(&metrics, "rpc_client_call_duration_seconds_count{", &labels),
        Some(count),
        "{metrics}"
    );
}

/// The WARN and ERROR lines a process has logged so far.
fn warnings_and_errors(process: &testkit::process::Process) -> Vec<serde_json::Value> {
    process
        .log_lines()
        .into_iter()
        .filter(|line| line["level"] == "WARN" || line["level"] == "ERROR")
        .collect()
}

#[tokio::test]
async fn with_recommendations_down_one_page_load_logs_one_line_for_its_failed_call() {
    let recommendations = Spec::new(recommendations_bin(), "GRPC_ADDR").start().await;
    let marketplace = marketplace_spec(recommendations.addr).start().await;
    assert_eq!(recommendations.terminate().await, Some(0));

    let page = get(marketplace.addr, "/").await;
    assert!(page.body.contains(NOTICE), "{}", page.body);
    let trace_id = page.headers["traceresponse"].to_str().unwrap()[3..35].to_owned();
    let failures = warnings_and_errors(&marketplace);
    assert_eq!(
        failures.len(),
        1,
        "one failed call, one line: {failures:#?}"
    );
    let line = &failures[0];
    assert_eq!(line["message"], "gRPC call failed");
    assert_eq!(line["level"], "ERROR");
    assert_eq!(line["rpc.response.status_code"], "UNAVAILABLE");
    assert_eq!(
        line["rpc.method"],
        "recommendations.v1.RecommendationsService/Recommend"
    );
    assert_eq!(line["server.address"], "127.0.0.1");
    assert_eq!(line["attempts"], 3, "{line}");
    assert_eq!(line["trace_id"], trace_id.as_str());
    // Every attempt still has its sample.
    assert_recommend_attempts(&marketplace, "UNAVAILABLE", 3.0).await;
}

#[tokio::test]
async fn with_recommendations_name_resolving_to_nothing_the_page_degrades_within_the_deadline() {
    // `.invalid` never resolves (RFC 2606), as a stopped compose container's
    // name or a Kubernetes Service that is not there yet: the channel knows
    // no instance to send the call to, and must not wait for one forever.
    let marketplace = Spec::new(MARKETPLACE_BIN, "HTTP_ADDR")
        .env(
            "RECOMMENDATIONS_URL",
            "http://recommendations.invalid:50051",
        )
        .start()
        .await;

    let started = Instant::now();
    let page = tokio::time::timeout(Duration::from_secs(10), get(marketplace.addr, "/"))
        .await
        .expect("the page waited for an instance of recommendations past its deadline");
    let took = started.elapsed();
    assert_eq!(page.status, 200);
    assert!(page.body.contains(NOTICE), "{}", page.body);
    assert!(took < Duration::from_millis(1500), "took {took:?}");

    let failures = warnings_and_errors(&marketplace)
        .into_iter()
        .filter(|line| line["message"] == "gRPC call failed")
        .collect::<Vec<_>>();
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert_eq!(failures[0]["rpc.response.status_code"], "DEADLINE_EXCEEDED");
    assert_recommend_attempts(&marketplace, "DEADLINE_EXCEEDED", 1.0).await;
}

/// Starts Recommendations in-process with a one-book catalogue, so answers
/// tell which instance gave them.
async fn instance_with_book(id: i32) -> std::net::SocketAddr {
    let path = std::env::temp_dir().join(format!("instance-{}-{id}.json", std::process::id()));
    let json = format!(r#"[{{"id": {id}, "title": "Book {id}", "category": "MYSTERY"}}]"#);
    std::fs::write(&path, json).unwrap();
    // Dropping the handles leaves the server running for the rest of the test.
    spawn_recommendations_with(&[format!("--catalog-path={}", path.display())])
        .await
        .addr
}

#[tokio::test]
async fn calls_are_spread_over_every_resolved_instance() {
    let addrs = vec![
        instance_with_book(101).await,
        instance_with_book(102).await,
        instance_with_book(103).await,
    ];
    let config = marketplace::Config::try_parse_from([
        "marketplace",
        "--recommendations-url=http://recommendations.test:50051",
        "--recommendations-deadline=2s",
        "--recommendations-connect-timeout=1s",
        "--recommendations-resolve-interval=60s",
    ])
    .unwrap();
    let client = config
        .recommendations
        .connector(&config.tls_identity)
        .unwrap()
        .resolver(Fixed(addrs))
        .connect(RecommendationsServiceClient::new)
        .unwrap();
    let request = RecommendRequest {
        user_id: 1,
        category: BookCategory::Mystery as i32,
        max_results: 1,
    };
    let mut answers: HashMap<i32, usize> = HashMap::new();
    for _ in 0..90 {
        let reply = client
            .call(request, |mut client, request| async move {
                client.recommend(request).await
            })
            .await
            .unwrap();
        *answers.entry(reply.recommendations[0].id).or_default() += 1;
    }
    for id in [101, 102, 103] {
        let share = answers.get(&id).copied().unwrap_or(0);
        assert!(
            share >= 10,
            "instance {id} got {share} of 90 calls: {answers:?}"
        );
    }
}
