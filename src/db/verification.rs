//! Verification requests: an account claiming a Goated player.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::DbResult;
use crate::domain::accounts::ClaimStatus;

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: i64,
    pub account_id: i64,
    pub username: String,
    pub goated_uid: String,
    pub goated_name: String,
    pub status: ClaimStatus,
    pub created_at: String,
    pub decided_at: Option<String>,
    pub note: Option<String>,
}

const SELECT: &str = "SELECT v.id, v.account_id, a.username, v.goated_uid, v.goated_name, v.status,
    v.created_at, v.decided_at, v.note
    FROM verification_requests v JOIN accounts a ON a.id = v.account_id";

fn read(r: &Row<'_>) -> rusqlite::Result<Request> {
    Ok(Request {
        id: r.get(0)?,
        account_id: r.get(1)?,
        username: r.get(2)?,
        goated_uid: r.get(3)?,
        goated_name: r.get(4)?,
        status: super::state(r, 5, ClaimStatus::parse)?,
        created_at: r.get(6)?,
        decided_at: r.get(7)?,
        note: r.get(8)?,
    })
}

pub fn create(
    conn: &Connection,
    account_id: i64,
    uid: &str,
    name: &str,
    now: &str,
) -> DbResult<i64> {
    conn.execute(
        "INSERT INTO verification_requests (account_id, goated_uid, goated_name, status, created_at)
         VALUES (?1, ?2, ?3, 'pending', ?4)",
        params![account_id, uid, name, now],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn get(conn: &Connection, id: i64) -> DbResult<Option<Request>> {
    Ok(conn
        .query_row(&format!("{SELECT} WHERE v.id = ?1"), [id], read)
        .optional()?)
}

pub fn for_account(conn: &Connection, account_id: i64) -> DbResult<Vec<Request>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE v.account_id = ?1 ORDER BY v.id DESC"
    ))?;
    let rows = stmt.query_map([account_id], read)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn pending(conn: &Connection) -> DbResult<Vec<Request>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE v.status = 'pending' ORDER BY v.id"
    ))?;
    let rows = stmt.query_map([], read)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many requests wait for an admin's decision.
pub fn pending_count(conn: &Connection) -> DbResult<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM verification_requests WHERE status = 'pending'",
        [],
        |r| r.get(0),
    )?)
}

pub fn has_pending(conn: &Connection, account_id: i64) -> DbResult<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM verification_requests WHERE account_id = ?1 AND status = 'pending')",
        [account_id],
        |r| r.get(0),
    )?)
}

pub fn decide(
    conn: &Connection,
    id: i64,
    status: ClaimStatus,
    by: i64,
    note: Option<&str>,
    now: &str,
) -> DbResult<bool> {
    Ok(conn.execute(
        "UPDATE verification_requests SET status = ?2, decided_by = ?3, note = ?4, decided_at = ?5
         WHERE id = ?1 AND status = 'pending'",
        params![id, status.as_str(), by, note, now],
    )? == 1)
}
