//! Payouts and results anyone can verify (SPEC §12): the proof of a finished race,
//! rebuilt here from the race as the API serves it and hashed with coreutils'
//! `sha256sum`, as a player would; `goated verify-races` on a tampered database; the
//! payout ledger's transitions and refusals; exports.

use std::io::Write;
use std::process::{Command, Stdio};

use goated::clock::ManualClock;
use serde_json::{Value, json};

use crate::fake_upstream::{FakeUpstream, player};
use crate::helpers::{TestApp, assert_error, at, spawn_app_at, wait_until};
use crate::helpers::{admin_session, app_with_known_players, register, token};
use crate::month_boundary::{november_players, with_amount};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// November's players (ties between bob and Carol, a player with no wager), with
/// Frank's unpaid sixth place at a fractional $100.50.
fn players() -> Vec<Value> {
    with_amount(&november_players(), "aaaaaaaaaaaaaaaaaaa6", 100.5)
}

/// Syncs just before `end` and just after it, and waits for the race to be final.
fn finish(app: &TestApp, clock: &ManualClock, race: &str, before: &str, after: &str) {
    clock.set(at(before));
    assert!(app.sync().succeeded());
    clock.set(at(after));
    assert!(app.sync().succeeded());
    wait_until("the race to be final", || {
        app.count(&format!(
            "SELECT count(*) FROM races WHERE race_id = '{race}'"
        )) == 1
    });
}

/// November 2026 finished from `players()`.
fn november_finished() -> (FakeUpstream, ManualClock, TestApp) {
    let clock = ManualClock::new(at("2026-11-30T23:50:00Z"));
    let upstream = FakeUpstream::start(players());
    let app = spawn_app_at(&clock, &upstream, |_| {});
    finish(
        &app,
        &clock,
        "202611",
        "2026-11-30T23:50:00Z",
        "2026-12-01T00:00:05Z",
    );
    (upstream, clock, app)
}

/// November and December 2026 finished, in that order.
fn two_finished_races() -> (FakeUpstream, ManualClock, TestApp) {
    let (upstream, clock, app) = november_finished();
    finish(
        &app,
        &clock,
        "202612",
        "2026-12-31T23:50:00Z",
        "2027-01-01T00:00:05Z",
    );
    (upstream, clock, app)
}

fn cents(dollars: &Value) -> i64 {
    (dollars.as_f64().unwrap() * 100.0).round() as i64
}

/// The proof text as SPEC §12 describes it, from the race as the API serves it.
fn expected_text(race: &Value, previous: &str) -> String {
    let mut text = format!(
        "goated-race-proof v1\nrace {}\nwindow {} {}\nprize_pool_cents {}\nprevious {previous}\n",
        race["id"].as_str().unwrap(),
        race["startDate"].as_str().unwrap(),
        race["endDate"].as_str().unwrap(),
        cents(&race["prizePool"]),
    );
    for p in race["participants"].as_array().unwrap() {
        text.push_str(&format!(
            "{} {} {} {}\n",
            p["position"],
            p["uid"].as_str().unwrap(),
            cents(&p["wagered"]),
            cents(&p["prize"])
        ));
    }
    text
}

fn sha256sum(text: &str) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("coreutils' sha256sum");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

#[test]
fn a_finished_races_proof_is_the_sha256_of_the_race_as_served_and_chains_to_the_one_before() {
    let (_upstream, _clock, app) = two_finished_races();
    let mut previous = GENESIS.to_string();
    for id in ["202611", "202612"] {
        let race = app.get(&format!("/api/wager-races/{id}?limit=1000")).json()["data"].clone();
        let proof = app.get(&format!("/api/wager-races/{id}/proof")).json()["data"].clone();
        let text = proof["text"].as_str().unwrap();
        assert_eq!(text, expected_text(&race, &previous), "race {id}");
        assert!(text.contains(
            "\n2 aaaaaaaaaaaaaaaaaaa2 300000 10000\n2 aaaaaaaaaaaaaaaaaaa3 300000 10000\n"
        ));
        assert!(
            text.ends_with("6 aaaaaaaaaaaaaaaaaaa6 10050 0\n"),
            "an unpaid place is listed"
        );
        assert_eq!(proof["digest"], sha256sum(text), "race {id}");
        assert_eq!(proof["previous"], previous.as_str());
        assert_eq!(proof["raceId"], id);
        previous = proof["digest"].as_str().unwrap().to_string();
    }
    // The live race has no proof yet.
    let live = app.get("/api/wager-races/202701/proof");
    assert_error(&live, 404, "NOT_FOUND");
}

