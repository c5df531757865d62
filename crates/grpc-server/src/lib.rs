//! The gRPC server kit: a service hands over its tonic services and gets
//! every limit and defence, `TCP_NODELAY`, health reporting tied to the
//! drain, server reflection, panic recovery and the telemetry layer, by
//! default.

mod callers;
mod connection;
mod descriptors;
mod health;
mod message_limit;
mod panic;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use lifecycle::{Shutdown, serve_until_drained};
use telemetry::GrpcServerLayer;
use tokio::net::TcpListener;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::transport::Server;

use crate::message_limit::MessageLimit;

/// The settings every gRPC service takes, as flags and environment
/// variables. A service sets its own default address with clap's `mut_arg`.
#[derive(Debug, Clone, clap::Args)]
pub struct GrpcServerArgs {
    /// Address of the gRPC server (the service, health and reflection).
    #[arg(long, env = "GRPC_ADDR", default_value = "0.0.0.0:50051")]
    pub grpc_addr: SocketAddr,

    /// The most time one call may take on the server, whatever deadline the
    /// client sent; past it the call is cut off and its resources freed.
    #[arg(long, env = "GRPC_REQUEST_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub grpc_request_timeout: Duration,

    #[command(flatten)]
    pub tls: tls::ServerTlsArgs,
}

/// The limits every connection and call gets, set explicitly rather than
/// left to tonic's and h2's defaults.
#[derive(Debug, Clone, Copy)]
pub struct GrpcLimits {
    /// The largest request message; larger gets OUT_OF_RANGE before it is
    /// read.
    pub max_request_bytes: usize,
    /// Concurrent HTTP/2 streams per connection.
    pub max_concurrent_streams: u32,
    /// Request header bytes, HPACK-decoded.
    pub max_header_list_bytes: u32,
    /// Client-reset streams not yet served, before the client gets GOAWAY
    /// (the rapid-reset defence, CVE-2023-44487).
    pub max_pending_accept_resets: usize,
    /// Streams a client may make the server reset before it gets GOAWAY
    /// (tonic 0.14 turns h2's limit off; the kit turns it back on).
    pub max_local_error_resets: usize,
    /// How often an idle connection is pinged, to find dead peers.
    pub keepalive_interval: Duration,
    /// How long a ping may go unanswered before the connection is closed.
    pub keepalive_timeout: Duration,
}

impl Default for GrpcLimits {
    fn default() -> GrpcLimits {
        GrpcLimits {
            max_request_bytes: 64 * 1024,
            max_concurrent_streams: 256,
            max_header_list_bytes: 16 * 1024,
            max_pending_accept_resets: 50,
            max_local_error_resets: 1024,
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(10),
        }
    }
}

/// Why a gRPC server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("failed to build the reflection service")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error(transparent)]
    Telemetry(#[from] telemetry::NotStarted),
    #[error("gRPC server failed")]
    Serve(#[from] tonic::transport::Error),
}

/// A gRPC service's server. Everything is on unless switched off explicitly.
pub struct GrpcServer {
    args: GrpcServerArgs,
    limits: GrpcLimits,
    routes: RoutesBuilder,
    service_names: Vec<&'static str>,
    descriptor_sets: Vec<&'static [u8]>,
    reflection: bool,
    telemetry: bool,
}

impl std::fmt::Debug for GrpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcServer")
            .field("limits", &self.limits)
            .field("service_names", &self.service_names)
            .field("reflection", &self.reflection)
            .field("telemetry", &self.telemetry)
            .finish_non_exhaustive()
    }
}

impl GrpcServer {
    /// A server with the kit's limits and the settings in `args`.
    pub fn new(args: &GrpcServerArgs) -> GrpcServer {
        GrpcServer::with_limits(args, GrpcLimits::default())
    }

    /// A server with other limits than the kit's, such as a larger
    /// `max_request_bytes` for a service that takes uploads:
    /// `GrpcLimits { max_request_bytes: 4 << 20, ..GrpcLimits::default() }`.
    pub fn with_limits(args: &GrpcServerArgs, limits: GrpcLimits) -> GrpcServer {
        GrpcServer {
            args: args.clone(),
            limits,
            routes: RoutesBuilder::default(),
            service_names: Vec::new(),
            descriptor_sets: Vec::new(),
            reflection: true,
            telemetry: true,
        }
    }

