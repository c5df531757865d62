//! A real OTLP/gRPC receiver as a process. The compose smoke test
//! (`deploy/compose-smoke.sh`) runs it in place of the OpenTelemetry
//! collector, at the collector's compose address, and reads what the
//! services exported from its stdout: one JSON line per span or log record.
//!
//! `OTLP_RECEIVER_ADDR` sets the address (default `0.0.0.0:4317`).

// A test tool: a failed unwrap is a failed smoke test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Its output is the point: one JSON line per item received.
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use testkit::otlp::OtlpReceiver;
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main]
async fn main() {
    let addr: SocketAddr = std::env::var("OTLP_RECEIVER_ADDR")
        .unwrap_or_else(|_| "0.0.0.0:4317".to_owned())
        .parse()
        .expect("OTLP_RECEIVER_ADDR is a socket address");
    let receiver = OtlpReceiver::start_on(addr).await;
    println!(
        "{}",
        json!({ "message": "listening", "addr": addr.to_string() })
    );
    // As PID 1 of a container, nothing stops it but its own handler.
    let mut terminate = signal(SignalKind::terminate()).unwrap();
    let (mut spans, mut logs) = (0, 0);
    loop {
        tokio::select! {
            _ = terminate.recv() => return,
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        for span in receiver.spans_after(spans) {
            spans += 1;
            let line = json!({
                "signal": "span",
                "service": span.service_name,
                "name": span.name,
                "kind": span.kind,
                "trace_id": span.trace_id,
                "span_id": span.span_id,
                "parent_span_id": span.parent_span_id,
            });
            println!("{line}");
        }
        for log in receiver.logs_after(logs) {
            logs += 1;
            let line = json!({
                "signal": "log",
                "service": log.service_name,
                "severity": log.severity_text,
                "body": log.body,
                "trace_id": log.trace_id,
            });
            println!("{line}");
        }
    }
}
