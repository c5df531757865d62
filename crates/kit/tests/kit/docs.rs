//! The docs users copy are held to the code. Every Rust snippet in README.md
//! and docs/*.md is quoted from a file CI compiles, which an HTML comment
//! right above it names (`<!-- quoted from PATH -->`); the guide quotes the
//! kit's examples in full; every in-repository link and `#anchor` resolves;
//! and `--help` lists the `OTEL_*` variables the README documents.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

/// The examples the guide quotes in full: their path in the workspace, and
/// their text.
const EXAMPLES: [(&str, &str); 3] = [
    (
        "crates/kit/examples/hello_grpc.rs",
        include_str!("../../examples/hello_grpc.rs"),
    ),
    (
        "crates/kit/examples/hello_web.rs",
        include_str!("../../examples/hello_web.rs"),
    ),
    (
        "crates/kit/examples/greeter_web.rs",
        include_str!("../../examples/greeter_web.rs"),
    ),
];

/// The comment that names where the next code block is quoted from.
const QUOTED_FROM: &str = "<!-- quoted from ";

fn workspace() -> PathBuf {
    // This crate is `crates/kit` in the workspace.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// README.md and every page under docs/, as workspace-relative paths.
fn docs() -> Vec<PathBuf> {
    let mut docs = vec![PathBuf::from("README.md")];
    for entry in std::fs::read_dir(workspace().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            docs.push(Path::new("docs").join(path.file_name().unwrap()));
        }
    }
    docs.sort();
    docs
}

/// One fenced code block of a Markdown file.
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    language: String,
    code: String,
    /// The path named by a `<!-- quoted from PATH -->` comment right above.
    quoted_from: Option<String>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].lines().count() + 1
}

fn code_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut quoted_from = None;
    let mut current: Option<Block> = None;
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        match event {
            Event::Html(html) => {
                quoted_from = html
                    .trim()
                    .strip_prefix(QUOTED_FROM)
                    .and_then(|rest| rest.strip_suffix("-->"))
                    .map(|path| path.trim().to_owned());
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let language = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().unwrap_or("").to_owned()
                    }
                    CodeBlockKind::Indented => String::new(),
                };
                current = Some(Block {
                    line: line_of(markdown, range.start),
                    language,
                    code: String::new(),
                    quoted_from: quoted_from.take(),
                });
            }
            Event::Text(text) if current.is_some() => {
                current.as_mut().unwrap().code.push_str(&text);
            }
            Event::End(TagEnd::CodeBlock) => blocks.extend(current.take()),
            // The comment must be right above the block.
            Event::End(TagEnd::HtmlBlock) | Event::Start(Tag::HtmlBlock) => {}
            _ => quoted_from = None,
        }
    }
    blocks
}

/// `lines` without the indentation they all share.
fn dedented<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let lines: Vec<&str> = lines.into_iter().map(str::trim_end).collect();
    let indent = lines
        .iter()
        .filter(|line| !line.is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|line| line.get(indent..).unwrap_or("").to_owned())
        .collect()
}

/// Whether `snippet` is a run of whole, consecutive lines of `source`, at
/// any one indentation.
fn quotes(source: &str, snippet: &str) -> bool {
    let wanted = dedented(snippet.lines());
    let lines: Vec<&str> = source.lines().collect();
    !wanted.is_empty()
        && lines
            .windows(wanted.len())
            .any(|window| dedented(window.iter().copied()) == wanted)
}

/// Whether cargo builds `path` in CI: a Rust file of a crate's library,
/// binaries, examples or tests (the generator's templates are not built
/// where they lie).
fn is_compiled_rust(path: &str) -> bool {
    path.starts_with("crates/")
        && !path.starts_with("crates/xtask/templates/")
        && path.ends_with(".rs")
        && ["/src/", "/examples/", "/tests/"]
            .iter()
            .any(|dir| path.contains(dir))
}

