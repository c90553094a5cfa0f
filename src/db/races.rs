//! Race snapshots (live standings data), prize overrides, and final results.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{DbError, DbResult};
use crate::domain::Cents;
use crate::domain::ranking::{Entry, Standing};

/// Replaces the snapshot of `race_id` with `entries`, unless a snapshot from a sync that
/// started later is already there. Returns whether it was written.
pub fn replace_snapshot(
    tx: &Transaction<'_>,
    race_id: &str,
    sync_run_id: i64,
    sync_started_at: &str,
    entries: &[Entry],
) -> DbResult<bool> {
    let newer: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM race_snapshots WHERE race_id = ?1 AND sync_started_at > ?2)",
        params![race_id, sync_started_at],
        |r| r.get(0),
    )?;
    if newer {
        return Ok(false);
    }
    tx.execute(
        "DELETE FROM race_snapshot_entries WHERE race_id = ?1",
        [race_id],
    )?;
    tx.execute(
        "INSERT INTO race_snapshots (race_id, sync_run_id, sync_started_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (race_id) DO UPDATE SET sync_run_id = excluded.sync_run_id,
             sync_started_at = excluded.sync_started_at",
        params![race_id, sync_run_id, sync_started_at],
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO race_snapshot_entries (race_id, uid, name, wagered_cents) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for e in entries.iter().filter(|e| e.wagered.0 > 0) {
        insert.execute(params![race_id, e.uid, e.name, e.wagered.0])?;
    }
    Ok(true)
}

#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotMeta {
    pub sync_run_id: i64,
    pub sync_started_at: String,
}

pub fn snapshot_meta(conn: &Connection, race_id: &str) -> DbResult<Option<SnapshotMeta>> {
    Ok(conn
        .query_row(
            "SELECT sync_run_id, sync_started_at FROM race_snapshots WHERE race_id = ?1",
            [race_id],
            |r| {
                Ok(SnapshotMeta {
                    sync_run_id: r.get(0)?,
                    sync_started_at: r.get(1)?,
                })
            },
        )
        .optional()?)
}

