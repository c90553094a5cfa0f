//! Turning a month's last good standings into its final result, exactly once.

use chrono::{DateTime, Utc};

use crate::config::RaceConfig;
use crate::db::races::{self, FinalRace};
use crate::db::{Db, DbResult, timestamp};
use crate::db::{payouts, proofs};
use crate::domain::calendar::Calendar;
use crate::domain::ranking::{Standing, standings};
use crate::domain::{Cents, RaceId};

/// Finalizes every race that ended before `now` and has live data but no result. Each
/// race is one transaction that re-checks it is not final yet, so running this again,
/// or after a crash at any point, never writes a result twice.
pub fn finalize_due(db: &Db, race: &RaceConfig, now: DateTime<Utc>) -> DbResult<Vec<String>> {
    let calendar = calendar(race);
    let current = calendar.race_at(now).to_string();
    let due = races::unfinalized_before(&*db.reader()?, &current)?;
    let mut done = Vec::new();
    for race_id in due {
        let written = db.write_blocking(|tx| {
            let Some(meta) = races::snapshot_meta(tx, &race_id)? else {
                return Ok(false);
            };
            let Some(id) = RaceId::parse(&race_id) else {
                return Ok(false);
            };
            let (pool, shares) = prizes_for(tx, race, &race_id)?;
            let min_wager = Cents::from_dollars(race.min_wager);
            let ranked = standings(
                races::snapshot_entries(tx, &race_id)?,
                min_wager,
                pool,
                &shares,
            );
            let result = FinalRace {
                race_id: race_id.clone(),
                start_date: timestamp(calendar.start(id)),
                end_date: timestamp(calendar.end(id)),
                prize_pool: pool,
                distribution: shares,
                min_wager,
                participant_count: ranked.len() as i64,
                total_wagered: Cents::total(ranked.iter().map(|s: &Standing| s.wagered)),
                sync_run_id: Some(meta.sync_run_id),
                sync_started_at: Some(meta.sync_started_at),
                finalized_at: timestamp(now),
            };
            if !races::insert_final(tx, &result, &ranked)? {
                return Ok(false);
            }
            // Fixed in the same transaction as the result: its proof, chained to the
            // race finalized before, and a pending payout for every paid place.
            let at = timestamp(now);
            proofs::seal(tx, &race_id, &at)?;
            payouts::create_for_race(tx, &race_id, &at)?;
            Ok(true)
        })?;
        if written {
            tracing::info!(race = %race_id, "race finalized");
            done.push(race_id);
        }
    }
    Ok(done)
}

pub fn calendar(race: &RaceConfig) -> Calendar {
    Calendar {
        offset_minutes: race.timezone_offset_minutes,
        transition_hours: race.transition_hours,
    }
}

/// The pool and shares of a race: an admin's override, or the configured defaults.
pub fn prizes_for(
    conn: &rusqlite::Connection,
    race: &RaceConfig,
    race_id: &str,
) -> DbResult<(Cents, Vec<f64>)> {
    Ok(races::prize_override(conn, race_id)?.unwrap_or_else(|| {
        (
            Cents::from_dollars(race.prize_pool),
            race.prize_distribution.clone(),
        )
    }))
}
