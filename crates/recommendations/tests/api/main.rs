//! Integration tests of the Recommendations service through the real
//! protocol: tonic clients against a real server on 127.0.0.1:0, and the
//! built binary as an operator runs it.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Items here are `pub` for the test modules, not for export.
#![allow(unreachable_pub)]

mod binary;
mod drain;
mod health;
mod helpers;
mod hostile;
mod legacy;
mod raw;
mod tls;
mod v1;
