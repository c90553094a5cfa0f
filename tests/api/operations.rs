//! What an operator relies on: metrics, scheduled backups and restoring one.

use std::time::Duration;

use goated::clock::ManualClock;

use crate::fake_upstream::{FakeUpstream, player};
use crate::helpers::{assert_error, at, spawn_app_at, spawn_live_app, start_again, wait_until};

fn players() -> Vec<serde_json::Value> {
    vec![
        player("ops00000000000000001", "Ops", 10.0),
        player("ops00000000000000002", "Two", 20.0),
    ]
}

#[test]
fn metrics_count_requests_by_route_template_and_report_state() {
    let upstream = FakeUpstream::start(players());
    let app = spawn_live_app(&upstream, |_| {});
    assert!(app.sync().succeeded());
    app.get("/api/wager-races/current");
    app.get("/api/wager-races/current");
    app.get("/api/users/ops00000000000000001");
    app.get("/api/users/does-not-exist-123");
    let resp = app.get("/metrics");
    assert_eq!(resp.status, 200);
    assert!(
        resp.header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = resp.text();
    for needle in [
        r#"goated_http_requests_total{route="/api/wager-races/current",status="200"}"#,
        r#"goated_http_requests_total{route="/api/users/{user_id}",status="404"}"#,
        r#"goated_http_request_duration_seconds_bucket{route="/api/wager-races/current",le="0.005"}"#,
        r#"goated_sync_runs_total{outcome="success"}"#,
        r#"goated_cache_hits_total{cache="responses"}"#,
        "goated_last_successful_sync_timestamp_seconds",
        "goated_database_size_bytes",
        "goated_websocket_clients",
        "goated_upstream_request_duration_seconds_bucket",
    ] {
        assert!(text.contains(needle), "missing {needle}");
    }
    assert!(
        !text.contains("does-not-exist-123") && !text.contains("ops00000000000000001"),
        "raw paths never become labels"
    );
}

#[test]
fn metrics_are_refused_from_other_addresses() {
    let upstream = FakeUpstream::start(players());
    let app = spawn_live_app(&upstream, |c| {
        c.metrics.allowed_ips = vec!["10.0.0.0/8".parse().unwrap()]
    });
    assert_error(&app.get("/metrics"), 403, "FORBIDDEN");
}

fn backups(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn scheduled_backups_keep_the_newest_copies_and_one_restores() {
    let clock = ManualClock::new(at("2026-11-23T03:29:00Z"));
    let upstream = FakeUpstream::start(players());
    let app = spawn_app_at(&clock, &upstream, |c| {
        c.backup.cron = "0 30 3 * * *".into();
        c.backup.keep = 2;
    });
    assert!(app.sync().succeeded());
    let folder = app.dir.path().join("backups");
    for day in ["2026-11-23", "2026-11-24", "2026-11-25"] {
        clock.set(at(&format!("{day}T03:30:01Z")));
        let prefix = format!("goated-{}", day.replace('-', ""));
        wait_until(&format!("the backup of {day}"), || {
            backups(&folder).iter().any(|n| n.starts_with(&prefix))
        });
    }
    let expected = vec![
        "goated-20261124T033001Z.db".to_string(),
        "goated-20261125T033001Z.db".to_string(),
    ];
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while backups(&folder) != expected {
        assert!(
            std::time::Instant::now() < deadline,
            "backups: {:?}",
            backups(&folder)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let names = backups(&folder);
    assert_eq!(
        names,
        vec!["goated-20261124T033001Z.db", "goated-20261125T033001Z.db"],
        "only the newest two are kept"
    );

    // Something happens after the last backup; then the operator restores it.
    assert!(upstream.request_count() > 0);
    let (config, dir, options) = app.stop();
    let db = config.database.path.clone();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("DELETE FROM players", [])
        .unwrap();
    std::fs::copy(folder.join(&names[1]), &db).unwrap();
    for extra in ["goated.db-wal", "goated.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(extra));
    }
    let app = start_again(config, dir, options);
    assert_eq!(
        app.count("SELECT count(*) FROM players"),
        2,
        "the restored copy has the players"
    );
    assert_eq!(
        app.get("/api/affiliate/leaderboard").json()["data"]["pagination"]["total"],
        2
    );
}

fn endpoint<'a>(report: &'a serde_json::Value, route: &str) -> &'a serde_json::Value {
    report["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["route"] == route)
        .unwrap_or_else(|| panic!("no {route} in {report}"))
}

#[test]
fn usage_analytics_count_endpoints_accounts_cache_and_syncs_and_survive_a_restart() {
    use crate::helpers::{admin_session, token};
    let upstream = FakeUpstream::start(players());
    // Written only when asked for or at shutdown, so nothing here depends on timing.
    let app = spawn_live_app(&upstream, |c| c.analytics.flush_secs = 3600);
    assert!(app.sync().succeeded());
    for _ in 0..3 {
        assert_eq!(app.get("/api/wager-races/current").status, 200);
    }
    assert_eq!(app.get("/api/users/does-not-exist-123").status, 404);
    let boss = token(&admin_session(&app, "boss"));
    for _ in 0..2 {
        assert_eq!(app.authed("GET", "/api/auth/me", &boss, None).status, 200);
    }
    let resp = app.authed("GET", "/api/admin/analytics", &boss, None);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let report = resp.json()["data"].clone();
    let current = endpoint(&report, "/api/wager-races/current");
    assert_eq!(current["requests"], 3);
    assert_eq!(current["serverErrors"], 0);
    assert!(current["p50Ms"].as_f64().unwrap() > 0.0);
    assert!(current["p95Ms"].as_f64().unwrap() >= current["p50Ms"].as_f64().unwrap());
    let users = endpoint(&report, "/api/users/{user_id}");
    assert_eq!(
        (users["clientErrors"].as_u64(), users["errorRate"].as_f64()),
        (Some(1), Some(1.0))
    );
    assert_eq!(report["accounts"][0]["username"], "boss");
    assert_eq!(report["accounts"][0]["requests"], 2);
    assert!(report["cache"]["hits"].as_u64().unwrap() >= 2);
    assert!(report["cache"]["hitRatio"].as_f64().unwrap() > 0.0);
    assert!(report["sync"]["succeeded"].as_u64().unwrap() >= 1);
    assert_eq!(report["sync"]["successRate"], 1.0);
    let hourly = report["hourly"].as_array().unwrap();
    assert_eq!(
        hourly.len(),
        25,
        "24 hours back from now, both ends' hours included"
    );
    let by_hour: u64 = hourly.iter().map(|h| h["requests"].as_u64().unwrap()).sum();
    assert_eq!(by_hour, report["totals"]["requests"].as_u64().unwrap());
    assert_eq!(report["peakHours"].as_array().unwrap().len(), 24);
    assert!(!report["rollups"].as_array().unwrap().is_empty());

    // Counted but not yet written: the shutdown writes it, and a restart keeps it all.
    app.get("/api/wager-races/current");
    let app = app.restart();
    let report = app
        .authed("GET", "/api/admin/analytics", &boss, None)
        .json()["data"]
        .clone();
    assert_eq!(endpoint(&report, "/api/wager-races/current")["requests"], 4);

    let lean = app
        .authed("GET", "/api/admin/analytics?rollups=false", &boss, None)
        .json()["data"]
        .clone();
    assert_eq!(lean["rollups"], serde_json::json!([]));
    assert_eq!(endpoint(&lean, "/api/wager-races/current")["requests"], 4);

    // A range without traffic is empty, not an error; bad ranges name the field.
    let quiet = app.authed(
        "GET",
        "/api/admin/analytics?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z",
        &boss,
        None,
    );
    assert_eq!(quiet.status, 200);
    assert_eq!(quiet.json()["data"]["totals"]["requests"], 0);
    assert_eq!(quiet.json()["data"]["hourly"].as_array().unwrap().len(), 24);
    for bad in [
        "/api/admin/analytics?from=2020-01-02T00:00:00Z&to=2020-01-01T00:00:00Z",
        "/api/admin/analytics?from=2020-01-01T00:00:00Z&to=2021-01-01T00:00:00Z",
        "/api/admin/analytics?from=yesterday",
    ] {
        let body = assert_error(
            &app.authed("GET", bad, &boss, None),
            400,
            "VALIDATION_ERROR",
        );
        assert_eq!(body["details"]["field"], "from", "{bad}");
    }
    assert_error(&app.get("/api/admin/analytics"), 401, "UNAUTHORIZED");
}

fn runs_by(app: &crate::helpers::TestApp, trigger: &str) -> i64 {
    app.count(&format!(
        "SELECT count(*) FROM sync_runs WHERE trigger = '{trigger}'"
    ))
}

#[test]
fn the_start_up_sync_runs_only_when_the_data_is_older_than_one_interval() {
    // The product's own rule, with the test config's switch put back on: every 5
    // minutes, so data younger than that is served as it is at start-up.
    let clock = goated::clock::ManualClock::new("2026-11-20T12:00:30Z".parse().unwrap());
    let upstream = crate::fake_upstream::FakeUpstream::start(vec![crate::fake_upstream::player(
        "start000000000000001",
        "Early",
        10.0,
    )]);
    let app = crate::helpers::spawn_app_at(&clock, &upstream, |c| {
        c.sync.on_startup = true;
        c.sync.leaderboard_cron = "0 */5 * * * *".into();
    });
    crate::helpers::wait_until("the first start's sync", || runs_by(&app, "startup") == 1);

    // Back 90 seconds later: the data is fresh, no start-up sync. A forced sync is
    // handled by the scheduler after its start-up decision, so once it is recorded the
    // decision was made.
    let (config, dir, options) = app.stop();
    clock.set("2026-11-20T12:02:00Z".parse().unwrap());
    let app = crate::helpers::start_again(config, dir, options);
    assert!(app.sync().succeeded());
    assert_eq!(runs_by(&app, "startup"), 1, "fresh data: no start-up sync");

    // Back the next hour: older than one interval, so it syncs at once.
    let (config, dir, options) = app.stop();
    clock.set("2026-11-20T13:01:00Z".parse().unwrap());
    let app = crate::helpers::start_again(config, dir, options);
    assert!(app.sync().succeeded());
    assert_eq!(
        runs_by(&app, "startup"),
        2,
        "stale data: synced at start-up"
    );
}

#[test]
fn housekeeping_prunes_what_is_old_and_a_restart_closes_runs_cut_off_mid_sync() {
    let clock = goated::clock::ManualClock::new("2026-10-01T12:00:00Z".parse().unwrap());
    let upstream = crate::fake_upstream::FakeUpstream::start(vec![crate::fake_upstream::player(
        "house000000000000001",
        "Keeper",
        10.0,
    )]);
    let app = crate::helpers::spawn_app_at(&clock, &upstream, |c| {
        c.sync.housekeeping_cron = "0 17 * * * *".into();
        c.upstream.max_retries = 0;
    });
    assert!(app.sync().succeeded());
    upstream.push_fault(crate::fake_upstream::Fault::Status(500));
    assert_eq!(app.sync().outcome.outcome.as_str(), "failed");
    let old_session = crate::helpers::register(&app, "old_timer");
    assert!(old_session["refreshToken"].is_string());

    // Forty days on, at the next :17, housekeeping prunes the 40-day-old failed run
    // (sync.keep_sync_runs_days = 30; the successful one is October's final data and
    // stays) and the expired refresh token.
    clock.set("2026-11-10T12:17:01Z".parse().unwrap());
    crate::helpers::wait_until("housekeeping", || {
        app.count("SELECT count(*) FROM sync_runs WHERE outcome = 'failed'") == 0
            && app.count("SELECT count(*) FROM refresh_tokens") == 0
    });
    assert_eq!(
        app.count("SELECT count(*) FROM sync_runs WHERE outcome = 'success'"),
        1,
        "the run October's result refers to is kept"
    );

    // A run left 'running' by a process killed mid-sync is closed at the next start.
    app.state
        .db
        .write_blocking(|tx| {
            goated::db::sync_runs::start(tx, "scheduled", "live", "2026-11-10T12:20:00.000Z")
        })
        .unwrap();
    let app = app.restart();
    assert_eq!(
        app.count("SELECT count(*) FROM sync_runs WHERE outcome = 'running'"),
        0
    );
    assert_eq!(
        app.count("SELECT count(*) FROM sync_runs WHERE outcome = 'interrupted'"),
        1
    );
}

/// The exact value of one sample line of a Prometheus scrape, 0 when absent.
fn sample(scrape: &str, series: &str) -> f64 {
    scrape
        .lines()
        .find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

#[test]
fn metrics_count_exactly_what_happened_in_a_process_of_their_own() {
    // The metrics recorder is process-global, and every test in this binary shares it;
    // a server process of its own counts only this test's requests, so the counts can
    // be checked to the unit rather than for presence.
    let dir = tempfile::tempdir().unwrap();
    let mut child = crate::helpers::serve_command(dir.path())
        .env("GOATED_UPSTREAM__DEMO_HISTORY_DAYS", "0")
        .env("GOATED_SYNC__DEMO_CRON", crate::helpers::NEVER)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = crate::helpers::announced_base(&mut child, "http");
    let get = |path: &str| {
        ureq::get(format!("{base}{path}"))
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .unwrap()
            .status()
            .as_u16()
    };
    let scrape = || {
        ureq::get(format!("{base}/metrics"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap()
    };
    // The run is recorded as a success in the same transaction as its data, so the
    // health answer can say so a moment before the counter and the shared status
    // catch up; waiting on the scrape itself is what makes the counts below exact.
    crate::helpers::wait_until("the start-up sync, as the metrics see it", || {
        let scrape = scrape();
        sample(&scrape, r#"goated_sync_runs_total{outcome="success"}"#) >= 1.0
            && sample(&scrape, "goated_last_successful_sync_timestamp_seconds") > 0.0
    });
    for _ in 0..7 {
        assert_eq!(get("/api/wager-races/current"), 200);
    }
    for n in 0..3 {
        assert_eq!(get(&format!("/api/users/nobody{n:014}")), 404);
    }
    let scrape = scrape();
    let current = r#"route="/api/wager-races/current""#;
    assert_eq!(
        sample(
            &scrape,
            &format!("goated_http_requests_total{{{current},status=\"200\"}}")
        ),
        7.0
    );
    assert_eq!(
        sample(
            &scrape,
            &format!("goated_http_request_duration_seconds_count{{{current}}}")
        ),
        7.0
    );
    assert_eq!(
        sample(
            &scrape,
            r#"goated_http_requests_total{route="/api/users/{user_id}",status="404"}"#
        ),
        3.0
    );
    assert_eq!(
        sample(&scrape, r#"goated_sync_runs_total{outcome="success"}"#),
        1.0,
        "the start-up sync, and no other"
    );
    assert_eq!(sample(&scrape, "goated_data_stale"), 0.0);
    assert!(sample(&scrape, "goated_last_successful_sync_timestamp_seconds") > 1.7e9);
    child.kill().unwrap();
    child.wait().unwrap();
}
