//! Integration tests of the service kit through its two examples, run as
//! real processes exactly as a service built on the kit runs: a tonic client
//! and a raw HTTP/2 client against `hello_grpc`, HTTP against `hello_web`,
//! real signals, and the admin port's probes and metrics. The examples are
//! what a new service copies, so what they get here is what it gets.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Items here are `pub` for the test modules, not for export.
#![allow(unreachable_pub)]

mod docs;
mod drain;
mod grpc;
mod helpers;
mod rapid_reset;
mod servers;
mod web;
