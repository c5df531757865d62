//! Development PKIs written to temporary files, for TLS tests: the same
//! layout and certificates as `cargo xtask certs` (`ca.crt`, and
//! `NAME.crt`/`NAME.key` per service, each naming `spiffe://online-books/NAME`),
//! and the service reads them from paths, exactly as in production.

use std::path::{Path, PathBuf};

use tls::dev::{DevCa, cert_path, key_path};

/// One PKI's directory: a CA and a certificate per service.
#[derive(Debug, Clone)]
pub struct Pki {
    pub dir: PathBuf,
    /// The CA certificate, for `TLS_CLIENT_CA` and `<UPSTREAM>_CA`.
    pub ca: PathBuf,
}

/// Generates a CA named `name` and a certificate for each of `services`
/// into a fresh temporary directory.
pub fn write(name: &str, services: &[&str]) -> Pki {
    let dir = std::env::temp_dir().join(format!(
        "pki-{name}-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    let ca = DevCa::generate(name).unwrap();
    ca.write_to(&dir).unwrap();
    for service in services {
        ca.issue(service, &[]).unwrap().write_to(&dir).unwrap();
    }
    Pki {
        ca: dir.join(tls::dev::CA_CERT_FILE),
        dir,
    }
}

/// A random number: `RandomState` is seeded randomly per instance.
fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

impl Pki {
    /// `service`'s certificate, for `TLS_CERT` or `TLS_CLIENT_CERT`.
    pub fn cert(&self, service: &str) -> PathBuf {
        cert_path(&self.dir, service)
    }

    /// `service`'s key, for `TLS_KEY` or `TLS_CLIENT_KEY`.
    pub fn key(&self, service: &str) -> PathBuf {
        key_path(&self.dir, service)
    }

    /// The PEM text of one of the files.
    pub fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }
}
