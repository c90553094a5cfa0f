//! The synced players.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::DbResult;
use crate::domain::transform::{Buckets, Player};

/// Stores one sync's players. Players the upstream no longer lists keep their all-time
/// amount but have no current activity.
pub fn apply(
    tx: &Transaction<'_>,
    players: &[Player],
    seen_at: &str,
    source: &str,
) -> DbResult<()> {
    let mut upsert = tx.prepare_cached(
        "INSERT INTO players (uid, name, today, this_week, this_month, all_time, first_seen, last_seen, source)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)
         ON CONFLICT (uid) DO UPDATE SET name = excluded.name, today = excluded.today,
             this_week = excluded.this_week, this_month = excluded.this_month,
             all_time = excluded.all_time, last_seen = excluded.last_seen, source = excluded.source",
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
            seen_at,
            source
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
pub fn record_history(
    tx: &Transaction<'_>,
    players: &[Player],
    day: &str,
    source: &str,
) -> DbResult<()> {
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO player_history (uid, day, today, this_week, this_month, all_time, source)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for p in players.iter().filter(|p| p.wagered.all_time > 0.0) {
        let b = p.wagered;
        insert.execute(params![
            p.uid,
            day,
            b.today,
            b.this_week,
            b.this_month,
            b.all_time,
            source
        ])?;
    }
    Ok(())
}

pub fn get(conn: &Connection, uid: &str) -> DbResult<Option<Player>> {
    Ok(conn
        .query_row(
            "SELECT uid, name, today, this_week, this_month, all_time FROM players WHERE uid = ?1",
            [uid],
            read_player,
        )
        .optional()?)
}

/// Players whose name contains `query` (ASCII case-insensitive): exact matches first,
/// then names starting with it, then by all-time amount. Returns the total too.
pub fn search(
    conn: &Connection,
    query: &str,
    limit: u32,
    offset: i64,
    shown_only: bool,
) -> DbResult<(u64, Vec<Player>)> {
    // Under name masking only players whose owner shows their name can be found.
    let shown = if shown_only {
        " AND uid IN (SELECT goated_uid FROM accounts WHERE show_name = 1 AND goated_uid IS NOT NULL)"
    } else {
        ""
    };
    let escaped = query
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let contains = format!("%{escaped}%");
    let prefix = format!("{escaped}%");
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM players WHERE name LIKE ?1 ESCAPE '\\'{shown}"),
        [&contains],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT uid, name, today, this_week, this_month, all_time FROM players
         WHERE name LIKE ?1 ESCAPE '\\'{shown}
         ORDER BY lower(name) = lower(?2) DESC, name LIKE ?3 ESCAPE '\\' DESC, all_time DESC,
                  name COLLATE NOCASE, uid
         LIMIT ?4 OFFSET ?5"
    ))?;
    let rows = stmt.query_map(params![contains, query, prefix, limit, offset], read_player)?;
    Ok((total as u64, rows.collect::<Result<_, _>>()?))
}

/// One point per day, oldest first, from `since` (a `YYYY-MM-DD` day) on.
#[derive(Debug, Clone, PartialEq)]
pub struct DailySample {
    pub day: String,
    pub today: f64,
    pub this_month: f64,
    pub all_time: f64,
}

pub fn history(conn: &Connection, uid: &str, since: &str) -> DbResult<Vec<DailySample>> {
    let mut stmt = conn.prepare_cached(
        "SELECT day, today, this_month, all_time FROM player_history
         WHERE uid = ?1 AND day >= ?2 ORDER BY day",
    )?;
    let rows = stmt.query_map(params![uid, since], |r| {
        Ok(DailySample {
            day: r.get(0)?,
            today: r.get(1)?,
            this_month: r.get(2)?,
            all_time: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every player, in no particular order.
pub fn all(conn: &Connection) -> DbResult<Vec<Player>> {
    let mut stmt = conn
        .prepare_cached("SELECT uid, name, today, this_week, this_month, all_time FROM players")?;
    let rows = stmt.query_map([], read_player)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Players whose name is `name` ignoring ASCII case: (uid, name).
pub fn by_name(conn: &Connection, name: &str) -> DbResult<Vec<(String, String)>> {
    let mut stmt = conn
        .prepare_cached("SELECT uid, name FROM players WHERE name = ?1 COLLATE NOCASE LIMIT 5")?;
    let rows = stmt.query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `uid, name, today, this_week, this_month, all_time`.
fn read_player(r: &rusqlite::Row<'_>) -> rusqlite::Result<Player> {
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
}
