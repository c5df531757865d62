//! Generated protobuf messages, tonic servers and clients for every API in
//! `protobufs/`, each with the descriptor set that server reflection serves.
//!
//! Nothing here is written by hand beyond the module wiring: the code is
//! generated from `protobufs/` by `build.rs` on every build.

// Generated code does not follow the workspace's lints, and need not.
#![allow(unreachable_pub, clippy::all, clippy::pedantic)]

/// The versioned Recommendations API, `recommendations.v1`. New clients use
/// this one.
pub mod v1 {
    tonic::include_proto!("recommendations.v1");
}

/// The tutorial's original, unversioned API: no package, `MYSTERY = 0`. It is
/// served beside v1 so the tutorial's own clients keep working.
pub mod legacy {
    // protox names the output of a file without a package `_.rs`.
    include!(concat!(env!("OUT_DIR"), "/_.rs"));
}

/// Encoded `FileDescriptorSet` of both Recommendations APIs, for server
/// reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/recommendations.bin"));

/// The service kit's example API, `hello.v1` (`crates/kit/examples`).
pub mod hello {
    pub mod v1 {
        tonic::include_proto!("hello.v1");
    }

    /// Encoded `FileDescriptorSet` of `hello.v1`, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hello.bin"));
}
