//! Test support shared by the services' integration tests: any kit service
//! in-process on loopback (`spawn`), real processes on free loopback ports,
//! a real OTLP/gRPC receiver, HTTP fetches with a real client, and quiet
//! test logs. Never a dependency of a binary.

// Test support: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod grpc;
pub mod h2;
pub mod http;
pub mod otlp;
pub mod pki;
pub mod process;
mod spawn;

pub use spawn::{Spawned, spawn};

/// Test logs go to a sink unless `TEST_LOG=1`.
pub fn init_test_logs() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            tracing_subscriber::fmt().with_test_writer().init();
        }
    });
}
