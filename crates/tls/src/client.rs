//! The client side: an `https://` upstream URL turns TLS on, verified
//! against that upstream's CA (`<UPSTREAM>_CA`); `TLS_CLIENT_CERT` and
//! `TLS_CLIENT_KEY` add this process's client certificate, for mutual TLS,
//! to every https upstream.

use std::path::{Path, PathBuf};

use rustls::RootCertStore;
use rustls_pki_types::ServerName;
use tonic::transport::{Certificate, ClientTlsConfig, Identity, Uri};

use crate::probe::HandshakeProbe;
use crate::{TlsError, pem};

/// This process's client certificate, as flags and environment variables.
/// One per process, whatever the number of upstreams.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClientIdentityArgs {
    /// PEM client certificate, for servers that require mutual TLS.
    #[arg(long, env = "TLS_CLIENT_CERT", requires = "tls_client_key")]
    pub tls_client_cert: Option<PathBuf>,

    /// PEM private key of TLS_CLIENT_CERT.
    #[arg(long, env = "TLS_CLIENT_KEY", requires = "tls_client_cert")]
    pub tls_client_key: Option<PathBuf>,
}

/// One upstream's TLS settings: its URL, and the CA its server certificate
/// must chain to, each with the variable it came from (for error messages).
#[derive(Debug, Clone, Copy)]
pub struct UpstreamTls<'a> {
    pub url: &'a Uri,
    pub url_var: &'a str,
    pub ca: Option<&'a Path>,
    pub ca_var: &'a str,
}

impl ClientIdentityArgs {
    /// Reads and checks the files for calls to `upstream`; `None` for
    /// `http://`. The server's certificate is verified against the URL's
    /// host name, also when connecting to the addresses that name resolves
    /// to.
    pub fn load(&self, upstream: UpstreamTls<'_>) -> Result<Option<ClientTlsConfig>, TlsError> {
        let UpstreamTls {
            url,
            url_var,
            ca,
            ca_var,
        } = upstream;
        if url.scheme_str() != Some("https") {
            if ca.is_some() {
                return Err(TlsError::Inconsistent(format!(
                    "{ca_var} is set but {url_var} is not https"
                )));
            }
            return Ok(None);
        }
        let Some(ca) = ca else {
            return Err(TlsError::Inconsistent(format!(
                "{url_var} is https but {ca_var} is not set"
            )));
        };
        crate::install_crypto_provider();
        let mut config = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(pem::certificates(ca_var, ca)?))
            .domain_name(url.host().unwrap_or_default().trim_matches(['[', ']']));
        if let (Some(cert), Some(key)) = (&self.tls_client_cert, &self.tls_client_key) {
            config = config.identity(Identity::from_pem(
                pem::certificates("TLS_CLIENT_CERT", cert)?,
                pem::private_key("TLS_CLIENT_KEY", key)?,
            ));
        }
        Ok(Some(config))
    }

    /// The probe that finds out why handshakes with `upstream` fail (see
    /// [`HandshakeProbe`]), with the same CA and client certificate as
    /// calls; `None` for `http://`. Call after [`ClientIdentityArgs::load`],
    /// which reports bad settings.
    pub fn probe(&self, upstream: UpstreamTls<'_>) -> Result<Option<HandshakeProbe>, TlsError> {
        let (Some("https"), Some(ca)) = (upstream.url.scheme_str(), upstream.ca) else {
            return Ok(None);
        };
        crate::install_crypto_provider();
        let mut roots = RootCertStore::empty();
        for certificate in pem::certificate_ders(upstream.ca_var, ca)? {
            roots.add(certificate).map_err(|e| TlsError::Malformed {
                var: upstream.ca_var.to_owned(),
                path: ca.to_owned(),
                detail: e.to_string(),
            })?;
        }
        let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
        let mut config = match (&self.tls_client_cert, &self.tls_client_key) {
            (Some(cert), Some(key)) => builder
                .with_client_auth_cert(
                    pem::certificate_ders("TLS_CLIENT_CERT", cert)?,
                    pem::private_key_der("TLS_CLIENT_KEY", key)?,
                )
                .map_err(|e| {
                    TlsError::Inconsistent(format!("TLS_CLIENT_CERT and TLS_CLIENT_KEY: {e}"))
                })?,
            _ => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        let host = upstream
            .url
            .host()
            .unwrap_or_default()
            .trim_matches(['[', ']'])
            .to_owned();
        let server_name = ServerName::try_from(host.clone())
            .map_err(|e| TlsError::Inconsistent(format!("{}: {e}", upstream.url_var)))?;
        let port = upstream.url.port_u16().unwrap_or(443);
        let authority = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Ok(Some(HandshakeProbe::new(config, server_name, authority)))
    }
}
