//! The gRPC server layer, the tutorial's server interceptor: per call it
//! continues the caller's trace, opens a SERVER span with semconv attributes,
//! records `rpc_server_call_duration_seconds`, and logs non-OK answers once.
//! A call cut off by its deadline or cancelled by the client is recorded
//! too, as DEADLINE_EXCEEDED or CANCELLED. Panic recovery is a layer of its
//! own, below this one (the kit's servers add it), so a panic arrives here
//! as an ordinary INTERNAL answer.
//!
//! Health checks and reflection pass straight through: probes every few
//! seconds would drown the RED metrics and traces in noise.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tower::{Layer, Service};

use crate::call::Call;
use crate::call_span::{CallTracer, NotStarted};
use crate::grpc_body::ObservedBody;
use crate::grpc_call::{GrpcCall, Methods};
use crate::propagation;

/// Paths that are never traced or measured.
fn is_probe(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/") || path.starts_with("/grpc.reflection.")
}

/// Wraps a gRPC server (tonic `Server::builder().layer(...)`) in telemetry.
/// Put it outermost, so that everything inside its span, a panic's log line
/// included, carries the trace id.
///
/// [`GrpcServerLayer::disabled`] records nothing and passes calls through,
/// for a server whose type must not change when telemetry is left out.
#[derive(Debug, Clone)]
pub struct GrpcServerLayer {
    methods: Option<Arc<Methods>>,
    request_timeout: Option<Duration>,
}

impl GrpcServerLayer {
    /// A layer for a server that serves `methods`, by full name
    /// (`package.Service/Method`): calls are named at their start, and a
    /// call to anything else is `rpc.method="_OTHER"`. Fails if telemetry
    /// has not started ([`crate::init`]), which installs the tracer.
    pub fn new<I, S>(methods: I) -> Result<GrpcServerLayer, NotStarted>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Ok(GrpcServerLayer {
            methods: Some(Arc::new(Methods::served(CallTracer::installed()?, methods))),
            request_timeout: None,
        })
    }

    /// A layer that records nothing: no span, no metric, no log line.
    pub fn disabled() -> GrpcServerLayer {
        GrpcServerLayer {
            methods: None,
            request_timeout: None,
        }
    }

    /// The server's own limit on a call's time (tonic's `Server::timeout`),
    /// so a call it cuts off is recorded as DEADLINE_EXCEEDED even when the
    /// client sent no deadline.
    pub fn request_timeout(mut self, limit: Duration) -> GrpcServerLayer {
        self.request_timeout = Some(limit);
        self
    }
}

impl<S> Layer<S> for GrpcServerLayer {
    type Service = GrpcServerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcServerService {
            inner,
            methods: self.methods.clone(),
            request_timeout: self.request_timeout,
        }
    }
}

/// See [`GrpcServerLayer`].
#[derive(Debug, Clone)]
pub struct GrpcServerService<S> {
    inner: S,
    methods: Option<Arc<Methods>>,
    request_timeout: Option<Duration>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for GrpcServerService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<ObservedBody<ResBody>>;
    type Error = S::Error;
    type Future = GrpcServerFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let call = self
            .methods
            .as_ref()
            .filter(|_| !is_probe(request.uri().path()))
            .map(|methods| {
                let parent = propagation::extract(request.headers());
                GrpcCall::start(methods, &request, self.request_timeout, &parent)
            });
        let inner = {
            let _current = call.as_ref().map(Call::attach);
            self.inner.call(request)
        };
        GrpcServerFuture { inner, call }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`GrpcServerService`]: runs the call with its
    /// span as the current context. Dropped before the answer (a deadline, a
    /// client's reset), it records the call as abandoned.
    pub struct GrpcServerFuture<F> {
        #[pin]
        inner: F,
        call: Option<Call<GrpcCall>>,
    }
}

impl<F, ResBody, E> Future for GrpcServerFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
{
    type Output = Result<http::Response<ObservedBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = {
            let _current = this.call.as_ref().map(Call::attach);
            ready!(this.inner.poll(cx))?
        };
        // A trailers-only answer (every error tonic sends) carries its
        // status in the headers and has no trailers to wait for.
        let call = this
            .call
            .take()
            .and_then(|call| call.finish_if_status(response.headers()));
        Poll::Ready(Ok(response.map(|body| ObservedBody::new(body, call))))
    }
}
