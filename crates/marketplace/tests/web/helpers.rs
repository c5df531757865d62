//! Shared test plumbing: start Recommendations and the Marketplace
//! in-process on loopback, fetch pages, and stop them.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser as _;
use lifecycle::{Shutdown, ShutdownController};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use testkit::http::{get, sample};
use testkit::init_test_logs;
use testkit::process::{Process, Spec, sibling_binary};

/// The marketplace binary, built by cargo for this test target.
pub const MARKETPLACE_BIN: &str = env!("CARGO_BIN_EXE_marketplace");

/// The recommendations binary, built beside it by the workspace build.
pub fn recommendations_bin() -> std::path::PathBuf {
    sibling_binary(MARKETPLACE_BIN, "recommendations")
}

/// A marketplace process spec pointed at `recommendations`.
pub fn marketplace_spec(recommendations: SocketAddr) -> Spec {
    Spec::new(MARKETPLACE_BIN, "HTTP_ADDR")
        .env("RECOMMENDATIONS_URL", format!("http://{recommendations}"))
}

/// Starts both binaries as processes, with `env` for both.
pub async fn start_both(env: &[(&str, String)]) -> (Process, Process) {
    let recommendations = Spec::new(recommendations_bin(), "GRPC_ADDR")
        .envs(env)
        .start()
        .await;
    let marketplace = marketplace_spec(recommendations.addr)
        .envs(env)
        .start()
        .await;
    (recommendations, marketplace)
}

fn unused_metrics() -> telemetry::Metrics {
    telemetry::Metrics::detached()
}

/// A running service and the handles to reach and stop it.
pub struct Running<E> {
    pub addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub controller: ShutdownController,
    pub server: JoinHandle<Result<(), E>>,
}

impl<E> Running<E> {
    /// Stops at once and waits for the server to return.
    pub async fn stop(self) {
        self.controller.stop_now();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.server).await;
    }
}

async fn loopback() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// Starts Recommendations in-process with extra command-line `flags`.
pub async fn spawn_recommendations_with(flags: &[String]) -> Running<recommendations::Error> {
    init_test_logs();
    let args = std::iter::once("recommendations".to_owned()).chain(flags.iter().cloned());
    let config = recommendations::Config::parse_from(args);
    let listeners = recommendations::Listeners {
        grpc: loopback().await,
        admin: loopback().await,
    };
    let addr = listeners.grpc.local_addr().unwrap();
    let admin_addr = listeners.admin.local_addr().unwrap();
    let (shutdown, controller) = Shutdown::new(Duration::from_secs(5));
    let server = tokio::spawn(recommendations::run(
        config,
        listeners,
        shutdown,
        unused_metrics(),
    ));
    Running {
        addr,
        admin_addr,
        controller,
        server,
    }
}

/// Starts Recommendations with the embedded catalogue.
pub async fn spawn_recommendations() -> Running<recommendations::Error> {
    spawn_recommendations_with(&[]).await
}

/// Starts the Marketplace in-process with extra command-line `flags`.
pub async fn spawn_marketplace_with(flags: &[String]) -> Running<marketplace::Error> {
    init_test_logs();
    let args = std::iter::once("marketplace".to_owned()).chain(flags.iter().cloned());
    let config = marketplace::Config::parse_from(args);
    let listeners = marketplace::Listeners {
        http: loopback().await,
        admin: loopback().await,
    };
    let addr = listeners.http.local_addr().unwrap();
    let admin_addr = listeners.admin.local_addr().unwrap();
    let (shutdown, controller) = Shutdown::new(Duration::from_secs(5));
    let server = tokio::spawn(marketplace::run(
        config,
        listeners,
        shutdown,
        unused_metrics(),
    ));
    Running {
        addr,
        admin_addr,
        controller,
        server,
    }
}

/// Starts the Marketplace, pointed at `recommendations`.
pub async fn spawn_marketplace(recommendations: SocketAddr) -> Running<marketplace::Error> {
    spawn_marketplace_with(&[format!("--recommendations-url=http://{recommendations}")]).await
}

/// The titles in the page's recommendation list.
pub fn listed_titles(html: &str) -> Vec<String> {
    html.split("<li>")
        .skip(1)
        .filter_map(|rest| rest.split("</li>").next())
        .map(str::to_owned)
        .collect()
}

/// The tutorial's three mystery books.
pub const MYSTERY_TITLES: [&str; 3] = [
    "The Maltese Falcon",
    "Murder on the Orient Express",
    "The Hound of the Baskervilles",
];
