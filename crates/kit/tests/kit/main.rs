//! Integration tests of the service kit through its examples, run as real
//! processes exactly as a service built on the kit runs, and in-process
//! through `testkit::spawn`: a tonic client and a raw HTTP/2 client against
//! `hello_grpc`, HTTP against `hello_web` and `greeter_web`, real signals,
//! and the admin port's probes and metrics. The examples are what a new
//! service copies, so what they get here is what it gets. The docs that
//! quote them are checked here too.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Items here are `pub` for the test modules, not for export.
#![allow(unreachable_pub)]

mod docs;
mod drain;
mod greeter;
mod grpc;
mod guide;
mod helpers;
mod rapid_reset;
mod servers;
mod web;

// The examples are binaries, so their code reaches in-process tests as
// modules: what a service crate's tests get from its library. Their `main`
// is unused here.
#[path = "../../examples/greeter_web.rs"]
#[allow(dead_code)]
mod greeter_web;
#[path = "../../examples/hello_grpc.rs"]
#[allow(dead_code)]
mod hello_grpc;
#[path = "../../examples/hello_web.rs"]
#[allow(dead_code)]
mod hello_web;
