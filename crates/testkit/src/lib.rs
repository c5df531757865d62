//! Test support shared by the services' integration tests: any kit service
//! in-process on loopback (`spawn`), real processes on free loopback ports,
//! a real OTLP/gRPC receiver, HTTP fetches with a real client, and the
//! telemetry of a test process, with quiet logs. Never a dependency of a
//! binary.

// Test support: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod grpc;
pub mod h2;
pub mod http;
pub mod otlp;
pub mod pki;
pub mod process;
mod spawn;
pub mod telemetry;

pub use spawn::{Spawned, spawn, start_telemetry};
