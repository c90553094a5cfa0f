//! Race snapshots (live standings data), prize overrides, and final results.

use foldhash::HashMap;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{DbError, DbResult};
use crate::domain::Cents;
use crate::domain::races::RaceKind;
use crate::domain::ranking::{Entry, Standing};
use crate::domain::snapshot::{Merge, merge};

/// What an answer did to a race's snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotChange {
    /// Stored; `refused` players reported less than before and kept their amount.
    Stored { refused: Vec<String> },
    /// A snapshot from a sync that started later is there already.
    Older,
    /// Most amounts went down: the race is frozen from now on.
    Reset { went_down: usize, of: usize },
    /// The race was frozen by an earlier reset.
    Frozen,
}

/// Merges `answer`'s entries (an answer received inside the race) into the snapshot of
/// `race_id`: amounts only grow inside a race (see `domain::snapshot`). A snapshot made
/// from another source (demo data before live data arrived) is replaced, never merged:
/// demo and live never mix. `baseline_at` is when the answer the race's baseline came
/// from was received (races ranked by difference), kept from the first answer on.
/// `answer` makes the entries once the stored ones are known, told which players the
/// race holds: it must give theirs even at zero; a zero for anyone else may be left out.
pub fn merge_snapshot(
    tx: &Transaction<'_>,
    race_id: &str,
    run: &SnapshotRun<'_>,
    answer: impl FnOnce(&dyn Fn(&str) -> bool) -> Vec<Entry>,
) -> DbResult<SnapshotChange> {
    let (sync_run_id, sync_started_at) = (run.sync_run_id, run.sync_started_at);
    let state: Option<(String, Option<String>, String)> = tx
        .query_row(
            "SELECT sync_started_at, reset_seen_at, source FROM race_snapshots WHERE race_id = ?1",
            [race_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let source = Some(run.source.to_string());
    let state = state.map(|(a, b, c)| (a, b, Some(c)));
    let same_source = state.as_ref().is_some_and(|s| s.2 == source);
    match &state {
        Some((started, _, _)) if same_source && started.as_str() > sync_started_at => {
            return Ok(SnapshotChange::Older);
        }
        Some((_, Some(_), _)) if same_source => return Ok(SnapshotChange::Frozen),
        _ => {}
    }
    let stored = if same_source {
        snapshot_entries(tx, race_id)?
    } else {
        tx.execute(
            "UPDATE race_snapshots SET reset_seen_at = NULL WHERE race_id = ?1",
            [race_id],
        )?;
        Vec::new()
    };
    let before: HashMap<&str, &Entry> = stored.iter().map(|e| (e.uid.as_str(), e)).collect();
    // `answer` is told which players the race holds: their zeros go in (an amount that
    // fell to zero is the clearest sign of a reset), other zeros need not.
    let entries = answer(&|uid| before.contains_key(uid));
    let (merged, refused) = match merge(&stored, entries) {
        Merge::Reset { went_down, of } => {
            tx.execute(
                "UPDATE race_snapshots SET reset_seen_at = ?2 WHERE race_id = ?1",
                params![race_id, sync_started_at],
            )?;
            return Ok(SnapshotChange::Reset { went_down, of });
        }
        Merge::Merged { entries, refused } => (entries, refused),
    };
    if !same_source {
        tx.execute(
            "DELETE FROM race_snapshot_entries WHERE race_id = ?1",
            [race_id],
        )?;
    }
    tx.execute(
        "INSERT INTO race_snapshots (race_id, sync_run_id, sync_started_at, source, baseline_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (race_id) DO UPDATE SET sync_run_id = excluded.sync_run_id,
             sync_started_at = excluded.sync_started_at, source = excluded.source,
             baseline_at = CASE WHEN race_snapshots.source = excluded.source
                 THEN race_snapshots.baseline_at ELSE excluded.baseline_at END",
        params![
            race_id,
            sync_run_id,
            sync_started_at,
            run.source,
            run.baseline_at
        ],
    )?;
    // Only the entries that changed are written: between two syncs most players have
    // not wagered, and the snapshot is most of a sync's writes.
    // The merge keeps every stored entry (at its larger amount), so nothing stored is
    // left to delete; the property test below holds this to the whole-merge result.
    let mut write = tx.prepare_cached(
        "INSERT INTO race_snapshot_entries (race_id, uid, name, wagered_cents) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (race_id, uid) DO UPDATE SET name = excluded.name,
             wagered_cents = excluded.wagered_cents",
    )?;
    let mut changed: Vec<&Entry> = merged
        .iter()
        .filter(|e| {
            e.wagered.0 > 0
                && !before
                    .get(e.uid.as_str())
                    .is_some_and(|o| o.name == e.name && o.wagered == e.wagered)
        })
        .collect();
    super::in_uid_order(&mut changed, |e| &e.uid);
    for e in changed {
        write.execute(params![race_id, e.uid, e.name, e.wagered.0])?;
    }
    Ok(SnapshotChange::Stored { refused })
}

/// The answer a snapshot is merged from.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotRun<'a> {
    pub sync_run_id: i64,
    pub sync_started_at: &'a str,
    /// `live` or `demo`.
    pub source: &'a str,
    pub baseline_at: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotMeta {
    pub sync_run_id: i64,
    pub sync_started_at: String,
    pub source: String,
    pub baseline_at: Option<String>,
}

/// Whether a race has a snapshot from `source` (a race ranked by difference takes its
/// baseline before its first one).
pub fn has_snapshot(conn: &Connection, race_id: &str, source: &str) -> DbResult<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM race_snapshots WHERE race_id = ?1 AND source = ?2)",
        params![race_id, source],
        |r| r.get(0),
    )?)
}

