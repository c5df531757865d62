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

/// Sends raw bytes on a fresh TCP connection and returns everything the
/// server sends back until it closes or `wait` passes: for requests no
/// well-behaved client would make.
pub async fn raw_exchange(addr: SocketAddr, request: &[u8], wait: std::time::Duration) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before it has read everything.
    let _ = stream.write_all(request).await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(wait, stream.read_to_end(&mut response)).await;
    String::from_utf8_lossy(&response).into_owned()
}

/// The status code of a raw HTTP/1.1 response, if it has one.
pub fn status_of(response: &str) -> Option<u16> {
    response.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// The series (name and labels, without the value) of every sample in a
/// Prometheus exposition whose name starts with `prefix`.
pub fn series(exposition: &str, prefix: &str) -> Vec<String> {
    exposition
        .lines()
        .filter(|line| line.starts_with(prefix))
        .map(|line| {
            line.rsplit_once(' ')
                .map_or(line, |(series, _)| series)
                .to_owned()
        })
        .collect()
}
