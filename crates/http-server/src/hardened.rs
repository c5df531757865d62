//! The hardened HTTP server under every web service and every admin port,
//! with its limits set explicitly instead of left to defaults.
//!
//! axum's own `serve` has no header-read timeout, so a slowloris client that
//! trickles headers would hold a connection (and a file descriptor) forever.
//! This accept loop is hyper-util's, with the limits below, and drains like
//! every other server: stop accepting, let in-flight requests finish, bounded.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use lifecycle::{Shutdown, serve_until_drained};
use tokio::net::TcpListener;

/// Limits applied to every HTTP connection.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// A client must send a request's headers within this time, or the
    /// connection is closed.
    pub header_read_timeout: Duration,
    /// The most header bytes a request may carry; larger gets 431.
    pub max_header_bytes: usize,
    /// Concurrent streams per HTTP/2 connection.
    pub max_concurrent_streams: u32,
    /// Streams an HTTP/2 client may make the server reset before it is sent
    /// GOAWAY: the rapid-reset (CVE-2023-44487) defence.
    pub max_local_error_reset_streams: usize,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            max_concurrent_streams: 128,
            max_local_error_reset_streams: 1024,
        }
    }
}

/// Serves `app` on `listener` until the shutdown plan says stop, then lets
/// in-flight requests finish within the shutdown timeout. `app` is served as
/// it is: [`crate::WebServer`] adds the layers a public server wants.
pub async fn serve_router(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    serve_router_on(listener, app, limits, None, shutdown).await
}

/// [`serve_router`], through TLS when `tls` is given (see
/// `crate::tls_connection`).
pub(crate) async fn serve_router_on(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    tls: Option<tls::TlsAcceptor>,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // hyper answers 431 when the headers do not fit in its read buffer.
        .max_buf_size(limits.max_header_bytes.max(8 * 1024));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_concurrent_streams)
        .max_header_list_size(limits.max_header_bytes as u32)
        .max_local_error_reset_streams(Some(limits.max_local_error_reset_streams));
    // Shared by every connection's task, which may outlive this loop.
    let builder = Arc::new(builder);

    let graceful = GracefulShutdown::new();
    loop {
        let stream = tokio::select! {
            stream = lifecycle::accept(&listener) => stream,
            () = shutdown.stopping() => break,
        };
        let (builder, watcher, app) = (builder.clone(), graceful.watcher(), app.clone());
        let stopping = shutdown.clone();
        if let Some(tls) = &tls {
            let accepted = crate::tls_connection::accept(stream, tls.clone(), app, limits);
            tokio::spawn(async move {
                tokio::select! {
                    accepted = accepted => if let Some((io, service)) = accepted {
                        let connection = builder.serve_connection_with_upgrades(io, service);
                        let _ = watcher.watch(connection.into_owned()).await;
                    },
                    // A handshake, or a silence after it, when the server
                    // stops: no request is in flight, so it is closed.
                    () = stopping.stopping() => {}
                }
            });
            continue;
        }
        tokio::spawn(async move {
            // hyper's header-read timeout starts at a request's first byte,
            // so a client that connects and sends nothing would hold the
            // connection forever (hyper#3756). The same timeout covers that
            // first byte. A connection still silent when the server stops
            // has no request in flight: it is closed at once, so it cannot
            // hold up the drain.
            let mut first = [0; 1];
            let peeked = tokio::time::timeout(limits.header_read_timeout, stream.peek(&mut first));
            tokio::select! {
                peeked = peeked => if !matches!(peeked, Ok(Ok(1))) {
                    return;
                },
                () = stopping.stopping() => return,
            }
            let service = TowerToHyperService::new(app);
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            // Per-connection errors (resets, timeouts) are the client's.
            let _ = watcher.watch(connection.into_owned()).await;
        });
    }
    drop(listener);
    let drained = async {
        graceful.shutdown().await;
        Ok::<(), std::io::Error>(())
    };
    serve_until_drained(drained, &shutdown).await.map(|_| ())
}
