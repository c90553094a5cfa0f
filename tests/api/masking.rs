//! Name masking (SPEC §11, `race.name_masking`) on every public surface, and the verified
//! owner's choice to show their name.

use serde_json::{Value, json};

use crate::fake_upstream::{FakeUpstream, player};
use crate::helpers::{TestApp, assert_error, spawn_live_app};
use crate::helpers::{admin_session, register, token};

const LUCKY: &str = "msk00000000000000001";

fn players() -> Vec<Value> {
    vec![
        player(LUCKY, "LuckyGoat77", 900.0),
        player("msk00000000000000002", "Quietone", 400.0),
        player("msk00000000000000003", "bob", 100.0),
    ]
}

fn masked_app(mode: &str) -> (FakeUpstream, TestApp) {
    let upstream = FakeUpstream::start(players());
    let mode = match mode {
        "partial" => goated::domain::masking::NameMasking::Partial,
        _ => goated::domain::masking::NameMasking::Full,
    };
    let app = spawn_live_app(&upstream, |c| c.race.name_masking = mode);
    assert!(app.sync().succeeded());
    (upstream, app)
}

/// Every name the public surfaces show, in the order they show them.
fn public_names(app: &TestApp) -> Vec<String> {
    let mut names = Vec::new();
    let race = app.get("/api/wager-races/current").json()["data"].clone();
    for p in race["participants"].as_array().unwrap() {
        names.push(p["name"].as_str().unwrap().to_string());
    }
    let board = app.get("/api/affiliate/leaderboard?period=all_time").json()["data"].clone();
    for p in board["results"].as_array().unwrap() {
        names.push(p["name"].as_str().unwrap().to_string());
    }
    names.push(
        app.get(&format!("/api/users/{LUCKY}")).json()["data"]["name"]
            .as_str()
            .unwrap()
            .into(),
    );
    names.push(
        app.get(&format!("/api/users/{LUCKY}/stats")).json()["data"]["name"]
            .as_str()
            .unwrap()
            .into(),
    );
    names
}

#[test]
fn partial_masking_hides_names_everywhere_the_public_looks() {
    let (_upstream, app) = masked_app("partial");
    let names = public_names(&app);
    assert_eq!(
        names,
        [
            "Lu***77", "Qu***ne", "b***", "Lu***77", "Qu***ne", "b***", "Lu***77", "Lu***77"
        ]
    );
    let everything = [
        app.get("/api/wager-races/current").text(),
        app.get("/api/affiliate/stats").text(),
        app.get("/api/affiliate/leaderboard").text(),
        app.get("/api/wager-races/202611/export.csv").text(),
        app.get(&format!("/api/users/batch?ids={LUCKY}")).text(),
    ]
    .join("\n");
    for real in ["LuckyGoat77", "Quietone", "\"bob\"", ",bob,"] {
        assert!(!everything.contains(real), "{real} leaked");
    }
    // A name search cannot tell whether a hidden name exists.
    let found = app.get("/api/users/search?q=Lucky").json()["data"].clone();
    assert_eq!(found["pagination"]["total"], 0);
}

