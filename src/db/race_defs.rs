//! Race definitions besides the monthly race (weekly occurrences, custom windows), weekly
//! series, and the all_time baselines that races ranked by difference start from.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::{DbError, DbResult, parse_timestamp, timestamp};
use crate::domain::Cents;
use crate::domain::races::{Basis, Race, RaceKind, Rules};

const DEF_COLUMNS: &str = "race_id, kind, name, starts_at, ends_at, prize_pool_cents,
    distribution, min_wager_cents, series_id, cancelled_at";

fn shares(text: &str, what: &str) -> DbResult<Vec<f64>> {
    serde_json::from_str(text).map_err(|e| DbError::Corrupt(format!("{what}: {e}")))
}

fn read_def(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawDef> {
    Ok(RawDef {
        id: r.get(0)?,
        kind: r.get(1)?,
        name: r.get(2)?,
        starts_at: r.get(3)?,
        ends_at: r.get(4)?,
        pool: r.get(5)?,
        distribution: r.get(6)?,
        min_wager: r.get(7)?,
        series_id: r.get(8)?,
        cancelled_at: r.get(9)?,
    })
}

struct RawDef {
    id: String,
    kind: String,
    name: String,
    starts_at: String,
    ends_at: String,
    pool: i64,
    distribution: String,
    min_wager: i64,
    series_id: Option<i64>,
    cancelled_at: Option<String>,
}

impl RawDef {
    fn into_race(self) -> DbResult<Race> {
        let kind = RaceKind::parse(&self.kind)
            .ok_or_else(|| DbError::Corrupt(format!("race_defs.kind {:?}", self.kind)))?;
        Ok(Race {
            rules: Rules {
                prize_pool: Cents(self.pool),
                distribution: shares(&self.distribution, &self.id)?,
                min_wager: Cents(self.min_wager),
            },
            kind,
            name: self.name,
            start: parse_timestamp(&self.starts_at)?,
            end: parse_timestamp(&self.ends_at)?,
            basis: Basis::AllTimeDifference,
            series_id: self.series_id,
            cancelled_at: self
                .cancelled_at
                .as_deref()
                .map(parse_timestamp)
                .transpose()?,
            id: self.id,
        })
    }
}

fn many(conn: &Connection, filter: &str, args: impl rusqlite::Params) -> DbResult<Vec<Race>> {
    let sql = format!("SELECT {DEF_COLUMNS} FROM race_defs {filter}");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(args, read_def)?;
    rows.map(|r| r?.into_race()).collect()
}

pub fn get(conn: &Connection, race_id: &str) -> DbResult<Option<Race>> {
    let sql = format!("SELECT {DEF_COLUMNS} FROM race_defs WHERE race_id = ?1");
    conn.query_row(&sql, [race_id], read_def)
        .optional()?
        .map(RawDef::into_race)
        .transpose()
}

/// Races not cancelled whose window contains `at`.
pub fn live_at(conn: &Connection, at: &str) -> DbResult<Vec<Race>> {
    many(
        conn,
        "WHERE cancelled_at IS NULL AND starts_at <= ?1 AND ends_at > ?1 ORDER BY starts_at, race_id",
        [at],
    )
}

/// Every race, cancelled ones too, by start.
pub fn all(conn: &Connection) -> DbResult<Vec<Race>> {
    many(conn, "ORDER BY starts_at, race_id", [])
}

/// The first end of a race not cancelled after `after`.
pub fn next_end_after(conn: &Connection, after: &str) -> DbResult<Option<String>> {
    Ok(conn.query_row(
        "SELECT min(ends_at) FROM race_defs WHERE cancelled_at IS NULL AND ends_at > ?1",
        [after],
        |r| r.get(0),
    )?)
}

pub fn exists(conn: &Connection, race_id: &str) -> DbResult<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM race_defs WHERE race_id = ?1)
             OR EXISTS (SELECT 1 FROM races WHERE race_id = ?1)",
        [race_id],
        |r| r.get(0),
    )?)
}

/// Every race id in use: defined races and final results.
pub fn ids(conn: &Connection) -> DbResult<std::collections::HashSet<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT race_id FROM race_defs UNION SELECT race_id FROM races")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn insert(conn: &Connection, race: &Race, now: &str) -> DbResult<()> {
    conn.execute(
        "INSERT INTO race_defs (race_id, kind, name, starts_at, ends_at, prize_pool_cents,
             distribution, min_wager_cents, series_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
        params![
            race.id,
            race.kind.as_str(),
            race.name,
            timestamp(race.start),
            timestamp(race.end),
            race.rules.prize_pool.0,
            super::shares_json(&race.rules.distribution),
            race.rules.min_wager.0,
            race.series_id,
            now,
        ],
    )?;
    Ok(())
}

/// Writes a race's name, window and rules (the id, kind and series stay).
pub fn update(conn: &Connection, race: &Race, now: &str) -> DbResult<()> {
    conn.execute(
        "UPDATE race_defs SET name = ?2, starts_at = ?3, ends_at = ?4, prize_pool_cents = ?5,
             distribution = ?6, min_wager_cents = ?7, updated_at = ?8 WHERE race_id = ?1",
        params![
            race.id,
            race.name,
            timestamp(race.start),
            timestamp(race.end),
            race.rules.prize_pool.0,
            super::shares_json(&race.rules.distribution),
            race.rules.min_wager.0,
            now,
        ],
    )?;
    Ok(())
}

