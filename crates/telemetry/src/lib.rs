//! Telemetry for every service, by construction: one call at start-up
//! ([`init`]) installs JSON logs, OTLP export of traces and logs, the
//! Prometheus recorder and the `OTEL_PROPAGATORS` propagators; one line per
//! server or client adds the shared layers (the tutorial's interceptors):
//! [`GrpcServerLayer`], [`GrpcClientLayer`] and [`HttpServerLayer`].

mod call;
mod call_span;
mod export;
mod grpc_body;
mod grpc_call;
mod grpc_client;
mod grpc_server;
mod http_server;
mod instruments;
mod json_log;
mod prometheus;
mod propagation;
mod recordable;
mod resource;
mod sdk_metrics;
mod traceparent;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanExporter, TracerProviderBuilder};
use tracing_subscriber::filter::{FilterExt as _, LevelFilter};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

pub use crate::call_span::NotStarted;
pub use crate::grpc_body::ObservedBody;
pub use crate::grpc_call::{RetriedCall, code_name};
pub use crate::grpc_client::{GrpcClientFuture, GrpcClientLayer, GrpcClientService};
pub use crate::grpc_server::{GrpcServerFuture, GrpcServerLayer, GrpcServerService};
pub use crate::http_server::{HttpServerFuture, HttpServerLayer, HttpServerService};
pub use crate::json_log::JsonFormat;
pub use crate::prometheus::{DURATION_BUCKETS, Metrics, names};

