//! Shared test plumbing: start Recommendations and the Marketplace
//! in-process on loopback, fetch pages, and stop them.

use std::net::SocketAddr;

use testkit::Spawned;
pub use testkit::http::{get, sample};
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

/// Starts Recommendations in-process with extra command-line `flags`.
pub async fn spawn_recommendations_with(flags: &[String]) -> Spawned<recommendations::Error> {
    testkit::spawn(recommendations::run, flags).await
}

/// Starts Recommendations with the embedded catalogue.
pub async fn spawn_recommendations() -> Spawned<recommendations::Error> {
    spawn_recommendations_with(&[]).await
}

/// Starts the Marketplace in-process with extra command-line `flags`.
pub async fn spawn_marketplace_with(flags: &[String]) -> Spawned<marketplace::Error> {
    testkit::spawn(marketplace::run, flags).await
}

/// Starts the Marketplace, pointed at `recommendations`.
pub async fn spawn_marketplace(recommendations: SocketAddr) -> Spawned<marketplace::Error> {
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
