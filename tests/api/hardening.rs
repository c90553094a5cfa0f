//! What a public server meets (SPEC §10): each case sends the bad input, asserts the
//! clear refusal, and checks that nothing was lost and the server still answers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::fake_upstream::{FakeUpstream, player};
use crate::helpers::{PASSWORD, admin_session, register, token};
use crate::helpers::{
    TestApp, assert_error, spawn_app_with, spawn_app_with_clock, spawn_live_app, wait_until,
};
use goated::clock::ManualClock;

/// Sends `head` (and `body`) on a raw connection and reads the answer as text, for
/// requests no HTTP client would send.
fn raw(app: &TestApp, head: &str, body: &[u8]) -> String {
    let mut stream = TcpStream::connect(app.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (and close) before the body is through: that is the point.
    let _ = stream.write_all(body);
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                if complete(&answer) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// Whether an HTTP/1.1 answer with a Content-Length body is all there.
fn complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
        })
        .unwrap_or(0);
    body.len() >= length
}

#[test]
fn a_huge_body_is_refused_from_its_length_before_it_is_read() {
    let app = spawn_app_with(|_| {});
    let started = Instant::now();
    // 100 MB announced, a few bytes sent: the answer cannot wait for the rest.
    let answer = raw(
        &app,
        "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: 104857600\r\n\r\n",
        b"{\"username\": \"",
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("PAYLOAD_TOO_LARGE"), "{answer}");
    // Refused before any handler, and still under the request's own id.
    let header = answer
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("x-request-id:")
                .map(|v| v.trim().to_string())
        })
        .expect("the refusal has an x-request-id");
    assert!(
        header.starts_with("req_") && header != "req_none",
        "{answer}"
    );
    assert!(
        answer.contains(&format!("\"requestId\":\"{header}\"")),
        "the envelope names the same id: {answer}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        app.get("/api/health").status,
        200,
        "the server still answers"
    );
}

const CHUNKED_REGISTER: &str = "POST /api/auth/register HTTP/1.1\r\nHost: x\r\n\
     Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";

/// `parts` in HTTP/1.1 chunked encoding, with the closing chunk.
fn chunked(parts: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        body.extend_from_slice(part);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    body
}

#[test]
fn a_chunked_body_is_cut_off_at_the_limit_as_it_streams() {
    let app = spawn_app_with(|_| {});
    let chunk = vec![b' '; 10 * 1024];
    let answer = raw(&app, CHUNKED_REGISTER, &chunked(&[&chunk[..]; 10]));
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(
        app.count("SELECT count(*) FROM accounts"),
        0,
        "nothing was written"
    );

    // A small chunked body still goes through.
    let json = br#"{"username": "chunky", "password": "tall-goat-on-a-hill"}"#;
    let answer = raw(&app, CHUNKED_REGISTER, &chunked(&[json]));
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
}

#[test]
fn headers_that_trickle_in_are_cut_off_after_ten_seconds() {
    let app = spawn_app_with(|_| {});
    let mut stream = TcpStream::connect(app.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let started = Instant::now();
    stream.write_all(b"GET /api/health HTTP/1.1\r\n").unwrap();
    let mut closed_at = None;
    // One header byte every 1.5 s, as a slowloris client sends them.
    while started.elapsed() < Duration::from_secs(20) {
        if stream.write_all(b"X").is_err() {
            closed_at = Some(started.elapsed());
            break;
        }
        let mut buf = [0u8; 64];
        match stream.read(&mut buf) {
            Ok(0) => {
                closed_at = Some(started.elapsed());
                break;
            }
            Ok(_) => panic!("the server answered headers that never ended"),
            Err(_) => std::thread::sleep(Duration::from_millis(1400)),
        }
    }
    let closed_at = closed_at.expect("the connection was still open after 20 s");
    assert!(
        closed_at >= Duration::from_secs(9) && closed_at < Duration::from_secs(14),
        "closed after {closed_at:?}"
    );
    assert_eq!(app.get("/api/health").status, 200);
}

type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

/// A socket, or the HTTP status the upgrade was refused with (0 for other errors).
fn ws(app: &TestApp) -> Result<Socket, u16> {
    match tungstenite::connect(format!("ws://{}/ws", app.addr)) {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(_) => Err(0),
    }
}

#[test]
fn a_websocket_message_above_4_kib_closes_the_socket_with_1009() {
    let app = spawn_app_with(|_| {});
    let mut socket = ws(&app).unwrap();
    let _hello = socket.read().unwrap();
    socket
        .send(Message::Text("x".repeat(64 * 1024).into()))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        assert!(Instant::now() < deadline, "no close frame");
        match socket.read() {
            Ok(Message::Close(frame)) => break frame.map(|f| f.code),
            Ok(_) => {}
            Err(e) => panic!("the socket ended without a close frame: {e}"),
        }
    };
    assert_eq!(code, Some(CloseCode::Size));
    assert_eq!(app.get("/api/health").status, 200);
}

