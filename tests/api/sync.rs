//! The sync pipeline against a fake upstream with faults: every fault ends with the last
//! good data in place and the run recorded.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::fake_upstream::{FakeUpstream, Fault, player};
use crate::helpers::{TestApp, spawn_live_app};

fn players(n: usize) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| {
            player(
                &format!("uid{i:017}"),
                &format!("Player{i}"),
                100.0 * (i + 1) as f64,
            )
        })
        .collect()
}

fn stored_month_total(app: &TestApp) -> i64 {
    app.count("SELECT CAST(round(sum(this_month) * 100) AS INTEGER) FROM players")
}

fn health(app: &TestApp) -> serde_json::Value {
    app.get("/api/health").json()["data"].clone()
}

#[test]
fn a_normal_sync_stores_every_valid_player_and_counts_the_rejected() {
    let mut list = players(5);
    list.push(json!({"uid": "", "name": "NoUid"}));
    list.push(json!({"uid": "bad-amount", "name": "Neg", "wagered": {"this_month": -5}}));
    list.push(json!({"uid": "str-amount", "name": "Str", "wagered": {"this_month": "12.50"}}));
    let upstream = FakeUpstream::start(list);
    let app = spawn_live_app(&upstream, |_| {});

    let report = app.sync();
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(report.outcome.received, Some(8));
    assert_eq!(report.outcome.accepted, Some(6));
    assert_eq!(report.outcome.rejected, Some(2));
    assert_eq!(app.count("SELECT count(*) FROM players"), 6);
    assert_eq!(
        app.count("SELECT CAST(this_month * 100 AS INTEGER) FROM players WHERE uid = 'str-amount'"),
        1250
    );

    let run: (String, i64, i64, i64, i64) = app
        .db()
        .query_row("SELECT outcome, received, accepted, rejected, http_status FROM sync_runs WHERE id = ?1", [report.run_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap();
    assert_eq!(run, ("success".into(), 8, 6, 2, 200));
    assert_eq!(app.count("SELECT count(*) FROM race_snapshot_entries"), 6);
    // The answer is kept whole (its rejected entries too), gzipped.
    let kept: Vec<u8> = app
        .db()
        .query_row(
            "SELECT value FROM cache WHERE key = 'upstream:last_good'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut body = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&kept[..]), &mut body).unwrap();
    assert!(
        body.contains("\"bad-amount\"") && body.contains("\"str-amount\""),
        "{body}"
    );

    let h = health(&app);
    assert_eq!(h["source"], "live");
    assert_eq!(h["stale"], false);
    assert_eq!(h["lastSync"]["outcome"], "success");
}

#[test]
fn a_500_then_a_200_succeeds_after_a_retry() {
    let upstream = FakeUpstream::start(players(3));
    let app = spawn_live_app(&upstream, |_| {});
    upstream.push_fault(Fault::Status(500));
    let report = app.sync();
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(report.outcome.attempts, 2);
    assert_eq!(upstream.request_count(), 2);
}

#[test]
fn a_429_with_retry_after_waits_about_that_long() {
    let upstream = FakeUpstream::start(players(3));
    let app = spawn_live_app(&upstream, |_| {});
    upstream.push_fault(Fault::StatusWithRetryAfter(429, 1));
    let started = Instant::now();
    let report = app.sync();
    let took = started.elapsed();
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(report.outcome.attempts, 2);
    let requests = upstream
        .state
        .lock()
        .requests
        .iter()
        .map(|(t, _)| *t)
        .collect::<Vec<_>>();
    let gap = requests[1] - requests[0];
    assert!(
        gap >= Duration::from_millis(950) && gap < Duration::from_secs(3),
        "waited {gap:?}"
    );
    assert!(took >= Duration::from_millis(950));
}

#[test]
fn a_permanent_4xx_is_not_retried() {
    let upstream = FakeUpstream::start(players(3));
    let app = spawn_live_app(&upstream, |_| {});
    upstream.push_fault(Fault::Status(404));
    let report = app.sync();
    assert_eq!(report.outcome.outcome.as_str(), "failed");
    assert_eq!(
        report.outcome.error_class.map(|c| c.as_str()),
        Some("permanent")
    );
    assert_eq!(upstream.request_count(), 1);
}

#[test]
fn a_401_stops_syncing_until_the_token_is_replaced() {
    let upstream = FakeUpstream::start(players(4));
    let app = spawn_live_app(&upstream, |_| {});
    assert!(app.sync().succeeded());
    upstream.reject_all_tokens();

    let report = app.sync();
    assert_eq!(report.outcome.outcome.as_str(), "failed");
    assert_eq!(
        report.outcome.error_class.map(|c| c.as_str()),
        Some("authentication")
    );
    assert_eq!(
        report.outcome.attempts, 2,
        "the token is re-read and tried once more, no other retries"
    );
    assert_eq!(upstream.request_count(), 3);
    let h = health(&app);
    assert_eq!(h["upstream"]["authFailed"], true);
    assert_eq!(h["status"], "degraded");
    assert_eq!(h["stale"], true);

    let skipped = app.sync();
    assert_eq!(skipped.outcome.outcome.as_str(), "skipped");
    assert_eq!(
        upstream.request_count(),
        3,
        "no call with a token known to be refused"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM players"),
        4,
        "the last good data stays"
    );

    upstream.accept_token("fresh-token");
    app.state
        .tokens
        .replace("fresh-token", chrono::Utc::now(), |_| Ok(()))
        .unwrap();
    let resumed = app.sync();
    assert!(resumed.succeeded(), "{resumed:?}");
    let last = upstream.state.lock().requests.last().unwrap().1.clone();
    assert_eq!(last.as_deref(), Some("fresh-token"));
    assert_eq!(health(&app)["upstream"]["authFailed"], false);
}

#[test]
fn garbage_and_a_timeout_leave_the_last_good_data_in_place() {
    let upstream = FakeUpstream::start(players(5));
    let app = spawn_live_app(&upstream, |c| {
        c.upstream.timeout_secs = 1;
        c.upstream.max_retries = 0;
    });
    assert!(app.sync().succeeded());
    let before = stored_month_total(&app);

    upstream.push_fault(Fault::Garbage);
    let garbage = app.sync();
    assert_eq!(garbage.outcome.outcome.as_str(), "failed");
    assert_eq!(
        garbage.outcome.error_class.map(|c| c.as_str()),
        Some("payload")
    );

    upstream.push_fault(Fault::Body(
        json!({"success": true, "message": "maintenance"}),
    ));
    assert_eq!(
        app.sync().outcome.error_class.map(|c| c.as_str()),
        Some("payload")
    );

    upstream.push_fault(Fault::Slow(Duration::from_secs(3)));
    let timeout = app.sync();
    assert_eq!(timeout.outcome.outcome.as_str(), "failed");
    assert_eq!(
        timeout.outcome.error_class.map(|c| c.as_str()),
        Some("temporary")
    );

    assert_eq!(stored_month_total(&app), before);
    assert_eq!(app.count("SELECT count(*) FROM players"), 5);
    assert_eq!(
        app.count("SELECT count(*) FROM sync_runs WHERE outcome = 'failed'"),
        3
    );
    assert_eq!(
        app.count("SELECT count(*) FROM sync_runs WHERE finished_at IS NULL"),
        0
    );
    let h = health(&app);
    assert_eq!(h["stale"], true);
    assert_eq!(h["lastSync"]["outcome"], "failed");
}

#[test]
fn a_payload_with_fewer_than_half_the_players_is_not_applied() {
    let upstream = FakeUpstream::start(players(10));
    let app = spawn_live_app(&upstream, |_| {});
    assert!(app.sync().succeeded());
    let before = stored_month_total(&app);

    upstream.set_players(
        players(4)
            .into_iter()
            .map(|mut p| {
                p["wagered"]["this_month"] = json!(1.0);
                p
            })
            .collect(),
    );
    let report = app.sync();
    assert_eq!(report.outcome.outcome.as_str(), "suspect");
    assert_eq!(report.outcome.accepted, Some(4));
    assert_eq!(stored_month_total(&app), before);
    assert_eq!(app.count("SELECT count(*) FROM race_snapshot_entries"), 10);

    upstream.set_players(players(6));
    assert!(app.sync().succeeded(), "six of ten is not suspect");
}

#[test]
fn the_circuit_breaker_opens_then_half_opens_with_one_request() {
    // The cool-down runs on the application's clock, moved by hand: no window to hit.
    let clock = goated::clock::ManualClock::new(chrono::Utc::now());
    let upstream = FakeUpstream::start(players(3));
    let app = crate::helpers::spawn_app_at(&clock, &upstream, |c| {
        c.upstream.max_retries = 0;
        c.sync.breaker_failures = 2;
        c.sync.breaker_cooldown_secs = 60;
    });
    assert!(app.sync().succeeded());
    upstream.set_sticky(Some(Fault::Status(502)));
    assert_eq!(app.sync().outcome.outcome.as_str(), "failed");
    assert_eq!(app.sync().outcome.outcome.as_str(), "failed");
    assert_eq!(health(&app)["upstream"]["circuit"], "open");

    let calls = upstream.request_count();
    let skipped = app.sync();
    assert_eq!(skipped.outcome.outcome.as_str(), "skipped");
    assert_eq!(
        skipped.outcome.error_class.map(|c| c.as_str()),
        Some("circuit_open")
    );
    assert_eq!(upstream.request_count(), calls, "no call while open");
    clock.advance(chrono::Duration::seconds(59));
    assert_eq!(
        app.sync().outcome.outcome.as_str(),
        "skipped",
        "still cooling down"
    );

    clock.advance(chrono::Duration::seconds(2));
    let trial = app.sync();
    assert_eq!(trial.outcome.outcome.as_str(), "failed");
    assert_eq!(
        upstream.request_count(),
        calls + 1,
        "half-open lets exactly one request through"
    );
    assert_eq!(
        health(&app)["upstream"]["circuit"],
        "open",
        "a failed trial reopens"
    );

    upstream.set_sticky(None);
    clock.advance(chrono::Duration::seconds(61));
    assert!(app.sync().succeeded());
    assert_eq!(health(&app)["upstream"]["circuit"], "closed");
    assert_eq!(app.count("SELECT count(*) FROM players"), 3);
}

#[test]
fn the_outgoing_rate_limit_holds_under_forced_syncs() {
    let upstream = FakeUpstream::start(players(3));
    let app = spawn_live_app(&upstream, |c| {
        c.upstream.requests_per_minute = 3;
        c.upstream.retry_max_secs = 1;
    });
    let outcomes: Vec<_> = (0..6).map(|_| app.sync().outcome).collect();
    assert_eq!(upstream.request_count(), 3);
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| o.outcome.as_str() == "success")
            .count(),
        3
    );
    let limited: Vec<_> = outcomes
        .iter()
        .filter(|o| o.outcome.as_str() != "success")
        .collect();
    assert_eq!(limited.len(), 3);
    assert!(
        limited
            .iter()
            .all(|o| o.error_class.map(|c| c.as_str()) == Some("rate_limit")),
        "{limited:?}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM sync_runs"),
        6,
        "every run is recorded"
    );
}

#[test]
fn a_restart_serves_the_last_good_data_without_syncing() {
    let upstream = FakeUpstream::start(players(7));
    let app = spawn_live_app(&upstream, |_| {});
    assert!(app.sync().succeeded());
    let app = app.restart();
    let h = health(&app);
    assert_eq!(h["lastSync"]["outcome"], "success");
    assert!(h["lastSyncedAt"].is_string());
    assert_eq!(app.count("SELECT count(*) FROM players"), 7);
    assert_eq!(upstream.request_count(), 1);
}
