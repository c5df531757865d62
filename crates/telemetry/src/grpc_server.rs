//! The gRPC server layer, the tutorial's server interceptor: per call it
//! continues the caller's trace, opens a SERVER span with semconv attributes,
//! records `rpc_server_call_duration_seconds`, logs non-OK answers once, and
//! turns a handler panic into INTERNAL while the process keeps serving.
//!
//! Health checks and reflection pass straight through: probes every few
//! seconds would drown the RED metrics and traces in noise.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry_http::HeaderExtractor;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tower::{Layer, Service};
use tower_http::catch_panic::{CatchPanic, CatchPanicLayer};
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::grpc_call::{CallRecord, ObservedBody, Side, split_path};
use crate::panic::{GrpcPanicResponse, grpc_panic_response};

/// Paths that are never traced or measured.
fn is_probe(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/") || path.starts_with("/grpc.reflection.")
}

/// Wraps a gRPC server (tonic `Server::builder().layer(...)`) in telemetry
/// and panic recovery. The span is outermost so that everything inside it,
/// including the panic's log line, carries the trace id.
#[derive(Debug, Clone, Default)]
pub struct GrpcServerLayer {
    _private: (),
}

impl GrpcServerLayer {
    pub fn new() -> GrpcServerLayer {
        GrpcServerLayer::default()
    }
}

impl<S> Layer<S> for GrpcServerLayer {
    type Service = GrpcServerService<CatchPanic<S, GrpcPanicResponse>>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcServerService {
            inner: CatchPanicLayer::custom(grpc_panic_response as GrpcPanicResponse).layer(inner),
        }
    }
}

/// See [`GrpcServerLayer`].
#[derive(Debug, Clone)]
pub struct GrpcServerService<S> {
    inner: S,
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
        let (service, method) =
            split_path(path).unwrap_or((crate::grpc_call::OTHER, crate::grpc_call::OTHER));
        let (service, method) = (service.to_owned(), method.to_owned());
        let span = tracing::info_span!(
            "grpc.server",
            otel.name = format!("{service}/{method}"),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
            rpc.system.name = "grpc",
            rpc.service = service.as_str(),
            rpc.method = method.as_str(),
            rpc.response.status_code = tracing::field::Empty,
        );
        let parent = TraceContextPropagator::new().extract(&HeaderExtractor(request.headers()));
        let _ = span.set_parent(parent);
        let record = CallRecord {
            side: Side::Server,
            service,
            method,
            span: span.clone(),
            start: Instant::now(),
        };
        let future = span.in_scope(|| self.inner.call(request)).instrument(span);
        Box::pin(async move {
            let response = future.await?;
            // A trailers-only answer (every error tonic sends) carries its
            // status in the headers and has no trailers to wait for.
            let record = match tonic::Status::from_header_map(response.headers()) {
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