    /// Serves `service` (a tonic-generated server) under the request size
    /// limit, and reports its health under its full name.
    pub fn add_service<S>(mut self, service: S) -> GrpcServer
    where
        S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.service_names.push(S::NAME);
        self.routes
            .add_service(MessageLimit::new(service, self.limits.max_request_bytes));
        self
    }

    /// Describes the APIs served, with an encoded `FileDescriptorSet`
    /// (`crates/proto` writes one per API, `proto::NAME::FILE_DESCRIPTOR_SET`).
    /// Telemetry names each call by the methods of the services served, and
    /// records a call to a method no set describes as `rpc.method="_OTHER"`;
    /// server reflection lists the services in the sets, so grpcurl and
    /// friends need no proto files. Give only the sets of the APIs served:
    /// reflection lists every service in them.
    pub fn descriptor_set(mut self, encoded_file_descriptor_set: &'static [u8]) -> GrpcServer {
        self.descriptor_sets.push(encoded_file_descriptor_set);
        self
    }

    /// Serves no reflection. Telemetry still names calls by the descriptor
    /// sets given.
    pub fn without_reflection(mut self) -> GrpcServer {
        self.reflection = false;
        self
    }

    /// Serves without traces, RED metrics or error logs: for the benchmarks'
    /// bare baseline, which measures what the layer costs. Panic recovery
    /// stays: it is a layer of its own.
    pub fn without_telemetry(mut self) -> GrpcServer {
        self.telemetry = false;
        self
    }

    /// Serves on `listener` until `shutdown` has run its course: health
    /// reports NOT_SERVING as soon as the drain begins, the server stops
    /// accepting when it says, and in-flight calls get at most the shutdown
    /// timeout to finish.
    pub async fn serve(mut self, listener: TcpListener, shutdown: Shutdown) -> Result<(), Error> {
        let tls = self.args.tls.load()?;
        tracing::info!(
            tls = ?self.args.tls.mode(),
            allowed_clients = tls.as_ref().and_then(|t| t.allowed_clients()).map(tracing::field::display),
            "gRPC transport security"
        );
        let health = health::serve_until_draining(&self.service_names, &shutdown).await;
        let mut routes = std::mem::take(&mut self.routes);
        routes.add_service(MessageLimit::new(health, self.limits.max_request_bytes));
        if self.reflection && !self.descriptor_sets.is_empty() {
            // v1 and v1alpha: grpcurl and older tools still ask for the latter.
            let reflection = || {
                self.descriptor_sets.iter().fold(
                    tonic_reflection::server::Builder::configure()
                        .register_encoded_file_descriptor_set(
                            tonic_health::pb::FILE_DESCRIPTOR_SET,
                        ),
                    |builder, set| builder.register_encoded_file_descriptor_set(set),
                )
            };
            routes.add_service(reflection().build_v1()?);
            routes.add_service(reflection().build_v1alpha()?);
        }

        let limits = self.limits;
        let builder = Server::builder()
            // No `max_connection_age`: tonic panics without a grace period,
            // and client-side balancing re-resolves on its own.
            .timeout(self.args.grpc_request_timeout)
            .max_concurrent_streams(Some(limits.max_concurrent_streams))
            .http2_max_pending_accept_reset_streams(Some(limits.max_pending_accept_resets))
            .http2_max_local_error_reset_streams(Some(limits.max_local_error_resets))
            .http2_max_header_list_size(Some(limits.max_header_list_bytes))
            .http2_keepalive_interval(Some(limits.keepalive_interval))
            .http2_keepalive_timeout(Some(limits.keepalive_timeout));

        let routes = routes.routes();
        let telemetry = if self.telemetry {
            let (methods, undescribed) =
                descriptors::served_methods(&self.service_names, &self.descriptor_sets);
            for service in undescribed {
                tracing::warn!(
                    service,
                    "no descriptor set describes this service, so its calls are recorded as \
                     rpc.method=_OTHER; pass its FILE_DESCRIPTOR_SET to GrpcServer::descriptor_set"
                );
            }
            GrpcServerLayer::new(methods)?.request_timeout(self.args.grpc_request_timeout)
        } else {
            GrpcServerLayer::disabled()
        };
        // TLS is accepted by the kit, not by tonic, so that refused
        // handshakes are logged and counted; each call is then checked
        // against the allow-list (inside the telemetry layer, below).
        let callers = callers::CallerLayer::new(
            tls.as_ref()
                .map_or_else(tls::CallerCheck::off, tls::ServerTls::caller_check),
        );
        let incoming = connection::incoming(listener, tls.map(|t| t.acceptor(&[b"h2"])));
        let stopping = {
            let shutdown = shutdown.clone();
            async move { shutdown.stopping().await }
        };
        // Around every call, outermost first: traces, RED metrics and error
        // logs (health and reflection pass through untouched), so that a
        // refusal's and a panic's log lines carry the trace id; then the
        // caller check of mutual TLS; then panic recovery, so a panic
        // reaches telemetry as an ordinary INTERNAL answer.
        let layers = tower::ServiceBuilder::new()
            .layer(telemetry)
            .layer(callers)
            .layer(panic::layer());
        let server = builder
            .layer(layers)
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming, stopping);
        serve_until_drained(server, &shutdown).await?;
        Ok(())
    }
}
