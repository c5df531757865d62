//! Fault injection, off by default: added latency and a share of calls
//! answered UNAVAILABLE, so dashboards, alerts, the marketplace's degraded
//! page and the drain can be demonstrated and tested on demand.

use std::time::Duration;

use rand::RngExt as _;

use crate::error::RecommendError;

/// What to inject into each Recommend call.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// Added to every call (`FAULT_LATENCY`).
    pub latency: Option<Duration>,
    /// The share of calls answered UNAVAILABLE, 0 to 1 (`FAULT_ERROR_RATE`).
    pub error_rate: f64,
}

impl Faults {
    pub fn is_active(&self) -> bool {
        self.latency.is_some() || self.error_rate > 0.0
    }

    /// Waits out the latency (without blocking the runtime), then fails the
    /// chosen share of calls.
    pub async fn inject(&self) -> Result<(), RecommendError> {
        if let Some(latency) = self.latency {
            tokio::time::sleep(latency).await;
        }
        if self.error_rate > 0.0 && rand::rng().random::<f64>() < self.error_rate {
            return Err(RecommendError::InjectedFault);
        }
        Ok(())
    }
}

/// Parses `FAULT_ERROR_RATE`: a number from 0 to 1.
pub fn parse_error_rate(value: &str) -> Result<f64, String> {
    let rate: f64 = value
        .parse()
        .map_err(|_| format!("{value:?} is not a number"))?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("{rate} is outside 0 to 1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_rates_must_be_fractions() {
        assert_eq!(parse_error_rate("0"), Ok(0.0));
        assert_eq!(parse_error_rate("0.25"), Ok(0.25));
        assert_eq!(parse_error_rate("1"), Ok(1.0));
        for bad in ["-0.1", "1.5", "half", "NaN"] {
            assert!(parse_error_rate(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_rate_of_one_fails_every_call_and_zero_none() {
        let always = Faults {
            latency: None,
            error_rate: 1.0,
        };
        let never = Faults::default();
        for _ in 0..20 {
            assert_eq!(always.inject().await, Err(RecommendError::InjectedFault));
            assert_eq!(never.inject().await, Ok(()));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn latency_is_waited_out_asynchronously() {
        let slow = Faults {
            latency: Some(Duration::from_secs(2)),
            error_rate: 0.0,
        };
        let started = tokio::time::Instant::now();
        slow.inject().await.unwrap();
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }
}
