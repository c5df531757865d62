//! The server side: `TLS_CERT` and `TLS_KEY` turn TLS on; `TLS_CLIENT_CA`
//! also requires every client to present a certificate signed by that CA,
//! and `TLS_ALLOWED_CLIENTS` says which services such a certificate may
//! name. The same settings serve a gRPC server and a web server.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;

use crate::acceptor::TlsAcceptor;
use crate::allow::AllowedClients;
use crate::callers::CallerCheck;
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
    /// (mutual TLS). Needs TLS_CERT and TLS_KEY, and TLS_ALLOWED_CLIENTS.
    #[arg(long, env = "TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,

    /// With TLS_CLIENT_CA: the services allowed to call, comma-separated
    /// (`marketplace,storefront`), by the NAME in their certificate's
    /// `spiffe://online-books/NAME`. Any other caller gets PERMISSION_DENIED
    /// (gRPC) or 403 (HTTP). Empty allows no service; `*` allows any
    /// certificate TLS_CLIENT_CA signed.
    #[arg(long, env = "TLS_ALLOWED_CLIENTS")]
    pub tls_allowed_clients: Option<AllowedClients>,

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

/// A checked server TLS configuration: the certificate, the client CA and
/// allow-list if any, and the handshake timeout.
#[derive(Debug, Clone)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
    allowed: Option<Arc<AllowedClients>>,
    handshake_timeout: Duration,
}

impl ServerTlsArgs {
    /// Reads and checks the files; `None` when TLS is off. Mutual TLS
    /// without an allow-list is refused: a certificate from the CA alone
    /// would let every service call every other.
    pub fn load(&self) -> Result<Option<ServerTls>, TlsError> {
        let allowed = match (&self.tls_client_ca, &self.tls_allowed_clients) {
            (Some(_), None) => {
                return Err(TlsError::Inconsistent(
                    "TLS_CLIENT_CA is set but TLS_ALLOWED_CLIENTS is not: list the services \
                     allowed to call (e.g. TLS_ALLOWED_CLIENTS=marketplace), or `*` for any \
                     certificate TLS_CLIENT_CA signed"
                        .to_owned(),
                ));
            }
            (None, Some(_)) => {
                return Err(TlsError::Inconsistent(
                    "TLS_ALLOWED_CLIENTS is set but TLS_CLIENT_CA is not: only mutual TLS \
                     asks callers for a certificate to check"
                        .to_owned(),
                ));
            }
            (_, allowed) => allowed.clone().map(Arc::new),
        };
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        crate::install_crypto_provider();
        let chain = pem::certificate_ders("TLS_CERT", cert)?;
        let key = pem::private_key_der("TLS_KEY", key)?;
        let builder = rustls::ServerConfig::builder();
        let builder = match &self.tls_client_ca {
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for certificate in pem::certificate_ders("TLS_CLIENT_CA", ca)? {
                    roots.add(certificate).map_err(|e| TlsError::Malformed {
                        var: "TLS_CLIENT_CA".to_owned(),
                        path: ca.clone(),
                        detail: e.to_string(),
                    })?;
                }
                let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
                    .build()
                    .map_err(|e| TlsError::Inconsistent(format!("TLS_CLIENT_CA: {e}")))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let config = builder
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Inconsistent(format!("TLS_CERT and TLS_KEY: {e}")))?;
        crate::metrics::describe();
        Ok(Some(ServerTls {
            config: Arc::new(config),
            allowed,
            handshake_timeout: self.tls_handshake_timeout,
        }))
    }

    pub fn mode(&self) -> ServerTlsMode {
        match (&self.tls_cert, &self.tls_client_ca) {
            (None, _) => ServerTlsMode::Plaintext,
            (Some(_), None) => ServerTlsMode::Tls,
            (Some(_), Some(_)) => ServerTlsMode::MutualTls,
        }
    }
}

impl ServerTls {
    /// What this configuration enforces.
    pub fn mode(&self) -> ServerTlsMode {
        if self.allowed.is_some() {
            ServerTlsMode::MutualTls
        } else {
            ServerTlsMode::Tls
        }
    }

    /// The allow-list, with mutual TLS.
    pub fn allowed_clients(&self) -> Option<&AllowedClients> {
        self.allowed.as_deref()
    }

    /// The acceptor of a server that speaks the application protocols
    /// `alpn`, most preferred first (`h2` alone for gRPC).
    pub fn acceptor(&self, alpn: &[&[u8]]) -> TlsAcceptor {
        let mut config = (*self.config).clone();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        TlsAcceptor::new(
            Arc::new(config),
            self.allowed.clone(),
            self.handshake_timeout,
        )
    }

    /// The per-call check of a server with this configuration.
    pub fn caller_check(&self) -> CallerCheck {
        CallerCheck::new(self.allowed.is_some())
    }
}
