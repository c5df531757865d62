//! A new service's name, checked once, and the forms it takes in each kind
//! of file.

use heck::{ToKebabCase as _, ToShoutySnakeCase as _, ToSnakeCase as _, ToUpperCamelCase as _};

/// Kubernetes object names are DNS labels of at most 63 characters, and the
/// manifests add suffixes such as `-env-<hash>` to the name; this leaves
/// room for them.
const MAX_LEN: usize = 40;

/// Rust's keywords, strict and reserved: a crate cannot be named for one.
const RUST_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// A valid service name, as given (`my-shop`): the crate, the binary, the
/// compose service and the Prometheus job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name(String);

impl Name {
    /// Checks `name`: `[a-z][a-z0-9_-]*`, not a Rust keyword, short enough
    /// for Kubernetes.
    pub(crate) fn parse(name: &str) -> Result<Name, String> {
        let mut chars = name.chars();
        let well_formed = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !well_formed {
            return Err(format!(
                "invalid service name {name:?}: use lower-case letters, digits, '-' and '_', starting with a letter"
            ));
        }
        if name.ends_with(['-', '_']) || name.contains("--") || name.contains("__") {
            return Err(format!(
                "invalid service name {name:?}: no trailing or doubled '-' or '_'"
            ));
        }
        if RUST_KEYWORDS.contains(&name.to_snake_case().as_str()) {
            return Err(format!(
                "invalid service name {name:?}: it is a Rust keyword"
            ));
        }
        if name.len() > MAX_LEN {
            return Err(format!(
                "invalid service name {name:?}: longer than {MAX_LEN} characters, too long for Kubernetes names"
            ));
        }
        Ok(Name(name.to_owned()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// `my_shop`: Rust identifiers and the proto package.
    pub(crate) fn snake(&self) -> String {
        self.0.to_snake_case()
    }

    /// `my-shop`: Kubernetes object names and labels.
    pub(crate) fn kebab(&self) -> String {
        self.0.to_kebab_case()
    }

    /// `MyShop`: Rust types and the proto service.
    pub(crate) fn camel(&self) -> String {
        self.0.to_upper_camel_case()
    }

    /// `MY_SHOP`: environment variables.
    pub(crate) fn shouty(&self) -> String {
        self.0.to_shouty_snake_case()
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names_take_every_form() {
        let name = Name::parse("my-shop_2").unwrap();
        assert_eq!(name.snake(), "my_shop_2");
        assert_eq!(name.kebab(), "my-shop-2");
        assert_eq!(name.camel(), "MyShop2");
        assert_eq!(name.shouty(), "MY_SHOP_2");
    }

    #[test]
    fn bad_names_are_refused_with_the_reason() {
        for (name, reason) in [
            ("", "lower-case"),
            ("Inventory", "lower-case"),
            ("9lives", "lower-case"),
            ("in ventory", "lower-case"),
            ("shop-", "trailing"),
            ("a--b", "doubled"),
            ("match", "keyword"),
            ("type", "keyword"),
            (&"x".repeat(41), "too long"),
        ] {
            let error = Name::parse(name).unwrap_err();
            assert!(error.contains(reason), "{name:?}: {error}");
        }
    }
}
