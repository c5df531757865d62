//! What the repository already holds that a new service's name could clash
//! with, or that `--calls` needs: the compose services (read with a YAML
//! parser), the Prometheus jobs, the workspace's crates and binaries (from
//! `cargo metadata`), the `proto` crate's modules, and the settings the kit
//! reads.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::files::{self, COMPOSE, PROMETHEUS};
use super::name::Name;
use super::render::{Api, Callee};
use super::yaml;

/// A compose service, as far as the generator cares.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    /// The port of its `GRPC_ADDR`, if it has one: it is a gRPC service.
    pub(crate) grpc_port: Option<u16>,
    /// The services it `depends_on`.
    pub(crate) depends_on: Vec<String>,
}

/// The repository, read once.
#[derive(Debug)]
pub(crate) struct Tree {
    root: PathBuf,
    pub(crate) services: BTreeMap<String, Service>,
    jobs: BTreeSet<String>,
    /// Workspace packages and every package they depend on directly, in
    /// snake_case: the form in which two crate names clash in Rust code.
    crates: BTreeSet<String>,
    binaries: BTreeSet<String>,
    /// Top-level items of the `proto` crate, beside the generated modules.
    proto_items: BTreeSet<String>,
    /// Environment variables the workspace's crates read.
    variables: BTreeSet<String>,
}

/// The settings a caller gets for each upstream, as `<UPSTREAM>_<SETTING>`
/// (`grpc_client::UpstreamArgs`).
const UPSTREAM_SETTINGS: &[&str] = &[
    "URL",
    "CA",
    "DEADLINE",
    "CONNECT_TIMEOUT",
    "RESOLVE_INTERVAL",
];

impl Tree {
    pub(crate) fn read(root: &Path) -> Result<Tree, String> {
        let (crates, binaries) = cargo_metadata(root)?;
        Ok(Tree {
            root: root.to_owned(),
            services: compose_services(&files::read(root, COMPOSE)?)?,
            jobs: prometheus_jobs(&files::read(root, PROMETHEUS)?)?,
            crates,
            binaries,
            proto_items: proto_items(&files::read(root, "crates/proto/src/lib.rs")?),
            variables: variables(root),
        })
    }

    /// Refuses `name` if anything it would become is taken. (Its own files
    /// are `files::check_absent`'s, before the tree is read.)
    pub(crate) fn check_free(&self, name: &Name) -> Result<(), String> {
        let taken = |what: &str| Err(format!("{what} is already named {name}: pick another name"));
        if self.services.contains_key(name.as_str()) {
            return taken(&format!("a service in {COMPOSE}"));
        }
        if self.jobs.contains(name.as_str()) {
            return taken(&format!("a scrape job in {PROMETHEUS}"));
        }
        if self.crates.contains(&name.snake()) {
            return taken("a crate of the workspace or one it depends on");
        }
        if self.binaries.contains(name.as_str()) {
            return taken("a binary of the workspace");
        }
        if self.proto_items.contains(&name.snake()) {
            return taken("an item of the proto crate");
        }
        for setting in UPSTREAM_SETTINGS {
            let variable = format!("{}_{setting}", name.shouty());
            if self.variables.contains(&variable) {
                return Err(format!(
                    "invalid service name {name:?}: its callers' setting {variable} is already a setting of the kit"
                ));
            }
        }
        Ok(())
    }

    /// The upstream `call` of new service `caller`: a gRPC service of the
    /// compose file, with its port and what to call it with.
    pub(crate) fn callee(&self, caller: &Name, call: &str) -> Result<Callee, String> {
        let name = Name::parse(call).map_err(|e| format!("--calls {call}: {e}"))?;
        if &name == caller {
            return Err(format!("{caller} cannot call itself"));
        }
        let port = self
            .services
            .get(name.as_str())
            .and_then(|service| service.grpc_port)
            .ok_or_else(|| {
                format!("--calls {call}: no gRPC service of that name in {COMPOSE} (one with a GRPC_ADDR)")
            })?;
        Ok(Callee {
            api: generated_api(&self.root, &name),
            name,
            port,
        })
    }
}

/// Whether `name`'s API is still the one the generator wrote, so a caller's
/// example can call its `GetItem` through its own client.
fn generated_api(root: &Path, name: &Name) -> Api {
    let proto = root.join(files::proto_file(name));
    let text = std::fs::read_to_string(proto).unwrap_or_default();
    let expected = [
        format!("package {}.v1;", name.snake()),
        format!("service {}Service {{", name.camel()),
        "rpc GetItem(GetItemRequest) returns (GetItemResponse);".to_owned(),
    ];
    if expected
        .iter()
        .all(|line| text.lines().any(|l| l.trim() == line))
    {
        Api::Generated
    } else {
        Api::Other
    }
}

