//! Compiles `protobufs/` into Rust at build time with protox, a pure-Rust
//! protobuf compiler, so neither a system `protoc` nor committed generated code
//! is needed.

use std::path::PathBuf;

use prost::Message as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../protobufs");
    let files = [
        root.join("recommendations.proto"),
        root.join("recommendations/v1/recommendations.proto"),
    ];
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let descriptors = protox::compile(&files, [&root])?;
    // Server reflection serves this set, so grpcurl works without the files.
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("descriptor_set.bin"),
        descriptors.encode_to_vec(),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