pub fn cancel(conn: &Connection, race_id: &str, now: &str) -> DbResult<()> {
    conn.execute(
        "UPDATE race_defs SET cancelled_at = ?2, updated_at = ?2 WHERE race_id = ?1",
        params![race_id, now],
    )?;
    Ok(())
}

/// A weekly series as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub id: i64,
    pub name: String,
    pub weekday: u32,
    pub hour: u32,
    pub rules: Rules,
    pub active: bool,
    pub source: String,
    pub created_at: String,
}

fn read_series(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Series, String)> {
    Ok((
        Series {
            id: r.get(0)?,
            name: r.get(1)?,
            weekday: r.get(2)?,
            hour: r.get(3)?,
            rules: Rules {
                prize_pool: Cents(r.get(4)?),
                distribution: Vec::new(),
                min_wager: Cents(r.get(6)?),
            },
            active: r.get(7)?,
            source: r.get(8)?,
            created_at: r.get(9)?,
        },
        r.get(5)?,
    ))
}

const SERIES_COLUMNS: &str = "id, name, start_weekday, start_hour, prize_pool_cents,
    distribution, min_wager_cents, active, source, created_at";

pub fn series(conn: &Connection) -> DbResult<Vec<Series>> {
    let sql = format!("SELECT {SERIES_COLUMNS} FROM race_series ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], read_series)?;
    rows.map(|row| {
        let (mut s, dist) = row?;
        s.rules.distribution = shares(&dist, &format!("race_series {}", s.id))?;
        Ok(s)
    })
    .collect()
}

pub fn get_series(conn: &Connection, id: i64) -> DbResult<Option<Series>> {
    Ok(series(conn)?.into_iter().find(|s| s.id == id))
}

pub fn insert_series(conn: &Connection, s: &Series, now: &str) -> DbResult<i64> {
    conn.execute(
        "INSERT INTO race_series (name, start_weekday, start_hour, prize_pool_cents, distribution,
             min_wager_cents, active, source, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        params![
            s.name,
            s.weekday,
            s.hour,
            s.rules.prize_pool.0,
            super::shares_json(&s.rules.distribution),
            s.rules.min_wager.0,
            s.active,
            s.source,
            now,
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn update_series(conn: &Connection, s: &Series, now: &str) -> DbResult<()> {
    conn.execute(
        "UPDATE race_series SET name = ?2, start_weekday = ?3, start_hour = ?4,
             prize_pool_cents = ?5, distribution = ?6, min_wager_cents = ?7, active = ?8,
             updated_at = ?9 WHERE id = ?1",
        params![
            s.id,
            s.name,
            s.weekday,
            s.hour,
            s.rules.prize_pool.0,
            super::shares_json(&s.rules.distribution),
            s.rules.min_wager.0,
            s.active,
            now,
        ],
    )?;
    Ok(())
}

/// Occurrences of a series that have not started at `now` (not cancelled).
pub fn series_not_started(conn: &Connection, series_id: i64, now: &str) -> DbResult<Vec<Race>> {
    many(
        conn,
        "WHERE series_id = ?1 AND cancelled_at IS NULL AND starts_at > ?2 ORDER BY starts_at",
        params![series_id, now],
    )
}

/// The latest start of a series' occurrences.
pub fn series_last_start(conn: &Connection, series_id: i64) -> DbResult<Option<String>> {
    Ok(conn.query_row(
        "SELECT max(starts_at) FROM race_defs WHERE series_id = ?1",
        [series_id],
        |r| r.get(0),
    )?)
}

/// Stores a race's baseline: every player's all_time in cents.
pub fn set_baseline(
    conn: &Connection,
    race_id: &str,
    values: impl Iterator<Item = (String, i64)>,
) -> DbResult<()> {
    conn.execute("DELETE FROM race_baselines WHERE race_id = ?1", [race_id])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO race_baselines (race_id, uid, all_time_cents) VALUES (?1, ?2, ?3)",
    )?;
    let mut values: Vec<(String, i64)> = values.collect();
    super::in_uid_order(&mut values, |(uid, _)| uid);
    for (uid, cents) in values {
        insert.execute(params![race_id, uid, cents])?;
    }
    Ok(())
}

/// The stored players' all_time in cents: the baseline of a race that starts after the
/// answer they came from.
pub fn players_all_time(conn: &Connection) -> DbResult<Vec<(String, i64)>> {
    let mut stmt = conn.prepare_cached("SELECT uid, all_time FROM players")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, Cents::from_dollars(r.get(1)?).0))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn baseline(conn: &Connection, race_id: &str) -> DbResult<HashMap<String, i64>> {
    let mut stmt =
        conn.prepare_cached("SELECT uid, all_time_cents FROM race_baselines WHERE race_id = ?1")?;
    let rows = stmt.query_map([race_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
