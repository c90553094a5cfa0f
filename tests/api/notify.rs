//! Discord and Telegram notifications (SPEC §11) against real local receivers: a
//! Discord-shaped webhook and a Telegram Bot API stand-in, each a small HTTP server on
//! loopback that records what arrives and answers what the test scripts.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use goated::clock::ManualClock;
use serde_json::{Value, json};

use crate::fake_upstream::{FakeUpstream, player_periods};
use crate::helpers::{TestApp, at, spawn_app_at, spawn_live_app, wait_until};
use crate::helpers::{admin_session, token};

#[derive(Default)]
struct Inbox {
    /// `(path, JSON body)` of every request, in order.
    got: Vec<(String, Value)>,
    /// Statuses to answer with, in order; 204 (Discord's) once they run out.
    script: VecDeque<u16>,
    /// The `Retry-After` a 429 carries (none when empty).
    retry_after: String,
}

pub struct Receiver {
    pub base: String,
    inbox: Arc<Mutex<Inbox>>,
}

impl Receiver {
    pub fn start(script: &[u16]) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let inbox = Arc::new(Mutex::new(Inbox {
            script: script.iter().copied().collect(),
            ..Inbox::default()
        }));
        let shared = inbox.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    if header.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let (status, retry_after) = {
                    let mut inbox = shared.lock().unwrap();
                    inbox
                        .got
                        .push((path, serde_json::from_slice(&body).unwrap_or(Value::Null)));
                    let status = inbox.script.pop_front().unwrap_or(204);
                    let header = match (status, inbox.retry_after.as_str()) {
                        (429, value) if !value.is_empty() => format!("retry-after: {value}\r\n"),
                        _ => String::new(),
                    };
                    (status, header)
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\n{retry_after}content-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        Receiver { base, inbox }
    }

    fn answer_429_with_retry_after(&self, value: &str) {
        self.inbox.lock().unwrap().retry_after = value.to_string();
    }

    fn got(&self) -> Vec<(String, Value)> {
        self.inbox.lock().unwrap().got.clone()
    }

    /// The message texts that arrived (Discord's `content`, Telegram's `text`).
    pub fn texts(&self) -> Vec<String> {
        self.got()
            .iter()
            .filter_map(|(_, b)| {
                b["content"]
                    .as_str()
                    .or(b["text"].as_str())
                    .map(str::to_string)
            })
            .collect()
    }
}

fn players(all_time: [f64; 2]) -> Vec<Value> {
    vec![
        player_periods(
            "ntf00000000000000001",
            "Alice",
            [0.0, 0.0, 100.0, all_time[0]],
        ),
        player_periods("ntf00000000000000002", "bob", [0.0, 0.0, 50.0, all_time[1]]),
    ]
}

fn deliveries(app: &TestApp, sql: &str) -> i64 {
    app.count(&format!("SELECT count(*) FROM notifications WHERE {sql}"))
}

