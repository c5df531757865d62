//! Development PKIs written to temporary files, for TLS tests: the service
//! reads certificates from paths, exactly as in production.

use std::path::PathBuf;

/// Paths of one PKI's files.
#[derive(Debug, Clone)]
pub struct PkiFiles {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

/// Generates a PKI (CA `name`, server valid for localhost and 127.0.0.1)
/// into a fresh temporary directory.
pub fn write(name: &str) -> PkiFiles {
    let dir = std::env::temp_dir().join(format!(
        "pki-{name}-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    tls::dev::generate(name, &["localhost", "127.0.0.1"])
        .unwrap()
        .write_to(&dir)
        .unwrap();
    PkiFiles {
        ca: dir.join("ca.pem"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
        client_cert: dir.join("client.pem"),
        client_key: dir.join("client.key"),
    }
}

/// A random number: `RandomState` is seeded randomly per instance.
fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

impl PkiFiles {
    /// The PEM text of one of the files.
    pub fn read(path: &PathBuf) -> String {
        std::fs::read_to_string(path).unwrap()
    }
}
