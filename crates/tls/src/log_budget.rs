//! A budget of log lines per time window, so that a client refused over
//! and over (a scanner, a misconfigured service in a retry loop) cannot
//! flood the log. Every refusal is still counted in a metric; the log line
//! that follows a quiet spell says how many lines were left out.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most `lines` log lines per `window`.
#[derive(Debug)]
pub(crate) struct LogBudget {
    lines: u32,
    window: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    window_start: Option<Instant>,
    written: u32,
    left_out: u64,
}

impl LogBudget {
    pub(crate) const fn new(lines: u32, window: Duration) -> LogBudget {
        LogBudget {
            lines,
            window,
            state: Mutex::new(State {
                window_start: None,
                written: 0,
                left_out: 0,
            }),
        }
    }

    /// Whether a line may be written now: `Some(n)` with the number of lines
    /// left out since the last one written, or `None` to leave this one out.
    pub(crate) fn take(&self) -> Option<u64> {
        self.take_at(Instant::now())
    }

    fn take_at(&self, now: Instant) -> Option<u64> {
        // A poisoned lock only means another thread panicked mid-update of
        // three counters; they are still usable.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let expired = state
            .window_start
            .is_none_or(|start| now.saturating_duration_since(start) >= self.window);
        if expired {
            state.window_start = Some(now);
            state.written = 0;
        }
        if state.written < self.lines {
            state.written += 1;
            Some(std::mem::take(&mut state.left_out))
        } else {
            state.left_out += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_past_the_budget_are_left_out_and_reported_by_the_next_line() {
        let budget = LogBudget::new(2, Duration::from_secs(10));
        let start = Instant::now();
        assert_eq!(budget.take_at(start), Some(0));
        assert_eq!(budget.take_at(start + Duration::from_secs(1)), Some(0));
        assert_eq!(budget.take_at(start + Duration::from_secs(2)), None);
        assert_eq!(budget.take_at(start + Duration::from_secs(9)), None);
        // A new window: the first line tells how many were left out.
        assert_eq!(budget.take_at(start + Duration::from_secs(10)), Some(2));
        assert_eq!(budget.take_at(start + Duration::from_secs(11)), Some(0));
        assert_eq!(budget.take_at(start + Duration::from_secs(12)), None);
    }
}
