//! How much the database grows in a month: `scripts/db-growth.sh` runs this.
//!
//! 2,500 players (the demo simulator, whose answers take exactly the path live answers
//! take) synced every 5 minutes for 31 days, with the monthly race and a weekly series
//! running, and housekeeping every hour as configured. Prints the database size and the
//! rows of the growing tables each week.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use goated::clock::ManualClock;
use goated::config::Config;
use goated::db::Db;
use goated::races::manage::{NewSeries, create_series};
use goated::sync::{Syncer, Trigger};

fn size(db: &Db) -> i64 {
    let conn = db.reader().expect("a reader");
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    let free: i64 = conn
        .query_row("PRAGMA freelist_count", [], |r| r.get(0))
        .unwrap();
    let size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    (pages - free) * size
}

fn rows(db: &Db, table: &str) -> i64 {
    db.reader()
        .unwrap()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

fn main() {
    let players: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2500);
    let days: i64 = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(31);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut config = Config::defaults();
    config.database.path = dir.path().join("growth.db");
    config.upstream.demo_players = players;
    config.upstream.demo_history_days = 0;
    let start: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
    let clock = ManualClock::new(start);
    let db = Db::open(&config.database.path, 2).expect("the database opens");
    db.write_blocking(|tx| {
        create_series(tx, NewSeries::demo(), 0, start, "live")
            .map_err(|e| goated::db::DbError::Corrupt(e.to_string()))?;
        Ok(())
    })
    .expect("the series is created");
    let config = Arc::new(config);
    let mut syncer = Syncer::new(
        db.clone(),
        config,
        Arc::new(clock.clone()),
        goated::events::channel(),
    )
    .expect("the syncer starts");
    let empty = size(&db);
    println!(
        "players={players} days={days} every 5 min; empty database {} KiB",
        empty / 1024
    );
    println!("day  size_MiB  players  history  sync_runs  snapshot_rows  baselines  results");
    let mut t = start;
    let end = start + Duration::days(days);
    let timer = std::time::Instant::now();
    let mut syncs = 0;
    while t < end {
        clock.set(t);
        let report = syncer.run(Trigger::Schedule).expect("a sync");
        assert!(report.succeeded(), "{:?}", report.outcome);
        syncs += 1;
        if t.format("%M").to_string() == "17" {
            syncer.housekeeping().expect("housekeeping");
        }
        t += Duration::minutes(5);
        if (t - start).num_minutes() % (7 * 24 * 60) == 0 || t >= end {
            println!(
                "{:>3}  {:>8.2}  {:>7}  {:>7}  {:>9}  {:>13}  {:>9}  {:>7}",
                (t - start).num_days(),
                size(&db) as f64 / (1 << 20) as f64,
                rows(&db, "players"),
                rows(&db, "player_history"),
                rows(&db, "sync_runs"),
                rows(&db, "race_snapshot_entries"),
                rows(&db, "race_baselines"),
                rows(&db, "race_results"),
            );
        }
    }
    let grown = size(&db) - empty;
    println!(
        "{syncs} syncs in {:.0} s; grew {:.2} MiB in {days} days ({:.2} MiB per 30 days)",
        timer.elapsed().as_secs_f64(),
        grown as f64 / (1 << 20) as f64,
        grown as f64 / (1 << 20) as f64 * 30.0 / days as f64
    );
}