#[test]
fn one_address_holds_at_most_its_share_of_sockets_and_a_closed_one_frees_its_place() {
    let app = spawn_app_with(|c| c.server.max_websockets_per_ip = 3);
    let mut held: Vec<Socket> = (0..3).map(|_| ws(&app).unwrap()).collect();
    match ws(&app) {
        Err(status) => assert_eq!(status, 429),
        Ok(_) => panic!("a fourth socket from one address was accepted"),
    }
    let mut gone = held.pop().unwrap();
    gone.close(None).unwrap();
    let _ = gone.flush();
    drop(gone);
    wait_until("the closed socket's place to be free", || ws(&app).is_ok());
}

fn login_from(app: &TestApp, ip: &str, username: &str, password: &str) -> u16 {
    app.request(
        "POST",
        "/api/auth/login",
        &[("x-forwarded-for", ip)],
        Some(&json!({"username": username, "password": password})),
    )
    .status
}

/// The loopback proxy is trusted, written as a bare address (as nginx takes it), so
/// each request can come from the address a test names.
fn behind_proxy() -> TestApp {
    spawn_app_with(|c| c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()])
}

fn behind_proxy_at(clock: &ManualClock) -> TestApp {
    spawn_app_with_clock(clock, |c| {
        c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]
    })
}

#[test]
fn padding_or_recasing_a_name_does_not_dodge_its_accounts_throttle() {
    let app = behind_proxy();
    register(&app, "victim");
    for i in 1..=5 {
        let status = login_from(&app, &format!("192.0.2.{i}"), "victim", "wrong-password-1");
        assert_eq!(status, 401);
    }
    for (i, name) in [" victim", "VICTIM  ", "\tVictim"].iter().enumerate() {
        let status = login_from(
            &app,
            &format!("192.0.2.{}", 50 + i),
            name,
            "wrong-password-1",
        );
        assert_eq!(status, 429, "{name:?} reached the password check");
    }
}

#[test]
fn signing_in_to_ones_own_account_keeps_an_addresss_failures_on_others() {
    let clock = ManualClock::new(crate::helpers::at("2026-11-25T12:00:00Z"));
    let app = behind_proxy_at(&clock);
    register(&app, "mallory");
    register(&app, "target");
    let ip = "198.51.100.7";
    for _ in 0..5 {
        assert_eq!(login_from(&app, ip, "target", "wrong-password-1"), 401);
    }
    assert_eq!(
        login_from(&app, ip, "mallory", PASSWORD),
        429,
        "the address waits"
    );
    clock.advance(chrono::Duration::seconds(1));
    assert_eq!(login_from(&app, ip, "mallory", PASSWORD), 200);
    // Had the success wiped the address's record, this sixth guess would be free.
    assert_eq!(
        login_from(&app, ip, "someone-else", "wrong-password-1"),
        401
    );
    assert_eq!(
        login_from(&app, ip, "mallory", PASSWORD),
        429,
        "the sixth failure from the address made it wait again"
    );
}

