//! The public read API against a fake upstream, checked against an independent
//! computation of the expected standings.

use serde_json::{Value, json};

use crate::fake_upstream::{FakeUpstream, Fault, player, player_periods};
use crate::helpers::{TestApp, assert_error, spawn_live_app};

/// Ties on purpose this month: two at 300.00, and two at 50.004/49.996 that are equal
/// to the cent. Each period has its own order and its own leader (today zed, this week
/// bob, this month Amy, all time Nobody), so ranking one period by another's amounts
/// shows.
fn fake_players() -> Vec<Value> {
    vec![
        player_periods("u000000000000000000a", "zed", [90.0, 100.0, 300.0, 5000.0]),
        player_periods("u000000000000000000b", "Amy", [5.0, 400.0, 1200.5, 2000.0]),
        player_periods("u000000000000000000c", "bob", [0.0, 500.0, 300.0, 3000.0]),
        player_periods(
            "u000000000000000000d",
            "<script>alert(1)</script>",
            [60.0, 75.25, 75.25, 80.0],
        ),
        player_periods("u000000000000000000e", "Cat", [0.0, 50.004, 50.004, 60.0]),
        player_periods("u000000000000000000f", "cat", [0.0, 49.996, 49.996, 60.0]),
        player_periods("u000000000000000000g", "Nobody", [0.0, 0.0, 0.0, 10_000.0]),
        player_periods("u000000000000000000h", "Tiny", [0.004, 0.004, 0.004, 1.0]),
    ]
}

/// Names by `period`, best first, computed here: amount (to the cent) descending, then
/// name case-insensitively; players with nothing in the period are not listed.
fn expected_order(period: &str) -> Vec<String> {
    let mut rows: Vec<(i64, String)> = fake_players()
        .iter()
        .map(|p| {
            let cents = (p["wagered"][period].as_f64().unwrap() * 100.0).round() as i64;
            (cents, p["name"].as_str().unwrap().to_string())
        })
        .filter(|(c, _)| *c > 0)
        .collect();
    rows.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(a.1.to_lowercase().cmp(&b.1.to_lowercase()))
    });
    rows.into_iter().map(|(_, n)| n).collect()
}

const PERIODS: [&str; 4] = ["today", "this_week", "this_month", "all_time"];

/// The expected standings, computed here without the product's code: (uid, name,
/// cents, position, prize cents) with the default $500 split 50/30/10/5/5.
fn expected_standings(players: &[Value]) -> Vec<(String, String, i64, u32, i64)> {
    let mut rows: Vec<(String, String, i64)> = players
        .iter()
        .map(|p| {
            let cents = (p["wagered"]["this_month"].as_f64().unwrap() * 100.0).round() as i64;
            (
                p["uid"].as_str().unwrap().to_string(),
                p["name"].as_str().unwrap().to_string(),
                cents,
            )
        })
        .filter(|(_, _, c)| *c > 0)
        .collect();
    rows.sort_by(|a, b| {
        b.2.cmp(&a.2)
            .then(a.1.to_lowercase().cmp(&b.1.to_lowercase()))
            .then(a.0.cmp(&b.0))
    });
    let places = [25_000i64, 15_000, 5_000, 2_500, 2_500];
    let mut out = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let j = (i..rows.len())
            .take_while(|&k| rows[k].2 == rows[i].2)
            .last()
            .unwrap()
            + 1;
        let pot: i64 = (i..j).map(|p| places.get(p).copied().unwrap_or(0)).sum();
        let n = (j - i) as i64;
        for (k, row) in rows[i..j].iter().enumerate() {
            let prize = pot / n + i64::from((k as i64) < pot % n);
            out.push((row.0.clone(), row.1.clone(), row.2, i as u32 + 1, prize));
        }
        i = j;
    }
    out
}

fn live_app() -> (FakeUpstream, TestApp) {
    let upstream = FakeUpstream::start(fake_players());
    let app = spawn_live_app(&upstream, |_| {});
    assert!(app.sync().succeeded());
    (upstream, app)
}

fn data(app: &TestApp, path: &str) -> Value {
    let resp = app.get(path);
    assert_eq!(resp.status, 200, "{path}: {}", resp.text());
    let body = resp.json();
    assert_eq!(body["status"], "success");
    body["data"].clone()
}

