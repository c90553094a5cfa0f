//! Notification deliveries (schema v7): one row per message per destination, and the
//! destinations paused after a 4xx.

use rusqlite::{Connection, OptionalExtension, params};

use super::DbResult;

#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub destination: String,
    pub kind: String,
    pub race_id: Option<String>,
    pub text: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub http_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

const COLUMNS: &str = "id, destination, kind, race_id, text, status, attempts, next_attempt_at,
    http_status, last_error, created_at, sent_at";

fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        destination: r.get(1)?,
        kind: r.get(2)?,
        race_id: r.get(3)?,
        text: r.get(4)?,
        status: r.get(5)?,
        attempts: r.get(6)?,
        next_attempt_at: r.get(7)?,
        http_status: r.get(8)?,
        last_error: r.get(9)?,
        created_at: r.get(10)?,
        sent_at: r.get(11)?,
    })
}

/// Queues a message; `false` when this event was queued for this destination before.
#[allow(clippy::too_many_arguments)]
pub fn enqueue(
    conn: &Connection,
    destination: &str,
    kind: &str,
    race_id: Option<&str>,
    dedupe: &str,
    text: &str,
    now: &str,
) -> DbResult<bool> {
    Ok(conn.execute(
        "INSERT OR IGNORE INTO notifications (destination, kind, race_id, dedupe, text, status,
             next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)",
        params![destination, kind, race_id, dedupe, text, now],
    )? == 1)
}

/// The next message due for a destination not paused, oldest first.
pub fn next_due(conn: &Connection, destination: &str, now: &str) -> DbResult<Option<Delivery>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM notifications WHERE destination = ?1 AND status = 'pending'
             AND next_attempt_at <= ?2
             AND destination NOT IN (SELECT destination FROM notify_paused)
         ORDER BY next_attempt_at, id LIMIT 1"
    );
    Ok(conn
        .query_row(&sql, params![destination, now], read)
        .optional()?)
}

pub fn mark_sent(conn: &Connection, id: i64, status: u16, now: &str) -> DbResult<()> {
    conn.execute(
        "UPDATE notifications SET status = 'sent', attempts = attempts + 1, http_status = ?2,
             last_error = NULL, sent_at = ?3 WHERE id = ?1",
        params![id, status, now],
    )?;
    Ok(())
}

/// A failed attempt: tried again at `retry_at`, or failed for good when `None`.
pub fn mark_failed(
    conn: &Connection,
    id: i64,
    status: Option<u16>,
    error: &str,
    retry_at: Option<&str>,
) -> DbResult<()> {
    conn.execute(
        "UPDATE notifications SET attempts = attempts + 1, http_status = ?2, last_error = ?3,
             status = CASE WHEN ?4 IS NULL THEN 'failed' ELSE 'pending' END,
             next_attempt_at = coalesce(?4, next_attempt_at) WHERE id = ?1",
        params![id, status, error, retry_at],
    )?;
    Ok(())
}

pub fn pause(conn: &Connection, destination: &str, reason: &str, now: &str) -> DbResult<()> {
    conn.execute(
        "INSERT OR REPLACE INTO notify_paused (destination, paused_at, reason) VALUES (?1, ?2, ?3)",
        params![destination, now, reason],
    )?;
    Ok(())
}

pub fn resume(conn: &Connection, destination: &str) -> DbResult<()> {
    conn.execute(
        "DELETE FROM notify_paused WHERE destination = ?1",
        [destination],
    )?;
    Ok(())
}

/// Paused destinations: `(destination, paused_at, reason)`.
pub fn paused(conn: &Connection) -> DbResult<Vec<(String, String, String)>> {
    let mut stmt =
        conn.prepare_cached("SELECT destination, paused_at, reason FROM notify_paused ORDER BY 1")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn recent(conn: &Connection, limit: u32) -> DbResult<Vec<Delivery>> {
    let sql = format!("SELECT {COLUMNS} FROM notifications ORDER BY id DESC LIMIT ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([limit], read)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn pending_count(conn: &Connection) -> DbResult<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM notifications WHERE status = 'pending'",
        [],
        |r| r.get(0),
    )?)
}
