//! Reading the YAML files the generator edits with a YAML parser (saphyr),
//! so that nothing depends on how a file is laid out: which services
//! compose has, a service's gRPC port, who it depends on, and where in the
//! text one scalar value is, to change that value and nothing else.

use std::ops::Range;

use saphyr::{LoadableYamlNode as _, MarkedYaml, Scalar, YamlData};

/// A parsed YAML node, with where it is in the text.
pub(crate) type Node<'a> = MarkedYaml<'a>;

/// Every document of `text` (from `file`, for errors).
pub(crate) fn load<'a>(file: &str, text: &'a str) -> Result<Vec<Node<'a>>, String> {
    MarkedYaml::load_from_str(text).map_err(|e| format!("{file} is not valid YAML: {e}"))
}

/// The first document of `text`, or an empty mapping's stand-in (null).
pub(crate) fn load_one<'a>(file: &str, text: &'a str) -> Result<Node<'a>, String> {
    Ok(load(file, text)?
        .into_iter()
        .next()
        .unwrap_or_else(|| MarkedYaml::from(YamlData::Value(Scalar::Null))))
}

/// `node[key]`, if `node` is a mapping with that key.
pub(crate) fn get<'n, 'a>(node: &'n Node<'a>, key: &str) -> Option<&'n Node<'a>> {
    node.data.as_mapping_get(key)
}

/// `node[keys[0]][keys[1]]...`.
pub(crate) fn path<'n, 'a>(node: &'n Node<'a>, keys: &[&str]) -> Option<&'n Node<'a>> {
    keys.iter().try_fold(node, |node, key| get(node, key))
}

/// The keys of a mapping, in order; empty for anything else.
pub(crate) fn keys(node: &Node<'_>) -> Vec<String> {
    node.data
        .as_mapping()
        .map(|mapping| mapping.keys().filter_map(scalar).collect())
        .unwrap_or_default()
}

/// The items of a sequence; empty for anything else.
pub(crate) fn items<'n, 'a>(node: &'n Node<'a>) -> &'n [Node<'a>] {
    node.data.as_sequence().map_or(&[], Vec::as_slice)
}

/// A scalar as text: a string, or a number or boolean as written.
pub(crate) fn scalar(node: &Node<'_>) -> Option<String> {
    match &node.data {
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
        _ => None,
    }
}

/// The variable `var` of a compose service: `environment` as a mapping
/// (`VAR: value`) or as a list (`- VAR=value`).
pub(crate) fn compose_env(service: &Node<'_>, var: &str) -> Option<String> {
    let environment = get(service, "environment")?;
    if let Some(value) = get(environment, var) {
        return scalar(value);
    }
    items(environment).iter().find_map(|item| {
        scalar(item)?
            .strip_prefix(var)?
            .strip_prefix('=')
            .map(str::to_owned)
    })
}

/// The services a compose service `depends_on`, in either of its forms (a
/// list of names, or a mapping of names to conditions).
pub(crate) fn compose_depends_on(service: &Node<'_>) -> Vec<String> {
    match get(service, "depends_on") {
        Some(node) if node.data.as_mapping().is_some() => keys(node),
        Some(node) => items(node).iter().filter_map(scalar).collect(),
        None => Vec::new(),
    }
}

/// Where a scalar's text is in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Placed {
    /// The bytes of its value: between its quotes, if it has any.
    pub(crate) range: Range<usize>,
    pub(crate) quote: Option<char>,
}

/// Where the text of string scalar `node` is in `text`. Only plain and
/// simply quoted one-line scalars are placed; anything else is an error, so
/// a value is never edited from a guess.
pub(crate) fn scalar_text(file: &str, text: &str, node: &Node<'_>) -> Result<Placed, String> {
    let value = scalar(node).unwrap_or_default();
    // Markers count characters; edits need bytes.
    let byte = |chars: usize| {
        text.char_indices()
            .nth(chars)
            .map_or(text.len(), |(byte, _)| byte)
    };
    let start = byte(node.span.start.index());
    let line_end = text[start..].find('\n').map_or(text.len(), |n| start + n);
    let quote = text[start..]
        .chars()
        .next()
        .filter(|c| *c == '"' || *c == '\'');
    let range = match quote {
        Some(q) => {
            let inner = start + 1;
            let close = text[inner..line_end]
                .find(q)
                .map(|n| inner + n)
                .ok_or_else(|| {
                    format!(
                        "{file}:{}: a quoted value that spans lines",
                        node.span.start.line()
                    )
                })?;
            inner..close
        }
        None => start..byte(node.span.end.index()),
    };
    if text[range.clone()] != value {
        return Err(format!(
            "{file}:{}: cannot place the value {value:?} in the text (escapes or a multi-line value); write it plainly",
            node.span.start.line()
        ));
    }
    Ok(Placed { range, quote })
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPOSE: &str = "\
x-env: &env
  A: b
services:
    shop:
        environment:
            <<: *env
            GRPC_ADDR: \"0.0.0.0:50052\"
            OTHER: 'x,y'  # a comment
            PLAIN: a,b # another
        depends_on: [db]
    web:
        environment:
            - GRPC_ADDR=0.0.0.0:50060
        depends_on:
            shop:
                condition: service_healthy
";

    #[test]
    fn compose_is_read_whatever_its_indentation() {
        let doc = load_one("c", COMPOSE).unwrap();
        let services = get(&doc, "services").unwrap();
        assert_eq!(keys(services), ["shop", "web"]);
        let shop = get(services, "shop").unwrap();
        let web = get(services, "web").unwrap();
        assert_eq!(
            compose_env(shop, "GRPC_ADDR").as_deref(),
            Some("0.0.0.0:50052")
        );
        assert_eq!(
            compose_env(web, "GRPC_ADDR").as_deref(),
            Some("0.0.0.0:50060")
        );
        assert_eq!(compose_env(web, "NOPE"), None);
        assert_eq!(compose_depends_on(shop), ["db"]);
        assert_eq!(compose_depends_on(web), ["shop"]);
    }

    #[test]
    fn a_scalar_is_placed_exactly_in_the_text() {
        let doc = load_one("c", COMPOSE).unwrap();
        let env = path(&doc, &["services", "shop", "environment"]).unwrap();
        for (var, quote) in [
            ("GRPC_ADDR", Some('"')),
            ("OTHER", Some('\'')),
            ("PLAIN", None),
        ] {
            let placed = scalar_text("c", COMPOSE, get(env, var).unwrap()).unwrap();
            assert_eq!(placed.quote, quote);
            assert_eq!(
                Some(&COMPOSE[placed.range]),
                compose_env(path(&doc, &["services", "shop"]).unwrap(), var).as_deref()
            );
        }
        let escaped = "a: \"x\\ty\"\n";
        let doc = load_one("e", escaped).unwrap();
        assert!(scalar_text("e", escaped, get(&doc, "a").unwrap()).is_err());
    }
}
