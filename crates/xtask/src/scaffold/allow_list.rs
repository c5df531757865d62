//! The callers a server admits under mutual TLS, `TLS_ALLOWED_CLIENTS`, kept
//! in step with `--calls` in both mTLS overlays: `new-service X --calls Y`
//! adds `X` to `Y`'s list, and `remove-service X` takes it out of every list.
//!
//! A list is one value in a file someone else may have laid out, so it is
//! found with a YAML parser (the compose service's `environment`, or the
//! Deployment's container `env` in a Kubernetes patch) and only its text is
//! changed: a name is appended as `,NAME` and taken out with its comma, so
//! adding and then removing a caller gives back the same bytes.

use super::yaml::{self, Node, Placed};

pub(crate) const VARIABLE: &str = "TLS_ALLOWED_CLIENTS";

/// Where a service's list is, in each kind of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// A compose file: `services.NAME.environment.TLS_ALLOWED_CLIENTS`.
    Compose,
    /// Kubernetes patches: the `env` item `TLS_ALLOWED_CLIENTS` of the
    /// container NAME of the Deployment NAME.
    Kubernetes,
}

/// `text` with `caller` added to `server`'s list. `None` if `text` holds
/// no list for `server`; unchanged if `caller` is on it already.
pub(crate) fn add(
    file: &str,
    text: &str,
    layout: Layout,
    server: &str,
    caller: &str,
) -> Result<Option<String>, String> {
    let docs = yaml::load(file, text)?;
    let Some(node) = docs.iter().find_map(|doc| list_of(doc, layout, server)) else {
        return Ok(None);
    };
    let placed = yaml::scalar_text(file, text, node)?;
    let current = &text[placed.range.clone()];
    if names(current).any(|name| name == caller) {
        return Ok(Some(text.to_owned()));
    }
    let updated = if current.trim().is_empty() {
        caller.to_owned()
    } else {
        format!("{current},{caller}")
    };
    Ok(Some(splice(text, &placed, &updated)))
}

/// `text` with `caller` taken out of every list that names it.
pub(crate) fn remove(
    file: &str,
    text: &str,
    layout: Layout,
    caller: &str,
) -> Result<String, String> {
    let mut text = text.to_owned();
    // One list at a time, parsing again after each: an edit moves the rest.
    loop {
        let Some(placed) = find_caller(file, &text, layout, caller)? else {
            return Ok(text);
        };
        let kept: Vec<&str> = text[placed.range.clone()]
            .split(',')
            .filter(|name| name.trim() != caller)
            .collect();
        let updated = kept.join(",").trim_start().to_owned();
        text = splice(&text, &placed, &updated);
    }
}

/// Where the first list in `text` that names `caller` is.
fn find_caller(
    file: &str,
    text: &str,
    layout: Layout,
    caller: &str,
) -> Result<Option<Placed>, String> {
    let docs = yaml::load(file, text)?;
    for node in docs.iter().flat_map(|doc| all_lists(doc, layout)) {
        let placed = yaml::scalar_text(file, text, node)?;
        if names(&text[placed.range.clone()]).any(|n| n == caller) {
            return Ok(Some(placed));
        }
    }
    Ok(None)
}

/// The names on a list.
fn names(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|n| !n.is_empty())
}

/// `text` with `range` (a scalar's text) replaced by `value`. An empty plain
/// scalar would read as null, so an emptied list is written `""`.
fn splice(text: &str, placed: &Placed, value: &str) -> String {
    let value = if value.is_empty() && placed.quote.is_none() {
        "\"\"".to_owned()
    } else {
        value.to_owned()
    };
    format!(
        "{}{value}{}",
        &text[..placed.range.start],
        &text[placed.range.end..]
    )
}

/// The list of `server` in document `doc`.
fn list_of<'n, 'a>(doc: &'n Node<'a>, layout: Layout, server: &str) -> Option<&'n Node<'a>> {
    match layout {
        Layout::Compose => yaml::path(doc, &["services", server, "environment", VARIABLE]),
        Layout::Kubernetes => kubernetes_lists(doc)
            .into_iter()
            .find(|(deployment, _)| deployment == server)
            .map(|(_, node)| node),
    }
}

