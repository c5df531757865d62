//! The gRPC client layer, the tutorial's client interceptor: per call it
//! opens a CLIENT span under the caller's span, naming the upstream it goes
//! to, injects the caller's context (`traceparent`, baggage) so the server
//! continues the same trace, and records `rpc_client_call_duration_seconds`,
//! also for a call its caller stops waiting for.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use opentelemetry::Context as OtelContext;
use tower::{Layer, Service};

use crate::call::Call;
use crate::call_span::{CallTracer, NotStarted};
use crate::grpc_body::ObservedBody;
use crate::grpc_call::{GrpcCall, Methods, Upstream};
use crate::propagation;

/// Wraps a client channel:
/// `ServiceBuilder::new().layer(GrpcClientLayer::new("recommendations", 50051)?).service(channel)`.
///
/// [`GrpcClientLayer::disabled`] records nothing and passes calls through,
/// for a channel whose type must not change when telemetry is left out.
#[derive(Debug, Clone)]
pub struct GrpcClientLayer {
    methods: Option<Arc<Methods>>,
}

impl GrpcClientLayer {
    /// A layer for calls to the upstream at `server_address` and
    /// `server_port`, as configured (the host and port of its URL), which
    /// every span and metric names. Fails if telemetry has not started
    /// ([`crate::init`]), which installs the tracer.
    pub fn new(server_address: &str, server_port: u16) -> Result<GrpcClientLayer, NotStarted> {
        let upstream = Upstream {
            address: server_address.into(),
            port: server_port,
        };
        Ok(GrpcClientLayer {
            methods: Some(Arc::new(Methods::called(
                CallTracer::installed()?,
                upstream,
            ))),
        })
    }

    /// A layer that records nothing: no span, no metric, no `traceparent`.
    pub fn disabled() -> GrpcClientLayer {
        GrpcClientLayer { methods: None }
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
        let call = self.methods.as_ref().map(|methods| {
            let call = GrpcCall::start(methods, &request, None, &OtelContext::current());
            propagation::inject(call.context(), request.headers_mut());
            call
        });
        GrpcClientFuture {
            inner: self.inner.call(request),
            call,
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`GrpcClientService`]. It does not make the
    /// call's span the current context: the transport below runs on tasks of
    /// its own and reads none, and attaching it on every poll cost more than
    /// the rest of the layer. The span reaches the server in `traceparent`.
    /// If the caller drops the future before the response arrives (its own
    /// timeout, a cancelled page load), the call is still recorded: as
    /// CANCELLED, or DEADLINE_EXCEEDED if its deadline had passed.
    pub struct GrpcClientFuture<F> {
        #[pin]
        inner: F,
        call: Option<Call<GrpcCall>>,
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
        let call = this.call.take();
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                if let Some(call) = call {
                    let status = status_of_error(&error);
                    call.finish((status.code(), status.message().to_owned().into()));
                }
                return Poll::Ready(Err(error));
            }
        };
        let call = call.and_then(|call| call.finish_if_status(response.headers()));
        Poll::Ready(Ok(response.map(|body| ObservedBody::new(body, call))))
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
