//! The client side: an `https://` upstream URL turns TLS on, verified
//! against that upstream's CA (`<UPSTREAM>_CA`); `TLS_CLIENT_CERT` and
//! `TLS_CLIENT_KEY` add this process's client certificate, for mutual TLS,
//! to every https upstream.

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, ClientTlsConfig, Identity, Uri};

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
}
