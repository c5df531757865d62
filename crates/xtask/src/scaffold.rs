//! `cargo xtask new-service` and `remove-service`: a service wired end to
//! end (crate, proto, compose, Kubernetes, Prometheus) from the templates in
//! `crates/xtask/templates`, and its exact removal.

mod blocks;
mod name;
mod ports;
mod render;

use std::path::{Path, PathBuf};

pub(crate) use name::Name;
use render::{Callee, Vars};

/// What kind of service to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Kind {
    /// A tonic gRPC service with its own proto.
    Grpc,
    /// An axum web service with a templated page.
    Web,
}

impl Kind {
    fn dir(self) -> &'static str {
        match self {
            Kind::Grpc => "grpc",
            Kind::Web => "web",
        }
    }
}

/// One change the generator makes, or would make with `--dry-run`.
#[derive(Debug)]
enum Change {
    Create(PathBuf, String),
    Edit(PathBuf, String),
    Delete(PathBuf),
}

/// The shared files the generator edits, each with its marker lines.
const COMPOSE: &str = "docker-compose.yaml";
const PROMETHEUS: &str = "deploy/prometheus/prometheus.yml";
const KUSTOMIZATION: &str = "deploy/k8s/base/kustomization.yaml";

/// Makes service `name` of `kind`, calling each of `calls`. Returns the
/// lines to print: every file written or changed (or that would be).
pub(crate) fn new_service(
    root: &Path,
    name: &str,
    kind: Kind,
    calls: &[String],
    dry_run: bool,
) -> Result<Vec<String>, String> {
    let name = Name::parse(name)?;
    let crate_dir = root.join("crates").join(name.as_str());
    let proto_dir = root.join("protobufs").join(name.snake());
    let manifest = root.join(format!("deploy/k8s/base/{}.yaml", name.kebab()));
    for existing in [&crate_dir, &proto_dir, &manifest] {
        if existing.exists() {
            return Err(format!(
                "{} already exists: pick another name, or `cargo xtask remove-service {name}`",
                relative(root, existing)
            ));
        }
    }
    let compose = read(root, COMPOSE)?;
    let service_line = format!("  {name}:");
    if compose.lines().any(|line| line.trim_end() == service_line) {
        return Err(format!("{COMPOSE} already has a service named {name}"));
    }

    let mut callees = Vec::new();
    for call in calls {
        let callee = Name::parse(call)?;
        if callee == name {
            return Err(format!("{name} cannot call itself"));
        }
        let port = ports::grpc_port_in_compose(&compose, callee.as_str()).ok_or_else(|| {
            format!(
                "--calls {callee}: no gRPC service of that name in {COMPOSE} (one with a GRPC_ADDR)"
            )
        })?;
        if callees.iter().any(|c: &Callee| c.name == callee) {
            return Err(format!("--calls {callee} is given twice"));
        }
        callees.push(Callee { name: callee, port });
    }

    let mut used = ports::used(root);
    let (port_from, admin_from) = match kind {
        Kind::Grpc => (50052, 9052),
        Kind::Web => (8081, 9081),
    };
    let vars = Vars {
        port: ports::allocate(&mut used, port_from)?,
        admin_port: ports::allocate(&mut used, admin_from)?,
        name,
        callees,
    };
    let templates = root.join("crates/xtask/templates");
    let name = vars.name.as_str();
    let mut changes = Vec::new();

    let kind_dir = templates.join(kind.dir());
    for template in files_under(&kind_dir)? {
        let relative = template.strip_prefix(&kind_dir).unwrap_or(&template);
        let target = if relative == Path::new("proto.proto") {
            proto_dir.join(format!("v1/{}.proto", vars.name.snake()))
        } else {
            crate_dir.join(relative)
        };
        changes.push(Change::Create(target, render_file(&template, &vars)?));
    }
    let deploy = templates.join("deploy");
    let deploy_template = |file: &str| render_file(&deploy.join(file), &vars);
    changes.push(Change::Create(
        manifest,
        deploy_template(&format!("k8s-{}.yaml", kind.dir()))?,
    ));
    changes.push(Change::Create(
        root.join(format!("deploy/k8s/base/config/{}.env", vars.name.kebab())),
        deploy_template(&format!("k8s-env-{}.env", kind.dir()))?,
    ));

    let compose = blocks::insert(
        COMPOSE,
        &compose,
        "xtask:services",
        name,
        &deploy_template(&format!("compose-{}.yaml", kind.dir()))?,
    )?;
    changes.push(Change::Edit(root.join(COMPOSE), compose));
    let prometheus = blocks::insert(
        PROMETHEUS,
        &read(root, PROMETHEUS)?,
        "xtask:scrape-jobs",
        name,
        &deploy_template("prometheus.yaml")?,
    )?;
    changes.push(Change::Edit(root.join(PROMETHEUS), prometheus));
    let kustomization = read(root, KUSTOMIZATION)?;
    let kustomization = blocks::insert(
        KUSTOMIZATION,
        &kustomization,
        "xtask:resources",
        name,
        &deploy_template("k8s-kustomization-resource.yaml")?,
    )?;
    let kustomization = blocks::insert(
        KUSTOMIZATION,
        &kustomization,
        "xtask:config-maps",
        name,
        &deploy_template("k8s-kustomization-config.yaml")?,
    )?;
    changes.push(Change::Edit(root.join(KUSTOMIZATION), kustomization));

    let mut report = apply(root, &changes, dry_run)?;
    if !dry_run {
        report.extend(format_rust(&changes));
    }
    report.push(format!(
        "{name}: {} service on port {}, admin port {}",
        kind.dir(),
        vars.port,
        vars.admin_port
    ));
    Ok(report)
}

