//! The server side: `TLS_CERT` and `TLS_KEY` turn TLS on; `TLS_CLIENT_CA`
//! also requires every client to present a certificate signed by that CA.

use std::path::PathBuf;
use std::time::Duration;

use tonic::transport::{Certificate, Identity, ServerTlsConfig};

use crate::{TlsError, pem};

/// Server TLS settings, as flags and environment variables.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerTlsArgs {
    /// PEM certificate chain of this server; with TLS_KEY, turns TLS on. It
    /// must name the server in its subject alternative names (rustls
    /// ignores the common name).
    #[arg(long, env = "TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of TLS_CERT.
    #[arg(long, env = "TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// PEM CA certificate(s): require client certificates signed by it
    /// (mutual TLS). Needs TLS_CERT and TLS_KEY.
    #[arg(long, env = "TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,

    /// How long a client may take to complete the TLS handshake.
    #[arg(long, env = "TLS_HANDSHAKE_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub tls_handshake_timeout: Duration,
}

/// What a loaded server configuration enforces, for the start-up log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerTlsMode {
    Plaintext,
    Tls,
    MutualTls,
}

impl ServerTlsArgs {
    /// Reads and checks the files; `None` when TLS is off.
    pub fn load(&self) -> Result<Option<ServerTlsConfig>, TlsError> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        crate::install_crypto_provider();
        let identity = Identity::from_pem(
            pem::certificates("TLS_CERT", cert)?,
            pem::private_key("TLS_KEY", key)?,
        );
        let mut config = ServerTlsConfig::new()
            .identity(identity)
            .timeout(self.tls_handshake_timeout);
        if let Some(ca) = &self.tls_client_ca {
            config = config
                .client_ca_root(Certificate::from_pem(pem::certificates(
                    "TLS_CLIENT_CA",
                    ca,
                )?))
                .client_auth_optional(false);
        }
        Ok(Some(config))
    }

    pub fn mode(&self) -> ServerTlsMode {
        match (&self.tls_cert, &self.tls_client_ca) {
            (None, _) => ServerTlsMode::Plaintext,
            (Some(_), None) => ServerTlsMode::Tls,
            (Some(_), Some(_)) => ServerTlsMode::MutualTls,
        }
    }
}
