//! Unary calls with a deadline, retried where that is safe.
//!
//! Every call has a deadline, sent to the server as `grpc-timeout`. A call is
//! retried only when that is safe and useful: UNAVAILABLE (nothing was
//! processed) and the CANCELLED a draining server's connection produces, at
//! most twice, with jittered backoff, and only while the deadline allows.
//! Each attempt has its own span and metric sample; a call that fails after
//! its last attempt is logged once, here.
//!
//! A refused TLS handshake is not retried (a certificate does not fix
//! itself within a deadline), and its status says why in words. tonic
//! reports it as `transport error` or, when the server's alert came after
//! the request was sent, as `connection closed`; so on such a failure of an
//! https upstream the client asks the server once itself
//! ([`tls::HandshakeProbe`]).

use std::future::Future;
use std::time::Duration;

use rand::RngExt as _;
use telemetry::RetriedCall;
use tokio::time::Instant;
use tonic::{Code, Status};

/// Retries after the first attempt, at most.
const MAX_RETRIES: u32 = 2;

/// The first backoff's upper bound; it doubles per retry (full jitter).
const BASE_BACKOFF: Duration = Duration::from_millis(20);

/// An attempt needs at least this much of the deadline left to be worth it.
const MIN_ATTEMPT: Duration = Duration::from_millis(10);

/// The most of a call's deadline that finding out why a handshake failed
/// may take.
const PROBE_BUDGET: Duration = Duration::from_secs(1);

/// A generated client over the shared channel, with the deadline of its
/// calls. Cheap to clone; clone it into every handler.
#[derive(Debug, Clone)]
pub struct Client<C> {
    client: C,
    deadline: Duration,
    probe: Option<tls::HandshakeProbe>,
}

impl<C> Client<C> {
    /// `client`, whose calls get `deadline` each, retries included.
    pub fn new(client: C, deadline: Duration) -> Client<C> {
        Client {
            client,
            deadline,
            probe: None,
        }
    }

    /// Explains failed TLS handshakes with `probe`.
    pub(crate) fn with_probe(mut self, probe: Option<tls::HandshakeProbe>) -> Client<C> {
        self.probe = probe;
        self
    }

    /// The budget of one call, retries included.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// The generated client itself, for calls [`Client::call`] does not
    /// make (streaming ones): they get the channel's balancing, TLS and
    /// telemetry, but no retries, and set their own deadline.
    pub fn generated(&self) -> &C {
        &self.client
    }
}

impl<C: Clone> Client<C> {
    /// Makes one unary call within the deadline, retrying where safe.
    /// `attempt` makes one attempt with a clone of the client:
    ///
    /// ```ignore
    /// let reply = client
    ///     .call(request, |mut client, request| async move { client.say_hello(request).await })
    ///     .await?;
    /// ```
    pub async fn call<Req, Resp, F, Fut>(
        &self,
        request: Req,
        mut attempt: F,
    ) -> Result<Resp, Status>
    where
        Req: Clone,
        F: FnMut(C, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, Status>>,
    {
        let started = Instant::now();
        // The telemetry layer logs a failed attempt at DEBUG only; the
        // call's failure is logged once, below.
        let retried = RetriedCall::default();
        let mut retries = 0;
        let status = loop {
            let left = self.deadline.saturating_sub(started.elapsed());
            let mut message = tonic::Request::new(request.clone());
            message.set_timeout(left);
            message.extensions_mut().insert(retried.clone());
            // tonic's own timer starts once a connection takes the request;
            // this one also bounds the wait for an instance to send it to,
            // which lasts as long as the upstream's name resolves to none.
            let status = match tokio::time::timeout(left, attempt(self.client.clone(), message))
                .await
            {
                Ok(Ok(response)) => return Ok(response.into_inner()),
                // tonic answers the expiry of the `grpc-timeout` it was given
                // with CANCELLED; a call whose deadline has passed was cut
                // off by it, as its span and metric sample say too.
                Ok(Err(status))
                    if status.code() == Code::Cancelled && started.elapsed() >= self.deadline =>
                {
                    Status::deadline_exceeded(status.message())
                }
                Ok(Err(status)) => status,
                Err(_elapsed) => Status::deadline_exceeded(
                    "no answer within the deadline; no instance of the upstream may be known",
                ),
            };
            if let Some(refused) = self.handshake_refusal(&status, started).await {
                break Status::unavailable(refused);
            }
            if !retryable(status.code()) || retries >= MAX_RETRIES {
                break status;
            }
            let cap = BASE_BACKOFF * 2u32.pow(retries);
            let backoff = cap.mul_f64(rand::rng().random::<f64>());
            if self.deadline.saturating_sub(started.elapsed()) < backoff + MIN_ATTEMPT {
                break status;
            }
            retries += 1;
            tracing::debug!(code = ?status.code(), retries, ?backoff, "retrying a gRPC call");
            tokio::time::sleep(backoff).await;
        };
        retried.log_failure(&status, retries + 1);
        Err(status)
    }
}

impl<C> Client<C> {
    /// Why the TLS handshake failed, if that is why `status` came: from its
    /// sources, or else, for a transport failure, from the probe.
    async fn handshake_refusal(&self, status: &Status, started: Instant) -> Option<String> {
        if let Some(found) = tls::handshake_failure(status) {
            return Some(found);
        }
        let probe = self.probe.as_ref()?;
        if !from_transport(status) {
            return None;
        }
        let budget = self
            .deadline
            .saturating_sub(started.elapsed())
            .min(PROBE_BUDGET);
        probe.diagnose(budget).await
    }
}

/// Whether the connection, not the server's answer, failed the call.
fn from_transport(status: &Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        if error.is::<tonic::transport::Error>() {
            return true;
        }
        source = error.source();
    }
    false
}

