//! The HTTP server layer for axum apps: a SERVER span named for the matched
//! route (`GET /`), `http_server_request_duration_seconds` by route template,
//! a `traceresponse` header on every response so a user can find the trace
//! of any page load, and a caught panic turned into a 500.
//!
//! Add it with `Router::layer`, so axum's `MatchedPath` is known. Requests no
//! route matched share the route label `_OTHER`: labelling by raw path would
//! let any scanner create unbounded series.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::MatchedPath;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_http::HeaderExtractor;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tower::{Layer, Service};
use tower_http::catch_panic::{CatchPanic, CatchPanicLayer};
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::grpc_call::OTHER;
use crate::panic::{HttpPanicResponse, http_panic_response};
use crate::prometheus::names;

/// The methods semconv names; anything else is `_OTHER`.
fn known_method(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::HEAD => "HEAD",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::PATCH => "PATCH",
        http::Method::OPTIONS => "OPTIONS",
        http::Method::CONNECT => "CONNECT",
        http::Method::TRACE => "TRACE",
        _ => OTHER,
    }
}

/// See the module docs.
#[derive(Debug, Clone, Default)]
pub struct HttpServerLayer {
    _private: (),
}

impl HttpServerLayer {
    pub fn new() -> HttpServerLayer {
        HttpServerLayer::default()
    }
}

impl<S> Layer<S> for HttpServerLayer {
    type Service = HttpServerService<CatchPanic<S, HttpPanicResponse>>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpServerService {
            inner: CatchPanicLayer::custom(http_panic_response as HttpPanicResponse).layer(inner),
        }
    }
}

/// See [`HttpServerLayer`].
#[derive(Debug, Clone)]
pub struct HttpServerService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for HttpServerService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let method = known_method(request.method());
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_owned());
        // Semconv: `{method} {route}` when a route matched, else `{method}`.
        let name = match &route {
            Some(route) => format!("{method} {route}"),
            None => method.to_owned(),
        };
        let route = route.unwrap_or_else(|| OTHER.to_owned());
        let span = tracing::info_span!(
            "http.server",
            otel.name = name,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            http.request.method = method,
            http.route = route.as_str(),
            url.path = request.uri().path(),
            http.response.status_code = tracing::field::Empty,
        );
        let parent = TraceContextPropagator::new().extract(&HeaderExtractor(request.headers()));
        let _ = span.set_parent(parent);
        let start = Instant::now();
        let future = span
            .in_scope(|| self.inner.call(request))
            .instrument(span.clone());
        Box::pin(async move {
            let mut response = future.await?;
            let status = response.status();
            span.record("http.response.status_code", status.as_u16());
            if status.is_server_error() {
                span.record("otel.status_code", "ERROR");
            }
            metrics::histogram!(
                names::HTTP_SERVER_DURATION,
                "http_request_method" => method,
                "http_route" => route,
                "http_response_status_code" => status.as_str().to_owned(),
            )
            .record(start.elapsed().as_secs_f64());
            if let Some(value) = traceresponse(&span) {
                response.headers_mut().insert("traceresponse", value);
            }
            Ok(response)
        })
    }
}

/// The W3C Trace Context level 2 `traceresponse` value of `span`:
/// `00-{trace_id}-{span_id}-{flags}`.
fn traceresponse(span: &tracing::Span) -> Option<http::HeaderValue> {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    if !span_context.is_valid() {
        return None;
    }
    let value = format!(
        "00-{}-{}-{:02x}",
        span_context.trace_id(),
        span_context.span_id(),
        span_context.trace_flags().to_u8()
    );
    http::HeaderValue::from_str(&value).ok()
}
