//! The web server kit: a service hands over its `Router` and gets the
//! hardened server, the telemetry layer, panic recovery, the browser
//! security headers and a 404 page, by default.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::handler::Handler;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse};
use lifecycle::Shutdown;
use telemetry::HttpServerLayer;
use tokio::net::TcpListener;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::HttpLimits;
use crate::hardened::serve_router_on;

/// The settings every web service takes, as flags and environment variables.
/// A service sets its own default address with clap's `mut_arg`.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpServerArgs {
    /// Address of the public HTTP server.
    #[arg(long, env = "HTTP_ADDR", default_value = "0.0.0.0:8080")]
    pub http_addr: SocketAddr,

    /// A client must send a request's headers within this time, or the
    /// connection is closed (the slowloris defence).
    #[arg(long, env = "HTTP_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub http_header_read_timeout: Duration,

    /// TLS, off by default: `TLS_CERT`, `TLS_KEY`, and for mutual TLS
    /// `TLS_CLIENT_CA` and `TLS_ALLOWED_CLIENTS`, as on a gRPC server.
    #[command(flatten)]
    pub tls: tls::ServerTlsArgs,
}

/// Why a web server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("HTTP server failed")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error(transparent)]
    Telemetry(#[from] telemetry::NotStarted),
}

/// A web service's public server. Everything is on unless switched off
/// explicitly; see the `ServiceBuilder`-style methods below.
#[derive(Debug)]
pub struct WebServer {
    router: Router,
    limits: HttpLimits,
    tls: tls::ServerTlsArgs,
    telemetry: bool,
}

impl WebServer {
    /// Serves `router` with the kit's defaults: the limits from `args`, a
    /// plain 404 page for unmatched routes, the security headers and the
    /// telemetry layer.
    pub fn new(router: Router, args: &HttpServerArgs) -> WebServer {
        WebServer {
            router: router.fallback(not_found),
            limits: HttpLimits {
                header_read_timeout: args.http_header_read_timeout,
                ..HttpLimits::default()
            },
            tls: args.tls.clone(),
            telemetry: true,
        }
    }

    /// Answers unmatched routes with `handler` instead of the plain 404.
    pub fn not_found<H, T>(mut self, handler: H) -> WebServer
    where
        H: Handler<T, ()>,
        T: 'static,
    {
        self.router = self.router.fallback(handler);
        self
    }

    /// Replaces the kit's connection limits (the header-read timeout from
    /// `HTTP_HEADER_READ_TIMEOUT` included).
    pub fn limits(mut self, limits: HttpLimits) -> WebServer {
        self.limits = limits;
        self
    }

    /// Serves without traces, RED metrics or `traceresponse`: for the
    /// benchmarks' bare baseline, which measures what the layer costs. Panic
    /// recovery stays: it is a layer of its own.
    pub fn without_telemetry(mut self) -> WebServer {
        self.telemetry = false;
        self
    }

    /// The router as it will be served, layers and all, without a socket:
    /// for tests that drive it with `tower::ServiceExt::oneshot`. Fails if
    /// telemetry is on and has not started.
    pub fn into_router(self) -> Result<Router, telemetry::NotStarted> {
        self.into_router_checking(tls::CallerCheck::off())
    }

    /// [`WebServer::into_router`], with the allow-list check innermost when
    /// it is enforced (a layer added first wraps closest to the routes).
    fn into_router_checking(
        mut self,
        callers: tls::CallerCheck,
    ) -> Result<Router, telemetry::NotStarted> {
        if callers.is_enforced() {
            self.router = self.router.layer(axum::middleware::from_fn_with_state(
                callers,
                crate::callers::check,
            ));
        }
        // For every route and the fallback, outermost first: the browser
        // security headers (so a panic's 500 gets them too); then traces, RED
        // metrics by route and `traceresponse` (so a panic's log line carries
        // the trace id); then panic recovery. One `layer` call: axum wraps
        // each route once per call, and pays for each wrapper on every
        // request.
        Ok(if self.telemetry {
            self.router.layer((
                security_headers(),
                HttpServerLayer::new()?,
                crate::panic::layer(),
            ))
        } else {
            self.router
                .layer((security_headers(), crate::panic::layer()))
        })
    }

    /// Serves on `listener` until `shutdown` has run its course, through
    /// TLS if `TLS_CERT` is set.
    pub async fn serve(self, listener: TcpListener, shutdown: Shutdown) -> Result<(), Error> {
        let limits = self.limits;
        let tls = self.tls.load()?;
        tracing::info!(
            tls = ?self.tls.mode(),
            allowed_clients = tls.as_ref().and_then(|t| t.allowed_clients()).map(tracing::field::display),
            "HTTP transport security"
        );
        let callers = tls
            .as_ref()
            .map_or_else(tls::CallerCheck::off, tls::ServerTls::caller_check);
        let acceptor = tls.map(|t| t.acceptor(&[b"h2", b"http/1.1"]));
        let router = self.into_router_checking(callers)?;
        serve_router_on(listener, router, limits, acceptor, shutdown).await?;
        Ok(())
    }
}

/// What a browser may do with the pages: load nothing but their own inline
/// style (no scripts, images or fonts), never be framed, post no forms. A
/// handler that needs more sets its own header, which is then kept.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The layers of [`security_headers`], outermost first.
type SecurityHeaders = (
    SetResponseHeaderLayer<HeaderValue>,
    SetResponseHeaderLayer<HeaderValue>,
    SetResponseHeaderLayer<HeaderValue>,
);

/// The browser security headers for every response (unless a handler set
/// its own): the content security policy above, no MIME sniffing, and no
/// referrer sent when a user follows a link out.
fn security_headers() -> SecurityHeaders {
    (
        SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    )
}

/// The kit's 404 page, for services that bring none of their own.
async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        Html("<!doctype html>\n<title>Not found</title>\n<h1>Not found</h1>\n"),
    )
}
