//! Races of every kind (SPEC §9), with a clock the test moves: custom and weekly races
//! beside the monthly one, ranked by the difference of all_time between the last answer
//! before their start and the last answer before their end.

use goated::clock::ManualClock;
use serde_json::{Value, json};

use crate::fake_upstream::{FakeUpstream, player_periods};
use crate::helpers::{TestApp, assert_error, at, spawn_app_at, start_again, wait_until};
use crate::helpers::{admin_session, login, token};

const A: &str = "aaaaaaaaaaaaaaaaaaa1";
const B: &str = "aaaaaaaaaaaaaaaaaaa2";
const C: &str = "aaaaaaaaaaaaaaaaaaa3";

/// Three players with the given all_time amounts (this_month a tenth of it, so the
/// monthly race and the others rank differently).
fn players(all_time: [f64; 3]) -> Vec<Value> {
    [(A, "Alice"), (B, "bob"), (C, "Carol")]
        .iter()
        .zip(all_time)
        .map(|((uid, name), total)| player_periods(uid, name, [0.0, 0.0, total / 10.0, total]))
        .collect()
}

fn admin(app: &TestApp) -> String {
    token(&admin_session(app, "operator"))
}

fn create(app: &TestApp, admin: &str, body: Value) -> crate::helpers::TestResponse {
    app.authed("POST", "/api/admin/races", admin, Some(&body))
}

fn custom(name: &str, starts: &str, ends: &str) -> Value {
    json!({"name": name, "startsAt": starts, "endsAt": ends, "prizePool": 100.0,
           "prizeDistribution": [0.7, 0.3]})
}

fn race(app: &TestApp, id: &str) -> Value {
    let resp = app.get(&format!("/api/wager-races/{id}"));
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()["data"].clone()
}

