//! The persistent cache: values that must outlive a restart.

use rusqlite::{Connection, params};

use super::DbResult;

pub fn put(
    conn: &Connection,
    key: &str,
    value: &[u8],
    now: &str,
    expires_at: Option<&str>,
) -> DbResult<()> {
    conn.execute(
        "INSERT INTO cache (key, value, updated_at, expires_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value,
             updated_at = excluded.updated_at, expires_at = excluded.expires_at",
        params![key, value, now, expires_at],
    )?;
    Ok(())
}

pub fn prune_expired(conn: &Connection, now: &str) -> DbResult<usize> {
    Ok(conn.execute(
        "DELETE FROM cache WHERE expires_at IS NOT NULL AND expires_at <= ?1",
        [now],
    )?)
}