/// Who is emitting: the defaults for the OpenTelemetry resource and the
/// `build_info` labels.
#[derive(Debug, Clone)]
pub struct ServiceInfo {
    /// `service.name` unless `OTEL_SERVICE_NAME` says otherwise.
    pub name: String,
    /// `service.version`.
    pub version: String,
}

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to install the Prometheus recorder")]
    Metrics(#[from] metrics_exporter_prometheus::BuildError),
    #[error("OTLP export cannot be set up as configured")]
    ExportConfig(#[from] otlp::ConfigError),
    #[error(transparent)]
    ExportRuntime(#[from] otlp::NoRuntime),
    #[error("failed to build the OTLP log exporter")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("failed to install the tracing subscriber")]
    Subscriber(#[from] tracing_subscriber::util::TryInitError),
}

/// What start-up hands to the servers. Dropping it flushes and stops export.
#[derive(Debug)]
pub struct Telemetry {
    metrics: Metrics,
    tracer_provider: SdkTracerProvider,
    logger_provider: Option<SdkLoggerProvider>,
    meter_provider: SdkMeterProvider,
}

impl Telemetry {
    /// The handle that renders `/metrics`.
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// Exports what is still queued, then stops. Bounded by the exporters'
    /// own timeouts (`OTEL_BSP_EXPORT_TIMEOUT`, `OTEL_BLRP_EXPORT_TIMEOUT`).
    /// It blocks, and the export it waits for runs on the tokio runtime:
    /// from async code, call it (or drop `Telemetry`) on a blocking thread,
    /// `tokio::task::spawn_blocking`, as `kit::main` does.
    pub fn shutdown(self) {
        // `Drop` does it, once, whether or not this is called.
        drop(self);
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        // Errors here mean the collector is gone; there is no one left to tell.
        let _ = self.tracer_provider.shutdown();
        if let Some(provider) = self.logger_provider.take() {
            let _ = provider.shutdown();
        }
        // Last: it copies the final counts of the two above to `/metrics`.
        let _ = self.meter_provider.shutdown();
    }
}

/// The trace id of the current span, if it has one: for pages that show
/// their own trace id, and for links to the trace.
pub fn current_trace_id() -> Option<String> {
    Some(traceparent::trace_id_hex(
        call_span::current_span_context()?.trace_id(),
    ))
}

/// Logs a panic that a server's panic layer caught, as one ERROR line in the
/// current context (so, under a traced call, with its trace id), with what
/// the client was answered: `handler panicked; answering 500`.
pub fn log_caught_panic(payload: &(dyn std::any::Any + Send), answer: &str) {
    let message = if let Some(message) = payload.downcast_ref::<&str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.as_str()
    } else {
        "non-string panic payload"
    };
    tracing::error!(
        panic.message = message,
        "handler panicked; answering {answer}"
    );
}

/// Targets whose logs and spans never go out over OTLP: the exporter's own
/// transport, which would otherwise report on itself in a loop.
const EXPORT_LOOP_TARGETS: &[&str] = &[
    "h2",
    "hyper",
    "hyper_util",
    "tonic",
    "tower",
    "opentelemetry",
    "opentelemetry_sdk",
    "opentelemetry_otlp",
];

/// `filter`, with the export loop's targets turned off.
fn without_export_loop(mut filter: EnvFilter) -> EnvFilter {
    for target in EXPORT_LOOP_TARGETS {
        if let Ok(directive) = format!("{target}=off").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// A per-layer filter that passes events and no spans. Put it first in an
/// `and`: it is the cheap test, and it saves asking the `RUST_LOG` filter
/// about every span. It limits no level, so its hint leaves a level filter's
/// hint in force (`and` of "any level" and INFO is INFO).
fn events_only<S>() -> impl tracing_subscriber::layer::Filter<S> {
    tracing_subscriber::filter::filter_fn(|metadata| metadata.is_event())
        .with_max_level_hint(LevelFilter::TRACE)
}

/// Checks a log filter in `RUST_LOG` syntax (`info`, `warn,my_crate=debug`),
/// for a config parser: the error names the directive that is wrong.
pub fn parse_log_filter(filter: &str) -> Result<String, String> {
    EnvFilter::try_new(filter)
        .map(|_| filter.to_owned())
        .map_err(|error| error.to_string())
}

/// Installs the telemetry stack with the defaults of [`Setup`]. Call it
/// once, from `main`, inside the tokio runtime (the OTLP exporter's channel
/// lives on it).
pub fn init(service: ServiceInfo, log_filter: &str) -> Result<Telemetry, Error> {
    Setup::new(service, log_filter).init()
}

/// A span exporter added to the tracer provider (see
/// [`Setup::span_exporter`]).
type AddExporter = Box<dyn FnOnce(TracerProviderBuilder) -> TracerProviderBuilder + Send>;

/// How telemetry starts: the service, the log filter, and for tests where
/// log lines and spans go.
///
/// - Logs: JSON lines on stdout with `trace_id` and `span_id`, filtered by
///   `log_filter` (`RUST_LOG` syntax, checked by [`parse_log_filter`]); also
///   exported over OTLP when export is on.
/// - Traces: exported over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the
///   traces endpoint) is set and `OTEL_SDK_DISABLED` is not `true`. Without
///   an endpoint nothing is exported and nothing is said about it. The
///   layers' spans, and `tracing` spans at INFO and above or wherever
///   `log_filter` enables their level, are recorded under a sampled call.
/// - Propagation: the propagators `OTEL_PROPAGATORS` names (by default
///   `tracecontext,baggage`), for the layers and as the global propagator.
/// - Metrics: the Prometheus recorder behind [`Telemetry::metrics`], with
///   the SDK's own counts of what its export queues handled and dropped.
pub struct Setup {
    service: ServiceInfo,
    log_filter: String,
    log_writer: BoxMakeWriter,
    span_exporter: Option<AddExporter>,
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setup")
            .field("service", &self.service)
            .field("log_filter", &self.log_filter)
            .finish_non_exhaustive()
    }
}

impl Setup {
    pub fn new(service: ServiceInfo, log_filter: &str) -> Setup {
        Setup {
            service,
            log_filter: log_filter.to_owned(),
            log_writer: BoxMakeWriter::new(std::io::stdout),
            span_exporter: None,
        }
    }

    /// Writes the JSON log lines to `writer` instead of stdout: a test's
    /// buffer, or a sink.
    pub fn log_writer<W>(mut self, writer: W) -> Setup
    where
        W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
    {
        self.log_writer = BoxMakeWriter::new(writer);
        self
    }

    /// Also hands every span to `exporter` as it ends (beside any OTLP
    /// export): for tests, with the SDK's `InMemorySpanExporter`.
    pub fn span_exporter<E: SpanExporter + 'static>(mut self, exporter: E) -> Setup {
        self.span_exporter = Some(Box::new(move |builder: TracerProviderBuilder| {
            builder.with_simple_exporter(exporter)
        }));
        self
    }

    /// Installs the stack. Once per process: the subscriber, the recorder and
    /// the global providers are process-wide.
    pub fn init(self) -> Result<Telemetry, Error> {
        let Setup {
            service,
            log_filter,
            log_writer,
            span_exporter,
        } = self;
        let log_filter = || EnvFilter::new(&log_filter);
        let plan = export::ExportPlan::from_env();
        let (propagation, ignored_propagators) =
            propagation::Propagation::parse(std::env::var("OTEL_PROPAGATORS").ok().as_deref());
        let resource = resource::build(&service);
        // `build_info` names the service as its telemetry does, so an
        // `OTEL_SERVICE_NAME` renames both.
        let service = ServiceInfo {
            name: resource::service_name(&resource).unwrap_or(service.name),
            ..service
        };
        let metrics = Metrics::install(&service)?;
        // Before the providers: their batch processors take their counters
        // from it as they start.
        let meter_provider = sdk_metrics::install();
        let mut tracer_provider = SdkTracerProvider::builder().with_resource(resource.clone());
        if plan.traces {
            tracer_provider = export::with_otlp_spans(tracer_provider)?;
        }
        if let Some(add) = span_exporter {
            tracer_provider = add(tracer_provider);
        }
        let tracer_provider = tracer_provider.build();
        let logger_provider = if plan.logs {
            Some(export::logger_provider(resource)?)
        } else {
            None
        };

        // The layers build their spans on the OpenTelemetry API (see
        // `call_span`); this bridge is for `tracing` spans in handlers, such
        // as `#[instrument]`: those at INFO and above whatever RUST_LOG says,
        // so turning logs down never breaks a trace, and those below INFO
        // wherever RUST_LOG turns their level on.
        // Lean spans: no source location, thread or target attributes, and no
        // busy/idle timing (two clock reads per poll). Context activation
        // stays on: it makes such a span the current OpenTelemetry context,
        // where log lines and outgoing calls find it.
        let traces = tracing_opentelemetry::layer()
            .with_tracer(tracer_provider.tracer(service.name.clone()))
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_tracked_inactivity(false)
            .with_filter(LevelFilter::INFO.or(without_export_loop(log_filter())));
        // Log lines read trace ids from the OpenTelemetry context, not from
        // `tracing` spans, so the log layers take events only.
        let stdout = tracing_subscriber::fmt::layer()
            .event_format(json_log::JsonFormat)
            .with_ansi(false)
            .with_writer(log_writer)
            .with_filter(events_only().and(log_filter()));
        let otlp_logs = logger_provider.as_ref().map(|provider| {
            OpenTelemetryTracingBridge::new(provider)
                .with_filter(events_only().and(without_export_loop(log_filter())))
        });
        tracing_subscriber::registry()
            .with(recordable::Recordable::new(log_filter()))
            .with(traces)
            .with(stdout)
            .with(otlp_logs)
            .try_init()?;

        // The layers take their tracer from this provider, and their
        // propagators from this choice.
        call_span::install_tracer_provider(&tracer_provider);
        propagation::install(propagation);
        for name in ignored_propagators {
            tracing::warn!(
                propagator = name,
                "OTEL_PROPAGATORS names a propagator this service does not have; ignored"
            );
        }
        tracing::info!(
            traces_exported = plan.traces,
            logs_exported = plan.logs,
            "telemetry started"
        );
        Ok(Telemetry {
            metrics,
            tracer_provider,
            logger_provider,
            meter_provider,
        })
    }
}