fn verify_races(app: &TestApp) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_goated"))
        .args(["verify-races", "--db"])
        .arg(app.db_path())
        .env_clear()
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn verify_races_names_a_race_whose_standings_or_chain_were_touched() {
    let (_upstream, _clock, app) = two_finished_races();
    let (ok, text) = verify_races(&app);
    assert!(ok, "{text}");
    assert!(text.contains("2 races checked"), "{text}");

    // Someone bumps a wager by a dollar after the fact.
    let conn = rusqlite::Connection::open(app.db_path()).unwrap();
    conn.execute(
        "UPDATE race_results SET wagered_cents = wagered_cents + 100
         WHERE race_id = '202611' AND uid = 'aaaaaaaaaaaaaaaaaaa4'",
        [],
    )
    .unwrap();
    let (ok, text) = verify_races(&app);
    assert!(!ok, "{text}");
    assert!(text.contains("race 202611: its stored standings"), "{text}");
    assert!(
        !text.contains("race 202612"),
        "only the touched race: {text}"
    );

    // ...and then rewrites that race's digest to match: the next link breaks.
    let forged = app.get("/api/wager-races/202611/proof").json()["data"]["text"]
        .as_str()
        .unwrap()
        .to_string();
    conn.execute(
        "UPDATE race_proofs SET digest = ?1 WHERE race_id = '202611'",
        [sha256sum(&forged)],
    )
    .unwrap();
    let (ok, text) = verify_races(&app);
    assert!(!ok, "{text}");
    assert!(
        text.contains("race 202612: its `previous` is not the digest of race 202611"),
        "{text}"
    );
}

fn change(app: &TestApp, admin: &str, uid: &str, body: Value) -> crate::helpers::TestResponse {
    app.authed(
        "PATCH",
        &format!("/api/admin/races/202611/payouts/{uid}"),
        admin,
        Some(&body),
    )
}

/// A change that must be refused with `status` and `code`; returns the error.
fn refused(app: &TestApp, admin: &str, uid: &str, body: Value, status: u16, code: &str) -> Value {
    assert_error(&change(app, admin, uid, body), status, code)
}

