//! Accepting connections, the same way in every server: `TCP_NODELAY` on
//! each accepted socket, and accept errors paused over instead of spun on.
//!
//! tonic sets `TCP_NODELAY` only on listeners it binds itself, and hyper
//! never does; a server fed a listener it did not bind gets Nagle's
//! algorithm, which holds small responses back for up to 40 ms waiting for
//! the client's delayed ACK.

use std::time::Duration;

use futures_util::Stream;
use tokio::net::{TcpListener, TcpStream};

/// How long to wait after a failed accept (out of file descriptors and the
/// like) before the next try.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// The next connection on `listener`, with `TCP_NODELAY` set. Never fails: a
/// failed accept is logged and retried after a pause.
pub async fn accept(listener: &TcpListener) -> TcpStream {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                if let Err(error) = stream.set_nodelay(true) {
                    // The connection still works, only slower: serve it.
                    tracing::debug!(%error, "cannot set TCP_NODELAY");
                }
                return stream;
            }
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
            }
        }
    }
}

/// Every connection on `listener`, as [`accept`] takes them: the stream a
/// tonic server's `serve_with_incoming` wants.
pub fn incoming(listener: TcpListener) -> impl Stream<Item = std::io::Result<TcpStream>> {
    futures_util::stream::unfold(listener, |listener| async move {
        let stream = accept(&listener).await;
        Some((Ok(stream), listener))
    })
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt as _;

    use super::*;

    #[tokio::test]
    async fn accepted_sockets_have_nodelay_set() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = TcpStream::connect(addr).await.unwrap();
        assert!(accept(&listener).await.nodelay().unwrap());

        let mut incoming = std::pin::pin!(incoming(listener));
        let _client = TcpStream::connect(addr).await.unwrap();
        let accepted = incoming.next().await.unwrap().unwrap();
        assert!(accepted.nodelay().unwrap());
    }
}
