//! `cargo xtask new-service` and `remove-service`, run as a user runs them
//! (the built binary) on a scratch copy of this repository: names, refusals,
//! all-or-nothing writes, removal of whole and half-made services, and calls
//! to generated services. Compiling what it generates is
//! `.ci/new-service-check`'s job.

// Tests: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Items here are `pub` for the test modules, not for export.
#![allow(unreachable_pub)]

mod calls;
mod helpers;
mod names;
mod removal;
mod rollback;
