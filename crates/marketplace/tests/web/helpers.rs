//! Shared test plumbing: start Recommendations and the Marketplace
//! in-process on loopback, fetch pages, and stop them.

use std::net::SocketAddr;
use std::sync::Once;
use std::time::Duration;

use clap::Parser as _;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use lifecycle::{Shutdown, ShutdownController};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Test logs go to a sink unless `TEST_LOG=1`.
fn init_test_logs() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            tracing_subscriber::fmt().with_test_writer().init();
        }
    });
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

/// Starts Recommendations with the embedded catalogue.
pub async fn spawn_recommendations() -> Running<recommendations::Error> {
    init_test_logs();
    let config = recommendations::Config::parse_from(["recommendations"]);
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

/// Starts the Marketplace, pointed at `recommendations`.
pub async fn spawn_marketplace(recommendations: SocketAddr) -> Running<marketplace::Error> {
    init_test_logs();
    let url = format!("http://{recommendations}");
    let config = marketplace::Config::parse_from(["marketplace", "--recommendations-url", &url]);
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

/// A fetched page.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

/// GETs `http://{addr}{path}` with a real HTTP client.
pub async fn get(addr: SocketAddr, path: &str) -> Page {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let uri: http::Uri = format!("http://{addr}{path}").parse().unwrap();
    let response = client.get(uri).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
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