/// Removes service `name` as `new_service` made it: its files, its blocks in
/// the shared files, and its entry in `Cargo.lock`.
pub(crate) fn remove_service(
    root: &Path,
    name: &str,
    dry_run: bool,
) -> Result<Vec<String>, String> {
    let name = Name::parse(name)?;
    let compose = read(root, COMPOSE)?;
    if !blocks::contains(&compose, name.as_str()) {
        return Err(format!(
            "{name} was not made by `cargo xtask new-service` ({COMPOSE} has no `# xtask:begin {name}`); remove it by hand"
        ));
    }
    let mut changes = Vec::new();
    for file in [COMPOSE, PROMETHEUS, KUSTOMIZATION] {
        let text = read(root, file)?;
        if blocks::contains(&text, name.as_str()) {
            changes.push(Change::Edit(
                root.join(file),
                blocks::remove(file, &text, name.as_str())?,
            ));
        }
    }
    for path in [
        root.join("crates").join(name.as_str()),
        root.join("protobufs").join(name.snake()),
        root.join(format!("deploy/k8s/base/{}.yaml", name.kebab())),
        root.join(format!("deploy/k8s/base/config/{}.env", name.kebab())),
    ] {
        if path.exists() {
            changes.push(Change::Delete(path));
        }
    }
    let lock = read(root, "Cargo.lock")?;
    let without = remove_locked_package(&lock, name.as_str());
    if without != lock {
        changes.push(Change::Edit(root.join("Cargo.lock"), without));
    }
    apply(root, &changes, dry_run)
}

/// `Cargo.lock` without the `[[package]]` entry of workspace crate `name`.
fn remove_locked_package(lock: &str, name: &str) -> String {
    let entry = format!("[[package]]\nname = \"{name}\"\n");
    let Some(start) = lock.find(&entry) else {
        return lock.to_owned();
    };
    match lock[start..].find("\n\n") {
        // The entry and the blank line after it.
        Some(end) => format!("{}{}", &lock[..start], &lock[start + end + 2..]),
        // The last entry: the blank line before it goes instead.
        None => lock[..start.saturating_sub(1)].to_owned(),
    }
}

fn render_file(template: &Path, vars: &Vars) -> Result<String, String> {
    let text = std::fs::read_to_string(template)
        .map_err(|e| format!("cannot read template {}: {e}", template.display()))?;
    render::render(template, &text, vars)
}

fn read(root: &Path, file: &str) -> Result<String, String> {
    std::fs::read_to_string(root.join(file)).map_err(|e| format!("cannot read {file}: {e}"))
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Every file under `dir`, sorted.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Carries out `changes` (unless `dry_run`), and says what each one is.
fn apply(root: &Path, changes: &[Change], dry_run: bool) -> Result<Vec<String>, String> {
    let mut report = Vec::new();
    for change in changes {
        let (verb, path) = match change {
            Change::Create(path, _) => ("create", path),
            Change::Edit(path, _) => ("change", path),
            Change::Delete(path) => ("delete", path),
        };
        let shown = relative(root, path);
        report.push(if dry_run {
            format!("would {verb} {shown}")
        } else {
            format!("{verb}d {shown}")
        });
        if dry_run {
            continue;
        }
        let written = match change {
            Change::Create(path, text) | Change::Edit(path, text) => path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(path, text)),
            Change::Delete(path) if path.is_dir() => std::fs::remove_dir_all(path),
            Change::Delete(path) => std::fs::remove_file(path),
        };
        written.map_err(|e| format!("cannot {verb} {shown}: {e}"))?;
    }
    Ok(report)
}

/// Runs rustfmt over the Rust files created, so the generated code is
/// formatted whatever the sections left behind. Says so if it cannot.
fn format_rust(changes: &[Change]) -> Option<String> {
    let files: Vec<&Path> = changes
        .iter()
        .filter_map(|change| match change {
            Change::Create(path, _) if path.extension().is_some_and(|e| e == "rs") => {
                Some(path.as_path())
            }
            _ => None,
        })
        .collect();
    let formatted = std::process::Command::new("rustfmt")
        .args(["--edition", "2024"])
        .args(&files)
        .status();
    match formatted {
        Ok(status) if status.success() => None,
        _ => Some("note: rustfmt did not run; run `cargo fmt` before committing".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_package_entry_comes_out_whole() {
        let lock = "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"shop\"\nversion = \"0.1.0\"\ndependencies = [\n \"a\",\n]\n\n[[package]]\nname = \"z\"\n";
        assert_eq!(
            remove_locked_package(lock, "shop"),
            "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"z\"\n"
        );
        assert_eq!(
            remove_locked_package(lock, "z"),
            "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"shop\"\nversion = \"0.1.0\"\ndependencies = [\n \"a\",\n]\n"
        );
        assert_eq!(remove_locked_package(lock, "nope"), lock);
    }
}
