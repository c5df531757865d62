//! Renders a template file by renaming and by keeping or dropping its
//! marked sections; `templates/README.md` defines both. There is no
//! template language on purpose: the templates stay real files that
//! rustfmt, YAML tools and askama can read.

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
}

/// Which form a lower-case name takes in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// Rust and protobuf: snake_case identifiers and packages.
    Code,
    /// Kubernetes manifests: kebab-case DNS names.
    Kubernetes,
    /// Everything else: the name as given.
    AsGiven,
}

impl Style {
    /// The style of the template at `path`.
    pub(crate) fn of(path: &Path) -> Style {
        let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
        if file.ends_with(".rs") || file.ends_with(".proto") {
            Style::Code
        } else if file.starts_with("k8s") {
            Style::Kubernetes
        } else {
            Style::AsGiven
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Calls,
    CallsAny,
    CallsNone,
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
    match text {
        "xtask:calls {" => Some(Marker::Calls),
        "xtask:calls-any {" => Some(Marker::CallsAny),
        "xtask:calls-none {" => Some(Marker::CallsNone),
        "xtask:}" => Some(Marker::End),
        _ => None,
    }
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
            Marker::Calls => vars.callees.iter().map(Some).collect(),
            Marker::CallsAny if !vars.callees.is_empty() => vec![None],
            Marker::CallsNone if vars.callees.is_empty() => vec![None],
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

/// Replaces every token in `line`, longest first.
fn rename(line: &str, style: Style, vars: &Vars, callee: Option<&Callee>) -> String {
    let lower = |name: &Name| match style {
        Style::Code => name.snake(),
        Style::Kubernetes => name.kebab(),
        Style::AsGiven => name.as_str().to_owned(),
    };
    let mut line = line
        .replace("SKELETON_BINARY", vars.name.as_str())
        .replace("SKELETON_ADMIN_PORT", &vars.admin_port.to_string())
        .replace("SKELETON_PORT", &vars.port.to_string())
        .replace("Skeleton", &vars.name.camel())
        .replace("SKELETON", &vars.name.shouty())
        .replace("skeleton", &lower(&vars.name));
    if let Some(callee) = callee {
        line = line
            .replace("CALLEE_PORT", &callee.port.to_string())
            .replace("Callee", &callee.name.camel())
            .replace("CALLEE", &callee.name.shouty())
            .replace("callee", &lower(&callee.name));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(callees: &[(&str, u16)]) -> Vars {
        Vars {
            name: Name::parse("my_shop").unwrap(),
            port: 8081,
            admin_port: 9081,
            callees: callees
                .iter()
                .map(|(name, port)| Callee {
                    name: Name::parse(name).unwrap(),
                    port: *port,
                })
                .collect(),
        }
    }

    const TEMPLATE: &str = "\
name = \"skeleton\" # Skeleton SKELETON SKELETON_PORT SKELETON_ADMIN_PORT SKELETON_BINARY
// xtask:calls {
callee Callee CALLEE_URL CALLEE_PORT
// xtask:}
# xtask:calls-any {
any
# xtask:}
<!-- xtask:calls-none { -->
none
<!-- xtask:} -->
end
";

    #[test]
    fn names_take_the_form_of_their_file_and_sections_follow_the_calls() {
        let rendered = render(Path::new("k8s-web.yaml"), TEMPLATE, &vars(&[])).unwrap();
        assert_eq!(
            rendered,
            "name = \"my-shop\" # MyShop MY_SHOP 8081 9081 my_shop\nnone\nend\n"
        );
        let rendered = render(
            Path::new("lib.rs"),
            TEMPLATE,
            &vars(&[("recommendations", 50051), ("stock_keeper", 50052)]),
        )
        .unwrap();
        assert_eq!(
            rendered,
            "name = \"my_shop\" # MyShop MY_SHOP 8081 9081 my_shop\n\
             recommendations Recommendations RECOMMENDATIONS_URL 50051\n\
             stock_keeper StockKeeper STOCK_KEEPER_URL 50052\n\
             any\nend\n"
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
                render(Path::new("a.yaml"), template, &vars(&[])).is_err(),
                "{template:?}"
            );
        }
    }
}
