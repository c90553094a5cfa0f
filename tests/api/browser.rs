//! The web site in a real (headless) Chromium against the real server and a fake
//! upstream: what a person on a phone or a desktop would see and do.

use serde_json::{Value, json};

use crate::fake_upstream::{FakeUpstream, player};
use crate::helpers::{PASSWORD, admin_session};
use crate::helpers::{TestApp, spawn_live_app};
use crate::webdriver::Browser;

const XSS_NAME: &str = "<img src=x onerror=window.__xss=1>";

fn players() -> Vec<Value> {
    vec![
        player("web00000000000000001", "GoldGoat", 3000.0),
        player("web00000000000000002", "SilverFox", 2000.0),
        player("web00000000000000003", "BronzeBull", 1000.0),
        player("web00000000000000004", XSS_NAME, 500.0),
        player("web00000000000000005", "Quiet", 100.0),
    ]
}

fn site() -> (FakeUpstream, TestApp) {
    let upstream = FakeUpstream::start(players());
    let app = spawn_live_app(&upstream, |_| {});
    assert!(app.sync().succeeded());
    (upstream, app)
}

#[test]
fn the_race_page_shows_the_standings_and_updates_without_a_reload() {
    let (upstream, app) = site();
    let browser = Browser::start(1280, 1000);
    browser.goto(&app.url("/"));
    browser.wait_for(
        "the standings",
        "document.querySelectorAll('#standings tr[data-name]').length === 5",
    );
    assert_eq!(browser.text(".podium .p1 .name"), "GoldGoat");
    assert_eq!(browser.text(".podium .p2 .name"), "SilverFox");
    assert_eq!(browser.text(".podium .p3 .name"), "BronzeBull");
    assert_eq!(browser.text(".podium .p1 .prize"), "$250.00");
    assert_eq!(browser.text(".podium .p3 .prize"), "$50.00");
    assert_eq!(browser.text("#race-pool"), "$500.00");
    let cells = browser.script("return [...document.querySelectorAll('#standings tr:nth-child(4) td')].map(td => td.textContent);");
    assert_eq!(
        cells,
        json!(["4", XSS_NAME, "$500.00", "$25.00"]),
        "the HTML in a name is shown as text"
    );
    assert_eq!(
        browser.script(
            "return window.__xss === undefined && !document.querySelector('#standings img');"
        ),
        json!(true)
    );
    browser.screenshot("race-desktop");

    browser.script("window.__sameDocument = true;");
    browser.wait_for(
        "the live feed",
        "document.querySelector('#race-status').textContent === 'live'",
    );
    browser.wait_for(
        "the socket to be open",
        "document.body.dataset.live === 'open'",
    );
    let mut changed = players();
    changed[4]["wagered"]["this_month"] = json!(9000.0);
    upstream.set_players(changed);
    assert!(app.sync().succeeded());
    browser.wait_for(
        "the new leader",
        "document.querySelector('.podium .p1 .name')?.textContent === 'Quiet'",
    );
    assert_eq!(
        browser.script("return window.__sameDocument === true;"),
        json!(true),
        "no reload happened"
    );

    browser.type_into("#search", "fox");
    browser.wait_for("the search", "[...document.querySelectorAll('#standings tr[data-name]')].filter(tr => !tr.hidden).length === 1");
}

/// Signs out on the account page and signs in as `username`, as a person would.
fn switch_account(browser: &Browser, app: &TestApp, username: &str) {
    browser.goto(&app.url("/account.html"));
    browser.wait_for("the account page", "document.querySelector('#logout')");
    browser.click("#logout");
    sign_in_form(browser, username);
}

/// Fills and sends the account page's sign-in form once it shows.
pub fn sign_in_form(browser: &Browser, username: &str) {
    browser.wait_for("the sign-in form", "document.querySelector('#login-form')");
    browser.type_into("#login-form input[name=username]", username);
    browser.type_into("#login-form input[name=password]", PASSWORD);
    browser.click("#login-form button[type=submit]");
}

