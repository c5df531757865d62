//! The request message size limit, for every service a [`crate::GrpcServer`]
//! serves, whatever the service's generated code says.
//!
//! tonic sets this limit per generated server (`max_decoding_message_size`),
//! so a service that forgets the call gets tonic's 4 MiB. This layer reads
//! the gRPC length prefix of each request message instead, and refuses a
//! message over the limit before any of it is buffered: OUT_OF_RANGE, as
//! tonic's own check answers.
//!
//! The limit is on the bytes on the wire. A service that also accepts
//! compressed requests (tonic's `accept_compressed`) still has tonic's own
//! limit on the decompressed size, 4 MiB unless its generated server sets
//! another.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body, Frame};
use tonic::Status;
use tonic::server::NamedService;

/// A service whose request bodies pass through [`LimitedBody`].
#[derive(Debug, Clone)]
pub(crate) struct MessageLimit<S> {
    inner: S,
    max_bytes: usize,
}

impl<S> MessageLimit<S> {
    pub(crate) fn new(inner: S, max_bytes: usize) -> MessageLimit<S> {
        MessageLimit { inner, max_bytes }
    }
}

impl<S: NamedService> NamedService for MessageLimit<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> tower::Service<http::Request<tonic::body::Body>> for MessageLimit<S>
where
    S: tower::Service<http::Request<tonic::body::Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> S::Future {
        let max_bytes = self.max_bytes;
        self.inner.call(request.map(|body| {
            tonic::body::Body::new(LimitedBody {
                inner: body,
                prefix: Prefix::new(max_bytes),
            })
        }))
    }
}

/// A request body that fails with OUT_OF_RANGE at the first message whose
/// length prefix says it is larger than the limit.
struct LimitedBody {
    inner: tonic::body::Body,
    prefix: Prefix,
}

impl Body for LimitedBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
        {
            self.prefix.scan(data)?;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Follows the gRPC framing across data frames: each message is a one-byte
/// compression flag, a four-byte big-endian length, then that many bytes.
#[derive(Debug)]
struct Prefix {
    max_bytes: usize,
    /// Bytes of the current message's body still to come.
    skip: usize,
    /// The current prefix, as far as it has arrived.
    header: [u8; 5],
    filled: usize,
}

impl Prefix {
    fn new(max_bytes: usize) -> Prefix {
        Prefix {
            max_bytes,
            skip: 0,
            header: [0; 5],
            filled: 0,
        }
    }

    fn scan(&mut self, mut data: &[u8]) -> Result<(), Status> {
        while !data.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                data = &data[n..];
                self.skip -= n;
                continue;
            }
            let n = (5 - self.filled).min(data.len());
            self.header[self.filled..self.filled + n].copy_from_slice(&data[..n]);
            data = &data[n..];
            self.filled += n;
            if self.filled == 5 {
                self.filled = 0;
                let [_, a, b, c, d] = self.header;
                let length = u32::from_be_bytes([a, b, c, d]) as usize;
                if length > self.max_bytes {
                    return Err(Status::out_of_range(format!(
                        "request message of {length} bytes exceeds the limit of {} bytes",
                        self.max_bytes
                    )));
                }
                self.skip = length;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(length: u32) -> Vec<u8> {
        let mut bytes = vec![0];
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.resize(5 + length as usize, 7);
        bytes
    }

    #[test]
    fn messages_within_the_limit_pass_however_they_are_split() {
        let stream: Vec<u8> = [message(10), message(0), message(16)].concat();
        for chunk in 1..stream.len() {
            let mut prefix = Prefix::new(16);
            for piece in stream.chunks(chunk) {
                prefix.scan(piece).unwrap();
            }
        }
    }

    #[test]
    fn a_message_over_the_limit_is_out_of_range_even_split_across_frames() {
        let stream: Vec<u8> = [message(3), message(17)].concat();
        for chunk in 1..=stream.len() {
            let mut prefix = Prefix::new(16);
            let error = stream
                .chunks(chunk)
                .find_map(|piece| prefix.scan(piece).err())
                .expect("the second message is over the limit");
            assert_eq!(error.code(), tonic::Code::OutOfRange);
        }
    }
}
