use serde_json::json;

use crate::helpers::{assert_error, spawn_app};

#[test]
fn an_unknown_path_gets_the_error_envelope_with_404() {
    let app = spawn_app();
    assert_error(&app.get("/api/no-such-thing"), 404, "NOT_FOUND");
    assert_error(&app.get("/no/such/page.html"), 404, "NOT_FOUND");
}

#[test]
fn a_wrong_method_gets_405_in_the_envelope() {
    let app = spawn_app();
    assert_error(
        &app.post_json("/api/health", &json!({})),
        405,
        "METHOD_NOT_ALLOWED",
    );
}