#[test]
fn sign_up_claim_approve_edit_bio_and_see_it_on_the_profile() {
    let (_upstream, app) = site();
    admin_session(&app, "site_admin");
    let browser = Browser::start(1280, 1000);

    browser.goto(&app.url("/account.html"));
    browser.wait_for("the forms", "document.querySelector('#register-form')");
    browser.type_into("#register-form input[name=username]", "fan_1");
    browser.type_into("#register-form input[name=password]", PASSWORD);
    browser.click("#register-form button[type=submit]");
    browser.wait_for("the claim form", "document.querySelector('#claim-form')");
    assert_eq!(browser.text("#nav-account"), "fan_1");
    assert_eq!(
        browser.script("return document.querySelector('#nav-admin').hidden;"),
        json!(true)
    );

    browser.type_into("#claim-form input[name=goatedUsername]", "silverfox");
    browser.click("#claim-form button[type=submit]");
    browser.wait_for(
        "the pending claim",
        "document.querySelector('#pending-claim')",
    );

    browser.goto(&app.url("/admin.html"));
    browser.wait_for("the refusal", "document.querySelector('#not-admin')");
    assert_eq!(
        browser.script("return document.querySelector('#pending-verifications') === null;"),
        json!(true)
    );

    // The admin signs in in the same browser and approves on the admin page.
    switch_account(&browser, &app, "site_admin");
    browser.wait_for(
        "the admin link",
        "document.querySelector('#nav-admin').hidden === false",
    );
    browser.goto(&app.url("/admin.html"));
    browser.wait_for(
        "the pending claim",
        "document.querySelector('#pending-verifications [data-approve]')",
    );
    // The page opens on what needs doing: here, the claim waiting.
    assert!(
        browser
            .text("#needs-doing")
            .contains("1 verification request waiting"),
        "{}",
        browser.text("#needs-doing")
    );
    // Usage analytics as charts on their own tab: a bar per hour, and the endpoints this
    // test called.
    browser.click("#analytics-tab > summary");
    browser.wait_for(
        "the analytics charts",
        "document.querySelectorAll('#chart-requests rect.bar').length === 25 \
         && document.querySelectorAll('#chart-peak rect.bar').length === 24 \
         && [...document.querySelectorAll('#analytics-endpoints td')] \
              .some((td) => td.textContent === '/api/auth/register')",
    );
    assert_eq!(
        browser.script(
            "return [...document.querySelectorAll('#chart-requests rect.bar')] \
               .some((r) => Number(r.getAttribute('height')) > 0);"
        ),
        json!(true),
        "this hour's requests show as a bar"
    );
    browser.screenshot("admin-desktop");
    browser.click("#pending-verifications [data-approve]");
    browser.wait_for(
        "the claim to be decided",
        "document.querySelector('#pending-verifications [data-approve]') === null",
    );
    browser.resize(360, 900);
    browser.screenshot("admin-phone");
    browser.resize(1280, 1000);

    switch_account(&browser, &app, "fan_1");
    browser.wait_for(
        "the profile form",
        "document.querySelector('#profile-form')",
    );
    browser.type_into("#profile-form textarea[name=bio]", "I race <b>hard</b>");
    browser.click("#profile-form button[type=submit]");
    browser.wait_for(
        "the save",
        "document.querySelector('#profile-form .form-error')?.textContent === 'Saved.'",
    );

    browser.goto(&app.url("/player.html?uid=web00000000000000002"));
    browser.wait_for(
        "the profile",
        "document.querySelector('#player-bio').textContent.length > 0",
    );
    assert_eq!(browser.text("#player-bio"), "I race <b>hard</b>");
    assert!(browser.text("#player-name").contains("verified"));
    assert_eq!(browser.text("#player-owner"), "Owned by fan_1");
    browser.screenshot("profile-desktop");
    browser.resize(360, 900);
    browser.screenshot("profile-phone");
}

#[test]
fn every_page_fits_a_360_pixel_phone_without_sideways_scrolling() {
    let (_upstream, app) = site();
    let browser = Browser::start(360, 800);
    for (path, ready) in [
        (
            "/",
            "document.querySelectorAll('#standings tr[data-name]').length === 5",
        ),
        (
            "/leaderboard.html",
            "document.querySelectorAll('#board tr').length === 5",
        ),
        (
            "/races.html",
            "document.querySelector('#history').children.length > 0",
        ),
        (
            "/player.html?uid=web00000000000000001",
            "document.querySelectorAll('#player-stats .stat').length === 4",
        ),
        ("/account.html", "document.querySelector('#login-form')"),
        ("/admin.html", "document.querySelector('#not-admin')"),
    ] {
        browser.goto(&app.url(path));
        browser.wait_for(path, ready);
        let fits =
            browser.script("return document.documentElement.scrollWidth <= window.innerWidth;");
        assert_eq!(fits, json!(true), "{path} scrolls sideways at 360 px");
        if path == "/" {
            browser.screenshot("race-phone");
        }
    }
}

