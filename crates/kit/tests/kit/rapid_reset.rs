//! The rapid-reset defence (CVE-2023-44487) of the gRPC example: a raw
//! HTTP/2 client that opens streams and cancels them at once is sent
//! `GOAWAY(ENHANCE_YOUR_CALM)` long before it has made the server start much
//! work, and other clients are still served.

use testkit::h2::{ENHANCE_YOUR_CALM, ResetFlood, reset_flood};

use crate::helpers::{hello_client, say_hello_to, start_grpc};

const SAY_HELLO: &str = "/hello.v1.HelloService/SayHello";

#[tokio::test]
async fn a_rapid_reset_flood_gets_goaway_enhance_your_calm_and_others_are_still_served() {
    let process = start_grpc(&[]).await;

    let ResetFlood { sent, goaway_codes } = reset_flood(process.addr, SAY_HELLO, 10_000).await;
    assert!(
        goaway_codes.contains(&ENHANCE_YOUR_CALM),
        "no GOAWAY(ENHANCE_YOUR_CALM) after {sent} reset streams; GOAWAYs seen: {goaway_codes:?}"
    );
    // The kit allows 50 pending resets; a generous bound, since the client
    // may get some frames out before it reads the GOAWAY.
    assert!(sent < 1_000, "the server let {sent} reset streams through");

    let reply = hello_client(process.addr)
        .await
        .say_hello(say_hello_to("Ada"))
        .await
        .unwrap();
    assert_eq!(reply.into_inner().message, "Hello, Ada!");
}
