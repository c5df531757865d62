//! Generated protobuf messages, tonic servers and clients for every API in
//! `protobufs/`, each with the descriptor set that server reflection serves:
//! `proto::NAME::v1`, `proto::NAME::FILE_DESCRIPTOR_SET`.
//!
//! Nothing here is written by hand beyond the module wiring: the code, and
//! the module of each API, are generated from `protobufs/` by `build.rs` on
//! every build.

// Generated code does not follow the workspace's lints, and need not.
#![allow(unreachable_pub, clippy::all, clippy::pedantic)]

include!(concat!(env!("OUT_DIR"), "/apis.rs"));

/// The versioned Recommendations API, `recommendations.v1`. New clients use
/// this one.
pub use recommendations::v1;

/// Encoded `FileDescriptorSet` of both Recommendations APIs.
pub use recommendations::FILE_DESCRIPTOR_SET;

/// The tutorial's original, unversioned API: no package, `MYSTERY = 0`. It is
/// served beside v1 so the tutorial's own clients keep working.
pub mod legacy {
    // protox names the output of a file without a package `_.rs`.
    include!(concat!(env!("OUT_DIR"), "/_.rs"));
}
