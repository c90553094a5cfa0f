//! First-run setup and two-factor sign-in (SPEC §14): the setup code works once and
//! nothing else makes an admin through it; TOTP enrollment, sign-in with a code or a
//! recovery code, replays and far-off steps refused, wrong codes throttled, every change
//! audited; an admin who signed in with two-factor reaches the admin API from anywhere.

use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{
    PASSWORD, TestApp, admin_session, assert_error, register, spawn_app_with, spawn_app_with_clock,
    token,
};
use goated::auth::totp;
use goated::clock::ManualClock;

const T0: &str = "2026-12-06T12:00:00Z";
/// The admin address of the tests that move `admin.allowed_ips` away from loopback.
const ALLOWED: &str = "10.9.8.7";

/// The code the account's app would show at `secs` after T0.
fn code(secret: &str, clock_secs: i64) -> String {
    let t0 = chrono::DateTime::parse_from_rfc3339(T0)
        .unwrap()
        .timestamp();
    let bytes = totp::from_base32(secret).unwrap();
    format!(
        "{:06}",
        totp::hotp(&bytes, totp::step_at(t0 + clock_secs) as u64)
    )
}

fn claims(access: &str) -> Value {
    let part = access.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

fn login_with(app: &TestApp, username: &str, totp: Option<&str>) -> crate::helpers::TestResponse {
    let mut body = json!({"username": username, "password": PASSWORD});
    if let Some(code) = totp {
        body["totp"] = json!(code);
    }
    app.post_json("/api/auth/login", &body)
}

/// Turns two-factor on for the signed-in `session`, `at` seconds after T0 on the app's
/// clock; the secret and the recovery codes.
fn enroll(app: &TestApp, session: &Value, at: i64) -> (String, Vec<String>) {
    let access = token(session);
    // From the admin's allowed address (where an app sets that up: the tests that move
    // the allow-list to 10.9.8.7 trust the loopback proxy's X-Forwarded-For).
    let bearer = format!("Bearer {access}");
    let from = [
        ("authorization", bearer.as_str()),
        ("x-forwarded-for", ALLOWED),
    ];
    let started = app.request("POST", "/api/auth/totp", &from, None);
    assert_eq!(started.status, 200, "{}", started.text());
    let data = started.json()["data"].clone();
    let secret = data["secret"].as_str().unwrap().to_string();
    assert!(data["otpauthUrl"].as_str().unwrap().contains(&secret));
    assert!(data["qrSvg"].as_str().unwrap().starts_with("<svg"));
    let wrong = app.request(
        "POST",
        "/api/auth/totp/confirm",
        &from,
        Some(&json!({"code": "000000"})),
    );
    assert_error(&wrong, 400, "VALIDATION_ERROR");
    let confirmed = app.request(
        "POST",
        "/api/auth/totp/confirm",
        &from,
        Some(&json!({"code": code(&secret, at)})),
    );
    assert_eq!(confirmed.status, 200, "{}", confirmed.text());
    let codes: Vec<String> = confirmed.json()["data"]["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    (secret, codes)
}

#[test]
fn setup_makes_the_first_admin_once_with_the_code_and_never_without_it() {
    let app = spawn_app_with(|c| {
        // From anywhere: the code is the proof, not the address.
        c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    });
    let code = app
        .state
        .setup_code
        .lock()
        .clone()
        .expect("a code while no admin exists");
    assert!(code.len() >= 22, "at least 128 bits");
    let far = [("x-forwarded-for", "203.0.113.9")];
    let body = |code: &str| json!({"code": code, "username": "streamer", "password": PASSWORD});
    let wrong = app.request("POST", "/api/setup", &far, Some(&body("not-the-code")));
    assert_error(&wrong, 403, "FORBIDDEN");
    let missing = app.request(
        "POST",
        "/api/setup",
        &far,
        Some(&json!({"username": "streamer", "password": PASSWORD})),
    );
    assert_eq!(missing.status, 400, "{}", missing.text());
    assert_eq!(app.count("SELECT count(*) FROM accounts"), 0);

    let made = app.request("POST", "/api/setup", &far, Some(&body(&code)));
    assert_eq!(made.status, 201, "{}", made.text());
    let session = made.json()["data"].clone();
    assert_eq!(session["account"]["role"], "admin");
    assert!(session["accessToken"].is_string());
    let again = app.request("POST", "/api/setup", &far, Some(&body(&code)));
    assert_error(&again, 409, "SETUP_DONE");
    assert_eq!(app.count("SELECT count(*) FROM accounts"), 1);
    assert!(app.state.setup_code.lock().is_none());
    // The page is served.
    let page = app.get("/setup");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("setup.js"), "{}", page.text());
}

#[test]
fn an_install_with_an_admin_has_no_setup_code() {
    let app = spawn_app_with(|_| {});
    admin_session(&app, "boss");
    let restarted = app.restart();
    assert!(restarted.state.setup_code.lock().is_none());
    let tried = restarted.post_json(
        "/api/setup",
        &json!({"code": "anything", "username": "other", "password": PASSWORD}),
    );
    assert_error(&tried, 409, "SETUP_DONE");
}

#[test]
fn two_factor_codes_work_once_one_step_either_side_and_recovery_codes_once() {
    let clock = ManualClock::new(T0.parse().unwrap());
    let app = spawn_app_with_clock(&clock, |_| {});
    let session = register(&app, "alice");
    let (secret, recovery) = enroll(&app, &session, 0);
    assert_eq!(recovery.len(), 10);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'totp.enroll'"),
        1
    );
    // Never shown again: the state says on, without the secret; a second setup is refused.
    let state = app.authed("GET", "/api/auth/totp", &token(&session), None);
    assert_eq!(
        state.json()["data"],
        json!({"enabled": true, "recoveryCodesLeft": 10})
    );
    assert!(!state.text().contains(&secret));
    let again = app.authed("POST", "/api/auth/totp", &token(&session), None);
    assert_error(&again, 409, "CONFLICT");

    assert_error(&login_with(&app, "alice", None), 401, "TOTP_REQUIRED");
    // Five minutes on: ten steps later.
    clock.advance(chrono::Duration::seconds(300));
    for far in [300 - 60, 300 + 60] {
        assert_error(
            &login_with(&app, "alice", Some(&code(&secret, far))),
            401,
            "INVALID_CREDENTIALS",
        );
    }
    let before = login_with(&app, "alice", Some(&code(&secret, 300 - 30)));
    assert_eq!(before.status, 200, "{}", before.text());
    assert_eq!(claims(&token(&before.json()["data"]))["mfa"], true);
    let now = login_with(&app, "alice", Some(&code(&secret, 300)));
    assert_eq!(now.status, 200, "{}", now.text());
    // The same code again, within its window: a replay.
    assert_error(
        &login_with(&app, "alice", Some(&code(&secret, 300))),
        401,
        "INVALID_CREDENTIALS",
    );
    assert_eq!(
        login_with(&app, "alice", Some(&code(&secret, 300 + 30))).status,
        200
    );

    let with_recovery = login_with(&app, "alice", Some(&recovery[0]));
    assert_eq!(with_recovery.status, 200, "{}", with_recovery.text());
    assert_error(
        &login_with(&app, "alice", Some(&recovery[0])),
        401,
        "INVALID_CREDENTIALS",
    );

    // Turning it off takes a code; the change is audited.
    let access = token(&with_recovery.json()["data"]);
    let off = app.request(
        "DELETE",
        "/api/auth/totp",
        &[("authorization", &format!("Bearer {access}"))],
        Some(&json!({"code": recovery[1]})),
    );
    assert_eq!(off.status, 200, "{}", off.text());
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'totp.disable'"),
        1
    );
    let plain = login_with(&app, "alice", None);
    assert_eq!(plain.status, 200);
    assert!(claims(&token(&plain.json()["data"])).get("mfa").is_none());
}

