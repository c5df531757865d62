//! A development PKI: one CA, and for each service one certificate that is
//! both its server certificate and its client identity, made with rcgen.
//! For `cargo xtask certs` and tests, never production: there, certificates
//! come from the cluster's PKI (cert-manager), with the same names in them.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

use crate::identity::spiffe_id;

/// The Kubernetes namespace the manifests install into
/// (`deploy/k8s/base/namespace.yaml`): a service's in-cluster DNS names are
/// built from it.
pub const K8S_NAMESPACE: &str = "books";

/// How long a service certificate is valid: short enough that rotating is
/// a habit, long enough for a development stack.
const SERVICE_VALIDITY: Duration = Duration::days(90);

/// How long the development CA is valid.
const CA_VALIDITY: Duration = Duration::days(3650);

/// The names a service's certificate is valid for: its compose service
/// name, its Kubernetes Service's names, and loopback, so the same file
/// works in compose, in the cluster and in tests.
pub fn service_dns_names(service: &str) -> Vec<String> {
    let ns = K8S_NAMESPACE;
    vec![
        service.to_owned(),
        format!("{service}.{ns}"),
        format!("{service}.{ns}.svc"),
        format!("{service}.{ns}.svc.cluster.local"),
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ]
}

/// A development CA, able to issue service certificates.
pub struct DevCa {
    cert_pem: String,
    key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for DevCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevCa").finish_non_exhaustive()
    }
}

/// One service's certificate and key, PEM.
#[derive(Debug, Clone)]
pub struct ServiceCert {
    pub service: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl DevCa {
    /// A new CA whose common name is `name`.
    pub fn generate(name: &str) -> Result<DevCa, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::hours(1);
        params.not_after = now + CA_VALIDITY;
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(DevCa {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA of an earlier run, from its PEM certificate and key, so that
    /// issuing again (a new service, a rotation) keeps every other
    /// service's certificate valid.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<DevCa, rcgen::Error> {
        let issuer = Issuer::from_ca_cert_pem(cert_pem, KeyPair::from_pem(key_pem)?)?;
        Ok(DevCa {
            cert_pem: cert_pem.to_owned(),
            key_pem: key_pem.to_owned(),
            issuer,
        })
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Issues `service`'s certificate: server and client authentication,
    /// DNS names from [`service_dns_names`] plus `extra_names`, and the
    /// identity URI `spiffe://online-books/SERVICE` that servers check
    /// against their allow-list.
    pub fn issue(
        &self,
        service: &str,
        extra_names: &[String],
    ) -> Result<ServiceCert, rcgen::Error> {
        let mut names = service_dns_names(service);
        names.extend(extra_names.iter().cloned());
        let mut params = CertificateParams::new(names)?;
        params
            .subject_alt_names
            .push(SanType::URI(spiffe_id(service).try_into()?));
        params.distinguished_name.push(DnType::CommonName, service);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::hours(1);
        params.not_after = now + SERVICE_VALIDITY;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(ServiceCert {
            service: service.to_owned(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Writes `ca.crt` and `ca.key` into `dir`, creating it.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join(CA_CERT_FILE), &self.cert_pem)?;
        write_private(&dir.join(CA_KEY_FILE), &self.key_pem)
    }
}

/// The CA certificate's file name in a certificates directory.
pub const CA_CERT_FILE: &str = "ca.crt";
/// The CA key's file name in a certificates directory.
pub const CA_KEY_FILE: &str = "ca.key";

impl ServiceCert {
    /// Writes `SERVICE.crt` and `SERVICE.key` into `dir`, creating it.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(cert_path(dir, &self.service), &self.cert_pem)?;
        write_key(&key_path(dir, &self.service), &self.key_pem)
    }
}

/// `DIR/SERVICE.crt`.
pub fn cert_path(dir: &Path, service: &str) -> PathBuf {
    dir.join(format!("{service}.crt"))
}

/// `DIR/SERVICE.key`.
pub fn key_path(dir: &Path, service: &str) -> PathBuf {
    dir.join(format!("{service}.key"))
}

/// Writes a service's private key. It stays readable by others: the
/// services run as a non-root user in their containers and read it through
/// a bind mount. These are development keys in a git-ignored directory;
/// production keys come from Secrets, mounted for the pod's user alone.
fn write_key(path: &Path, pem: &str) -> std::io::Result<()> {
    std::fs::write(path, pem)
}

/// Writes the CA's key for its owner alone: no service ever reads it.
fn write_private(path: &Path, pem: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(pem.as_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;

    use super::*;
    use crate::identity::ClientIdentity;

    #[test]
    fn a_service_certificate_names_the_service_everywhere_it_runs() {
        let ca = DevCa::generate("test CA").unwrap();
        let cert = ca
            .issue("storefront", &["shop.example".to_owned()])
            .unwrap();
        let der = CertificateDer::from_pem_slice(cert.cert_pem.as_bytes()).unwrap();
        assert_eq!(
            ClientIdentity::of(&der),
            ClientIdentity::Service("storefront".into())
        );
        let (_, parsed) = x509_parser::parse_x509_certificate(&der).unwrap();
        let san = parsed.subject_alternative_name().unwrap().unwrap();
        let names: Vec<String> = san
            .value
            .general_names
            .iter()
            .map(|name| name.to_string())
            .collect();
        for expected in [
            "DNSName(storefront)",
            "DNSName(storefront.books)",
            "DNSName(storefront.books.svc)",
            "DNSName(storefront.books.svc.cluster.local)",
            "DNSName(localhost)",
            "DNSName(shop.example)",
            "URI(spiffe://online-books/storefront)",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} in {names:?}"
            );
        }
        let usages = parsed.extended_key_usage().unwrap().unwrap().value;
        assert!(usages.server_auth && usages.client_auth);
    }

    #[test]
    fn a_ca_read_back_from_pem_issues_certificates_that_chain_to_it() {
        let first = DevCa::generate("test CA").unwrap();
        let again = DevCa::from_pem(first.cert_pem(), &first.key_pem).unwrap();
        let cert = again.issue("marketplace", &[]).unwrap();
        let ca_der = CertificateDer::from_pem_slice(first.cert_pem.as_bytes()).unwrap();
        let der = CertificateDer::from_pem_slice(cert.cert_pem.as_bytes()).unwrap();
        let (_, ca) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
        let (_, leaf) = x509_parser::parse_x509_certificate(&der).unwrap();
        assert_eq!(leaf.issuer(), ca.subject());
        leaf.verify_signature(Some(ca.public_key())).unwrap();
    }
}
