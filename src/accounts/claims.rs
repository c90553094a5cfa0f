//! Claims: an account says which Goated player it is, and an admin decides. The rules:
//! one pending claim per account; the player must be in the synced list and named
//! unambiguously; a player is verified to one account at most; a claim is decided once.

use chrono::{DateTime, Utc};
use rusqlite::Transaction;

use crate::db::verification::{self, Request as Claim};
use crate::db::{DbError, accounts, players, timestamp};
use crate::domain::accounts::ClaimStatus;

#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("This account is verified already.")]
    AlreadyVerified,
    #[error("This account has a pending claim already.")]
    AlreadyPending,
    #[error("Several players have this name; claim by uid instead.")]
    AmbiguousName,
    #[error("No synced Goated player matches this claim.")]
    NoSuchPlayer,
    #[error("This player is verified to another account.")]
    PlayerTaken,
    #[error("No such verification request.")]
    NoSuchClaim,
    #[error("This request was decided already.")]
    AlreadyDecided,
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::use_case_error!(ClaimError);

/// Who is claimed: a uid, or a name that must match exactly one synced player.
pub enum Claimed {
    Uid(String),
    Name(String),
}

/// Files a claim for `account` (verified already when `verified_uid` is set).
pub fn request(
    tx: &Transaction<'_>,
    account: i64,
    verified_uid: Option<&str>,
    claimed: &Claimed,
    now: DateTime<Utc>,
) -> Result<Claim, ClaimError> {
    if verified_uid.is_some() {
        return Err(ClaimError::AlreadyVerified);
    }
    if verification::has_pending(tx, account)? {
        return Err(ClaimError::AlreadyPending);
    }
    let player = match claimed {
        Claimed::Uid(uid) => players::get(tx, uid)?.map(|p| (p.uid, p.name)),
        Claimed::Name(name) => {
            let mut found = players::by_name(tx, name.trim())?;
            if found.len() > 1 {
                return Err(ClaimError::AmbiguousName);
            }
            found.pop()
        }
    };
    let (uid, name) = player.ok_or(ClaimError::NoSuchPlayer)?;
    if accounts::by_goated_uid(tx, &uid)?.is_some() {
        return Err(ClaimError::PlayerTaken);
    }
    let id = verification::create(tx, account, &uid, &name, &timestamp(now))?;
    verification::get(tx, id)?.ok_or(ClaimError::NoSuchClaim)
}

/// Approves (linking the account to the player) or rejects a pending claim.
pub fn decide(
    tx: &Transaction<'_>,
    claim_id: i64,
    approve: bool,
    admin: i64,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Claim, ClaimError> {
    let now = timestamp(now);
    let claim = verification::get(tx, claim_id)?.ok_or(ClaimError::NoSuchClaim)?;
    if claim.status != ClaimStatus::Pending {
        return Err(ClaimError::AlreadyDecided);
    }
    let status = if approve {
        if accounts::by_goated_uid(tx, &claim.goated_uid)?.is_some() {
            return Err(ClaimError::PlayerTaken);
        }
        accounts::link_player(tx, claim.account_id, &claim.goated_uid, &now)?;
        ClaimStatus::Approved
    } else {
        ClaimStatus::Rejected
    };
    verification::decide(tx, claim_id, status, admin, note, &now)?;
    verification::get(tx, claim_id)?.ok_or(ClaimError::NoSuchClaim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::accounts::Role;
    use crate::domain::transform::{Buckets, Player};
    use rusqlite::Connection;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut conn).unwrap();
        let player = |uid: &str, name: &str| Player {
            uid: uid.into(),
            name: name.into(),
            wagered: Buckets::default(),
        };
        let tx = conn.transaction().unwrap();
        let list = [
            player("g1", "Lucky"),
            player("g2", "Twin"),
            player("g3", "twin"),
        ];
        players::apply(&tx, &list, "t", "live").unwrap();
        for name in ["ann", "bob"] {
            accounts::create(&tx, name, None, "hash", Role::User, "t").unwrap();
        }
        accounts::create(&tx, "boss", None, "hash", Role::Admin, "t").unwrap();
        tx.commit().unwrap();
        conn
    }

    fn now() -> DateTime<Utc> {
        "2026-11-25T12:00:00Z".parse().unwrap()
    }

    fn claim(conn: &mut Connection, account: i64, claimed: Claimed) -> Result<Claim, ClaimError> {
        let tx = conn.transaction().unwrap();
        let out = request(&tx, account, None, &claimed, now());
        tx.commit().unwrap();
        out
    }

    fn decided(conn: &mut Connection, id: i64, approve: bool) -> Result<Claim, ClaimError> {
        let tx = conn.transaction().unwrap();
        let out = decide(&tx, id, approve, 3, None, now());
        tx.commit().unwrap();
        out
    }

    #[test]
    fn a_claim_names_one_synced_player_and_one_pending_claim_per_account() {
        let mut conn = db();
        assert!(matches!(
            claim(&mut conn, 1, Claimed::Name("twin".into())),
            Err(ClaimError::AmbiguousName)
        ));
        assert!(matches!(
            claim(&mut conn, 1, Claimed::Uid("nobody".into())),
            Err(ClaimError::NoSuchPlayer)
        ));
        let filed = claim(&mut conn, 1, Claimed::Name(" Lucky ".into())).unwrap();
        assert_eq!(
            (filed.goated_uid.as_str(), filed.status),
            ("g1", ClaimStatus::Pending)
        );
        assert!(matches!(
            claim(&mut conn, 1, Claimed::Uid("g2".into())),
            Err(ClaimError::AlreadyPending)
        ));
        let tx = conn.transaction().unwrap();
        assert!(matches!(
            request(&tx, 2, Some("g3"), &Claimed::Uid("g2".into()), now()),
            Err(ClaimError::AlreadyVerified)
        ));
    }

    #[test]
    fn a_claim_is_decided_once_and_a_player_goes_to_one_account() {
        let mut conn = db();
        let ann = claim(&mut conn, 1, Claimed::Uid("g1".into())).unwrap();
        let bob = claim(&mut conn, 2, Claimed::Uid("g1".into())).unwrap();
        let approved = decided(&mut conn, ann.id, true).unwrap();
        assert_eq!(approved.status, ClaimStatus::Approved);
        assert_eq!(
            accounts::by_id(&conn, 1)
                .unwrap()
                .unwrap()
                .goated_uid
                .as_deref(),
            Some("g1")
        );
        assert!(matches!(
            decided(&mut conn, ann.id, false),
            Err(ClaimError::AlreadyDecided)
        ));
        assert!(matches!(
            decided(&mut conn, bob.id, true),
            Err(ClaimError::PlayerTaken)
        ));
        assert!(matches!(
            claim(&mut conn, 2, Claimed::Uid("g1".into())),
            Err(ClaimError::AlreadyPending),
        ));
        assert_eq!(
            decided(&mut conn, bob.id, false).unwrap().status,
            ClaimStatus::Rejected
        );
        assert!(matches!(
            claim(&mut conn, 2, Claimed::Uid("g1".into())),
            Err(ClaimError::PlayerTaken)
        ));
        assert!(matches!(
            decided(&mut conn, 777, true),
            Err(ClaimError::NoSuchClaim)
        ));
    }
}
