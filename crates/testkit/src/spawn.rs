//! Any kit service, in-process on loopback: the same `kit::serve` that the
//! binary runs, on `127.0.0.1:0`, with its shutdown handle and the metrics
//! its admin port renders.

use std::ffi::OsString;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use kit::lifecycle::{Shutdown, ShutdownController};
use kit::telemetry::{Metrics, ServiceInfo, Setup, Telemetry};
use kit::{Listeners, ServiceConfig};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How long in-flight work gets once a test stops a service.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// A service running in this process, and the handles to reach and stop it.
pub struct Spawned<E: std::error::Error + 'static> {
    /// The service's own (gRPC or HTTP) address.
    pub addr: SocketAddr,
    /// The admin server: `/healthz`, `/readyz`, `/metrics`.
    pub admin_addr: SocketAddr,
    /// Starts the drain, as a signal would.
    pub controller: ShutdownController,
    /// The process's metrics, as `/metrics` renders them.
    pub metrics: Metrics,
    /// The running service; its result once it stops.
    pub server: JoinHandle<Result<(), kit::Error<E>>>,
}

/// Starts the service whose `run` is given, configured by `flags` (and the
/// environment) as its binary would be, on two fresh loopback ports.
pub async fn spawn<C, F, Fut, E, I, T>(run: F, flags: I) -> Spawned<E>
where
    C: ServiceConfig,
    F: FnOnce(C, TcpListener, Shutdown) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::error::Error + Send + 'static,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let metrics = start_telemetry().metrics();
    let name = OsString::from(C::command().get_name());
    let args = std::iter::once(name).chain(flags.into_iter().map(Into::into));
    let config = C::try_parse_from(args).unwrap_or_else(|e| panic!("bad test flags: {e}"));
    let listeners = Listeners {
        service: TcpListener::bind("127.0.0.1:0").await.unwrap(),
        admin: TcpListener::bind("127.0.0.1:0").await.unwrap(),
    };
    let addr = listeners.service.local_addr().unwrap();
    let admin_addr = listeners.admin.local_addr().unwrap();
    let (shutdown, controller) = Shutdown::new(SHUTDOWN_TIMEOUT);
    let server = tokio::spawn(kit::serve(
        config,
        listeners,
        shutdown,
        metrics.clone(),
        run,
    ));
    Spawned {
        addr,
        admin_addr,
        controller,
        metrics,
        server,
    }
}

impl<E: std::error::Error + 'static> Spawned<E> {
    /// Stops at once and waits (bounded) for the service to return.
    pub async fn stop(self) {
        self.controller.stop_now();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.server).await;
    }

    /// The Prometheus exposition, as the admin port serves it.
    pub fn render_metrics(&self) -> String {
        self.metrics.render()
    }
}

/// Starts this test process's telemetry once, as `kit::main` does in a
/// binary: the subscriber, the Prometheus recorder and the tracer the
/// services' layers take. Log lines go to a sink unless `TEST_LOG=1`.
pub fn start_telemetry() -> &'static Telemetry {
    static TELEMETRY: OnceLock<Telemetry> = OnceLock::new();
    TELEMETRY.get_or_init(|| {
        let service = ServiceInfo {
            name: "test".to_owned(),
            version: "0".to_owned(),
        };
        let setup = Setup::new(service, "info");
        let setup = if std::env::var_os("TEST_LOG").is_some() {
            setup.log_writer(tracing_subscriber::fmt::TestWriter::new())
        } else {
            setup.log_writer(std::io::sink)
        };
        setup.init().expect(
            "telemetry starts once per test process, before anything else installs a subscriber",
        )
    })
}
