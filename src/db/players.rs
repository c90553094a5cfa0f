//! The synced players.

use foldhash::HashMap;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::DbResult;
use crate::domain::transform::{Buckets, Player};

/// Stores one sync's players. Players the upstream no longer lists keep their all-time
/// amount but have no current activity. Returns how many rows it wrote.
///
/// Only rows the answer changes are written: between two syncs most players have not
/// wagered, and rewriting an unchanged row costs as much as a changed one (its name
/// index entry included). The stored rows are compared in place, without copying them
/// out. `last_changed` is when a row was last written; `listed`, whether the last
/// answer listed the player (a player listed again is a change, even with the very
/// amounts their quieted row holds).
///
/// Into an empty table (the first sync, or the first live one after demo data), the
/// table's indexes are dropped and built again after the rows are in: one sort instead
/// of 100,000 inserts at random places of the name index.
pub fn apply(
    tx: &Transaction<'_>,
    players: &[Player],
    seen_at: &str,
    source: &str,
) -> DbResult<usize> {
    let position: HashMap<&str, usize> = players
        .iter()
        .enumerate()
        .map(|(i, p)| (p.uid.as_str(), i))
        .collect();
    let mut written = vec![true; players.len()];
    let mut unlisted = Vec::new();
    let mut stored = 0usize;
    {
        let mut stmt = tx.prepare_cached(
            "SELECT uid, name, today, this_week, this_month, all_time, source, listed FROM players",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            stored += 1;
            let uid = text(row, 0)?;
            let listed: bool = row.get(7)?;
            match position.get(uid) {
                Some(&i) => {
                    let p = &players[i];
                    let stored = Buckets {
                        today: row.get(2)?,
                        this_week: row.get(3)?,
                        this_month: row.get(4)?,
                        all_time: row.get(5)?,
                    };
                    written[i] = !listed
                        || p.wagered != stored
                        || text(row, 1)? != p.name
                        || text(row, 6)? != source;
                }
                None if listed => unlisted.push(uid.to_string()),
                None => {}
            }
        }
    }
    let mut upsert = tx.prepare_cached(
        "INSERT INTO players (uid, name, today, this_week, this_month, all_time, first_seen, last_changed, source, listed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, 1)
         ON CONFLICT (uid) DO UPDATE SET name = excluded.name, today = excluded.today,
             this_week = excluded.this_week, this_month = excluded.this_month,
             all_time = excluded.all_time, last_changed = excluded.last_changed,
             source = excluded.source, listed = 1",
    )?;
    let mut due: Vec<&Player> = players
        .iter()
        .zip(&written)
        .filter(|(_, w)| **w)
        .map(|(p, _)| p)
        .collect();
    super::in_uid_order(&mut due, |p| &p.uid);
    let count = due.len();
    let rebuilt = if stored == 0 && count >= REBUILD_INDEXES_FROM {
        drop_indexes(tx)?
    } else {
        Vec::new()
    };
    for p in due {
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
    for sql in rebuilt {
        tx.execute_batch(&sql)?;
    }
    let mut quiet = tx.prepare_cached(
        "UPDATE players SET today = 0, this_week = 0, this_month = 0, listed = 0, last_changed = ?2
         WHERE uid = ?1",
    )?;
    for uid in &unlisted {
        quiet.execute(params![uid, seen_at])?;
    }
    Ok(count)
}

/// From how many rows into an empty table building the indexes afterwards pays: below
/// it the drop and rebuild cost more than they save, and tests keep the plain path.
const REBUILD_INDEXES_FROM: usize = 5_000;

/// Drops the players table's own indexes (not its primary key's), returning the SQL
/// that makes them again.
fn drop_indexes(tx: &Transaction<'_>) -> DbResult<Vec<String>> {
    let indexes: Vec<(String, String)> = tx
        .prepare(
            "SELECT name, sql FROM sqlite_schema
             WHERE type = 'index' AND tbl_name = 'players' AND sql IS NOT NULL",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut again = Vec::with_capacity(indexes.len());
    for (name, sql) in indexes {
        tx.execute_batch(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))?;
        again.push(sql);
    }
    Ok(again)
}

/// A text column read in place.
fn text<'a>(row: &'a rusqlite::Row<'_>, column: usize) -> rusqlite::Result<&'a str> {
    row.get_ref(column)?.as_str().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, e.into())
    })
}

/// The source and day whose samples `player_history` holds for every player with an
/// amount: within that day, a player whose row did not change has its sample already.
const HISTORY_DAY: &str = "player_history_complete_for";

