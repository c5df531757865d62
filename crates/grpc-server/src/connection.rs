//! The connections a gRPC server serves: accepted through
//! `lifecycle::accept` (so with `TCP_NODELAY`), then, with TLS on, through
//! the kit's [`tls::TlsAcceptor`], which logs and counts a refused
//! handshake and reads the client's identity. tonic's own `tls_config`
//! would drop a failed handshake silently.
//!
//! Each handshake runs in a task of its own, so a slow or silent client
//! never holds up the accept loop or anyone else's handshake; the
//! acceptor's timeout bounds it, and a cap on handshakes in flight bounds
//! the memory a flood of them can take.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// Handshakes in flight at once, at most; past it the server stops
/// accepting until one finishes (the kernel's backlog holds the rest).
const MAX_HANDSHAKES: usize = 1024;

/// One accepted connection, plaintext or TLS.
pub(crate) enum Connection {
    Plain(TcpStream),
    Tls(Box<tls::TlsStream<TcpStream>>, tls::Peer),
}

/// What tonic puts in every request's extensions for the connection it
/// came on; [`crate::callers`] unpacks it into `TcpConnectInfo` (so
/// `Request::remote_addr` works as usual) and the TLS [`tls::Peer`].
#[derive(Debug, Clone)]
pub(crate) struct ConnectionInfo {
    pub(crate) tcp: TcpConnectInfo,
    pub(crate) peer: Option<tls::Peer>,
}

impl Connected for Connection {
    type ConnectInfo = ConnectionInfo;

    fn connect_info(&self) -> ConnectionInfo {
        match self {
            Connection::Plain(stream) => ConnectionInfo {
                tcp: stream.connect_info(),
                peer: None,
            },
            Connection::Tls(stream, peer) => ConnectionInfo {
                tcp: stream.get_ref().0.connect_info(),
                peer: Some(peer.clone()),
            },
        }
    }
}

/// Every connection on `listener`, through TLS if `tls` is given: the
/// stream tonic's `serve_with_incoming` wants. It yields only connections
/// ready to serve: a refused handshake has been logged and counted by the
/// acceptor and is never seen by tonic.
pub(crate) fn incoming(
    listener: TcpListener,
    tls: Option<tls::TlsAcceptor>,
) -> impl Stream<Item = io::Result<Connection>> {
    let handshakes = JoinSet::new();
    futures_util::stream::unfold(
        (listener, tls, handshakes),
        |(listener, tls, mut handshakes)| async move {
            let Some(acceptor) = &tls else {
                let stream = lifecycle::accept(&listener).await;
                return Some((Ok(Connection::Plain(stream)), (listener, tls, handshakes)));
            };
            loop {
                tokio::select! {
                    stream = lifecycle::accept(&listener), if handshakes.len() < MAX_HANDSHAKES => {
                        let acceptor = acceptor.clone();
                        handshakes.spawn(async move {
                            let addr: Option<SocketAddr> = stream.peer_addr().ok();
                            let (stream, peer) = acceptor.accept(stream, addr).await.ok()?;
                            Some(Connection::Tls(Box::new(stream), peer))
                        });
                    }
                    Some(done) = handshakes.join_next(), if !handshakes.is_empty() => {
                        if let Ok(Some(connection)) = done {
                            return Some((Ok(connection), (listener, tls, handshakes)));
                        }
                    }
                }
            }
        },
    )
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Connection::Tls(stream, _) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Connection::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Connection::Tls(stream, _) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Connection::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Connection::Tls(stream, _) => Pin::new(stream.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Connection::Plain(stream) => stream.is_write_vectored(),
            Connection::Tls(stream, _) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Connection::Tls(stream, _) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Connection::Tls(stream, _) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}
