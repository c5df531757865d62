//! Shared test plumbing: find the built examples, start them as processes on
//! free loopback ports, make clients, and wait for what happens eventually.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proto::hello::v1::SayHelloRequest;
use proto::hello::v1::hello_service_client::HelloServiceClient;
pub use testkit::grpc::channel;
use testkit::process::{Process, Spec};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The full name the gRPC example's service is served, health-checked and
/// reflected under.
pub const HELLO_SERVICE: &str = "hello.v1.HelloService";

/// The built example `name`. Cargo has no `CARGO_BIN_EXE_` for examples, but
/// puts them beside the test binary's directory: this binary is
/// `target/<profile>/deps/kit-<hash>`, the examples are in
/// `target/<profile>/examples/`.
pub fn example(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().unwrap();
    let profile_dir = test_binary
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("{} has no grandparent", test_binary.display()));
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} missing: build the kit's examples first (`cargo build -p kit --examples`; \
         `cargo test` and `cargo nextest run` build them too)",
        path.display()
    );
    path
}

/// Starts `hello_grpc` with `env` on top of the defaults (no drain delay).
pub async fn start_grpc(env: &[(&str, &str)]) -> Process {
    start(Spec::new(example("hello_grpc"), "GRPC_ADDR"), env).await
}

/// Starts `hello_web` with `env` on top of the defaults (no drain delay).
pub async fn start_web(env: &[(&str, &str)]) -> Process {
    start(Spec::new(example("hello_web"), "HTTP_ADDR"), env).await
}

async fn start(spec: Spec, env: &[(&str, &str)]) -> Process {
    env.iter()
        .fold(spec, |spec, (name, value)| spec.env(name, *value))
        .start()
        .await
}

pub async fn hello_client(addr: SocketAddr) -> HelloServiceClient<Channel> {
    HelloServiceClient::new(channel(addr).await)
}

pub fn say_hello_to(name: impl Into<String>) -> SayHelloRequest {
    SayHelloRequest { name: name.into() }
}

/// The `grpc.health.v1` status of `service` ("" for the whole server).
pub async fn health(channel: Channel, service: &str) -> ServingStatus {
    let request = HealthCheckRequest {
        service: service.to_owned(),
    };
    let status = HealthClient::new(channel)
        .check(request)
        .await
        .unwrap_or_else(|s| panic!("health check of {service:?} failed: {s:?}"))
        .into_inner()
        .status;
    ServingStatus::try_from(status).unwrap()
}

/// The admin port's Prometheus exposition.
pub async fn metrics(admin_addr: SocketAddr) -> String {
    let page = testkit::http::get(admin_addr, "/metrics").await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body
}

/// Polls `check` until it gives `Ok`, for at most five seconds; panics with
/// `what` and the last `Err` (what was seen instead) if it never does. For
/// effects that land just after the response does, such as a call's
/// duration being recorded once its body is finished.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match check().await {
            Ok(value) => return value,
            Err(seen) if Instant::now() >= deadline => {
                panic!("never saw {what} within 5 s; last saw: {seen}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}