#[test]
fn the_current_race_matches_an_independent_ranking_field_by_field() {
    let (_upstream, app) = live_app();
    let race = data(&app, "/api/wager-races/current");
    let expected = expected_standings(&fake_players());
    let participants = race["participants"].as_array().unwrap();
    assert_eq!(participants.len(), expected.len());
    for (got, (uid, name, cents, position, prize)) in participants.iter().zip(&expected) {
        assert_eq!(got["uid"], uid.as_str());
        assert_eq!(got["name"], name.as_str());
        assert_eq!(got["wagered"].as_f64().unwrap(), *cents as f64 / 100.0);
        assert_eq!(got["position"], *position);
        assert_eq!(
            got["prize"].as_f64().unwrap(),
            *prize as f64 / 100.0,
            "{got}"
        );
    }
    let positions: Vec<u64> = participants
        .iter()
        .map(|p| p["position"].as_u64().unwrap())
        .collect();
    assert_eq!(positions, vec![1, 2, 2, 4, 5, 5]);
    assert_eq!(race["participantCount"], 6);
    assert_eq!(race["totalWagered"].as_f64().unwrap(), 1975.75);
    assert_eq!(race["prizePool"].as_f64().unwrap(), 500.0);
    assert_eq!(race["status"], "live");
    let id = race["id"].as_str().unwrap();
    assert!(
        id.len() == 6
            && race["startDate"].as_str().unwrap().starts_with(&format!(
                "{}-{}-01T00:00:00.000Z",
                &id[..4],
                &id[4..]
            ))
    );
    let meta = &race["metadata"];
    assert_eq!(
        meta["prizeDistribution"],
        json!([0.5, 0.3, 0.1, 0.05, 0.05])
    );
    assert_eq!(meta["nextRaceStarts"], race["endDate"]);
    assert_eq!(meta["stale"], false);
    assert_eq!(meta["source"], "live");
    assert!(meta["lastSyncedAt"].as_str().unwrap().ends_with('Z'));
    assert!(meta["transitionEnds"].as_str().unwrap() > race["endDate"].as_str().unwrap());

    let limited = data(&app, "/api/wager-races/current?limit=2");
    assert_eq!(limited["participants"].as_array().unwrap().len(), 2);
    assert_eq!(limited["participantCount"], 6);
}

#[test]
fn race_inputs_are_validated_with_the_error_envelope() {
    let (_upstream, app) = live_app();
    for bad in ["limit=0", "limit=1001", "limit=abc", "limit=1000000"] {
        let err = assert_error(
            &app.get(&format!("/api/wager-races/current?{bad}")),
            400,
            "VALIDATION_ERROR",
        );
        assert_eq!(err["details"]["field"], "limit");
    }
    // Ids are `[a-z0-9-]{1,40}`: anything else is malformed; a well-formed id that
    // names no race (not a month, no race defined) is unknown.
    assert_error(&app.get("/api/wager-races/ABC"), 400, "VALIDATION_ERROR");
    assert_error(
        &app.get(&format!("/api/wager-races/{}", "a".repeat(41))),
        400,
        "VALIDATION_ERROR",
    );
    assert_error(&app.get("/api/wager-races/202613"), 404, "NOT_FOUND");
    assert_error(&app.get("/api/wager-races/abc"), 404, "NOT_FOUND");
    assert_error(&app.get("/api/wager-races/201001"), 404, "NOT_FOUND");
    assert_error(&app.get("/api/wager-races/previous"), 404, "NOT_FOUND");
    let schedule = data(&app, "/api/wager-races/schedule");
    assert_eq!(schedule.as_array().unwrap().len(), 3);
    assert!(
        schedule
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "upcoming")
    );
}

