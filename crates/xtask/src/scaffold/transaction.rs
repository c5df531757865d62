//! All-or-nothing changes to the tree. Every change is computed in memory
//! first; then each is made in turn, recording how to undo it, and
//! `Cargo.lock` is brought up to date by cargo as the last step. If any
//! step fails, every step before it is undone, newest first, and the tree
//! is as it was.
//!
//! A run that is killed mid-way cannot undo anything; `remove-service`
//! takes out whatever such a run left (see `owned_paths` for the order that
//! makes that possible).

use std::fs::Permissions;
use std::path::{Path, PathBuf};

use super::files::{self, CARGO_LOCK};

/// One change to the tree; paths are relative to the root.
#[derive(Debug)]
pub(crate) enum Change {
    Create(PathBuf, String),
    Edit(PathBuf, String),
    /// A file, or a directory and everything in it.
    Delete(PathBuf),
}

impl Change {
    pub(crate) fn path(&self) -> &Path {
        match self {
            Change::Create(path, _) | Change::Edit(path, _) | Change::Delete(path) => path,
        }
    }

    fn verb(&self) -> &'static str {
        match self {
            Change::Create(..) => "create",
            Change::Edit(..) => "change",
            Change::Delete(_) => "delete",
        }
    }
}

/// A failure injected at one step, for tests of this module's promise
/// (`XTASK_FAULT`, read by `main.rs`). Step N+1, after the last of N,
/// fails once everything is done, so that all of it must be undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fault {
    /// The step, from 1: each change is a step, and updating `Cargo.lock`
    /// is the last.
    pub(crate) step: usize,
    pub(crate) kind: FaultKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// The step fails, as a full disk would; what was done is undone.
    Fail,
    /// The run stops dead at the step, undoing nothing, as if killed.
    Abort,
}

/// How to put back what one step changed.
#[derive(Debug)]
enum Undo {
    RemoveFile(PathBuf),
    RemoveDir(PathBuf),
    Restore(PathBuf, Vec<u8>, Permissions),
    RestoreTree(PathBuf, Vec<Entry>),
}

/// One entry of a deleted directory, relative to it, parents first.
#[derive(Debug)]
enum Entry {
    Dir(PathBuf),
    File(PathBuf, Vec<u8>, Permissions),
}

/// What `changes` would do, one line each, for `--dry-run`.
pub(crate) fn describe(changes: &[Change]) -> Vec<String> {
    let mut lines: Vec<String> = changes
        .iter()
        .map(|change| format!("would {} {}", change.verb(), change.path().display()))
        .collect();
    lines.push(format!(
        "would update {CARGO_LOCK} (cargo update --workspace --offline)"
    ));
    lines
}

/// Makes `changes` under `root`, then brings `Cargo.lock` up to date; all of
/// it or none of it. Returns a line per change made.
pub(crate) fn apply(
    root: &Path,
    changes: &[Change],
    fault: Option<Fault>,
) -> Result<Vec<String>, String> {
    let mut undo = Vec::new();
    let mut report = Vec::new();
    let steps = changes.len() + 1;
    for step in 1..=steps + 1 {
        let result = match fault {
            Some(Fault { step: at, kind }) if at == step => {
                let error = if step > steps {
                    format!("injected fault after the last of {steps} steps")
                } else {
                    format!("injected fault at step {step} of {steps}")
                };
                if kind == FaultKind::Abort {
                    return Err(format!("{error}: stopped dead, nothing undone"));
                }
                Err(error)
            }
            _ if step > steps => break,
            _ if step <= changes.len() => {
                let change = &changes[step - 1];
                make(root, change, &mut undo)
                    .map(|()| format!("{}d {}", change.verb(), change.path().display()))
            }
            _ => update_lock(root, &mut undo),
        };
        match result {
            Ok(line) => report.push(line),
            Err(error) => {
                let rollback = roll_back(root, undo);
                return Err(match rollback {
                    Ok(()) => format!("{error}; nothing was changed"),
                    Err(e) => format!("{error}; and undoing failed too: {e}"),
                });
            }
        }
    }
    Ok(report)
}

fn make(root: &Path, change: &Change, undo: &mut Vec<Undo>) -> Result<(), String> {
    let path = root.join(change.path());
    let shown = change.path().display();
    let fail = |e: std::io::Error| format!("cannot {} {shown}: {e}", change.verb());
    match change {
        Change::Create(_, text) => {
            if path.exists() {
                return Err(format!("cannot create {shown}: it exists"));
            }
            create_parents(&path, undo).map_err(fail)?;
            write_atomically(&path, text.as_bytes(), None).map_err(fail)?;
            undo.push(Undo::RemoveFile(path));
        }
        Change::Edit(_, text) => {
            let before = std::fs::read(&path).map_err(fail)?;
            let permissions = std::fs::metadata(&path).map_err(fail)?.permissions();
            write_atomically(&path, text.as_bytes(), Some(permissions.clone())).map_err(fail)?;
            undo.push(Undo::Restore(path, before, permissions));
        }
        // A deletion is recorded before it starts: one that fails half-way
        // has still deleted something.
        Change::Delete(_) if path.is_dir() => {
            let entries = read_tree(&path).map_err(fail)?;
            undo.push(Undo::RestoreTree(path.clone(), entries));
            std::fs::remove_dir_all(&path).map_err(fail)?;
        }
        Change::Delete(_) => {
            let before = std::fs::read(&path).map_err(fail)?;
            let permissions = std::fs::metadata(&path).map_err(fail)?.permissions();
            undo.push(Undo::Restore(path.clone(), before, permissions));
            std::fs::remove_file(&path).map_err(fail)?;
        }
    }
    Ok(())
}

