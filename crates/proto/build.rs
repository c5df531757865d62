//! Compiles `protobufs/` into Rust at build time with protox, a pure-Rust
//! protobuf compiler, so neither a system `protoc` nor committed generated code
//! is needed.
//!
//! Each API is a directory under `protobufs/` (with `protobufs/NAME.proto`
//! beside it, for an unversioned original): its files get one descriptor set
//! of their own, `NAME.bin`, for server reflection, so a server lists only
//! the services it serves; and its versions (`NAME/v1/`, ...) become the
//! modules `proto::NAME::v1`, ..., written to `apis.rs`. So a new API needs
//! no edit here or in `lib.rs`.

use std::path::{Path, PathBuf};

use prost::Message as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read when the script runs, not baked in when it is compiled: a build
    // cache shared by clones of the workspace (the CI checks' scratch
    // clones) may run this binary for another clone than the one it was
    // compiled in.
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?)
        .join("../../protobufs")
        .canonicalize()?;
    // Every directory, so that an API added or removed (by `cargo xtask
    // new-service`, say) reruns this script, and every file.
    println!("cargo:rerun-if-changed={}", root.display());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

    let mut all_files = Vec::new();
    let mut modules = String::new();
    for (api, files) in apis(&root)? {
        println!("cargo:rerun-if-changed={}", root.join(&api).display());
        modules.push_str(&api_module(&root, &api)?);
        for file in &files {
            println!("cargo:rerun-if-changed={}", file.display());
        }
        let descriptors = protox::compile(&files, [&root])?;
        std::fs::write(
            out_dir.join(format!("{api}.bin")),
            descriptors.encode_to_vec(),
        )?;
        all_files.extend(files);
    }

    std::fs::write(out_dir.join("apis.rs"), modules)?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(protox::compile(&all_files, [&root])?)?;
    Ok(())
}

/// Every API under `root`, by name, with its files, in a stable order.
fn apis(root: &Path) -> std::io::Result<Vec<(String, Vec<PathBuf>)>> {
    let mut apis = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let mut files = Vec::new();
        let original = root.join(format!("{name}.proto"));
        if original.exists() {
            files.push(original);
        }
        collect_protos(&path, &mut files)?;
        files.sort();
        apis.push((name.to_owned(), files));
    }
    apis.sort();
    Ok(apis)
}

/// The module of API `api`: one submodule per version directory, and the
/// API's descriptor set.
fn api_module(root: &Path, api: &str) -> std::io::Result<String> {
    let mut versions = Vec::new();
    for entry in std::fs::read_dir(root.join(api))? {
        let path = entry?.path();
        let Some(version) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let numbered = version
            .strip_prefix('v')
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric()));
        if path.is_dir() && numbered {
            versions.push(version.to_owned());
        }
    }
    versions.sort();
    let mut module = format!("/// The `{api}` API, from `protobufs/{api}/`.\npub mod {api} {{\n");
    for version in versions {
        module.push_str(&format!(
            "    /// `{api}.{version}`.\n    pub mod {version} {{\n        tonic::include_proto!(\"{api}.{version}\");\n    }}\n"
        ));
    }
    module.push_str(&format!(
        "    /// Encoded `FileDescriptorSet` of every file of this API, for server\n    /// reflection.\n    pub const FILE_DESCRIPTOR_SET: &[u8] =\n        include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{api}.bin\"));\n}}\n"
    ));
    Ok(module)
}

fn collect_protos(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
    Ok(())
}
