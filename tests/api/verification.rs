//! Claiming a Goated player, an admin's decision, and who may edit a profile.

use serde_json::{Value, json};

use crate::helpers::{admin_session, app_with_known_players, assert_error, register, token};

#[test]
fn verification_claims_are_cross_checked_and_decided_by_an_admin() {
    let (_u, app) = app_with_known_players();
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
    let (_u, app) = app_with_known_players();
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
