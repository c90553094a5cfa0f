//! Key/value settings that survive restarts.

use rusqlite::{Connection, OptionalExtension, params};

use super::DbResult;

pub fn get(conn: &Connection, key: &str) -> DbResult<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Every `(key, value)` whose key begins with `prefix`.
pub fn with_prefix(conn: &Connection, prefix: &str) -> DbResult<Vec<(String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT key, value FROM settings WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key",
    )?;
    let rows = stmt.query_map([prefix], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn set(conn: &Connection, key: &str, value: &str, now: &str) -> DbResult<()> {
    conn.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        params![key, value, now],
    )?;
    Ok(())
}

pub fn delete(conn: &Connection, key: &str) -> DbResult<()> {
    conn.execute("DELETE FROM settings WHERE key = ?1", [key])?;
    Ok(())
}

/// Stores `value` unless the key is set already; returns what is stored now. For values
/// generated once, when two processes may race to generate them.
pub fn get_or_insert(conn: &Connection, key: &str, value: &str, now: &str) -> DbResult<String> {
    conn.execute(
        "INSERT OR IGNORE INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)",
        params![key, value, now],
    )?;
    Ok(get(conn, key)?.unwrap_or_else(|| value.to_string()))
}
