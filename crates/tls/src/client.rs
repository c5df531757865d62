//! The client side: an `https://` service URL turns TLS on, verified against
//! `RECOMMENDATIONS_CA`; `TLS_CLIENT_CERT` and `TLS_CLIENT_KEY` add a client
//! certificate for mutual TLS.

use std::path::PathBuf;

use tonic::transport::{Certificate, ClientTlsConfig, Identity, Uri};

use crate::{TlsError, pem};

/// Client TLS settings, as flags and environment variables.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientTlsArgs {
    /// PEM CA certificate(s) that sign the Recommendations server's
    /// certificate. Required with an https RECOMMENDATIONS_URL.
    #[arg(long, env = "RECOMMENDATIONS_CA")]
    pub recommendations_ca: Option<PathBuf>,

    /// PEM client certificate, for servers that require mutual TLS.
    #[arg(long, env = "TLS_CLIENT_CERT", requires = "tls_client_key")]
    pub tls_client_cert: Option<PathBuf>,

    /// PEM private key of TLS_CLIENT_CERT.
    #[arg(long, env = "TLS_CLIENT_KEY", requires = "tls_client_cert")]
    pub tls_client_key: Option<PathBuf>,
}

impl ClientTlsArgs {
    /// Reads and checks the files for calls to `url`; `None` for `http://`.
    /// The server's certificate is verified against `url`'s host name, also
    /// when connecting to the addresses that name resolves to.
    pub fn load(&self, url: &Uri) -> Result<Option<ClientTlsConfig>, TlsError> {
        if url.scheme_str() != Some("https") {
            if self.recommendations_ca.is_some() || self.tls_client_cert.is_some() {
                return Err(TlsError::Inconsistent(
                    "RECOMMENDATIONS_CA or TLS_CLIENT_CERT is set but RECOMMENDATIONS_URL is not https",
                ));
            }
            return Ok(None);
        }
        let Some(ca) = &self.recommendations_ca else {
            return Err(TlsError::Inconsistent(
                "RECOMMENDATIONS_URL is https but RECOMMENDATIONS_CA is not set",
            ));
        };
        crate::install_crypto_provider();
        let mut config = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(pem::certificates(
                "RECOMMENDATIONS_CA",
                ca,
            )?))
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