#[test]
fn a_short_race_is_announced_on_discord_and_telegram_from_start_to_results() {
    let discord = Receiver::start(&[]);
    let telegram = Receiver::start(&[200, 200, 200, 200, 200, 200, 200, 200]);
    let clock = ManualClock::new(at("2026-11-20T09:00:00Z"));
    let upstream = FakeUpstream::start(players([1000.0, 500.0]));
    let app = spawn_app_at(&clock, &upstream, |c| {
        c.notify.discord_webhooks = vec![goated::config::Secret::new(format!(
            "{}/api/webhooks/1/abc",
            discord.base
        ))];
        c.notify.telegram_bot_token = Some(goated::config::Secret::new("T0KEN"));
        c.notify.telegram_chat_id = Some("@goatedraces".into());
        c.notify.telegram_api_base = telegram.base.clone();
        c.notify.per_minute = 600;
    });
    let admin = token(&admin_session(&app, "operator"));
    let made = app.authed(
        "POST",
        "/api/admin/races",
        &admin,
        Some(
            &json!({"name": "Sprint", "startsAt": "2026-11-20T10:00:00Z",
                      "endsAt": "2026-11-22T10:00:00Z", "prizePool": 100.0,
                      "prizeDistribution": [0.7, 0.3]}),
        ),
    );
    assert_eq!(made.status, 201, "{}", made.text());
    clock.set(at("2026-11-20T09:59:00Z"));
    assert!(app.sync().succeeded());
    upstream.set_players(players([1100.0, 550.0]));
    clock.set(at("2026-11-20T10:30:00Z"));
    assert!(app.sync().succeeded());
    wait_until("the start to be announced", || {
        discord
            .texts()
            .iter()
            .any(|t| t.contains("Sprint has started"))
    });
    // bob overtakes Alice inside the race, with less than a day to go.
    upstream.set_players(players([1150.0, 800.0]));
    clock.set(at("2026-11-21T11:00:00Z"));
    assert!(app.sync().succeeded());
    clock.set(at("2026-11-22T10:00:05Z"));
    assert!(app.sync().succeeded());
    wait_until("four messages about the sprint on both", || {
        deliveries(&app, "race_id = 'sprint' AND status = 'sent'") == 8
    });
    let sprint: Vec<String> = discord
        .texts()
        .into_iter()
        .filter(|t| t.contains("Sprint"))
        .collect();
    assert_eq!(sprint.len(), 4, "{sprint:#?}");
    assert!(
        sprint[0].contains("Sprint has started! Prize pool $100.00"),
        "{}",
        sprint[0]
    );
    assert!(
        sprint.iter().any(|t| t
            .contains("New leader in Sprint: bob with $300.00 wagered, $150.00 ahead of Alice")),
        "{sprint:#?}"
    );
    assert!(
        sprint.iter().any(|t| t.contains("24 hours left in Sprint")),
        "{sprint:#?}"
    );
    let results = sprint.last().unwrap();
    assert!(
        results.contains("Sprint is over")
            && results.contains("bob — $70.00")
            && results.contains("Alice — $30.00"),
        "{results}"
    );
    // Discord never pings anyone a player's name might mention.
    let (path, body) = &discord.got()[0];
    assert_eq!(path, "/api/webhooks/1/abc");
    assert_eq!(body["allowed_mentions"], json!({"parse": []}));
    // Telegram got the same, through the Bot API's sendMessage, to the configured chat.
    let tg = telegram.got();
    assert!(
        tg.iter()
            .all(|(p, b)| p == "/botT0KEN/sendMessage" && b["chat_id"] == "@goatedraces")
    );
    let tg_texts = telegram.texts();
    assert!(
        tg_texts
            .iter()
            .any(|t| t.contains("Sprint is over! The winners:\n1. bob — $70.00")),
        "{tg_texts:#?}"
    );
    // A repeated event sends nothing twice. To know the notifier has judged it, with no
    // sleep: the sync after it makes bob the monthly race's leader. The notifier takes
    // events in order, so once that message is queued, the repeat was judged too.
    assert!(app.sync().succeeded());
    upstream.set_players(vec![
        player_periods("ntf00000000000000001", "Alice", [0.0, 0.0, 100.0, 1150.0]),
        player_periods("ntf00000000000000002", "bob", [0.0, 0.0, 500.0, 800.0]),
    ]);
    assert!(app.sync().succeeded());
    wait_until("the monthly race's new leader to be queued", || {
        deliveries(&app, "race_id = '202611' AND kind = 'new_leader'") == 2
    });
    assert_eq!(deliveries(&app, "race_id = 'sprint'"), 8);
}

