//! Usage analytics that survive restarts: requests per endpoint and hour (count, client
//! and server errors, latency histogram), requests per signed-in account and hour, and
//! the answer cache's hits and misses per hour. Sync success comes from the sync runs
//! log, which is kept anyway.
//!
//! The request path only adds to an in-memory rollup under one short lock
//! ([`Recorder::record`]); a task writes the rollup to SQLite every
//! `analytics.flush_secs` in one transaction ([`Recorder::flush`]), and once more at
//! shutdown. A crash loses at most one flush interval of counts, never other data.

pub mod report;

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use parking_lot::Mutex;

pub use crate::db::analytics::{Batch, CacheCounts, Rollup};
use crate::db::{Db, DbResult};

/// The counters an answer cache keeps as it serves, read by analytics (per hour) and
/// by `/metrics` (totals).
#[derive(Debug, Default)]
pub struct CacheStats {
    pub hits: std::sync::atomic::AtomicU64,
    pub misses: std::sync::atomic::AtomicU64,
    /// Served past their time-to-live while a refresh ran.
    pub stale_hits: std::sync::atomic::AtomicU64,
}
use crate::domain::histogram;

/// The start of the UTC hour `unix_secs` falls in.
pub fn hour_of(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(3600) * 3600
}

/// What the request path adds to: a short list searched by the route's address (a
/// route template is a `&'static str`, so one pointer comparison finds it), cheaper
/// than hashing the route's text under the lock.
#[derive(Default)]
struct Pending {
    requests: Vec<(i64, &'static str, Rollup)>,
    accounts: HashMap<(i64, i64), u64>,
}

/// Counts requests in memory until the next flush.
pub struct Recorder {
    pending: Mutex<Pending>,
    /// Counts a failed flush could not write, for the next one.
    unwritten: Mutex<Batch>,
    /// The cache counters as last flushed, to write only what happened since.
    cache_seen: Mutex<HashMap<&'static str, CacheCounts>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    pub fn new() -> Self {
        Recorder {
            pending: Mutex::new(Pending::default()),
            unwritten: Mutex::new(Batch::default()),
            cache_seen: Mutex::new(HashMap::new()),
        }
    }

    /// Called by the middleware once per request.
    pub fn record(
        &self,
        unix_secs: i64,
        route: &'static str,
        status: u16,
        micros: u64,
        account: Option<i64>,
    ) {
        let hour = hour_of(unix_secs);
        let bucket = histogram::bucket_of(micros);
        let mut pending = self.pending.lock();
        let found = pending
            .requests
            .iter()
            .rposition(|(h, r, _)| *h == hour && std::ptr::eq(*r, route));
        let index = found.unwrap_or_else(|| {
            pending.requests.push((hour, route, Rollup::default()));
            pending.requests.len() - 1
        });
        let rollup = &mut pending.requests[index].2;
        rollup.requests += 1;
        match status {
            400..=499 => rollup.client_errors += 1,
            500.. => rollup.server_errors += 1,
            _ => {}
        }
        rollup.latency[bucket] += 1;
        if let Some(id) = account {
            *pending.accounts.entry((hour, id)).or_default() += 1;
        }
    }

    /// Takes what was counted, with the cache's counts since the last flush.
    fn take(&self, unix_secs: i64, caches: &[(&'static str, &CacheStats)]) -> Batch {
        let pending = std::mem::take(&mut *self.pending.lock());
        let mut batch = std::mem::take(&mut *self.unwritten.lock());
        for (hour, route, rollup) in pending.requests {
            batch
                .requests
                .entry((hour, route))
                .or_default()
                .add(&rollup);
        }
        for (key, n) in pending.accounts {
            *batch.accounts.entry(key).or_default() += n;
        }
        let mut seen = self.cache_seen.lock();
        for (name, stats) in caches {
            let now = CacheCounts {
                hits: stats.hits.load(Ordering::Relaxed),
                misses: stats.misses.load(Ordering::Relaxed),
                stale_hits: stats.stale_hits.load(Ordering::Relaxed),
            };
            let before = seen.insert(name, now).unwrap_or_default();
            let delta = CacheCounts {
                hits: now.hits.saturating_sub(before.hits),
                misses: now.misses.saturating_sub(before.misses),
                stale_hits: now.stale_hits.saturating_sub(before.stale_hits),
            };
            if !delta.is_empty() {
                batch.cache.push((hour_of(unix_secs), name, delta));
            }
        }
        batch
    }

    /// Writes what was counted in one transaction. When the write fails, the counts go
    /// back into memory for the next flush.
    pub async fn flush(
        &self,
        db: &Db,
        unix_secs: i64,
        caches: &[(&'static str, &CacheStats)],
    ) -> DbResult<()> {
        let batch = self.take(unix_secs, caches);
        if batch.is_empty() {
            return Ok(());
        }
        let batch = std::sync::Arc::new(batch);
        let written = batch.clone();
        let result = db
            .write(move |tx| crate::db::analytics::merge(tx, &written))
            .await;
        if let Err(err) = &result {
            tracing::warn!(error = %err, "usage analytics not written; kept for the next flush");
            if let Ok(batch) = std::sync::Arc::try_unwrap(batch) {
                self.unwritten.lock().absorb(batch);
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_rolled_up_by_hour_and_route() {
        let r = Recorder::new();
        let t = 1_795_000_000; // some moment
        r.record(t, "/api/health", 200, 120, None);
        r.record(t + 1, "/api/health", 404, 80, Some(7));
        r.record(t + 2, "/api/health", 503, 80, Some(7));
        r.record(hour_of(t) + 3600, "/api/health", 200, 80, None);
        let stats = CacheStats::default();
        stats.hits.store(5, Ordering::Relaxed);
        let batch = r.take(t, &[("responses", &stats)]);
        let this_hour = &batch.requests[&(hour_of(t), "/api/health")];
        assert_eq!(
            (
                this_hour.requests,
                this_hour.client_errors,
                this_hour.server_errors
            ),
            (3, 1, 1)
        );
        assert_eq!(
            batch.requests[&(hour_of(t) + 3600, "/api/health")].requests,
            1
        );
        assert_eq!(batch.accounts[&(hour_of(t), 7)], 2);
        assert_eq!(batch.cache[0].2.hits, 5);
        // Taken means gone; the cache counts only what is new.
        stats.hits.store(6, Ordering::Relaxed);
        let again = r.take(t, &[("responses", &stats)]);
        assert!(again.requests.is_empty());
        assert_eq!(again.cache[0].2.hits, 1);
    }

    #[test]
    fn hours_start_on_the_hour_even_before_1970() {
        assert_eq!(hour_of(7199), 3600);
        assert_eq!(hour_of(-1), -3600);
    }
}
