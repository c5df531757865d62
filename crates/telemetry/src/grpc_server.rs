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
use std::task::{Context, Poll};

use tower::{Layer, Service};
use tower_http::catch_panic::{CatchPanic, CatchPanicLayer};

use crate::call_span::{in_context, remote_parent};
use crate::grpc_call::{CallRecord, Methods, ObservedBody, Side, status_in};
use crate::panic::{GrpcPanicResponse, grpc_panic_response};

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
    type Service = GrpcServerService<CatchPanic<S, GrpcPanicResponse>>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcServerService {
            inner: CatchPanicLayer::custom(grpc_panic_response as GrpcPanicResponse).layer(inner),
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
    S::Future: Send + 'static,
{
    type Response = http::Response<ObservedBody<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let path = request.uri().path();
        if is_probe(path) {
            let future = self.inner.call(request);
            return Box::pin(
                async move { Ok(future.await?.map(|body| ObservedBody::new(body, None))) },
            );
        }
        let record =
            CallRecord::start(&self.methods, path, &remote_parent(request.headers()), None);
        let future = in_context(record.context(), || self.inner.call(request));
        Box::pin(async move {
            let response = future.await?;
            // A trailers-only answer (every error tonic sends) carries its
            // status in the headers and has no trailers to wait for.
            let record = match status_in(response.headers()) {
                Some(status) => {
                    record.finish(&status);
                    None
                }
                None => Some(record),
            };
            Ok(response.map(|body| ObservedBody::new(body, record)))
        })
    }
}