/// One sample per player per day; a later sync the same day replaces it. Players who
/// never wagered are left out: most referred players never do. Runs after [`apply`],
/// from the rows it left: the players the answer listed are the `listed` rows, the
/// ones it changed are those whose `last_changed` is `seen_at`. Once a day's samples
/// are complete, a later sync that day writes only the samples of rows it changed.
///
/// One `INSERT … SELECT` inside SQLite: a first sync's 100,000 samples took 250 ms as
/// one bound statement per row, 40–60 ms this way (`GOATED_LOG__LEVEL=debug` shows it).
pub fn record_history(
    tx: &Transaction<'_>,
    day: &str,
    source: &str,
    seen_at: &str,
) -> DbResult<()> {
    let this_day = format!("{source} {day}");
    let complete = super::settings::get(tx, HISTORY_DAY)?.as_deref() == Some(this_day.as_str());
    tx.prepare_cached(
        "INSERT OR REPLACE INTO player_history (uid, day, today, this_week, this_month, all_time, source)
         SELECT uid, ?1, today, this_week, this_month, all_time, source FROM players
         WHERE listed = 1 AND all_time > 0 AND source = ?2 AND (NOT ?3 OR last_changed = ?4)",
    )?
    .execute(params![day, source, complete, seen_at])?;
    super::settings::set(tx, HISTORY_DAY, &this_day, seen_at)
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    type Row = (String, [u64; 4], String);

    fn table(tx: &Transaction<'_>, sql: &str) -> BTreeMap<String, Row> {
        let mut stmt = tx.prepare(sql).unwrap();
        stmt.query_map([], |r| {
            let amounts: [f64; 4] = [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?];
            Ok((
                r.get::<_, String>(0)?,
                (r.get(1)?, amounts.map(f64::to_bits), r.get(6)?),
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    /// A first sync large enough to rebuild the indexes leaves them as the schema makes
    /// them: the name lookup finds players through its index, before and after a
    /// rolled-back answer.
    #[test]
    fn a_large_first_answer_leaves_the_name_index_in_place() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut conn).unwrap();
        let schema = |conn: &Connection| -> Vec<String> {
            conn.prepare("SELECT sql FROM sqlite_schema WHERE tbl_name = 'players' ORDER BY name")
                .unwrap()
                .query_map([], |r| r.get::<_, Option<String>>(0))
                .unwrap()
                .map(|r| r.unwrap().unwrap_or_default())
                .collect()
        };
        let before = schema(&conn);
        let players: Vec<Player> = (0..REBUILD_INDEXES_FROM + 7)
            .map(|i| Player {
                uid: format!("u{i}"),
                name: format!("Name{}", i * 7919 % 10_007),
                wagered: Buckets {
                    all_time: 1.0,
                    ..Buckets::default()
                },
            })
            .collect();
        let tx = conn.transaction().unwrap();
        assert_eq!(apply(&tx, &players, "t", "live").unwrap(), players.len());
        tx.rollback().unwrap();
        assert_eq!(
            schema(&conn),
            before,
            "a rolled-back answer leaves the indexes"
        );
        let tx = conn.transaction().unwrap();
        apply(&tx, &players, "t", "live").unwrap();
        tx.commit().unwrap();
        assert_eq!(schema(&conn), before);
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT uid, name FROM players WHERE name = 'x' COLLATE NOCASE",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("players_name"), "{plan}");
        let found = by_name(&conn, "NAME7919").unwrap();
        assert_eq!(found, vec![("u1".to_string(), "Name7919".to_string())]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// Writing only what changed leaves the tables as writing every answer whole
        /// would: after each answer (over days, sources, players coming, going,
        /// renamed, wagering or not), every listed player's row is the answer's, every
        /// unlisted one has no current activity, and each day holds the last sample of
        /// every player with an amount that an answer that day listed.
        #[test]
        fn players_and_history_written_by_difference_are_every_answer_whole(
            answers in prop::collection::vec(
                (0u8..2, prop::bool::weighted(0.1),
                 prop::collection::hash_map(0u8..5, (0u8..2, [0u8..2, 0u8..2, 0u8..2, 0u8..2]), 0..5)),
                1..12)
        ) {
            let mut conn = Connection::open_in_memory().unwrap();
            crate::db::migrate(&mut conn).unwrap();
            let mut rows: BTreeMap<String, Row> = BTreeMap::new();
            let mut samples: BTreeMap<String, Row> = BTreeMap::new();
            let mut source = "live";
            for (n, (day, switch, answer)) in answers.iter().enumerate() {
                if *switch {
                    source = if source == "live" { "demo" } else { "live" };
                }
                let day = format!("2026-11-0{}", day + 1);
                let players: Vec<Player> = answer
                    .iter()
                    .map(|(u, (name, amounts))| {
                        // Each bucket on its own: a player listed again with no current
                        // activity looks just like their quieted row.
                        let [today, this_week, this_month, all_time] =
                            amounts.map(|a| f64::from(a) * 1.25);
                        Player {
                            uid: format!("u{u}"),
                            name: format!("N{name}"),
                            wagered: Buckets { today, this_week, this_month, all_time },
                        }
                    })
                    .collect();
                for row in rows.values_mut() {
                    row.1 = [0.0f64.to_bits(), 0.0f64.to_bits(), 0.0f64.to_bits(), row.1[3]];
                }
                for p in &players {
                    let b = p.wagered;
                    let bits = [b.today, b.this_week, b.this_month, b.all_time].map(f64::to_bits);
                    rows.insert(p.uid.clone(), (p.name.clone(), bits, source.to_string()));
                    if b.all_time > 0.0 {
                        samples.insert(format!("{} {day}", p.uid), (day.clone(), bits, source.to_string()));
                    }
                }
                let tx = conn.transaction().unwrap();
                let at = format!("2026-11-10T00:{n:02}:00.000Z");
                apply(&tx, &players, &at, source).unwrap();
                record_history(&tx, &day, source, &at).unwrap();
                let got_rows = table(&tx, "SELECT uid, name, today, this_week, this_month, all_time, source FROM players");
                let got_samples = table(&tx, "SELECT uid || ' ' || day, day, today, this_week, this_month, all_time, source FROM player_history");
                tx.commit().unwrap();
                prop_assert_eq!(&got_rows, &rows, "players after answer {}", n);
                prop_assert_eq!(&got_samples, &samples, "history after answer {}", n);
            }
        }
    }
}
