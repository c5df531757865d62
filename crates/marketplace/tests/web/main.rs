//! Integration tests of the Marketplace through the real protocols: HTTP
//! against a real listener, backed by a real Recommendations server, both on
//! 127.0.0.1:0; and the built binary as an operator runs it.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Items here are `pub` for the test modules, not for export.
#![allow(unreachable_pub)]

mod binary;
mod browser;
mod fidelity;
mod helpers;
mod hostile;
mod pages;
mod propagation;
mod resilience;
mod telemetry;
mod tls;
