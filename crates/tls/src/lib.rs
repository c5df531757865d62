//! TLS and mutual TLS between the services, on rustls with ring as the one
//! crypto provider: every service has its own identity (a certificate
//! naming it as `spiffe://online-books/NAME`), and a server with mutual
//! TLS accepts only the callers its allow-list names.
//!
//! Certificate files are read and parsed at start-up, so a missing or
//! malformed file stops the process with one clear line instead of failing
//! every handshake later. Servers accept TLS through [`TlsAcceptor`], which
//! logs and counts refused handshakes, and check each call with
//! [`CallerCheck`]. The admin port is never TLS: kubelet probes and
//! Prometheus scrapes there speak plain HTTP.

mod acceptor;
mod allow;
mod callers;
mod client;
mod client_error;
#[cfg(feature = "dev-certs")]
pub mod dev;
mod identity;
mod log_budget;
mod metrics;
mod pem;
mod probe;
mod server;

use std::path::PathBuf;

pub use acceptor::{HandshakeRefused, Peer, RefusalReason, TlsAcceptor};
pub use allow::AllowedClients;
pub use callers::{CallRefused, CallerCheck};
pub use client::{ClientIdentityArgs, UpstreamTls};
pub use client_error::handshake_failure;
pub use identity::{ClientIdentity, TRUST_DOMAIN, spiffe_id};
pub use metrics::{CALLS_REFUSED, HANDSHAKES_REFUSED};
pub use probe::HandshakeProbe;
pub use server::{ServerTls, ServerTlsArgs, ServerTlsMode};
/// The stream of an accepted TLS connection.
pub use tokio_rustls::server::TlsStream;

/// Why a TLS configuration could not be loaded. Each reads as one line.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{var} {path}: cannot read it")]
    Read {
        var: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{var} {path}: no PEM certificate in it")]
    NoCertificate { var: String, path: PathBuf },
    #[error("{var} {path}: no PEM private key in it")]
    NoKey { var: String, path: PathBuf },
    #[error("{var} {path}: malformed PEM ({detail})")]
    Malformed {
        var: String,
        path: PathBuf,
        detail: String,
    },
    #[error("{0}")]
    Inconsistent(String),
}

/// Installs ring as the process's rustls crypto provider. Idempotent; done
/// before any TLS configuration is built.
pub fn install_crypto_provider() {
    // An error means a provider is already installed, which is all we need.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