#[test]
fn a_failing_destination_is_retried_and_one_that_refuses_is_paused_not_hammered() {
    let flaky = Receiver::start(&[500, 503]);
    let gone = Receiver::start(&[404]);
    let upstream = FakeUpstream::start(players([1000.0, 500.0]));
    let app = spawn_live_app(&upstream, |c| {
        c.notify.discord_webhooks = vec![
            goated::config::Secret::new(format!("{}/hook/flaky", flaky.base)),
            goated::config::Secret::new(format!("{}/hook/gone", gone.base)),
        ];
        c.notify.per_minute = 600;
        c.notify.retry_base_ms = 20;
    });
    let admin = token(&admin_session(&app, "operator"));
    let sent = app.authed("POST", "/api/admin/notifications/test", &admin, None);
    assert_eq!(sent.status, 200, "{}", sent.text());
    assert_eq!(sent.json()["data"]["queued"], 2);
    wait_until("the flaky destination to get it on the third try", || {
        deliveries(
            &app,
            "destination = 'discord-1' AND status = 'sent' AND attempts = 3",
        ) == 1
    });
    wait_until("the refusing one to be paused", || {
        !app.get("/api/health").json()["data"]["notifications"]["paused"]
            .as_array()
            .unwrap()
            .is_empty()
    });
    let health = app.get("/api/health").json()["data"]["notifications"].clone();
    assert_eq!(health["destinations"], 2);
    assert_eq!(health["paused"][0]["destination"], "discord-2");
    assert!(
        health["paused"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("404")
    );
    assert!(
        !app.get("/api/health").text().contains("/hook/gone"),
        "the URL is a secret"
    );
    // More to say: the paused destination is not called again.
    assert!(app.sync().succeeded());
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert_eq!(gone.got().len(), 1, "one request, then paused");
    let log = app
        .authed("GET", "/api/admin/notifications", &admin, None)
        .json()["data"]
        .clone();
    assert_eq!(
        log["destinations"][1],
        json!({"id": "discord-2", "paused": true, "pausedReason": "HTTP 404: the destination refused the message"})
    );
    // The admin fixes it and sends a test: resumed, and what waited goes out.
    let again = app.authed("POST", "/api/admin/notifications/test", &admin, None);
    assert_eq!(again.status, 200);
    wait_until("the resumed destination to get its messages", || {
        gone.got().len() >= 3
    });
    assert_eq!(
        app.get("/api/health").json()["data"]["notifications"]["paused"],
        json!([])
    );
}

#[test]
fn nothing_is_sent_or_stored_when_no_destination_is_configured() {
    let upstream = FakeUpstream::start(players([1000.0, 500.0]));
    let app = spawn_live_app(&upstream, |_| {});
    assert!(app.sync().succeeded());
    let admin = token(&admin_session(&app, "operator"));
    let sent = app.authed("POST", "/api/admin/notifications/test", &admin, None);
    assert_eq!(sent.json()["data"]["queued"], 0);
    assert!(app.sync().succeeded());
    assert_eq!(app.count("SELECT count(*) FROM notifications"), 0);
    assert_eq!(
        app.get("/api/health").json()["data"]["notifications"],
        json!({"destinations": 0, "pending": 0, "paused": []})
    );
}

#[test]
fn a_429_is_retried_when_the_destination_says_and_a_huge_or_garbled_wait_is_bounded() {
    let polite = Receiver::start(&[429]);
    polite.answer_429_with_retry_after("1");
    let greedy = Receiver::start(&[429]);
    greedy.answer_429_with_retry_after("99999999");
    let garbled = Receiver::start(&[429]);
    garbled.answer_429_with_retry_after("soon-ish");
    let upstream = FakeUpstream::start(players([1000.0, 500.0]));
    let app = spawn_live_app(&upstream, |c| {
        c.notify.discord_webhooks = [&polite, &greedy, &garbled]
            .iter()
            .map(|r| goated::config::Secret::new(format!("{}/hook", r.base)))
            .collect();
        c.notify.per_minute = 600;
        c.notify.retry_base_ms = 20;
    });
    let admin = token(&admin_session(&app, "operator"));
    let queued_at = std::time::Instant::now();
    let sent = app.authed("POST", "/api/admin/notifications/test", &admin, None);
    assert_eq!(sent.json()["data"]["queued"], 3);
    // Retry-After: 1 is honoured: the second try comes after a second, and lands.
    wait_until("the polite destination's second try", || {
        polite.got().len() == 2
    });
    assert!(queued_at.elapsed() >= std::time::Duration::from_secs(1));
    // A garbled value falls back to the backoff (20 ms × 2): it lands soon too.
    wait_until("the garbled destination's second try", || {
        garbled.got().len() == 2
    });
    wait_until("both delivered", || {
        deliveries(&app, "status = 'sent' AND attempts = 2") == 2
    });
    // An absurd one waits at most an hour, and the message is kept, not dropped.
    let waiting: (String, String) = app
        .db()
        .query_row(
            "SELECT status, next_attempt_at FROM notifications WHERE destination = 'discord-2'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(waiting.0, "pending");
    let next: chrono::DateTime<chrono::Utc> = waiting.1.parse().unwrap();
    let wait = next - chrono::Utc::now();
    assert!(
        wait > chrono::Duration::minutes(59) && wait <= chrono::Duration::hours(1),
        "{wait}"
    );
    assert_eq!(greedy.got().len(), 1);
}