#[test]
fn the_leaderboard_pages_through_each_period() {
    let (_upstream, app) = live_app();
    let page = data(&app, "/api/affiliate/leaderboard?limit=4");
    assert_eq!(
        page["pagination"],
        json!({"page": 1, "limit": 4, "total": 6, "pages": 2})
    );
    assert_eq!(page["results"][0]["name"], "Amy");
    let last = data(&app, "/api/affiliate/leaderboard?limit=4&page=2");
    assert_eq!(last["results"].as_array().unwrap().len(), 2);
    let past = data(&app, "/api/affiliate/leaderboard?limit=4&page=3");
    assert_eq!(past["results"], json!([]));
    assert_eq!(past["pagination"]["total"], 6);
    let all_time = data(&app, "/api/affiliate/leaderboard?period=all_time&limit=100");
    assert_eq!(
        all_time["pagination"]["total"], 8,
        "everyone has an all-time amount"
    );
    // Every period in its own order, paged in threes.
    for period in PERIODS {
        let expected = expected_order(period);
        let mut listed = Vec::new();
        for page in 1..=3 {
            let got = data(
                &app,
                &format!("/api/affiliate/leaderboard?period={period}&limit=3&page={page}"),
            );
            assert_eq!(got["pagination"]["total"], expected.len(), "{period}");
            listed.extend(
                got["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["name"].as_str().unwrap().to_string()),
            );
        }
        assert_eq!(listed, expected, "{period}");
    }
    assert_eq!(
        data(&app, "/api/affiliate/leaderboard")["pagination"]["limit"],
        30
    );

    for (query, field) in [
        ("period=yearly", "period"),
        ("page=0", "page"),
        ("limit=101", "limit"),
        ("limit=0", "limit"),
    ] {
        let err = assert_error(
            &app.get(&format!("/api/affiliate/leaderboard?{query}")),
            400,
            "VALIDATION_ERROR",
        );
        assert_eq!(err["details"]["field"], field, "{query}");
    }
}

#[test]
fn affiliate_stats_total_every_period() {
    let (_upstream, app) = live_app();
    let stats = data(&app, "/api/affiliate/stats");
    assert_eq!(stats["referredPlayers"], 8);
    let month = &stats["periods"]["this_month"];
    assert_eq!(month["activePlayers"], 6);
    assert_eq!(month["totalWagered"].as_f64().unwrap(), 1975.75);
    assert_eq!(month["topPlayer"]["name"], "Amy");
    // Each period counts its own amounts: totals in cents, computed here.
    for period in PERIODS {
        let cents: i64 = fake_players()
            .iter()
            .map(|p| (p["wagered"][period].as_f64().unwrap() * 100.0).round() as i64)
            .sum();
        let got = &stats["periods"][period];
        assert_eq!(
            (got["totalWagered"].as_f64().unwrap() * 100.0).round() as i64,
            cents,
            "{period}"
        );
        assert_eq!(
            got["activePlayers"],
            expected_order(period).len(),
            "{period}"
        );
        assert_eq!(
            got["topPlayer"]["name"],
            expected_order(period)[0].as_str(),
            "{period}"
        );
    }
    let leaders: Vec<&str> = PERIODS
        .iter()
        .map(|p| stats["periods"][p]["topPlayer"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(leaders, ["zed", "bob", "Amy", "Nobody"]);
    assert_eq!(stats["lastSync"]["outcome"], "success");
}

#[test]
fn players_can_be_searched_found_and_batched() {
    let (_upstream, app) = live_app();
    let found = data(&app, "/api/users/search?q=CAT");
    let names: Vec<&str> = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"Cat") && names.contains(&"cat"));
    let exact_first = data(&app, "/api/users/search?q=bob");
    assert_eq!(exact_first["results"][0]["name"], "bob");
    for q in ["a", &"x".repeat(33), &"y".repeat(10_000)] {
        let err = assert_error(
            &app.get(&format!("/api/users/search?q={q}")),
            400,
            "VALIDATION_ERROR",
        );
        assert_eq!(err["details"]["field"], "q");
    }
    assert_error(&app.get("/api/users/search"), 400, "VALIDATION_ERROR");
    assert_eq!(
        data(&app, "/api/users/search?q=%25%25")["results"],
        json!([]),
        "LIKE wildcards are literal"
    );

    let amy = data(&app, "/api/users/u000000000000000000b");
    assert_eq!(amy["name"], "Amy");
    assert_eq!(amy["rank"]["this_month"], 1);
    assert_eq!(amy["wagered"]["this_month"].as_f64().unwrap(), 1200.5);
    assert_eq!(amy["verified"], false);
    let nobody = data(&app, "/api/users/u000000000000000000g");
    assert_eq!(nobody["rank"]["this_month"], Value::Null);

    assert_error(
        &app.get("/api/users/u0000000000000000zzz"),
        404,
        "NOT_FOUND",
    );
    assert_error(&app.get("/api/users/bad%20uid"), 400, "VALIDATION_ERROR");
    assert_error(
        &app.get(&format!("/api/users/{}", "x".repeat(65))),
        400,
        "VALIDATION_ERROR",
    );

    let batch = data(
        &app,
        "/api/users/batch?ids=u000000000000000000b,nope,u000000000000000000c",
    );
    assert_eq!(batch["results"].as_array().unwrap().len(), 2);
    assert_eq!(batch["unknown"], json!(["nope"]));
    let too_many = (0..101)
        .map(|i| format!("u{i}"))
        .collect::<Vec<_>>()
        .join(",");
    assert_error(
        &app.get(&format!("/api/users/batch?ids={too_many}")),
        400,
        "VALIDATION_ERROR",
    );

    let stats = data(&app, "/api/users/u000000000000000000b/stats");
    assert_eq!(stats["rank"]["this_month"], 1);
    assert_eq!(stats["totals"]["racesEntered"], 0);
    assert_eq!(
        stats["daily"].as_array().unwrap().len(),
        1,
        "one sample for today"
    );
    assert_error(&app.get("/api/users/nope/stats"), 404, "NOT_FOUND");
}

#[test]
fn etags_change_exactly_when_the_data_changes() {
    let (upstream, app) = live_app();
    let first = app.get("/api/wager-races/current");
    let etag = first.header("etag").unwrap().to_string();
    assert!(
        first
            .header("cache-control")
            .unwrap()
            .contains("stale-while-revalidate")
    );
    let again = app.get_with("/api/wager-races/current", &[("if-none-match", &etag)]);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());

    assert!(app.sync().succeeded(), "a sync with the same data");
    let same = app.get("/api/wager-races/current");
    assert_eq!(same.header("etag"), Some(etag.as_str()));
    assert_ne!(
        same.json()["data"]["metadata"]["lastSyncedAt"],
        first.json()["data"]["metadata"]["lastSyncedAt"]
    );

    let mut changed = fake_players();
    changed[0]["wagered"]["this_month"] = json!(5000.0);
    upstream.set_players(changed);
    assert!(app.sync().succeeded());
    let new = app.get_with("/api/wager-races/current", &[("if-none-match", &etag)]);
    assert_eq!(new.status, 200);
    assert_ne!(new.header("etag"), Some(etag.as_str()));
    assert_eq!(new.json()["data"]["participants"][0]["name"], "zed");

    let board = app.get("/api/affiliate/leaderboard");
    let tag = board.header("etag").unwrap().to_string();
    assert_eq!(
        app.get_with("/api/affiliate/leaderboard", &[("if-none-match", &tag)])
            .status,
        304
    );
}

