//! Time as the product sees it. Tests swap in a clock they move by hand, so month
//! boundaries can be crossed in milliseconds.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use parking_lot::Mutex;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Seconds since the Unix epoch: what analytics stamps every request with.
    fn timestamp(&self) -> i64 {
        self.now().timestamp()
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    /// Without building a date: chrono's calendar arithmetic was most of the cost of
    /// stamping a request.
    fn timestamp(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }
}

/// A clock that stands still until moved; shared by cloning.
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock(Arc::new(Mutex::new(start)))
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock() = to;
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_stamps_the_second_it_reads() {
        let before = Utc::now().timestamp();
        let stamp = SystemClock.timestamp();
        let after = Utc::now().timestamp();
        assert!(
            (before..=after).contains(&stamp),
            "{before} {stamp} {after}"
        );
    }
}
