//! Where leaderboards come from: the Goated.com API (`client`), or the built-in
//! simulator (`demo`) behind the same interface, so everything downstream runs the same.

pub mod backoff;
pub mod client;
pub mod demo;
pub mod ratelimit;
pub mod token;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use crate::domain::runs::ErrorClass;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Live,
    Demo,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Live => "live",
            Source::Demo => "demo",
        }
    }
}

/// A leaderboard body as it arrived, before validation.
#[derive(Debug)]
pub struct Fetched {
    pub body: Vec<u8>,
    pub http_status: Option<u16>,
    pub attempts: u32,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct FetchError {
    pub class: ErrorClass,
    pub message: String,
    pub http_status: Option<u16>,
    pub attempts: u32,
}

pub trait LeaderboardSource: Send {
    /// One leaderboard. `single_attempt` forbids retries (a half-open circuit's trial).
    fn fetch(&mut self, single_attempt: bool) -> Result<Fetched, FetchError>;
}

/// A stop flag that long waits check, so shutdown never waits out a backoff.
#[derive(Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Sleeps for `duration` unless stopped first; returns false when stopped.
    pub fn sleep(&self, duration: Duration) -> bool {
        let slice = Duration::from_millis(50);
        let deadline = std::time::Instant::now() + duration;
        loop {
            if self.is_stopped() {
                return false;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(slice));
        }
    }
}