fn retryable(code: Code) -> bool {
    matches!(code, Code::Unavailable | Code::Cancelled)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    async fn count_attempts(deadline: Duration, answers: Vec<Code>) -> (Result<u32, Status>, u32) {
        let attempts = Arc::new(AtomicU32::new(0));
        let client = Client::new(attempts.clone(), deadline);
        let result = client
            .call((), |attempts, _request| {
                let answer = answers
                    .get(attempts.fetch_add(1, Ordering::SeqCst) as usize)
                    .copied();
                async move {
                    match answer {
                        Some(Code::Ok) | None => Ok(tonic::Response::new(7)),
                        Some(code) => Err(Status::new(code, "scripted")),
                    }
                }
            })
            .await;
        (result, attempts.load(Ordering::SeqCst))
    }

    #[tokio::test(start_paused = true)]
    async fn unavailable_and_cancelled_are_retried_twice_at_most() {
        let (result, attempts) = count_attempts(
            Duration::from_secs(1),
            vec![Code::Unavailable, Code::Cancelled],
        )
        .await;
        assert_eq!((result.unwrap(), attempts), (7, 3));

        let (result, attempts) =
            count_attempts(Duration::from_secs(1), vec![Code::Unavailable; 5]).await;
        assert_eq!(
            (result.unwrap_err().code(), attempts),
            (Code::Unavailable, 3)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn other_codes_are_never_retried() {
        for code in [
            Code::InvalidArgument,
            Code::NotFound,
            Code::DeadlineExceeded,
            Code::Internal,
        ] {
            let (result, attempts) = count_attempts(Duration::from_secs(1), vec![code]).await;
            assert_eq!((result.unwrap_err().code(), attempts), (code, 1));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancel_at_the_deadline_is_the_deadline_and_is_not_retried() {
        let client = Client::new((), Duration::from_millis(100));
        let mut attempts = 0;
        let status = client
            .call((), |(), _request| {
                attempts += 1;
                async {
                    // As tonic's own timer answers when `grpc-timeout` runs out.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Err::<tonic::Response<()>, _>(Status::cancelled("Timeout expired"))
                }
            })
            .await
            .unwrap_err();
        assert_eq!((status.code(), attempts), (Code::DeadlineExceeded, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_that_never_answers_ends_at_the_deadline() {
        // As a call waits while no instance of the upstream is known.
        let client = Client::new((), Duration::from_millis(100));
        let started = Instant::now();
        let status = client
            .call((), |(), _request| {
                std::future::pending::<Result<tonic::Response<()>, Status>>()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::DeadlineExceeded);
        assert_eq!(started.elapsed(), Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn no_retry_starts_without_time_left_for_it() {
        let (result, attempts) =
            count_attempts(Duration::from_millis(5), vec![Code::Unavailable; 5]).await;
        assert_eq!(
            (result.unwrap_err().code(), attempts),
            (Code::Unavailable, 1)
        );
    }
}
