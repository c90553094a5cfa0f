//! The live feed at /ws, and the finished-race endpoints around a month boundary.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use goated::clock::ManualClock;
use serde_json::Value;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::fake_upstream::{FakeUpstream, player};
use crate::helpers::{TestApp, assert_error, at, spawn_app_at, spawn_live_app};

pub type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

pub fn connect(app: &TestApp) -> Socket {
    let (mut socket, _) = tungstenite::connect(format!("ws://{}/ws", app.addr)).expect("upgrade");
    if let MaybeTlsStream::Plain(stream) = socket.get_mut() {
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
    }
    socket
}

/// The next text message of the given type, skipping pings; panics after 10 s.
pub fn next_of_type(socket: &mut Socket, kind: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match socket.read() {
            Ok(Message::Text(text)) => {
                let v: Value = serde_json::from_str(&text).unwrap();
                if v["type"] == kind {
                    return v;
                }
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("socket closed while waiting for {kind}: {e}"),
        }
    }
    panic!("no {kind} message within 10 s")
}

fn players() -> Vec<Value> {
    (1..=7)
        .map(|i| player(&format!("p{i:019}"), &format!("P{i}"), 100.0 * i as f64))
        .collect()
}

#[test]
fn a_client_gets_hello_then_an_update_after_each_sync() {
    let upstream = FakeUpstream::start(players());
    let app = spawn_live_app(&upstream, |_| {});
    let first = app.sync();
    let mut socket = connect(&app);
    let hello = next_of_type(&mut socket, "hello");
    assert_eq!(hello["version"], first.run_id);
    assert_eq!(hello["raceId"].as_str().unwrap().len(), 6);

    let second = app.sync();
    // The first sync's own update is built asynchronously and may reach a client that
    // connected right after it (a repeat of what its hello said): skip it.
    let update = loop {
        let update = next_of_type(&mut socket, "leaderboard.updated");
        if update["version"] != first.run_id {
            break update;
        }
    };
    assert_eq!(update["version"], second.run_id);
    assert_eq!(update["raceId"], hello["raceId"]);
    let top = update["top"].as_array().unwrap();
    assert_eq!(top.len(), 5, "the top five, not the whole table");
    assert_eq!(top[0]["name"], "P7");
    assert_eq!(update["participantCount"], 7);
    assert_eq!(update["totalWagered"].as_f64().unwrap(), 2800.0);
}

#[test]
fn a_client_that_talks_is_disconnected_and_the_others_carry_on() {
    let upstream = FakeUpstream::start(players());
    let app = spawn_live_app(&upstream, |_| {});
    let mut talker = connect(&app);
    let mut listener = connect(&app);
    next_of_type(&mut talker, "hello");
    next_of_type(&mut listener, "hello");
    talker.send(Message::Text("subscribe me".into())).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match talker.read() {
            Ok(Message::Close(_))
            | Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                break;
            }
            Err(tungstenite::Error::Io(e))
                if e.kind() != std::io::ErrorKind::WouldBlock
                    && e.kind() != std::io::ErrorKind::TimedOut =>
            {
                break;
            }
            Err(tungstenite::Error::Protocol(_)) => break,
            _ => assert!(Instant::now() < deadline, "the talker was not disconnected"),
        }
    }
    app.sync();
    next_of_type(&mut listener, "leaderboard.updated");
}

#[test]
fn connections_beyond_the_cap_are_refused() {
    let upstream = FakeUpstream::start(players());
    let app = spawn_live_app(&upstream, |c| c.server.max_websocket_clients = 2);
    let _a = connect(&app);
    let _b = connect(&app);
    match tungstenite::connect(format!("ws://{}/ws", app.addr)) {
        Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 503),
        other => panic!(
            "a third connection was not refused: {:?}",
            other.map(|_| ())
        ),
    }
    assert_error(&app.get("/ws"), 400, "VALIDATION_ERROR");
}

#[test]
fn the_boundary_sends_race_completed_and_the_finished_race_is_served() {
    let clock = ManualClock::new(at("2026-11-30T23:55:00Z"));
    let upstream = FakeUpstream::start(players());
    let app = spawn_app_at(&clock, &upstream, |_| {});
    assert!(app.sync().succeeded());
    let mut socket = connect(&app);
    next_of_type(&mut socket, "hello");

    clock.set(at("2026-12-01T00:00:01Z"));
    let completed = next_of_type(&mut socket, "race.completed");
    assert_eq!(completed["raceId"], "202611");
    let winners = completed["winners"].as_array().unwrap();
    assert_eq!(winners.len(), 5);
    assert_eq!(winners[0]["name"], "P7");
    assert_eq!(winners[0]["prize"].as_f64().unwrap(), 250.0);

    let previous = app.get("/api/wager-races/previous").json()["data"].clone();
    assert_eq!(previous["id"], "202611");
    assert_eq!(previous["status"], "transition");
    assert_eq!(previous["participantCount"], 7);
    assert_eq!(
        previous["participants"][0]["prize"].as_f64().unwrap(),
        250.0
    );
    let by_id = app.get("/api/wager-races/202611").json()["data"].clone();
    assert_eq!(by_id["participants"], previous["participants"]);
    let current = app.get("/api/wager-races/current").json()["data"].clone();
    assert_eq!(current["id"], "202612");
    assert_eq!(
        current["participants"],
        serde_json::json!([]),
        "no December data yet"
    );

    let history = app.get("/api/wager-races/history").json()["data"].clone();
    assert_eq!(history["pagination"]["total"], 1);
    assert_eq!(
        history["results"][0]["winners"].as_array().unwrap().len(),
        3
    );

    let stats = app.get("/api/users/p0000000000000000007/stats").json()["data"].clone();
    assert_eq!(stats["raceHistory"][0]["raceId"], "202611");
    assert_eq!(stats["totals"]["wins"], 1);
    assert_eq!(stats["totals"]["totalWon"].as_f64().unwrap(), 250.0);

    clock.set(at("2026-12-02T00:00:01Z"));
    let later = app.get("/api/wager-races/previous").json()["data"].clone();
    assert_eq!(later["status"], "completed");
}
