//! First-run setup (SPEC §14): while no admin exists, the one-time code from the log
//! makes the first one. Checked and created in one transaction, so two setups racing
//! with the right code make one admin, and `goated admin create` run meanwhile wins
//! over both.

use rusqlite::Connection;

use crate::db::DbError;
use crate::db::accounts::{self, Account};
use crate::domain::accounts::Role;
use crate::domain::ids::Username;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("Setup is done: an admin exists. Sign in instead.")]
    Done,
    #[error("This username is taken.")]
    UsernameTaken,
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::use_case_error!(SetupError);

/// Makes the first admin, unless one exists.
pub fn first_admin(
    tx: &Connection,
    username: &Username,
    password_hash: &str,
    now: &str,
) -> Result<Account, SetupError> {
    if accounts::any_admin(tx)? {
        return Err(SetupError::Done);
    }
    if accounts::by_login(tx, username.as_str())?.is_some() {
        return Err(SetupError::UsernameTaken);
    }
    let id = accounts::create(tx, username.as_str(), None, password_hash, Role::Admin, now)?;
    Ok(
        accounts::by_id(tx, id)?
            .ok_or_else(|| DbError::Corrupt("the new admin vanished".into()))?,
    )
}
