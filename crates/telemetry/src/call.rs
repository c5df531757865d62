//! One call in flight, recorded exactly once however it ends: with an
//! answer, with an error, or dropped half-way, when a deadline cut it off,
//! the client reset the stream or hung up, or the caller stopped waiting.
//!
//! Every layer keeps its call in a [`Call`]. The protocol's [`Recorder`]
//! says what to record; the guard owns the span and the clock, and its
//! `Drop` records a call that never finished as abandoned. So no way of
//! ending a call can skip its metric sample, its span or its log line.

use std::time::{Duration, Instant};

use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::{Context, ContextGuard};

/// What one protocol records about a call.
pub(crate) trait Recorder {
    /// How a call ended: a gRPC status, an HTTP response status.
    type Outcome;

    /// What a call that was dropped before it finished counts as.
    fn abandoned(&self, elapsed: Duration) -> Self::Outcome;

    /// Records the outcome: the metric sample, the span's attributes and
    /// status, and any log line, which must run inside `cx` to carry the
    /// call's trace id. The guard ends the span afterwards.
    fn record(&self, outcome: Self::Outcome, elapsed: Duration, cx: &Context);
}

/// See the module docs.
pub(crate) struct Call<R: Recorder> {
    recorder: R,
    /// The context that holds the call's span.
    cx: Context,
    start: Instant,
    recorded: bool,
}

impl<R: Recorder> Call<R> {
    /// Starts the clock of a call whose span `cx` holds.
    pub(crate) fn start(recorder: R, cx: Context) -> Call<R> {
        Call {
            recorder,
            cx,
            start: Instant::now(),
            recorded: false,
        }
    }

    /// The context that holds the call's span, for the call to run in.
    pub(crate) fn context(&self) -> &Context {
        &self.cx
    }

    /// Makes the call's span the current context until the guard drops.
    pub(crate) fn attach(&self) -> ContextGuard {
        self.cx.clone().attach()
    }

    /// Records how the call ended.
    pub(crate) fn finish(mut self, outcome: R::Outcome) {
        self.record(outcome);
    }

    fn record(&mut self, outcome: R::Outcome) {
        self.recorded = true;
        self.recorder
            .record(outcome, self.start.elapsed(), &self.cx);
        self.cx.span().end();
    }
}

impl<R: Recorder> Drop for Call<R> {
    fn drop(&mut self) {
        if !self.recorded {
            let outcome = self.recorder.abandoned(self.start.elapsed());
            self.record(outcome);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Records outcomes into a shared list.
    #[derive(Default, Clone)]
    struct Outcomes(Arc<Mutex<Vec<&'static str>>>);

    impl Recorder for Outcomes {
        type Outcome = &'static str;

        fn abandoned(&self, _: Duration) -> &'static str {
            "abandoned"
        }

        fn record(&self, outcome: &'static str, _: Duration, _: &Context) {
            self.0.lock().unwrap().push(outcome);
        }
    }

    #[test]
    fn a_finished_call_is_recorded_once_with_its_outcome() {
        let outcomes = Outcomes::default();
        Call::start(outcomes.clone(), Context::new()).finish("ok");
        assert_eq!(*outcomes.0.lock().unwrap(), ["ok"]);
    }

    #[test]
    fn a_call_dropped_before_it_finished_is_recorded_once_as_abandoned() {
        let outcomes = Outcomes::default();
        drop(Call::start(outcomes.clone(), Context::new()));
        assert_eq!(*outcomes.0.lock().unwrap(), ["abandoned"]);
    }
}
