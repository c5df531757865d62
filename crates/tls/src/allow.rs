//! The caller allow-list, `TLS_ALLOWED_CLIENTS`: which services may call a
//! server that requires client certificates. It is the list that writes the
//! server's NetworkPolicies (its callers' `--calls`), so the network and
//! the application say the same thing.

use std::fmt;
use std::str::FromStr;

use crate::identity::ClientIdentity;

/// The services allowed to call, or any certificate the CA signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedClients {
    /// `*`: any certificate signed by `TLS_CLIENT_CA`, whatever it names
    /// (mutual TLS without an allow-list, spelled out).
    AnyCertificate,
    /// These services, by the NAME in `spiffe://online-books/NAME`. An
    /// empty list (`TLS_ALLOWED_CLIENTS=""`) is no service at all: a server
    /// that nothing calls yet, as `cargo xtask new-service` makes one.
    Services(Vec<String>),
}

impl AllowedClients {
    /// Whether `client` may call.
    pub fn allows(&self, client: &ClientIdentity) -> bool {
        match self {
            AllowedClients::AnyCertificate => true,
            AllowedClients::Services(names) => client
                .service()
                .is_some_and(|service| names.iter().any(|name| name == service)),
        }
    }
}

impl FromStr for AllowedClients {
    type Err = String;

    /// `*`, or service names separated by commas (spaces around them are
    /// ignored): `marketplace,storefront`; empty for none.
    fn from_str(value: &str) -> Result<AllowedClients, String> {
        if value.trim() == "*" {
            return Ok(AllowedClients::AnyCertificate);
        }
        let mut names = Vec::new();
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if !is_service_name(name) {
                return Err(format!(
                    "`{name}` is not a service name (lower-case letters, digits, '-' and '_'); \
                     `*` allows any certificate the CA signed"
                ));
            }
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
        Ok(AllowedClients::Services(names))
    }
}

impl fmt::Display for AllowedClients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowedClients::AnyCertificate => f.write_str("*"),
            AllowedClients::Services(names) if names.is_empty() => f.write_str("(none)"),
            AllowedClients::Services(names) => f.write_str(&names.join(",")),
        }
    }
}

/// The names `cargo xtask new-service` accepts, and compose and Kubernetes
/// can carry.
fn is_service_name(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn service(name: &str) -> ClientIdentity {
        ClientIdentity::Service(name.into())
    }

    #[test]
    fn listed_services_are_allowed_and_no_one_else() {
        let allowed: AllowedClients = " marketplace , storefront,".parse().unwrap();
        assert_eq!(allowed.to_string(), "marketplace,storefront");
        assert!(allowed.allows(&service("marketplace")));
        assert!(allowed.allows(&service("storefront")));
        assert!(!allowed.allows(&service("store")));
        assert!(!allowed.allows(&service("marketplace2")));
        assert!(!allowed.allows(&ClientIdentity::Unnamed("subject CN=marketplace".into())));
    }

    #[test]
    fn a_star_allows_any_certificate_the_ca_signed() {
        let any: AllowedClients = "*".parse().unwrap();
        assert!(any.allows(&service("anything")));
        assert!(any.allows(&ClientIdentity::Unnamed("subject CN=x".into())));
    }

    #[test]
    fn an_empty_list_allows_no_one() {
        for empty in ["", " , "] {
            let none: AllowedClients = empty.parse().unwrap();
            assert!(!none.allows(&service("marketplace")), "{empty:?}");
            assert_eq!(none.to_string(), "(none)");
        }
    }

    #[test]
    fn malformed_names_are_refused() {
        for bad in ["Marketplace", "spiffe://online-books/x", "a b", "*,x"] {
            assert!(
                bad.parse::<AllowedClients>().is_err(),
                "{bad:?} was accepted"
            );
        }
    }
}
