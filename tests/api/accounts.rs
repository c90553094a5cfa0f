//! Accounts, tokens, throttling, verification, profile editing and the admin API.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::fake_upstream::{FakeUpstream, player};
use crate::helpers::{TestApp, assert_error, spawn_live_app};

pub const PASSWORD: &str = "tall-goat-on-a-hill";

pub fn register(app: &TestApp, username: &str) -> Value {
    let resp = app.post_json(
        "/api/auth/register",
        &json!({"username": username, "password": PASSWORD}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text());
    resp.json()["data"].clone()
}

pub fn token(session: &Value) -> String {
    session["accessToken"].as_str().unwrap().to_string()
}

/// Registers an account and makes it an admin the way `goated admin create` does.
pub fn admin_session(app: &TestApp, username: &str) -> Value {
    let session = register(app, username);
    let id = session["account"]["id"].as_i64().unwrap();
    app.state
        .db
        .write_blocking(|tx| {
            goated::db::accounts::set_role(
                tx,
                id,
                goated::domain::accounts::Role::Admin,
                "2026-11-23T00:00:00.000Z",
            )
        })
        .unwrap();
    login(app, username)
}

pub fn login(app: &TestApp, username: &str) -> Value {
    let resp = app.post_json(
        "/api/auth/login",
        &json!({"username": username, "password": PASSWORD}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()["data"].clone()
}

fn players() -> Vec<Value> {
    vec![
        player("goat00000000000000a1", "LuckyGoat77", 900.0),
        player("goat00000000000000a2", "Quietone", 400.0),
        player("goat00000000000000a3", "Twin", 10.0),
        player("goat00000000000000a4", "twin", 20.0),
    ]
}

fn app_with_players() -> (FakeUpstream, TestApp) {
    let upstream = FakeUpstream::start(players());
    let app = spawn_live_app(&upstream, |_| {});
    assert!(app.sync().succeeded());
    (upstream, app)
}

#[test]
fn the_account_life_cycle_through_the_api() {
    let (_u, app) = app_with_players();
    let session = register(&app, "Alice_1");
    assert_eq!(session["tokenType"], "Bearer");
    assert_eq!(session["expiresIn"], 900);
    assert!(session["refreshToken"].as_str().unwrap().len() >= 43);
    assert_eq!(session["account"]["username"], "Alice_1");
    assert_eq!(session["account"]["role"], "user");

    let me = app.authed("GET", "/api/auth/me", &token(&session), None);
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["data"]["username"], "Alice_1");
    assert_error(&app.get("/api/auth/me"), 401, "UNAUTHORIZED");

    assert_eq!(
        login(&app, "alice_1")["account"]["username"],
        "Alice_1",
        "usernames ignore case"
    );
    let with_email = app.post_json(
        "/api/auth/register",
        &json!({"username": "bob", "password": PASSWORD, "email": "Bob@Example.com"}),
    );
    assert_eq!(with_email.status, 201);
    assert_eq!(
        login(&app, "bob@example.com")["account"]["email"],
        "bob@example.com"
    );

    let wrong = app.post_json(
        "/api/auth/login",
        &json!({"username": "Alice_1", "password": "not-the-password"}),
    );
    let unknown = app.post_json(
        "/api/auth/login",
        &json!({"username": "nobody-here", "password": "not-the-password"}),
    );
    let (e1, e2) = (
        assert_error(&wrong, 401, "INVALID_CREDENTIALS"),
        assert_error(&unknown, 401, "INVALID_CREDENTIALS"),
    );
    assert_eq!(
        e1["message"], e2["message"],
        "an unknown user and a wrong password look alike"
    );

    let taken = app.post_json(
        "/api/auth/register",
        &json!({"username": "ALICE_1", "password": PASSWORD}),
    );
    assert_error(&taken, 409, "CONFLICT");
    let email_taken = app.post_json(
        "/api/auth/register",
        &json!({"username": "carol", "password": PASSWORD, "email": "bob@EXAMPLE.com"}),
    );
    assert_error(&email_taken, 409, "CONFLICT");
    for (body, field) in [
        (
            json!({"username": "dave", "password": "password123"}),
            "password",
        ),
        (json!({"username": "dave", "password": "short"}), "password"),
        (json!({"username": "d", "password": PASSWORD}), "username"),
        (
            json!({"username": "dave<script>", "password": PASSWORD}),
            "username",
        ),
        (
            json!({"username": "dave", "password": PASSWORD, "email": "not-an-email"}),
            "email",
        ),
    ] {
        let err = assert_error(
            &app.post_json("/api/auth/register", &body),
            400,
            "VALIDATION_ERROR",
        );
        let named = err["details"]["field"]
            .as_str()
            .unwrap_or_default()
            .to_string()
            + err["message"].as_str().unwrap();
        assert!(named.contains(field), "{body}: {err}");
    }
    let malformed = app.send(
        "POST",
        "/api/auth/register",
        "application/json",
        b"{\"username\": ",
    );
    assert_error(&malformed, 400, "VALIDATION_ERROR");
}

#[test]
fn stored_hashes_are_argon2id_with_owasp_parameters() {
    let (_u, app) = app_with_players();
    register(&app, "hashed");
    let hash: String = app
        .db()
        .query_row("SELECT password_hash FROM accounts", [], |r| r.get(0))
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
}

#[test]
fn refresh_rotates_and_a_reused_token_revokes_the_family() {
    let (_u, app) = app_with_players();
    let first = register(&app, "rotator");
    let refresh = |t: &str| app.post_json("/api/auth/refresh", &json!({"refreshToken": t}));
    let r1 = first["refreshToken"].as_str().unwrap().to_string();
    let second = refresh(&r1);
    assert_eq!(second.status, 200);
    let r2 = second.json()["data"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(r1, r2);
    let third = refresh(&r2).json()["data"].clone();
    let r3 = third["refreshToken"].as_str().unwrap().to_string();

    assert_error(&refresh(&r1), 401, "UNAUTHORIZED");
    assert_error(&refresh(&r3), 401, "UNAUTHORIZED");
    assert_error(&refresh("made-up-token"), 401, "UNAUTHORIZED");

    let fresh = login(&app, "rotator");
    let token = fresh["refreshToken"].as_str().unwrap();
    assert_eq!(
        app.post_json("/api/auth/logout", &json!({"refreshToken": token}))
            .status,
        200
    );
    assert_error(&refresh(token), 401, "UNAUTHORIZED");
}

#[test]
fn the_web_flow_keeps_the_refresh_token_in_an_httponly_cookie() {
    let (_u, app) = app_with_players();
    register(&app, "cookie_user");
    let resp = app.post_json(
        "/api/auth/login",
        &json!({"username": "cookie_user", "password": PASSWORD, "refreshIn": "cookie"}),
    );
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.json()["data"]["refreshToken"],
        Value::Null,
        "not readable by page scripts"
    );
    let cookie = resp.header("set-cookie").unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Path=/api/auth")
    );
    assert!(!cookie.contains("Secure"), "plain HTTP on loopback");
    let pair = cookie.split(';').next().unwrap().to_string();
    let refreshed = app.request(
        "POST",
        "/api/auth/refresh",
        &[("cookie", &pair)],
        Some(&json!({})),
    );
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    assert!(
        refreshed
            .header("set-cookie")
            .unwrap()
            .starts_with("goated_refresh=")
    );
    let current = refreshed
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let logout = app.request(
        "POST",
        "/api/auth/logout",
        &[("cookie", &current)],
        Some(&json!({})),
    );
    assert!(logout.header("set-cookie").unwrap().contains("Max-Age=0"));
    // Clearing the cookie is not the point: the server revoked the family, so a copy of
    // the cookie kept by someone else is dead too.
    let replayed = app.request(
        "POST",
        "/api/auth/refresh",
        &[("cookie", &current)],
        Some(&json!({})),
    );
    assert_eq!(replayed.status, 401, "{}", replayed.text());
    let hash = goated::auth::token_hash(current.trim_start_matches("goated_refresh="));
    let family_live = format!(
        "SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL AND family = \
         (SELECT family FROM refresh_tokens WHERE token_hash = '{hash}')"
    );
    let family_size = format!(
        "SELECT count(*) FROM refresh_tokens WHERE family = \
         (SELECT family FROM refresh_tokens WHERE token_hash = '{hash}')"
    );
    assert_eq!(
        app.count(&family_size),
        2,
        "the login's token and its rotation"
    );
    assert_eq!(
        app.count(&family_live),
        0,
        "every token of the family is revoked"
    );
}

#[test]
fn expired_tampered_and_foreign_algorithm_tokens_are_refused() {
    let clock = goated::clock::ManualClock::new(chrono::Utc::now());
    let upstream = FakeUpstream::start(players());
    let app = crate::helpers::spawn_app_at(&clock, &upstream, |_| {});
    let session = register(&app, "tokens");
    let good = token(&session);
    assert_eq!(app.authed("GET", "/api/auth/me", &good, None).status, 200);

    let parts: Vec<&str> = good.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["role"] = json!("admin");
    let forged_payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        forged_payload
    );
    let hs512 = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"HS512","typ":"JWT"}"#),
        parts[1],
        parts[2]
    );
    for bad in [tampered.as_str(), none.as_str(), hs512.as_str(), "garbage"] {
        assert_error(
            &app.authed("GET", "/api/auth/me", bad, None),
            401,
            "UNAUTHORIZED",
        );
    }
    clock.advance(chrono::Duration::minutes(16));
    assert_error(
        &app.authed("GET", "/api/auth/me", &good, None),
        401,
        "UNAUTHORIZED",
    );
}

