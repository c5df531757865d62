//! The web example that calls the gRPC example, both in-process:
//! `greeter_web`'s page greets through `hello_grpc`, and degrades to a page
//! of its own, within the upstream's deadline, when `hello_grpc` is down.

use std::time::{Duration, Instant};

use crate::{greeter_web, hello_grpc};

#[tokio::test]
async fn the_page_greets_the_visitor_through_the_hello_service() {
    let hello = testkit::spawn(hello_grpc::run, Vec::<String>::new()).await;
    let url = format!("http://{}", hello.addr);
    let greeter = testkit::spawn(greeter_web::run, ["--greeter-url", url.as_str()]).await;
    let page = testkit::http::get(greeter.addr, "/").await;
    assert_eq!((page.status, page.body.as_str()), (200, "Hello, visitor!"));
    greeter.stop().await;
    hello.stop().await;
}

#[tokio::test]
async fn with_the_hello_service_down_the_page_degrades_within_the_deadline() {
    let url = format!("http://{}", testkit::process::free_addr());
    let greeter = testkit::spawn(greeter_web::run, ["--greeter-url", url.as_str()]).await;
    let started = Instant::now();
    let page = testkit::http::get(greeter.addr, "/").await;
    assert_eq!((page.status, page.body.as_str()), (200, "Hello!"));
    // The default deadline is 400 ms, retries included.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    greeter.stop().await;
}