#[test]
fn ipv6_clients_are_throttled_by_their_64() {
    let app = behind_proxy();
    for i in 1..=5 {
        let ip = format!("2001:db8:aa:bb::{i}");
        assert_eq!(
            login_from(&app, &ip, &format!("nobody{i}"), "wrong-password-1"),
            401
        );
    }
    assert_eq!(
        login_from(
            &app,
            "2001:db8:aa:bb:ffff::99",
            "nobody9",
            "wrong-password-1"
        ),
        429,
        "another address of the same /64"
    );
    assert_eq!(
        login_from(&app, "2001:db8:aa:cc::1", "nobody9", "wrong-password-1"),
        401,
        "the next /64 is another client"
    );
}

#[test]
fn sighup_without_tls_is_logged_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = crate::helpers::serve_command(dir.path())
        .env("RUST_LOG", "info")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = crate::helpers::announced_base(&mut child, "http");
    let health = || {
        ureq::get(format!("{base}/api/health"))
            .call()
            .map(|r| r.status().as_u16())
            .ok()
    };
    assert_eq!(health(), Some(200));
    for _ in 0..3 {
        let sent = Command::new("kill")
            .args(["-HUP", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(child.try_wait().unwrap(), None, "SIGHUP stopped the server");
    }
    assert_eq!(health(), Some(200));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn absurd_upstream_amounts_are_rejected_per_entry_and_totals_stay_true() {
    let huge = |uid: &str, amount: f64| {
        json!({"uid": uid, "name": uid, "wagered": {
            "today": 0, "this_week": 0, "this_month": amount, "all_time": amount}})
    };
    let upstream = FakeUpstream::start(vec![
        player("normal00000000000001", "Normal", 1234.56),
        huge("huge0000000000000001", 1e300),
        huge("huge0000000000000002", 9.2e16),
        huge("huge0000000000000003", 1.5e12),
    ]);
    let app = spawn_live_app(&upstream, |_| {});
    let report = app.sync();
    assert!(report.succeeded(), "{:?}", report.outcome);
    let (accepted, rejected): (i64, i64) = app
        .db()
        .query_row(
            "SELECT accepted, rejected FROM sync_runs ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((accepted, rejected), (1, 3));
    let race = app.get("/api/wager-races/current").json();
    assert_eq!(race["data"]["totalWagered"], 1234.56);
    assert_eq!(race["data"]["participantCount"], 1);
}

const SIGNING_SECRET: &str = "an-automation-secret-of-32-chars!";

fn signed_headers(
    method: &str,
    path: &str,
    ts: &str,
    nonce: &str,
    body: &Value,
) -> Vec<(String, String)> {
    let canonical =
        goated::auth::signing::canonical(method, path, ts, nonce, body.to_string().as_bytes());
    let signature = goated::auth::signing::sign(SIGNING_SECRET, &canonical);
    vec![
        ("x-goated-timestamp".into(), ts.into()),
        ("x-goated-nonce".into(), nonce.into()),
        ("x-goated-signature".into(), signature),
    ]
}

fn send_signed(
    app: &TestApp,
    headers: &[(String, String)],
    body: &Value,
) -> crate::helpers::TestResponse {
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.request("POST", "/api/admin/cache/flush", &refs, Some(body))
}

#[test]
fn a_signed_request_replayed_after_a_restart_is_refused() {
    let app = spawn_app_with(|c| {
        c.admin.signing_secret = Some(goated::config::Secret::new(SIGNING_SECRET));
    });
    let body = json!({});
    let ts = chrono::Utc::now().timestamp().to_string();
    let headers = signed_headers(
        "POST",
        "/api/admin/cache/flush",
        &ts,
        "nonce-restart-0000001",
        &body,
    );
    assert_eq!(send_signed(&app, &headers, &body).status, 200);
    let app = app.restart();
    let replay = send_signed(&app, &headers, &body);
    let err = assert_error(&replay, 401, "UNAUTHORIZED");
    assert!(
        err["message"].as_str().unwrap().contains("used before"),
        "{err}"
    );

    // A timestamp chosen to overflow the window check is refused, not a crash.
    for ts in ["-9223372036854775808", "9223372036854775807"] {
        let headers = signed_headers(
            "POST",
            "/api/admin/cache/flush",
            ts,
            "nonce-overflow-000001",
            &body,
        );
        assert_error(&send_signed(&app, &headers, &body), 401, "UNAUTHORIZED");
    }
    assert_eq!(app.get("/api/health").status, 200);
}

#[test]
fn admin_only_actions_outside_the_admin_api_obey_the_address_allow_list() {
    let upstream = FakeUpstream::start(vec![player("goat00000000000000b1", "Owned", 50.0)]);
    let app = spawn_live_app(&upstream, |c| {
        c.admin.allowed_ips = vec!["192.0.2.1/32".parse().unwrap()];
    });
    app.sync();
    let admin = token(&admin_session(&app, "boss"));
    let owner = register(&app, "owner");
    let claim = app.authed(
        "POST",
        "/api/verification/request",
        &token(&owner),
        Some(&json!({"uid": "goat00000000000000b1"})),
    );
    assert_eq!(claim.status, 201, "{}", claim.text());
    let request_id = claim.json()["data"]["id"].as_i64().unwrap();

    let confirm = app.authed(
        "POST",
        "/api/verification/confirm",
        &admin,
        Some(&json!({"requestId": request_id, "approve": true})),
    );
    assert_error(&confirm, 403, "ADMIN_ADDRESS");
    assert_eq!(
        app.count("SELECT count(*) FROM verification_requests WHERE status = 'pending'"),
        1,
        "the claim is still undecided"
    );
    // Approve it directly, then an admin edit of the owner's profile from here fails.
    app.state
        .db
        .write_blocking(|tx| {
            let owner_id = owner["account"]["id"].as_i64().unwrap();
            goated::db::accounts::link_player(
                tx,
                owner_id,
                "goat00000000000000b1",
                "2026-11-01T00:00:00.000Z",
            )
        })
        .unwrap();
    let edit = app.authed(
        "PATCH",
        "/api/users/goat00000000000000b1",
        &admin,
        Some(&json!({"bio": "written by an admin"})),
    );
    assert_error(&edit, 403, "ADMIN_ADDRESS");
    // The owner's own edit is not an admin action.
    let own = app.authed(
        "PATCH",
        "/api/users/goat00000000000000b1",
        &token(&owner),
        Some(&json!({"bio": "mine"})),
    );
    assert_eq!(own.status, 200, "{}", own.text());
}

#[test]
fn an_admin_action_whose_audit_row_cannot_be_written_does_not_happen() {
    // Live, so that a new upstream token is checked and accepted before its audit row.
    let upstream = FakeUpstream::start(vec![player("auditplayer000000001", "Audited", 5.0)]);
    upstream.accept_token("aaaaa.bbbbb.ccccc");
    let app = spawn_live_app(&upstream, |_| {});
    let admin = token(&admin_session(&app, "boss"));
    let conn = rusqlite::Connection::open(app.db_path()).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER audit_full BEFORE INSERT ON audit_log \
         BEGIN SELECT RAISE(ABORT, 'the audit log is full'); END;",
    )
    .unwrap();
    let set = app.authed(
        "PUT",
        "/api/admin/races/209901/prizes",
        &admin,
        Some(&json!({"prizePool": 1000, "prizeDistribution": [1.0]})),
    );
    assert_error(&set, 500, "INTERNAL_ERROR");
    assert_eq!(
        app.count("SELECT count(*) FROM race_prizes"),
        0,
        "the override was rolled back with its audit row"
    );
    let replace = app.authed(
        "PUT",
        "/api/admin/upstream/token",
        &admin,
        Some(&json!({"token": "aaaaa.bbbbb.ccccc"})),
    );
    assert_error(&replace, 500, "INTERNAL_ERROR");
    assert_eq!(
        app.count("SELECT count(*) FROM settings WHERE key = 'upstream.token'"),
        0,
        "the token was not replaced unaudited"
    );
    conn.execute_batch("DROP TRIGGER audit_full").unwrap();
    let set = app.authed(
        "PUT",
        "/api/admin/races/209901/prizes",
        &admin,
        Some(&json!({"prizePool": 1000, "prizeDistribution": [1.0]})),
    );
    assert_eq!(set.status, 200, "{}", set.text());
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'race.prizes.set'"),
        1
    );
}

#[test]
fn admin_create_on_an_existing_account_ends_its_sessions() {
    let app = spawn_app_with(|_| {});
    let session = register(&app, "boss");
    let (access, refresh) = (
        token(&session),
        session["refreshToken"].as_str().unwrap().to_string(),
    );
    assert_eq!(app.authed("GET", "/api/auth/me", &access, None).status, 200);
    let db_path = app.db_path();
    let (config, dir, options) = app.stop();
    // Two-factor was on, and its phone is lost: the CLI is the way back.
    let id = session["account"]["id"].as_i64().unwrap();
    rusqlite::Connection::open(&db_path)
        .unwrap()
        .execute(
            "INSERT INTO account_totp (account_id, secret, created_at, enabled_at) \
             VALUES (?1, 'JBSWY3DPEHPK3PXP', 't', 't')",
            [id],
        )
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_goated"))
        .args(["admin", "create", "boss", "--db"])
        .arg(&db_path)
        .env_clear()
        .env("GOATED_ADMIN_PASSWORD", "a-brand-new-admin-password")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("sessions were ended"));
    let app = crate::helpers::start_again(config, dir, options);
    assert_eq!(app.count("SELECT count(*) FROM account_totp"), 0);
    assert_error(
        &app.authed("GET", "/api/auth/me", &access, None),
        401,
        "UNAUTHORIZED",
    );
    let refreshed = app.post_json("/api/auth/refresh", &json!({"refreshToken": refresh}));
    assert_eq!(refreshed.status, 401, "{}", refreshed.text());
    let fresh = app.post_json(
        "/api/auth/login",
        &json!({"username": "boss", "password": "a-brand-new-admin-password"}),
    );
    assert_eq!(fresh.status, 200, "{}", fresh.text());
    let me = app.authed("GET", "/api/auth/me", &token(&fresh.json()["data"]), None);
    assert_eq!(me.json()["data"]["role"], "admin", "{}", me.text());
}

