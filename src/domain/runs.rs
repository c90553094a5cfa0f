//! How a sync run ends, and why one failed: states, not strings. Text only at the edges
//! (the `sync_runs` table, JSON, metrics labels), through `as_str` and `parse`.

/// A sync run's state in the log of runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunOutcome {
    /// Started, not finished (a crash leaves it so until the next start marks it).
    #[default]
    Running,
    /// The answer was stored.
    Success,
    /// No usable answer: see the error class.
    Failed,
    /// An answer far smaller than the last good one: not applied.
    Suspect,
    /// Not run: the breaker was open, or the answer could not be stored beside live data.
    Skipped,
    /// The process stopped while it ran.
    Interrupted,
}

impl RunOutcome {
    pub const ALL: [RunOutcome; 6] = [
        RunOutcome::Running,
        RunOutcome::Success,
        RunOutcome::Failed,
        RunOutcome::Suspect,
        RunOutcome::Skipped,
        RunOutcome::Interrupted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Running => "running",
            RunOutcome::Success => "success",
            RunOutcome::Failed => "failed",
            RunOutcome::Suspect => "suspect",
            RunOutcome::Skipped => "skipped",
            RunOutcome::Interrupted => "interrupted",
        }
    }

    pub fn parse(text: &str) -> Option<RunOutcome> {
        Self::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

/// The upstream circuit breaker as the rest of the product sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Circuit {
    /// Calls go out as usual.
    #[default]
    Closed,
    /// Repeated failures: no call goes out until the cool-down ends.
    Open,
    /// The cool-down ended: the next call is a single trial.
    HalfOpen,
}

impl Circuit {
    pub fn as_str(self) -> &'static str {
        match self {
            Circuit::Closed => "closed",
            Circuit::Open => "open",
            Circuit::HalfOpen => "half_open",
        }
    }
}

/// Why a fetch failed, which decides what happens next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Network, timeout, 5xx: retried with backoff.
    Temporary,
    /// 401/403, or no token: the token is re-read once, then syncing waits for a new one.
    Authentication,
    /// 429 from the upstream, or our own outgoing limit reached.
    RateLimit,
    /// Other 4xx and unusable requests: not retried.
    Permanent,
    /// The body is not a leaderboard.
    Payload,
    /// No request was made: the circuit breaker is open after repeated failures.
    CircuitOpen,
}

impl ErrorClass {
    pub const ALL: [ErrorClass; 6] = [
        ErrorClass::Temporary,
        ErrorClass::Authentication,
        ErrorClass::RateLimit,
        ErrorClass::Permanent,
        ErrorClass::Payload,
        ErrorClass::CircuitOpen,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Temporary => "temporary",
            ErrorClass::Authentication => "authentication",
            ErrorClass::RateLimit => "rate_limit",
            ErrorClass::Permanent => "permanent",
            ErrorClass::Payload => "payload",
            ErrorClass::CircuitOpen => "circuit_open",
        }
    }

    pub fn parse(text: &str) -> Option<ErrorClass> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

impl std::fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text is what the database and the API hold: each state has its own, and
    /// reads back as itself.
    #[test]
    fn every_state_has_its_own_text_and_reads_back() {
        for o in RunOutcome::ALL {
            assert_eq!(RunOutcome::parse(o.as_str()), Some(o));
        }
        for c in ErrorClass::ALL {
            assert_eq!(ErrorClass::parse(c.as_str()), Some(c));
        }
        assert_eq!(RunOutcome::parse("Success"), None);
        assert_eq!(ErrorClass::parse(""), None);
    }
}
