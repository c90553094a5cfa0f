//! The circuit breaker: after repeated failed syncs, stop calling the upstream for a
//! cool-down, then let one request through (half-open) to decide. Time is the
//! application's clock, so tests move it by hand.

use std::time::Duration;

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed,
    Open { until: DateTime<Utc> },
    HalfOpen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Call as usual, retries allowed.
    Call,
    /// The cool-down is over: one request, no retries.
    Trial,
    /// Open: do not call for this long.
    Wait(Duration),
}

#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    failures: u32,
    state: State,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Breaker {
            threshold: threshold.max(1),
            cooldown,
            failures: 0,
            state: State::Closed,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn permit(&mut self, now: DateTime<Utc>) -> Permit {
        match self.state {
            State::Closed => Permit::Call,
            State::HalfOpen => Permit::Trial,
            State::Open { until } if now < until => {
                Permit::Wait((until - now).to_std().unwrap_or_default())
            }
            State::Open { .. } => {
                self.state = State::HalfOpen;
                Permit::Trial
            }
        }
    }

    pub fn record(&mut self, success: bool, now: DateTime<Utc>) {
        if success {
            self.failures = 0;
            self.state = State::Closed;
            return;
        }
        self.failures += 1;
        if self.state == State::HalfOpen || self.failures >= self.threshold {
            self.state = State::Open {
                until: now + chrono::Duration::from_std(self.cooldown).unwrap_or_default(),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_opens_after_the_threshold_half_opens_after_the_cooldown_and_closes_on_success() {
        let t0: DateTime<Utc> = "2026-11-30T23:00:00Z".parse().unwrap();
        let s = |n: i64| chrono::Duration::seconds(n);
        let mut b = Breaker::new(3, Duration::from_secs(60));
        for _ in 0..2 {
            b.record(false, t0);
            assert_eq!(b.permit(t0), Permit::Call);
        }
        b.record(false, t0);
        assert_eq!(b.permit(t0 + s(10)), Permit::Wait(Duration::from_secs(50)));
        assert_eq!(b.permit(t0 + s(60)), Permit::Trial);
        b.record(false, t0 + s(60));
        assert!(
            matches!(b.permit(t0 + s(61)), Permit::Wait(_)),
            "a failed trial reopens"
        );
        assert_eq!(b.permit(t0 + s(120)), Permit::Trial);
        b.record(true, t0 + s(120));
        assert_eq!(b.state(), State::Closed);
        b.record(false, t0 + s(121));
        assert_eq!(b.permit(t0 + s(121)), Permit::Call, "the count restarted");
    }
}
