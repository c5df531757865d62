//! A web server's TLS connections: the handshake through the kit's
//! [`tls::TlsAcceptor`] (bounded by `TLS_HANDSHAKE_TIMEOUT`, and logged and
//! counted when refused), then the wait for the first request byte, then
//! the connection's service, which carries the client's [`tls::Peer`] in
//! every request's extensions for the allow-list (`crate::callers`) and
//! for handlers. Each connection does this in its own task, so a slow
//! handshake never holds up the accept loop.

use axum::middleware::AddExtension;
use axum::{Extension, Router};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::net::TcpStream;
use tower::Layer as _;

use crate::HttpLimits;

/// What a handshaken connection is served as.
pub(crate) type TlsIo = TokioIo<BufReader<tls::TlsStream<TcpStream>>>;
pub(crate) type TlsService = TowerToHyperService<AddExtension<Router, tls::Peer>>;

/// The handshake on `stream`, then the first byte of a request within the
/// header-read timeout: hyper's own timeout starts only at that byte
/// (hyper#3756), so a client that completes the handshake and says nothing
/// would otherwise hold the connection forever. `None` if either fails.
pub(crate) async fn accept(
    stream: TcpStream,
    acceptor: tls::TlsAcceptor,
    app: Router,
    limits: HttpLimits,
) -> Option<(TlsIo, TlsService)> {
    let addr = stream.peer_addr().ok();
    let (stream, peer) = acceptor.accept(stream, addr).await.ok()?;
    let mut stream = BufReader::new(stream);
    let first = tokio::time::timeout(limits.header_read_timeout, stream.fill_buf()).await;
    if !matches!(first, Ok(Ok(bytes)) if !bytes.is_empty()) {
        return None;
    }
    let service = TowerToHyperService::new(Extension(peer).layer(app));
    Some((TokioIo::new(stream), service))
}