#[test]
fn every_rust_snippet_in_the_docs_is_quoted_from_compiled_code() {
    let root = workspace();
    let mut problems = Vec::new();
    let mut checked = 0;
    for doc in docs() {
        for block in code_blocks(&read(&root.join(&doc))) {
            let at = format!("{}:{}", doc.display(), block.line);
            let Some(source) = &block.quoted_from else {
                if block.language == "rust" {
                    problems.push(format!(
                        "{at}: a Rust block without `{QUOTED_FROM}PATH -->` right above it"
                    ));
                }
                continue;
            };
            if block.language == "rust" && !is_compiled_rust(source) {
                problems.push(format!("{at}: {source} is not a file CI compiles"));
                continue;
            }
            checked += 1;
            if !quotes(&read(&root.join(source)), &block.code) {
                let missing = block.code.lines().find(|line| {
                    !line.trim().is_empty() && !read(&root.join(source)).contains(line.trim())
                });
                problems.push(format!(
                    "{at}: the block is not a run of lines of {source}; {}",
                    match missing {
                        Some(line) => format!("{source} has no line {:?}", line.trim()),
                        None => "every line is there, but not in this order".to_owned(),
                    }
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "stale snippets:\n{}",
        problems.join("\n")
    );
    assert!(checked >= 5, "only {checked} quoted blocks found");
}

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
    let guide = read(&workspace().join("docs/writing-a-service.md"));
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

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces
/// as hyphens; a repeated heading gets `-1`, `-2`, ...
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    let mut heading: Option<String> = None;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::Text(text) | Event::Code(text) if heading.is_some() => {
                heading.as_mut().unwrap().push_str(&text);
            }
            Event::End(TagEnd::Heading(_)) => {
                let slug: String = heading
                    .take()
                    .unwrap()
                    .to_lowercase()
                    .chars()
                    .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
                    .map(|c| if c == ' ' { '-' } else { c })
                    .collect();
                let mut anchor = slug.clone();
                let mut n = 0;
                while !anchors.insert(anchor.clone()) {
                    n += 1;
                    anchor = format!("{slug}-{n}");
                }
            }
            _ => {}
        }
    }
    anchors
}

#[test]
fn every_link_in_the_docs_resolves_to_a_file_and_heading() {
    let root = workspace();
    let mut pages = docs();
    pages.push(PathBuf::from("deploy/k8s/README.md"));
    let mut problems = Vec::new();
    let mut checked = 0;
    for doc in pages {
        let text = read(&root.join(&doc));
        for (event, range) in Parser::new(&text).into_offset_iter() {
            let (Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. })) = event
            else {
                continue;
            };
            if dest_url.contains("://") || dest_url.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let at = format!("{}:{}", doc.display(), line_of(&text, range.start));
            let (path, anchor) = match dest_url.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (&*dest_url, None),
            };
            let target = if path.is_empty() {
                root.join(&doc)
            } else {
                root.join(doc.parent().unwrap()).join(path)
            };
            if !target.exists() {
                problems.push(format!("{at}: {dest_url}: no such file"));
                continue;
            }
            if let Some(anchor) = anchor
                && !anchors(&read(&target)).contains(anchor)
            {
                problems.push(format!("{at}: {dest_url}: no heading with that anchor"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
    assert!(checked >= 5, "only {checked} links found");
}

#[test]
fn anchors_are_githubs() {
    let anchors = anchors("# Test a service\n## `Client::call` & retries\n# Test a service\n");
    let expected = ["test-a-service", "clientcall--retries", "test-a-service-1"];
    assert_eq!(anchors, expected.into_iter().map(str::to_owned).collect());
}

/// The `OTEL_*` names in `text`, with a trailing `*` where it has one.
fn otel_names(text: &str) -> BTreeSet<String> {
    text.match_indices("OTEL_")
        .map(|(at, _)| {
            text[at..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_' || *c == '*')
                .collect()
        })
        .collect()
}

#[test]
fn every_examples_help_lists_the_otel_variables_the_readme_documents() {
    // The README's table of them: the rows whose first cell names one.
    let readme = read(&workspace().join("README.md"));
    let documented: BTreeSet<String> = readme
        .lines()
        .filter(|line| line.starts_with("| `OTEL_"))
        .flat_map(|row| otel_names(row.split('|').nth(1).unwrap()))
        .collect();
    assert!(documented.len() >= 10, "{documented:?}");
    for (path, _) in EXAMPLES {
        let name = Path::new(path).file_stem().unwrap().to_str().unwrap();
        let help = help_of(name);
        assert_eq!(otel_names(&help), documented, "{name} --help:\n{help}");
    }
}

fn help_of(example: &str) -> String {
    let output = std::process::Command::new(crate::helpers::example(example))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn every_examples_help_opens_with_its_own_doc_comment() {
    for (path, source) in EXAMPLES {
        // The doc comment of `Config`: the `///` line above its derive.
        let doc = source
            .lines()
            .take_while(|line| !line.starts_with("#[derive(Debug, clap::Parser)]"))
            .last()
            .and_then(|line| line.strip_prefix("/// "))
            .unwrap_or_else(|| panic!("{path}: no doc comment on Config"));
        let name = Path::new(path).file_stem().unwrap().to_str().unwrap();
        let help = help_of(name);
        assert_eq!(
            help.lines().next(),
            Some(doc.trim_end_matches('.')),
            "{name} --help"
        );
    }
}

/// Every default port of the examples: their `*_addr` arguments.
fn default_ports(command: clap::Command) -> Vec<u16> {
    command
        .get_arguments()
        .filter(|arg| arg.get_id().as_str().ends_with("_addr"))
        .flat_map(|arg| arg.get_default_values().to_vec())
        .map(|value| {
            let addr: std::net::SocketAddr = value.to_str().unwrap().parse().unwrap();
            addr.port()
        })
        .collect()
}

#[test]
fn the_examples_default_ports_are_their_own() {
    use clap::CommandFactory as _;
    let ports: Vec<u16> = [
        default_ports(crate::hello_grpc::Config::command()),
        default_ports(crate::hello_web::Config::command()),
        default_ports(crate::greeter_web::Config::command()),
    ]
    .concat();
    assert_eq!(ports.len(), 6, "{ports:?}");
    let distinct: BTreeSet<u16> = ports.iter().copied().collect();
    assert_eq!(distinct.len(), ports.len(), "{ports:?}");
    // The quick start's services (README.md) and the kit's own default admin
    // port; and the first hundred ports `cargo xtask new-service` hands out
    // from each of its starts: 50052 (gRPC), 8081 (web), 9052 and 9081
    // (admin).
    for port in ports {
        assert!(
            ![50051, 9051, 8080, 9080, 9464].contains(&port),
            "{port} is a quick-start port"
        );
        assert!(
            [50052, 8081, 9052, 9081]
                .iter()
                .all(|start| !(*start..start + 100).contains(&port)),
            "{port} is in the generator's ranges"
        );
    }
}
