//! A new service's name, checked once for what it must be everywhere it
//! goes, and the forms it takes in each kind of file.
//!
//! The name is a crate, a binary, a compose service and host name, a
//! Kubernetes object and label, a DNS name in a certificate and a Prometheus
//! job. So it is a DNS-1123 label (which all of those accept) that is also a
//! usable Rust crate name. Whether it collides with something already in the
//! repository is `tree.rs`'s question, not this one.

/// Kubernetes Service and container names, and label values, are DNS-1123
/// labels of at most 63 characters. The objects whose names add a suffix
/// (`NAME-env-<hash>`, `NAME-egress-otlp`, `NAME-tls`) are DNS subdomains,
/// which may be 253 long, so 63 is the binding limit.
const MAX_LEN: usize = 63;

/// Rust's keywords, strict and reserved: a crate cannot be named for one.
const RUST_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Names cargo refuses or warns about for a package: the standard library's
/// crates, and its own directories under `target/`.
const CARGO_RESERVED: &[&str] = &[
    "alloc",
    "core",
    "proc_macro",
    "std",
    "test",
    "build",
    "deps",
    "examples",
    "incremental",
];

/// A valid service name, in its canonical kebab-case form (`my-shop`): the
/// crate, the binary, the compose service, the Kubernetes objects, the
/// certificate's name and the Prometheus job.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Name(String);

impl Name {
    /// Checks `name`: a DNS-1123 label that starts with a letter, with no
    /// doubled `-`, not a Rust keyword or a name cargo reserves.
    pub(crate) fn parse(name: &str) -> Result<Name, String> {
        let refuse = |why: &str| Err(format!("invalid service name {name:?}: {why}"));
        if name.contains('_') {
            return refuse(&format!(
                "it is also a host name, where '_' is not allowed: use {:?}",
                name.replace('_', "-")
            ));
        }
        let mut chars = name.chars();
        let well_formed = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !well_formed {
            return refuse("use lower-case letters, digits and '-', starting with a letter");
        }
        if name.ends_with('-') || name.contains("--") {
            return refuse("no trailing or doubled '-'");
        }
        if name.len() > MAX_LEN {
            return refuse(&format!(
                "longer than {MAX_LEN} characters, the limit of a DNS label (a Kubernetes Service name)"
            ));
        }
        let name = Name(name.to_owned());
        if RUST_KEYWORDS.contains(&name.snake().as_str()) {
            return refuse("it is a Rust keyword");
        }
        if CARGO_RESERVED.contains(&name.snake().as_str()) || is_windows_device(&name.0) {
            return refuse("cargo reserves it");
        }
        Ok(name)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// `my_shop`: Rust identifiers and the proto package.
    pub(crate) fn snake(&self) -> String {
        self.0.replace('-', "_")
    }

    /// `MyShop`: Rust types and the proto service. Each word capitalised;
    /// a word may start with a digit (`shop-2` is `Shop2`).
    pub(crate) fn camel(&self) -> String {
        self.0
            .split('-')
            .map(|word| {
                let mut chars = word.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_ascii_uppercase().to_string() + chars.as_str()
                })
            })
            .collect()
    }

    /// `MY_SHOP`: environment variables.
    pub(crate) fn shouty(&self) -> String {
        self.snake().to_ascii_uppercase()
    }
}

/// Windows' reserved device names, which cargo refuses as package names
/// because the crate's directory could not exist there.
fn is_windows_device(name: &str) -> bool {
    let numbered = |prefix: &str| {
        name.strip_prefix(prefix)
            .is_some_and(|n| n.len() == 1 && n.as_bytes()[0].is_ascii_digit() && n != "0")
    };
    ["con", "prn", "aux", "nul"].contains(&name) || numbered("com") || numbered("lpt")
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
        let name = Name::parse("my-shop-2").unwrap();
        assert_eq!(name.as_str(), "my-shop-2");
        assert_eq!(name.snake(), "my_shop_2");
        assert_eq!(name.camel(), "MyShop2");
        assert_eq!(name.shouty(), "MY_SHOP_2");
        let longest = "a".repeat(63);
        assert_eq!(Name::parse(&longest).unwrap().as_str(), longest);
        // Names made of the templates' own words are names like any other.
        assert_eq!(Name::parse("callee-web").unwrap().camel(), "CalleeWeb");
    }

    #[test]
    fn bad_names_are_refused_with_the_reason() {
        for (name, reason) in [
            ("", "lower-case"),
            ("Inventory", "lower-case"),
            ("9lives", "lower-case"),
            ("-shop", "lower-case"),
            ("in ventory", "lower-case"),
            ("café", "lower-case"),
            ("my_shop", "use \"my-shop\""),
            ("shop-", "trailing"),
            ("a--b", "doubled"),
            ("match", "keyword"),
            ("type", "keyword"),
            ("std", "cargo reserves"),
            ("proc-macro", "cargo reserves"),
            ("deps", "cargo reserves"),
            ("com1", "cargo reserves"),
            (&"x".repeat(64), "63 characters"),
        ] {
            let error = Name::parse(name).unwrap_err();
            assert!(error.contains(reason), "{name:?}: {error}");
            assert!(!error.contains('\n'), "{name:?}: not one line: {error}");
        }
        assert!(Name::parse("com0").is_ok() && Name::parse("console").is_ok());
    }
}
