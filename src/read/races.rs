//! Race views: a race not final yet from its snapshot, a finished one from its stored
//! result. Every kind of race is viewed the same way.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::DataVersion;
use super::masking::Masker;
use crate::db::{DbResult, parse_timestamp, races};
use crate::domain::RaceId;
use crate::domain::masking::NameMasking;
use crate::domain::races::{Race, RaceKind, month_name};
use crate::domain::ranking::{Standing, standings};
use crate::domain::{Cents, RaceStatus};

#[derive(Debug, Clone)]
pub struct RaceView {
    pub id: String,
    pub kind: RaceKind,
    pub name: String,
    pub version: DataVersion,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub transition_end: DateTime<Utc>,
    pub prize_pool: Cents,
    pub distribution: Vec<f64>,
    pub standings: Vec<Standing>,
    pub total_wagered: Cents,
    /// True for a stored final result.
    pub is_final: bool,
    /// For a final result: when the sync whose data it is started.
    pub synced_at: Option<String>,
    /// When the race is counted from, if later than its start: no answer was received
    /// before it started (a first install), so wagers before this moment are unknown.
    pub tracked_from: Option<String>,
}

impl RaceView {
    pub fn status(&self, now: DateTime<Utc>) -> RaceStatus {
        RaceStatus::at(now, self.start, self.end, self.transition_end)
    }
}

/// A race in a list: what it is, its totals and its podium, without every standing.
#[derive(Debug, Clone)]
pub struct Headline {
    pub id: String,
    pub kind: RaceKind,
    pub name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub transition_end: DateTime<Utc>,
    pub prize_pool: Cents,
    pub total_wagered: Cents,
    pub participant_count: usize,
    /// The top three positions (more rows when tied).
    pub podium: Vec<Standing>,
}

impl Headline {
    pub fn of(view: &RaceView) -> Headline {
        Headline {
            id: view.id.clone(),
            kind: view.kind,
            name: view.name.clone(),
            start: view.start,
            end: view.end,
            transition_end: view.transition_end,
            prize_pool: view.prize_pool,
            total_wagered: view.total_wagered,
            participant_count: view.standings.len(),
            podium: view
                .standings
                .iter()
                .take_while(|s| s.position <= 3)
                .cloned()
                .collect(),
        }
    }

    pub fn status(&self, now: DateTime<Utc>) -> RaceStatus {
        RaceStatus::at(now, self.start, self.end, self.transition_end)
    }
}

/// A finished race's headline from its stored result: its podium only, not every row.
pub fn stored_headline(
    conn: &Connection,
    id: &str,
    transition_hours: u32,
    masker: &Masker,
) -> DbResult<Option<Headline>> {
    let Some(race) = races::final_race(conn, id)? else {
        return Ok(None);
    };
    let mut podium = races::podium(conn, id)?;
    masker.standings(&mut podium);
    let end = parse_timestamp(&race.end_date)?;
    Ok(Some(Headline {
        name: display_name(&race.race_id, race.name),
        id: race.race_id,
        kind: race.kind,
        start: parse_timestamp(&race.start_date)?,
        end,
        transition_end: end + chrono::Duration::hours(i64::from(transition_hours)),
        prize_pool: race.prize_pool,
        total_wagered: race.total_wagered,
        participant_count: race.participant_count.max(0) as usize,
        podium,
    }))
}

/// A stored race's name; monthly races finalized before races had names are named
/// after their month.
fn display_name(race_id: &str, stored: String) -> String {
    match RaceId::parse(race_id) {
        Some(month) if stored.is_empty() => month_name(month),
        _ => stored,
    }
}

/// A race not final yet: its snapshot ranked with its rules. A race with no snapshot
/// yet (before its first sync) has no participants.
pub fn live(
    conn: &Connection,
    race: &Race,
    transition_hours: u32,
    masking: NameMasking,
    version: DataVersion,
) -> DbResult<RaceView> {
    let entries = races::snapshot_entries(conn, &race.id)?;
    let rules = &race.rules;
    let mut ranked = standings(
        entries,
        rules.min_wager,
        rules.prize_pool,
        &rules.distribution,
    );
    // Ranked (ties listed by real name) first, masked after.
    Masker::load(conn, masking)?.standings(&mut ranked);
    let tracked_from = match races::snapshot_meta(conn, &race.id)?.and_then(|m| m.baseline_at) {
        Some(at) if race.tracked_late(parse_timestamp(&at)?) => Some(at),
        _ => None,
    };
    Ok(RaceView {
        id: race.id.clone(),
        kind: race.kind,
        name: race.name.clone(),
        version,
        start: race.start,
        end: race.end,
        transition_end: race.transition_end(transition_hours),
        prize_pool: rules.prize_pool,
        distribution: rules.distribution.clone(),
        total_wagered: Cents::total(ranked.iter().map(|s| s.wagered)),
        standings: ranked,
        is_final: false,
        synced_at: None,
        tracked_from,
    })
}

/// A finished race as stored at finalization; `None` when it has no result.
pub fn stored(
    conn: &Connection,
    id: &str,
    transition_hours: u32,
    masking: NameMasking,
    version: DataVersion,
) -> DbResult<Option<RaceView>> {
    let Some(race) = races::final_race(conn, id)? else {
        return Ok(None);
    };
    let mut standings = races::final_results(conn, &race.race_id, u32::MAX)?;
    Masker::load(conn, masking)?.standings(&mut standings);
    let end = parse_timestamp(&race.end_date)?;
    Ok(Some(RaceView {
        name: display_name(&race.race_id, race.name),
        id: race.race_id,
        kind: race.kind,
        version,
        start: parse_timestamp(&race.start_date)?,
        end,
        transition_end: end + chrono::Duration::hours(i64::from(transition_hours)),
        prize_pool: race.prize_pool,
        distribution: race.distribution,
        standings,
        total_wagered: race.total_wagered,
        is_final: true,
        synced_at: race.sync_started_at,
        tracked_from: race.tracked_from,
    }))
}
