//! The HTTP server layer for axum apps: a SERVER span named for the matched
//! route (`GET /`), `http_server_request_duration_seconds` by route template,
//! a `traceresponse` header on every response so a user can find the trace
//! of any page load, and a caught panic turned into a 500. A request the
//! client abandons before its response is recorded too, with
//! `error.type="cancelled"` and one log line.
//!
//! Add it with `Router::layer`, so axum's `MatchedPath` is known. Requests no
//! route matched share the route label `_OTHER`: labelling by raw path would
//! let any scanner create unbounded series.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::extract::MatchedPath;
use bytes::Bytes;
use metrics::Histogram;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _};
use opentelemetry::{Context as OtelContext, KeyValue};
use opentelemetry_semantic_conventions::attribute::{
    ERROR_TYPE, HTTP_REQUEST_METHOD, HTTP_RESPONSE_STATUS_CODE, HTTP_ROUTE, URL_PATH,
};
use tower::{Layer, Service};

use crate::call::{Call, Recorder};
use crate::call_span::{CallTracer, NotStarted};
use crate::grpc_call::OTHER;
use crate::instruments::{Cache, FastMap, prometheus_label};
use crate::panic::{Guarded, http_panic_response};
use crate::prometheus::names;
use crate::propagation::{self, trace_header};

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
#[derive(Clone)]
pub struct HttpServerLayer {
    routes: Arc<Routes>,
}

impl HttpServerLayer {
    /// Fails if telemetry has not started ([`crate::init`]), which installs
    /// the tracer.
    pub fn new() -> Result<HttpServerLayer, NotStarted> {
        Ok(HttpServerLayer {
            routes: Arc::new(Routes::new(CallTracer::installed()?)),
        })
    }
}

impl std::fmt::Debug for HttpServerLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServerLayer").finish_non_exhaustive()
    }
}

impl<S> Layer<S> for HttpServerLayer {
    type Service = HttpServerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpServerService {
            inner,
            routes: self.routes.clone(),
        }
    }
}

/// See [`HttpServerLayer`].
#[derive(Clone)]
pub struct HttpServerService<S> {
    inner: S,
    routes: Arc<Routes>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for HttpServerService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServerService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for HttpServerService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = HttpServerFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let method = known_method(request.method());
        let route = match request.extensions().get::<MatchedPath>() {
            Some(matched) => self.routes.lookup(matched.as_str()),
            None => self.routes.other.clone(),
        };
        let parent = propagation::extract(request.headers());
        let cx = self.routes.tracer.start(SpanKind::Server, &parent, || {
            let attributes = vec![
                KeyValue::new(HTTP_REQUEST_METHOD, method),
                KeyValue::new(HTTP_ROUTE, route.route.clone()),
                KeyValue::new(URL_PATH, request.uri().path().to_owned()),
            ];
            (route.span_name(method).into(), attributes)
        });
        let call = Call::start(HttpRequest { route, method }, cx);
        let inner = {
            let _current = call.attach();
            Guarded::call(|| self.inner.call(request))
        };
        HttpServerFuture {
            inner,
            call: Some(call),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`HttpServerService`]: runs the request with
    /// its span as the current context, and answers a panic with a 500.
    /// Dropped before the response (the client hung up), it records the
    /// request as abandoned.
    pub struct HttpServerFuture<F> {
        #[pin]
        inner: Guarded<F>,
        call: Option<Call<HttpRequest>>,
    }
}

impl<F, ResBody, E> Future for HttpServerFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    ResBody: From<Bytes>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let polled = {
            let _current = this.call.as_ref().map(Call::attach);
            ready!(this.inner.poll(cx))
        };
        let mut response = match polled {
            Ok(Ok(response)) => response,
            Err(panic) => {
                let _current = this.call.as_ref().map(Call::attach);
                http_panic_response(panic)
            }
            Ok(Err(error)) => {
                if let Some(call) = this.call.take() {
                    call.finish(HttpOutcome::NoResponse);
                }
                return Poll::Ready(Err(error));
            }
        };
        if let Some(call) = this.call.take() {
            if let Some(value) = trace_header(call.context().span().span_context()) {
                response.headers_mut().insert("traceresponse", value);
            }
            call.finish(HttpOutcome::Response(response.status()));
        }
        Poll::Ready(Ok(response))
    }
}

/// The `error.type` of a request the client abandoned.
const CANCELLED: &str = "cancelled";

