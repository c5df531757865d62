//! The gRPC example's drain, as Kubernetes drives it: SIGTERM fails gRPC
//! health and `/readyz` at once, the service keeps serving through
//! `SHUTDOWN_DELAY` while load balancers catch up, then the process exits 0.

use std::net::SocketAddr;
use std::time::Duration;

use tonic_health::pb::health_check_response::ServingStatus;

use crate::helpers::{
    HELLO_SERVICE, channel, eventually, health, hello_client, say_hello_to, start_grpc,
};

async fn readyz(admin_addr: SocketAddr) -> u16 {
    testkit::http::get(admin_addr, "/readyz").await.status
}

#[tokio::test]
async fn sigterm_fails_health_and_readyz_through_the_delay_then_exits_0() {
    // The delay only has to outlast the checks below; the timeout bounds the
    // exit after it.
    let mut process = start_grpc(&[("SHUTDOWN_DELAY", "3s"), ("SHUTDOWN_TIMEOUT", "5s")]).await;
    let channel = channel(process.addr).await;
    for service in ["", HELLO_SERVICE] {
        assert_eq!(
            health(channel.clone(), service).await,
            ServingStatus::Serving,
            "{service:?} before SIGTERM"
        );
    }
    assert_eq!(
        readyz(process.admin_addr).await,
        200,
        "/readyz before SIGTERM"
    );

    process.signal("TERM");
    eventually("overall health NOT_SERVING after SIGTERM", || {
        let channel = channel.clone();
        async move {
            match health(channel, "").await {
                ServingStatus::NotServing => Ok(()),
                status => Err(format!("{status:?}")),
            }
        }
    })
    .await;
    // All of this is during the delay: the process has not exited yet, or
    // these calls could not have been answered.
    assert_eq!(
        health(channel.clone(), HELLO_SERVICE).await,
        ServingStatus::NotServing,
        "{HELLO_SERVICE} during the drain"
    );
    assert_eq!(
        readyz(process.admin_addr).await,
        503,
        "/readyz during the drain"
    );
    let reply = hello_client(process.addr)
        .await
        .say_hello(say_hello_to("Ada"))
        .await
        .expect("a call on a new connection during the delay failed");
    assert_eq!(reply.into_inner().message, "Hello, Ada!");

    let (code, _) = process.wait_exit(Duration::from_secs(15)).await;
    assert_eq!(code, Some(0), "exit code after SIGTERM");
}
