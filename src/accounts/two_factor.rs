//! Two-factor sign-in (SPEC §14): enrolling (a secret shown once, as a QR code),
//! confirming it with a first code (which turns it on and gives ten recovery codes),
//! turning it off with a code, and the second factor of a sign-in. Each runs in the
//! caller's transaction, so its audit row commits with it.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::auth::totp;
use crate::db::{DbError, timestamp, totp as store};

#[derive(Debug, thiserror::Error)]
pub enum TwoFactorError {
    #[error("Two-factor sign-in is already on for this account.")]
    AlreadyOn,
    #[error("Start two-factor setup first: no secret is waiting for its first code.")]
    NotEnrolled,
    #[error("Two-factor sign-in is not on for this account.")]
    NotOn,
    #[error(
        "This account signs in with a second factor: send `totp` (a code from the app, or a recovery code)."
    )]
    Required,
    #[error("The code is wrong, expired or already used.")]
    WrongCode,
    /// Too many wrong codes lately: none is checked until the wait is over.
    #[error("Too many wrong codes. Try again in {0} seconds.")]
    TooManyTries(i64),
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::use_case_error!(TwoFactorError);

/// Wrong codes an account may type in [`WRONG_WINDOW`] before none is checked.
pub const MAX_WRONG: i64 = 5;
/// The window wrong codes are counted in.
pub const WRONG_WINDOW: chrono::Duration = chrono::Duration::minutes(15);

/// Refuses while the account has typed [`MAX_WRONG`] wrong codes in the window. Kept in
/// the database and judged in the writer's transaction, so concurrent guesses are
/// counted one after another: six digits cannot be guessed faster than this, whatever
/// the addresses or the number of requests at once.
fn guard(tx: &Connection, account: i64, now: DateTime<Utc>) -> Result<(), TwoFactorError> {
    let (failures, since) = store::failures(tx, account)?;
    let since = since.and_then(|s| s.parse::<DateTime<Utc>>().ok());
    match since {
        Some(since) if failures >= MAX_WRONG && now - since < WRONG_WINDOW => Err(
            TwoFactorError::TooManyTries((since + WRONG_WINDOW - now).num_seconds().max(1)),
        ),
        _ => Ok(()),
    }
}

/// Counts a wrong code; the refusal that follows commits it (`settle`).
fn wrong(tx: &Connection, account: i64, now: DateTime<Utc>) -> Result<TwoFactorError, DbError> {
    let (failures, since) = store::failures(tx, account)?;
    let current = since
        .as_deref()
        .and_then(|s| s.parse::<DateTime<Utc>>().ok())
        .filter(|since| now - *since < WRONG_WINDOW);
    match current {
        Some(_) => store::set_failures(tx, account, failures + 1, since.as_deref())?,
        None => store::set_failures(tx, account, 1, Some(&timestamp(now)))?,
    }
    Ok(TwoFactorError::WrongCode)
}

/// A secret waiting for its first code, for the account's authenticator app.
pub struct Enrollment {
    pub secret: String,
    pub otpauth_url: String,
    pub qr_svg: String,
}

/// A new secret for `account` (replacing one never confirmed); refused while one is on.
pub fn enroll(
    tx: &Connection,
    account: i64,
    label: &str,
    issuer: &str,
    now: DateTime<Utc>,
) -> Result<Enrollment, TwoFactorError> {
    if store::get(tx, account)?.is_some_and(|t| t.enabled) {
        return Err(TwoFactorError::AlreadyOn);
    }
    let secret = totp::new_secret();
    store::put_pending(tx, account, &secret, &timestamp(now))?;
    let otpauth_url = totp::otpauth_url(issuer, label, &secret);
    Ok(Enrollment {
        qr_svg: totp::qr_svg(&otpauth_url),
        otpauth_url,
        secret,
    })
}

/// Turns the waiting secret on with its first `code`; the recovery codes, shown once.
pub fn confirm(
    tx: &Connection,
    account: i64,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, TwoFactorError> {
    let pending = match store::get(tx, account)? {
        None => return Err(TwoFactorError::NotEnrolled),
        Some(t) if t.enabled => return Err(TwoFactorError::AlreadyOn),
        Some(t) => t,
    };
    guard(tx, account, now)?;
    let Some(step) = totp::verify(&pending.secret, code, now.timestamp(), 0) else {
        return Err(wrong(tx, account, now)?);
    };
    store::set_failures(tx, account, 0, None)?;
    let codes = totp::recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| totp::recovery_hash(c)).collect();
    store::enable(tx, account, step, &hashes, &timestamp(now))?;
    Ok(codes)
}

/// Whether `account` signs in with a second factor.
pub fn is_on(conn: &Connection, account: i64) -> Result<bool, DbError> {
    Ok(store::get(conn, account)?.is_some_and(|t| t.enabled))
}

