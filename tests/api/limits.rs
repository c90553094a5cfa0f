//! What a hostile client and a hostile upstream can still try (SPEC §17): each case
//! sends the bad input, asserts the refusal, and checks that nothing was lost.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fake_upstream::{FakeUpstream, Fault, flood_body, forged_entries, player};
use crate::helpers::{TestApp, assert_error, spawn_app_with, spawn_live_app};
use goated::domain::ids::Uid;
use goated::sync::Trigger;

/// `n` players with uids `p0000` …, wagering $100 more each.
fn players(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            player(
                &format!("p{i:05}"),
                &format!("Player{i}"),
                100.0 * (i + 1) as f64,
            )
        })
        .collect()
}

/// Reads until the server closes the connection or `limit` passes; what it sent, and
/// when it closed (`None`: still open).
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Option<Duration>) {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) => {
                return (
                    String::from_utf8_lossy(&answer).into(),
                    Some(started.elapsed()),
                );
            }
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => {
                return (
                    String::from_utf8_lossy(&answer).into(),
                    Some(started.elapsed()),
                );
            }
        }
    }
    (String::from_utf8_lossy(&answer).into(), None)
}

#[test]
fn a_body_that_stops_arriving_is_answered_408_and_the_connection_closed() {
    let app = spawn_app_with(|_| {});
    let mut stream = TcpStream::connect(app.addr).unwrap();
    stream
        .write_all(
            b"POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 60\r\n\r\n{",
        )
        .unwrap();
    let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(20));
    let closed = closed.expect("the connection was still open after 20 s");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("REQUEST_TIMEOUT"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(
        closed >= Duration::from_secs(9) && closed < Duration::from_secs(14),
        "closed after {closed:?}"
    );
    assert_eq!(app.count("SELECT count(*) FROM accounts"), 0);
    assert_eq!(app.get("/api/health").status, 200);
}

/// A keep-alive connection that has been answered once (so the server holds it).
fn answered_connection(app: &TestApp) -> Option<TcpStream> {
    let mut stream = TcpStream::connect(app.addr).ok()?;
    stream
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 4096];
    match stream.read(&mut buf) {
        Ok(n) if n > 0 && buf.starts_with(b"HTTP/1.1 200") => Some(stream),
        _ => None,
    }
}

#[test]
fn an_address_holds_at_most_its_connections_and_a_closed_one_frees_its_place() {
    let app = spawn_app_with(|c| c.server.max_connections_per_ip = 3);
    let held: Vec<TcpStream> = (0..3)
        .map(|i| answered_connection(&app).unwrap_or_else(|| panic!("connection {i} refused")))
        .collect();
    // The fourth is closed as it arrives, before a byte of its request is read.
    let mut fourth = TcpStream::connect(app.addr).unwrap();
    let _ = fourth.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n");
    let (answer, closed) = read_until_closed(&mut fourth, Duration::from_secs(5));
    assert!(
        answer.is_empty(),
        "the fourth connection was answered: {answer}"
    );
    assert!(closed.is_some(), "the fourth connection was kept open");
    // One closed: its place is free again.
    drop(held.into_iter().next());
    let mut again = None;
    for _ in 0..50 {
        again = answered_connection(&app);
        if again.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        again.is_some(),
        "a closed connection's place was not given back"
    );
}

#[test]
fn a_trusted_proxys_connections_are_not_capped() {
    // Behind nginx every visitor arrives from 127.0.0.1.
    let app = spawn_app_with(|c| {
        c.server.max_connections_per_ip = 2;
        c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    });
    let held: Vec<TcpStream> = (0..6).filter_map(|_| answered_connection(&app)).collect();
    assert_eq!(held.len(), 6);
}

