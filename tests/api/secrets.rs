//! No password, hash, token or secret ever appears in an answer or a log line: the real
//! binary runs with debug logging while every path that handles one is exercised.

use std::io::Read;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::fake_upstream::{FakeUpstream, REFERRAL_CODE, player};
use crate::helpers::PASSWORD;

const UPSTREAM_TOKEN: &str = "upstream-session-token-do-not-log-1234567890";
const NEW_UPSTREAM_TOKEN: &str = "replacement-session-token-never-logged-0987";
const JWT_SECRET: &str = "jwt-secret-that-must-stay-private-0123456789";
const SIGNING_SECRET: &str = "signing-secret-that-must-stay-private-0123";

fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> (u16, String) {
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = agent
        .run(req.body(body.to_string().into_bytes()).unwrap())
        .unwrap();
    (
        resp.status().as_u16(),
        resp.body_mut().read_to_string().unwrap(),
    )
}

#[test]
fn secrets_never_reach_answers_or_logs() {
    let upstream = FakeUpstream::start(vec![player("secretplayer00000001", "Secretive", 10.0)]);
    upstream.accept_token(UPSTREAM_TOKEN);
    upstream.accept_token(NEW_UPSTREAM_TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let mut child = crate::helpers::serve_command(dir.path())
        .env("RUST_LOG", "debug")
        .env("GOATED_UPSTREAM__BASE_URL", upstream.base_url())
        .env("GOATED_UPSTREAM__REFERRAL_CODE", REFERRAL_CODE)
        .env("GOATED_UPSTREAM__TOKEN", UPSTREAM_TOKEN)
        .env("GOATED_AUTH__JWT_SECRET", JWT_SECRET)
        .env("GOATED_ADMIN__SIGNING_SECRET", SIGNING_SECRET)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let logs = Arc::new(Mutex::new(String::new()));
    let sink = logs.clone();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = String::new();
        let _ = stderr.read_to_string(&mut buf);
        sink.lock().unwrap().push_str(&buf);
    });
    let base = crate::helpers::announced_base(&mut child, "http");
    let url = |p: &str| format!("{base}{p}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();

    let mut answers = String::new();
    let (status, body) = call(
        &agent,
        "POST",
        &url("/api/auth/register"),
        &[],
        &json!({"username": "secret_keeper", "password": PASSWORD}),
    );
    assert_eq!(status, 201, "{body}");
    answers.push_str(&body);
    let session: Value = serde_json::from_str(&body).unwrap();
    let refresh = session["data"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    let access = session["data"]["accessToken"].as_str().unwrap().to_string();
    let (_, body) = call(
        &agent,
        "POST",
        &url("/api/auth/login"),
        &[],
        &json!({"username": "secret_keeper", "password": "wrong-password-here"}),
    );
    answers.push_str(&body);
    let (_, body) = call(
        &agent,
        "POST",
        &url("/api/auth/refresh"),
        &[],
        &json!({"refreshToken": refresh}),
    );
    answers.push_str(&body);
    // The same token again: the reuse path, which logs a warning about the family.
    let (_, body) = call(
        &agent,
        "POST",
        &url("/api/auth/refresh"),
        &[],
        &json!({"refreshToken": refresh}),
    );
    answers.push_str(&body);
    let (_, body) = call(
        &agent,
        "GET",
        &url("/api/auth/me"),
        &[("authorization", &format!("Bearer {access}"))],
        &json!({}),
    );
    answers.push_str(&body);

    let ts = chrono::Utc::now().timestamp().to_string();
    let replace = json!({"token": NEW_UPSTREAM_TOKEN});
    let canonical = goated::auth::signing::canonical(
        "PUT",
        "/api/admin/upstream/token",
        &ts,
        "nonce-secret-test-0001",
        replace.to_string().as_bytes(),
    );
    let signature = goated::auth::signing::sign(SIGNING_SECRET, &canonical);
    let headers = [
        ("x-goated-timestamp", ts.as_str()),
        ("x-goated-nonce", "nonce-secret-test-0001"),
        ("x-goated-signature", signature.as_str()),
    ];
    let (status, body) = call(
        &agent,
        "PUT",
        &url("/api/admin/upstream/token"),
        &headers,
        &replace,
    );
    assert_eq!(status, 200, "{body}");
    answers.push_str(&body);
    let (_, body) = call(&agent, "GET", &url("/api/health"), &[], &json!({}));
    answers.push_str(&body);

    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    let logs = logs.lock().unwrap().clone();
    assert!(
        logs.contains("account registered"),
        "debug logs were captured: {}",
        &logs[..logs.len().min(500)]
    );
    let hash: String = rusqlite::Connection::open(dir.path().join("goated.db"))
        .unwrap()
        .query_row("SELECT password_hash FROM accounts", [], |r| r.get(0))
        .unwrap();
    for secret in [
        PASSWORD,
        "wrong-password-here",
        hash.as_str(),
        &refresh,
        &access,
        UPSTREAM_TOKEN,
        NEW_UPSTREAM_TOKEN,
        JWT_SECRET,
        SIGNING_SECRET,
    ] {
        assert!(
            !logs.contains(secret),
            "a secret reached the logs: {}…",
            &secret[..8]
        );
    }
    for secret in [
        PASSWORD,
        hash.as_str(),
        UPSTREAM_TOKEN,
        NEW_UPSTREAM_TOKEN,
        JWT_SECRET,
        SIGNING_SECRET,
        "$argon2id",
    ] {
        assert!(
            !answers.contains(secret),
            "a secret reached an answer: {}…",
            &secret[..8]
        );
    }
}
