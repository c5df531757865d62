//! Bounds a server's graceful shutdown.
//!
//! hyper, axum and tonic all wait for every open connection to close before
//! their graceful shutdown completes, with no upper bound: one idle keep-alive
//! connection or open health `Watch` stream would hold the process past its
//! grace period, until Kubernetes kills it. This is the bound.

use std::future::Future;

use crate::Shutdown;

/// Runs `server` (a future that serves until `shutdown.stopping()` and then
/// waits for its connections) and returns once it is done or, after stopping,
/// once `shutdown.timeout()` has passed, whichever comes first. In the second
/// case the remaining connections are abandoned and `Ok(false)` is returned.
pub async fn serve_until_drained<F, E>(server: F, shutdown: &Shutdown) -> Result<bool, E>
where
    F: Future<Output = Result<(), E>>,
{
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return result.map(|()| true),
        () = shutdown.stopping() => {}
    }
    match tokio::time::timeout(shutdown.timeout(), server).await {
        Ok(result) => result.map(|()| true),
        Err(_elapsed) => {
            tracing::warn!(
                timeout = ?shutdown.timeout(),
                "connections still open after the shutdown timeout; abandoning them"
            );
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_server_that_never_finishes_is_abandoned_after_the_timeout() {
        let (shutdown, controller) = Shutdown::new(Duration::from_secs(3));
        let never = std::future::pending::<Result<(), ()>>();
        controller.begin(Duration::ZERO);
        let started = tokio::time::Instant::now();
        let drained = serve_until_drained(never, &shutdown).await;
        assert_eq!(drained, Ok(false));
        assert_eq!(started.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test]
    async fn a_server_error_is_returned_before_any_shutdown() {
        let (shutdown, _controller) = Shutdown::new(Duration::from_secs(3));
        let failing = async { Err::<(), _>("bind failed") };
        assert_eq!(
            serve_until_drained(failing, &shutdown).await,
            Err("bind failed")
        );
    }
}
