//! `cargo xtask certs`: a development PKI for mutual TLS. One CA, and one
//! certificate per app service of `docker-compose.yaml` (each service that
//! is built from the Dockerfile), valid as its server certificate and as
//! its client identity `spiffe://online-books/NAME`. A generated service
//! is an app service like the others, so it gets one too.
//!
//! The CA of an earlier run is reused unless told otherwise, so issuing
//! again (after `new-service`, or to rotate) leaves every running
//! service's trust intact.

use std::path::{Path, PathBuf};

use saphyr::{LoadableYamlNode as _, Yaml};
use tls::dev::{CA_CERT_FILE, CA_KEY_FILE, DevCa, cert_path, key_path};

/// The CA's common name.
const CA_NAME: &str = "Online Books For You dev CA";

/// What to issue, and where.
#[derive(Debug)]
pub(crate) struct Options {
    /// The directory to write into.
    pub(crate) out: PathBuf,
    /// Make a new CA even if `out` holds one.
    pub(crate) new_ca: bool,
    /// Names every certificate is also valid for.
    pub(crate) extra_names: Vec<String>,
}

/// Issues the certificates of every app service in `root`'s compose file;
/// the lines to print.
pub(crate) fn run(root: &Path, options: &Options) -> Result<Vec<String>, String> {
    let compose = root.join("docker-compose.yaml");
    let text = std::fs::read_to_string(&compose)
        .map_err(|e| format!("{}: cannot read it: {e}", compose.display()))?;
    let services = app_services(&text).map_err(|e| format!("{}: {e}", compose.display()))?;
    let out = root.join(&options.out);
    let failed = |what: &str, e: &dyn std::fmt::Display| format!("{what}: {e}");

    let (ca_cert, ca_key) = (out.join(CA_CERT_FILE), out.join(CA_KEY_FILE));
    let mut lines = Vec::new();
    let ca = if !options.new_ca && ca_cert.exists() && ca_key.exists() {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|e| failed(&path.display().to_string(), &e))
        };
        let ca = DevCa::from_pem(&read(&ca_cert)?, &read(&ca_key)?)
            .map_err(|e| failed(&format!("the CA in {}", out.display()), &e))?;
        lines.push(format!(
            "CA: {} (kept; --new-ca replaces it)",
            ca_cert.display()
        ));
        ca
    } else {
        let ca = DevCa::generate(CA_NAME).map_err(|e| failed("making the CA", &e))?;
        ca.write_to(&out)
            .map_err(|e| failed(&out.display().to_string(), &e))?;
        lines.push(format!("CA: {} (new)", ca_cert.display()));
        ca
    };
    for service in &services {
        ca.issue(service, &options.extra_names)
            .map_err(|e| failed(service, &e))?
            .write_to(&out)
            .map_err(|e| failed(&out.display().to_string(), &e))?;
        lines.push(format!(
            "{service}: {} and {} ({})",
            cert_path(&out, service).display(),
            key_path(&out, service).display(),
            tls::spiffe_id(service),
        ));
    }
    lines.push("development certificates only; restart the services to load new ones".to_owned());
    Ok(lines)
}

/// The compose services built from the Dockerfile: those with a `build`
/// key, written out or merged in (`<<: *app`), in file order.
pub(crate) fn app_services(compose: &str) -> Result<Vec<String>, String> {
    let documents = Yaml::load_from_str(compose).map_err(|e| format!("not YAML: {e}"))?;
    let services = documents
        .first()
        .and_then(|doc| doc.as_mapping_get("services"))
        .and_then(Yaml::as_mapping)
        .ok_or("no `services:` mapping")?;
    let mut names = Vec::new();
    for (name, service) in services {
        if is_built(service) {
            let name = name.as_str().ok_or("a service name is not a string")?;
            names.push(name.to_owned());
        }
    }
    if names.is_empty() {
        return Err("no service is built from the Dockerfile (none has `build:`)".to_owned());
    }
    Ok(names)
}

/// Whether `service` has a `build` key, itself or through a merge key.
fn is_built(service: &Yaml<'_>) -> bool {
    if service.as_mapping_get("build").is_some() {
        return true;
    }
    match service.as_mapping_get("<<") {
        Some(Yaml::Sequence(merged)) => merged.iter().any(is_built),
        Some(merged) => is_built(merged),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn app_services_are_the_ones_built_from_the_dockerfile() {
        let compose = "\
x-app: &app
  image: online-books:dev
  build:
    context: .
x-more: &more
  restart: always
services:
  shop:
    <<: *app
    command: [shop]
  listed:
    <<: [*more, *app]
  direct:
    build: .
  collector:
    image: otel/collector:1
    <<: *more
";
        assert_eq!(app_services(compose).unwrap(), ["shop", "listed", "direct"]);
    }

    #[test]
    fn the_repository_compose_file_names_every_example() {
        let compose = include_str!("../../../docker-compose.yaml");
        let services = app_services(compose).unwrap();
        for example in ["recommendations", "marketplace", "loadgen"] {
            assert!(services.iter().any(|s| s == example), "{services:?}");
        }
        assert!(
            !services.iter().any(|s| s == "otel-collector"),
            "{services:?}"
        );
    }

    #[test]
    fn a_second_run_keeps_the_ca_and_reissues_every_service() {
        let root = std::env::temp_dir().join(format!("xtask-certs-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(
            root.join("docker-compose.yaml"),
            "services:\n  a:\n    build: .\n  b:\n    build: .\n  db:\n    image: postgres:17\n",
        )
        .unwrap();
        let options = Options {
            out: "certs".into(),
            new_ca: false,
            extra_names: Vec::new(),
        };
        run(&root, &options).unwrap();
        let certs = root.join("certs");
        let ca = std::fs::read_to_string(certs.join(CA_CERT_FILE)).unwrap();
        let first = std::fs::read_to_string(cert_path(&certs, "a")).unwrap();
        assert!(!cert_path(&certs, "db").exists());

        run(&root, &options).unwrap();
        assert_eq!(
            std::fs::read_to_string(certs.join(CA_CERT_FILE)).unwrap(),
            ca
        );
        assert_ne!(
            std::fs::read_to_string(cert_path(&certs, "a")).unwrap(),
            first
        );

        let renewed = Options {
            new_ca: true,
            ..options
        };
        run(&root, &renewed).unwrap();
        assert_ne!(
            std::fs::read_to_string(certs.join(CA_CERT_FILE)).unwrap(),
            ca
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