#[test]
fn a_verified_owner_may_show_their_own_name_and_only_they_decide() {
    let (_upstream, app) = masked_app("full");
    assert!(public_names(&app).iter().all(|n| n == "*****"));
    let admin = token(&admin_session(&app, "operator"));
    let owner = register(&app, "lucky");
    let claim = app.authed(
        "POST",
        "/api/verification/request",
        &token(&owner),
        Some(&json!({"uid": LUCKY})),
    );
    assert_eq!(claim.status, 201, "{}", claim.text());
    let id = claim.json()["data"]["id"].as_i64().unwrap();
    let approve = app.authed(
        "POST",
        "/api/verification/confirm",
        &admin,
        Some(&json!({"requestId": id, "approve": true})),
    );
    assert_eq!(approve.status, 200);
    // An admin can edit a profile, but not make this choice for its owner.
    let by_admin = app.authed(
        "PATCH",
        &format!("/api/users/{LUCKY}"),
        &admin,
        Some(&json!({"showName": true})),
    );
    assert_error(&by_admin, 403, "FORBIDDEN");
    let owner = crate::helpers::login(&app, "lucky");
    let garbled = app.authed(
        "PATCH",
        &format!("/api/users/{LUCKY}"),
        &token(&owner),
        Some(&json!({"showName": "yes please"})),
    );
    assert_error(&garbled, 400, "VALIDATION_ERROR");
    assert_eq!(
        app.count("SELECT count(*) FROM accounts WHERE show_name = 1"),
        0,
        "a refused choice changes nothing"
    );
    let chosen = app.authed(
        "PATCH",
        &format!("/api/users/{LUCKY}"),
        &token(&owner),
        Some(&json!({"showName": true})),
    );
    assert_eq!(chosen.status, 200, "{}", chosen.text());
    assert_eq!(chosen.json()["data"]["name"], "LuckyGoat77");
    let race = app.get("/api/wager-races/current").json()["data"].clone();
    let shown: Vec<&str> = race["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(shown, ["LuckyGoat77", "*****", "*****"]);
    let me = app
        .authed("GET", "/api/auth/me", &token(&owner), None)
        .json()["data"]
        .clone();
    assert_eq!(me["showName"], true);
    let found = app.get("/api/users/search?q=lucky").json()["data"].clone();
    assert_eq!(found["pagination"]["total"], 1, "findable once shown");

    // On the race page, the signed-in owner's own row is marked.
    let browser = crate::webdriver::Browser::start(1280, 900);
    browser.goto(&app.url("/account.html"));
    crate::browser::sign_in_form(&browser, "lucky");
    browser.wait_for("the signed-in page", "document.querySelector('#logout')");
    browser.goto(&app.url("/"));
    browser.wait_for(
        "the owner's row",
        "document.querySelector('#standings tr.mine')",
    );
    assert!(browser.text("#standings tr.mine").contains("LuckyGoat77"));
    assert_eq!(
        browser.script("return document.querySelectorAll('#standings tr.mine').length"),
        1
    );
}

#[test]
fn the_live_feed_the_overlay_data_and_notifications_carry_masked_names_too() {
    use goated::clock::ManualClock;

    let discord = crate::notify::Receiver::start(&[]);
    let clock = ManualClock::new(crate::helpers::at("2026-11-30T23:50:00Z"));
    let upstream = FakeUpstream::start(players());
    let app = crate::helpers::spawn_app_at(&clock, &upstream, |c| {
        c.race.name_masking = goated::domain::masking::NameMasking::Partial;
        c.notify.discord_webhooks = vec![goated::config::Secret::new(format!(
            "{}/hook",
            discord.base
        ))];
        c.notify.per_minute = 600;
    });
    let mut socket = crate::websocket::connect(&app);
    crate::websocket::next_of_type(&mut socket, "hello");
    assert!(app.sync().succeeded());
    let update = crate::websocket::next_of_type(&mut socket, "leaderboard.updated");
    let top: Vec<&str> = update["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(top, ["Lu***77", "Qu***ne", "b***"]);
    // What the overlay reads: the race with a few places.
    let overlay = app.get("/api/wager-races/current?limit=3").text();
    assert!(overlay.contains("Lu***77") && !overlay.contains("LuckyGoat77"));
    // The month ends: the results message names the winners masked.
    clock.set(crate::helpers::at("2026-12-01T00:00:05Z"));
    assert!(app.sync().succeeded());
    crate::helpers::wait_until("the results on Discord", || {
        discord.texts().iter().any(|t| t.contains("is over"))
    });
    let results = discord
        .texts()
        .into_iter()
        .find(|t| t.contains("is over"))
        .unwrap();
    assert!(results.contains("Lu\\*\\*\\*77"), "{results}");
    assert!(
        !results.contains("LuckyGoat77") && !results.contains("Quietone"),
        "{results}"
    );
}
