//! The synced players.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::DbResult;
use crate::domain::transform::{Buckets, Player};

/// Stores one sync's players. Players the upstream no longer lists keep their all-time
/// amount but have no current activity.
pub fn apply(tx: &Transaction<'_>, players: &[Player], seen_at: &str) -> DbResult<()> {
    let mut upsert = tx.prepare_cached(
        "INSERT INTO players (uid, name, today, this_week, this_month, all_time, first_seen, last_seen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
         ON CONFLICT (uid) DO UPDATE SET name = excluded.name, today = excluded.today,
             this_week = excluded.this_week, this_month = excluded.this_month,
             all_time = excluded.all_time, last_seen = excluded.last_seen",
    )?;
    for p in players {
        let b = p.wagered;
        upsert.execute(params![
            p.uid,
            p.name,
            b.today,
            b.this_week,
            b.this_month,
            b.all_time,
            seen_at
        ])?;
    }
    tx.execute(
        "UPDATE players SET today = 0, this_week = 0, this_month = 0
         WHERE last_seen <> ?1 AND (today <> 0 OR this_week <> 0 OR this_month <> 0)",
        [seen_at],
    )?;
    Ok(())
}

/// One sample per player per day; a later sync the same day replaces it. Players who
/// never wagered are left out: most referred players never do.
pub fn record_history(tx: &Transaction<'_>, players: &[Player], day: &str) -> DbResult<()> {
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO player_history (uid, day, today, this_week, this_month, all_time)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for p in players.iter().filter(|p| p.wagered.all_time > 0.0) {
        let b = p.wagered;
        insert.execute(params![
            p.uid,
            day,
            b.today,
            b.this_week,
            b.this_month,
            b.all_time
        ])?;
    }
    Ok(())
}

pub fn count(conn: &Connection) -> DbResult<i64> {
    Ok(conn.query_row("SELECT count(*) FROM players", [], |r| r.get(0))?)
}

pub fn get(conn: &Connection, uid: &str) -> DbResult<Option<Player>> {
    Ok(conn
        .query_row(
            "SELECT uid, name, today, this_week, this_month, all_time FROM players WHERE uid = ?1",
            [uid],
            |r| {
                Ok(Player {
                    uid: r.get(0)?,
                    name: r.get(1)?,
                    wagered: Buckets {
                        today: r.get(2)?,
                        this_week: r.get(3)?,
                        this_month: r.get(4)?,
                        all_time: r.get(5)?,
                    },
                })
            },
        )
        .optional()?)
}
