//! Context across the marketplace → recommendations hop: baggage that
//! arrives with a page goes out with its upstream call, and
//! `OTEL_PROPAGATORS=none` neither reads nor writes trace headers. The
//! upstream is a recording stand-in that keeps each call's metadata.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proto::v1::recommendations_service_server::{
    RecommendationsService, RecommendationsServiceServer,
};
use proto::v1::{BookRecommendation, RecommendRequest, RecommendResponse};
use testkit::http::{raw_exchange, status_of};
use testkit::process::Process;
use tonic::metadata::MetadataMap;

use crate::helpers::marketplace_spec;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// How long a page load may take.
const PATIENCE: Duration = Duration::from_secs(10);

/// A stand-in Recommendations that answers every call with three books and
/// keeps the metadata each call arrived with.
#[derive(Clone, Default)]
struct Recording(Arc<Mutex<Vec<MetadataMap>>>);

#[tonic::async_trait]
impl RecommendationsService for Recording {
    async fn recommend(
        &self,
        request: tonic::Request<RecommendRequest>,
    ) -> Result<tonic::Response<RecommendResponse>, tonic::Status> {
        self.0.lock().unwrap().push(request.metadata().clone());
        let recommendations = (1..=3)
            .map(|id| BookRecommendation {
                id,
                title: format!("Book {id}"),
            })
            .collect();
        Ok(tonic::Response::new(RecommendResponse { recommendations }))
    }
}

impl Recording {
    async fn start() -> (SocketAddr, Recording) {
        let recording = Recording::default();
        let routes =
            tonic::service::Routes::new(RecommendationsServiceServer::new(recording.clone()));
        (testkit::grpc::serve(routes).await, recording)
    }

    /// The metadata of the one call made so far.
    fn only_call(&self) -> MetadataMap {
        let calls = self.0.lock().unwrap();
        assert_eq!(calls.len(), 1, "{calls:#?}");
        calls[0].clone()
    }
}

/// Loads the page with `traceparent` and `baggage: tenant=acme`; returns
/// the response's `traceresponse`, if it has one.
async fn page_with_context(marketplace: &Process) -> Option<String> {
    let request = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\ntraceparent: {TRACEPARENT}\r\nbaggage: tenant=acme\r\n\r\n"
    );
    let response = raw_exchange(marketplace.addr, request.as_bytes(), PATIENCE).await;
    assert_eq!(status_of(&response), Some(200), "{response}");
    let head = response.split("\r\n\r\n").next().unwrap_or_default();
    head.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("traceresponse"))
        .map(|(_, value)| value.trim().to_owned())
}

fn header(metadata: &MetadataMap, name: &str) -> Option<String> {
    metadata.get(name).map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn baggage_that_arrives_with_a_page_goes_out_with_its_upstream_call() {
    let (upstream, recording) = Recording::start().await;
    let marketplace = marketplace_spec(upstream).start().await;
    page_with_context(&marketplace).await;

    let call = recording.only_call();
    let traceparent =
        header(&call, "traceparent").expect("the upstream call carried no traceparent");
    assert_eq!(
        traceparent.split('-').nth(1),
        Some(TRACE_ID),
        "{traceparent}"
    );
    let baggage = header(&call, "baggage").expect("the upstream call carried no baggage");
    assert!(baggage.contains("tenant=acme"), "baggage: {baggage}");
}

#[tokio::test]
async fn otel_propagators_none_neither_reads_nor_writes_trace_headers() {
    let (upstream, recording) = Recording::start().await;
    let marketplace = marketplace_spec(upstream)
        .env("OTEL_PROPAGATORS", "none")
        .start()
        .await;
    let traceresponse = page_with_context(&marketplace)
        .await
        .expect("no traceresponse header");

    let call = recording.only_call();
    assert_eq!(
        header(&call, "traceparent"),
        None,
        "OTEL_PROPAGATORS=none, yet traceparent was written"
    );
    assert_eq!(
        header(&call, "baggage"),
        None,
        "OTEL_PROPAGATORS=none, yet baggage was written"
    );
    assert_ne!(
        traceresponse.split('-').nth(1),
        Some(TRACE_ID),
        "OTEL_PROPAGATORS=none, yet the page joined the caller's trace: {traceresponse}"
    );
}
