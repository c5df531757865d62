//! The gRPC server layer, the tutorial's server interceptor: per call it
//! continues the caller's trace, opens a SERVER span with semconv attributes,
//! records `rpc_server_call_duration_seconds`, logs non-OK answers once, and
//! turns a handler panic into INTERNAL while the process keeps serving.
//!
//! Health checks and reflection pass straight through: probes every few
//! seconds would drown the RED metrics and traces in noise.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tower::{Layer, Service};

use crate::call_span::remote_parent;
use crate::grpc_call::{CallRecord, Methods, ObservedBody, Side};
use crate::panic::{Guarded, grpc_panic_response};

/// Paths that are never traced or measured.
fn is_probe(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/") || path.starts_with("/grpc.reflection.")
}

/// Wraps a gRPC server (tonic `Server::builder().layer(...)`) in telemetry
/// and panic recovery. The span is outermost so that everything inside it,
/// including the panic's log line, carries the trace id. Build it after
/// [`crate::init`], which installs the tracer it takes.
#[derive(Debug, Clone)]
pub struct GrpcServerLayer {
    methods: Arc<Methods>,
}

impl GrpcServerLayer {
    pub fn new() -> GrpcServerLayer {
        GrpcServerLayer {
            methods: Arc::new(Methods::new(Side::Server)),
        }
    }
}

impl Default for GrpcServerLayer {
    fn default() -> GrpcServerLayer {
        GrpcServerLayer::new()
    }
}

impl<S> Layer<S> for GrpcServerLayer {
    type Service = GrpcServerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcServerService {
            inner,
            methods: self.methods.clone(),
        }
    }
}

/// See [`GrpcServerLayer`].
#[derive(Debug, Clone)]
pub struct GrpcServerService<S> {
    inner: S,
    methods: Arc<Methods>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for GrpcServerService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    ResBody: Default,
{
    type Response = http::Response<ObservedBody<ResBody>>;
    type Error = S::Error;
    type Future = GrpcServerFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let path = request.uri().path();
        let record = (!is_probe(path)).then(|| {
            CallRecord::start(
                &self.methods,
                path,
                &remote_parent(request.headers()),
                || None,
            )
        });
        let inner = {
            let _current = record.as_ref().map(CallRecord::attach);
            Guarded::call(|| self.inner.call(request))
        };
        GrpcServerFuture { inner, record }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`GrpcServerService`]: runs the call with its
    /// span as the current context, and answers a panic with INTERNAL.
    pub struct GrpcServerFuture<F> {
        #[pin]
        inner: Guarded<F>,
        record: Option<CallRecord>,
    }
}

impl<F, ResBody, E> Future for GrpcServerFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    ResBody: Default,
{
    type Output = Result<http::Response<ObservedBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = {
            let _current = this.record.as_ref().map(CallRecord::attach);
            match ready!(this.inner.poll(cx)) {
                Ok(result) => result?,
                Err(panic) => grpc_panic_response(panic),
            }
        };
        // A trailers-only answer (every error tonic sends) carries its
        // status in the headers and has no trailers to wait for.
        let record = this
            .record
            .take()
            .and_then(|record| record.finish_if_status(response.headers()));
        Poll::Ready(Ok(response.map(|body| ObservedBody::new(body, record))))
    }
}
