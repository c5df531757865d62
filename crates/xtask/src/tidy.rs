//! House-rule checks over the workspace's Rust sources, run as a test so
//! `cargo nextest run` enforces them (rust-analyzer does the same).

use std::path::{Path, PathBuf};

/// Above this, a file likely holds more than one concept.
const MAX_LINES: usize = 500;

/// Every problem found under `root/crates`, one line each.
pub(crate) fn check(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    collect_rust_files(&root.join("crates"), &mut files);
    files.sort();
    let mut problems = Vec::new();
    for file in files {
        let display = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        let Ok(text) = std::fs::read_to_string(&file) else {
            problems.push(format!("{display}: unreadable"));
            continue;
        };
        problems.extend(check_file(&display, &text));
    }
    problems
}

fn check_file(name: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if !text.starts_with("//!") {
        problems.push(format!(
            "{name}: must open with a `//!` line saying what it is for"
        ));
    }
    if name.ends_with("/mod.rs") {
        problems.push(format!("{name}: use `foo.rs` beside `foo/`, not `mod.rs`"));
    }
    let lines = text.lines().count();
    if lines > MAX_LINES {
        problems.push(format!(
            "{name}: {lines} lines; split it (limit {MAX_LINES})"
        ));
    }
    problems
}

fn collect_rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                collect_rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_keeps_the_house_rules() {
        let problems = check(&crate::workspace_root());
        assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    }

    #[test]
    fn a_file_without_a_purpose_line_is_reported() {
        let problems = check_file("crates/x/src/a.rs", "use std::io;\n");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("`//!`"));
    }

    #[test]
    fn mod_rs_and_long_files_are_reported() {
        let long = format!("//! Long.\n{}", "x\n".repeat(MAX_LINES + 1));
        assert_eq!(check_file("crates/x/src/foo/mod.rs", "//! Foo.\n").len(), 1);
        assert_eq!(check_file("crates/x/src/long.rs", &long).len(), 1);
        assert!(check_file("crates/x/src/ok.rs", "//! Fine.\n").is_empty());
    }
}
