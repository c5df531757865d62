//! Default ports for a new service that collide with nothing in the
//! repository, so every service still runs on one machine with no config.
//!
//! The allocation: gRPC services take the first free port from 50052 and
//! web services from 8081; their admin ports, the first free from 9052
//! (gRPC) or 9081 (web). "Free" means no `:PORT` in `docker-compose.yaml`
//! or in any crate's `src/config.rs`, and none of the stack's own ports.

use std::collections::BTreeSet;
use std::path::Path;

/// Ports the observability stack uses (Grafana, Loki, Tempo, OTLP, the
/// collector's metrics, Prometheus, the kit's default admin port).
const STACK: &[u16] = &[3000, 3100, 3200, 4317, 4318, 8888, 8889, 9090, 9464, 13133];

/// Every port the repository's services and stack use.
pub(crate) fn used(root: &Path) -> BTreeSet<u16> {
    let mut texts =
        vec![std::fs::read_to_string(root.join("docker-compose.yaml")).unwrap_or_default()];
    if let Ok(crates) = std::fs::read_dir(root.join("crates")) {
        for entry in crates.flatten() {
            if let Ok(text) = std::fs::read_to_string(entry.path().join("src/config.rs")) {
                texts.push(text);
            }
        }
    }
    let mut ports: BTreeSet<u16> = STACK.iter().copied().collect();
    for text in &texts {
        ports.extend(after_colons(text));
    }
    ports
}

/// Numbers of four or five digits that follow a `:`.
fn after_colons(text: &str) -> impl Iterator<Item = u16> + '_ {
    text.split(':').skip(1).filter_map(|rest| {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        (4..=5)
            .contains(&digits.len())
            .then(|| digits.parse().ok())
            .flatten()
    })
}

/// The first port from `start` up that is not in `used`, which it joins.
pub(crate) fn allocate(used: &mut BTreeSet<u16>, start: u16) -> Result<u16, String> {
    let port = (start..=u16::MAX)
        .find(|port| !used.contains(port))
        .ok_or_else(|| format!("no free port above {start}"))?;
    used.insert(port);
    Ok(port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_skips_what_is_used() {
        let mut used: BTreeSet<u16> = [50051, 50052, 50054].into();
        assert_eq!(allocate(&mut used, 50052), Ok(50053));
        assert_eq!(allocate(&mut used, 50052), Ok(50055));
    }

    #[test]
    fn ports_are_the_numbers_after_colons() {
        assert_eq!(
            after_colons("x: 127.0.0.1:8080:8080, :12, :123456").collect::<Vec<_>>(),
            [8080, 8080]
        );
    }
}