pub fn snapshot_meta(conn: &Connection, race_id: &str) -> DbResult<Option<SnapshotMeta>> {
    Ok(conn
        .query_row(
            "SELECT sync_run_id, sync_started_at, source, baseline_at FROM race_snapshots
             WHERE race_id = ?1",
            [race_id],
            |r| {
                Ok(SnapshotMeta {
                    sync_run_id: r.get(0)?,
                    sync_started_at: r.get(1)?,
                    source: r.get(2)?,
                    baseline_at: r.get(3)?,
                })
            },
        )
        .optional()?)
}

pub fn snapshot_entries(conn: &Connection, race_id: &str) -> DbResult<Vec<Entry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT uid, name, wagered_cents FROM race_snapshot_entries WHERE race_id = ?1",
    )?;
    let rows = stmt.query_map([race_id], |r| {
        Ok(Entry {
            uid: r.get(0)?,
            name: r.get(1)?,
            wagered: Cents(r.get(2)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Races that have data but no final result yet (the live ones among them).
pub fn unfinalized(conn: &Connection) -> DbResult<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT race_id FROM race_snapshots
         WHERE race_id NOT IN (SELECT race_id FROM races) ORDER BY race_id",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A race's prize settings as an admin overrode them.
pub fn prize_override(conn: &Connection, race_id: &str) -> DbResult<Option<(Cents, Vec<f64>)>> {
    let row: Option<(i64, String)> = conn
        .query_row(
            "SELECT prize_pool_cents, distribution FROM race_prizes WHERE race_id = ?1",
            [race_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(pool, dist)| {
        let shares: Vec<f64> = serde_json::from_str(&dist)
            .map_err(|e| DbError::Corrupt(format!("race_prizes.distribution of {race_id}: {e}")))?;
        Ok((Cents(pool), shares))
    })
    .transpose()
}

pub fn set_prize_override(
    conn: &Connection,
    race_id: &str,
    pool: Cents,
    shares: &[f64],
    now: &str,
    by: Option<&str>,
) -> DbResult<()> {
    let dist = super::shares_json(shares);
    conn.execute(
        "INSERT INTO race_prizes (race_id, prize_pool_cents, distribution, updated_at, updated_by)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (race_id) DO UPDATE SET prize_pool_cents = excluded.prize_pool_cents,
             distribution = excluded.distribution, updated_at = excluded.updated_at,
             updated_by = excluded.updated_by",
        params![race_id, pool.0, dist, now, by],
    )?;
    Ok(())
}

/// A race's final result, as stored when its month ended.
#[derive(Debug, Clone, PartialEq)]
pub struct FinalRace {
    pub race_id: String,
    pub kind: RaceKind,
    pub name: String,
    /// `live` or `demo`.
    pub source: String,
    /// When the race was tracked from, if later than its start (no answer before it).
    pub tracked_from: Option<String>,
    pub start_date: String,
    pub end_date: String,
    pub prize_pool: Cents,
    pub distribution: Vec<f64>,
    pub min_wager: Cents,
    pub participant_count: i64,
    pub total_wagered: Cents,
    pub sync_run_id: Option<i64>,
    pub sync_started_at: Option<String>,
    pub finalized_at: String,
}

pub fn is_final(conn: &Connection, race_id: &str) -> DbResult<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM races WHERE race_id = ?1)",
        [race_id],
        |r| r.get(0),
    )?)
}

/// Stores a final result. Refuses (returns false) when the race is final already:
/// a result is written once and never recomputed.
pub fn insert_final(
    tx: &Transaction<'_>,
    race: &FinalRace,
    standings: &[Standing],
) -> DbResult<bool> {
    if is_final(tx, &race.race_id)? {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO races (race_id, start_date, end_date, prize_pool_cents, distribution,
             min_wager_cents, participant_count, total_wagered_cents, sync_run_id,
             sync_started_at, finalized_at, kind, name, source, tracked_from)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            race.race_id,
            race.start_date,
            race.end_date,
            race.prize_pool.0,
            super::shares_json(&race.distribution),
            race.min_wager.0,
            race.participant_count,
            race.total_wagered.0,
            race.sync_run_id,
            race.sync_started_at,
            race.finalized_at,
            race.kind.as_str(),
            race.name,
            race.source,
            race.tracked_from,
        ],
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO race_results (race_id, uid, name, seq, position, wagered_cents, prize_cents)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (seq, s) in standings.iter().enumerate() {
        insert.execute(params![
            race.race_id,
            s.uid,
            s.name,
            seq as i64,
            s.position,
            s.wagered.0,
            s.prize.0
        ])?;
    }
    Ok(true)
}

pub fn final_race(conn: &Connection, race_id: &str) -> DbResult<Option<FinalRace>> {
    let row = conn
        .query_row(
            "SELECT race_id, start_date, end_date, prize_pool_cents, distribution, min_wager_cents,
                 participant_count, total_wagered_cents, sync_run_id, sync_started_at, finalized_at,
                 kind, name, source, tracked_from
             FROM races WHERE race_id = ?1",
            [race_id],
            |r| {
                Ok((
                    FinalRace {
                        race_id: r.get(0)?,
                        kind: RaceKind::parse(&r.get::<_, String>(11)?)
                            .unwrap_or(RaceKind::Monthly),
                        name: r.get(12)?,
                        source: r.get(13)?,
                        tracked_from: r.get(14)?,
                        start_date: r.get(1)?,
                        end_date: r.get(2)?,
                        prize_pool: Cents(r.get(3)?),
                        distribution: Vec::new(),
                        min_wager: Cents(r.get(5)?),
                        participant_count: r.get(6)?,
                        total_wagered: Cents(r.get(7)?),
                        sync_run_id: r.get(8)?,
                        sync_started_at: r.get(9)?,
                        finalized_at: r.get(10)?,
                    },
                    r.get::<_, String>(4)?,
                ))
            },
        )
        .optional()?;
    row.map(|(mut race, dist)| {
        race.distribution = serde_json::from_str(&dist)
            .map_err(|e| DbError::Corrupt(format!("races.distribution of {race_id}: {e}")))?;
        Ok(race)
    })
    .transpose()
}

/// The stored standings of a final race, in listing order.
pub fn final_results(conn: &Connection, race_id: &str, limit: u32) -> DbResult<Vec<Standing>> {
    let mut stmt = conn.prepare_cached(
        "SELECT uid, name, position, wagered_cents, prize_cents FROM race_results
         WHERE race_id = ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![race_id, limit], |r| read_standing(r, 0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Ids of final races (every kind), the latest to end first.
pub fn final_race_ids(conn: &Connection) -> DbResult<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT race_id FROM races ORDER BY end_date DESC, race_id DESC")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The top three positions of a final race (more rows when tied).
pub fn podium(conn: &Connection, race_id: &str) -> DbResult<Vec<Standing>> {
    let mut stmt = conn.prepare_cached(
        "SELECT uid, name, position, wagered_cents, prize_cents FROM race_results
         WHERE race_id = ?1 AND position <= 3 ORDER BY seq",
    )?;
    let rows = stmt.query_map([race_id], |r| read_standing(r, 0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A player's results in every final race, newest first.
pub fn player_results(conn: &Connection, uid: &str) -> DbResult<Vec<(String, Standing)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.race_id, r.uid, r.name, r.position, r.wagered_cents, r.prize_cents
         FROM race_results r JOIN races USING (race_id)
         WHERE r.uid = ?1 ORDER BY races.end_date DESC, r.race_id DESC",
    )?;
    let rows = stmt.query_map([uid], |r| Ok((r.get(0)?, read_standing(r, 1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `uid, name, position, wagered_cents, prize_cents` from column `at` on.
fn read_standing(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Standing> {
    Ok(Standing {
        uid: r.get(at)?,
        name: r.get(at + 1)?,
        position: r.get(at + 2)?,
        wagered: Cents(r.get(at + 3)?),
        prize: Cents(r.get(at + 4)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, sync_runs};

    fn entry(uid: &str, cents: i64) -> Entry {
        Entry {
            uid: uid.into(),
            name: uid.into(),
            wagered: Cents(cents),
        }
    }

    fn merge_from(db: &Db, source: &str, at: &str, entries: &[Entry]) -> SnapshotChange {
        db.write_blocking(|tx| {
            let run = sync_runs::start(tx, "forced", source, at)?;
            let run = SnapshotRun {
                sync_run_id: run,
                sync_started_at: at,
                source,
                baseline_at: None,
            };
            // As the sync gives them: zeros only for players the race holds (the
            // property test below compares this with merging every entry).
            merge_snapshot(tx, "202611", &run, |stored| {
                entries
                    .iter()
                    .filter(|e| e.wagered.0 > 0 || stored(&e.uid))
                    .cloned()
                    .collect()
            })
        })
        .unwrap()
    }

    fn uids(db: &Db) -> Vec<(String, i64)> {
        let mut got: Vec<(String, i64)> = snapshot_entries(&db.reader().unwrap(), "202611")
            .unwrap()
            .into_iter()
            .map(|e| (e.uid, e.wagered.0))
            .collect();
        got.sort();
        got
    }

    #[test]
    fn live_answers_replace_a_demo_snapshot_and_later_ones_merge() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("r.db"), 1).unwrap();
        let demo = [entry("demo1", 90_000), entry("demo2", 80_000)];
        merge_from(&db, "demo", "2026-11-10T00:00:00.000Z", &demo);
        // Live data arrives: smaller amounts, other players. No demo player stays, and
        // nothing counts as a reset.
        let live = [entry("live1", 500)];
        let change = merge_from(&db, "live", "2026-11-10T00:05:00.000Z", &live);
        assert_eq!(change, SnapshotChange::Stored { refused: vec![] });
        assert_eq!(uids(&db), [("live1".to_string(), 500)]);
        // From now on live answers merge: live1 missing keeps its amount.
        merge_from(
            &db,
            "live",
            "2026-11-10T00:10:00.000Z",
            &[entry("live2", 7)],
        );
        assert_eq!(
            uids(&db),
            [("live1".to_string(), 500), ("live2".to_string(), 7)]
        );
        // A later answer reporting less for both: a reset, and the race is frozen.
        let lower = [entry("live1", 0), entry("live2", 0)];
        let change = merge_from(&db, "live", "2026-11-10T00:15:00.000Z", &lower);
        assert_eq!(
            change,
            SnapshotChange::Reset {
                went_down: 2,
                of: 2
            }
        );
        let more = [entry("live1", 900)];
        let change = merge_from(&db, "live", "2026-11-10T00:20:00.000Z", &more);
        assert_eq!(change, SnapshotChange::Frozen);
        assert_eq!(
            uids(&db).len(),
            2,
            "frozen at the standings before the reset"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Writing only the entries that changed leaves the same snapshot as replacing
        /// it whole: after every answer (names and amounts changing or not, players
        /// coming and going, the source switching), the stored entries are the merge's
        /// positive ones.
        #[test]
        fn a_snapshot_written_by_difference_is_the_whole_merge(
            answers in proptest::collection::vec(
                (proptest::bool::weighted(0.15),
                 proptest::collection::hash_map(0u8..10, (0u8..3, 0i64..50), 0..10)),
                1..10)
        ) {
            let dir = tempfile::tempdir().unwrap();
            let db = Db::open(&dir.path().join("r.db"), 1).unwrap();
            let mut source = "live";
            for (n, (switch, answer)) in answers.iter().enumerate() {
                if *switch {
                    source = if source == "live" { "demo" } else { "live" };
                }
                let new: Vec<Entry> = answer
                    .iter()
                    .map(|(u, (name, cents))| Entry {
                        uid: format!("u{u}"),
                        name: format!("N{name}"),
                        wagered: Cents(*cents * 100),
                    })
                    .collect();
                let before: Vec<Entry> = {
                    let reader = db.reader().unwrap();
                    let same = snapshot_meta(&reader, "202611").unwrap()
                        .is_some_and(|m| m.source == source);
                    if same { snapshot_entries(&reader, "202611").unwrap() } else { Vec::new() }
                };
                let at = format!("2026-11-10T00:{n:02}:00.000Z");
                let change = merge_from(&db, source, &at, &new);
                let mut expected: Vec<(String, String, i64)> = match (&change, merge(&before, new.clone())) {
                    (SnapshotChange::Stored { .. }, Merge::Merged { entries, .. }) => entries
                        .into_iter()
                        .filter(|e| e.wagered.0 > 0)
                        .map(|e| (e.uid, e.name, e.wagered.0))
                        .collect(),
                    _ => before.into_iter().map(|e| (e.uid, e.name, e.wagered.0)).collect(),
                };
                let mut got: Vec<(String, String, i64)> =
                    snapshot_entries(&db.reader().unwrap(), "202611")
                        .unwrap()
                        .into_iter()
                        .map(|e| (e.uid, e.name, e.wagered.0))
                        .collect();
                expected.sort();
                got.sort();
                proptest::prop_assert_eq!(got, expected, "after answer {} ({:?})", n, change);
            }
        }
    }
}
