//! Races of every kind as the rest of the product asks about them: which races exist,
//! which are live at an instant, their rules, their weekly occurrences, and (in
//! [`finalize`]) their final results; [`manage`] is what admins may change. The rules
//! themselves are pure, in `domain::races`; storage is `db::race_defs` and `db::races`.

pub mod finalize;
pub mod manage;
pub mod payouts;
pub mod prizes;

use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;

use crate::config::RaceConfig;
use crate::db::race_defs::{self, Series};
use crate::db::{DbResult, races, timestamp};
use crate::domain::calendar::Calendar;
use crate::domain::races::{Race, Rules, Weekly};
use crate::domain::{Cents, RaceId};

/// The monthly calendar of a configuration.
pub fn calendar(race: &RaceConfig) -> Calendar {
    Calendar {
        offset_minutes: race.timezone_offset_minutes,
        transition_hours: race.transition_hours,
    }
}

/// The rules of the monthly race `race_id`: an admin's override, or the configured ones.
pub fn monthly_rules(conn: &Connection, config: &RaceConfig, race_id: &str) -> DbResult<Rules> {
    let (prize_pool, distribution) = races::prize_override(conn, race_id)?.unwrap_or_else(|| {
        (
            Cents::from_dollars(config.prize_pool),
            config.prize_distribution.clone(),
        )
    });
    Ok(Rules {
        prize_pool,
        distribution,
        min_wager: Cents::from_dollars(config.min_wager),
    })
}

pub fn monthly(conn: &Connection, config: &RaceConfig, id: RaceId) -> DbResult<Race> {
    let rules = monthly_rules(conn, config, &id.to_string())?;
    Ok(Race::monthly(&calendar(config), id, rules))
}

/// Any race by id: a month `YYYYMM`, or a defined race (cancelled ones too).
pub fn find(conn: &Connection, config: &RaceConfig, id: &str) -> DbResult<Option<Race>> {
    match RaceId::parse(id) {
        Some(month) => Ok(Some(monthly(conn, config, month)?)),
        None => race_defs::get(conn, id),
    }
}

/// The races an answer received at `at` belongs to: the month, and every defined race
/// (not cancelled) whose window contains it.
pub fn live_at(conn: &Connection, config: &RaceConfig, at: DateTime<Utc>) -> DbResult<Vec<Race>> {
    let month = calendar(config).race_at(at);
    let mut live = vec![monthly(conn, config, month)?];
    live.extend(race_defs::live_at(conn, &timestamp(at))?);
    Ok(live)
}

/// The first end of any race after `now`: the scheduler syncs just before it and
/// finalizes right after it.
pub fn next_end_after(
    conn: &Connection,
    config: &RaceConfig,
    now: DateTime<Utc>,
) -> DbResult<DateTime<Utc>> {
    let month_end = calendar(config).end(calendar(config).race_at(now));
    let defined = race_defs::next_end_after(conn, &timestamp(now))?
        .map(|t| crate::db::parse_timestamp(&t))
        .transpose()?;
    Ok(defined.map_or(month_end, |d| d.min(month_end)))
}

/// How far ahead weekly occurrences are written, so they show as upcoming.
const WEEKLY_AHEAD: i64 = 8;

/// Writes every active series' occurrences that start before `now` + 8 days, from the
/// series' creation on (a series never starts in the past). Idempotent.
pub fn ensure_weekly(conn: &Connection, offset_minutes: i32, now: DateTime<Utc>) -> DbResult<()> {
    let horizon = now + Duration::days(WEEKLY_AHEAD);
    let stamp = timestamp(now);
    for s in race_defs::series(conn)?.into_iter().filter(|s| s.active) {
        let rhythm = rhythm(&s, offset_minutes);
        let from = match race_defs::series_last_start(conn, s.id)? {
            Some(last) => crate::db::parse_timestamp(&last)? + Duration::seconds(1),
            None => crate::db::parse_timestamp(&s.created_at)?,
        };
        let mut start = rhythm.next_start(from);
        while start < horizon {
            let race = occurrence(&s, &rhythm, start);
            if !race_defs::exists(conn, &race.id)? {
                race_defs::insert(conn, &race, &stamp)?;
            }
            start += Duration::days(7);
        }
    }
    Ok(())
}

fn rhythm(s: &Series, offset_minutes: i32) -> Weekly {
    Weekly {
        weekday: s.weekday,
        hour: s.hour,
        offset_minutes,
    }
}

/// The occurrence of series `s` starting at `start`.
fn occurrence(s: &Series, rhythm: &Weekly, start: DateTime<Utc>) -> Race {
    Race {
        id: rhythm.id(start, s.id),
        kind: crate::domain::races::RaceKind::Weekly,
        name: s.name.clone(),
        start,
        end: start + Duration::days(7),
        rules: s.rules.clone(),
        basis: crate::domain::races::Basis::AllTimeDifference,
        series_id: Some(s.id),
        cancelled_at: None,
    }
}

/// Every race a list shows at `now`: the ids of finished races (every kind), and the
/// races not final yet: the current month and the next three, and every defined race
/// not cancelled.
pub fn catalog(
    conn: &Connection,
    config: &RaceConfig,
    now: DateTime<Utc>,
) -> DbResult<(Vec<String>, Vec<Race>)> {
    let finished = races::final_race_ids(conn)?;
    let is_final: std::collections::HashSet<&str> = finished.iter().map(String::as_str).collect();
    let mut open = Vec::new();
    let mut month = calendar(config).race_at(now);
    for _ in 0..4 {
        if !is_final.contains(month.to_string().as_str()) {
            open.push(monthly(conn, config, month)?);
        }
        month = month.next();
    }
    for race in race_defs::all(conn)? {
        if race.cancelled_at.is_none() && !is_final.contains(race.id.as_str()) {
            open.push(race);
        }
    }
    Ok((finished, open))
}
