//! `cargo xtask remove-service`: takes out whatever `new-service` made for a
//! service, whole or half-made: its files, its blocks in the shared files,
//! its name on other services' allow-lists, and its `Cargo.lock` entry (by
//! cargo).
//!
//! It deletes only what is provably the generator's: a service counts as
//! made by `new-service` if a shared file holds one of its blocks or its
//! crate's `Cargo.toml` carries the generator's mark, and a crate with a
//! `Cargo.toml` that lacks the mark is never deleted.

use std::path::Path;

use super::allow_list::{self, Layout};
use super::files::{self, COMPOSE, COMPOSE_MTLS};
use super::name::Name;
use super::transaction::{self, Change};
use super::{Options, blocks, overlay_patches, tree};

/// Removes service `name` as `new_service` made it, or whatever part of it
/// exists.
pub(crate) fn remove_service(
    root: &Path,
    name: &str,
    options: Options,
) -> Result<Vec<String>, String> {
    let name = Name::parse(name)?;
    let cargo_toml = root.join(files::crate_dir(&name)).join("Cargo.toml");
    let marked = match std::fs::read_to_string(&cargo_toml) {
        Ok(text) if text.starts_with(files::GENERATED_MARK) => true,
        Ok(_) => {
            return Err(format!(
                "crates/{name} was not made by `cargo xtask new-service` (its Cargo.toml does not start with the generator's mark); remove it by hand"
            ));
        }
        Err(_) => false,
    };

    let mut changes = Vec::new();
    let mut has_blocks = false;
    for file in files::shared_files() {
        let Ok(text) = std::fs::read_to_string(root.join(file)) else {
            continue;
        };
        if blocks::contains(&text, name.as_str()) {
            has_blocks = true;
            let mut edited = blocks::remove(file, &text, name.as_str())?;
            if file == COMPOSE_MTLS {
                edited = allow_list::remove(file, &edited, Layout::Compose, name.as_str())?;
            }
            changes.push(Change::Edit(file.into(), edited));
        } else if file == COMPOSE_MTLS {
            let edited = allow_list::remove(file, &text, Layout::Compose, name.as_str())?;
            if edited != text {
                changes.push(Change::Edit(file.into(), edited));
            }
        }
    }
    if !marked && !has_blocks {
        return Err(format!(
            "no service named {name} made by `cargo xtask new-service` is here (no `# xtask:begin {name}` block, no generated crates/{name})"
        ));
    }
    refuse_if_called(root, &name)?;

    let owned = files::owned_paths(&name);
    for patch in overlay_patches(root)? {
        if owned.contains(&patch) {
            continue;
        }
        let shown = patch.display().to_string();
        let text = files::read(root, &shown)?;
        let edited = allow_list::remove(&shown, &text, Layout::Kubernetes, name.as_str())?;
        if edited != text {
            changes.push(Change::Edit(patch, edited));
        }
    }
    // The reverse of the order `new-service` writes them: the crate, which
    // carries the mark, goes last.
    for path in owned.into_iter().rev() {
        if root.join(&path).exists() {
            changes.push(Change::Delete(path));
        }
    }

    if options.dry_run {
        Ok(transaction::describe(&changes))
    } else {
        transaction::apply(root, &changes, options.fault)
    }
}

/// Refuses to remove a service that another compose service still calls:
/// that caller's code is built against this one's API.
fn refuse_if_called(root: &Path, name: &Name) -> Result<(), String> {
    let Ok(text) = std::fs::read_to_string(root.join(COMPOSE)) else {
        return Ok(());
    };
    let services = tree::compose_services(&text)?;
    let callers: Vec<&String> = services
        .iter()
        .filter(|(caller, service)| {
            caller.as_str() != name.as_str()
                && service.depends_on.iter().any(|d| d == name.as_str())
        })
        .map(|(caller, _)| caller)
        .collect();
    match callers.first() {
        None => Ok(()),
        Some(caller) => Err(format!(
            "{caller} calls {name} ({COMPOSE}): remove {caller} first, or its call to {name}"
        )),
    }
}