#[test]
fn a_search_the_schema_allows_is_answered_and_one_it_refuses_names_q() {
    let app = spawn_app_with(|_| {});
    let spec = app.get("/openapi.json").json();
    let params = &spec["paths"]["/api/users/search"]["get"]["parameters"];
    let q = params
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "q")
        .unwrap();
    // The schema states the rule as a client's regex engine reads it: every value it
    // allows is answered, every one it refuses is a 400 naming q (SPEC §17: two visible
    // characters, no control characters).
    let pattern = regex::Regex::new(q["schema"]["pattern"].as_str().unwrap()).unwrap();
    for invisible in [
        "%20%20",
        "%09%0A",
        "%20a%20",
        "%00%00",
        "%E3%80%80%E3%80%80",
    ] {
        let resp = app.get(&format!("/api/users/search?q={invisible}"));
        let err = assert_error(&resp, 400, "VALIDATION_ERROR");
        assert_eq!(err["details"]["field"], "q", "{invisible}");
    }
    for refused in ["  ", "\t\n", " a ", "\0\0", "\u{3000}\u{3000}", "a\u{1}b"] {
        assert!(!pattern.is_match(refused), "{refused:?}");
    }
    for allowed in ["ab", " ab\n", "山田", "a b", "a\u{200B}b"] {
        assert!(pattern.is_match(allowed), "{allowed:?}");
    }
    let resp = app.get("/api/users/search?q=%E5%B1%B1%E7%94%B0");
    assert_eq!(resp.status, 200, "{}", resp.text());
}
