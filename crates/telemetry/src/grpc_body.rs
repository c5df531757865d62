//! The response body of a gRPC call under a layer: it finishes the call's
//! record when the trailers (or the end of the stream) arrive, since that is
//! where gRPC puts a call's status.

use std::borrow::Cow;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tonic::Code;

use crate::call::Call;
use crate::grpc_call::{GrpcCall, status_in};

pin_project_lite::pin_project! {
    /// A response body that finishes its call when the trailers (or the end
    /// of the stream) arrive. Dropped early, its call is recorded as
    /// abandoned.
    pub struct ObservedBody<B> {
        #[pin]
        inner: B,
        call: Option<Call<GrpcCall>>,
    }
}

impl<B> ObservedBody<B> {
    pub(crate) fn new(inner: B, call: Option<Call<GrpcCall>>) -> ObservedBody<B> {
        ObservedBody { inner, call }
    }
}

impl<B> Body for ObservedBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        let outcome = match &polled {
            Poll::Ready(Some(Ok(frame))) => match frame.trailers_ref() {
                Some(trailers) => Some(
                    status_in(trailers)
                        .unwrap_or((Code::Unknown, Cow::Borrowed("trailers without grpc-status"))),
                ),
                None => None,
            },
            Poll::Ready(Some(Err(error))) => Some((Code::Unknown, error.to_string().into())),
            Poll::Ready(None) => Some((
                Code::Unknown,
                Cow::Borrowed("stream ended without grpc-status"),
            )),
            Poll::Pending => None,
        };
        if let Some(outcome) = outcome
            && let Some(call) = this.call.take()
        {
            call.finish(outcome);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