/// The second factor of a sign-in: `Ok(false)` when the account has none, `Ok(true)`
/// when `code` (a current code not used before, or an unused recovery code) passed.
/// A code passes once: its step, or the recovery code, is used up here.
pub fn check(
    tx: &Connection,
    account: i64,
    code: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, TwoFactorError> {
    let Some(on) = store::get(tx, account)?.filter(|t| t.enabled) else {
        return Ok(false);
    };
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    let code = code.ok_or(TwoFactorError::Required)?;
    guard(tx, account, now)?;
    let passed = if totp::is_recovery_code(code) {
        let hash = totp::recovery_hash(code);
        store::use_recovery(tx, account, &hash, &timestamp(now))?
    } else {
        match totp::verify(&on.secret, code, now.timestamp(), on.last_step) {
            Some(step) => store::use_step(tx, account, step)?,
            None => false,
        }
    };
    if !passed {
        return Err(wrong(tx, account, now)?);
    }
    store::set_failures(tx, account, 0, None)?;
    Ok(true)
}

/// Turns the second factor off, with a current code or a recovery code.
pub fn disable(
    tx: &Connection,
    account: i64,
    code: &str,
    now: DateTime<Utc>,
) -> Result<(), TwoFactorError> {
    if !check(tx, account, Some(code), now)? {
        return Err(TwoFactorError::NotOn);
    }
    store::remove(tx, account)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::accounts::Role;

    fn db() -> (Connection, i64) {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut conn).unwrap();
        let id = crate::db::accounts::create(&conn, "alice", None, "h", Role::Admin, "t").unwrap();
        (conn, id)
    }

    fn code_for(secret: &str, at: DateTime<Utc>) -> String {
        let bytes = totp::from_base32(secret).unwrap();
        format!(
            "{:06}",
            totp::hotp(&bytes, totp::step_at(at.timestamp()) as u64)
        )
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn enrolled_then_confirmed_then_each_code_and_recovery_code_works_once() {
        let (conn, id) = db();
        let t0 = at(1_800_000_000);
        let e = enroll(&conn, id, "alice", "Races", t0).unwrap();
        assert!(!is_on(&conn, id).unwrap(), "not on before its first code");
        assert!(matches!(
            confirm(&conn, id, "000000", t0),
            Err(TwoFactorError::WrongCode)
        ));
        let codes = confirm(&conn, id, &code_for(&e.secret, t0), t0).unwrap();
        assert_eq!(codes.len(), 10);
        assert!(is_on(&conn, id).unwrap());
        assert!(matches!(
            enroll(&conn, id, "alice", "Races", t0),
            Err(TwoFactorError::AlreadyOn)
        ));
        // The confirming code is used: the same one cannot sign in.
        assert!(matches!(
            check(&conn, id, Some(&code_for(&e.secret, t0)), t0),
            Err(TwoFactorError::WrongCode)
        ));
        assert!(matches!(
            check(&conn, id, None, t0),
            Err(TwoFactorError::Required)
        ));
        let t1 = at(1_800_000_000 + 30);
        assert!(check(&conn, id, Some(&code_for(&e.secret, t1)), t1).unwrap());
        assert!(matches!(
            check(&conn, id, Some(&code_for(&e.secret, t1)), t1),
            Err(TwoFactorError::WrongCode)
        ));
        assert!(check(&conn, id, Some(&codes[3].to_uppercase()), t1).unwrap());
        assert!(matches!(
            check(&conn, id, Some(&codes[3]), t1),
            Err(TwoFactorError::WrongCode)
        ));
        assert_eq!(store::recovery_left(&conn, id).unwrap(), 9);
        let t2 = at(1_800_000_000 + 90);
        assert!(matches!(
            disable(&conn, id, "123456", t2),
            Err(TwoFactorError::WrongCode)
        ));
        disable(&conn, id, &code_for(&e.secret, t2), t2).unwrap();
        assert!(!is_on(&conn, id).unwrap());
        assert!(
            !check(&conn, id, None, t2).unwrap(),
            "no second factor: nothing to check"
        );
    }

    #[test]
    fn five_wrong_codes_stop_every_check_for_the_window_even_the_right_code() {
        let (conn, id) = db();
        let t0 = at(1_800_000_000);
        let e = enroll(&conn, id, "alice", "Races", t0).unwrap();
        confirm(&conn, id, &code_for(&e.secret, t0), t0).unwrap();
        let t1 = at(1_800_000_000 + 60);
        for _ in 0..MAX_WRONG {
            assert!(matches!(
                check(&conn, id, Some("000000"), t1),
                Err(TwoFactorError::WrongCode)
            ));
        }
        let right = code_for(&e.secret, t1);
        assert!(matches!(
            check(&conn, id, Some(&right), t1),
            Err(TwoFactorError::TooManyTries(_))
        ));
        // After the window, the right code works and the count starts over.
        let later = t1 + WRONG_WINDOW + chrono::Duration::seconds(1);
        assert!(check(&conn, id, Some(&code_for(&e.secret, later)), later).unwrap());
        assert_eq!(store::failures(&conn, id).unwrap().0, 0);
    }
}
