//! The month boundary, crossed with a clock the test moves: the race is finalized from
//! the last good data before the boundary, exactly once, whatever happens around it.

use goated::clock::ManualClock;
use serde_json::Value;

use crate::fake_upstream::{FakeUpstream, Fault, player};
use crate::helpers::{TestApp, at, spawn_app_at, wait_until};

pub fn november_players() -> Vec<Value> {
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

    // Later data never changes a final result: different amounts and a new leader
    // arrive, and even November's own snapshot changes under it (as a recomputation
    // would see it), then finalization runs again.
    upstream.set_players(with_amount(
        &november_players(),
        "aaaaaaaaaaaaaaaaaaa5",
        99_000.0,
    ));
    assert!(app.sync().succeeded());
    rusqlite::Connection::open(app.db_path())
        .unwrap()
        .execute(
            "UPDATE race_snapshot_entries SET wagered_cents = 1 WHERE race_id = '202611'",
            [],
        )
        .unwrap();
    let again = goated::races::finalize::finalize_due(
        &app.state.db,
        &app.config.race,
        at("2026-12-01T00:10:00Z"),
    )
    .unwrap();
    assert!(again.is_empty(), "nothing finalized twice: {again:?}");
    assert_eq!(results(&app, "202611"), expected_november());
    let served = app.get("/api/wager-races/202611?limit=1").json();
    assert_eq!(
        served["data"]["participants"][0]["wagered"], 5000.0,
        "the served result is the stored one"
    );
    let december = app.get("/api/wager-races/current?limit=1").json();
    assert_eq!(
        december["data"]["participants"][0]["name"], "Eve",
        "the later data did arrive, in December's race"
    );
}

#[test]
fn a_failed_sync_at_the_boundary_keeps_the_last_good_pre_boundary_data() {
    let clock = ManualClock::new(at("2026-11-30T23:40:00Z"));
    let upstream = FakeUpstream::start(november_players());
    let app = spawn_app_at(&clock, &upstream, |c| c.upstream.max_retries = 0);
    assert!(app.sync().succeeded());

    clock.set(at("2026-11-30T23:58:00Z"));
    upstream.push_fault(Fault::Status(503));
    assert_eq!(app.sync().outcome.outcome.as_str(), "failed");

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

/// A sync that runs long (the scheduled one at 23:55, the upstream slow until 23:58:30)
/// does not make the scheduler skip the month-end sync planned for while it ran: that
/// one is due at once, with no further tick of the clock.
#[test]
fn a_sync_that_runs_past_a_planned_month_end_sync_does_not_skip_it() {
    let clock = ManualClock::new(at("2026-11-30T23:51:00Z"));
    let upstream = FakeUpstream::start(november_players());
    let app = spawn_app_at(&clock, &upstream, |c| {
        c.sync.month_end_minutes = 10;
        c.sync.leaderboard_cron = "0 */5 * * * *".into();
    });
    let runs = |trigger: &str| {
        app.count(&format!(
            "SELECT count(*) FROM sync_runs WHERE trigger = '{trigger}' AND outcome = 'success'"
        ))
    };
    let hold = upstream.hold_next();
    clock.set(at("2026-11-30T23:55:01Z"));
    hold.wait_arrived();
    clock.set(at("2026-11-30T23:58:30Z"));
    hold.release();
    wait_until("the 23:58 sync, run as soon as the long one ended", || {
        runs("month_end") == 1
    });
    assert_eq!(runs("schedule"), 1);
}

pub fn with_amount(players: &[Value], uid: &str, this_month: f64) -> Vec<Value> {
    players
        .iter()
        .map(|p| {
            let mut p = p.clone();
            if p["uid"] == uid {
                p["wagered"]["this_month"] = this_month.into();
            }
            p
        })
        .collect()
}

fn last_run_error(app: &TestApp) -> String {
    app.db()
        .query_row(
            "SELECT coalesce(error, '') FROM sync_runs ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn an_answer_that_left_before_the_end_and_arrived_after_it_does_not_enter_the_race() {
    let clock = ManualClock::new(at("2026-11-30T23:50:00Z"));
    let upstream = FakeUpstream::start(november_players());
    let app = spawn_app_at(&clock, &upstream, |_| {});
    assert!(app.sync().succeeded());

    // A forced sync at 23:59:50 whose answer takes a while: by the time it arrives it is
    // December, and it holds wagers made after midnight (Alice's went from $5,000 to
    // $9,000). They must not count for November.
    clock.set(at("2026-11-30T23:59:50Z"));
    upstream.set_players(with_amount(
        &november_players(),
        "aaaaaaaaaaaaaaaaaaa1",
        9000.0,
    ));
    let held = upstream.hold_next();
    let mover = {
        let clock = clock.clone();
        std::thread::spawn(move || {
            held.wait_arrived();
            clock.set(at("2026-12-01T00:00:04Z"));
            held.release();
        })
    };
    let report = app.sync();
    mover.join().unwrap();
    assert!(report.succeeded());
    assert_eq!(
        report.outcome.race_id.as_deref(),
        Some("202612"),
        "filed under the race in force when it arrived"
    );
    wait_until("the November race to be final", || {
        app.count("SELECT count(*) FROM races") == 1
    });
    assert_eq!(results(&app, "202611"), expected_november());
}

#[test]
fn one_players_amount_going_down_is_refused_for_the_race_and_recorded() {
    let clock = ManualClock::new(at("2026-11-15T12:00:00Z"));
    let upstream = FakeUpstream::start(november_players());
    let app = spawn_app_at(&clock, &upstream, |_| {});
    assert!(app.sync().succeeded());
    // Dave's amount drops (a fault upstream) while Alice keeps wagering.
    let players = with_amount(&november_players(), "aaaaaaaaaaaaaaaaaaa4", 10.0);
    upstream.set_players(with_amount(&players, "aaaaaaaaaaaaaaaaaaa1", 6000.0));
    clock.set(at("2026-11-15T12:05:00Z"));
    assert!(app.sync().succeeded());
    let note = last_run_error(&app);
    assert!(
        note.contains("race 202611: 1 amount(s) went down")
            && note.contains("aaaaaaaaaaaaaaaaaaa4"),
        "{note}"
    );
    let race = app.get("/api/wager-races/current?limit=10").json()["data"].clone();
    let wagered = |uid: &str| {
        race["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["uid"] == uid)
            .map(|p| p["wagered"].clone())
    };
    assert_eq!(
        wagered("aaaaaaaaaaaaaaaaaaa4"),
        Some(1000.0.into()),
        "Dave keeps his amount"
    );
    assert_eq!(
        wagered("aaaaaaaaaaaaaaaaaaa1"),
        Some(6000.0.into()),
        "Alice's growth counts"
    );
}