/// The code an authenticator app shows now for `secret` (base32).
fn code_now(secret: &str) -> String {
    use goated::auth::totp;
    let bytes = totp::from_base32(secret).unwrap();
    let step = totp::step_at(chrono::Utc::now().timestamp());
    format!("{:06}", totp::hotp(&bytes, step as u64))
}

#[test]
fn an_admin_turns_on_two_factor_on_a_phone_and_signs_in_with_a_recovery_code() {
    let (_upstream, app) = site();
    admin_session(&app, "phone_admin");
    let browser = Browser::start(390, 844);
    browser.goto(&app.url("/account.html"));
    sign_in_form(&browser, "phone_admin");
    browser.wait_for("the account page", "document.querySelector('#logout')");
    browser.goto(&app.url("/admin.html"));
    browser.wait_for("the admin page", "document.querySelector('#totp-start')");
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth;";
    assert_eq!(
        browser.script(fits),
        json!(true),
        "the admin page scrolls sideways at 390 px"
    );
    browser.script("window.scrollTo(0, 0); return true;");
    browser.screenshot("admin-opens-phone");
    browser.click("#totp-start");
    browser.wait_for(
        "the QR code",
        "document.querySelector('#totp-confirm .qr svg')",
    );
    let secret = browser.text("#totp-secret");
    browser.type_into("#totp-confirm input[name=code]", &code_now(&secret));
    browser.click("#totp-confirm button[type=submit]");
    browser.wait_for(
        "the recovery codes",
        "document.querySelectorAll('#recovery-codes li').length === 10",
    );
    assert_eq!(
        browser.script(fits),
        json!(true),
        "the recovery codes scroll sideways"
    );
    browser.screenshot("admin-two-factor-phone");
    let recovery = browser.text("#recovery-codes li");
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'totp.enroll'"),
        1
    );

    // Signed out and in again: the form asks for the code after the password.
    browser.goto(&app.url("/account.html"));
    browser.wait_for("the account page", "document.querySelector('#logout')");
    browser.click("#logout");
    sign_in_form(&browser, "phone_admin");
    browser.wait_for("the code field", "document.querySelector('#login-totp')");
    browser.type_into("#login-totp", &recovery);
    browser.click("#login-form button[type=submit]");
    browser.wait_for("signed in", "document.querySelector('#logout')");
    assert_eq!(
        app.count("SELECT count(*) FROM totp_recovery_codes WHERE used_at IS NOT NULL"),
        1
    );
}

#[test]
fn a_streamer_makes_the_first_admin_from_the_setup_link_on_a_phone() {
    let upstream = FakeUpstream::start(players());
    let app = spawn_live_app(&upstream, |_| {});
    let code = app.state.setup_code.lock().clone().unwrap();
    let browser = Browser::start(390, 844);
    browser.goto(&app.url(&format!("/setup?code={code}")));
    browser.wait_for("the setup form", "document.querySelector('#setup-form')");
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth;";
    assert_eq!(
        browser.script(fits),
        json!(true),
        "the setup page scrolls sideways"
    );
    browser.screenshot("setup-phone");
    browser.type_into("#setup-form input[name=username]", "streamer");
    browser.type_into("#setup-form input[name=password]", PASSWORD);
    browser.click("#setup-form button[type=submit]");
    // Signed in and on the admin page, which says what to do first.
    browser.wait_for("the admin page", "document.querySelector('#needs-doing')");
    assert!(
        browser.text("#needs-doing").contains("Turn on two-factor"),
        "{}",
        browser.text("#needs-doing")
    );
    assert_eq!(
        app.count("SELECT count(*) FROM accounts WHERE role = 'admin'"),
        1
    );
}
