//! The payout ledger of finished races (SPEC §12).

use rusqlite::{Connection, OptionalExtension, params};

use super::{DbError, DbResult};
use crate::domain::Cents;
use crate::domain::payouts::PayoutStatus;

#[derive(Debug, Clone, PartialEq)]
pub struct Payout {
    pub race_id: String,
    pub uid: String,
    pub name: String,
    pub position: u32,
    pub prize: Cents,
    pub status: PayoutStatus,
    pub reference: Option<String>,
    pub reason: Option<String>,
    pub updated_at: String,
    pub updated_by: Option<String>,
}

const SELECT: &str = "SELECT p.race_id, p.uid, r.name, r.position, p.prize_cents, p.status,
        p.reference, p.reason, p.updated_at, p.updated_by
     FROM race_payouts p JOIN race_results r ON r.race_id = p.race_id AND r.uid = p.uid";

fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Payout, String)> {
    Ok((
        Payout {
            race_id: r.get(0)?,
            uid: r.get(1)?,
            name: r.get(2)?,
            position: r.get(3)?,
            prize: Cents(r.get(4)?),
            status: PayoutStatus::Pending,
            reference: r.get(6)?,
            reason: r.get(7)?,
            updated_at: r.get(8)?,
            updated_by: r.get(9)?,
        },
        r.get(5)?,
    ))
}

fn finish(row: (Payout, String)) -> DbResult<Payout> {
    let (mut payout, status) = row;
    payout.status = PayoutStatus::parse(&status)
        .ok_or_else(|| DbError::Corrupt(format!("race_payouts.status {status:?}")))?;
    Ok(payout)
}

fn many(conn: &Connection, sql: &str, args: impl rusqlite::Params) -> DbResult<Vec<Payout>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(args, read)?;
    rows.map(|r| finish(r?)).collect()
}

/// One pending payout per paid place of a just-stored final result.
pub fn create_for_race(conn: &Connection, race_id: &str, at: &str) -> DbResult<usize> {
    Ok(conn.execute(
        "INSERT INTO race_payouts (race_id, uid, prize_cents, status, updated_at)
         SELECT race_id, uid, prize_cents, 'pending', ?2 FROM race_results
         WHERE race_id = ?1 AND prize_cents > 0",
        params![race_id, at],
    )?)
}

/// A race's payouts in listing order.
pub fn for_race(conn: &Connection, race_id: &str) -> DbResult<Vec<Payout>> {
    many(
        conn,
        &format!("{SELECT} WHERE p.race_id = ?1 ORDER BY r.seq"),
        [race_id],
    )
}

/// A player's payouts in every race, newest race first.
pub fn for_uid(conn: &Connection, uid: &str) -> DbResult<Vec<Payout>> {
    many(
        conn,
        &format!("{SELECT} WHERE p.uid = ?1 ORDER BY p.race_id DESC"),
        [uid],
    )
}

pub fn get(conn: &Connection, race_id: &str, uid: &str) -> DbResult<Option<Payout>> {
    conn.query_row(
        &format!("{SELECT} WHERE p.race_id = ?1 AND p.uid = ?2"),
        [race_id, uid],
        read,
    )
    .optional()?
    .map(finish)
    .transpose()
}

/// Moves a payout to `status` (the caller checked the transition).
pub fn set_status(
    conn: &Connection,
    payout: &Payout,
    status: PayoutStatus,
    at: &str,
    by: &str,
) -> DbResult<()> {
    conn.execute(
        "UPDATE race_payouts SET status = ?3, reference = ?4, reason = ?5, updated_at = ?6,
             updated_by = ?7
         WHERE race_id = ?1 AND uid = ?2",
        params![
            payout.race_id,
            payout.uid,
            status.as_str(),
            payout.reference,
            payout.reason,
            at,
            by
        ],
    )?;
    Ok(())
}

/// Finished races with prizes still pending: race id, race name, how many, cents.
pub fn pending_by_race(conn: &Connection) -> DbResult<Vec<(String, String, i64, Cents)>> {
    let mut stmt = conn.prepare(
        "SELECT p.race_id, coalesce(r.name, p.race_id), count(*), sum(p.prize_cents)
         FROM race_payouts p LEFT JOIN races r ON r.race_id = p.race_id
         WHERE p.status = 'pending' GROUP BY p.race_id ORDER BY p.race_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, Cents(r.get(3)?)))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Count and sum of prizes in each state, over every race.
pub fn totals(conn: &Connection) -> DbResult<Vec<(PayoutStatus, i64, Cents)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT status, count(*), coalesce(sum(prize_cents), 0) FROM race_payouts GROUP BY status",
    )?;
    let rows: Vec<(String, i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    Ok(PayoutStatus::ALL
        .into_iter()
        .map(|status| {
            let found = rows.iter().find(|(s, _, _)| s == status.as_str());
            found.map_or((status, 0, Cents(0)), |(_, n, c)| (status, *n, Cents(*c)))
        })
        .collect())
}