/// Every list in document `doc`.
fn all_lists<'n, 'a>(doc: &'n Node<'a>, layout: Layout) -> Vec<&'n Node<'a>> {
    match layout {
        Layout::Compose => yaml::get(doc, "services")
            .map(|services| {
                yaml::keys(services)
                    .iter()
                    .filter_map(|name| yaml::path(services, &[name, "environment", VARIABLE]))
                    .collect()
            })
            .unwrap_or_default(),
        Layout::Kubernetes => kubernetes_lists(doc)
            .into_iter()
            .map(|(_, node)| node)
            .collect(),
    }
}

/// The lists of a Deployment document, with the Deployment's name: the
/// `TLS_ALLOWED_CLIENTS` env item of its container of the same name.
fn kubernetes_lists<'n, 'a>(doc: &'n Node<'a>) -> Vec<(String, &'n Node<'a>)> {
    let kind = yaml::get(doc, "kind").and_then(yaml::scalar);
    let name = yaml::path(doc, &["metadata", "name"]).and_then(yaml::scalar);
    let (Some("Deployment"), Some(name)) = (kind.as_deref(), name) else {
        return Vec::new();
    };
    let containers = yaml::path(doc, &["spec", "template", "spec", "containers"]);
    containers
        .map(yaml::items)
        .unwrap_or_default()
        .iter()
        .filter(|c| yaml::get(c, "name").and_then(yaml::scalar).as_deref() == Some(&name))
        .flat_map(|c| yaml::get(c, "env").map(yaml::items).unwrap_or_default())
        .filter(|item| yaml::get(item, "name").and_then(yaml::scalar).as_deref() == Some(VARIABLE))
        .filter_map(|item| yaml::get(item, "value"))
        .map(|value| (name.clone(), value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPOSE: &str = "\
services:
   recommendations:
      environment:
         TLS_CERT: /certs/recommendations.crt
         TLS_ALLOWED_CLIENTS: marketplace  # who may call
   inventory:
      environment:
         TLS_ALLOWED_CLIENTS: \"\"
";

    const PATCH: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: recommendations
spec:
  template:
    spec:
      containers:
      - name: recommendations
        env:
        - name: TLS_CERT
          value: /certs/tls.crt
        - name: TLS_ALLOWED_CLIENTS
          value: marketplace
";

    #[test]
    fn a_caller_is_added_and_removed_leaving_the_same_bytes() {
        let one = add(
            "c",
            COMPOSE,
            Layout::Compose,
            "recommendations",
            "storefront",
        )
        .unwrap()
        .unwrap();
        let two = add("c", &one, Layout::Compose, "inventory", "storefront")
            .unwrap()
            .unwrap();
        let three = add("c", &two, Layout::Compose, "recommendations", "shop")
            .unwrap()
            .unwrap();
        assert!(
            three.contains("TLS_ALLOWED_CLIENTS: marketplace,storefront,shop  # who may call"),
            "{three}"
        );
        assert!(
            three.contains("TLS_ALLOWED_CLIENTS: \"storefront\"\n"),
            "{three}"
        );
        assert_eq!(
            add("c", &three, Layout::Compose, "inventory", "storefront")
                .unwrap()
                .unwrap(),
            three
        );
        // Taken out in another order than put in.
        let without_storefront = remove("c", &three, Layout::Compose, "storefront").unwrap();
        assert!(
            without_storefront.contains("marketplace,shop  #"),
            "{without_storefront}"
        );
        assert_eq!(
            remove("c", &without_storefront, Layout::Compose, "shop").unwrap(),
            COMPOSE
        );
        assert_eq!(
            add("c", COMPOSE, Layout::Compose, "nosuch", "x").unwrap(),
            None
        );
    }

    #[test]
    fn a_kubernetes_patch_list_is_found_by_deployment_and_container() {
        let added = add(
            "p",
            PATCH,
            Layout::Kubernetes,
            "recommendations",
            "storefront",
        )
        .unwrap()
        .unwrap();
        assert!(
            added.ends_with("value: marketplace,storefront\n"),
            "{added}"
        );
        assert_eq!(
            remove("p", &added, Layout::Kubernetes, "storefront").unwrap(),
            PATCH
        );
        assert_eq!(
            add("p", PATCH, Layout::Kubernetes, "marketplace", "x").unwrap(),
            None
        );
        let alone = remove("p", PATCH, Layout::Kubernetes, "marketplace").unwrap();
        assert!(alone.ends_with("value: \"\"\n"), "{alone}");
    }
}
