//! Refresh tokens, stored by hash, in families.

use rusqlite::{Connection, OptionalExtension, params};

use super::DbResult;

#[derive(Debug, Clone, PartialEq)]
pub struct RefreshToken {
    pub account_id: i64,
    pub family: String,
    pub expires_at: String,
    pub used_at: Option<String>,
    pub revoked_at: Option<String>,
    /// The second factor of the sign-in the family began with (`accounts::sessions::Factor`).
    pub factor: i64,
}

pub fn insert(
    conn: &Connection,
    hash: &str,
    account_id: i64,
    family: &str,
    now: &str,
    expires_at: &str,
    factor: i64,
) -> DbResult<()> {
    conn.execute(
        "INSERT INTO refresh_tokens (token_hash, account_id, family, created_at, expires_at, mfa)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![hash, account_id, family, now, expires_at, factor],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, hash: &str) -> DbResult<Option<RefreshToken>> {
    Ok(conn
        .query_row(
            "SELECT account_id, family, expires_at, used_at, revoked_at, mfa FROM refresh_tokens WHERE token_hash = ?1",
            [hash],
            |r| {
                Ok(RefreshToken {
                    account_id: r.get(0)?,
                    family: r.get(1)?,
                    expires_at: r.get(2)?,
                    used_at: r.get(3)?,
                    revoked_at: r.get(4)?,
                    factor: r.get(5)?,
                })
            },
        )
        .optional()?)
}

/// Marks a token used, only if it was not used yet; returns whether this call did.
pub fn mark_used(conn: &Connection, hash: &str, now: &str) -> DbResult<bool> {
    Ok(conn.execute(
        "UPDATE refresh_tokens SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL",
        params![hash, now],
    )? == 1)
}

pub fn revoke_family(conn: &Connection, family: &str, now: &str) -> DbResult<usize> {
    Ok(conn.execute(
        "UPDATE refresh_tokens SET revoked_at = ?2 WHERE family = ?1 AND revoked_at IS NULL",
        params![family, now],
    )?)
}

pub fn prune_expired(conn: &Connection, now: &str) -> DbResult<usize> {
    Ok(conn.execute("DELETE FROM refresh_tokens WHERE expires_at <= ?1", [now])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_tokens_are_pruned_and_live_ones_kept() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut conn).unwrap();
        let t = "2026-11-01T00:00:00.000Z";
        crate::db::accounts::create(
            &conn,
            "someone",
            None,
            "hash",
            crate::domain::accounts::Role::User,
            t,
        )
        .unwrap();
        insert(&conn, "old", 1, "f", t, "2026-11-10T00:00:00.000Z", 0).unwrap();
        insert(&conn, "live", 1, "f", t, "2026-12-10T00:00:00.000Z", 0).unwrap();
        assert_eq!(prune_expired(&conn, "2026-11-23T00:00:00.000Z").unwrap(), 1);
        assert!(get(&conn, "old").unwrap().is_none());
        assert!(get(&conn, "live").unwrap().is_some());
    }
}