#[test]
fn during_an_upstream_outage_the_last_good_data_is_served_as_stale() {
    let (upstream, app) = live_app();
    let before = data(&app, "/api/wager-races/current");
    upstream.set_sticky(Some(Fault::Status(500)));
    assert_eq!(app.sync().outcome.outcome.as_str(), "failed");
    let during = app.get("/api/wager-races/current");
    assert_eq!(during.status, 200);
    let during_data = during.json()["data"].clone();
    assert_eq!(during_data["participants"], before["participants"]);
    assert_eq!(during_data["metadata"]["stale"], true);
    assert!(
        during
            .header("cache-control")
            .unwrap()
            .contains("max-age=60"),
        "longer lifetimes while failing"
    );
    let board = app.get("/api/affiliate/leaderboard").json();
    assert_eq!(board["metadata"]["stale"], true);
    assert_eq!(board["data"]["pagination"]["total"], 6);
}

#[test]
fn after_a_restart_the_api_answers_from_the_database_before_any_sync() {
    let (upstream, app) = live_app();
    let before = data(&app, "/api/wager-races/current");
    let app = app.restart();
    let requests = upstream.request_count();
    let after = data(&app, "/api/wager-races/current");
    assert_eq!(after["participants"], before["participants"]);
    assert_eq!(
        data(&app, "/api/affiliate/leaderboard")["pagination"]["total"],
        6
    );
    assert_eq!(
        upstream.request_count(),
        requests,
        "answered without calling the upstream"
    );
}

