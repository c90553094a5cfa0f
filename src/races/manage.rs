//! What admins change about races: custom races created, edited and cancelled before
//! they start, and weekly series started, changed and stopped. Each function takes the
//! write transaction (the caller writes its audit row in it) and returns its own error.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::db::race_defs::{self, Series};
use crate::db::{DbError, timestamp};
use crate::domain::RaceId;
use crate::domain::races::{self, Basis, Race, RaceKind, RuleError, Weekly};

#[derive(Debug, thiserror::Error)]
pub enum RaceError {
    #[error("{}", .0.message)]
    Invalid(RuleError),
    #[error("{0}")]
    NotFound(String),
    /// The race has started (or is the monthly race, or was cancelled): it cannot change.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::use_case_error!(RaceError);

impl From<RuleError> for RaceError {
    fn from(e: RuleError) -> Self {
        RaceError::Invalid(e)
    }
}

impl From<rusqlite::Error> for RaceError {
    fn from(e: rusqlite::Error) -> Self {
        RaceError::Db(e.into())
    }
}

/// A custom race as an admin describes it (dollars, shares, instants).
#[derive(Debug, Clone)]
pub struct NewRace {
    pub name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub prize_pool: f64,
    pub distribution: Vec<f64>,
    pub min_wager: f64,
}

pub fn create(conn: &Connection, new: NewRace, now: DateTime<Utc>) -> Result<Race, RaceError> {
    let name = races::name(&new.name)?;
    let (start, end) = races::window(new.starts_at, new.ends_at, now)?;
    let rules = races::rules(new.prize_pool, new.distribution, new.min_wager)?;
    // The ids in use, read once: the search for a free suffix asks no database (a read
    // error there could only have said "taken", for ever).
    let taken = race_defs::ids(conn)?;
    let id = races::custom_id(&name, |id| taken.contains(id));
    let race = Race {
        id,
        kind: RaceKind::Custom,
        name,
        start,
        end,
        rules,
        basis: Basis::AllTimeDifference,
        series_id: None,
        cancelled_at: None,
    };
    race_defs::insert(conn, &race, &timestamp(now))?;
    Ok(race)
}

/// Changes to a race that has not started; `None` keeps what is there.
#[derive(Debug, Clone, Default)]
pub struct RaceEdit {
    pub name: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub prize_pool: Option<f64>,
    pub distribution: Option<Vec<f64>>,
    pub min_wager: Option<f64>,
}

/// The defined race `id`, if it may still change at `now`.
fn changeable(conn: &Connection, id: &str, now: DateTime<Utc>) -> Result<Race, RaceError> {
    if RaceId::parse(id).is_some() {
        return Err(RaceError::Conflict(format!(
            "Race {id} is the monthly race: its prizes change through /api/admin/races/{id}/prizes."
        )));
    }
    let race = race_defs::get(conn, id)?
        .ok_or_else(|| RaceError::NotFound(format!("There is no race {id}.")))?;
    if race.cancelled_at.is_some() {
        return Err(RaceError::Conflict(format!("Race {id} was cancelled.")));
    }
    if race.start <= now {
        return Err(RaceError::Conflict(format!(
            "Race {id} has started: its window and rules are fixed."
        )));
    }
    Ok(race)
}

pub fn edit(
    conn: &Connection,
    id: &str,
    edit: RaceEdit,
    now: DateTime<Utc>,
) -> Result<Race, RaceError> {
    let mut race = changeable(conn, id, now)?;
    if let Some(name) = edit.name {
        race.name = races::name(&name)?;
    }
    let (start, end) = races::window(
        edit.starts_at.unwrap_or(race.start),
        edit.ends_at.unwrap_or(race.end),
        now,
    )?;
    race.rules = races::rules(
        edit.prize_pool
            .unwrap_or(race.rules.prize_pool.to_dollars()),
        edit.distribution.unwrap_or(race.rules.distribution),
        edit.min_wager.unwrap_or(race.rules.min_wager.to_dollars()),
    )?;
    (race.start, race.end) = (start, end);
    race_defs::update(conn, &race, &timestamp(now))?;
    Ok(race)
}

pub fn cancel(conn: &Connection, id: &str, now: DateTime<Utc>) -> Result<Race, RaceError> {
    let mut race = changeable(conn, id, now)?;
    race_defs::cancel(conn, id, &timestamp(now))?;
    race.cancelled_at = Some(now);
    Ok(race)
}

/// A weekly series as an admin describes it.
#[derive(Debug, Clone)]
pub struct NewSeries {
    pub name: String,
    pub start_weekday: u32,
    pub start_hour: u32,
    pub prize_pool: f64,
    pub distribution: Vec<f64>,
    pub min_wager: f64,
}

impl NewSeries {
    /// The weekly series demo mode runs (and the database growth example): Mondays
    /// 00:00, $100 split 50 / 30 / 20.
    pub fn demo() -> NewSeries {
        NewSeries {
            name: "Weekly Race".into(),
            start_weekday: 1,
            start_hour: 0,
            prize_pool: 100.0,
            distribution: vec![0.5, 0.3, 0.2],
            min_wager: 0.0,
        }
    }
}

/// Starts a series: its first race is the first occurrence from `now` on (never one
/// already running), written with the next one at once.
pub fn create_series(
    conn: &Connection,
    new: NewSeries,
    offset_minutes: i32,
    now: DateTime<Utc>,
    source: &str,
) -> Result<Series, RaceError> {
    let mut series = series_from(0, new)?;
    series.source = source.to_string();
    let stamp = timestamp(now);
    series.created_at = stamp.clone();
    series.id = race_defs::insert_series(conn, &series, &stamp)?;
    super::ensure_weekly(conn, offset_minutes, now)?;
    Ok(series)
}

fn series_from(id: i64, new: NewSeries) -> Result<Series, RaceError> {
    Weekly::check(new.start_weekday, new.start_hour)?;
    Ok(Series {
        id,
        name: races::name(&new.name)?,
        weekday: new.start_weekday,
        hour: new.start_hour,
        rules: races::rules(new.prize_pool, new.distribution, new.min_wager)?,
        active: true,
        source: String::new(),
        created_at: String::new(),
    })
}

/// Changes a series from its next race on: races not started yet are rewritten (a new
/// weekday or hour moves them), the running one keeps the rules it started with.
pub fn edit_series(
    conn: &Connection,
    id: i64,
    new: NewSeries,
    offset_minutes: i32,
    now: DateTime<Utc>,
) -> Result<Series, RaceError> {
    let old = race_defs::get_series(conn, id)?
        .filter(|s| s.active)
        .ok_or_else(|| RaceError::NotFound(format!("There is no active weekly series {id}.")))?;
    let mut series = series_from(id, new)?;
    series.source = old.source;
    series.created_at = old.created_at;
    let stamp = timestamp(now);
    race_defs::update_series(conn, &series, &stamp)?;
    for race in race_defs::series_not_started(conn, id, &stamp)? {
        conn.execute("DELETE FROM race_defs WHERE race_id = ?1", [&race.id])?;
    }
    super::ensure_weekly(conn, offset_minutes, now)?;
    Ok(series)
}

/// Stops a series: no new races; those not started are cancelled; a running one ends
/// as planned.
pub fn stop_series(conn: &Connection, id: i64, now: DateTime<Utc>) -> Result<Series, RaceError> {
    let mut series = race_defs::get_series(conn, id)?
        .filter(|s| s.active)
        .ok_or_else(|| RaceError::NotFound(format!("There is no active weekly series {id}.")))?;
    series.active = false;
    let stamp = timestamp(now);
    race_defs::update_series(conn, &series, &stamp)?;
    for race in race_defs::series_not_started(conn, id, &stamp)? {
        race_defs::cancel(conn, &race.id, &stamp)?;
    }
    Ok(series)
}
