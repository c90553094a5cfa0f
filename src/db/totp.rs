//! Two-factor secrets and recovery codes (`account_totp`, `totp_recovery_codes`).

use rusqlite::{Connection, OptionalExtension, params};

use super::DbResult;

/// An account's second factor. Its `Debug` leaves the secret out.
#[derive(Clone, PartialEq, Eq)]
pub struct Totp {
    /// Base32. Never answered once `enabled`.
    pub secret: String,
    pub enabled: bool,
    /// The newest step whose code was accepted.
    pub last_step: i64,
}

impl std::fmt::Debug for Totp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Totp")
            .field("secret", &"(hidden)")
            .field("enabled", &self.enabled)
            .field("last_step", &self.last_step)
            .finish()
    }
}

/// Wrong codes typed for `account` since when (none: `(0, None)`).
pub fn failures(conn: &Connection, account: i64) -> DbResult<(i64, Option<String>)> {
    Ok(conn
        .query_row(
            "SELECT failures, failed_since FROM account_totp WHERE account_id = ?1",
            [account],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, None)))
}

pub fn set_failures(
    conn: &Connection,
    account: i64,
    failures: i64,
    since: Option<&str>,
) -> DbResult<()> {
    conn.execute(
        "UPDATE account_totp SET failures = ?2, failed_since = ?3 WHERE account_id = ?1",
        params![account, failures, since],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, account: i64) -> DbResult<Option<Totp>> {
    Ok(conn
        .query_row(
            "SELECT secret, enabled_at IS NOT NULL, last_step FROM account_totp WHERE account_id = ?1",
            [account],
            |r| {
                Ok(Totp {
                    secret: r.get(0)?,
                    enabled: r.get(1)?,
                    last_step: r.get(2)?,
                })
            },
        )
        .optional()?)
}

/// A new secret waiting for its first code (replacing one that never got it).
pub fn put_pending(conn: &Connection, account: i64, secret: &str, now: &str) -> DbResult<()> {
    conn.execute(
        "INSERT INTO account_totp (account_id, secret, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (account_id) DO UPDATE SET secret = excluded.secret,
             created_at = excluded.created_at, enabled_at = NULL, last_step = 0",
        params![account, secret, now],
    )?;
    Ok(())
}

/// Turns the secret on, with `step` as the first code used, and keeps the recovery
/// codes' hashes (replacing any from before).
pub fn enable(
    conn: &Connection,
    account: i64,
    step: i64,
    recovery_hashes: &[String],
    now: &str,
) -> DbResult<()> {
    conn.execute(
        "UPDATE account_totp SET enabled_at = ?2, last_step = ?3 WHERE account_id = ?1",
        params![account, now, step],
    )?;
    conn.execute(
        "DELETE FROM totp_recovery_codes WHERE account_id = ?1",
        [account],
    )?;
    let mut insert =
        conn.prepare("INSERT INTO totp_recovery_codes (account_id, code_hash) VALUES (?1, ?2)")?;
    for hash in recovery_hashes {
        insert.execute(params![account, hash])?;
    }
    Ok(())
}

/// Moves the newest used step on, only forward; returns whether it moved (a step used
/// by a request at the same moment does not move it twice).
pub fn use_step(conn: &Connection, account: i64, step: i64) -> DbResult<bool> {
    Ok(conn.execute(
        "UPDATE account_totp SET last_step = ?2 WHERE account_id = ?1 AND last_step < ?2",
        params![account, step],
    )? == 1)
}

/// Uses a recovery code up; returns whether it was there and unused.
pub fn use_recovery(conn: &Connection, account: i64, hash: &str, now: &str) -> DbResult<bool> {
    Ok(conn.execute(
        "UPDATE totp_recovery_codes SET used_at = ?3
         WHERE account_id = ?1 AND code_hash = ?2 AND used_at IS NULL",
        params![account, hash, now],
    )? == 1)
}

/// Recovery codes not used yet.
pub fn recovery_left(conn: &Connection, account: i64) -> DbResult<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM totp_recovery_codes WHERE account_id = ?1 AND used_at IS NULL",
        [account],
        |r| r.get(0),
    )?)
}

/// Removes the second factor and its recovery codes.
pub fn remove(conn: &Connection, account: i64) -> DbResult<()> {
    conn.execute("DELETE FROM account_totp WHERE account_id = ?1", [account])?;
    conn.execute(
        "DELETE FROM totp_recovery_codes WHERE account_id = ?1",
        [account],
    )?;
    Ok(())
}