#[test]
fn wrong_two_factor_codes_are_throttled_like_wrong_passwords() {
    let clock = ManualClock::new(T0.parse().unwrap());
    let app = spawn_app_with_clock(&clock, |_| {});
    let session = register(&app, "bob_2fa");
    let (secret, _) = enroll(&app, &session, 0);
    clock.advance(chrono::Duration::seconds(120));
    let mut answers = Vec::new();
    for guess in 0..8 {
        answers.push(
            login_with(
                &app,
                "bob_2fa",
                Some(&format!("{:06}", 111_111 * (guess % 9 + 1))),
            )
            .status,
        );
    }
    assert!(answers.contains(&429), "{answers:?}");
    // Even the right code waits until the throttle lets go.
    assert_eq!(
        login_with(&app, "bob_2fa", Some(&code(&secret, 120))).status,
        429
    );
}

#[test]
fn an_admin_with_two_factor_reaches_the_admin_api_from_anywhere_unless_turned_off() {
    for remote_with_totp in [true, false] {
        let clock = ManualClock::new(T0.parse().unwrap());
        let app = spawn_app_with_clock(&clock, |c| {
            c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
            c.admin.allowed_ips = vec!["10.9.8.7/32".parse().unwrap()];
            c.admin.remote_with_totp = remote_with_totp;
        });
        let home = "203.0.113.77";
        let call = |access: &str| {
            app.request(
                "GET",
                "/api/admin/verifications",
                &[
                    ("authorization", &format!("Bearer {access}")),
                    ("x-forwarded-for", home),
                ],
                None,
            )
        };
        let admin = admin_session(&app, "streamer");
        let refused = call(&token(&admin));
        let err = assert_error(&refused, 403, "ADMIN_ADDRESS");
        // The refusal says what to do about it.
        let hint = if remote_with_totp {
            "Turn on two-factor"
        } else {
            "admin.allowed_ips"
        };
        assert!(err["message"].as_str().unwrap().contains(hint), "{err}");

        let (secret, _) = enroll(&app, &admin, 0);
        clock.advance(chrono::Duration::seconds(60));
        let signed = login_with(&app, "streamer", Some(&code(&secret, 60)));
        assert_eq!(signed.status, 200, "{}", signed.text());
        let session = signed.json()["data"].clone();
        let answer = call(&token(&session));
        if remote_with_totp {
            assert_eq!(answer.status, 200, "{}", answer.text());
            // A refreshed token keeps what the sign-in proved.
            let refreshed = app.post_json(
                "/api/auth/refresh",
                &json!({"refreshToken": session["refreshToken"]}),
            );
            assert_eq!(refreshed.status, 200, "{}", refreshed.text());
            assert_eq!(call(&token(&refreshed.json()["data"])).status, 200);
        } else {
            assert_error(&answer, 403, "ADMIN_ADDRESS");
        }

        // A user with two-factor is no admin for it.
        let user = register(&app, "viewer");
        let (user_secret, _) = enroll(&app, &user, 60);
        clock.advance(chrono::Duration::seconds(60));
        let user_session = login_with(&app, "viewer", Some(&code(&user_secret, 120)));
        assert_error(
            &call(&token(&user_session.json()["data"])),
            403,
            "ADMIN_ADDRESS",
        );
    }
}

