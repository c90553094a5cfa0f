//! The audit log of admin actions.

use rusqlite::{Connection, params};

use super::DbResult;

pub struct Entry<'a> {
    pub actor: &'a str,
    pub client_ip: Option<&'a str>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub detail: Option<&'a str>,
}

pub fn record(conn: &Connection, at: &str, e: &Entry<'_>) -> DbResult<()> {
    conn.execute(
        "INSERT INTO audit_log (at, actor, client_ip, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![at, e.actor, e.client_ip, e.action, e.target, e.detail],
    )?;
    Ok(())
}