/// A GET over a bare HTTP/1.0 connection (no client library that would decompress):
/// the response's header block, lowercased, and its raw body.
fn raw_get(app: &TestApp, path: &str, accept_encoding: Option<&str>) -> (String, Vec<u8>) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(app.addr).unwrap();
    let extra = accept_encoding.map_or(String::new(), |a| format!("Accept-Encoding: {a}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: localhost\r\n{extra}\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    (head, raw[split + 4..].to_vec())
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut out).unwrap();
    out
}

/// A synced app with 60 players: answers large enough to be gzipped (and so to carry
/// `Vary`), pages included.
fn app_with_gzip_worthy_answers() -> (FakeUpstream, TestApp) {
    let many = (0..60)
        .map(|i| {
            player(
                &format!("gz{i:018}"),
                &format!("Gzip Player {i}"),
                100.0 + f64::from(i),
            )
        })
        .collect();
    let upstream = FakeUpstream::start(many);
    let app = spawn_live_app(&upstream, |_| {});
    assert!(app.sync().succeeded());
    (upstream, app)
}

#[test]
fn answers_and_pages_are_gzipped_for_clients_that_accept_it() {
    let (_upstream, app) = app_with_gzip_worthy_answers();
    let path = "/api/affiliate/leaderboard?period=all_time&limit=100";
    let (plain_head, plain) = raw_get(&app, path, None);
    assert!(!plain_head.contains("content-encoding"), "{plain_head}");
    assert!(plain_head.contains("vary: accept-encoding"), "{plain_head}");
    let (head, packed) = raw_get(&app, path, Some("br, gzip;q=0.8"));
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert!(
        packed.len() < plain.len(),
        "{} vs {}",
        packed.len(),
        plain.len()
    );
    assert_eq!(gunzip(&packed), plain, "the same answer, byte for byte");
    let (refused, _) = raw_get(&app, path, Some("gzip;q=0"));
    assert!(!refused.contains("content-encoding"), "{refused}");

    // Pages and scripts too; a small answer is sent as it is.
    for asset in ["/", "/js/race.js", "/app.css"] {
        let (head, body) = raw_get(&app, asset, Some("gzip"));
        assert!(head.contains("content-encoding: gzip"), "{asset}: {head}");
        assert_eq!(gunzip(&body), raw_get(&app, asset, None).1, "{asset}");
    }
    let (health, _) = raw_get(&app, "/api/health", Some("gzip"));
    assert!(!health.contains("content-encoding"), "{health}");
}

