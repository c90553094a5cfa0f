//! Who may call what: login throttling, the general rate limit, the admin API's
//! address allow-list and roles, and signed admin requests.

use serde_json::{Value, json};

use crate::fake_upstream::FakeUpstream;
use crate::helpers::{
    PASSWORD, TestApp, TestResponse, admin_session, app_with_known_players, assert_error, at,
    known_players, register, spawn_app_with_clock, spawn_live_app, token,
};
use goated::clock::ManualClock;

#[test]
fn failed_logins_are_throttled_then_the_wait_lifts() {
    let clock = ManualClock::new(at("2026-11-25T12:00:00Z"));
    let app = spawn_app_with_clock(&clock, |_| {});
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
    clock.advance(chrono::Duration::milliseconds(999));
    assert_error(&attempt(PASSWORD), 429, "RATE_LIMITED");
    clock.advance(chrono::Duration::milliseconds(1));
    assert_eq!(
        attempt(PASSWORD).status,
        200,
        "the wait lifts at its end and the right password works"
    );
}

#[test]
fn the_general_rate_limit_answers_429_with_retry_after() {
    let upstream = FakeUpstream::start(known_players());
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
    let (_u, app) = app_with_known_players();
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
    let upstream = FakeUpstream::start(known_players());
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
    assert_error(&spoofed, 403, "ADMIN_ADDRESS");

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
    assert_error(&direct, 403, "ADMIN_ADDRESS");

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
    assert_error(&chain, 403, "ADMIN_ADDRESS");
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
) -> TestResponse {
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
    let upstream = FakeUpstream::start(known_players());
    upstream.accept_token("replacement-upstream-token");
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
