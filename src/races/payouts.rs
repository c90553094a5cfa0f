//! Moving one prize along the ledger: `pending` → `approved` → `paid` (with a reference)
//! or → `void` (with a reason). The transition rules are pure (`domain::payouts`); this
//! takes the caller's transaction (which also writes its audit row) and answers its own
//! error.

use rusqlite::Connection;

use crate::db::DbError;
use crate::db::payouts::{self, Payout};
use crate::domain::payouts::{PayoutError, PayoutStatus, check_transition};

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("Race {race} has no prize for player {player}.")]
    NoPrize { race: String, player: String },
    #[error(transparent)]
    Refused(#[from] PayoutError),
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::use_case_error!(ChangeError);

/// What an admin asks of one prize.
#[derive(Debug, Clone)]
pub struct Change {
    pub to: PayoutStatus,
    pub reference: Option<String>,
    pub reason: Option<String>,
}

/// Applies `change` to the prize of `player` in `race`; answers the prize as stored
/// afterwards and the state it left.
pub fn change(
    conn: &Connection,
    race: &str,
    player: &str,
    change: Change,
    now: &str,
    by: &str,
) -> Result<(Payout, PayoutStatus), ChangeError> {
    let no_prize = || ChangeError::NoPrize {
        race: race.to_string(),
        player: player.to_string(),
    };
    let mut payout = payouts::get(conn, race, player)?.ok_or_else(no_prize)?;
    let from = payout.status;
    let Change {
        to,
        reference,
        reason,
    } = change;
    check_transition(from, to, reference.as_deref(), reason.as_deref())?;
    match to {
        PayoutStatus::Paid => payout.reference = reference.map(|r| r.trim().into()),
        PayoutStatus::Void => payout.reason = reason.map(|r| r.trim().into()),
        _ => {}
    }
    payouts::set_status(conn, &payout, to, now, by)?;
    let stored = payouts::get(conn, race, player)?.ok_or_else(no_prize)?;
    Ok((stored, from))
}
