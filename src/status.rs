//! What the rest of the product knows about syncing: shared, cheap to read.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::RwLock;

use crate::db::sync_runs::SyncRun;
use crate::domain::runs::Circuit;
use crate::upstream::Source;

#[derive(Debug, Clone)]
pub struct AuthFailure {
    pub at: DateTime<Utc>,
    /// Which token failed (a fingerprint, never the token).
    pub fingerprint: String,
    pub message: String,
}

/// A sync that failed for a reason on this machine (the database could not be written:
/// a full disk, say), kept here because such a failure may not be recordable in the
/// database itself.
#[derive(Debug, Clone)]
pub struct LocalFailure {
    /// When syncs began failing this way (the first failure of the streak).
    pub since: DateTime<Utc>,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct SyncStatus {
    pub source: Source,
    pub last_run: Option<SyncRun>,
    pub last_success: Option<SyncRun>,
    /// `last_success.started_at`, parsed once: read on every request.
    pub last_success_at: Option<DateTime<Utc>>,
    pub circuit: Circuit,
    pub auth_failure: Option<AuthFailure>,
    /// Set while syncs fail for a local reason; cleared by the next sync that stores.
    pub local_failure: Option<LocalFailure>,
    /// Why the last scheduled backup failed; cleared by the next that works.
    pub backup_failure: Option<String>,
    /// How long before the token expires it counts as expiring soon.
    pub token_warning: chrono::Duration,
    pub token_expires_at: Option<DateTime<Utc>>,
    /// The leaderboard sync's interval, for deciding staleness.
    pub interval: Duration,
}

pub type SharedStatus = Arc<RwLock<SyncStatus>>;

impl SyncStatus {
    /// The id of the sync run whose data is being served; 0 before any.
    pub fn data_version(&self) -> i64 {
        self.last_success.as_ref().map_or(0, |r| r.id)
    }

    pub fn last_synced_at(&self) -> Option<DateTime<Utc>> {
        self.last_success_at
    }

    /// Records the last successful run (and its start, parsed once).
    pub fn set_last_success(&mut self, run: Option<SyncRun>) {
        self.last_success_at = run.as_ref().and_then(|r| r.started_at.parse().ok());
        self.last_success = run;
    }

    /// Stale: never synced, the last sync did not succeed, or the last success is older
    /// than twice the interval.
    pub fn is_stale(&self, now: DateTime<Utc>) -> bool {
        let Some(last) = self.last_synced_at() else {
            return true;
        };
        let failed = self.local_failure.is_some()
            || self
                .last_run
                .as_ref()
                .is_some_and(|r| r.outcome != crate::domain::runs::RunOutcome::Success);
        let limit = chrono::Duration::from_std(self.interval * 2).unwrap_or(chrono::Duration::MAX);
        failed || now - last > limit
    }

    pub fn token_expires_soon(&self, now: DateTime<Utc>) -> bool {
        self.token_expires_at
            .is_some_and(|exp| crate::upstream::token::expires_soon(exp, now, self.token_warning))
    }
}

/// The time between two ticks of a cron expression (validated at start-up).
pub fn cron_interval(expression: &str) -> Duration {
    use std::str::FromStr;
    let Ok(schedule) = cron::Schedule::from_str(expression) else {
        return Duration::from_secs(300);
    };
    let mut ticks = schedule.upcoming(Utc).take(2);
    match (ticks.next(), ticks.next()) {
        (Some(a), Some(b)) => (b - a).to_std().unwrap_or(Duration::from_secs(300)),
        _ => Duration::from_secs(300),
    }
}

/// What started a sync run, as recorded in `sync_runs.trigger`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Schedule,
    MonthEnd,
    Forced,
    Cli,
    Startup,
    /// Simulated history replayed on a fresh demo install.
    Backfill,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::MonthEnd => "month_end",
            Trigger::Forced => "forced",
            Trigger::Cli => "cli",
            Trigger::Startup => "startup",
            Trigger::Backfill => "backfill",
        }
    }
}