/// Every compose service, by name.
pub(crate) fn compose_services(text: &str) -> Result<BTreeMap<String, Service>, String> {
    let doc = yaml::load_one(COMPOSE, text)?;
    let Some(services) = yaml::get(&doc, "services") else {
        return Ok(BTreeMap::new());
    };
    Ok(yaml::keys(services)
        .into_iter()
        .filter_map(|name| {
            let service = yaml::get(services, &name)?;
            let grpc_port = yaml::compose_env(service, "GRPC_ADDR")
                .and_then(|addr| addr.rsplit_once(':')?.1.parse().ok());
            let depends_on = yaml::compose_depends_on(service);
            Some((
                name,
                Service {
                    grpc_port,
                    depends_on,
                },
            ))
        })
        .collect())
}

/// Every `job_name` of the Prometheus config.
fn prometheus_jobs(text: &str) -> Result<BTreeSet<String>, String> {
    let doc = yaml::load_one(PROMETHEUS, text)?;
    Ok(yaml::get(&doc, "scrape_configs")
        .map(yaml::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|job| yaml::get(job, "job_name").and_then(yaml::scalar))
        .collect())
}

/// The workspace's crates and their direct dependencies (snake_case), and
/// its binaries, from `cargo metadata --no-deps`: cargo's own view, with
/// member globs and auto-discovered binaries, and no resolution or network.
fn cargo_metadata(root: &Path) -> Result<(BTreeSet<String>, BTreeSet<String>), String> {
    let output = files::cargo()
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            files::first_error_line(&output.stderr)
        ));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata said something unreadable: {e}"))?;
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let names = |values: &serde_json::Value| -> Vec<String> {
        values
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["name"].as_str().map(|n| n.replace('-', "_")))
            .collect()
    };
    let mut crates = BTreeSet::new();
    let mut binaries = BTreeSet::new();
    for package in &packages {
        crates.extend(package["name"].as_str().map(|n| n.replace('-', "_")));
        crates.extend(names(&package["dependencies"]));
        for target in package["targets"].as_array().into_iter().flatten() {
            let is_bin = target["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
            if is_bin {
                binaries.extend(target["name"].as_str().map(str::to_owned));
            }
        }
    }
    Ok((crates, binaries))
}

/// The names `crates/proto/src/lib.rs` declares beside the generated API
/// modules (`pub mod legacy`, `pub use recommendations::v1`): a service
/// named like one would make its generated module clash with it.
fn proto_items(lib: &str) -> BTreeSet<String> {
    lib.lines()
        .filter_map(|line| {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("pub mod ") {
                return Some(rest.trim_end_matches(['{', ';', ' ']).to_owned());
            }
            let used = line.strip_prefix("pub use ")?.trim_end_matches(';');
            Some(used.rsplit("::").next()?.to_owned())
        })
        .collect()
}

/// Every `env = "NAME"` in the workspace crates' sources: the variables the
/// kit and the services read, which an upstream's settings must not reuse.
fn variables(root: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut pending = vec![root.join("crates")];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() && !path.ends_with("templates") {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                found.extend(text.split("env = \"").skip(1).filter_map(|rest| {
                    let name = &rest[..rest.find('"')?];
                    let plain = name
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
                    plain.then(|| name.to_owned())
                }));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_items_are_the_hand_written_names() {
        let lib = "include!(x);\npub use recommendations::v1;\npub use recommendations::FILE_DESCRIPTOR_SET;\npub mod legacy {\n";
        assert_eq!(
            proto_items(lib).into_iter().collect::<Vec<_>>(),
            ["FILE_DESCRIPTOR_SET", "legacy", "v1"]
        );
    }

    #[test]
    fn compose_services_know_their_grpc_port_and_upstreams() {
        let compose = "services:\n   a:\n      environment:\n         GRPC_ADDR: 0.0.0.0:50051\n   b:\n      environment: [HTTP_ADDR=0.0.0.0:8080]\n      depends_on: [a]\n";
        let services = compose_services(compose).unwrap();
        assert_eq!(services["a"].grpc_port, Some(50051));
        assert_eq!(services["b"].grpc_port, None);
        assert_eq!(services["b"].depends_on, ["a"]);
    }
}