#[test]
fn prizes_go_pending_approved_paid_or_void_and_a_verified_winner_sees_theirs() {
    let (_upstream, _clock, app) = november_finished();
    let admin = token(&admin_session(&app, "boss"));
    let ledger = app.authed("GET", "/api/admin/races/202611/payouts", &admin, None);
    assert_eq!(ledger.status, 200, "{}", ledger.text());
    let data = ledger.json()["data"].clone();
    let rows = data["payouts"].as_array().unwrap();
    let listed: Vec<(&str, f64, &str)> = rows
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["prize"].as_f64().unwrap(),
                p["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("Alice", 250.0, "pending"),
            ("bob", 100.0, "pending"),
            ("Carol", 100.0, "pending"),
            ("Dave", 25.0, "pending"),
            ("Eve", 25.0, "pending"),
        ],
        "every paid place, and no unpaid one"
    );
    assert_eq!(
        (data["owed"].as_f64(), data["paid"].as_f64()),
        (Some(500.0), Some(0.0))
    );

    let (bob, carol, frank) = (
        "aaaaaaaaaaaaaaaaaaa2",
        "aaaaaaaaaaaaaaaaaaa3",
        "aaaaaaaaaaaaaaaaaaa6",
    );
    let user = token(&register(&app, "someone"));
    let ok = |uid: &str, body: Value| {
        let resp = change(&app, &admin, uid, body);
        assert_eq!(resp.status, 200, "{}", resp.text());
        resp.json()["data"].clone()
    };
    refused(
        &app,
        &user,
        bob,
        json!({"status": "approved"}),
        403,
        "FORBIDDEN",
    );
    let paid_early = json!({"status": "paid", "reference": "tip-1"});
    let err = refused(&app, &admin, bob, paid_early, 409, "CONFLICT");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("before it is approved"),
        "{err}"
    );
    ok(bob, json!({"status": "approved"}));
    let err = refused(
        &app,
        &admin,
        bob,
        json!({"status": "paid"}),
        400,
        "VALIDATION_ERROR",
    );
    assert_eq!(err["details"]["field"], "reference");
    let paid = ok(bob, json!({"status": "paid", "reference": "tip-123"}));
    assert_eq!(paid["reference"], "tip-123");
    refused(
        &app,
        &admin,
        bob,
        json!({"status": "void", "reason": "oops"}),
        409,
        "CONFLICT",
    );

    let err = refused(
        &app,
        &admin,
        carol,
        json!({"status": "void"}),
        400,
        "VALIDATION_ERROR",
    );
    assert_eq!(err["details"]["field"], "reason");
    ok(carol, json!({"status": "void", "reason": "self-referral"}));
    let err = refused(
        &app,
        &admin,
        carol,
        json!({"status": "approved"}),
        409,
        "CONFLICT",
    );
    assert!(err["message"].as_str().unwrap().contains("final"), "{err}");
    let pay_void = json!({"status": "paid", "reference": "x"});
    refused(&app, &admin, carol, pay_void, 409, "CONFLICT");
    refused(
        &app,
        &admin,
        frank,
        json!({"status": "approved"}),
        404,
        "NOT_FOUND",
    );
    refused(
        &app,
        &admin,
        bob,
        json!({"status": "pending"}),
        400,
        "VALIDATION_ERROR",
    );

    let totals = app.authed("GET", "/api/admin/payouts", &admin, None).json()["data"].clone();
    assert_eq!(totals["owed"], 300.0, "{totals}");
    assert_eq!(totals["paid"], 100.0, "{totals}");
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'payout.change'"),
        3,
        "one audit row per change made (approve, pay, void), none for the refusals"
    );

    // bob, verified, sees his prize and its reference; an unverified account sees none.
    let bob_session = register(&app, "bob_account");
    let bob_id = bob_session["account"]["id"].as_i64().unwrap();
    app.state
        .db
        .write_blocking(|tx| {
            goated::db::accounts::link_player(tx, bob_id, bob, "2026-12-02T00:00:00.000Z")
        })
        .unwrap();
    let mine = app.authed("GET", "/api/auth/me/payouts", &token(&bob_session), None);
    let mine = mine.json()["data"].clone();
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine[0]["raceId"], "202611");
    assert_eq!(mine[0]["status"], "paid");
    assert_eq!(mine[0]["reference"], "tip-123");
    let none = app
        .authed("GET", "/api/auth/me/payouts", &user, None)
        .json();
    assert_eq!(none["data"], json!([]));
}

#[test]
fn exports_list_every_participant_and_csv_quotes_what_needs_quoting() {
    let clock = ManualClock::new(at("2026-11-15T12:00:00Z"));
    let upstream = FakeUpstream::start(vec![
        player("csv00000000000000001", "Comma, Inc", 900.0),
        player("csv00000000000000002", "Quote \"Q\" Man", 800.0),
        player("csv00000000000000003", "Ünïcødé 🐐", 700.0),
        player("csv00000000000000004", "=HYPERLINK(\"http://x\")", 600.0),
        player("csv00000000000000005", "Plain", 0.5),
    ]);
    let app = spawn_app_at(&clock, &upstream, |_| {});
    assert!(app.sync().succeeded());
    let resp = app.get("/api/wager-races/202611/export.csv");
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(resp.header("content-type").unwrap().starts_with("text/csv"));
    assert_eq!(
        resp.header("content-disposition"),
        Some("attachment; filename=\"race-202611.csv\"")
    );
    assert_eq!(
        resp.text(),
        "position,uid,name,wagered,prize\r\n\
         1,csv00000000000000001,\"Comma, Inc\",900.00,250.00\r\n\
         2,csv00000000000000002,\"Quote \"\"Q\"\" Man\",800.00,150.00\r\n\
         3,csv00000000000000003,Ünïcødé 🐐,700.00,50.00\r\n\
         4,csv00000000000000004,\"'=HYPERLINK(\"\"http://x\"\")\",600.00,25.00\r\n\
         5,csv00000000000000005,Plain,0.50,25.00\r\n"
    );
    let json = app.get("/api/wager-races/202611/export.json");
    assert_eq!(json.status, 200);
    let data = json.json()["data"].clone();
    assert_eq!(data["participants"].as_array().unwrap().len(), 5);
    assert_eq!(data["participantCount"], 5);
    assert_error(
        &app.get("/api/wager-races/202609/export.csv"),
        404,
        "NOT_FOUND",
    );
}

