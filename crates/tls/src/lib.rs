//! TLS and mutual TLS for the gRPC link between the services, through
//! tonic's rustls support with ring as the one crypto provider.
//!
//! Certificate files are read and parsed at start-up, so a missing or
//! malformed file stops the process with one clear line instead of failing
//! every handshake later. The admin port is never TLS: kubelet probes and
//! Prometheus scrapes there speak plain HTTP.

mod client;
#[cfg(feature = "dev-certs")]
pub mod dev;
mod pem;
mod server;

use std::path::PathBuf;

pub use client::{ClientIdentityArgs, UpstreamTls};
pub use server::ServerTlsArgs;

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
