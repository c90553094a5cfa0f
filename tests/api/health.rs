use crate::helpers::spawn_app;

#[test]
fn health_answers_with_version_database_and_source() {
    let app = spawn_app();
    let resp = app.get("/api/health");
    assert_eq!(resp.status, 200);
    let body = resp.json();
    assert_eq!(body["status"], "success");
    assert_eq!(body["data"]["status"], "ok");
    assert_eq!(body["data"]["databaseOk"], true);
    assert_eq!(body["data"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["data"]["source"], "demo");
    assert!(resp.header("x-request-id").unwrap().starts_with("req_"));
}

#[test]
fn a_sane_client_request_id_is_kept_and_a_hostile_one_replaced() {
    let app = spawn_app();
    let kept = app.get_with("/api/health", &[("x-request-id", "trace-42.a")]);
    assert_eq!(kept.header("x-request-id"), Some("trace-42.a"));
    let long = "x".repeat(200);
    let replaced = app.get_with("/api/health", &[("x-request-id", &long)]);
    assert!(replaced.header("x-request-id").unwrap().starts_with("req_"));
}

#[test]
fn the_spec_parses_and_documents_the_health_path_and_error_codes() {
    let app = spawn_app();
    let resp = app.get("/openapi.json");
    assert_eq!(resp.status, 200);
    let spec = resp.json();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    assert!(
        spec["paths"]["/api/health"]["get"].is_object(),
        "{}",
        spec["paths"]
    );
    let codes = &spec["components"]["schemas"]["ErrorCode"]["enum"];
    assert!(
        codes
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "VALIDATION_ERROR"),
        "{codes}"
    );
}

#[test]
fn the_docs_page_is_html_that_needs_no_internet() {
    let app = spawn_app();
    let resp = app.get("/docs");
    assert_eq!(resp.status, 200);
    assert!(
        resp.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let html = resp.text();
    assert!(html.contains("SwaggerUIBundle"));
    for cdn in ["unpkg.com", "cdn.jsdelivr", "cdnjs", "googleapis"] {
        assert!(!html.contains(cdn), "the docs page loads from {cdn}");
    }
}

#[test]
fn api_answers_may_load_nothing_and_be_framed_by_nobody() {
    let app = spawn_app();
    for path in [
        "/api/wager-races/current",
        "/api/health",
        "/api/no-such-route",
    ] {
        let resp = app.get(path);
        assert_eq!(
            resp.header("content-security-policy"),
            Some("default-src 'none'; frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(resp.header("x-frame-options"), Some("DENY"));
        assert_eq!(resp.header("referrer-policy"), Some("no-referrer"));
    }
}

#[test]
fn the_home_page_is_served_with_security_and_caching_headers() {
    let app = spawn_app();
    let resp = app.get("/");
    assert_eq!(resp.status, 200);
    assert!(
        resp.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let csp = resp.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));
    assert!(resp.header("referrer-policy").is_some());

    let js = app.get("/js/race.js");
    assert!(js.header("content-type").unwrap().contains("javascript"));
    assert!(
        js.text().contains("/api/wager-races/current"),
        "the home page shows the live race"
    );
    let etag = js.header("etag").unwrap().to_string();
    assert!(js.header("cache-control").unwrap().contains("max-age"));
    let again = app.get_with("/js/race.js", &[("if-none-match", &etag)]);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
}

#[test]
fn the_spec_documents_every_public_operation_with_its_errors_and_examples() {
    let app = spawn_app();
    let spec = app.get("/openapi.json").json();
    let paths = &spec["paths"];
    for path in [
        "/api/wager-races/current",
        "/api/wager-races/previous",
        "/api/wager-races/schedule",
        "/api/wager-races/history",
        "/api/wager-races/{race_id}",
        "/api/affiliate/stats",
        "/api/affiliate/leaderboard",
        "/api/users/search",
        "/api/users/batch",
        "/api/users/{user_id}",
        "/api/users/{user_id}/stats",
    ] {
        let op = &paths[path]["get"];
        assert!(op.is_object(), "{path} is documented");
        for status in ["200", "400", "404", "500"] {
            assert!(
                op["responses"][status].is_object(),
                "{path} documents {status}"
            );
        }
    }
    let schemas = &spec["components"]["schemas"];
    assert!(schemas["Race"]["example"]["participants"].is_array());
    assert_eq!(
        schemas["ErrorEnvelope"]["example"]["error"]["code"],
        "VALIDATION_ERROR"
    );
}
