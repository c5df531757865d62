//! The HTTP server kit: the hardened hyper server that every public web
//! server and every admin port runs on, and [`WebServer`], which adds what a
//! public web service needs (telemetry, panic recovery, security headers, a
//! 404 page).

mod callers;
mod hardened;
mod panic;
mod tls_connection;
mod web;

pub use hardened::{HttpLimits, serve_router};
pub use web::{CONTENT_SECURITY_POLICY, Error, HttpServerArgs, WebServer};
