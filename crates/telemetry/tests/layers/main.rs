//! Tests of the shared layers through real protocols: a dummy gRPC service
//! (in the spirit of the tutorial's `dummy_client` tests) and a small axum
//! app, each behind the layers, called by real clients on loopback.
//!
//! Metrics and the tracing subscriber are process-wide, so these tests rely
//! on nextest's one-process-per-test model (the project's test runner).

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Items here are `pub` for the test modules, not for export.
#![allow(unreachable_pub)]

mod grpc;
mod http;