pub fn snapshot_entries(conn: &Connection, race_id: &str) -> DbResult<Vec<Entry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT uid, name, wagered_cents FROM race_snapshot_entries WHERE race_id = ?1",
    )?;
    let rows = stmt.query_map([race_id], |r| {
        Ok(Entry {
            uid: r.get(0)?,
            name: r.get(1)?,
            wagered: Cents(r.get(2)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Races before `race_id` that have live data but no final result yet.
pub fn unfinalized_before(conn: &Connection, race_id: &str) -> DbResult<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT race_id FROM race_snapshots
         WHERE race_id < ?1 AND race_id NOT IN (SELECT race_id FROM races) ORDER BY race_id",
    )?;
    let rows = stmt.query_map([race_id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A race's prize settings as an admin overrode them.
pub fn prize_override(conn: &Connection, race_id: &str) -> DbResult<Option<(Cents, Vec<f64>)>> {
    let row: Option<(i64, String)> = conn
        .query_row(
            "SELECT prize_pool_cents, distribution FROM race_prizes WHERE race_id = ?1",
            [race_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(pool, dist)| {
        let shares: Vec<f64> = serde_json::from_str(&dist)
            .map_err(|e| DbError::Corrupt(format!("race_prizes.distribution of {race_id}: {e}")))?;
        Ok((Cents(pool), shares))
    })
    .transpose()
}

pub fn set_prize_override(
    conn: &Connection,
    race_id: &str,
    pool: Cents,
    shares: &[f64],
    now: &str,
    by: Option<&str>,
) -> DbResult<()> {
    let dist = serde_json::to_string(shares).expect("floats serialize");
    conn.execute(
        "INSERT INTO race_prizes (race_id, prize_pool_cents, distribution, updated_at, updated_by)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (race_id) DO UPDATE SET prize_pool_cents = excluded.prize_pool_cents,
             distribution = excluded.distribution, updated_at = excluded.updated_at,
             updated_by = excluded.updated_by",
        params![race_id, pool.0, dist, now, by],
    )?;
    Ok(())
}

/// A race's final result, as stored when its month ended.
#[derive(Debug, Clone, PartialEq)]
pub struct FinalRace {
    pub race_id: String,
    pub start_date: String,
    pub end_date: String,
    pub prize_pool: Cents,
    pub distribution: Vec<f64>,
    pub min_wager: Cents,
    pub participant_count: i64,
    pub total_wagered: Cents,
    pub sync_run_id: Option<i64>,
    pub sync_started_at: Option<String>,
    pub finalized_at: String,
}

pub fn is_final(conn: &Connection, race_id: &str) -> DbResult<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM races WHERE race_id = ?1)",
        [race_id],
        |r| r.get(0),
    )?)
}

/// Stores a final result. Refuses (returns false) when the race is final already:
/// a result is written once and never recomputed.
pub fn insert_final(
    tx: &Transaction<'_>,
    race: &FinalRace,
    standings: &[Standing],
) -> DbResult<bool> {
    if is_final(tx, &race.race_id)? {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO races (race_id, start_date, end_date, prize_pool_cents, distribution,
             min_wager_cents, participant_count, total_wagered_cents, sync_run_id,
             sync_started_at, finalized_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            race.race_id,
            race.start_date,
            race.end_date,
            race.prize_pool.0,
            serde_json::to_string(&race.distribution).expect("floats serialize"),
            race.min_wager.0,
            race.participant_count,
            race.total_wagered.0,
            race.sync_run_id,
            race.sync_started_at,
            race.finalized_at,
        ],
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO race_results (race_id, uid, name, seq, position, wagered_cents, prize_cents)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (seq, s) in standings.iter().enumerate() {
        insert.execute(params![
            race.race_id,
            s.uid,
            s.name,
            seq as i64,
            s.position,
            s.wagered.0,
            s.prize.0
        ])?;
    }
    Ok(true)
}

pub fn final_race(conn: &Connection, race_id: &str) -> DbResult<Option<FinalRace>> {
    let row = conn
        .query_row(
            "SELECT race_id, start_date, end_date, prize_pool_cents, distribution, min_wager_cents,
                 participant_count, total_wagered_cents, sync_run_id, sync_started_at, finalized_at
             FROM races WHERE race_id = ?1",
            [race_id],
            |r| {
                Ok((
                    FinalRace {
                        race_id: r.get(0)?,
                        start_date: r.get(1)?,
                        end_date: r.get(2)?,
                        prize_pool: Cents(r.get(3)?),
                        distribution: Vec::new(),
                        min_wager: Cents(r.get(5)?),
                        participant_count: r.get(6)?,
                        total_wagered: Cents(r.get(7)?),
                        sync_run_id: r.get(8)?,
                        sync_started_at: r.get(9)?,
                        finalized_at: r.get(10)?,
                    },
                    r.get::<_, String>(4)?,
                ))
            },
        )
        .optional()?;
    row.map(|(mut race, dist)| {
        race.distribution = serde_json::from_str(&dist)
            .map_err(|e| DbError::Corrupt(format!("races.distribution of {race_id}: {e}")))?;
        Ok(race)
    })
    .transpose()
}

/// The stored standings of a final race, in listing order.
pub fn final_results(conn: &Connection, race_id: &str, limit: u32) -> DbResult<Vec<Standing>> {
    let mut stmt = conn.prepare_cached(
        "SELECT uid, name, position, wagered_cents, prize_cents FROM race_results
         WHERE race_id = ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![race_id, limit], |r| read_standing(r, 0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Ids of final races, newest first.
pub fn final_race_ids(conn: &Connection) -> DbResult<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT race_id FROM races ORDER BY race_id DESC")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The top three positions of a final race (more rows when tied).
pub fn podium(conn: &Connection, race_id: &str) -> DbResult<Vec<Standing>> {
    let mut stmt = conn.prepare_cached(
        "SELECT uid, name, position, wagered_cents, prize_cents FROM race_results
         WHERE race_id = ?1 AND position <= 3 ORDER BY seq",
    )?;
    let rows = stmt.query_map([race_id], |r| read_standing(r, 0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A player's results in every final race, newest first.
pub fn player_results(conn: &Connection, uid: &str) -> DbResult<Vec<(String, Standing)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT race_id, uid, name, position, wagered_cents, prize_cents FROM race_results
         WHERE uid = ?1 ORDER BY race_id DESC",
    )?;
    let rows = stmt.query_map([uid], |r| Ok((r.get(0)?, read_standing(r, 1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `uid, name, position, wagered_cents, prize_cents` from column `at` on.
fn read_standing(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Standing> {
    Ok(Standing {
        uid: r.get(at)?,
        name: r.get(at + 1)?,
        position: r.get(at + 2)?,
        wagered: Cents(r.get(at + 3)?),
        prize: Cents(r.get(at + 4)?),
    })
}