/// `cargo update --workspace --offline`: cargo adds or drops the workspace's
/// own entries and leaves every other package where it is locked.
fn update_lock(root: &Path, undo: &mut Vec<Undo>) -> Result<String, String> {
    let lock = root.join(CARGO_LOCK);
    let before = std::fs::read(&lock).ok();
    let permissions = std::fs::metadata(&lock).map(|m| m.permissions()).ok();
    match (before.clone(), permissions) {
        (Some(bytes), Some(permissions)) => {
            undo.push(Undo::Restore(lock.clone(), bytes, permissions))
        }
        _ => undo.push(Undo::RemoveFile(lock.clone())),
    }
    let output = files::cargo()
        .args(["update", "--workspace", "--offline", "--quiet"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo update: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo could not update {CARGO_LOCK}: {}",
            files::first_error_line(&output.stderr)
        ));
    }
    let after = std::fs::read(&lock).ok();
    Ok(if after == before {
        format!("{CARGO_LOCK} is up to date")
    } else {
        format!("updated {CARGO_LOCK} (cargo update --workspace --offline)")
    })
}

/// Creates the missing parents of `path`, outermost first, each recorded.
fn create_parents(path: &Path, undo: &mut Vec<Undo>) -> std::io::Result<()> {
    let missing: Vec<&Path> = path
        .ancestors()
        .skip(1)
        .take_while(|dir| !dir.exists())
        .collect();
    for dir in missing.into_iter().rev() {
        std::fs::create_dir(dir)?;
        undo.push(Undo::RemoveDir(dir.to_owned()));
    }
    Ok(())
}

/// Writes `bytes` beside `path` and renames it into place, so `path` is
/// never half-written.
fn write_atomically(
    path: &Path,
    bytes: &[u8],
    permissions: Option<Permissions>,
) -> std::io::Result<()> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{file_name}.xtask-tmp"));
    let written = std::fs::write(&temporary, bytes)
        .and_then(|()| match permissions {
            Some(permissions) => std::fs::set_permissions(&temporary, permissions),
            None => Ok(()),
        })
        .and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// Everything under `dir`, to put back if need be. Symbolic links are
/// refused rather than followed or lost.
fn read_tree(dir: &Path) -> std::io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let mut children: Vec<_> =
            std::fs::read_dir(dir.join(&relative))?.collect::<Result<_, _>>()?;
        children.sort_by_key(std::fs::DirEntry::file_name);
        for child in children {
            let path = relative.join(child.file_name());
            let kind = child.file_type()?;
            if kind.is_dir() {
                entries.push(Entry::Dir(path.clone()));
                pending.push(path);
            } else if kind.is_file() {
                let full = dir.join(&path);
                entries.push(Entry::File(
                    path,
                    std::fs::read(&full)?,
                    std::fs::metadata(&full)?.permissions(),
                ));
            } else {
                return Err(std::io::Error::other(format!(
                    "{} is not a plain file or directory; remove it by hand",
                    dir.join(&path).display()
                )));
            }
        }
    }
    Ok(entries)
}

/// Undoes `undo`, newest first. Keeps going past a failure, so as much as
/// possible is put back, and reports the first.
fn roll_back(root: &Path, undo: Vec<Undo>) -> Result<(), String> {
    let mut first_error = None;
    for step in undo.into_iter().rev() {
        let result = match &step {
            Undo::RemoveFile(path) => std::fs::remove_file(path).or_else(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Ok(())
                } else {
                    Err(e)
                }
            }),
            Undo::RemoveDir(path) => std::fs::remove_dir(path),
            Undo::Restore(path, bytes, permissions) => {
                write_atomically(path, bytes, Some(permissions.clone()))
            }
            Undo::RestoreTree(dir, entries) => restore_tree(dir, entries),
        };
        if let Err(e) = result {
            first_error.get_or_insert_with(|| {
                let path = match &step {
                    Undo::RemoveFile(p)
                    | Undo::RemoveDir(p)
                    | Undo::Restore(p, ..)
                    | Undo::RestoreTree(p, _) => p,
                };
                format!("{}: {e}", path.strip_prefix(root).unwrap_or(path).display())
            });
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Puts back a deleted directory, over whatever part of it is left.
fn restore_tree(dir: &Path, entries: &[Entry]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for entry in entries {
        match entry {
            Entry::Dir(path) => std::fs::create_dir_all(dir.join(path))?,
            Entry::File(path, bytes, permissions) => {
                std::fs::write(dir.join(path), bytes)?;
                std::fs::set_permissions(dir.join(path), permissions.clone())?;
            }
        }
    }
    Ok(())
}
