//! Site accounts.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::DbResult;
use crate::domain::accounts::Role;

#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub password_hash: String,
    pub role: Role,
    pub goated_uid: Option<String>,
    pub bio: String,
    pub profile_color: Option<String>,
    pub created_at: String,
    /// Moves on each time the account's sessions are ended; access tokens carry the
    /// epoch they were issued in.
    pub session_epoch: i64,
    /// The owner shows their player's name in full under `race.name_masking`.
    pub show_name: bool,
}

impl Account {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

const COLUMNS: &str = "id, username, email, password_hash, role, goated_uid, bio, profile_color, created_at, \
     session_epoch, show_name";

fn read(r: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.get(0)?,
        username: r.get(1)?,
        email: r.get(2)?,
        password_hash: r.get(3)?,
        role: super::state(r, 4, Role::parse)?,
        goated_uid: r.get(5)?,
        bio: r.get(6)?,
        profile_color: r.get(7)?,
        created_at: r.get(8)?,
        session_epoch: r.get(9)?,
        show_name: r.get(10)?,
    })
}

pub fn create(
    conn: &Connection,
    username: &str,
    email: Option<&str>,
    password_hash: &str,
    role: Role,
    now: &str,
) -> DbResult<i64> {
    conn.execute(
        "INSERT INTO accounts (username, username_key, email, password_hash, role, created_at, updated_at)
         VALUES (?1, lower(?1), ?2, ?3, ?4, ?5, ?5)",
        params![username, email, password_hash, role.as_str(), now],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn by_id(conn: &Connection, id: i64) -> DbResult<Option<Account>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM accounts WHERE id = ?1"),
            [id],
            read,
        )
        .optional()?)
}

/// By username (any case) or email.
pub fn by_login(conn: &Connection, login: &str) -> DbResult<Option<Account>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM accounts WHERE username_key = lower(?1) OR email = lower(?1) LIMIT 1"),
            [login],
            read,
        )
        .optional()?)
}

pub fn by_goated_uid(conn: &Connection, uid: &str) -> DbResult<Option<Account>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM accounts WHERE goated_uid = ?1"),
            [uid],
            read,
        )
        .optional()?)
}

pub fn username_taken(conn: &Connection, username: &str) -> DbResult<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM accounts WHERE username_key = lower(?1))",
        [username],
        |r| r.get(0),
    )?)
}

pub fn email_taken(conn: &Connection, email: &str) -> DbResult<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM accounts WHERE email = lower(?1))",
        [email],
        |r| r.get(0),
    )?)
}

pub fn set_password_and_role(
    conn: &Connection,
    id: i64,
    password_hash: &str,
    role: Role,
    now: &str,
) -> DbResult<()> {
    conn.execute(
        "UPDATE accounts SET password_hash = ?2, role = ?3, updated_at = ?4 WHERE id = ?1",
        params![id, password_hash, role.as_str(), now],
    )?;
    Ok(())
}

/// Ends every session of the account: its refresh tokens are revoked, and its session
/// epoch moves on so that access tokens issued until now are refused.
pub fn end_sessions(conn: &Connection, id: i64, now: &str) -> DbResult<()> {
    conn.execute(
        "UPDATE accounts SET session_epoch = session_epoch + 1 WHERE id = ?1",
        [id],
    )?;
    conn.execute(
        "UPDATE refresh_tokens SET revoked_at = ?2 WHERE account_id = ?1 AND revoked_at IS NULL",
        params![id, now],
    )?;
    Ok(())
}

pub fn set_role(conn: &Connection, id: i64, role: Role, now: &str) -> DbResult<()> {
    conn.execute(
        "UPDATE accounts SET role = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, role.as_str(), now],
    )?;
    Ok(())
}

pub fn link_player(conn: &Connection, id: i64, uid: &str, now: &str) -> DbResult<()> {
    conn.execute(
        "UPDATE accounts SET goated_uid = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, uid, now],
    )?;
    Ok(())
}

pub fn update_profile(
    conn: &Connection,
    id: i64,
    bio: &str,
    color: Option<&str>,
    show_name: Option<bool>,
    now: &str,
) -> DbResult<()> {
    conn.execute(
        "UPDATE accounts SET bio = ?2, profile_color = ?3, updated_at = ?4,
             show_name = coalesce(?5, show_name) WHERE id = ?1",
        params![id, bio, color, now, show_name],
    )?;
    Ok(())
}

/// The Goated uids whose verified owner chose to show their name under masking.
pub fn shown_names(conn: &Connection) -> DbResult<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT goated_uid FROM accounts WHERE show_name = 1 AND goated_uid IS NOT NULL",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether any admin exists (first-run setup is open until one does).
pub fn any_admin(conn: &Connection) -> DbResult<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM accounts WHERE role = 'admin')",
        [],
        |r| r.get(0),
    )?)
}
