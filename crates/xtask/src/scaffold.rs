//! `cargo xtask new-service` and `remove-service`: a service wired end to
//! end (crate, proto, compose, Kubernetes, Prometheus, both mTLS overlays)
//! from the templates in `crates/xtask/templates`, and its exact removal.
//!
//! Both commands work out every change in memory, check it, and then make
//! all of it or none of it (`transaction.rs`).

mod allow_list;
mod blocks;
mod files;
mod name;
mod ports;
mod remove;
mod render;
mod transaction;
mod tree;
mod yaml;

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::path::{Path, PathBuf};

use allow_list::Layout;
use files::{COMPOSE, COMPOSE_MTLS, MTLS_OVERLAY};
pub(crate) use name::Name;
pub(crate) use remove::remove_service;
use render::{Callee, Vars};
use transaction::Change;
pub(crate) use transaction::{Fault, FaultKind};
use tree::Tree;

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

/// How a command runs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options {
    /// Print what would change; change nothing.
    pub(crate) dry_run: bool,
    /// A failure to inject, for tests.
    pub(crate) fault: Option<Fault>,
}

/// Makes service `name` of `kind`, calling each of `calls`. Returns the
/// lines to print: every file written or changed (or that would be).
pub(crate) fn new_service(
    root: &Path,
    name: &str,
    kind: Kind,
    calls: &[String],
    options: Options,
) -> Result<Vec<String>, String> {
    let name = Name::parse(name)?;
    files::check_absent(root, &name)?;
    let tree = Tree::read(root)?;
    tree.check_free(&name)?;
    let mut callees: Vec<Callee> = Vec::new();
    for call in calls {
        let callee = tree.callee(&name, call)?;
        if callees.iter().any(|c| c.name == callee.name) {
            return Err(format!("--calls {call} is given twice"));
        }
        callees.push(callee);
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

    let mut changes = owned_files(root, kind, &vars)?;
    changes.extend(shared_edits(root, kind, &vars)?);
    let note = format_rust(&mut changes);

    let mut report = if options.dry_run {
        transaction::describe(&changes)
    } else {
        transaction::apply(root, &changes, options.fault)?
    };
    report.push(format!(
        "{}: {} service on port {}, admin port {}",
        vars.name,
        kind.dir(),
        vars.port,
        vars.admin_port
    ));
    report.extend(note);
    Ok(report)
}

/// The files that are the new service's alone, the crate's `Cargo.toml`
/// first (see `files::owned_paths`).
fn owned_files(root: &Path, kind: Kind, vars: &Vars) -> Result<Vec<Change>, String> {
    let name = &vars.name;
    let templates = root.join("crates/xtask/templates");
    let kind_dir = templates.join(kind.dir());
    let mut crate_files = Vec::new();
    for template in files_under(&kind_dir)? {
        let relative = template.strip_prefix(&kind_dir).unwrap_or(&template);
        let target = if relative == Path::new("proto.proto") {
            files::proto_file(name)
        } else {
            files::crate_dir(name).join(relative)
        };
        crate_files.push(Change::Create(target, render_file(&template, vars)?));
    }
    // The manifest first; a stable sort keeps the rest in order.
    let cargo_toml = files::crate_dir(name).join("Cargo.toml");
    crate_files.sort_by_key(|change| change.path() != cargo_toml);
    match crate_files.first() {
        Some(Change::Create(path, text))
            if *path == cargo_toml && text.starts_with(files::GENERATED_MARK) => {}
        _ => {
            return Err(format!(
                "crates/xtask/templates/{}/Cargo.toml must start with `{}`: remove-service relies on it",
                kind.dir(),
                files::GENERATED_MARK
            ));
        }
    }

    let deploy = |file: &str| render_file(&templates.join("deploy").join(file), vars);
    let mut changes = crate_files;
    changes.push(Change::Create(
        files::manifest(name),
        deploy(&format!("k8s-{}.yaml", kind.dir()))?,
    ));
    changes.push(Change::Create(
        files::config_env(name),
        deploy(&format!("k8s-env-{}.env", kind.dir()))?,
    ));
    changes.push(Change::Create(
        files::certificate(name),
        deploy("k8s-mtls-certificate.yaml")?,
    ));
    changes.push(Change::Create(
        files::tls_patch(name),
        deploy(&format!("k8s-mtls-{}.yaml", kind.dir()))?,
    ));
    Ok(changes)
}

/// The shared files, each changed in memory by as many edits as it needs.
#[derive(Debug)]
struct Edits<'r> {
    root: &'r Path,
    texts: BTreeMap<PathBuf, (String, String)>,
}

