//! Reads PEM files and checks they hold what they should, at start-up.

use std::path::Path;

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::TlsError;

fn read(var: &str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        var: var.to_owned(),
        path: path.to_owned(),
        source,
    })
}

/// The file's bytes, once checked to hold one or more certificates.
pub(crate) fn certificates(var: &str, path: &Path) -> Result<Vec<u8>, TlsError> {
    let bytes = read(var, path)?;
    let mut found = 0;
    for certificate in CertificateDer::pem_slice_iter(&bytes) {
        certificate.map_err(|e| TlsError::Malformed {
            var: var.to_owned(),
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        found += 1;
    }
    if found == 0 {
        return Err(TlsError::NoCertificate {
            var: var.to_owned(),
            path: path.to_owned(),
        });
    }
    Ok(bytes)
}

/// The file's bytes, once checked to hold a private key.
pub(crate) fn private_key(var: &str, path: &Path) -> Result<Vec<u8>, TlsError> {
    let bytes = read(var, path)?;
    match PrivateKeyDer::from_pem_slice(&bytes) {
        Ok(_) => Ok(bytes),
        Err(rustls_pki_types::pem::Error::NoItemsFound) => Err(TlsError::NoKey {
            var: var.to_owned(),
            path: path.to_owned(),
        }),
        Err(e) => Err(TlsError::Malformed {
            var: var.to_owned(),
            path: path.to_owned(),
            detail: e.to_string(),
        }),
    }
}

/// The certificates in the file, for rustls.
pub(crate) fn certificate_ders(
    var: &str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = certificates(var, path)?;
    CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Malformed {
            var: var.to_owned(),
            path: path.to_owned(),
            detail: e.to_string(),
        })
}

/// The private key in the file, for rustls.
pub(crate) fn private_key_der(var: &str, path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = private_key(var, path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::Malformed {
        var: var.to_owned(),
        path: path.to_owned(),
        detail: e.to_string(),
    })
}
