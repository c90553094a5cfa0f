//! A new account: its username unique ignoring case, its email (when given) unused, in
//! one transaction so that two sign-ups racing for one name cannot both win.

use rusqlite::Connection;

use crate::db::DbError;
use crate::db::accounts::{self, Account};
use crate::domain::accounts::Role;
use crate::domain::ids::{Email, Username};

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("This username is taken.")]
    UsernameTaken,
    #[error("This email is already used by another account.")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::use_case_error!(RegisterError);

/// Stores the account (a plain user) with its already-made password hash.
pub fn register(
    conn: &Connection,
    username: &Username,
    email: Option<&Email>,
    password_hash: &str,
    now: &str,
) -> Result<Account, RegisterError> {
    if accounts::username_taken(conn, username)? {
        return Err(RegisterError::UsernameTaken);
    }
    if let Some(email) = email
        && accounts::email_taken(conn, email)?
    {
        return Err(RegisterError::EmailTaken);
    }
    let email = email.map(Email::as_str);
    let id = accounts::create(conn, username, email, password_hash, Role::User, now)?;
    accounts::by_id(conn, id)?
        .ok_or_else(|| DbError::Corrupt("the new account vanished".into()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_or_email_is_taken_once_ignoring_case() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Db::open(&dir.path().join("a.db"), 1).unwrap();
        let name = |n: &str| Username::parse(n).unwrap();
        let email = |e: &str| Email::parse(e).unwrap();
        let now = "2026-12-01T00:00:00.000Z";
        let outcome = |user: &str, mail: Option<&str>| {
            db.write_blocking(|tx| {
                let mail = mail.map(email);
                Ok(register(tx, &name(user), mail.as_ref(), "hash", now))
            })
            .unwrap()
        };
        let first = outcome("bob", Some("bob@example.com")).unwrap();
        assert_eq!(first.username, "bob");
        assert!(matches!(
            outcome("BOB", None),
            Err(RegisterError::UsernameTaken)
        ));
        assert!(matches!(
            outcome("carol", Some("BOB@example.com")),
            Err(RegisterError::EmailTaken)
        ));
        assert!(outcome("carol", None).is_ok());
    }
}