#[test]
fn failed_logins_are_throttled_then_the_wait_lifts() {
    let (_u, app) = app_with_players();
    register(&app, "throttled");
    let attempt = |password: &str| {
        app.post_json(
            "/api/auth/login",
            &json!({"username": "throttled", "password": password}),
        )
    };
    for _ in 0..5 {
        assert_eq!(attempt("wrong-password-x").status, 401);
    }
    let limited = attempt(PASSWORD);
    assert_error(&limited, 429, "RATE_LIMITED");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry));
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        attempt(PASSWORD).status,
        200,
        "the wait lifts and the right password works"
    );
}

#[test]
fn the_general_rate_limit_answers_429_with_retry_after() {
    let upstream = FakeUpstream::start(players());
    let app = spawn_live_app(&upstream, |c| c.server.rate_limit_per_minute = 5);
    for _ in 0..5 {
        assert_eq!(app.get("/api/wager-races/schedule").status, 200);
    }
    let limited = app.get("/api/wager-races/schedule");
    assert_error(&limited, 429, "RATE_LIMITED");
    assert!(
        limited
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(
        app.get("/").status,
        200,
        "pages are not counted against the API limit"
    );
}

#[test]
fn admin_endpoints_check_address_role_and_current_role() {
    let (_u, app) = app_with_players();
    let admin = admin_session(&app, "root_admin");
    let user = register(&app, "plain_user");
    assert_eq!(
        app.authed("GET", "/api/admin/verifications", &token(&admin), None)
            .status,
        200
    );
    assert_error(
        &app.authed("GET", "/api/admin/verifications", &token(&user), None),
        403,
        "FORBIDDEN",
    );
    assert_error(&app.get("/api/admin/verifications"), 401, "UNAUTHORIZED");

    // The token still says admin, but the database no longer does.
    let id = admin["account"]["id"].as_i64().unwrap();
    app.state
        .db
        .write_blocking(|tx| {
            goated::db::accounts::set_role(
                tx,
                id,
                goated::domain::accounts::Role::User,
                "2026-11-23T00:00:00.000Z",
            )
        })
        .unwrap();
    assert_error(
        &app.authed("GET", "/api/admin/verifications", &token(&admin), None),
        403,
        "FORBIDDEN",
    );
    let audited = app.count("SELECT count(*) FROM audit_log WHERE action = 'verification.list'");
    assert_eq!(audited, 1);
}

#[test]
fn admin_endpoints_are_refused_from_other_addresses_even_with_a_spoofed_header() {
    let upstream = FakeUpstream::start(players());
    let app = spawn_live_app(&upstream, |c| {
        c.admin.allowed_ips = vec!["10.9.8.7/32".parse().unwrap()]
    });
    let admin = admin_session(&app, "far_admin");
    let auth = format!("Bearer {}", token(&admin));
    let spoofed = app.request(
        "GET",
        "/api/admin/verifications",
        &[("authorization", &auth), ("x-forwarded-for", "10.9.8.7")],
        None,
    );
    assert_error(&spoofed, 403, "FORBIDDEN");

    let behind_proxy = spawn_live_app(&upstream, |c| {
        c.admin.allowed_ips = vec!["10.9.8.7/32".parse().unwrap()];
        c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    });
    let admin = admin_session(&behind_proxy, "proxied_admin");
    let auth = format!("Bearer {}", token(&admin));
    let forwarded = behind_proxy.request(
        "GET",
        "/api/admin/verifications",
        &[("authorization", &auth), ("x-forwarded-for", "10.9.8.7")],
        None,
    );
    assert_eq!(
        forwarded.status, 200,
        "a trusted proxy's X-Forwarded-For is believed"
    );
    let direct = behind_proxy.request(
        "GET",
        "/api/admin/verifications",
        &[("authorization", &auth)],
        None,
    );
    assert_error(&direct, 403, "FORBIDDEN");

    // A client that writes the allowed address itself: the proxy appends the real one,
    // and the right-most untrusted address is the client.
    let chain = behind_proxy.request(
        "GET",
        "/api/admin/verifications",
        &[
            ("authorization", &auth),
            ("x-forwarded-for", "10.9.8.7, 203.0.113.5"),
        ],
        None,
    );
    assert_error(&chain, 403, "FORBIDDEN");
    // The allowed address written the IPv6 way (an IPv4-mapped address) is the same.
    let mapped = behind_proxy.request(
        "GET",
        "/api/admin/verifications",
        &[
            ("authorization", &auth),
            ("x-forwarded-for", "::ffff:10.9.8.7"),
        ],
        None,
    );
    assert_eq!(mapped.status, 200, "{}", mapped.text());
}

const SIGNING_SECRET: &str = "automation-secret-with-32-chars!!";

fn signed(
    app: &TestApp,
    method: &str,
    path: &str,
    body: &Value,
    nonce: &str,
    tamper: bool,
) -> crate::helpers::TestResponse {
    let ts = chrono::Utc::now().timestamp().to_string();
    let bytes = body.to_string();
    let canonical = goated::auth::signing::canonical(method, path, &ts, nonce, bytes.as_bytes());
    let signature = goated::auth::signing::sign(SIGNING_SECRET, &canonical);
    let sent = if tamper {
        json!({"token": "a-different-token-value"})
    } else {
        body.clone()
    };
    app.request(
        method,
        path,
        &[
            ("x-goated-timestamp", &ts),
            ("x-goated-nonce", nonce),
            ("x-goated-signature", &signature),
        ],
        Some(&sent),
    )
}

#[test]
fn signed_admin_requests_are_accepted_once_and_tampering_is_refused() {
    let upstream = FakeUpstream::start(players());
    let app = spawn_live_app(&upstream, |c| {
        c.admin.signing_secret = Some(goated::config::Secret::new(SIGNING_SECRET))
    });
    let body = json!({"token": "replacement-upstream-token"});
    let ok = signed(
        &app,
        "PUT",
        "/api/admin/upstream/token",
        &body,
        "nonce-aaaaaaaaaaaa1",
        false,
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert!(
        !ok.text().contains("replacement-upstream-token"),
        "the token is never echoed"
    );
    assert_eq!(
        app.state.tokens.current().unwrap().expose(),
        "replacement-upstream-token"
    );

    let replay = signed(
        &app,
        "PUT",
        "/api/admin/upstream/token",
        &body,
        "nonce-aaaaaaaaaaaa1",
        false,
    );
    assert_error(&replay, 401, "UNAUTHORIZED");
    let tampered = signed(
        &app,
        "PUT",
        "/api/admin/upstream/token",
        &body,
        "nonce-aaaaaaaaaaaa2",
        true,
    );
    assert_error(&tampered, 401, "UNAUTHORIZED");
    let sync = signed(
        &app,
        "POST",
        "/api/admin/sync",
        &json!({}),
        "nonce-aaaaaaaaaaaa3",
        false,
    );
    assert_eq!(sync.status, 200, "{}", sync.text());
    assert_eq!(sync.json()["data"]["trigger"], "forced");
    let not_sensitive = signed(
        &app,
        "GET",
        "/api/admin/verifications",
        &json!({}),
        "nonce-aaaaaaaaaaaa4",
        false,
    );
    assert_error(&not_sensitive, 401, "UNAUTHORIZED");
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE actor = 'signed-request'"),
        2
    );
}

#[test]
fn verification_claims_are_cross_checked_and_decided_by_an_admin() {
    let (_u, app) = app_with_players();
    let admin = admin_session(&app, "verifier");
    let alice = register(&app, "alice");
    let bob = register(&app, "bob");
    let claim = |s: &Value, body: Value| {
        app.authed("POST", "/api/verification/request", &token(s), Some(&body))
    };

    assert_error(
        &claim(&alice, json!({"goatedUsername": "NoSuchPlayer"})),
        404,
        "NOT_FOUND",
    );
    assert_error(
        &claim(&alice, json!({"goatedUsername": "twin"})),
        409,
        "CONFLICT",
    );
    assert_error(&claim(&alice, json!({})), 400, "VALIDATION_ERROR");
    let both = json!({"goatedUsername": "luckygoat77", "uid": "goat00000000000000a1"});
    let refused = assert_error(&claim(&alice, both), 400, "VALIDATION_ERROR");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("goatedUsername"),
        "{refused}"
    );
    let pending = claim(&alice, json!({"goatedUsername": "luckygoat77"}));
    assert_eq!(pending.status, 201, "{}", pending.text());
    let request_id = pending.json()["data"]["id"].as_i64().unwrap();
    assert_eq!(pending.json()["data"]["goatedUid"], "goat00000000000000a1");
    assert_error(
        &claim(&alice, json!({"uid": "goat00000000000000a2"})),
        409,
        "CONFLICT",
    );

    let status = app
        .authed("GET", "/api/verification/status", &token(&alice), None)
        .json()["data"]
        .clone();
    assert_eq!(status["verified"], false);
    assert_eq!(status["pending"]["id"], request_id);

    let listed = app
        .authed("GET", "/api/admin/verifications", &token(&admin), None)
        .json()["data"]
        .clone();
    assert_eq!(listed[0]["username"], "alice");
    let confirm = |by: &Value, id: i64, approve: bool| {
        app.authed(
            "POST",
            "/api/verification/confirm",
            &token(by),
            Some(&json!({"requestId": id, "approve": approve, "note": "checked"})),
        )
    };
    assert_error(&confirm(&bob, request_id, true), 403, "FORBIDDEN");
    let approved = confirm(&admin, request_id, true);
    assert_eq!(approved.status, 200, "{}", approved.text());
    assert_eq!(approved.json()["data"]["status"], "approved");
    assert_error(&confirm(&admin, request_id, true), 409, "CONFLICT");
    assert_eq!(
        app.authed("GET", "/api/auth/me", &token(&alice), None)
            .json()["data"]["goatedUid"],
        "goat00000000000000a1"
    );
    assert_eq!(
        app.get("/api/users/goat00000000000000a1").json()["data"]["verified"],
        true
    );

    assert_error(
        &claim(&bob, json!({"uid": "goat00000000000000a1"})),
        409,
        "CONFLICT",
    );
    let bob_claim = claim(&bob, json!({"uid": "goat00000000000000a2"})).json()["data"]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        confirm(&admin, bob_claim, false).json()["data"]["status"],
        "rejected"
    );
    let bob_status = app
        .authed("GET", "/api/verification/status", &token(&bob), None)
        .json()["data"]
        .clone();
    assert_eq!(bob_status["verified"], false);
    assert_eq!(bob_status["requests"][0]["note"], "checked");
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'verification.decide'"),
        2
    );
}

