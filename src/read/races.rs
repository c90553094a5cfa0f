//! Race views: the live race from its snapshot, finished races from their stored result.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::DataVersion;
use crate::config::RaceConfig;
use crate::db::{DbResult, parse_timestamp, races};
use crate::domain::calendar::Calendar;
use crate::domain::ranking::{Standing, standings};
use crate::domain::{Cents, RaceId, RaceStatus};
use crate::sync::finalize::prizes_for;

#[derive(Debug, Clone)]
pub struct RaceView {
    pub id: RaceId,
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
}

impl RaceView {
    pub fn status(&self, calendar: &Calendar, now: DateTime<Utc>) -> RaceStatus {
        calendar.status(self.id, now)
    }
}

/// The live race: the snapshot of its month ranked with its prize settings. A race with
/// no snapshot yet (a new month before its first sync) has no participants.
pub fn live(
    conn: &Connection,
    race: &RaceConfig,
    calendar: Calendar,
    id: RaceId,
    version: DataVersion,
) -> DbResult<RaceView> {
    let race_id = id.to_string();
    let (pool, shares) = prizes_for(conn, race, &race_id)?;
    let entries = races::snapshot_entries(conn, &race_id)?;
    let ranked = standings(entries, Cents::from_dollars(race.min_wager), pool, &shares);
    Ok(RaceView {
        id,
        version,
        start: calendar.start(id),
        end: calendar.end(id),
        transition_end: calendar.transition_end(id),
        prize_pool: pool,
        distribution: shares,
        total_wagered: Cents::total(ranked.iter().map(|s| s.wagered)),
        standings: ranked,
        is_final: false,
        synced_at: None,
    })
}

/// A finished race as stored at finalization; `None` when it has no result.
pub fn stored(
    conn: &Connection,
    calendar: Calendar,
    id: RaceId,
    version: DataVersion,
) -> DbResult<Option<RaceView>> {
    let Some(race) = races::final_race(conn, &id.to_string())? else {
        return Ok(None);
    };
    let standings = races::final_results(conn, &race.race_id, u32::MAX)?;
    Ok(Some(RaceView {
        id,
        version,
        start: parse_timestamp(&race.start_date)?,
        end: parse_timestamp(&race.end_date)?,
        transition_end: calendar.transition_end(id),
        prize_pool: race.prize_pool,
        distribution: race.distribution,
        standings,
        total_wagered: race.total_wagered,
        is_final: true,
        synced_at: race.sync_started_at,
    }))
}
