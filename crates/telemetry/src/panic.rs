//! What a caught panic becomes: gRPC INTERNAL or HTTP 500, with one error log
//! line inside the request's span. The process keeps serving.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::FutureExt as _;
use futures_util::future::CatchUnwind;

/// What a panic leaves behind.
pub(crate) type Payload = Box<dyn Any + Send + 'static>;

pin_project_lite::pin_project! {
    /// A service call whose panic, while the service makes the future or
    /// while it is polled, comes out as `Err(payload)` instead of unwinding
    /// into the server. The layers answer it with [`grpc_panic_response`] or
    /// [`http_panic_response`] in the request's span, and the response
    /// keeps the service's own body type (no boxing).
    #[project = GuardedProjection]
    pub(crate) enum Guarded<F> {
        Running { #[pin] future: CatchUnwind<AssertUnwindSafe<F>> },
        Panicked { payload: Option<Payload> },
    }
}

impl<F: Future> Guarded<F> {
    pub(crate) fn call(call: impl FnOnce() -> F) -> Guarded<F> {
        match std::panic::catch_unwind(AssertUnwindSafe(call)) {
            Ok(future) => Guarded::Running {
                future: AssertUnwindSafe(future).catch_unwind(),
            },
            Err(payload) => Guarded::Panicked {
                payload: Some(payload),
            },
        }
    }
}

impl<F: Future> Future for Guarded<F> {
    type Output = Result<F::Output, Payload>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            GuardedProjection::Running { future } => future.poll(cx),
            GuardedProjection::Panicked { payload } => Poll::Ready(Err(payload
                .take()
                .unwrap_or_else(|| Box::new("polled after it panicked")))),
        }
    }
}

fn describe(payload: &(dyn Any + Send)) -> &str {
    if let Some(message) = payload.downcast_ref::<&str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else {
        "non-string panic payload"
    }
}

/// gRPC INTERNAL, as a trailers-only answer.
pub(crate) fn grpc_panic_response<B: Default>(payload: Payload) -> http::Response<B> {
    tracing::error!(
        panic.message = describe(payload.as_ref()),
        "handler panicked; answering INTERNAL"
    );
    tonic::Status::internal("internal error").into_http()
}

/// HTTP 500, plain text.
pub(crate) fn http_panic_response<B: From<Bytes>>(payload: Payload) -> http::Response<B> {
    tracing::error!(
        panic.message = describe(payload.as_ref()),
        "handler panicked; answering 500"
    );
    let mut response = http::Response::new(B::from(Bytes::from_static(b"internal server error\n")));
    *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
