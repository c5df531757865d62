//! The service kit: what every service is built on, in one dependency. A
//! service is its own logic plus a few lines of wiring; the kit gives it
//! start-up and exit ([`main`]), shared config ([`ServiceArgs`]), probes and
//! a graceful drain, telemetry, and hardened servers and clients, by
//! construction. See `docs/writing-a-service.md` and this crate's examples.
//!
//! The capabilities live in crates of their own, re-exported here:
//! [`grpc_server`], [`http_server`], [`grpc_client`], [`lifecycle`],
//! [`telemetry`] and [`tls`].

mod admin;
mod args;
mod runner;

pub use args::{ServiceArgs, ServiceConfig};
pub use runner::{Error, Listeners, main, serve};

pub use grpc_client;
pub use grpc_server;
pub use http_server;
pub use lifecycle;
pub use lifecycle::Shutdown;
pub use telemetry;
pub use tls;
/// What a service's `run` is given to serve on.
pub use tokio::net::TcpListener;
