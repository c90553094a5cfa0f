use serde_json::json;

use crate::helpers::{assert_error, spawn_app};

#[test]
fn an_unknown_path_gets_the_error_envelope_with_404() {
    let app = spawn_app();
    assert_error(&app.get("/api/no-such-thing"), 404, "NOT_FOUND");
    assert_error(&app.get("/no/such/page.html"), 404, "NOT_FOUND");
}

#[test]
fn a_wrong_method_gets_405_in_the_envelope_with_the_methods_allowed() {
    let app = spawn_app();
    let cases = [
        ("POST", "/api/health", "GET"),
        ("GET", "/api/auth/login", "POST"),
        ("DELETE", "/api/users/u1", "GET, PATCH"),
        ("POST", "/api/admin/upstream/token", "GET, PUT"),
        ("GET", "/api/admin/races/202611/payouts/u1", "PATCH"),
    ];
    for (method, path, allowed) in cases {
        let resp = app.request(method, path, &[], Some(&json!({})));
        assert_error(&resp, 405, "METHOD_NOT_ALLOWED");
        assert_eq!(resp.header("allow"), Some(allowed), "{method} {path}");
    }
}

#[test]
fn a_null_or_a_wrong_type_in_a_request_body_is_refused() {
    let app = spawn_app();
    // No field is nullable in the published schema: null is not "left out".
    let body = json!({"refreshToken": null});
    let err = assert_error(
        &app.post_json("/api/auth/logout", &body),
        400,
        "VALIDATION_ERROR",
    );
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("null is not allowed"), "{message}");
    let body = json!({"username": "nully", "password": "tall-goat-on-a-hill", "email": null});
    let err = assert_error(
        &app.post_json("/api/auth/register", &body),
        400,
        "VALIDATION_ERROR",
    );
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("null is not allowed"),
        "{err}"
    );
    // A string field takes a JSON string only, not a number or a boolean.
    for body in [
        json!({"refreshToken": false}),
        json!({"username": 12345678, "password": "tall-goat-on-a-hill"}),
    ] {
        let path = if body.get("username").is_some() {
            "/api/auth/register"
        } else {
            "/api/auth/logout"
        };
        assert_error(&app.post_json(path, &body), 400, "VALIDATION_ERROR");
    }
    // Leaving the field out is fine.
    assert_eq!(app.post_json("/api/auth/logout", &json!({})).status, 200);
}

/// A path parameter that is not what the route takes is named as the API documents it
/// (poem-openapi itself only knows it by position), whether it is slightly wrong or
/// absurdly long, and the server answers the next request as before.
#[test]
fn a_malformed_or_huge_path_parameter_is_refused_by_its_documented_name() {
    let app = spawn_app();
    let huge = "a".repeat(10_000);
    let cases = [
        ("/api/users/a%20b".to_string(), "user_id"),
        (format!("/api/users/{huge}"), "user_id"),
        (format!("/api/users/{huge}/stats"), "user_id"),
        ("/api/wager-races/Not_A_Race".to_string(), "race_id"),
        (format!("/api/wager-races/{huge}/proof"), "race_id"),
        ("/api/wager-races/a%2Fb/export.csv".to_string(), "race_id"),
    ];
    for (path, name) in &cases {
        let err = assert_error(&app.get(path), 400, "VALIDATION_ERROR");
        assert_eq!(err["details"]["field"], *name, "{path}: {err}");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(&format!("`{name}`")), "{message}");
        assert!(!message.contains("param0"), "{message}");
        assert!(message.len() < 500, "the answer does not echo the input");
    }
    assert_eq!(app.get("/api/health").status, 200);
}