#[test]
fn a_new_upstream_token_is_checked_before_it_is_kept() {
    use crate::fake_upstream::{FakeUpstream, Fault, player};
    let upstream = FakeUpstream::start(vec![player("tokenplayer000000001", "Tok", 5.0)]);
    let app = crate::helpers::spawn_live_app(&upstream, |_| {});
    let admin = token(&admin_session(&app, "boss"));
    let put = |value: &str| {
        app.authed(
            "PUT",
            "/api/admin/upstream/token",
            &admin,
            Some(&json!({"token": value})),
        )
    };
    // Refused by the upstream: 422, and the old token keeps syncing.
    let refused = put("not-a-real-token-xyz");
    let err = assert_error(&refused, 422, "TOKEN_REFUSED");
    assert!(
        err["message"].as_str().unwrap().contains("unchanged"),
        "{err}"
    );
    assert_eq!(
        app.state.tokens.current().unwrap().expose(),
        crate::fake_upstream::GOOD_TOKEN
    );
    assert!(app.sync().succeeded());
    // The upstream cannot be asked: 503, nothing changes.
    upstream.accept_token("fresh-token-0001");
    upstream.set_sticky(Some(Fault::Status(503)));
    assert_error(&put("fresh-token-0001"), 503, "UPSTREAM_UNAVAILABLE");
    assert_eq!(
        app.state.tokens.current().unwrap().expose(),
        crate::fake_upstream::GOOD_TOKEN
    );
    upstream.set_sticky(None);
    // Accepted: kept, with what the check saw.
    let kept = put("fresh-token-0001");
    assert_eq!(kept.status, 200, "{}", kept.text());
    assert_eq!(kept.json()["data"]["players"], 1);
    assert!(!kept.text().contains("fresh-token-0001"));
    assert_eq!(
        app.state.tokens.current().unwrap().expose(),
        "fresh-token-0001"
    );
    let requests = upstream.state.lock().requests.clone();
    assert_eq!(
        requests.last().unwrap().1.as_deref(),
        Some("fresh-token-0001"),
        "the check asked the upstream with the new token"
    );
}

