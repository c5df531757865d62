//! The writing-a-service guide quotes the examples in full, so a reader
//! copies code that builds and is tested here, not a stale variant of it.

use std::path::Path;

/// Each example: its path in the workspace, and its text.
const EXAMPLES: [(&str, &str); 2] = [
    (
        "crates/kit/examples/hello_grpc.rs",
        include_str!("../../examples/hello_grpc.rs"),
    ),
    (
        "crates/kit/examples/hello_web.rs",
        include_str!("../../examples/hello_web.rs"),
    ),
];

/// The code of an example: from its first `use` line to its end. The `//!`
/// lines before it describe the file, and the guide says that in prose.
fn code_of<'a>(name: &str, source: &'a str) -> &'a str {
    let start = if source.starts_with("use ") {
        0
    } else {
        source
            .find("\nuse ")
            .map(|newline| newline + 1)
            .unwrap_or_else(|| panic!("{name} has no `use` line"))
    };
    source[start..].trim_end()
}

#[test]
fn the_writing_a_service_guide_quotes_each_example_in_full() {
    // This crate is `crates/kit` in the workspace.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap();
    let path = workspace.join("docs/writing-a-service.md");
    let guide = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    for (name, source) in EXAMPLES {
        let code = code_of(name, source);
        if guide.contains(code) {
            continue;
        }
        // Point at the first line the guide lacks, if there is one.
        let missing = code
            .lines()
            .find(|line| !line.trim().is_empty() && !guide.contains(line));
        panic!(
            "docs/writing-a-service.md does not quote {name} verbatim from its first `use` \
             line to its end; copy the example into the guide again.\n{}",
            match missing {
                Some(line) => format!("First line missing from the guide: {line:?}"),
                None => "Every line is there, but not as one unbroken block.".to_owned(),
            }
        );
    }
}
