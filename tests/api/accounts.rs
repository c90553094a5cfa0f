//! Accounts through the API: their life cycle and how passwords are stored.

use serde_json::json;

use crate::helpers::{PASSWORD, app_with_known_players, assert_error, login, register, token};

#[test]
fn the_account_life_cycle_through_the_api() {
    let (_u, app) = app_with_known_players();
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
    // The email's refusal names its field, as a client's form needs to mark it.
    let err = assert_error(
        &app.post_json(
            "/api/auth/register",
            &json!({"username": "dave", "password": PASSWORD, "email": "not-an-email"}),
        ),
        400,
        "VALIDATION_ERROR",
    );
    assert_eq!(err["details"]["field"], "email", "{err}");
    assert_eq!(err["message"], "This is not an email address.");
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
    let (_u, app) = app_with_known_players();
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
