//! The outgoing limit: at most N upstream requests in any 60 seconds, whoever asks.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::StopFlag;

const WINDOW: Duration = Duration::from_secs(60);

pub struct RateLimiter {
    per_window: usize,
    sent: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_window: per_minute.max(1) as usize,
            sent: Mutex::new(VecDeque::new()),
        }
    }

    /// Takes a slot now, or says how long until one frees up.
    pub fn try_acquire(&self, now: Instant) -> Result<(), Duration> {
        let mut sent = self.sent.lock();
        while sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            sent.pop_front();
        }
        if sent.len() < self.per_window {
            sent.push_back(now);
            return Ok(());
        }
        let oldest = *sent.front().expect("full window is not empty");
        Err(WINDOW - now.duration_since(oldest))
    }

    /// Waits for a slot when one frees up within `max_wait`; otherwise returns the wait
    /// that would have been needed, without taking a slot.
    pub fn acquire(&self, max_wait: Duration, stop: &StopFlag) -> Result<(), Duration> {
        match self.try_acquire(Instant::now()) {
            Ok(()) => Ok(()),
            Err(wait) if wait <= max_wait => {
                if !stop.sleep(wait) {
                    return Err(wait);
                }
                self.try_acquire(Instant::now())
            }
            Err(wait) => Err(wait),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_more_than_the_limit_pass_in_any_minute() {
        let limiter = RateLimiter::new(3);
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(limiter.try_acquire(t0 + Duration::from_secs(i)).is_ok());
        }
        let wait = limiter
            .try_acquire(t0 + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(limiter.try_acquire(t0 + Duration::from_secs(60)).is_ok());
        assert!(limiter.try_acquire(t0 + Duration::from_secs(60)).is_err());
    }
}