#[test]
fn a_password_alone_does_not_let_a_remote_admin_turn_on_two_factor_but_setup_does() {
    let clock = ManualClock::new(T0.parse().unwrap());
    let app = spawn_app_with_clock(&clock, |c| {
        c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        c.admin.allowed_ips = vec!["10.9.8.7/32".parse().unwrap()];
    });
    let far = "203.0.113.50";
    let code = app.state.setup_code.lock().clone().unwrap();
    let made = app.request(
        "POST",
        "/api/setup",
        &[("x-forwarded-for", far)],
        Some(&json!({"code": code, "username": "owner", "password": PASSWORD})),
    );
    let setup_session = made.json()["data"].clone();
    // The setup session counts as two-factor: the admin API answers it from afar.
    let as_far = |access: &str, method: &str, path: &str, body: Option<&Value>| {
        app.request(
            method,
            path,
            &[
                ("authorization", &format!("Bearer {access}")),
                ("x-forwarded-for", far),
            ],
            body,
        )
    };
    assert_eq!(claims(&token(&setup_session))["mfa"], true);
    assert_eq!(
        as_far(
            &token(&setup_session),
            "GET",
            "/api/admin/verifications",
            None
        )
        .status,
        200
    );

    // The same admin signed in with the password alone, from afar: no admin API, and no
    // enrolling of a (thief's) app either.
    let password_only = app.request(
        "POST",
        "/api/auth/login",
        &[("x-forwarded-for", far)],
        Some(&json!({"username": "owner", "password": PASSWORD})),
    );
    let access = token(&password_only.json()["data"]);
    assert_error(
        &as_far(&access, "GET", "/api/admin/verifications", None),
        403,
        "ADMIN_ADDRESS",
    );
    assert_error(
        &as_far(&access, "POST", "/api/auth/totp", None),
        403,
        "ADMIN_ADDRESS",
    );
    // In the setup session it works.
    let started = as_far(&token(&setup_session), "POST", "/api/auth/totp", None);
    assert_eq!(started.status, 200, "{}", started.text());
    let secret = started.json()["data"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let on = as_far(
        &token(&setup_session),
        "POST",
        "/api/auth/totp/confirm",
        Some(&json!({"code": code_at(&secret, 0)})),
    );
    assert_eq!(on.status, 200, "{}", on.text());
}

/// `code`, under the name the two-factor tests read best.
fn code_at(secret: &str, secs: i64) -> String {
    code(secret, secs)
}

#[test]
fn turning_two_factor_off_takes_admin_from_anywhere_from_its_sessions() {
    let clock = ManualClock::new(T0.parse().unwrap());
    let app = spawn_app_with_clock(&clock, |c| {
        c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        c.admin.allowed_ips = vec!["10.9.8.7/32".parse().unwrap()];
    });
    let admin = admin_session(&app, "boss");
    let (secret, recovery) = enroll(&app, &admin, 0);
    clock.advance(chrono::Duration::seconds(60));
    let signed = login_with(&app, "boss", Some(&code(&secret, 60))).json()["data"].clone();
    let off = app.request(
        "DELETE",
        "/api/auth/totp",
        &[("authorization", &format!("Bearer {}", token(&signed)))],
        Some(&json!({"code": recovery[0]})),
    );
    assert_eq!(off.status, 200, "{}", off.text());
    let refreshed = app.post_json(
        "/api/auth/refresh",
        &json!({"refreshToken": signed["refreshToken"]}),
    );
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    assert!(
        claims(&token(&refreshed.json()["data"]))
            .get("mfa")
            .is_none()
    );
}

#[test]
fn oversized_or_repeated_codes_are_refused_and_change_nothing() {
    let clock = ManualClock::new(T0.parse().unwrap());
    let app = spawn_app_with_clock(&clock, |_| {});
    let huge = "9".repeat(129);
    let setup = app.post_json(
        "/api/setup",
        &json!({"code": huge, "username": "owner", "password": PASSWORD}),
    );
    let err = assert_error(&setup, 400, "VALIDATION_ERROR");
    assert!(err["message"].as_str().unwrap().contains("`code`"), "{err}");
    assert_eq!(app.count("SELECT count(*) FROM accounts"), 0);

    let session = register(&app, "carol");
    let (secret, _) = enroll(&app, &session, 0);
    // The same confirmation again: two-factor is on already, and the codes stay.
    let again = app.authed(
        "POST",
        "/api/auth/totp/confirm",
        &token(&session),
        Some(&json!({"code": code(&secret, 0)})),
    );
    assert_error(&again, 409, "CONFLICT");
    assert_eq!(
        app.count("SELECT count(*) FROM totp_recovery_codes WHERE used_at IS NULL"),
        10
    );
    // A code far longer than any: refused as input, not counted as a guess.
    let login = login_with(&app, "carol", Some(&"1".repeat(33)));
    let err = assert_error(&login, 400, "VALIDATION_ERROR");
    assert!(err["message"].as_str().unwrap().contains("`totp`"), "{err}");
    assert_eq!(app.count("SELECT failures FROM account_totp"), 0);
}
