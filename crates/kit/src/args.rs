//! The settings every service shares, as one clap struct that a service's
//! config flattens, and the two facts about a config the runner needs.

use std::net::SocketAddr;

use lifecycle::ShutdownArgs;
use lifecycle::healthcheck::Command;

/// The settings every service takes: the admin address, the log filter, the
/// drain timing and the `healthcheck` subcommand. A service sets its own
/// default admin address with clap's `mut_arg`:
///
/// ```ignore
/// #[command(mut_arg("admin_addr", |a| a.default_value("0.0.0.0:9051")))]
/// ```
///
/// It also closes every service's `--help` with the standard `OTEL_*`
/// variables the kit's telemetry honours, which are not flags.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = OTEL_HELP)]
pub struct ServiceArgs {
    /// Address of the plain-HTTP admin server: /healthz, /readyz, /metrics.
    #[arg(long, env = "ADMIN_ADDR", default_value = "0.0.0.0:9464")]
    pub admin_addr: SocketAddr,

    /// Which log lines to write, in `RUST_LOG` syntax: `info`, or
    /// `warn,my_service=debug`.
    #[arg(long = "log", env = "RUST_LOG", default_value = "info", value_parser = telemetry::parse_log_filter)]
    pub log_filter: String,

    #[command(flatten)]
    pub shutdown: ShutdownArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The end of every service's `--help`. The README's Telemetry section says
/// more about each variable; a test holds the two lists to the same names.
const OTEL_HELP: &str = "\
OpenTelemetry, from its standard environment variables:
  OTEL_EXPORTER_OTLP_ENDPOINT    export traces and logs over OTLP, e.g. http://localhost:4317;
                                 unset, nothing is exported
  OTEL_EXPORTER_OTLP_PROTOCOL    grpc (the default) or http/protobuf; anything else stops start-up
  OTEL_EXPORTER_OTLP_HEADERS     headers for the collector: key=value,... (values URL-encoded)
  OTEL_EXPORTER_OTLP_TIMEOUT     the most one export may take, in milliseconds (10000)
  OTEL_SDK_DISABLED=true         no export, whatever else is set
  OTEL_SERVICE_NAME              service.name (default: the binary's name)
  OTEL_RESOURCE_ATTRIBUTES       more resource attributes: key=value,...
  OTEL_TRACES_SAMPLER            the sampler (default parentbased_always_on), and its
  OTEL_TRACES_SAMPLER_ARG        argument
  OTEL_PROPAGATORS               tracecontext,baggage (the default), or none
  OTEL_TRACES_EXPORTER=none      turn traces off
  OTEL_LOGS_EXPORTER=none        turn OTLP logs off
  OTEL_BSP_*, OTEL_BLRP_*        batch sizes, queue bounds, delays, timeouts (spans, unless set:
                                 batches of 2048 every second, a queue of 16384)
  OTEL_EXPORTER_OTLP_TRACES_*,   the exporter settings above for one signal, which win
  OTEL_EXPORTER_OTLP_LOGS_*      over the generic ones";

/// What the runner needs of a service's config: the shared settings, and
/// the address of the service's own server. Its name and version are clap's
/// (`#[command(name = "...", version)]`). [`service_config!`](crate::service_config)
/// implements it in one line.
pub trait ServiceConfig: clap::Parser + Send + 'static {
    /// The flattened [`ServiceArgs`].
    fn service_args(&self) -> &ServiceArgs;

    /// Where the service's own (gRPC or HTTP) server listens.
    fn addr(&self) -> SocketAddr;
}

/// Implements [`ServiceConfig`] for a config struct, naming the field that
/// holds the [`ServiceArgs`] and the field path of the service's address:
///
/// ```ignore
/// kit::service_config!(Config, service, grpc.grpc_addr);
/// ```
#[macro_export]
macro_rules! service_config {
    ($config:ty, $service:ident, $($addr:ident).+) => {
        impl $crate::ServiceConfig for $config {
            fn service_args(&self) -> &$crate::ServiceArgs {
                &self.$service
            }

            fn addr(&self) -> ::std::net::SocketAddr {
                self.$($addr).+
            }
        }
    };
}
