//! The service runner: everything between `main` and a service's `run`.
//!
//! [`main`] parses the config, answers the `healthcheck` subcommand, starts
//! telemetry, binds, installs the signal handlers, serves, flushes, and turns
//! a failure into one stderr line and a non-zero exit. [`serve`] is the part
//! tests share: the service's own server beside the admin server.

use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use lifecycle::Shutdown;
use lifecycle::healthcheck::Command;
use telemetry::{Metrics, ServiceInfo};
use tokio::net::TcpListener;

use crate::ServiceConfig;

/// The sockets a service serves on, bound before it runs so tests can bind
/// port 0 and read the address back.
#[derive(Debug)]
pub struct Listeners {
    /// The service's own server.
    pub service: TcpListener,
    /// The admin server: probes and metrics.
    pub admin: TcpListener,
}

/// Why a service stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error<E: std::error::Error + 'static> {
    #[error(transparent)]
    Service(E),
    #[error("admin server failed")]
    Admin(#[source] std::io::Error),
}

/// Runs a service from `main`: `fn main() -> ExitCode { kit::main(my_service::run) }`.
/// `run` serves on the listener it is given until `shutdown` has run its
/// course.
///
/// The runner owns the tokio runtime (multi-threaded), so it also owns how
/// the process ends: once the servers have stopped and telemetry is
/// flushed, blocking work still in flight is given a moment and then
/// left behind (one second). A DNS lookup of an upstream that is going away can
/// otherwise hold the exit for its resolver's whole timeout, past the
/// orchestrator's grace period (the compose smoke test saw exactly that).
pub fn main<C, F, Fut, E>(run: F) -> ExitCode
where
    C: ServiceConfig,
    F: FnOnce(C, TcpListener, Shutdown) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    let config: C = lifecycle::parse_or_exit();
    if let Some(Command::Healthcheck) = config.service_args().command {
        lifecycle::healthcheck::run_and_exit(config.service_args().admin_addr);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: failed to start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(start(config, run));
    runtime.shutdown_timeout(EXIT_GRACE);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line, with every cause, for the operator reading the log.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// How long blocking work still running at exit may hold it.
const EXIT_GRACE: Duration = Duration::from_secs(1);

async fn start<C, F, Fut, E>(config: C, run: F) -> anyhow::Result<()>
where
    C: ServiceConfig,
    F: FnOnce(C, TcpListener, Shutdown) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    let command = C::command();
    let service = ServiceInfo {
        name: command.get_name().to_owned(),
        version: command.get_version().unwrap_or_default().to_owned(),
    };
    let args = config.service_args().clone();
    let telemetry =
        telemetry::init(service.clone(), &args.log_filter).context("failed to start telemetry")?;
    let listeners = Listeners {
        service: bind(config.addr()).await?,
        admin: bind(args.admin_addr).await?,
    };
    let (shutdown, controller) = Shutdown::new(args.shutdown.shutdown_timeout);
    lifecycle::signals::drain_on_signals(controller, args.shutdown.shutdown_delay)
        .context("failed to install signal handlers")?;
    let result = serve(config, listeners, shutdown, telemetry.metrics(), run).await;
    tracing::info!("{} stopped; flushing telemetry", service.name);
    // The flush blocks until the exporters' last batches are out, and those
    // travel on this runtime's gRPC channel to the collector. Blocking a
    // runtime worker here could strand the channel's task on it, until the
    // export timed out (the compose smoke test saw stops of 15 s and more):
    // so it runs on a blocking thread, with every worker free.
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    Ok(result?)
}

async fn bind(addr: std::net::SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("failed to bind {addr}"))
}

/// Serves `run` on `listeners.service` and the admin server on
/// `listeners.admin` until `shutdown` has run its course. An error on either
/// side returns at once.
pub async fn serve<C, F, Fut, E>(
    config: C,
    listeners: Listeners,
    shutdown: Shutdown,
    metrics: Metrics,
    run: F,
) -> Result<(), Error<E>>
where
    F: FnOnce(C, TcpListener, Shutdown) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::error::Error + 'static,
{
    let addr = |listener: &TcpListener| {
        listener
            .local_addr()
            .map_or_else(|e| e.to_string(), |a| a.to_string())
    };
    tracing::info!(
        service_addr = %addr(&listeners.service),
        admin_addr = %addr(&listeners.admin),
        "serving"
    );
    let admin = crate::admin::serve(listeners.admin, shutdown.clone(), metrics);
    let service = run(config, listeners.service, shutdown);
    tokio::pin!(admin, service);
    tokio::select! {
        result = &mut service => {
            result.map_err(Error::Service)?;
            admin.await.map_err(Error::Admin)
        }
        result = &mut admin => {
            result.map_err(Error::Admin)?;
            service.await.map_err(Error::Service)
        }
    }
}
