//! Operator alerts (SPEC §14), to a real webhook receiver on loopback: each cause told
//! once when it begins and once when it clears, to the operator's destination alone.

use base64::Engine;
use goated::clock::ManualClock;
use goated::config::Secret;
use serde_json::json;

use crate::fake_upstream::{FakeUpstream, player};
use crate::helpers::{admin_session, at, spawn_app_at, token, wait_until};
use crate::notify::Receiver;

/// A Goated-like session token (a JWT whose signature nobody here checks) expiring at
/// `exp`.
fn goated_token(exp: &str) -> String {
    let enc = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let exp = chrono::DateTime::parse_from_rfc3339(exp)
        .unwrap()
        .timestamp();
    format!(
        "{}.{}.signature",
        enc(r#"{"alg":"HS256","typ":"JWT"}"#.into()),
        enc(format!(r#"{{"uid":"affiliate","exp":{exp}}}"#))
    )
}

fn operator(receiver: &Receiver) -> impl FnOnce(&mut goated::config::Config) {
    let url = format!("{}/api/webhooks/operator/secret", receiver.base);
    move |c| {
        c.notify.operator_discord_webhook = Some(Secret::new(url));
        c.notify.alert_check_secs = 1;
        c.notify.per_minute = 600;
    }
}

fn count(receiver: &Receiver, part: &str) -> usize {
    receiver.texts().iter().filter(|t| t.contains(part)).count()
}

#[test]
fn a_token_about_to_expire_is_told_once_and_its_replacement_once() {
    let inbox = Receiver::start(&[]);
    let clock = ManualClock::new(at("2026-12-06T10:00:00Z"));
    let expiring = goated_token("2026-12-06T12:00:00Z");
    let upstream = FakeUpstream::start(vec![player("alertplayer000000001", "Al", 10.0)]);
    upstream.accept_token(&expiring);
    let setup = operator(&inbox);
    let app = spawn_app_at(&clock, &upstream, |c| {
        setup(c);
        c.upstream.token = Some(Secret::new(expiring.clone()));
    });
    assert!(app.sync().succeeded());
    wait_until("the expiry alert", || {
        count(&inbox, "expires in 2 h 00 min") == 1
    });
    // Judged again and again: still one message.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(count(&inbox, "Goated token"), 1, "{:?}", inbox.texts());

    let fresh = goated_token("2026-12-07T10:00:00Z");
    upstream.accept_token(&fresh);
    let admin = token(&admin_session(&app, "boss"));
    let put = app.authed(
        "PUT",
        "/api/admin/upstream/token",
        &admin,
        Some(&json!({"token": fresh})),
    );
    assert_eq!(put.status, 200, "{}", put.text());
    wait_until("the all-clear", || {
        count(&inbox, "A fresh Goated token is in place") == 1
    });
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(count(&inbox, "Goated token"), 2, "{:?}", inbox.texts());
    // The community's destinations are not the operator's: nothing else was configured,
    // so nothing else was sent anywhere.
    assert!(
        inbox.texts().iter().all(|t| t.contains("Goated token")),
        "{:?}",
        inbox.texts()
    );
}

#[test]
fn a_refused_token_tells_the_operator_that_syncing_stopped() {
    let inbox = Receiver::start(&[]);
    let clock = ManualClock::new(at("2026-12-06T10:00:00Z"));
    let upstream = FakeUpstream::start(vec![player("alertplayer000000002", "Bo", 10.0)]);
    let app = spawn_app_at(&clock, &upstream, operator(&inbox));
    assert!(app.sync().succeeded());
    upstream.reject_all_tokens();
    assert!(!app.sync().succeeded());
    wait_until("the syncing-stopped alert", || {
        count(&inbox, "refused the token and syncing has stopped") == 1
    });
}

#[test]
fn a_finished_race_with_prizes_to_approve_is_told_once() {
    let inbox = Receiver::start(&[]);
    let clock = ManualClock::new(at("2026-11-20T09:00:00Z"));
    let upstream = FakeUpstream::start(vec![
        player("alertplayer000000003", "Cy", 1000.0),
        player("alertplayer000000004", "Di", 500.0),
    ]);
    let app = spawn_app_at(&clock, &upstream, operator(&inbox));
    let admin = token(&admin_session(&app, "boss"));
    let made = app.authed(
        "POST",
        "/api/admin/races",
        &admin,
        Some(
            &json!({"name": "Sprint", "startsAt": "2026-11-20T10:00:00Z",
                      "endsAt": "2026-11-21T10:00:00Z", "prizePool": 100.0,
                      "prizeDistribution": [0.7, 0.3]}),
        ),
    );
    assert_eq!(made.status, 201, "{}", made.text());
    clock.set(at("2026-11-20T09:59:00Z"));
    assert!(app.sync().succeeded());
    upstream.set_players(vec![
        player("alertplayer000000003", "Cy", 1100.0),
        player("alertplayer000000004", "Di", 550.0),
    ]);
    clock.set(at("2026-11-20T12:00:00Z"));
    assert!(app.sync().succeeded());
    clock.set(at("2026-11-21T10:00:05Z"));
    assert!(app.sync().succeeded());
    let finished = || {
        count(
            &inbox,
            "Sprint finished: 2 prizes, $100.00 in all, to approve",
        ) == 1
    };
    for _ in 0..100 {
        if finished() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(finished(), "{:?}", inbox.texts());
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(count(&inbox, "Sprint finished"), 1, "{:?}", inbox.texts());
}
