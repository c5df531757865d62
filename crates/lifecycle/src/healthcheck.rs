//! The `healthcheck` subcommand every binary has: distroless images have no
//! shell or curl, so the container's health check runs the binary itself,
//! which asks its own admin server's `/readyz`.

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// Subcommands shared by every service binary.
#[derive(Debug, Clone, Copy, clap::Subcommand)]
pub enum Command {
    /// Exit 0 if this service's admin `/readyz` answers 200, else 1. For
    /// container health checks; reads the same ADMIN_ADDR as the server.
    Healthcheck,
}

/// Asks `GET /readyz` on the admin address; an unspecified address (0.0.0.0)
/// is asked on loopback.
pub fn check_ready(admin_addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let mut addr = admin_addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("{addr}: {e}"))?;
    let mut head = [0u8; 12];
    stream
        .read_exact(&mut head)
        .map_err(|e| format!("{addr}: {e}"))?;
    match &head {
        b"HTTP/1.1 200" => Ok(()),
        other => Err(format!(
            "{addr}/readyz answered {}",
            String::from_utf8_lossy(other)
        )),
    }
}

/// Runs the health check and exits: 0 when ready, 1 otherwise.
pub fn run_and_exit(admin_addr: SocketAddr) -> ! {
    match check_ready(admin_addr, Duration::from_secs(2)) {
        Ok(()) => std::process::exit(0),
        Err(reason) => {
            eprintln!("not ready: {reason}");
            std::process::exit(1)
        }
    }
}