#[test]
fn only_the_verified_owner_or_an_admin_can_edit_a_profile() {
    let (_u, app) = app_with_players();
    let admin = admin_session(&app, "editor_admin");
    let owner = register(&app, "owner");
    let stranger = register(&app, "stranger");
    let id = app
        .authed(
            "POST",
            "/api/verification/request",
            &token(&owner),
            Some(&json!({"uid": "goat00000000000000a2"})),
        )
        .json()["data"]["id"]
        .as_i64()
        .unwrap();
    app.authed(
        "POST",
        "/api/verification/confirm",
        &token(&admin),
        Some(&json!({"requestId": id, "approve": true})),
    );
    let path = "/api/users/goat00000000000000a2";

    let edited = app.authed(
        "PATCH",
        path,
        &token(&owner),
        Some(&json!({"bio": "<b>hi</b> from the owner", "profileColor": "#ff8800"})),
    );
    assert_eq!(edited.status, 200, "{}", edited.text());
    let profile = app.get(path).json()["data"].clone();
    assert_eq!(profile["account"]["bio"], "<b>hi</b> from the owner");
    assert_eq!(profile["account"]["profileColor"], "#ff8800");
    assert_eq!(profile["account"]["username"], "owner");

    assert_error(
        &app.authed(
            "PATCH",
            path,
            &token(&stranger),
            Some(&json!({"bio": "mine now"})),
        ),
        403,
        "FORBIDDEN",
    );
    assert_error(
        &app.authed(
            "PATCH",
            path,
            &token(&owner),
            Some(&json!({"profileColor": "red"})),
        ),
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &app.authed(
            "PATCH",
            path,
            &token(&owner),
            Some(&json!({"bio": "x".repeat(501)})),
        ),
        400,
        "VALIDATION_ERROR",
    );
    assert_eq!(
        app.authed(
            "PATCH",
            path,
            &token(&admin),
            Some(&json!({"bio": "moderated"}))
        )
        .status,
        200
    );
    assert_eq!(app.get(path).json()["data"]["account"]["bio"], "moderated");
    assert_error(
        &app.authed(
            "PATCH",
            "/api/users/goat00000000000000a3",
            &token(&admin),
            Some(&json!({"bio": "x"})),
        ),
        404,
        "NOT_FOUND",
    );
}

