//! HTTP GETs with a real client (hyper-util's), for pages and probes.

use std::net::SocketAddr;

use http_body_util::{BodyExt as _, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// A fetched page.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

/// GETs `http://{addr}{path}`.
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

/// The value of one sample in a Prometheus exposition: the first line that
/// starts with `series_prefix` and contains every part of `must_contain`.
pub fn sample(exposition: &str, series_prefix: &str, must_contain: &[&str]) -> Option<f64> {
    exposition
        .lines()
        .filter(|line| line.starts_with(series_prefix))
        .find(|line| must_contain.iter().all(|part| line.contains(part)))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}
