//! The SKELETON_NAME service through its real protocol: in-process page tests
//! with a real HTTP client, and the built binary run as an operator runs it.

// Tests: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Items here are `pub` for the test modules, not for export.
#![allow(unreachable_pub)]

mod binary;
mod helpers;
mod pages;
