//! Renders a template file by renaming and by keeping or dropping its
//! marked sections; `templates/README.md` defines both. There is no
//! template language on purpose: the templates stay real files that
//! rustfmt, YAML tools and askama can read.
//!
//! Renaming is one pass over each line: at every position the longest token
//! that starts there is replaced, and the scan goes on after it, never over
//! what it wrote. So a name that contains a token (`callee-web`,
//! `skeleton-store`) is written once and never renamed again.

use std::path::Path;

use super::name::Name;

/// What a template is rendered with.
#[derive(Debug, Clone)]
pub(crate) struct Vars {
    pub(crate) name: Name,
    pub(crate) port: u16,
    pub(crate) admin_port: u16,
    pub(crate) callees: Vec<Callee>,
}

/// An upstream the new service calls, and its gRPC port.
#[derive(Debug, Clone)]
pub(crate) struct Callee {
    pub(crate) name: Name,
    pub(crate) port: u16,
    pub(crate) api: Api,
}

/// What the example call to an upstream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    /// The upstream still has the API the generator gave it (`GetItem`):
    /// the example calls it through the upstream's own client in `proto`.
    Generated,
    /// Any other gRPC service: the example asks its `grpc.health.v1`.
    Other,
}

/// Which form a lower-case name takes in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// Rust and protobuf: snake_case identifiers and packages.
    Code,
    /// Everything else: the name itself, kebab-case.
    Name,
}

impl Style {
    fn of(path: &Path) -> Style {
        let code = path
            .extension()
            .is_some_and(|ext| ext == "rs" || ext == "proto");
        if code { Style::Code } else { Style::Name }
    }
}

/// Which callees a section is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    All,
    Generated,
    Other,
}

