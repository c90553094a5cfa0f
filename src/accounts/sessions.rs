//! Refresh tokens: each is used once. Using one gives a new one of the same family;
//! presenting a used one again means it was stolen (or copied), and the whole family is
//! revoked, so neither the thief nor the owner keeps a session from it.

use chrono::{DateTime, Utc};
use rusqlite::Transaction;

use crate::auth::{REFRESH_TTL_DAYS, random_token, token_hash};
use crate::db::accounts::{self, Account};
use crate::db::{DbError, refresh_tokens, timestamp};

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Unknown, expired or revoked: the same answer for all three, to tell a guesser
    /// nothing.
    #[error("the refresh token is unknown, expired or revoked")]
    Invalid,
    /// A used token presented again: its family is revoked now.
    #[error("a used refresh token was presented again")]
    Reused,
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::use_case_error!(SessionError);

/// What proved a sign-in beside the password; kept with its refresh-token family, and
/// said by every access token of it as `mfa` while it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    None = 0,
    /// A two-factor code or recovery code: holds while the account keeps two-factor on.
    Totp = 1,
    /// First-run setup's one-time code, read from the server's own log: the person who
    /// made the first admin controls the server.
    Setup = 2,
}

/// A new session's refresh token, as given to the client once.
pub struct Started {
    pub token: String,
}

/// Starts a family with its first refresh token, remembering the sign-in's `factor`.
pub fn start(
    tx: &Transaction<'_>,
    account: i64,
    now: DateTime<Utc>,
    factor: Factor,
) -> Result<Started, DbError> {
    let token = random_token();
    refresh_tokens::insert(
        tx,
        &token_hash(&token),
        account,
        &random_token(),
        &timestamp(now),
        &expiry(now),
        factor as i64,
    )?;
    Ok(Started { token })
}

/// The rotated session: the account, its next refresh token, and whether its access
/// tokens say `mfa` (a two-factor family only while two-factor is still on: turning it
/// off, or a reset after a lost phone, takes admin-from-anywhere from its sessions).
pub struct Rotated {
    pub account: Account,
    pub token: String,
    pub mfa: bool,
}

/// Uses `presented` up and gives the next token of its family. A token presented twice
/// (even by two requests at once: marking it used is one conditional write) revokes
/// the family.
pub fn rotate(
    tx: &Transaction<'_>,
    presented: &str,
    now: DateTime<Utc>,
) -> Result<Rotated, SessionError> {
    let (hash, ts) = (token_hash(presented), timestamp(now));
    let found = refresh_tokens::get(tx, &hash)?.ok_or(SessionError::Invalid)?;
    if found.revoked_at.is_some() || found.expires_at <= ts {
        return Err(SessionError::Invalid);
    }
    if found.used_at.is_some() || !refresh_tokens::mark_used(tx, &hash, &ts)? {
        let revoked = refresh_tokens::revoke_family(tx, &found.family, &ts)?;
        tracing::warn!(
            account = found.account_id,
            revoked,
            "a used refresh token was presented again; its family is revoked"
        );
        return Err(SessionError::Reused);
    }
    let token = random_token();
    refresh_tokens::insert(
        tx,
        &token_hash(&token),
        found.account_id,
        &found.family,
        &ts,
        &expiry(now),
        found.factor,
    )?;
    let account = accounts::by_id(tx, found.account_id)?.ok_or(SessionError::Invalid)?;
    let mfa = match found.factor {
        f if f == Factor::Setup as i64 => true,
        f if f == Factor::Totp as i64 => super::two_factor::is_on(tx, account.id)?,
        _ => false,
    };
    Ok(Rotated {
        account,
        token,
        mfa,
    })
}

