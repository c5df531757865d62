//! The gRPC client layer, the tutorial's client interceptor: per call it
//! opens a CLIENT span under the caller's span, injects the W3C
//! `traceparent` so the server continues the same trace, and records
//! `rpc_client_call_duration_seconds`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use opentelemetry::{Context as OtelContext, KeyValue};
use tonic::Code;
use tower::{Layer, Service};

use crate::call_span::inject;
use crate::grpc_call::{CallRecord, Methods, ObservedBody, Side};

/// Wraps a client channel: `ServiceBuilder::new().layer(GrpcClientLayer::new()).service(channel)`.
/// Build it after [`crate::init`], which installs the tracer it takes.
///
/// [`GrpcClientLayer::disabled`] records nothing and passes calls through,
/// for a channel whose type must not change when telemetry is left out.
#[derive(Debug, Clone)]
pub struct GrpcClientLayer {
    methods: Option<Arc<Methods>>,
}

impl GrpcClientLayer {
    pub fn new() -> GrpcClientLayer {
        GrpcClientLayer {
            methods: Some(Arc::new(Methods::new(Side::Client))),
        }
    }

    /// A layer that records nothing: no span, no metric, no `traceparent`.
    pub fn disabled() -> GrpcClientLayer {
        GrpcClientLayer { methods: None }
    }
}

impl Default for GrpcClientLayer {
    fn default() -> GrpcClientLayer {
        GrpcClientLayer::new()
    }
}

impl<S> Layer<S> for GrpcClientLayer {
    type Service = GrpcClientService<S>;

    fn layer(&self, inner: S) -> GrpcClientService<S> {
        GrpcClientService {
            inner,
            methods: self.methods.clone(),
        }
    }
}

/// See [`GrpcClientLayer`].
#[derive(Debug, Clone)]
pub struct GrpcClientService<S> {
    inner: S,
    methods: Option<Arc<Methods>>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for GrpcClientService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Error: std::error::Error + 'static,
{
    type Response = http::Response<ObservedBody<ResBody>>;
    type Error = S::Error;
    type Future = GrpcClientFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let record = self.methods.as_ref().map(|methods| {
            let uri = request.uri();
            let record = CallRecord::start(methods, uri.path(), &OtelContext::current(), || {
                uri.host()
                    .map(|host| KeyValue::new("server.address", host.to_owned()))
            });
            inject(record.context(), request.headers_mut());
            record
        });
        GrpcClientFuture {
            inner: self.inner.call(request),
            record,
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`GrpcClientService`]. It does not make the
    /// call's span the current context: the transport below runs on tasks of
    /// its own and reads none, and attaching it on every poll cost more than
    /// the rest of the layer. The span reaches the server in `traceparent`.
    /// If the caller drops the future before the response arrives (its own
    /// timeout, a cancelled page load), the call is still recorded, as
    /// CANCELLED.
    pub struct GrpcClientFuture<F> {
        #[pin]
        inner: F,
        record: Option<CallRecord>,
    }

    impl<F> PinnedDrop for GrpcClientFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(record) = this.project().record.take() {
                record.finish(Code::Cancelled, "the caller stopped waiting");
            }
        }
    }
}

impl<F, ResBody, E> Future for GrpcClientFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    E: std::error::Error + 'static,
{
    type Output = Result<http::Response<ObservedBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let record = this.record.take();
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                if let Some(record) = record {
                    let status = status_of_error(&error);
                    record.finish(status.code(), status.message());
                }
                return Poll::Ready(Err(error));
            }
        };
        let record = record.and_then(|record| record.finish_if_status(response.headers()));
        Poll::Ready(Ok(response.map(|body| ObservedBody::new(body, record))))
    }
}

/// The status a transport error stands for. tonic reports its own expired
/// `grpc-timeout` as CANCELLED; for metrics and spans it is what it is, a
/// missed deadline. Anything else kept the call from reaching the server.
fn status_of_error(error: &(dyn std::error::Error + 'static)) -> tonic::Status {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if current.is::<tonic::TimeoutExpired>() {
            return tonic::Status::deadline_exceeded(current.to_string());
        }
        cause = current.source();
    }
    tonic::Status::unavailable(error.to_string())
}
