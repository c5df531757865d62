//! Client-side load balancing over every address a host name resolves to.
//!
//! One HTTP/2 connection through a Kubernetes ClusterIP Service sticks to one
//! pod for its whole life, so kube-proxy cannot spread gRPC load. Instead the
//! client resolves a headless Service's name itself, keeps one lazy
//! connection per pod, balances calls over them (power of two choices), and
//! re-resolves periodically so new pods join and removed ones leave.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::mpsc::Sender;
use tonic::transport::channel::Change;
use tonic::transport::{Endpoint, Uri};

/// Where a name's addresses come from. DNS in production; a fixed list in
/// tests, where one name cannot resolve to three loopback servers.
pub trait Resolve: Send + Sync + 'static {
    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = std::io::Result<Vec<SocketAddr>>> + Send;
}

/// The system resolver (tokio's `lookup_host`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Dns;

impl Resolve for Dns {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }
}

/// A fixed set of addresses, whatever the name.
#[derive(Debug, Clone)]
pub struct Fixed(pub Vec<SocketAddr>);

impl Resolve for Fixed {
    async fn resolve(&self, _host: &str, _port: u16) -> std::io::Result<Vec<SocketAddr>> {
        Ok(self.0.clone())
    }
}

/// Keeps the balancer's endpoints equal to what `url`'s host resolves to,
/// every `interval`, until the channel is dropped. `endpoint` configures each
/// per-address connection (timeouts, keepalive).
pub(crate) async fn keep_resolved(
    resolver: impl Resolve,
    url: Uri,
    interval: Duration,
    endpoint: impl Fn(Uri) -> Result<Endpoint, tonic::transport::Error> + Send + 'static,
    changes: Sender<Change<SocketAddr, Endpoint>>,
) {
    let host = url
        .host()
        .unwrap_or("localhost")
        .trim_matches(['[', ']'])
        .to_owned();
    let scheme = url.scheme_str().unwrap_or("http").to_owned();
    let port = url
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    let mut current: HashSet<SocketAddr> = HashSet::new();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let resolved: HashSet<SocketAddr> = match resolver.resolve(&host, port).await {
            Ok(addrs) if !addrs.is_empty() => addrs.into_iter().collect(),
            Ok(_) => {
                tracing::warn!(%host, "no addresses resolved; keeping the previous set");
                continue;
            }
            Err(error) => {
                // A DNS blip must not empty the pool: keep what worked.
                tracing::warn!(%host, %error, "resolution failed; keeping the previous set");
                continue;
            }
        };
        for gone in current.difference(&resolved) {
            if changes.send(Change::Remove(*gone)).await.is_err() {
                return;
            }
        }
        for new in resolved.difference(&current) {
            let uri = match format!("{scheme}://{new}").parse::<Uri>() {
                Ok(uri) => uri,
                Err(_) => continue,
            };
            let endpoint = match endpoint(uri) {
                Ok(endpoint) => endpoint,
                Err(error) => {
                    tracing::error!(address = %new, %error, "cannot configure an endpoint; skipping it");
                    continue;
                }
            };
            if changes.send(Change::Insert(*new, endpoint)).await.is_err() {
                return;
            }
        }
        if resolved != current {
            tracing::info!(%host, addresses = ?resolved, "upstream endpoints updated");
        }
        current = resolved;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A resolver whose answer the test changes.
    #[derive(Clone)]
    struct Scripted(Arc<Mutex<std::io::Result<Vec<SocketAddr>>>>);

    impl Scripted {
        fn new() -> Scripted {
            Scripted(Arc::new(Mutex::new(Ok(Vec::new()))))
        }

        fn answer(&self, answer: std::io::Result<Vec<SocketAddr>>) {
            *self.0.lock().unwrap() = answer;
        }
    }

    impl Resolve for Scripted {
        async fn resolve(&self, _host: &str, _port: u16) -> std::io::Result<Vec<SocketAddr>> {
            match &*self.0.lock().unwrap() {
                Ok(addrs) => Ok(addrs.clone()),
                Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
            }
        }
    }

    fn addr(last: u8) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, last], 50051))
    }

    fn describe(change: Change<SocketAddr, Endpoint>) -> String {
        match change {
            Change::Insert(addr, endpoint) => format!("+{addr} {}", endpoint.uri()),
            Change::Remove(addr) => format!("-{addr}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn endpoints_follow_the_name_as_pods_come_and_go_and_survive_dns_failures() {
        let resolver = Scripted::new();
        resolver.answer(Ok(vec![addr(1), addr(2)]));
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let url: Uri = "http://recommendations.books.svc:50051".parse().unwrap();
        tokio::spawn(keep_resolved(
            resolver.clone(),
            url,
            Duration::from_secs(10),
            |uri: Uri| Ok(Endpoint::from(uri)),
            tx,
        ));

        let mut first = vec![
            describe(rx.recv().await.unwrap()),
            describe(rx.recv().await.unwrap()),
        ];
        first.sort();
        assert_eq!(
            first,
            [
                "+10.0.0.1:50051 http://10.0.0.1:50051/",
                "+10.0.0.2:50051 http://10.0.0.2:50051/"
            ]
        );

        // A pod is replaced: one leaves, one joins, at the next refresh.
        resolver.answer(Ok(vec![addr(2), addr(3)]));
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(describe(rx.recv().await.unwrap()), "-10.0.0.1:50051");
        assert_eq!(
            describe(rx.recv().await.unwrap()),
            "+10.0.0.3:50051 http://10.0.0.3:50051/"
        );

        // DNS fails, then answers nothing: the pool is kept as it was.
        resolver.answer(Err(std::io::Error::other("SERVFAIL")));
        tokio::time::sleep(Duration::from_secs(10)).await;
        resolver.answer(Ok(vec![]));
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(rx.try_recv().is_err(), "a DNS failure changed the pool");
    }
}