/// `(name, wagered, prize)` of every participant as served.
fn standings(race: &Value) -> Vec<(String, f64, f64)> {
    race["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["wagered"].as_f64().unwrap(),
                p["prize"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn row(name: &str, wagered: f64, prize: f64) -> (String, f64, f64) {
    (name.to_string(), wagered, prize)
}

#[test]
fn a_custom_race_ranks_by_what_was_wagered_inside_its_window_only() {
    let clock = ManualClock::new(at("2026-11-20T09:00:00Z"));
    let upstream = FakeUpstream::start(players([1000.0, 500.0, 0.0]));
    let app = spawn_app_at(&clock, &upstream, |_| {});
    let admin = admin(&app);
    let made = create(
        &app,
        &admin,
        custom(
            "Black Friday Sprint",
            "2026-11-20T10:00:00Z",
            "2026-11-21T10:00:00Z",
        ),
    );
    assert_eq!(made.status, 201, "{}", made.text());
    let id = made.json()["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(id, "black-friday-sprint");

    // The last answer before the start: its all_time is the baseline.
    clock.set(at("2026-11-20T09:55:00Z"));
    assert!(app.sync().succeeded());
    let upcoming = race(&app, &id);
    assert_eq!(upcoming["status"], "upcoming");
    assert_eq!(upcoming["kind"], "custom");
    assert_eq!(upcoming["name"], "Black Friday Sprint");
    assert_eq!(upcoming["participantCount"], 0);

    // Inside the window bob wagers $300 and Carol $900; Alice nothing.
    upstream.set_players(players([1000.0, 800.0, 900.0]));
    clock.set(at("2026-11-20T12:00:00Z"));
    assert!(app.sync().succeeded());
    let live = race(&app, &id);
    assert_eq!(live["status"], "live");
    assert!(live.get("trackedFrom").is_none(), "{live}");
    assert_eq!(
        standings(&live),
        [row("Carol", 900.0, 70.0), row("bob", 300.0, 30.0)]
    );
    // The monthly race still ranks by this_month, all three of them; next month's race
    // is there already, with no one in it yet.
    assert_eq!(race(&app, "current")["participantCount"], 3);
    let december = race(&app, "202612");
    assert_eq!(
        (
            december["status"].as_str(),
            december["participantCount"].as_u64()
        ),
        (Some("upcoming"), Some(0))
    );

    // After the end: Alice's late wager is the next race's business. The answer that
    // arrives after the end never enters; the race is finalized from the last before.
    upstream.set_players(players([5000.0, 800.0, 900.0]));
    clock.set(at("2026-11-21T10:00:00Z"));
    assert!(app.sync().succeeded());
    wait_until("the custom race to be final", || {
        app.count("SELECT count(*) FROM races WHERE race_id = 'black-friday-sprint'") == 1
    });
    let done = race(&app, &id);
    assert_eq!(done["status"], "transition");
    assert!(
        done.get("trackedFrom").is_none(),
        "its baseline came before it: {done}"
    );
    assert_eq!(
        standings(&done),
        [row("Carol", 900.0, 70.0), row("bob", 300.0, 30.0)]
    );
    assert_eq!(
        app.count("SELECT count(*) FROM race_payouts WHERE race_id = 'black-friday-sprint'"),
        2,
        "its prizes wait for approval like the monthly race's"
    );
    // ...and are paid through the same admin API (which once took only month ids).
    let payouts = format!("/api/admin/races/{id}/payouts");
    let admin = token(&crate::helpers::login(&app, "operator"));
    let ledger = app.authed("GET", &payouts, &admin, None);
    assert_eq!(ledger.status, 200, "{}", ledger.text());
    assert_eq!(ledger.json()["data"]["owed"], 100.0);
    for change in [
        json!({"status": "approved"}),
        json!({"status": "paid", "reference": "tx-77"}),
    ] {
        let moved = app.authed("PATCH", &format!("{payouts}/{C}"), &admin, Some(&change));
        assert_eq!(moved.status, 200, "{}", moved.text());
    }
    let ledger = app.authed("GET", &payouts, &admin, None).json()["data"].clone();
    assert_eq!(
        (ledger["owed"].as_f64(), ledger["paid"].as_f64()),
        (Some(30.0), Some(70.0))
    );
    let proof = app.get(&format!("/api/wager-races/{id}/proof"));
    assert_eq!(proof.status, 200, "{}", proof.text());
    let finished = app.get("/api/wager-races?status=finished").json()["data"].clone();
    assert_eq!(finished["results"][0]["id"], id);
    assert_eq!(finished["results"][0]["winners"][0]["name"], "Carol");
}

#[test]
fn an_answer_that_left_before_a_custom_race_ended_and_arrived_after_it_does_not_count() {
    let clock = ManualClock::new(at("2026-11-20T09:00:00Z"));
    let upstream = FakeUpstream::start(players([1000.0, 500.0, 0.0]));
    let app = spawn_app_at(&clock, &upstream, |_| {});
    let admin = admin(&app);
    let body = custom("Sprint", "2026-11-20T10:00:00Z", "2026-11-20T12:00:00Z");
    assert_eq!(create(&app, &admin, body).status, 201);
    clock.set(at("2026-11-20T09:59:00Z"));
    assert!(app.sync().succeeded());
    upstream.set_players(players([1100.0, 500.0, 0.0]));
    clock.set(at("2026-11-20T11:50:00Z"));
    assert!(app.sync().succeeded());

    // Requested at 11:59:50, answered at 12:00:04 with bob's post-end $5,000.
    clock.set(at("2026-11-20T11:59:50Z"));
    upstream.set_players(players([1100.0, 5500.0, 0.0]));
    let held = upstream.hold_next();
    let mover = {
        let clock = clock.clone();
        std::thread::spawn(move || {
            held.wait_arrived();
            clock.set(at("2026-11-20T12:00:04Z"));
            held.release();
        })
    };
    assert!(app.sync().succeeded());
    mover.join().unwrap();
    wait_until("the sprint to be final", || {
        app.count("SELECT count(*) FROM races WHERE race_id = 'sprint'") == 1
    });
    assert_eq!(
        standings(&race(&app, "sprint")),
        [row("Alice", 100.0, 70.0)]
    );
}

#[test]
fn custom_races_are_edited_and_cancelled_before_they_start_and_refused_with_clear_errors() {
    let clock = ManualClock::new(at("2026-11-20T09:00:00Z"));
    let upstream = FakeUpstream::start(players([1000.0, 500.0, 0.0]));
    let app = spawn_app_at(&clock, &upstream, |_| {});
    let admin = admin(&app);

    let past = custom("Late", "2026-11-20T08:00:00Z", "2026-11-21T00:00:00Z");
    let err = assert_error(&create(&app, &admin, past), 400, "VALIDATION_ERROR");
    assert_eq!(err["details"]["field"], "startsAt");
    let backwards = custom("Back", "2026-11-21T00:00:00Z", "2026-11-20T12:00:00Z");
    let err = assert_error(&create(&app, &admin, backwards), 400, "VALIDATION_ERROR");
    assert_eq!(err["details"]["field"], "endsAt");
    let mut uneven = custom("Uneven", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z");
    uneven["prizeDistribution"] = json!([0.5, 0.4]);
    let err = assert_error(&create(&app, &admin, uneven), 400, "VALIDATION_ERROR");
    assert_eq!(err["details"]["field"], "prizeDistribution");
    let not_a_time = json!({"name": "x", "startsAt": "tomorrow", "endsAt": "2026-11-22T00:00:00Z",
                            "prizePool": 1.0, "prizeDistribution": [1.0]});
    assert_error(&create(&app, &admin, not_a_time), 400, "VALIDATION_ERROR");
    assert_eq!(
        app.count("SELECT count(*) FROM race_defs"),
        0,
        "nothing refused is stored"
    );
    let anonymous = app.post_json(
        "/api/admin/races",
        &custom("Sneaky", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z"),
    );
    assert_eq!(anonymous.status, 401, "{}", anonymous.text());

    let made = create(
        &app,
        &admin,
        custom("Weekend", "2026-11-21T00:00:00Z", "2026-11-23T00:00:00Z"),
    );
    assert_eq!(made.status, 201, "{}", made.text());
    let edited = app.authed(
        "PATCH",
        "/api/admin/races/weekend",
        &admin,
        Some(&json!({"prizePool": 250.0, "endsAt": "2026-11-23T06:00:00Z"})),
    );
    assert_eq!(edited.status, 200, "{}", edited.text());
    let served = race(&app, "weekend");
    assert_eq!(served["prizePool"], 250.0);
    assert_eq!(served["endDate"], "2026-11-23T06:00:00.000Z");
    let bad_edit = app.authed(
        "PATCH",
        "/api/admin/races/weekend",
        &admin,
        Some(&json!({"startsAt": "2026-11-24T00:00:00Z"})),
    );
    assert_error(&bad_edit, 400, "VALIDATION_ERROR");
    assert_error(
        &app.authed(
            "PATCH",
            "/api/admin/races/nope",
            &admin,
            Some(&json!({"name": "x"})),
        ),
        404,
        "NOT_FOUND",
    );
    assert_error(&app.get("/api/wager-races/nope"), 404, "NOT_FOUND");
    assert_error(
        &app.get("/api/wager-races/Not_An_Id"),
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &app.authed("DELETE", "/api/admin/races/202611", &admin, None),
        409,
        "CONFLICT",
    );

    // A second race the same weekend, cancelled before it starts: it is gone from the
    // public list, and the admin list still shows it, cancelled.
    let other = create(
        &app,
        &admin,
        custom("Weekend", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z"),
    );
    assert_eq!(other.json()["data"]["id"], "weekend-2");
    let cancelled = app.authed("DELETE", "/api/admin/races/weekend-2", &admin, None);
    assert_eq!(cancelled.status, 200, "{}", cancelled.text());
    assert!(cancelled.json()["data"]["cancelledAt"].is_string());
    assert_error(&app.get("/api/wager-races/weekend-2"), 404, "NOT_FOUND");
    let upcoming = app.get("/api/wager-races?status=upcoming").json()["data"].clone();
    let ids: Vec<&str> = upcoming["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"weekend") && !ids.contains(&"weekend-2"),
        "{ids:?}"
    );
    let listed = app.authed("GET", "/api/admin/races", &admin, None).json()["data"].clone();
    assert_eq!(listed["races"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action LIKE 'race.%'"),
        4,
        "create, edit, create, cancel: refusals write nothing"
    );

    // Once it has started, it is fixed.
    clock.set(at("2026-11-21T00:00:01Z"));
    let admin = token(&login(&app, "operator"));
    let late = app.authed(
        "PATCH",
        "/api/admin/races/weekend",
        &admin,
        Some(&json!({"prizePool": 1.0})),
    );
    assert_error(&late, 409, "CONFLICT");
    assert_error(
        &app.authed("DELETE", "/api/admin/races/weekend", &admin, None),
        409,
        "CONFLICT",
    );
}

#[test]
fn a_weekly_series_rolls_over_and_each_week_starts_from_the_last_answer_before_it() {
    // Wednesday 25 November; the series runs Mondays 00:00 UTC.
    let clock = ManualClock::new(at("2026-11-25T12:00:00Z"));
    let upstream = FakeUpstream::start(players([1000.0, 500.0, 0.0]));
    let app = spawn_app_at(&clock, &upstream, |_| {});
    let admin = admin(&app);
    let series = app.authed(
        "POST",
        "/api/admin/race-series",
        &admin,
        Some(
            &json!({"name": "Weekly Race", "startWeekday": 1, "startHour": 0,
                      "prizePool": 50.0, "prizeDistribution": [1.0]}),
        ),
    );
    assert_eq!(series.status, 201, "{}", series.text());
    // The running week is not raced (a series never starts in the past): its first race
    // is week 49, from Monday 30 November.
    let first = race(&app, "2026-w49");
    assert_eq!(first["status"], "upcoming");
    assert_eq!(first["kind"], "weekly");
    assert_eq!(first["startDate"], "2026-11-30T00:00:00.000Z");
    assert_error(&app.get("/api/wager-races/2026-w48"), 404, "NOT_FOUND");

    clock.set(at("2026-11-29T23:58:00Z"));
    assert!(app.sync().succeeded());
    upstream.set_players(players([1200.0, 500.0, 40.0]));
    clock.set(at("2026-12-03T00:00:00Z"));
    assert!(app.sync().succeeded());
    // Week 50 exists by now (written a week ahead).
    assert_eq!(race(&app, "2026-w50")["status"], "upcoming");
    upstream.set_players(players([1300.0, 600.0, 40.0]));
    clock.set(at("2026-12-06T23:58:00Z"));
    assert!(app.sync().succeeded());

    // Monday 7 December: week 49 ends, week 50 starts from the 23:58 answer.
    upstream.set_players(players([1300.0, 900.0, 40.0]));
    clock.set(at("2026-12-07T00:05:00Z"));
    assert!(app.sync().succeeded());
    wait_until("week 49 to be final", || {
        app.count("SELECT count(*) FROM races WHERE race_id = '2026-w49'") == 1
    });
    assert_eq!(
        standings(&race(&app, "2026-w49")),
        [
            row("Alice", 300.0, 50.0),
            row("bob", 100.0, 0.0),
            row("Carol", 40.0, 0.0)
        ]
    );
    assert_eq!(
        standings(&race(&app, "2026-w50")),
        [row("bob", 300.0, 50.0)]
    );
    assert_eq!(
        app.count("SELECT count(DISTINCT race_id) FROM race_baselines"),
        1,
        "only the running week keeps its baseline; a final race's is dropped"
    );
    let live = app.get("/api/wager-races?status=live").json()["data"].clone();
    let kinds: Vec<&str> = live["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2, "{live}");
    assert!(kinds.contains(&"weekly") && kinds.contains(&"monthly"));

    // Stopping the series cancels week 51 (not started); week 50 runs to its end.
    let admin = token(&login(&app, "operator"));
    let stopped = app.authed("DELETE", "/api/admin/race-series/1", &admin, None);
    assert_eq!(stopped.status, 200, "{}", stopped.text());
    assert_error(&app.get("/api/wager-races/2026-w51"), 404, "NOT_FOUND");
    assert_eq!(race(&app, "2026-w50")["status"], "live");
    // A player's history covers every kind of race.
    let stats = app.get(&format!("/api/users/{A}/stats")).json()["data"].clone();
    assert_eq!(stats["raceHistory"][0]["raceId"], "2026-w49");
}

#[test]
fn overlapping_races_and_a_restart_across_their_ends_keep_each_result() {
    let clock = ManualClock::new(at("2026-11-20T09:00:00Z"));
    let upstream = FakeUpstream::start(players([1000.0, 500.0, 0.0]));
    let app = spawn_app_at(&clock, &upstream, |_| {});
    let admin = admin(&app);
    for body in [
        custom("Long", "2026-11-20T10:00:00Z", "2026-11-22T10:00:00Z"),
        custom("Short", "2026-11-21T10:00:00Z", "2026-11-21T20:00:00Z"),
    ] {
        assert_eq!(create(&app, &admin, body).status, 201);
    }
    clock.set(at("2026-11-20T09:30:00Z"));
    assert!(app.sync().succeeded());
    upstream.set_players(players([1100.0, 500.0, 0.0]));
    clock.set(at("2026-11-21T09:30:00Z"));
    assert!(app.sync().succeeded());
    upstream.set_players(players([1100.0, 700.0, 0.0]));
    clock.set(at("2026-11-21T19:30:00Z"));
    assert!(app.sync().succeeded());

    // Down from 19:45 until after both ends; the upstream moves on meanwhile.
    let (config, dir, options) = app.stop();
    upstream.set_players(players([9000.0, 9000.0, 9000.0]));
    clock.set(at("2026-11-23T00:00:00Z"));
    let app = start_again(config, dir, options);
    wait_until("both races to be final", || {
        app.count("SELECT count(*) FROM races WHERE race_id IN ('long', 'short')") == 2
    });
    assert_eq!(
        standings(&race(&app, "long")),
        [row("bob", 200.0, 70.0), row("Alice", 100.0, 30.0)]
    );
    assert_eq!(
        standings(&race(&app, "short")),
        [row("bob", 200.0, 70.0)],
        "bob's $200 fell inside both windows; Alice's $100 only in the long one"
    );
    // Later data never enters them.
    assert!(app.sync().succeeded());
    assert_eq!(standings(&race(&app, "short")), [row("bob", 200.0, 70.0)]);
}

#[test]
fn at_an_offset_the_month_ranks_by_all_time_across_the_upstreams_midnight_reset() {
    // Races are months at UTC-5: November runs from 05:00 UTC on 1 November to 05:00 UTC
    // on 1 December. The upstream resets this_month at 00:00 UTC, five hours before.
    let clock = ManualClock::new(at("2026-11-01T04:50:00Z"));
    let upstream = FakeUpstream::start(players([1000.0, 500.0, 0.0]));
    let app = spawn_app_at(&clock, &upstream, |c| {
        c.race.timezone_offset_minutes = -300;
    });
    assert!(
        app.sync().succeeded(),
        "October's last answer: the baseline"
    );
    upstream.set_players(players([3000.0, 1500.0, 0.0]));
    clock.set(at("2026-11-30T23:50:00Z"));
    assert!(app.sync().succeeded());

    // 00:00 UTC: the upstream resets this_month (all_time goes on). Between then and
    // 05:00 UTC it is still November here, and Carol's $2,000 counts for it.
    let mut after_reset = players([3000.0, 1500.0, 2000.0]);
    for p in &mut after_reset {
        p["wagered"]["this_month"] = 0.0.into();
    }
    upstream.set_players(after_reset.clone());
    clock.set(at("2026-12-01T02:00:00Z"));
    let report = app.sync();
    assert!(report.succeeded(), "{:?}", report.outcome);
    assert_eq!(report.outcome.race_id.as_deref(), Some("202611"));
    assert_eq!(
        report.outcome.error, None,
        "nothing went down, nothing refused"
    );
    let live = race(&app, "current");
    assert_eq!(live["id"], "202611");
    assert_eq!(
        standings(&live),
        [
            row("Alice", 2000.0, 200.0),
            row("Carol", 2000.0, 200.0),
            row("bob", 1000.0, 50.0)
        ],
        "{live}"
    );

    clock.set(at("2026-12-01T05:00:05Z"));
    assert!(app.sync().succeeded());
    wait_until("November to be final", || {
        app.count("SELECT count(*) FROM races WHERE race_id = '202611'") == 1
    });
    let november = race(&app, "202611");
    assert_eq!(november["kind"], "monthly");
    assert_eq!(november["name"], "November 2026");
    assert_eq!(november["totalWagered"], 5000.0);
}

#[test]
fn a_race_with_no_answer_before_its_start_says_from_when_it_is_tracked() {
    // A first install at 12:00 on 20 November, at UTC-5: November's race started on the
    // 1st, and the first answer is its baseline.
    let clock = ManualClock::new(at("2026-11-20T12:00:00Z"));
    let upstream = FakeUpstream::start(players([1000.0, 500.0, 0.0]));
    let app = spawn_app_at(&clock, &upstream, |c| {
        c.race.timezone_offset_minutes = -300;
    });
    assert!(app.sync().succeeded());
    upstream.set_players(players([1000.0, 650.0, 0.0]));
    clock.set(at("2026-11-20T12:05:00Z"));
    assert!(app.sync().succeeded());
    let live = race(&app, "current");
    assert!(
        live["trackedFrom"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-20T12:00:00"),
        "{live}"
    );
    assert_eq!(standings(&live), [row("bob", 150.0, 250.0)]);
    // The final result says so too: it is part of what the race was.
    clock.set(at("2026-12-01T05:00:30Z"));
    assert!(app.sync().succeeded());
    wait_until("November to be final", || {
        app.count("SELECT count(*) FROM races WHERE race_id = '202611'") == 1
    });
    let november = race(&app, "202611");
    assert!(
        november["trackedFrom"]
            .as_str()
            .is_some_and(|t| t.starts_with("2026-11-20T12:00:00")),
        "{november}"
    );
    assert_eq!(standings(&november), [row("bob", 150.0, 250.0)]);
}

#[test]
fn a_reset_of_all_time_inside_a_custom_race_is_refused_and_recorded() {
    let clock = ManualClock::new(at("2026-11-20T09:00:00Z"));
    let upstream = FakeUpstream::start(players([1000.0, 500.0, 300.0]));
    let app = spawn_app_at(&clock, &upstream, |_| {});
    let admin = admin(&app);
    let body = custom("Sprint", "2026-11-20T10:00:00Z", "2026-11-21T10:00:00Z");
    assert_eq!(create(&app, &admin, body).status, 201);
    clock.set(at("2026-11-20T09:59:00Z"));
    assert!(app.sync().succeeded());
    upstream.set_players(players([1200.0, 650.0, 400.0]));
    clock.set(at("2026-11-20T11:00:00Z"));
    assert!(app.sync().succeeded());
    // A fault: every all_time drops. The race keeps what it had and says so.
    upstream.set_players(players([10.0, 10.0, 10.0]));
    clock.set(at("2026-11-20T11:05:00Z"));
    let report = app.sync();
    let note = report.outcome.error.clone().unwrap_or_default();
    assert!(
        note.contains("race sprint: the upstream reset its amounts"),
        "{note}"
    );
    assert_eq!(
        standings(&race(&app, "sprint")),
        [
            row("Alice", 200.0, 70.0),
            row("bob", 150.0, 30.0),
            row("Carol", 100.0, 0.0)
        ]
    );
}

#[test]
fn a_demo_install_shows_history_and_live_data_replaces_it_while_accounts_stay() {
    let clock = ManualClock::new(at("2026-11-25T12:00:00Z"));
    let upstream = FakeUpstream::start(players([1000.0, 500.0, 0.0]));
    let app = spawn_app_at(&clock, &upstream, |c| {
        c.upstream.mode = goated::config::UpstreamMode::Auto;
        c.upstream.token = None;
        c.upstream.demo_history_days = 30;
    });
    // 30 days of answers through the real pipeline: seconds in a debug build, more on
    // a machine busy with other builds.
    crate::helpers::wait_up_to(
        std::time::Duration::from_secs(90),
        "the demo history to be replayed",
        || {
            app.count("SELECT count(*) FROM sync_runs WHERE trigger = 'backfill'") > 100
                && app.get("/api/health").json()["data"]["lastSync"].is_object()
        },
    );
    // Every page has something to show on the first visit: finished monthly and weekly
    // races with winners, and a month of daily samples.
    let finished = app.get("/api/wager-races?status=finished&limit=100").json()["data"].clone();
    let kinds: Vec<&str> = finished["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"monthly") && kinds.iter().filter(|k| **k == "weekly").count() >= 3,
        "{kinds:?}"
    );
    let winner = finished["results"][0]["winners"][0]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    let stats = app.get(&format!("/api/users/{winner}/stats")).json()["data"].clone();
    assert!(
        stats["raceHistory"].as_array().unwrap().len() >= 3,
        "{stats}"
    );
    assert!(app.count("SELECT count(DISTINCT day) FROM player_history") >= 30);
    assert_eq!(race(&app, "current")["metadata"]["source"], "demo");
    let admin = admin(&app);

    // The operator sets the upstream token at run time: the next sync is live. Three
    // live players where the simulation had 300 is not "suspect": they are another
    // source. Every simulated thing goes; the accounts stay.
    let set = app.authed(
        "PUT",
        "/api/admin/upstream/token",
        &admin,
        Some(&json!({"token": crate::fake_upstream::GOOD_TOKEN})),
    );
    assert_eq!(set.status, 200, "{}", set.text());
    let report = app.sync();
    assert!(report.succeeded(), "{:?}", report.outcome);
    assert_eq!(app.count("SELECT count(*) FROM players"), 3);
    assert_eq!(app.count("SELECT count(*) FROM races"), 0);
    assert_eq!(app.count("SELECT count(*) FROM race_payouts"), 0);
    assert_eq!(app.count("SELECT count(*) FROM race_series"), 0);
    assert_eq!(
        app.count("SELECT count(*) FROM player_history WHERE source = 'demo'"),
        0
    );
    let current = race(&app, "current");
    assert_eq!(current["metadata"]["source"], "live");
    assert_eq!(
        current["participantCount"], 2,
        "Alice and bob; Carol has no wager"
    );
    let all_time = app
        .get("/api/affiliate/leaderboard?period=all_time&limit=100")
        .json()["data"]
        .clone();
    assert_eq!(
        all_time["pagination"]["total"], 2,
        "no simulated player stays on the board (Carol never wagered)"
    );
    assert_eq!(
        app.get("/api/wager-races?status=finished").json()["data"]["results"],
        json!([])
    );
    assert_eq!(login(&app, "operator")["account"]["username"], "operator");
}

type ResultRow = (String, String, i64, i64, i64);

fn final_rows(conn: &rusqlite::Connection) -> Vec<ResultRow> {
    let mut stmt = conn
        .prepare("SELECT race_id, uid, position, wagered_cents, prize_cents FROM race_results ORDER BY race_id, seq")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[test]
fn a_database_written_by_the_previous_release_upgrades_keeping_every_result() {
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/release-v5.db");
    let before = final_rows(&rusqlite::Connection::open(&fixture).unwrap());
    assert_eq!(before.len(), 6, "the fixture's October race");
    let clock = ManualClock::new(at("2026-11-20T10:00:00Z"));
    let upstream = FakeUpstream::start(crate::month_boundary::november_players());
    let app = spawn_app_at(&clock, &upstream, |c| {
        std::fs::copy(&fixture, &c.database.path).unwrap();
    });
    assert_eq!(app.count("PRAGMA user_version"), goated::db::SCHEMA_VERSION);
    assert_eq!(
        final_rows(&app.db()),
        before,
        "every finished result exactly"
    );
    let october = race(&app, "202610");
    assert_eq!(october["kind"], "monthly");
    assert_eq!(october["name"], "October 2026");
    assert_eq!(october["participantCount"], 6);
    assert_eq!(
        app.count("SELECT count(*) FROM races WHERE source = 'live'"),
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM players WHERE source = 'live'"),
        7
    );
    // Proofs still check, payouts keep their states, accounts and claims still work.
    let (checked, breaks) = goated::db::proofs::verify(&app.db()).unwrap();
    assert_eq!((checked, breaks.len()), (1, 0));
    assert_eq!(
        app.count("SELECT count(*) FROM race_payouts WHERE status = 'approved'"),
        1
    );
    let alice = login(&app, "alice");
    assert_eq!(alice["account"]["goatedUid"], "aaaaaaaaaaaaaaaaaaa1");
    let admin = token(&login(&app, "operator"));
    assert_eq!(
        app.authed("GET", "/api/admin/payouts", &admin, None).status,
        200
    );
    // And it goes on: the running month syncs into the upgraded database.
    assert!(app.sync().succeeded());
    // Seven: "Idle" wagered $1 on 1 November (the fixture's first November answer), and
    // an amount never goes down inside a race.
    assert_eq!(race(&app, "current")["participantCount"], 7);
    assert_eq!(final_rows(&app.db()), before);
}

#[test]
fn an_admin_creates_and_cancels_a_custom_race_on_the_admin_page_and_everyone_sees_it() {
    use crate::webdriver::Browser;

    let upstream = FakeUpstream::start(players([1000.0, 500.0, 0.0]));
    let app = crate::helpers::spawn_live_app(&upstream, |_| {});
    admin_session(&app, "boss");
    let browser = Browser::start(1280, 1000);
    browser.goto(&app.url("/account.html"));
    crate::browser::sign_in_form(&browser, "boss");
    browser.wait_for("the signed-in page", "document.querySelector('#logout')");
    browser.goto(&app.url("/admin.html"));
    browser.wait_for("the races card", "document.querySelector('#new-race')");
    // Dollars per place make the pool their sum: no pool field to fill until the unit
    // is percent.
    let pool_shown =
        "return document.querySelector('#new-race .pool-field').offsetParent !== null;";
    assert_eq!(browser.script(pool_shown), json!(false));
    browser.script(
        "const s = document.querySelector('#new-race select[name=unit]'); s.value = 'percent'; \
         s.dispatchEvent(new Event('change')); return true;",
    );
    assert_eq!(browser.script(pool_shown), json!(true));
    browser.script(
        "const s = document.querySelector('#new-race select[name=unit]'); s.value = 'dollars'; \
         s.dispatchEvent(new Event('change')); return true;",
    );
    browser.script(
        "const f = document.querySelector('#new-race'); \
         const local = (ms) => { const d = new Date(Date.now() + ms); \
           d.setMinutes(d.getMinutes() - d.getTimezoneOffset()); return d.toISOString().slice(0, 16); }; \
         f.name.value = 'Holiday Sprint'; f.startsAt.value = local(86400000); \
         f.endsAt.value = local(3 * 86400000); f.prizes.value = '$180, $120'; \
         return true;",
    );
    browser.click("#new-race button[type=submit]");
    browser.wait_for(
        "the new race in the list",
        "!!document.querySelector('#defined-races')?.textContent.includes('holiday-sprint')",
    );
    let served = race(&app, "holiday-sprint");
    assert_eq!(served["status"], "upcoming");
    assert_eq!(served["prizePool"], 300.0);
    // Typed as dollars per place: the pool is their sum, each place gets its amount.
    assert_eq!(served["metadata"]["prizeDistribution"], json!([0.6, 0.4]));

    browser.goto(&app.url("/races.html"));
    browser.wait_for(
        "the race among the upcoming ones",
        "!!document.querySelector('#running-races')?.textContent.includes('Holiday Sprint')",
    );

    browser.goto(&app.url("/admin.html"));
    browser.wait_for(
        "the cancel button",
        "document.querySelector(\"[data-cancel-race='holiday-sprint']\")",
    );
    browser.click("[data-cancel-race='holiday-sprint']");
    browser.wait_for(
        "the race to show as cancelled",
        "!!document.querySelector('#defined-races')?.textContent.includes('cancelled')",
    );
    assert_error(
        &app.get("/api/wager-races/holiday-sprint"),
        404,
        "NOT_FOUND",
    );

    // The stream overlay card builds the address from its choices, with a preview.
    browser.wait_for("the overlay card", "document.querySelector('#overlay-url')");
    browser.script(
        "const f = document.querySelector('#overlay-settings'); f.top.value = '3'; \
         f.theme.value = 'light'; f.dispatchEvent(new Event('input')); return true;",
    );
    let url = browser.script("return document.querySelector('#overlay-url').value");
    assert_eq!(
        url.as_str().unwrap(),
        app.url("/overlay.html?top=3&theme=light&size=m")
    );
    browser.wait_for(
        "the preview to show the race",
        "(() => { const d = document.querySelector('#overlay-preview').contentDocument; \
           return !!d && /race$/.test(d.querySelector('#board-title')?.textContent || ''); })()",
    );
}

#[test]
fn weekly_series_refuse_what_is_not_a_week_and_a_repeated_stop_finds_nothing() {
    let clock = ManualClock::new(at("2026-11-25T12:00:00Z"));
    let upstream = FakeUpstream::start(players([1000.0, 500.0, 0.0]));
    let app = spawn_app_at(&clock, &upstream, |_| {});
    let admin = admin(&app);
    let series = |body: Value| app.authed("POST", "/api/admin/race-series", &admin, Some(&body));
    let good = json!({"name": "Weekly", "startWeekday": 1, "startHour": 0,
                      "prizePool": 50.0, "prizeDistribution": [1.0]});
    for (field, bad) in [("startWeekday", 0), ("startWeekday", 8), ("startHour", 24)] {
        let mut body = good.clone();
        body[field] = bad.into();
        assert_error(&series(body), 400, "VALIDATION_ERROR");
    }
    let mut blank = good.clone();
    blank["name"] = "   ".into();
    let err = assert_error(&series(blank), 400, "VALIDATION_ERROR");
    assert_eq!(err["details"]["field"], "name");
    let mut uneven = good.clone();
    uneven["prizeDistribution"] = json!([0.5, 0.6]);
    let err = assert_error(&series(uneven), 400, "VALIDATION_ERROR");
    assert_eq!(err["details"]["field"], "prizeDistribution");
    let mut huge = good.clone();
    huge["prizePool"] = 1e300.into();
    assert_error(&series(huge), 400, "VALIDATION_ERROR");
    assert_eq!(
        app.count("SELECT count(*) FROM race_series") + app.count("SELECT count(*) FROM race_defs"),
        0,
        "nothing refused is stored"
    );

    assert_eq!(series(good.clone()).status, 201);
    assert_error(
        &app.authed("PUT", "/api/admin/race-series/99", &admin, Some(&good)),
        404,
        "NOT_FOUND",
    );
    let stop = || app.authed("DELETE", "/api/admin/race-series/1", &admin, None);
    assert_eq!(stop().status, 200);
    assert_error(&stop(), 404, "NOT_FOUND");
    assert_eq!(
        app.count("SELECT count(*) FROM race_defs WHERE cancelled_at IS NULL"),
        0,
        "its race that had not started was cancelled once"
    );
    assert_error(
        &app.get("/api/wager-races?status=someday"),
        400,
        "VALIDATION_ERROR",
    );
}
