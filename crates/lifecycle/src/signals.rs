//! Turns SIGTERM and SIGINT into the drain sequence.
//!
//! SIGTERM is how Kubernetes asks a pod to stop, so it gets the full sequence
//! with the readiness-propagation delay. SIGINT (Ctrl+C) comes from a person
//! at a terminal, who gains nothing from the delay. A second signal of either
//! kind means "now": the process exits at once.

use std::time::Duration;

use futures_util::StreamExt as _;
use signal_hook::consts::signal::{SIGINT, SIGTERM};
use signal_hook_tokio::Signals;

use crate::ShutdownController;

/// Exit code for a second signal, as a shell reports a process killed by
/// SIGINT/SIGTERM (128 + signal number).
fn exit_code(signal: i32) -> i32 {
    128 + signal
}

/// Registers the handlers and spawns the task that drives `controller`.
/// Registration happens before this returns, so no signal is missed.
pub fn drain_on_signals(controller: ShutdownController, delay: Duration) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGTERM, SIGINT])?;
    tokio::spawn(async move {
        let mut received = false;
        while let Some(signal) = signals.next().await {
            if received {
                tracing::warn!(signal, "second signal received; exiting at once");
                std::process::exit(exit_code(signal));
            }
            received = true;
            let delay = if signal == SIGTERM {
                delay
            } else {
                Duration::ZERO
            };
            tracing::info!(signal, ?delay, "signal received; draining");
            controller.begin(delay);
        }
    });
    Ok(())
}