impl Filter {
    fn admits(self, callee: &Callee) -> bool {
        match self {
            Filter::All => true,
            Filter::Generated => callee.api == Api::Generated,
            Filter::Other => callee.api == Api::Other,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    /// Copied once per callee the filter admits, with `callee` renamed.
    Each(Filter),
    /// Copied once if the filter admits any callee.
    Any(Filter),
    /// Copied once if there are no callees.
    None,
    End,
}

/// The marker a line holds, whatever its comment syntax.
fn marker(line: &str) -> Option<Marker> {
    let text = line.trim();
    let text = text
        .strip_prefix("<!--")
        .and_then(|t| t.strip_suffix("-->"))
        .unwrap_or(text);
    let text = text.trim_start_matches(['/', '#']).trim();
    Some(match text {
        "xtask:calls {" => Marker::Each(Filter::All),
        "xtask:calls-generated {" => Marker::Each(Filter::Generated),
        "xtask:calls-other {" => Marker::Each(Filter::Other),
        "xtask:calls-any {" => Marker::Any(Filter::All),
        "xtask:calls-any-generated {" => Marker::Any(Filter::Generated),
        "xtask:calls-any-other {" => Marker::Any(Filter::Other),
        "xtask:calls-none {" => Marker::None,
        "xtask:}" => Marker::End,
        _ => return None,
    })
}

/// Renders `template` (from `path`, for errors) with `vars`.
pub(crate) fn render(path: &Path, template: &str, vars: &Vars) -> Result<String, String> {
    let style = Style::of(path);
    let mut out = String::with_capacity(template.len());
    let mut lines = template.split_inclusive('\n');
    while let Some(line) = lines.next() {
        let Some(opened) = marker(line) else {
            out.push_str(&rename(line, style, vars, None));
            continue;
        };
        if opened == Marker::End {
            return Err(format!("{}: `xtask:}}` closes no section", path.display()));
        }
        let mut section = Vec::new();
        loop {
            let Some(line) = lines.next() else {
                return Err(format!("{}: a section is never closed", path.display()));
            };
            match marker(line) {
                Some(Marker::End) => break,
                Some(_) => return Err(format!("{}: sections do not nest", path.display())),
                None => section.push(line),
            }
        }
        let copies: Vec<Option<&Callee>> = match opened {
            Marker::Each(filter) => vars
                .callees
                .iter()
                .filter(|c| filter.admits(c))
                .map(Some)
                .collect(),
            Marker::Any(filter) if vars.callees.iter().any(|c| filter.admits(c)) => vec![None],
            Marker::None if vars.callees.is_empty() => vec![None],
            _ => Vec::new(),
        };
        for callee in copies {
            for line in &section {
                out.push_str(&rename(line, style, vars, callee));
            }
        }
    }
    Ok(out)
}

/// Replaces every token in `line` in one pass, longest token first at each
/// position. `callee`'s tokens are only renamed inside a per-callee section.
fn rename(line: &str, style: Style, vars: &Vars, callee: Option<&Callee>) -> String {
    let lower = |name: &Name| match style {
        Style::Code => name.snake(),
        Style::Name => name.as_str().to_owned(),
    };
    // Longest first: a token that is a prefix of another comes after it.
    let mut tokens = vec![
        ("SKELETON_NAME", vars.name.as_str().to_owned()),
        ("SKELETON_ADMIN_PORT", vars.admin_port.to_string()),
        ("SKELETON_PORT", vars.port.to_string()),
        ("Skeleton", vars.name.camel()),
        ("SKELETON", vars.name.shouty()),
        ("skeleton", lower(&vars.name)),
    ];
    if let Some(callee) = callee {
        tokens.extend([
            ("CALLEE_NAME", callee.name.as_str().to_owned()),
            ("CALLEE_PORT", callee.port.to_string()),
            ("Callee", callee.name.camel()),
            ("CALLEE", callee.name.shouty()),
            ("callee", lower(&callee.name)),
        ]);
    }
    tokens.sort_by_key(|(token, _)| std::cmp::Reverse(token.len()));

    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    'scan: while let Some(c) = rest.chars().next() {
        for (token, replacement) in &tokens {
            if let Some(after) = rest.strip_prefix(token) {
                out.push_str(replacement);
                rest = after;
                continue 'scan;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str, callees: &[(&str, u16, Api)]) -> Vars {
        Vars {
            name: Name::parse(name).unwrap(),
            port: 8081,
            admin_port: 9081,
            callees: callees
                .iter()
                .map(|(name, port, api)| Callee {
                    name: Name::parse(name).unwrap(),
                    port: *port,
                    api: *api,
                })
                .collect(),
        }
    }

    const TEMPLATE: &str = "\
name = \"skeleton\" # Skeleton SKELETON SKELETON_PORT SKELETON_ADMIN_PORT SKELETON_NAME
// xtask:calls {
callee Callee CALLEE_URL CALLEE_PORT CALLEE_NAME
// xtask:}
// xtask:calls-generated {
generated callee
// xtask:}
// xtask:calls-other {
other callee
// xtask:}
# xtask:calls-any {
any
# xtask:}
# xtask:calls-any-other {
any other
# xtask:}
<!-- xtask:calls-none { -->
none
<!-- xtask:} -->
end
";

    #[test]
    fn names_take_the_form_of_their_file_and_sections_follow_the_calls() {
        let rendered = render(Path::new("k8s-web.yaml"), TEMPLATE, &vars("my-shop", &[])).unwrap();
        assert_eq!(
            rendered,
            "name = \"my-shop\" # MyShop MY_SHOP 8081 9081 my-shop\nnone\nend\n"
        );
        let rendered = render(
            Path::new("lib.rs"),
            TEMPLATE,
            &vars(
                "my-shop",
                &[
                    ("recommendations", 50051, Api::Other),
                    ("stock-keeper", 50052, Api::Generated),
                ],
            ),
        )
        .unwrap();
        assert_eq!(
            rendered,
            "name = \"my_shop\" # MyShop MY_SHOP 8081 9081 my-shop\n\
             recommendations Recommendations RECOMMENDATIONS_URL 50051 recommendations\n\
             stock_keeper StockKeeper STOCK_KEEPER_URL 50052 stock-keeper\n\
             generated stock_keeper\n\
             other recommendations\n\
             any\nany other\nend\n"
        );
    }

    #[test]
    fn names_made_of_template_words_are_written_once() {
        let template = "\
# xtask:calls {
name: skeleton-egress-callee
app.kubernetes.io/name: callee # Skeleton calls Callee
callee_web::run(SKELETON_NAME)
# xtask:}
";
        let vars = vars(
            "callee-web",
            &[
                ("callee-store", 50052, Api::Generated),
                ("skeleton", 50053, Api::Other),
            ],
        );
        assert_eq!(
            render(Path::new("k8s-web.yaml"), template, &vars).unwrap(),
            "name: callee-web-egress-callee-store\n\
             app.kubernetes.io/name: callee-store # CalleeWeb calls CalleeStore\n\
             callee-store_web::run(callee-web)\n\
             name: callee-web-egress-skeleton\n\
             app.kubernetes.io/name: skeleton # CalleeWeb calls Skeleton\n\
             skeleton_web::run(callee-web)\n"
        );
        assert_eq!(
            render(Path::new("lib.rs"), "skeleton::run();\n", &vars).unwrap(),
            "callee_web::run();\n"
        );
    }

    #[test]
    fn broken_sections_are_errors() {
        for template in [
            "xtask:}\n",
            "# xtask:calls {\nx\n",
            "# xtask:calls {\n# xtask:calls-any {\n",
        ] {
            assert!(
                render(Path::new("a.yaml"), template, &vars("shop", &[])).is_err(),
                "{template:?}"
            );
        }
    }
}
