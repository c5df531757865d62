//! The `recommendations` binary: parse config, start telemetry, bind, and hand
//! over to the library. Everything testable lives in `lib.rs`.

use std::process::ExitCode;

use anyhow::Context as _;
use recommendations::{Config, Listeners};

#[tokio::main]
async fn main() -> ExitCode {
    let config: Config = lifecycle::parse_or_exit();
    if let Some(lifecycle::healthcheck::Command::Healthcheck) = config.command {
        lifecycle::healthcheck::run_and_exit(config.admin_addr);
    }
    match serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line, with every cause, for the operator reading the log.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let telemetry = telemetry::init(telemetry::ServiceInfo {
        name: "recommendations",
        version: env!("CARGO_PKG_VERSION"),
    })
    .context("failed to start telemetry")?;
    let listeners = Listeners::bind(&config).await.with_context(|| {
        format!(
            "failed to bind {} or {}",
            config.grpc_addr, config.admin_addr
        )
    })?;
    let (shutdown, controller) = lifecycle::Shutdown::new(config.shutdown.shutdown_timeout);
    lifecycle::signals::drain_on_signals(controller, config.shutdown.shutdown_delay)
        .context("failed to install signal handlers")?;
    let result = recommendations::run(config, listeners, shutdown, telemetry.metrics()).await;
    tracing::info!("recommendations stopped; flushing telemetry");
    telemetry.shutdown();
    result?;
    Ok(())
}
