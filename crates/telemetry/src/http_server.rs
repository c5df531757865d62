//! The HTTP server layer for axum apps: a SERVER span named for the matched
//! route (`GET /`), `http_server_request_duration_seconds` by route template,
//! and a `traceresponse` header on every response so a user can find the
//! trace of any page load. A request the client abandons before its response
//! is recorded too, with `error.type="cancelled"` and one log line. Panic
//! recovery is a layer of its own, below this one (the kit's web server adds
//! it), so a panic arrives here as an ordinary 500.
//!
//! Add it with `Router::layer`, so axum's `MatchedPath` is known. Requests no
//! route matched share the route label `_OTHER`: labelling by raw path would
//! let any scanner create unbounded series.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::extract::MatchedPath;
use metrics::Label;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _};
use opentelemetry::{Context as OtelContext, KeyValue};
use opentelemetry_semantic_conventions::attribute::{
    ERROR_TYPE, HTTP_REQUEST_METHOD, HTTP_RESPONSE_STATUS_CODE, HTTP_ROUTE, URL_PATH,
};
use tower::{Layer, Service};

use crate::call::{Call, Recorder};
use crate::call_span::{CallTracer, NotStarted};
use crate::grpc_call::OTHER;
use crate::prometheus::{labels, names};
use crate::propagation;

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
#[derive(Debug, Clone)]
pub struct HttpServerLayer {
    tracer: CallTracer,
}

impl HttpServerLayer {
    /// Fails if telemetry has not started ([`crate::init`]), which installs
    /// the tracer.
    pub fn new() -> Result<HttpServerLayer, NotStarted> {
        Ok(HttpServerLayer {
            tracer: CallTracer::installed()?,
        })
    }
}

impl<S> Layer<S> for HttpServerLayer {
    type Service = HttpServerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpServerService {
            inner,
            tracer: self.tracer.clone(),
        }
    }
}

/// See [`HttpServerLayer`].
#[derive(Debug, Clone)]
pub struct HttpServerService<S> {
    inner: S,
    tracer: CallTracer,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for HttpServerService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = HttpServerFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let method = known_method(request.method());
        // Requests no route matched share `_OTHER`: labelling by raw path
        // would let any scanner create unbounded series.
        let route: Option<Arc<str>> = request
            .extensions()
            .get::<MatchedPath>()
            .map(|matched| matched.as_str().into());
        // The semconv span name: `{method} {route}`, or the method alone.
        let name = match &route {
            Some(route) => format!("{method} {route}"),
            None => method.to_owned(),
        };
        let route = route.unwrap_or_else(|| OTHER.into());
        let attributes = vec![
            KeyValue::new(HTTP_REQUEST_METHOD, method),
            KeyValue::new(HTTP_ROUTE, route.clone()),
            KeyValue::new(URL_PATH, request.uri().path().to_owned()),
        ];
        let parent = propagation::extract(request.headers());
        let cx = self
            .tracer
            .start(SpanKind::Server, &parent, name, attributes);
        let call = Call::start(HttpRequest { route, method }, cx);
        let inner = {
            let _current = call.attach();
            self.inner.call(request)
        };
        HttpServerFuture {
            inner,
            call: Some(call),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`HttpServerService`]: runs the request with
    /// its span as the current context. Dropped before the response (the
    /// client hung up), it records the request as abandoned.
    pub struct HttpServerFuture<F> {
        #[pin]
        inner: F,
        call: Option<Call<HttpRequest>>,
    }
}

impl<F, ResBody, E> Future for HttpServerFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let polled = {
            let _current = this.call.as_ref().map(Call::attach);
            ready!(this.inner.poll(cx))
        };
        let Some(call) = this.call.take() else {
            return Poll::Ready(polled);
        };
        match polled {
            Ok(mut response) => {
                let span = call.context().span();
                if let Some(value) = propagation::trace_response(span.span_context()) {
                    response.headers_mut().insert("traceresponse", value);
                }
                call.finish(HttpOutcome::Response(response.status()));
                Poll::Ready(Ok(response))
            }
            Err(error) => {
                call.finish(HttpOutcome::NoResponse);
                Poll::Ready(Err(error))
            }
        }
    }
}

/// The `error.type` of a request the client abandoned.
const CANCELLED: &str = "cancelled";

/// How an HTTP request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HttpOutcome {
    /// With a response (a caught panic's 500 included).
    Response(http::StatusCode),
    /// The inner service failed instead of answering (axum's never does).
    NoResponse,
    /// Dropped before its response: the client hung up or reset the stream.
    Abandoned,
}

impl HttpOutcome {
    /// The semconv `error.type` of a request that got no response.
    fn error_type(self) -> Option<&'static str> {
        match self {
            HttpOutcome::Response(_) => None,
            HttpOutcome::NoResponse => Some(OTHER),
            HttpOutcome::Abandoned => Some(CANCELLED),
        }
    }
}

/// The [`Recorder`] of one HTTP request.
pub(crate) struct HttpRequest {
    /// The matched route template, or `_OTHER`.
    route: Arc<str>,
    method: &'static str,
}

impl Recorder for HttpRequest {
    type Outcome = HttpOutcome;

    fn abandoned(&self, _: Duration) -> HttpOutcome {
        HttpOutcome::Abandoned
    }

    fn record(&self, outcome: HttpOutcome, elapsed: Duration, cx: &OtelContext) {
        // The status code tells outcomes apart, or for a request that got no
        // response, its `error.type`.
        let outcome_label = match outcome {
            HttpOutcome::Response(status) => Label::new(
                labels::HTTP_RESPONSE_STATUS_CODE,
                status.as_str().to_owned(),
            ),
            _ => Label::new(labels::ERROR_TYPE, outcome.error_type().unwrap_or(OTHER)),
        };
        let labels = vec![
            Label::new(labels::HTTP_REQUEST_METHOD, self.method),
            Label::new(labels::HTTP_ROUTE, self.route.clone()),
            outcome_label,
        ];
        metrics::histogram!(names::HTTP_SERVER_DURATION, labels).record(elapsed.as_secs_f64());

        let span = cx.span();
        if let HttpOutcome::Response(status) = outcome {
            let code = i64::from(status.as_u16());
            span.set_attribute(KeyValue::new(HTTP_RESPONSE_STATUS_CODE, code));
            if status.is_server_error() {
                span.set_status(Status::error(""));
            }
        } else if let Some(error_type) = outcome.error_type() {
            span.set_attribute(KeyValue::new(ERROR_TYPE, error_type));
            span.set_status(Status::error(error_type));
            let _current = cx.clone().attach();
            tracing::warn!(
                { HTTP_REQUEST_METHOD } = self.method,
                { HTTP_ROUTE } = &*self.route,
                { ERROR_TYPE } = error_type,
                "HTTP request ended before its response"
            );
        }
    }
}
