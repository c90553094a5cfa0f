//! Which source the stored data came from (the demo simulator or the live upstream),
//! and the removal of demo data when live data first arrives. Accounts, claims,
//! audit rows and races an operator defined stay; everything simulated goes.

use rusqlite::Connection;

use super::{DbResult, settings};

const SOURCE: &str = "data.source";
const RECEIVED_AT: &str = "data.received_at";

/// The source of the data stored now and when its last answer was received; `None`
/// before the first good sync.
pub fn current(conn: &Connection) -> DbResult<Option<(String, String)>> {
    Ok(
        match (
            settings::get(conn, SOURCE)?,
            settings::get(conn, RECEIVED_AT)?,
        ) {
            (Some(source), Some(at)) => Some((source, at)),
            _ => None,
        },
    )
}

pub fn record(conn: &Connection, source: &str, received_at: &str) -> DbResult<()> {
    settings::set(conn, SOURCE, source, received_at)?;
    settings::set(conn, RECEIVED_AT, received_at, received_at)
}

/// What `purge_demo` removed, for the log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub players: usize,
    pub races: usize,
}

/// Removes every simulated player, sample, snapshot, baseline, final race (with its
/// results, proof and payouts) and demo series with its races. Baselines of races not
/// final all came from demo answers (live data had not arrived), so they go too: those
/// races are tracked from the first live answer.
pub fn purge_demo(conn: &Connection) -> DbResult<Purged> {
    let players = conn.execute("DELETE FROM players WHERE source = 'demo'", [])?;
    conn.execute("DELETE FROM player_history WHERE source = 'demo'", [])?;
    conn.execute("DELETE FROM race_snapshots WHERE source = 'demo'", [])?;
    conn.execute(
        "DELETE FROM race_baselines WHERE race_id NOT IN (SELECT race_id FROM races WHERE source = 'live')",
        [],
    )?;
    let demo_races = "SELECT race_id FROM races WHERE source = 'demo'";
    for table in ["race_payouts", "race_proofs", "race_results"] {
        conn.execute(
            &format!("DELETE FROM {table} WHERE race_id IN ({demo_races})"),
            [],
        )?;
    }
    let races = conn.execute("DELETE FROM races WHERE source = 'demo'", [])?;
    conn.execute(
        "DELETE FROM race_defs WHERE series_id IN (SELECT id FROM race_series WHERE source = 'demo')
             AND race_id NOT IN (SELECT race_id FROM races)",
        [],
    )?;
    conn.execute(
        "DELETE FROM race_series WHERE source = 'demo'
             AND id NOT IN (SELECT series_id FROM race_defs WHERE series_id IS NOT NULL)",
        [],
    )?;
    Ok(Purged { players, races })
}