impl<'r> Edits<'r> {
    fn new(root: &'r Path) -> Edits<'r> {
        Edits {
            root,
            texts: BTreeMap::new(),
        }
    }

    /// The current text of `file`, as edited so far.
    fn text(&mut self, file: &Path) -> Result<&mut String, String> {
        let texts = match self.texts.entry(file.to_owned()) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                let text = files::read(self.root, &file.to_string_lossy())?;
                entry.insert((text.clone(), text))
            }
        };
        Ok(&mut texts.1)
    }

    fn insert(&mut self, file: &str, marker: &str, name: &Name, block: &str) -> Result<(), String> {
        let text = self.text(Path::new(file))?;
        *text = blocks::insert(file, text, marker, name.as_str(), block)?;
        Ok(())
    }

    /// The files that changed, in a stable order.
    fn into_changes(self) -> Vec<Change> {
        self.texts
            .into_iter()
            .filter(|(_, (before, after))| before != after)
            .map(|(path, (_, after))| Change::Edit(path, after))
            .collect()
    }
}

/// Every edit to the shared files: the new service's blocks, and its name
/// on each callee's allow-list in both mTLS overlays.
fn shared_edits(root: &Path, kind: Kind, vars: &Vars) -> Result<Vec<Change>, String> {
    let name = &vars.name;
    let templates = root.join("crates/xtask/templates/deploy");
    let deploy = |file: &str| render_file(&templates.join(file), vars);
    let mut edits = Edits::new(root);
    for (file, marker, template) in files::BLOCKS {
        let block = deploy(&template.replace("KIND", kind.dir()))?;
        edits.insert(file, marker, name, &block)?;
    }

    for callee in &vars.callees {
        let server = callee.name.as_str();
        let text = edits.text(Path::new(COMPOSE_MTLS))?;
        *text = allow_list::add(COMPOSE_MTLS, text, Layout::Compose, server, name.as_str())?
            .ok_or_else(|| no_list(COMPOSE_MTLS, server))?;
        let mut added = false;
        for patch in overlay_patches(root)? {
            let shown = patch.display().to_string();
            let text = edits.text(&patch)?;
            if let Some(updated) =
                allow_list::add(&shown, text, Layout::Kubernetes, server, name.as_str())?
            {
                *text = updated;
                added = true;
                break;
            }
        }
        if !added {
            return Err(no_list(MTLS_OVERLAY, server));
        }
    }
    let changes = edits.into_changes();
    check_edits(&changes, name)?;
    Ok(changes)
}

fn no_list(file: &str, server: &str) -> String {
    format!(
        "{file}: {server} has no {} to add the caller to; give it one (the services allowed to call it)",
        allow_list::VARIABLE
    )
}

/// The YAML files of the Kubernetes mTLS overlay, but its kustomization.
pub(crate) fn overlay_patches(root: &Path) -> Result<Vec<PathBuf>, String> {
    Ok(files_under(&root.join(MTLS_OVERLAY))?
        .into_iter()
        .filter(|path| {
            path.extension().is_some_and(|e| e == "yaml") && !path.ends_with("kustomization.yaml")
        })
        .filter_map(|path| path.strip_prefix(root).ok().map(Path::to_owned))
        .collect())
}

/// Reads every edited file back with the YAML parser: each must parse,
/// and the compose files must hold the new service under `services`, where
/// its block meant to put it. A marker moved elsewhere would otherwise go
/// unnoticed.
fn check_edits(changes: &[Change], name: &Name) -> Result<(), String> {
    for change in changes {
        let Change::Edit(path, text) = change else {
            continue;
        };
        let file = path.to_string_lossy();
        let docs = yaml::load(&file, text)?;
        if file == COMPOSE || file == COMPOSE_MTLS {
            let placed = docs
                .first()
                .and_then(|doc| yaml::path(doc, &["services", name.as_str()]));
            if placed.is_none() {
                return Err(format!(
                    "{file}: after the edit, {name} is not under `services`; put the `xtask:services` marker line back inside `services:`"
                ));
            }
        }
    }
    Ok(())
}

/// Formats the new Rust files with rustfmt, in a scratch copy of their
/// layout (so `mod` lines resolve), before anything is written. Without
/// rustfmt they stay as rendered, and the note says so.
fn format_rust(changes: &mut [Change]) -> Option<String> {
    let note = Some("note: rustfmt did not run; run `cargo fmt` before committing".to_owned());
    let Ok(scratch) = tempfile::tempdir() else {
        return note;
    };
    let mut rust = Vec::new();
    for (index, change) in changes.iter().enumerate() {
        if let Change::Create(path, text) = change
            && path.extension().is_some_and(|e| e == "rs")
        {
            let file = scratch.path().join(path);
            let written = file
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&file, text));
            if written.is_err() {
                return note;
            }
            rust.push((index, file));
        }
    }
    let formatted = std::process::Command::new("rustfmt")
        .args(["--edition", "2024"])
        .args(rust.iter().map(|(_, file)| file))
        .output();
    if !formatted.is_ok_and(|output| output.status.success()) {
        return note;
    }
    for (index, file) in rust {
        if let (Some(Change::Create(_, text)), Ok(formatted)) =
            (changes.get_mut(index), std::fs::read_to_string(&file))
        {
            *text = formatted;
        }
    }
    None
}

fn render_file(template: &Path, vars: &Vars) -> Result<String, String> {
    let text = std::fs::read_to_string(template)
        .map_err(|e| format!("cannot read template {}: {e}", template.display()))?;
    render::render(template, &text, vars)
}

/// Every file under `dir`, sorted; none if it does not exist.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
        };
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
