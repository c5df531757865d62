//! Shared test plumbing: the service in-process on loopback.

use testkit::Spawned;

/// Starts the service on loopback, with its upstreams stood in for.
pub async fn spawn_app() -> Spawned<skeleton::Error> {
    let flags: Vec<String> = vec![
        // xtask:calls {
        format!("--callee-url=http://{}", testkit::grpc::spawn_health_server().await),
        // xtask:}
    ];
    testkit::spawn(skeleton::run, flags).await
}
