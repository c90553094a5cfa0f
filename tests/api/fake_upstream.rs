//! A fake Goated.com: a real HTTP server on 127.0.0.1:0 serving the documented shape,
//! with faults a test can queue.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::{Data, Path};
use poem::{EndpointExt, Request, Response, Route, Server, handler};
use serde_json::{Value, json};

pub const REFERRAL_CODE: &str = "TEST123";
pub const GOOD_TOKEN: &str = "good-token";

/// What the next request gets instead of the leaderboard.
#[derive(Debug, Clone)]
pub enum Fault {
    Status(u16),
    StatusWithRetryAfter(u16, u64),
    Garbage,
    /// Answer normally, but only after this long.
    Slow(Duration),
    /// This JSON instead of the players.
    Body(Value),
    /// The players, plus entries with amounts no real player has (1e300, 9.2e16).
    AbsurdAmounts,
    /// Answer normally, but only once the test releases the answer: a request that is
    /// in flight while the test moves the clock, with no sleep guessing how long.
    Hold(Arc<Hold>),
    /// A 302 to this address (another host's list, say).
    Redirect(String),
    /// The players, plus an entry whose uid would forge lines of a proof and names with
    /// a line break and a right-to-left override.
    Forged,
    /// This many tiny entries (a flood under the body cap).
    Flood(usize),
}

/// A request held by [`Fault::Hold`]: the test waits for it to arrive, then lets the
/// answer go.
#[derive(Debug, Default)]
pub struct Hold {
    arrived: std::sync::Mutex<bool>,
    arrival: std::sync::Condvar,
    release: tokio::sync::Notify,
}

impl Hold {
    /// Blocks until the held request has reached the fake (panics after 10 s).
    pub fn wait_arrived(&self) {
        let arrived = self.arrived.lock().unwrap();
        let (arrived, timeout) = self
            .arrival
            .wait_timeout_while(arrived, Duration::from_secs(10), |a| !*a)
            .unwrap();
        assert!(
            *arrived && !timeout.timed_out(),
            "the held request never came"
        );
    }

    pub fn release(&self) {
        self.release.notify_one();
    }

    fn arrive(&self) {
        *self.arrived.lock().unwrap() = true;
        self.arrival.notify_all();
    }
}

#[derive(Default)]
pub struct FakeState {
    pub players: Vec<Value>,
    /// The normal answer's body, serialized once per `set_players`: a benchmark's
    /// 100,000 players then cost the fake a copy, not a serialization, per request.
    body: Option<Arc<str>>,
    pub faults: VecDeque<Fault>,
    /// Every fault is repeated for every request while set.
    pub sticky: Option<Fault>,
    pub valid_tokens: Vec<String>,
    pub requests: Vec<(Instant, Option<String>)>,
}

