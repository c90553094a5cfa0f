//! Usage analytics rollups (see `migrations/002_analytics.sql`; the recorder that fills
//! them is the `analytics` module): the row types, and their reads and writes.

use rusqlite::{Connection, OptionalExtension, params};

use std::collections::HashMap;

use super::DbResult;
use crate::domain::histogram::{self, Histogram};

/// One endpoint's requests in one hour.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollup {
    pub requests: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    pub latency: Histogram,
}

impl Default for Rollup {
    fn default() -> Self {
        Rollup {
            requests: 0,
            client_errors: 0,
            server_errors: 0,
            latency: [0; histogram::BUCKETS],
        }
    }
}

impl Rollup {
    pub fn add(&mut self, other: &Rollup) {
        self.requests += other.requests;
        self.client_errors += other.client_errors;
        self.server_errors += other.server_errors;
        histogram::add(&mut self.latency, &other.latency);
    }
}

/// The cache's counts over one interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheCounts {
    pub hits: u64,
    pub misses: u64,
    pub stale_hits: u64,
}

impl CacheCounts {
    pub fn is_empty(&self) -> bool {
        self.hits == 0 && self.misses == 0 && self.stale_hits == 0
    }
}

/// What one flush writes. `hour` values are Unix seconds at the start of a UTC hour.
#[derive(Debug, Default)]
pub struct Batch {
    pub requests: HashMap<(i64, &'static str), Rollup>,
    pub accounts: HashMap<(i64, i64), u64>,
    pub cache: Vec<(i64, &'static str, CacheCounts)>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty() && self.accounts.is_empty() && self.cache.is_empty()
    }

    pub fn absorb(&mut self, other: Batch) {
        for (key, rollup) in other.requests {
            self.requests.entry(key).or_default().add(&rollup);
        }
        for (key, n) in other.accounts {
            *self.accounts.entry(key).or_default() += n;
        }
        self.cache.extend(other.cache);
    }
}

/// Adds a batch to the stored rollups.
pub fn merge(conn: &Connection, batch: &Batch) -> DbResult<()> {
    let mut existing = conn.prepare_cached(
        "SELECT requests, client_errors, server_errors, latency
         FROM analytics_requests WHERE hour = ?1 AND route = ?2",
    )?;
    let mut upsert = conn.prepare_cached(
        "INSERT INTO analytics_requests (hour, route, requests, client_errors, server_errors, latency)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (hour, route) DO UPDATE SET requests = excluded.requests,
             client_errors = excluded.client_errors, server_errors = excluded.server_errors,
             latency = excluded.latency",
    )?;
    for ((hour, route), add) in &batch.requests {
        let mut total = existing
            .query_row(params![hour, route], read_rollup)
            .optional()?
            .unwrap_or_default();
        total.add(add);
        upsert.execute(params![
            hour,
            route,
            total.requests as i64,
            total.client_errors as i64,
            total.server_errors as i64,
            histogram::encode(&total.latency),
        ])?;
    }
    let mut accounts = conn.prepare_cached(
        "INSERT INTO analytics_accounts (hour, account_id, requests) VALUES (?1, ?2, ?3)
         ON CONFLICT (hour, account_id) DO UPDATE SET requests = requests + excluded.requests",
    )?;
    for ((hour, account), n) in &batch.accounts {
        accounts.execute(params![hour, account, *n as i64])?;
    }
    let mut cache = conn.prepare_cached(
        "INSERT INTO analytics_cache (hour, cache, hits, misses, stale_hits) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (hour, cache) DO UPDATE SET hits = hits + excluded.hits,
             misses = misses + excluded.misses, stale_hits = stale_hits + excluded.stale_hits",
    )?;
    for (hour, name, c) in &batch.cache {
        cache.execute(params![
            hour,
            name,
            c.hits as i64,
            c.misses as i64,
            c.stale_hits as i64
        ])?;
    }
    Ok(())
}

fn read_rollup(r: &rusqlite::Row<'_>) -> rusqlite::Result<Rollup> {
    let latency: String = r.get(3)?;
    Ok(Rollup {
        requests: r.get::<_, i64>(0)? as u64,
        client_errors: r.get::<_, i64>(1)? as u64,
        server_errors: r.get::<_, i64>(2)? as u64,
        latency: histogram::decode(&latency),
    })
}

/// One stored row of `analytics_requests`.
#[derive(Debug, Clone)]
pub struct RouteHour {
    pub hour: i64,
    pub route: String,
    pub rollup: Rollup,
}

/// Rollups of the hours in `[from_hour, to)`, oldest first.
pub fn requests_between(conn: &Connection, from_hour: i64, to: i64) -> DbResult<Vec<RouteHour>> {
    let mut stmt = conn.prepare_cached(
        "SELECT requests, client_errors, server_errors, latency, hour, route
         FROM analytics_requests WHERE hour >= ?1 AND hour < ?2 ORDER BY hour, route",
    )?;
    let rows = stmt.query_map(params![from_hour, to], |r| {
        Ok(RouteHour {
            rollup: read_rollup(r)?,
            hour: r.get(4)?,
            route: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Requests per account over the hours in `[from_hour, to)`, most first, with the
/// account's username when it still exists.
pub fn accounts_between(
    conn: &Connection,
    from_hour: i64,
    to: i64,
    limit: u32,
) -> DbResult<Vec<(i64, Option<String>, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.account_id, acc.username, sum(a.requests) AS n
         FROM analytics_accounts a LEFT JOIN accounts acc ON acc.id = a.account_id
         WHERE a.hour >= ?1 AND a.hour < ?2
         GROUP BY a.account_id ORDER BY n DESC, a.account_id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![from_hour, to, limit], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The caches' counts per hour in `[from_hour, to)`, all caches added up.
pub fn cache_between(
    conn: &Connection,
    from_hour: i64,
    to: i64,
) -> DbResult<Vec<(i64, CacheCounts)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT hour, sum(hits), sum(misses), sum(stale_hits) FROM analytics_cache
         WHERE hour >= ?1 AND hour < ?2 GROUP BY hour ORDER BY hour",
    )?;
    let rows = stmt.query_map(params![from_hour, to], |r| {
        Ok((
            r.get(0)?,
            CacheCounts {
                hits: r.get::<_, i64>(1)? as u64,
                misses: r.get::<_, i64>(2)? as u64,
                stale_hits: r.get::<_, i64>(3)? as u64,
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Deletes rollups of hours before `before_hour`; answers how many rows went.
pub fn prune(conn: &Connection, before_hour: i64) -> DbResult<usize> {
    let mut n = 0;
    for table in [
        "analytics_requests",
        "analytics_accounts",
        "analytics_cache",
    ] {
        n += conn.execute(
            &format!("DELETE FROM {table} WHERE hour < ?1"),
            params![before_hour],
        )?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_in(b: usize) -> Histogram {
        let mut h = [0; histogram::BUCKETS];
        h[b] = 1;
        h
    }

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrate(&mut conn).unwrap();
        conn
    }

    #[test]
    fn merging_adds_to_what_is_stored() {
        let conn = db();
        let mut batch = Batch::default();
        let rollup = Rollup {
            requests: 2,
            client_errors: 1,
            server_errors: 0,
            latency: one_in(4),
        };
        batch.requests.insert((3600, "/api/health"), rollup.clone());
        batch.accounts.insert((3600, 9), 2);
        batch.cache.push((
            3600,
            "responses",
            CacheCounts {
                hits: 3,
                misses: 1,
                stale_hits: 0,
            },
        ));
        merge(&conn, &batch).unwrap();
        merge(&conn, &batch).unwrap();
        let rows = requests_between(&conn, 0, 7200).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].rollup.requests, 4);
        assert_eq!(rows[0].rollup.client_errors, 2);
        assert_eq!(rows[0].rollup.latency[4], 2);
        assert_eq!(
            accounts_between(&conn, 0, 7200, 10).unwrap(),
            vec![(9, None, 4)]
        );
        assert_eq!(cache_between(&conn, 0, 7200).unwrap()[0].1.hits, 6);
        assert!(requests_between(&conn, 7200, 10_800).unwrap().is_empty());
        assert_eq!(prune(&conn, 7200).unwrap(), 3);
        assert!(requests_between(&conn, 0, 7200).unwrap().is_empty());
    }
}