/// `GET /api/wager-races/current` and plain leaderboard pages are answered before the
/// router (the fast lane); the same requests written another way (a default spelled
/// out, an extra parameter) go through the router and poem-openapi. Both must be the
/// same answer: body, status, every header but the request id, the conditional request
/// and the gzip negotiation.
#[test]
fn the_fast_lane_answers_the_current_race_exactly_as_the_routed_api_does() {
    let upstream = FakeUpstream::start(fake_players());
    let app = spawn_live_app(&upstream, |_| {});
    assert!(app.sync().succeeded());
    let headers = |r: &crate::helpers::TestResponse| {
        let mut h: Vec<(String, String)> = r
            .headers
            .iter()
            .filter(|(k, _)| k != "x-request-id" && k != "date")
            .cloned()
            .collect();
        h.sort();
        h
    };
    for extra in [
        vec![],
        vec![("accept-encoding", "identity")],
        vec![("x-request-id", "mine-1")],
    ] {
        let fast = app.get_with("/api/wager-races/current", &extra);
        let routed = app.get_with("/api/wager-races/current?limit=100", &extra);
        assert_eq!(fast.status, 200);
        assert_eq!((fast.status, &fast.body), (routed.status, &routed.body));
        assert_eq!(headers(&fast), headers(&routed), "{extra:?}");
        assert!(fast.header("x-request-id").is_some());
    }
    let etag = app
        .get("/api/wager-races/current")
        .header("etag")
        .unwrap()
        .to_string();
    let fast = app.get_with("/api/wager-races/current", &[("if-none-match", &etag)]);
    assert_eq!(fast.status, 304);
    assert!(fast.body.is_empty());
    // The leaderboard's plain queries too, against the router (which ignores `x`).
    for query in [
        "",
        "?period=this_month&page=1&limit=30",
        "?limit=2&page=2&period=all_time",
        // The largest page and limit the route takes: the fast lane takes no more.
        "?page=100000&limit=100",
    ] {
        let sep = if query.is_empty() { "?" } else { "&" };
        let fast = app.get(&format!("/api/affiliate/leaderboard{query}"));
        let routed = app.get(&format!("/api/affiliate/leaderboard{query}{sep}x=1"));
        assert_eq!(fast.status, 200, "{query}");
        assert_eq!(
            (fast.status, &fast.body),
            (routed.status, &routed.body),
            "{query}"
        );
        assert_eq!(headers(&fast), headers(&routed), "{query}");
    }
    // A client's plain id is echoed on the fast lane too.
    let mine = app.get_with("/api/wager-races/current", &[("x-request-id", "mine-2")]);
    assert_eq!(mine.header("x-request-id"), Some("mine-2"));

    // And the fast lane is really what answered: around an endpoint that answers 418 to
    // whatever reaches it, these requests are answered without reaching it, and any
    // other request reaches it (the router, in the real stack).
    use poem::{Endpoint, Middleware};
    let router = poem::endpoint::make_sync(|_| {
        poem::Response::builder()
            .status(poem::http::StatusCode::IM_A_TEAPOT)
            .finish()
    });
    let lane = goated::http::middleware::HotReads {
        state: app.state.clone(),
    }
    .transform(router);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = |uri: &'static str| {
        let req = poem::Request::builder()
            .uri(poem::http::Uri::from_static(uri))
            .finish();
        runtime.block_on(lane.call(req)).unwrap().status().as_u16()
    };
    for taken in [
        "/api/wager-races/current",
        "/api/affiliate/leaderboard",
        "/api/affiliate/leaderboard?period=all_time&page=100000&limit=100",
    ] {
        assert_eq!(status(taken), 200, "{taken} took the fast lane");
    }
    for routed in [
        "/api/wager-races/current?limit=100",
        "/api/affiliate/leaderboard?x=1",
        "/api/affiliate/leaderboard?limit=101",
        "/api/affiliate/leaderboard?page=1&page=2",
        "/api/users/u000000000000000000a",
    ] {
        assert_eq!(status(routed), 418, "{routed} went to the router");
    }
}

/// A cached answer's head is made once and cloned for the requests after it: each
/// answer must still carry every header once, the security headers every API answer
/// gets, and its own request id.
#[test]
fn a_cached_answer_sent_again_carries_each_header_once_and_its_own_request_id() {
    let (_upstream, app) = app_with_gzip_worthy_answers();
    let lines = |head: &str, name: &str| -> Vec<String> {
        head.lines()
            .filter_map(|line| line.strip_prefix(&format!("{name}: ")))
            .map(str::to_string)
            .collect()
    };
    let mut ids = Vec::new();
    for path in [
        "/api/wager-races/current",
        "/api/affiliate/leaderboard?period=this_month&page=1&limit=30",
    ] {
        for encoding in [None, None, Some("gzip"), Some("gzip"), None] {
            let (head, _) = raw_get(&app, path, encoding);
            assert_eq!(head.split(' ').nth(1), Some("200"), "{head}");
            for (name, value) in [
                ("content-type", "application/json; charset=utf-8"),
                (
                    "content-security-policy",
                    "default-src 'none'; frame-ancestors 'none'",
                ),
                ("x-content-type-options", "nosniff"),
                ("x-frame-options", "deny"),
                ("referrer-policy", "no-referrer"),
            ] {
                assert_eq!(lines(&head, name), [value], "{path} {encoding:?}: {head}");
            }
            for name in ["etag", "cache-control", "vary", "content-length"] {
                assert_eq!(lines(&head, name).len(), 1, "{path} {name}: {head}");
            }
            let gzipped = lines(&head, "content-encoding");
            assert_eq!(gzipped.len(), usize::from(encoding.is_some()), "{head}");
            let id = lines(&head, "x-request-id");
            assert_eq!(id.len(), 1, "{head}");
            assert!(id[0].starts_with("req_") && id[0].len() == 20, "{head}");
            ids.push(id[0].clone());
        }
    }
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "every answer has its own id");
}