pub struct FakeUpstream {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<FakeState>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// A player with an amount of its own in every period: `[today, this_week,
/// this_month, all_time]`.
pub fn player_periods(uid: &str, name: &str, amounts: [f64; 4]) -> Value {
    let [today, this_week, this_month, all_time] = amounts;
    json!({"uid": uid, "name": name, "wagered": {
        "today": today, "this_week": this_week, "this_month": this_month, "all_time": all_time,
    }})
}

pub fn player(uid: &str, name: &str, this_month: f64) -> Value {
    json!({"uid": uid, "name": name, "wagered": {
        "today": this_month / 10.0, "this_week": this_month / 2.0,
        "this_month": this_month, "all_time": this_month * 10.0 + 1.0,
    }})
}

impl FakeUpstream {
    pub fn start(players: Vec<Value>) -> FakeUpstream {
        let state = Arc::new(Mutex::new(FakeState {
            players,
            valid_tokens: vec![GOOD_TOKEN.to_string()],
            ..FakeState::default()
        }));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let acceptor = TcpListener::bind("127.0.0.1:0")
                    .into_acceptor()
                    .await
                    .unwrap();
                let addr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
                ready_tx.send(addr).unwrap();
                let app = Route::new()
                    .at("/user2/affiliate/referral-leaderboard/:code", leaderboard)
                    .at("/control/sticky/:kind", control)
                    .at("/elsewhere", elsewhere)
                    .data(shared);
                Server::new_with_acceptor(acceptor)
                    .run_with_graceful_shutdown(
                        app,
                        async {
                            let _ = stop_rx.await;
                        },
                        Some(Duration::from_secs(1)),
                    )
                    .await
                    .unwrap();
            });
        });
        let addr = ready_rx.recv().unwrap();
        FakeUpstream {
            addr,
            state,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn push_fault(&self, fault: Fault) {
        self.state.lock().faults.push_back(fault);
    }

    /// Holds the next answer until [`Hold::release`].
    pub fn hold_next(&self) -> Arc<Hold> {
        let hold = Arc::new(Hold::default());
        self.push_fault(Fault::Hold(hold.clone()));
        hold
    }

    pub fn set_sticky(&self, fault: Option<Fault>) {
        self.state.lock().sticky = fault;
    }

    /// The players every later answer carries; their body is made here, not in the
    /// next request (a benchmark times the requests).
    pub fn set_players(&self, players: Vec<Value>) {
        let body = Arc::from(json!({"success": true, "data": players}).to_string());
        let mut state = self.state.lock();
        state.players = players;
        state.body = Some(body);
    }

    pub fn request_count(&self) -> usize {
        self.state.lock().requests.len()
    }

    pub fn accept_token(&self, token: &str) {
        self.state.lock().valid_tokens.push(token.to_string());
    }

    pub fn reject_all_tokens(&self) {
        self.state.lock().valid_tokens.clear();
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// For scripts driving the example binary (the soak): `POST /control/sticky/KIND` makes
/// every answer from now on a fault, until `none`. Kinds: none, 500, 503, 429 (with
/// Retry-After: 2), 401, garbage, slow (3 s), timeout (60 s), absurd (extra entries with
/// amounts of 1e300 and 9.2e16 dollars), redirect (a 302 to `/elsewhere`, an empty
/// list), forged (a uid that writes proof lines, names with a line break and a U+202E),
/// flood (300,000 tiny entries).
#[handler]
fn control(Path(kind): Path<String>, state: Data<&Arc<Mutex<FakeState>>>) -> Response {
    let fault = match kind.as_str() {
        "none" => None,
        "500" => Some(Fault::Status(500)),
        "503" => Some(Fault::Status(503)),
        "429" => Some(Fault::StatusWithRetryAfter(429, 2)),
        "401" => Some(Fault::Status(401)),
        "garbage" => Some(Fault::Garbage),
        "slow" => Some(Fault::Slow(Duration::from_secs(3))),
        "timeout" => Some(Fault::Slow(Duration::from_secs(60))),
        "absurd" => Some(Fault::AbsurdAmounts),
        "redirect" => Some(Fault::Redirect("/elsewhere".into())),
        "forged" => Some(Fault::Forged),
        "flood" => Some(Fault::Flood(300_000)),
        _ => {
            return Response::builder()
                .status(StatusCode::BAD_REQUEST)
                .body("unknown fault");
        }
    };
    state.lock().sticky = fault;
    Response::builder().body(kind)
}

/// Where `redirect` sends the client: a well-formed, empty leaderboard.
#[handler]
fn elsewhere() -> Response {
    Response::builder()
        .content_type("application/json")
        .body(r#"{"success": true, "data": []}"#)
}

/// The entries a hostile upstream adds to the players in [`Fault::Forged`].
pub fn forged_entries() -> Vec<Value> {
    vec![
        json!({"uid": "x 1 999999 999\n1 forged", "name": "Forger",
               "wagered": {"today": 1, "this_week": 1, "this_month": 1, "all_time": 1}}),
        json!({"uid": "forgedname1", "name": "Alice\n2. Bob — $9,999.00",
               "wagered": {"today": 1, "this_week": 1, "this_month": 2, "all_time": 2}}),
        json!({"uid": "forgedname2", "name": "Eve\u{202E}00.999,9$",
               "wagered": {"today": 1, "this_week": 1, "this_month": 3, "all_time": 3}}),
    ]
}

/// A body of `n` tiny entries, made as text (a `Value` per entry would cost the fake
/// more than the server it tests).
pub fn flood_body(n: usize) -> String {
    let mut body = String::with_capacity(16 + n * 48);
    body.push_str(r#"{"success":true,"data":["#);
    for i in 0..n {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            r#"{{"uid":"f{i}","name":"F","wagered":{{"all_time":1}}}}"#
        ));
    }
    body.push_str("]}");
    body
}

#[handler]
async fn leaderboard(
    req: &Request,
    Path(code): Path<String>,
    state: Data<&Arc<Mutex<FakeState>>>,
) -> Response {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let (fault, authorized, body) = {
        let mut s = state.lock();
        s.requests.push((Instant::now(), token.clone()));
        let authorized = token.as_ref().is_some_and(|t| s.valid_tokens.contains(t));
        let fault = s.sticky.clone().or_else(|| s.faults.pop_front());
        if s.body.is_none() {
            s.body = Some(Arc::from(
                json!({"success": true, "data": s.players}).to_string(),
            ));
        }
        (fault, authorized, s.body.clone().unwrap())
    };
    let players = || state.lock().players.clone();
    if code != REFERRAL_CODE {
        return Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body("unknown code");
    }
    if !authorized {
        return Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .body("{\"message\":\"unauthorized\"}");
    }
    let ok_text = |text: String| {
        Response::builder()
            .content_type("application/json; charset=utf-8")
            .header("etag", "W/\"abc\"")
            .body(text)
    };
    let ok = |v: Value| ok_text(v.to_string());
    match fault {
        None => ok_text(body.to_string()),
        Some(Fault::Status(code)) => Response::builder()
            .status(StatusCode::from_u16(code).unwrap())
            .body("fault"),
        Some(Fault::StatusWithRetryAfter(code, secs)) => Response::builder()
            .status(StatusCode::from_u16(code).unwrap())
            .header("retry-after", secs.to_string())
            .body("slow down"),
        Some(Fault::Garbage) => Response::builder()
            .content_type("application/json")
            .body("<html><body>Bad gateway</body></html>"),
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            ok_text(body.to_string())
        }
        Some(Fault::Body(v)) => ok(v),
        Some(Fault::Hold(hold)) => {
            hold.arrive();
            hold.release.notified().await;
            ok_text(body.to_string())
        }
        Some(Fault::Redirect(to)) => Response::builder()
            .status(StatusCode::FOUND)
            .header("location", to)
            .body("moved"),
        Some(Fault::Forged) => {
            let mut all = players();
            all.extend(forged_entries());
            ok(json!({"success": true, "data": all}))
        }
        Some(Fault::Flood(n)) => ok_text(flood_body(n)),
        Some(Fault::AbsurdAmounts) => {
            let mut all = players();
            for (i, amount) in [1e300, 9.2e16, 9.2e16].into_iter().enumerate() {
                all.push(json!({"uid": format!("absurd{i:014}"), "name": format!("Absurd{i}"),
                    "wagered": {"today": 0, "this_week": 0, "this_month": amount, "all_time": amount}}));
            }
            ok(json!({"success": true, "data": all}))
        }
    }
}