/// How an HTTP request ended; also the key of its histogram, with the
/// method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

    /// The metric label that tells outcomes apart: the status code, or the
    /// `error.type` of a request that got no response.
    fn label(self) -> metrics::Label {
        match self {
            HttpOutcome::Response(status) => metrics::Label::new(
                prometheus_label(HTTP_RESPONSE_STATUS_CODE),
                status.as_str().to_owned(),
            ),
            HttpOutcome::NoResponse => metrics::Label::new(prometheus_label(ERROR_TYPE), OTHER),
            HttpOutcome::Abandoned => metrics::Label::new(prometheus_label(ERROR_TYPE), CANCELLED),
        }
    }
}

/// The [`Recorder`] of one HTTP request.
pub(crate) struct HttpRequest {
    route: Arc<Route>,
    method: &'static str,
}

impl Recorder for HttpRequest {
    type Outcome = HttpOutcome;

    fn abandoned(&self, _: Duration) -> HttpOutcome {
        HttpOutcome::Abandoned
    }

    fn record(&self, outcome: HttpOutcome, elapsed: Duration, cx: &OtelContext) {
        self.route
            .histogram(self.method, &outcome)
            .record(elapsed.as_secs_f64());
        let span = cx.span();
        if let HttpOutcome::Response(status) = outcome {
            if span.is_recording() {
                let code = i64::from(status.as_u16());
                span.set_attribute(KeyValue::new(HTTP_RESPONSE_STATUS_CODE, code));
                if status.is_server_error() {
                    span.set_status(Status::error(""));
                }
            }
        } else if let Some(error_type) = outcome.error_type() {
            if span.is_recording() {
                span.set_attribute(KeyValue::new(ERROR_TYPE, error_type));
                span.set_status(Status::error(error_type));
            }
            let _current = cx.clone().attach();
            tracing::warn!(
                { HTTP_REQUEST_METHOD } = self.method,
                { HTTP_ROUTE } = &*self.route.route,
                { ERROR_TYPE } = error_type,
                "HTTP request ended before its response"
            );
        }
    }
}

/// What every request to one route shares: its template and histogram
/// handles, made on first use.
struct Route {
    route: Arc<str>,
    /// Whether `route` is a matched template (or the shared `_OTHER`).
    matched: bool,
    /// By method and outcome.
    histograms: RwLock<FastMap<(&'static str, HttpOutcome), Histogram>>,
}

impl Route {
    fn new(route: &str, matched: bool) -> Route {
        Route {
            route: route.into(),
            matched,
            histograms: RwLock::default(),
        }
    }

    /// The semconv span name: `{method} {route}`, or `{method}` alone for
    /// requests no route matched.
    fn span_name(&self, method: &'static str) -> String {
        if self.matched {
            format!("{method} {}", self.route)
        } else {
            method.to_owned()
        }
    }

    fn histogram(&self, method: &'static str, outcome: &HttpOutcome) -> Histogram {
        let key = (method, *outcome);
        if let Some(histogram) = self
            .histograms
            .read()
            .ok()
            .and_then(|h| h.get(&key).cloned())
        {
            return histogram;
        }
        let mut labels = vec![
            metrics::Label::new(prometheus_label(HTTP_REQUEST_METHOD), method),
            metrics::Label::new(prometheus_label(HTTP_ROUTE), self.route.to_string()),
        ];
        labels.push(outcome.label());
        let histogram = metrics::histogram!(names::HTTP_SERVER_DURATION, labels);
        if let Ok(mut histograms) = self.histograms.write() {
            histograms.insert(key, histogram.clone());
        }
        histogram
    }
}

/// The routes one layer has seen, and the tracer its spans come from. Only
/// matched route templates are stored; everything unmatched shares `other`,
/// so scans cannot grow it.
struct Routes {
    tracer: CallTracer,
    cache: Cache<Route>,
    other: Arc<Route>,
}

impl Routes {
    fn new(tracer: CallTracer) -> Routes {
        Routes {
            tracer,
            cache: Cache::default(),
            other: Arc::new(Route::new(OTHER, false)),
        }
    }

    fn lookup(&self, template: &str) -> Arc<Route> {
        if let Some(route) = self.cache.get(template) {
            return route;
        }
        let route = Arc::new(Route::new(template, true));
        self.cache.insert(template, route.clone());
        route
    }
}