#[test]
fn admin_prize_overrides_are_validated_and_shape_the_live_race() {
    let (_u, app) = app_with_players();
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

#[test]
fn a_refresh_token_expires_after_thirty_days() {
    let clock = goated::clock::ManualClock::new(chrono::Utc::now());
    let upstream = FakeUpstream::start(players());
    let app = crate::helpers::spawn_app_at(&clock, &upstream, |_| {});
    let session = register(&app, "expiring");
    let refresh = |token: &str| app.post_json("/api/auth/refresh", &json!({"refreshToken": token}));
    clock.advance(chrono::Duration::days(29));
    let renewed = refresh(session["refreshToken"].as_str().unwrap());
    assert_eq!(renewed.status, 200, "{}", renewed.text());
    let token = renewed.json()["data"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    // Rotation gives a fresh 30 days; past them, the token is dead.
    clock.advance(chrono::Duration::days(30) + chrono::Duration::seconds(1));
    assert_error(&refresh(&token), 401, "UNAUTHORIZED");
}

#[test]
fn the_same_refresh_token_presented_twice_at_once_is_used_once() {
    let (_u, app) = app_with_players();
    let session = register(&app, "racer");
    let token = session["refreshToken"].as_str().unwrap().to_string();
    let url = app.url("/api/auth/refresh");
    let go = std::sync::Arc::new(std::sync::Barrier::new(2));
    let attempts: Vec<_> = (0..2)
        .map(|_| {
            let (url, token, go) = (url.clone(), token.clone(), go.clone());
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                go.wait();
                agent
                    .post(&url)
                    .header("content-type", "application/json")
                    .send(json!({"refreshToken": token}).to_string())
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses: Vec<u16> = attempts.into_iter().map(|t| t.join().unwrap()).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 401], "exactly one use wins");
    assert_eq!(
        app.count("SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL"),
        0,
        "the second use is a reuse: the whole family, the winner's new token too, is revoked"
    );
}
