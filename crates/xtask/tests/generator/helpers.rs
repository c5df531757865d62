//! A scratch copy of the repository to run the generator in, and what it
//! holds, byte for byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository this test belongs to.
fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A copy of the repository's files (tracked, or new and not ignored), in a
/// directory of its own that is deleted with it.
pub struct Repo {
    dir: tempfile::TempDir,
}

/// Every file of a tree and its bytes.
pub type Snapshot = BTreeMap<PathBuf, Vec<u8>>;

/// What a run of the generator said.
#[derive(Debug)]
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Repo {
    pub fn copy() -> Repo {
        let listed = Command::new("git")
            .args([
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ])
            .current_dir(source_root())
            .output()
            .unwrap();
        assert!(listed.status.success(), "git ls-files failed");
        let dir = tempfile::tempdir().unwrap();
        for file in listed.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
            let file = Path::new(std::str::from_utf8(file).unwrap());
            let from = source_root().join(file);
            // Deleted but not yet committed.
            if !from.exists() {
                continue;
            }
            let to = dir.path().join(file);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&from, &to).unwrap();
        }
        Repo { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.root().join(file)
    }

    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.path(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
    }

    /// Runs `cargo xtask ARGS` here, with `env` added.
    pub fn xtask(&self, args: &str, env: &[(&str, &str)]) -> Run {
        let output: Output = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args.split_whitespace())
            .env_remove("XTASK_FAULT")
            .envs(env.iter().copied())
            .current_dir(self.root())
            .output()
            .unwrap();
        Run {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs `cargo xtask ARGS` and insists that it succeeds.
    pub fn ok(&self, args: &str) -> Run {
        let run = self.xtask(args, &[]);
        assert!(
            run.ok,
            "`xtask {args}` failed: {}{}",
            run.stdout, run.stderr
        );
        run
    }

    /// Runs `cargo xtask ARGS` and insists that it fails with one line.
    pub fn refused(&self, args: &str, env: &[(&str, &str)]) -> String {
        let run = self.xtask(args, env);
        assert!(!run.ok, "`xtask {args}` was accepted: {}", run.stdout);
        assert_eq!(
            run.stderr.lines().count(),
            1,
            "`xtask {args}`: not one line: {}",
            run.stderr
        );
        run.stderr
    }

    /// Every file here and its bytes.
    pub fn snapshot(&self) -> Snapshot {
        let mut files = Snapshot::new();
        let mut pending = vec![self.root().to_owned()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    let relative = path.strip_prefix(self.root()).unwrap().to_owned();
                    files.insert(relative, std::fs::read(&path).unwrap());
                }
            }
        }
        files
    }
}

/// Panics with the files that differ, if any do.
pub fn assert_same(before: &Snapshot, after: &Snapshot, what: &str) {
    let differing: Vec<_> = before
        .keys()
        .chain(after.keys())
        .filter(|file| before.get(*file) != after.get(*file))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(
        differing.is_empty(),
        "{what}: these files differ: {differing:?}"
    );
}

/// How many steps `new-service ARGS` takes: one per change `--dry-run`
/// lists, and the update of `Cargo.lock`, which it lists last.
pub fn steps(repo: &Repo, args: &str) -> usize {
    let run = repo.ok(&format!("{args} --dry-run"));
    run.stdout
        .lines()
        .filter(|line| line.starts_with("would "))
        .count()
}
