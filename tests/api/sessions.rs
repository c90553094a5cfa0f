//! Sessions: access tokens, refresh-token rotation and reuse, the web flow's cookie,
//! expiry.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use serde_json::{Value, json};

use crate::fake_upstream::FakeUpstream;
use crate::helpers::{
    PASSWORD, app_with_known_players, assert_error, known_players, login, register, token,
};

#[test]
fn refresh_rotates_and_a_reused_token_revokes_the_family() {
    let (_u, app) = app_with_known_players();
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
    let (_u, app) = app_with_known_players();
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
    let upstream = FakeUpstream::start(known_players());
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
fn a_refresh_token_expires_after_thirty_days() {
    let clock = goated::clock::ManualClock::new(chrono::Utc::now());
    let upstream = FakeUpstream::start(known_players());
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
    let (_u, app) = app_with_known_players();
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
