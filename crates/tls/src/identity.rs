//! A service's identity in a certificate: the URI subject alternative name
//! `spiffe://online-books/NAME`, as in a SPIFFE X.509 SVID, so that a
//! server can tell which service is calling, not only that the caller holds
//! a certificate from the CA. cert-manager, SPIRE and service meshes all
//! issue certificates of this shape.

use std::fmt;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;

/// The trust domain of this system's identities.
pub const TRUST_DOMAIN: &str = "online-books";

/// `spiffe://online-books/SERVICE`: the identity a service's certificate
/// carries.
pub fn spiffe_id(service: &str) -> String {
    format!("spiffe://{TRUST_DOMAIN}/{service}")
}

/// Who a client certificate says its holder is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientIdentity {
    /// A service of this system: the NAME of `spiffe://online-books/NAME`.
    Service(Arc<str>),
    /// A certificate that names no service of this system: what it does
    /// name (its URIs, or its subject), for the log line that refuses it.
    Unnamed(Arc<str>),
}

impl ClientIdentity {
    /// The identity in `certificate` (a client's end-entity certificate,
    /// already verified against the CA). As the SPIFFE X.509-SVID
    /// specification requires, exactly one URI name must be present.
    pub fn of(certificate: &CertificateDer<'_>) -> ClientIdentity {
        let Ok((_, parsed)) = x509_parser::parse_x509_certificate(certificate) else {
            return ClientIdentity::Unnamed("an unparsable certificate".into());
        };
        let uris: Vec<&str> = match parsed.subject_alternative_name() {
            Ok(Some(san)) => san
                .value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::URI(uri) => Some(*uri),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        if let [uri] = uris.as_slice()
            && let Some(service) = service_of(uri)
        {
            return ClientIdentity::Service(service.into());
        }
        let described = if uris.is_empty() {
            format!("subject {}", parsed.subject())
        } else {
            uris.join(", ")
        };
        ClientIdentity::Unnamed(described.into())
    }

    /// The service's name, if the certificate names one.
    pub fn service(&self) -> Option<&str> {
        match self {
            ClientIdentity::Service(name) => Some(name),
            ClientIdentity::Unnamed(_) => None,
        }
    }
}

impl fmt::Display for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientIdentity::Service(name) => f.write_str(&spiffe_id(name)),
            ClientIdentity::Unnamed(what) => write!(f, "a certificate naming no service ({what})"),
        }
    }
}

/// NAME, if `uri` is `spiffe://online-books/NAME` with a single path
/// segment.
fn service_of(uri: &str) -> Option<&str> {
    let name = uri
        .strip_prefix("spiffe://")?
        .strip_prefix(TRUST_DOMAIN)?
        .strip_prefix('/')?;
    (!name.is_empty() && !name.contains(['/', '?', '#'])).then_some(name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rcgen::{CertificateParams, KeyPair, SanType};

    use super::*;

    fn certificate(uris: &[&str]) -> CertificateDer<'static> {
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        for uri in uris {
            params
                .subject_alt_names
                .push(SanType::URI((*uri).try_into().unwrap()));
        }
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().clone()
    }

    #[test]
    fn the_service_is_read_from_the_one_spiffe_uri() {
        assert_eq!(
            ClientIdentity::of(&certificate(&["spiffe://online-books/marketplace"])),
            ClientIdentity::Service("marketplace".into())
        );
    }

    #[test]
    fn other_trust_domains_paths_and_several_uris_name_no_service() {
        for uris in [
            vec!["spiffe://elsewhere/marketplace"],
            vec!["spiffe://online-books/ns/books/sa/marketplace"],
            vec!["spiffe://online-books/"],
            vec!["https://online-books/marketplace"],
            vec![
                "spiffe://online-books/marketplace",
                "spiffe://online-books/recommendations",
            ],
        ] {
            let identity = ClientIdentity::of(&certificate(&uris));
            assert!(identity.service().is_none(), "{uris:?} gave {identity}");
        }
    }

    #[test]
    fn a_certificate_without_uris_is_described_by_its_subject() {
        let identity = ClientIdentity::of(&certificate(&[]));
        assert_eq!(
            identity.to_string(),
            "a certificate naming no service (subject CN=rcgen self signed cert)"
        );
    }
}