#[test]
fn an_upstream_uid_that_would_forge_proof_lines_is_rejected_and_names_are_cleaned() {
    let mut all = players(3);
    all.extend(forged_entries());
    let upstream = FakeUpstream::start(all);
    let app = spawn_live_app(&upstream, |_| {});
    let report = app.sync();
    assert!(report.succeeded(), "{:?}", report.outcome);
    assert_eq!(report.outcome.rejected, Some(1), "{:?}", report.outcome);
    assert!(
        report
            .outcome
            .error
            .as_deref()
            .unwrap_or("")
            .contains("is not 1 to 64 letters"),
        "{:?}",
        report.outcome.error
    );
    // Every stored uid can be asked for, and no stored name holds a line break or a
    // direction override.
    let stored: Vec<(String, String)> = {
        let db = app.db();
        let mut stmt = db.prepare("SELECT uid, name FROM players").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(stored.len(), 5);
    for (uid, name) in &stored {
        assert!(Uid::parse(uid).is_ok(), "{uid:?}");
        assert!(!name.contains(['\n', '\u{202E}']), "{name:?}");
        assert_eq!(app.get(&format!("/api/users/{uid}")).status, 200, "{uid}");
    }
    let profile = app.get("/api/users/forgedname1").json();
    assert_eq!(profile["data"]["name"], "Alice2. Bob — $9,999.00");
    let race = app.get("/api/wager-races/current").json();
    assert_eq!(race["data"]["participantCount"], 5);
}

/// Runs a sync and checks it was judged suspect for `why`.
fn assert_suspect(app: &TestApp, why: &str) {
    let outcome = app.sync().outcome;
    assert_eq!(outcome.outcome.as_str(), "suspect", "{outcome:?}");
    let error = outcome.error.unwrap_or_default();
    assert!(error.contains(why), "{error}");
}

#[test]
fn an_answer_past_max_entries_or_ten_times_the_last_is_suspect_and_changes_nothing() {
    let upstream = FakeUpstream::start(players(200));
    let app = spawn_live_app(&upstream, |c| c.upstream.max_entries = 5_000);
    assert!(app.sync().succeeded());
    let before = app.get("/api/wager-races/current").json()["data"]["totalWagered"].clone();

    // Past the limit: reading stops there.
    upstream.push_fault(Fault::Flood(5_001));
    assert_suspect(&app, "more than 5000 entries");
    // Within the limit, but more than ten times the last good answer's 200.
    upstream.push_fault(Fault::Flood(2_001));
    assert_suspect(&app, "2001 entries where the last good sync had 200");
    assert_eq!(app.count("SELECT count(*) FROM players"), 200);
    let after = app.get("/api/wager-races/current").json()["data"]["totalWagered"].clone();
    assert_eq!(before, after);
    // A board that grows less than tenfold is applied.
    upstream.push_fault(Fault::Body(
        serde_json::from_str(&flood_body(1_900)).unwrap(),
    ));
    assert!(app.sync().succeeded());
}

#[test]
fn a_tenfold_board_that_comes_back_the_next_sync_is_growth_and_is_applied() {
    let upstream = FakeUpstream::start(players(150));
    let app = spawn_live_app(&upstream, |_| {});
    assert!(app.sync().succeeded());
    upstream.push_fault(Fault::Flood(2_000));
    assert_suspect(&app, "2000 entries where the last good sync had 150");
    assert_eq!(app.count("SELECT count(*) FROM players"), 150);
    // The same board again (within a tenth): the affiliate's board did grow.
    upstream.push_fault(Fault::Flood(2_050));
    let report = app.sync();
    assert!(report.succeeded(), "{:?}", report.outcome);
    assert_eq!(
        app.count("SELECT count(*) FROM players WHERE uid LIKE 'f%'"),
        2_050
    );
}

#[test]
fn a_redirect_from_the_upstream_is_a_failed_run_not_an_empty_board() {
    let upstream = FakeUpstream::start(players(40));
    let app = spawn_live_app(&upstream, |_| {});
    assert!(app.sync().succeeded());
    // A 302 to the fake's own empty list (another host in the attack this guards).
    let elsewhere = format!("{}/elsewhere", upstream.base_url());
    upstream.push_fault(Fault::Redirect(elsewhere));
    let report = app.sync();
    assert!(!report.succeeded(), "{:?}", report.outcome);
    assert_eq!(report.outcome.http_status, Some(302));
    let error = report.outcome.error.unwrap_or_default();
    assert!(
        error.contains("redirect") && error.contains("not followed"),
        "{error}"
    );
    // Permanent: one request, no retries.
    assert_eq!(upstream.request_count(), 2);
    assert_eq!(app.count("SELECT count(*) FROM players"), 40);
    let race = app.get("/api/wager-races/current").json();
    assert_eq!(race["data"]["participantCount"], 40);
}

#[test]
fn a_search_of_nul_control_or_invisible_characters_is_refused() {
    let upstream = FakeUpstream::start(players(5));
    let app = spawn_live_app(&upstream, |_| {});
    assert!(app.sync().succeeded());
    for q in [
        "%00%00",
        "a%00b",
        "ab%01",
        "%E2%80%8B%E2%80%8B",
        "%E2%80%AE%E2%80%AE",
        "%E3%80%80%E3%80%80",
        "a%0Ab",
    ] {
        let resp = app.get(&format!("/api/users/search?q={q}"));
        let err = assert_error(&resp, 400, "VALIDATION_ERROR");
        assert_eq!(err["details"]["field"], "q", "{q}");
    }
    let found = app.get("/api/users/search?q=%20Player1%0A").json();
    assert_eq!(found["data"]["pagination"]["total"], 1, "{found}");
    let found = app.get("/api/users/search?q=ye").json();
    assert_eq!(found["data"]["pagination"]["total"], 5, "{found}");
}

/// Fills the database up to `max_pages` with a table of its own, from the test's own
/// connection: the app's writer then finds no page to grow into.
fn fill_to(app: &TestApp, max_pages: i64) {
    let db = rusqlite::Connection::open(app.db_path()).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    db.query_row(&format!("PRAGMA max_page_count = {max_pages}"), [], |_| {
        Ok(())
    })
    .unwrap();
    db.execute_batch("CREATE TABLE IF NOT EXISTS filler (b BLOB)")
        .unwrap();
    loop {
        match db.execute("INSERT INTO filler VALUES (zeroblob(3000))", []) {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DiskFull =>
            {
                break;
            }
            Err(e) => panic!("filling failed: {e}"),
        }
    }
}

#[test]
fn syncs_failing_on_a_full_disk_make_health_degraded_and_recover_when_space_returns() {
    let upstream = FakeUpstream::start(players(50));
    let app = spawn_live_app(&upstream, |c| c.database.max_size_mb = 4);
    assert!(app.sync().succeeded());
    assert_eq!(app.get("/api/health").json()["data"]["status"], "ok");
    let page_size: i64 = app
        .db()
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    fill_to(&app, 4 * 1024 * 1024 / page_size);

    // A board of 900 players needs room the database no longer has. (When not even
    // the run's record fits, there is no report: the scheduler logs the failure.)
    upstream.set_players(players(900));
    let report = app
        .state
        .scheduler
        .sync_now(Trigger::Forced)
        .blocking_recv();
    assert!(
        !report.as_ref().is_ok_and(|r| r.succeeded()),
        "{:?}",
        report.map(|r| r.outcome)
    );
    let health = app.get("/api/health").json();
    assert_eq!(health["data"]["status"], "degraded", "{health}");
    assert_eq!(health["data"]["stale"], true, "{health}");
    let failure = health["data"]["localFailure"]["message"]
        .as_str()
        .unwrap_or("");
    assert!(failure.contains("full"), "{health}");
    // Reads go on, from the last good data.
    let race = app.get("/api/wager-races/current").json();
    assert_eq!(race["data"]["participantCount"], 50);

    // Space returns (the operator clears room): the next sync stores, and all is well.
    let db = rusqlite::Connection::open(app.db_path()).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    db.execute_batch("DROP TABLE filler").unwrap();
    drop(db);
    let report = app.sync();
    assert!(report.succeeded(), "{:?}", report.outcome);
    let health = app.get("/api/health").json();
    assert_eq!(health["data"]["status"], "ok", "{health}");
    assert!(health["data"].get("localFailure").is_none(), "{health}");
    assert_eq!(
        app.get("/api/wager-races/current").json()["data"]["participantCount"],
        900
    );
}
