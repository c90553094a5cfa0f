//! The log of sync runs: every attempt, how it ended, and why.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::DbResult;
use crate::domain::runs::{ErrorClass, RunOutcome};

/// How a finished run is recorded.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub outcome: RunOutcome,
    pub error_class: Option<ErrorClass>,
    pub attempts: u32,
    pub http_status: Option<u16>,
    pub received: Option<usize>,
    pub accepted: Option<usize>,
    pub rejected: Option<usize>,
    pub race_id: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SyncRun {
    pub id: i64,
    pub trigger: String,
    pub source: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub outcome: RunOutcome,
    pub error_class: Option<ErrorClass>,
    pub attempts: i64,
    pub http_status: Option<i64>,
    pub received: Option<i64>,
    pub accepted: Option<i64>,
    pub rejected: Option<i64>,
    pub duration_ms: Option<i64>,
    pub race_id: Option<String>,
    pub error: Option<String>,
}

const COLUMNS: &str =
    "id, trigger, source, started_at, finished_at, outcome, error_class, attempts,
    http_status, received, accepted, rejected, duration_ms, race_id, error";

fn read(r: &Row<'_>) -> rusqlite::Result<SyncRun> {
    Ok(SyncRun {
        id: r.get(0)?,
        trigger: r.get(1)?,
        source: r.get(2)?,
        started_at: r.get(3)?,
        finished_at: r.get(4)?,
        outcome: super::state(r, 5, RunOutcome::parse)?,
        error_class: r
            .get::<_, Option<String>>(6)?
            .map(|_| super::state(r, 6, ErrorClass::parse))
            .transpose()?,
        attempts: r.get(7)?,
        http_status: r.get(8)?,
        received: r.get(9)?,
        accepted: r.get(10)?,
        rejected: r.get(11)?,
        duration_ms: r.get(12)?,
        race_id: r.get(13)?,
        error: r.get(14)?,
    })
}

pub fn start(conn: &Connection, trigger: &str, source: &str, started_at: &str) -> DbResult<i64> {
    conn.execute(
        "INSERT INTO sync_runs (trigger, source, started_at, outcome) VALUES (?1, ?2, ?3, 'running')",
        params![trigger, source, started_at],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn finish(
    conn: &Connection,
    id: i64,
    finished_at: &str,
    duration_ms: i64,
    o: &Outcome,
) -> DbResult<()> {
    conn.execute(
        "UPDATE sync_runs SET finished_at = ?2, duration_ms = ?3, outcome = ?4, error_class = ?5,
             attempts = ?6, http_status = ?7, received = ?8, accepted = ?9, rejected = ?10,
             race_id = ?11, error = ?12
         WHERE id = ?1",
        params![
            id,
            finished_at,
            duration_ms,
            o.outcome.as_str(),
            o.error_class.map(ErrorClass::as_str),
            o.attempts,
            o.http_status,
            o.received.map(|n| n as i64),
            o.accepted.map(|n| n as i64),
            o.rejected.map(|n| n as i64),
            o.race_id,
            o.error,
        ],
    )?;
    Ok(())
}

/// Runs still marked running when the process starts were cut off by a crash or kill.
pub fn mark_interrupted(conn: &Connection, now: &str) -> DbResult<usize> {
    Ok(conn.execute(
        "UPDATE sync_runs SET outcome = 'interrupted', finished_at = ?1,
             error = 'the process stopped during this sync'
         WHERE outcome = 'running'",
        [now],
    )?)
}

pub fn recent(conn: &Connection, limit: u32, offset: i64) -> DbResult<Vec<SyncRun>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sync_runs ORDER BY id DESC LIMIT ?1 OFFSET ?2"
    ))?;
    let rows = stmt.query_map(params![limit, offset], read)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn count(conn: &Connection) -> DbResult<i64> {
    Ok(conn.query_row("SELECT count(*) FROM sync_runs", [], |r| r.get(0))?)
}

/// The newest run matching `filter` (a WHERE clause over bound parameters).
fn newest(
    conn: &Connection,
    filter: &str,
    params: impl rusqlite::Params,
) -> DbResult<Option<SyncRun>> {
    let sql = format!("SELECT {COLUMNS} FROM sync_runs WHERE {filter} ORDER BY id DESC LIMIT 1");
    Ok(conn.query_row(&sql, params, read).optional()?)
}

pub fn get(conn: &Connection, id: i64) -> DbResult<Option<SyncRun>> {
    newest(conn, "id = ?1", [id])
}

/// The newest finished run, whatever its outcome.
pub fn last(conn: &Connection) -> DbResult<Option<SyncRun>> {
    newest(conn, "outcome <> 'running'", [])
}

pub fn last_success(conn: &Connection) -> DbResult<Option<SyncRun>> {
    newest(conn, "outcome = 'success'", [])
}

/// How many runs started in `[from, to)` ended each way.
pub fn outcomes_between(conn: &Connection, from: &str, to: &str) -> DbResult<Vec<(String, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT outcome, count(*) FROM sync_runs WHERE started_at >= ?1 AND started_at < ?2
         GROUP BY outcome ORDER BY count(*) DESC, outcome",
    )?;
    let rows = stmt.query_map([from, to], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn prune(conn: &Connection, before: &str) -> DbResult<usize> {
    Ok(conn.execute(
        "DELETE FROM sync_runs WHERE started_at < ?1 AND outcome <> 'running'
             AND id NOT IN (SELECT sync_run_id FROM race_snapshots)
             AND id NOT IN (SELECT sync_run_id FROM races WHERE sync_run_id IS NOT NULL)
             AND id <> (SELECT coalesce(max(id), 0) FROM sync_runs WHERE outcome = 'success')",
        [before],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_found_by_id_even_when_newer_runs_exist() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut conn).unwrap();
        let forced = start(&conn, "forced", "live", "2026-11-23T10:00:00.000Z").unwrap();
        let scheduled = start(&conn, "schedule", "live", "2026-11-23T10:00:01.000Z").unwrap();
        let done = Outcome {
            outcome: RunOutcome::Success,
            ..Outcome::default()
        };
        finish(&conn, forced, "2026-11-23T10:00:02.000Z", 2000, &done).unwrap();
        finish(&conn, scheduled, "2026-11-23T10:00:03.000Z", 2000, &done).unwrap();
        assert_eq!(get(&conn, forced).unwrap().unwrap().trigger, "forced");
        assert_eq!(last(&conn).unwrap().unwrap().id, scheduled);
        assert_eq!(last_success(&conn).unwrap().unwrap().id, scheduled);
        assert!(get(&conn, 999).unwrap().is_none());
    }
}
