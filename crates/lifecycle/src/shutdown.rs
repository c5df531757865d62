//! The shutdown plan: one drain sequence per process, observed by every
//! server in it.
//!
//! The sequence is the one Kubernetes needs for a rollout without errors:
//! readiness fails first (`draining`), the process keeps serving for a delay
//! while endpoints and load balancers catch up, then it stops accepting
//! (`stopping`) and gives in-flight requests a bounded time to finish.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// What a server observes of the shutdown plan. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown {
    draining: CancellationToken,
    stopping: CancellationToken,
    timeout: Duration,
}

/// Starts the drain. Held by whoever decides the process should stop: the
/// signal handler in a binary, or a test.
#[derive(Debug, Clone)]
pub struct ShutdownController {
    shutdown: Shutdown,
}

impl Shutdown {
    /// Makes a plan in which in-flight work gets at most `timeout` to finish
    /// once the servers stop accepting.
    pub fn new(timeout: Duration) -> (Shutdown, ShutdownController) {
        let shutdown = Shutdown {
            draining: CancellationToken::new(),
            stopping: CancellationToken::new(),
            timeout,
        };
        let controller = ShutdownController {
            shutdown: shutdown.clone(),
        };
        (shutdown, controller)
    }

    /// True once the drain has begun; readiness probes fail from then on.
    pub fn is_draining(&self) -> bool {
        self.draining.is_cancelled()
    }

    /// Resolves when the drain begins.
    pub async fn draining(&self) {
        self.draining.cancelled().await;
    }

    /// Resolves when servers must stop accepting new connections.
    pub async fn stopping(&self) {
        self.stopping.cancelled().await;
    }

    /// How long in-flight requests may run once servers stop accepting.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

impl ShutdownController {
    /// Begins the drain: readiness fails now, and servers stop accepting
    /// after `delay`. Calling it again changes nothing.
    pub fn begin(&self, delay: Duration) {
        if self.shutdown.draining.is_cancelled() {
            return;
        }
        self.shutdown.draining.cancel();
        let stopping = self.shutdown.stopping.clone();
        if delay.is_zero() {
            stopping.cancel();
        } else {
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                stopping.cancel();
            });
        }
    }

    /// Stops accepting at once, for a drain already begun or not.
    pub fn stop_now(&self) {
        self.shutdown.draining.cancel();
        self.shutdown.stopping.cancel();
    }

    /// The plan this controller drives.
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn begin_fails_readiness_at_once_and_stops_after_the_delay() {
        let (shutdown, controller) = Shutdown::new(Duration::from_secs(10));
        assert!(!shutdown.is_draining());

        controller.begin(Duration::from_secs(5));
        assert!(shutdown.is_draining());
        assert!(!shutdown.stopping.is_cancelled());

        tokio::time::sleep(Duration::from_millis(4_900)).await;
        assert!(!shutdown.stopping.is_cancelled());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(shutdown.stopping.is_cancelled());
    }

    #[tokio::test]
    async fn begin_without_delay_stops_at_once() {
        let (shutdown, controller) = Shutdown::new(Duration::from_secs(1));
        controller.begin(Duration::ZERO);
        assert!(shutdown.is_draining());
        assert!(shutdown.stopping.is_cancelled());
    }
}
