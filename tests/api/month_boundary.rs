//! The month boundary, crossed with a clock the test moves: the race is finalized from
//! the last good data before the boundary, exactly once, whatever happens around it.

use chrono::{DateTime, Utc};
use goated::clock::ManualClock;
use serde_json::Value;

use crate::fake_upstream::{FakeUpstream, Fault, player};
use crate::helpers::{TestApp, spawn_app_at, wait_until};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn november_players() -> Vec<Value> {
    vec![
        player("aaaaaaaaaaaaaaaaaaa1", "Alice", 5000.0),
        player("aaaaaaaaaaaaaaaaaaa2", "bob", 3000.0),
        player("aaaaaaaaaaaaaaaaaaa3", "Carol", 3000.0),
        player("aaaaaaaaaaaaaaaaaaa4", "Dave", 1000.0),
        player("aaaaaaaaaaaaaaaaaaa5", "Eve", 500.0),
        player("aaaaaaaaaaaaaaaaaaa6", "Frank", 100.0),
        player("aaaaaaaaaaaaaaaaaaa7", "Idle", 0.0),
    ]
}

/// The upstream after its monthly reset: same players, this_month back to zero.
fn reset(players: &[Value]) -> Vec<Value> {
    players
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p["wagered"]["this_month"] = 0.0.into();
            p["wagered"]["today"] = 0.0.into();
            p
        })
        .collect()
}

type Row = (String, i64, i64, i64);

fn results(app: &TestApp, race: &str) -> Vec<Row> {
    let conn = app.db();
    let mut stmt = conn
        .prepare("SELECT name, position, wagered_cents, prize_cents FROM race_results WHERE race_id = ?1 ORDER BY seq")
        .unwrap();
    stmt.query_map([race], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn expected_november() -> Vec<Row> {
    // Pool $500 split 50/30/10/5/5; bob and Carol tie for places 2 and 3 and share
    // $150 + $50; Frank takes place 6, which pays nothing; Idle has no wager.
    vec![
        ("Alice".into(), 1, 500_000, 25_000),
        ("bob".into(), 2, 300_000, 10_000),
        ("Carol".into(), 2, 300_000, 10_000),
        ("Dave".into(), 4, 100_000, 2_500),
        ("Eve".into(), 5, 50_000, 2_500),
        ("Frank".into(), 6, 10_000, 0),
    ]
}

#[test]
fn the_race_finalizes_from_pre_boundary_data_even_after_the_upstream_reset() {
    let clock = ManualClock::new(at("2026-11-30T23:50:00Z"));
    let upstream = FakeUpstream::start(november_players());
    let app = spawn_app_at(&clock, &upstream, |_| {});
    assert!(app.sync().succeeded());

    // The month turns and the upstream resets its monthly buckets.
    upstream.set_players(reset(&november_players()));
    clock.set(at("2026-12-01T00:00:05Z"));
    let report = app.sync();
    assert!(report.succeeded());
    assert_eq!(report.outcome.race_id.as_deref(), Some("202612"));

    wait_until("the November race to be final", || {
        app.count("SELECT count(*) FROM races") == 1
    });
    assert_eq!(results(&app, "202611"), expected_november());
    let total = app.count("SELECT total_wagered_cents FROM races WHERE race_id = '202611'");
    assert_eq!(total, 1_260_000);
    let prizes = app.count("SELECT sum(prize_cents) FROM race_results WHERE race_id = '202611'");
    assert_eq!(prizes, 50_000, "the whole pool is paid out");

    // Later data never changes a final result.
    upstream.set_players(november_players());
    assert!(app.sync().succeeded());
    assert_eq!(results(&app, "202611"), expected_november());
}

#[test]
fn a_failed_sync_at_the_boundary_keeps_the_last_good_pre_boundary_data() {
    let clock = ManualClock::new(at("2026-11-30T23:40:00Z"));
    let upstream = FakeUpstream::start(november_players());
    let app = spawn_app_at(&clock, &upstream, |c| c.upstream.max_retries = 0);
    assert!(app.sync().succeeded());

    clock.set(at("2026-11-30T23:58:00Z"));
    upstream.push_fault(Fault::Status(503));
    assert_eq!(app.sync().outcome.outcome, "failed");

    clock.set(at("2026-12-01T00:00:01Z"));
    wait_until("finalization", || {
        app.count("SELECT count(*) FROM races") == 1
    });
    assert_eq!(results(&app, "202611"), expected_november());
}

#[test]
fn a_restart_across_the_boundary_finalizes_exactly_once() {
    let clock = ManualClock::new(at("2026-11-30T23:55:00Z"));
    let upstream = FakeUpstream::start(november_players());
    let app = spawn_app_at(&clock, &upstream, |_| {});
    assert!(app.sync().succeeded());
    let (config, dir, options) = app.stop();

    // Down across the boundary; back up the next morning.
    clock.set(at("2026-12-01T09:00:00Z"));
    upstream.set_players(reset(&november_players()));
    let app = crate::helpers::start_again(config.clone(), dir.clone(), options.clone());
    wait_until("finalization at start-up", || {
        app.count("SELECT count(*) FROM races") == 1
    });
    assert_eq!(results(&app, "202611"), expected_november());
    let finalized_at: String = app
        .db()
        .query_row(
            "SELECT finalized_at FROM races WHERE race_id = '202611'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(app.sync().succeeded());
    let (config, dir, options) = app.stop();

    clock.set(at("2026-12-02T09:00:00Z"));
    let app = crate::helpers::start_again(config, dir, options);
    assert!(app.sync().succeeded());
    assert_eq!(app.count("SELECT count(*) FROM races"), 1);
    assert_eq!(app.count("SELECT count(*) FROM race_results"), 6);
    let again: String = app
        .db()
        .query_row(
            "SELECT finalized_at FROM races WHERE race_id = '202611'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(again, finalized_at, "never recomputed");
}

#[test]
fn the_scheduler_syncs_in_the_last_minutes_of_the_month_by_itself() {
    let clock = ManualClock::new(at("2026-11-30T23:49:00Z"));
    let upstream = FakeUpstream::start(november_players());
    let app = spawn_app_at(&clock, &upstream, |c| c.sync.month_end_minutes = 10);
    assert_eq!(upstream.request_count(), 0);
    clock.set(at("2026-11-30T23:50:01Z"));
    wait_until("the month-end sync", || {
        app.count(
            "SELECT count(*) FROM sync_runs WHERE trigger = 'month_end' AND outcome = 'success'",
        ) == 1
    });
    clock.set(at("2026-11-30T23:58:30Z"));
    wait_until("the second month-end sync", || {
        app.count(
            "SELECT count(*) FROM sync_runs WHERE trigger = 'month_end' AND outcome = 'success'",
        ) == 2
    });
    upstream.set_players(reset(&november_players()));
    clock.set(at("2026-12-01T00:00:00Z"));
    wait_until("finalization at the boundary", || {
        app.count("SELECT count(*) FROM races") == 1
    });
    assert_eq!(results(&app, "202611"), expected_november());
}
