//! Turning a race's last good standings into its final result, exactly once.

use chrono::{DateTime, Utc};

use crate::config::RaceConfig;
use crate::db::races::{self, FinalRace};
use crate::db::{Db, DbResult, parse_timestamp, timestamp};
use crate::db::{payouts, proofs};
use crate::domain::Cents;
use crate::domain::ranking::{Standing, standings};

/// Finalizes every race (of any kind) that ended at or before `now` and has live data
/// but no result. Each race is one transaction that re-checks it is not final yet, so
/// running this again, or after a crash at any point, never writes a result twice.
pub fn finalize_due(db: &Db, config: &RaceConfig, now: DateTime<Utc>) -> DbResult<Vec<String>> {
    let due = {
        let conn = db.reader()?;
        let mut due = Vec::new();
        for race_id in races::unfinalized(&conn)? {
            if let Some(race) = super::find(&conn, config, &race_id)? {
                if race.end <= now && race.cancelled_at.is_none() {
                    due.push(race);
                }
            }
        }
        due.sort_by(|a, b| (a.end, &a.id).cmp(&(b.end, &b.id)));
        due
    };
    let mut done = Vec::new();
    for race in due {
        let written = db.write_blocking(|tx| {
            let Some(meta) = races::snapshot_meta(tx, &race.id)? else {
                return Ok(false);
            };
            // The monthly race's rules may have been overridden since the list was made.
            let race = super::find(tx, config, &race.id)?.unwrap_or_else(|| race.clone());
            let rules = &race.rules;
            let ranked = standings(
                races::snapshot_entries(tx, &race.id)?,
                rules.min_wager,
                rules.prize_pool,
                &rules.distribution,
            );
            let tracked_from = match &meta.baseline_at {
                Some(at) if race.tracked_late(parse_timestamp(at)?) => Some(at.clone()),
                _ => None,
            };
            let result = FinalRace {
                race_id: race.id.clone(),
                kind: race.kind,
                name: race.name.clone(),
                source: meta.source.clone(),
                tracked_from,
                start_date: timestamp(race.start),
                end_date: timestamp(race.end),
                prize_pool: rules.prize_pool,
                distribution: rules.distribution.clone(),
                min_wager: rules.min_wager,
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
            proofs::seal(tx, &race.id, &at)?;
            payouts::create_for_race(tx, &race.id, &at)?;
            // The baseline has done its work: the result is fixed. Dropping it keeps the
            // database from growing by every player's row for every race ever run.
            tx.execute("DELETE FROM race_baselines WHERE race_id = ?1", [&race.id])?;
            Ok(true)
        })?;
        if written {
            tracing::info!(race = %race.id, kind = race.kind.as_str(), "race finalized");
            done.push(race.id);
        }
    }
    Ok(done)
}
