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
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::MatchedPath;
use bytes::Bytes;
use metrics::Histogram;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _};
use opentelemetry::{Context as OtelContext, KeyValue};
use tower::{Layer, Service};

use crate::call_span::{CallTracer, remote_parent, trace_header};
use crate::grpc_call::OTHER;
use crate::instruments::{Cache, FastMap};
use crate::panic::{Guarded, http_panic_response};
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

/// See the module docs. Build it after [`crate::init`], which installs the
/// tracer it takes.
#[derive(Clone)]
pub struct HttpServerLayer {
    routes: Arc<Routes>,
}

impl HttpServerLayer {
    pub fn new() -> HttpServerLayer {
        HttpServerLayer {
            routes: Arc::new(Routes::new()),
        }
    }
}

impl Default for HttpServerLayer {
    fn default() -> HttpServerLayer {
        HttpServerLayer::new()
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
        let cx =
            self.routes
                .tracer
                .start(SpanKind::Server, &remote_parent(request.headers()), || {
                    let attributes = vec![
                        KeyValue::new("http.request.method", method),
                        KeyValue::new("http.route", route.route.clone()),
                        KeyValue::new("url.path", request.uri().path().to_owned()),
                    ];
                    (route.span_name(method).into(), attributes)
                });
        let start = Instant::now();
        let inner = {
            let _current = cx.clone().attach();
            Guarded::call(|| self.inner.call(request))
        };
        HttpServerFuture {
            inner,
            cx,
            route,
            method,
            start,
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`HttpServerService`]: runs the request with
    /// its span as the current context, and answers a panic with a 500. On
    /// an error the span ends as the future is dropped.
    pub struct HttpServerFuture<F> {
        #[pin]
        inner: Guarded<F>,
        cx: OtelContext,
        route: Arc<Route>,
        method: &'static str,
        start: Instant,
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
        let mut response = {
            let _current = this.cx.clone().attach();
            match ready!(this.inner.poll(cx)) {
                Ok(result) => result?,
                Err(panic) => http_panic_response(panic),
            }
        };
        let span = this.cx.span();
        let status = response.status();
        this.route
            .histogram(this.method, status)
            .record(this.start.elapsed().as_secs_f64());
        if span.is_recording() {
            span.set_attribute(KeyValue::new(
                "http.response.status_code",
                i64::from(status.as_u16()),
            ));
            if status.is_server_error() {
                span.set_status(Status::error(""));
            }
        }
        if let Some(value) = traceresponse(this.cx) {
            response.headers_mut().insert("traceresponse", value);
        }
        span.end();
        Poll::Ready(Ok(response))
    }
}

/// What every request to one route shares: its template and histogram
/// handles, made on first use.
struct Route {
    route: Arc<str>,
    /// Whether `route` is a matched template (or the shared `_OTHER`).
    matched: bool,
    histograms: RwLock<FastMap<(&'static str, u16), Histogram>>,
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

    fn histogram(&self, method: &'static str, status: http::StatusCode) -> Histogram {
        let key = (method, status.as_u16());
        if let Some(histogram) = self
            .histograms
            .read()
            .ok()
            .and_then(|h| h.get(&key).cloned())
        {
            return histogram;
        }
        let histogram = metrics::histogram!(
            names::HTTP_SERVER_DURATION,
            "http_request_method" => method,
            "http_route" => self.route.to_string(),
            "http_response_status_code" => status.as_str().to_owned(),
        );
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
    fn new() -> Routes {
        Routes {
            tracer: CallTracer::new(),
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

/// The W3C Trace Context level 2 `traceresponse` value of the span in `cx`.
fn traceresponse(cx: &OtelContext) -> Option<http::HeaderValue> {
    trace_header(cx.span().span_context())
}
