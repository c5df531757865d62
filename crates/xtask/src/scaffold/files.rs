//! Where a service's pieces go: the files the generator owns outright for a
//! service, and the shared files it edits, each with its marker lines.

use std::path::{Path, PathBuf};

use super::name::Name;

pub(crate) const COMPOSE: &str = "docker-compose.yaml";
pub(crate) const COMPOSE_MTLS: &str = "docker-compose.mtls.yaml";
pub(crate) const PROMETHEUS: &str = "deploy/prometheus/prometheus.yml";
pub(crate) const KUSTOMIZATION: &str = "deploy/k8s/base/kustomization.yaml";
pub(crate) const MTLS_OVERLAY: &str = "deploy/k8s/overlays/mtls";
pub(crate) const MTLS_KUSTOMIZATION: &str = "deploy/k8s/overlays/mtls/kustomization.yaml";
/// The overlay's component that issues every service's certificate.
pub(crate) const MTLS_CERTIFICATES: &str = "deploy/k8s/overlays/mtls/certificates";
pub(crate) const MTLS_CERTIFICATES_KUSTOMIZATION: &str =
    "deploy/k8s/overlays/mtls/certificates/kustomization.yaml";
pub(crate) const CARGO_LOCK: &str = "Cargo.lock";

/// Each block a new service gets in a shared file: the file, the marker
/// line the block goes above, and the block's template in
/// `templates/deploy/`, where `KIND` stands for `grpc` or `web`.
pub(crate) const BLOCKS: &[(&str, &str, &str)] = &[
    (COMPOSE, "xtask:services", "compose-KIND.yaml"),
    (PROMETHEUS, "xtask:scrape-jobs", "prometheus.yaml"),
    (
        KUSTOMIZATION,
        "xtask:resources",
        "k8s-kustomization-resource.yaml",
    ),
    (
        KUSTOMIZATION,
        "xtask:config-maps",
        "k8s-kustomization-config.yaml",
    ),
    (COMPOSE_MTLS, "xtask:services", "compose-mtls-KIND.yaml"),
    (
        MTLS_CERTIFICATES_KUSTOMIZATION,
        "xtask:resources",
        "k8s-mtls-kustomization-resource.yaml",
    ),
    (
        MTLS_KUSTOMIZATION,
        "xtask:patches",
        "k8s-mtls-kustomization-patch.yaml",
    ),
];

/// The shared files that hold blocks, each once.
pub(crate) fn shared_files() -> Vec<&'static str> {
    let mut files: Vec<&str> = BLOCKS.iter().map(|(file, _, _)| *file).collect();
    files.sort_unstable();
    files.dedup();
    files
}

/// The crate of `name`.
pub(crate) fn crate_dir(name: &Name) -> PathBuf {
    Path::new("crates").join(name.as_str())
}

/// The API directory of `name` (gRPC services).
pub(crate) fn proto_dir(name: &Name) -> PathBuf {
    Path::new("protobufs").join(name.snake())
}

/// The proto file `new-service` writes for `name`.
pub(crate) fn proto_file(name: &Name) -> PathBuf {
    proto_dir(name).join(format!("v1/{}.proto", name.snake()))
}

pub(crate) fn manifest(name: &Name) -> PathBuf {
    PathBuf::from(format!("deploy/k8s/base/{name}.yaml"))
}

pub(crate) fn config_env(name: &Name) -> PathBuf {
    PathBuf::from(format!("deploy/k8s/base/config/{name}.env"))
}

/// The cert-manager `Certificate` of `name` in the mTLS overlay.
pub(crate) fn certificate(name: &Name) -> PathBuf {
    Path::new(MTLS_CERTIFICATES).join(format!("{name}.yaml"))
}

/// The mTLS overlay's patch of `name`'s Deployment.
pub(crate) fn tls_patch(name: &Name) -> PathBuf {
    Path::new(MTLS_OVERLAY).join(format!("{name}-tls.yaml"))
}

/// Every file or directory that belongs to `name` alone, in the order
/// `new-service` writes them. The crate comes first, so that whatever a
/// crashed run leaves behind carries the crate's mark (`GENERATED_MARK`).
pub(crate) fn owned_paths(name: &Name) -> Vec<PathBuf> {
    vec![
        crate_dir(name),
        proto_dir(name),
        manifest(name),
        config_env(name),
        certificate(name),
        tls_patch(name),
    ]
}

/// Refuses `name` if any of its files exists: a service of that name, or
/// what an interrupted run left of one. Checked before anything else reads
/// the workspace, which such leftovers can break.
pub(crate) fn check_absent(root: &Path, name: &Name) -> Result<(), String> {
    for path in owned_paths(name) {
        if root.join(&path).exists() {
            return Err(format!(
                "{} already exists: pick another name, or `cargo xtask remove-service {name}` if new-service made it",
                path.display()
            ));
        }
    }
    Ok(())
}

/// The line atop a generated crate's `Cargo.toml` by which `remove-service`
/// knows the crate is the generator's to delete.
pub(crate) const GENERATED_MARK: &str = "# Made by `cargo xtask new-service`";

/// `file` under `root`, as text.
pub(crate) fn read(root: &Path, file: &str) -> Result<String, String> {
    std::fs::read_to_string(root.join(file)).map_err(|e| format!("cannot read {file}: {e}"))
}

/// The cargo that runs this command (`cargo xtask` sets `CARGO`), or the
/// one on the `PATH`.
pub(crate) fn cargo() -> std::process::Command {
    std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// The first line of a tool's stderr that says what went wrong.
pub(crate) fn first_error_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    text.lines()
        .find(|line| line.trim_start().starts_with("error"))
        .or_else(|| text.lines().find(|line| !line.trim().is_empty()))
        .unwrap_or("no message")
        .trim()
        .to_owned()
}