#[test]
fn an_admin_pays_a_prize_on_the_admin_page_and_the_race_page_shows_how_to_check_it() {
    use crate::webdriver::Browser;

    let (_upstream, _clock, app) = november_finished();
    admin_session(&app, "boss");
    let browser = Browser::start(1280, 1000);
    browser.goto(&app.url("/account.html"));
    crate::browser::sign_in_form(&browser, "boss");
    browser.wait_for("the signed-in page", "document.querySelector('#logout')");

    browser.goto(&app.url("/admin.html"));
    browser.wait_for(
        "the November ledger",
        "document.querySelectorAll('#payout-ledger [data-approve-payout]').length === 5",
    );
    let alice = "aaaaaaaaaaaaaaaaaaa1";
    browser.click(&format!("[data-approve-payout='{alice}']"));
    browser.wait_for(
        "Alice's prize to be approved",
        &format!("document.querySelector(\"[data-pay='{alice}']\")"),
    );
    browser.script(&format!(
        "const row = document.querySelector(\"[data-pay='{alice}']\").closest('tr'); \
         row.querySelector('input').value = 'tip-777'; return true;"
    ));
    browser.click(&format!("[data-pay='{alice}']"));
    browser.wait_for(
        "the totals to count the payment",
        "(document.querySelector('#payout-totals') || {}).textContent === 'Owed $250.00 · paid $250.00'",
    );
    assert!(browser.text("#payout-ledger").contains("tip-777"));
    browser.screenshot("admin-payouts");

    browser.goto(&app.url("/?race=202611"));
    browser.wait_for(
        "the proof card",
        "document.querySelector('#proof') && !document.querySelector('#proof').hidden",
    );
    let digest = app.get("/api/wager-races/202611/proof").json()["data"]["digest"].clone();
    assert_eq!(browser.text("#proof-digest"), digest.as_str().unwrap());
    let command = browser.text("#proof-command");
    assert!(
        command.ends_with("/api/wager-races/202611/proof | jq -j .data.text | sha256sum"),
        "{command}"
    );
}

#[test]
fn admin_prize_overrides_are_validated_and_shape_the_live_race() {
    let (_u, app) = app_with_known_players();
    let admin = admin_session(&app, "prize_admin");
    let race = app.get("/api/wager-races/current").json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/admin/races/{race}/prizes");
    let bad = app.authed(
        "PUT",
        &path,
        &token(&admin),
        Some(&json!({"prizePool": 1000, "prizeDistribution": [0.6, 0.3]})),
    );
    assert_error(&bad, 400, "VALIDATION_ERROR");
    let ok = app.authed(
        "PUT",
        &path,
        &token(&admin),
        Some(&json!({"prizePool": 1000, "prizeDistribution": [0.7, 0.3]})),
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    let live = app.get("/api/wager-races/current").json()["data"].clone();
    assert_eq!(live["prizePool"].as_f64().unwrap(), 1000.0);
    assert_eq!(live["participants"][0]["prize"].as_f64().unwrap(), 700.0);
    let runs = app
        .authed("GET", "/api/admin/sync-runs", &token(&admin), None)
        .json()["data"]
        .clone();
    assert_eq!(runs["pagination"]["total"], 1);
    // The flush has an effect: a change made under the cached answer (no sync, so the
    // data version does not move) shows only after it.
    rusqlite::Connection::open(app.db_path())
        .unwrap()
        .execute(
            "UPDATE race_snapshot_entries SET name = 'Renamed' WHERE uid = ?1",
            [live["participants"][0]["uid"].as_str().unwrap()],
        )
        .unwrap();
    let cached = app.get("/api/wager-races/current").json()["data"].clone();
    assert_ne!(
        cached["participants"][0]["name"], "Renamed",
        "served from the cache"
    );
    let flushed = app.authed(
        "POST",
        "/api/admin/cache/flush",
        &token(&admin),
        Some(&json!({"prefix": "race:"})),
    );
    assert_eq!(flushed.status, 200);
    assert!(flushed.json()["data"]["flushed"].as_u64().unwrap() >= 1);
    let fresh = app.get("/api/wager-races/current").json()["data"].clone();
    assert_eq!(fresh["participants"][0]["name"], "Renamed");
}