/// Signs out: revokes the family of `presented`, whatever state it is in. An unknown
/// token is no error (signing out twice is fine).
pub fn end(tx: &Transaction<'_>, presented: &str, now: DateTime<Utc>) -> Result<(), DbError> {
    if let Some(found) = refresh_tokens::get(tx, &token_hash(presented))? {
        refresh_tokens::revoke_family(tx, &found.family, &timestamp(now))?;
    }
    Ok(())
}

fn expiry(now: DateTime<Utc>) -> String {
    timestamp(now + chrono::Duration::days(REFRESH_TTL_DAYS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::accounts::Role;
    use rusqlite::Connection;

    fn db() -> (Connection, i64) {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut conn).unwrap();
        let id = accounts::create(&conn, "someone", None, "hash", Role::User, "t").unwrap();
        (conn, id)
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn rotate_now(conn: &mut Connection, token: &str, now: &str) -> Result<String, SessionError> {
        let tx = conn.transaction().unwrap();
        let out = rotate(&tx, token, at(now)).map(|r| r.token);
        tx.commit().unwrap();
        out
    }

    fn started(conn: &mut Connection, account: i64, now: &str) -> String {
        let tx = conn.transaction().unwrap();
        let token = start(&tx, account, at(now), Factor::None).unwrap().token;
        tx.commit().unwrap();
        token
    }

    #[test]
    fn each_token_is_used_once_and_gives_the_next() {
        let (mut conn, id) = db();
        let first = started(&mut conn, id, "2026-11-25T12:00:00Z");
        let second = rotate_now(&mut conn, &first, "2026-11-25T12:05:00Z").unwrap();
        let third = rotate_now(&mut conn, &second, "2026-11-25T12:10:00Z").unwrap();
        assert_ne!(second, third);
        assert!(matches!(
            rotate_now(&mut conn, "never-issued", "2026-11-25T12:10:00Z"),
            Err(SessionError::Invalid)
        ));
    }

    #[test]
    fn a_used_token_presented_again_revokes_its_whole_family() {
        let (mut conn, id) = db();
        let first = started(&mut conn, id, "2026-11-25T12:00:00Z");
        let other_device = started(&mut conn, id, "2026-11-25T12:00:00Z");
        let second = rotate_now(&mut conn, &first, "2026-11-25T12:05:00Z").unwrap();
        assert!(matches!(
            rotate_now(&mut conn, &first, "2026-11-25T12:06:00Z"),
            Err(SessionError::Reused)
        ));
        assert!(
            matches!(
                rotate_now(&mut conn, &second, "2026-11-25T12:07:00Z"),
                Err(SessionError::Invalid)
            ),
            "the token the thief or the owner got next is revoked too"
        );
        assert!(
            rotate_now(&mut conn, &other_device, "2026-11-25T12:08:00Z").is_ok(),
            "another family (another device) is untouched"
        );
    }

    #[test]
    fn a_token_expires_thirty_days_after_it_was_issued() {
        let (mut conn, id) = db();
        let token = started(&mut conn, id, "2026-11-01T00:00:00Z");
        assert!(matches!(
            rotate_now(&mut conn, &token, "2026-12-01T00:00:00Z"),
            Err(SessionError::Invalid)
        ));
        let token = started(&mut conn, id, "2026-11-01T00:00:00Z");
        assert!(rotate_now(&mut conn, &token, "2026-11-30T23:59:59Z").is_ok());
    }

    #[test]
    fn signing_out_revokes_the_family_and_twice_is_fine() {
        let (mut conn, id) = db();
        let first = started(&mut conn, id, "2026-11-25T12:00:00Z");
        let second = rotate_now(&mut conn, &first, "2026-11-25T12:05:00Z").unwrap();
        for _ in 0..2 {
            let tx = conn.transaction().unwrap();
            end(&tx, &first, at("2026-11-25T12:06:00Z")).unwrap();
            tx.commit().unwrap();
        }
        assert!(matches!(
            rotate_now(&mut conn, &second, "2026-11-25T12:07:00Z"),
            Err(SessionError::Invalid)
        ));
    }
}
