//! `spawn_app()` and typed request helpers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use goated::app::{Application, BuildOptions};
use goated::clock::ManualClock;
use goated::config::{Config, Secret, UpstreamMode};
use goated::http::state::AppState;
use goated::sync::{Report, Trigger};
use serde_json::{Value, json};

use crate::fake_upstream::{self, FakeUpstream, player};

pub struct TestApp {
    pub addr: SocketAddr,
    pub config: Config,
    pub state: Arc<AppState>,
    pub dir: Arc<tempfile::TempDir>,
    options: BuildOptions,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
    agent: ureq::Agent,
}

pub struct TestResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A configuration for tests: a free port, a database in a new temporary folder.
pub fn test_config(dir: &tempfile::TempDir) -> Config {
    let mut config = Config::defaults();
    config.server.bind = "127.0.0.1:0".parse().unwrap();
    config.database.path = dir.path().join("goated.db");
    config.backup.cron = String::new();
    // Tests decide what history exists; the demo backfill has its own test.
    config.upstream.demo_history_days = 0;
    config
}

pub fn spawn_app() -> TestApp {
    spawn_app_with(|_| {})
}

pub fn spawn_app_with(customize: impl FnOnce(&mut Config)) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut config = test_config(&dir);
    customize(&mut config);
    start(config, dir, BuildOptions::default())
}

/// A configuration pointed at a fake upstream, with every automatic sync off so that
/// each test decides when syncs happen, and quick retries.
pub fn live_config(config: &mut Config, upstream: &FakeUpstream) {
    config.upstream.mode = UpstreamMode::Live;
    config.upstream.base_url = upstream.base_url();
    config.upstream.referral_code = Some(fake_upstream::REFERRAL_CODE.to_string());
    config.upstream.token = Some(Secret::new(fake_upstream::GOOD_TOKEN));
    config.upstream.retry_base_ms = 20;
    config.upstream.retry_max_secs = 2;
    config.upstream.requests_per_minute = 1000;
    config.sync.on_startup = false;
    config.sync.leaderboard_cron = NEVER.into();
    config.sync.housekeeping_cron = NEVER.into();
    config.sync.month_end_minutes = 0;
}

/// A cron expression that does not fire in any test's lifetime.
pub const NEVER: &str = "0 0 0 1 1 * 2099";

pub fn spawn_live_app(upstream: &FakeUpstream, customize: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with(|c| {
        live_config(c, upstream);
        customize(c);
    })
}

/// Like `spawn_live_app`, with a clock the test moves by hand.
pub fn spawn_app_at(
    clock: &ManualClock,
    upstream: &FakeUpstream,
    customize: impl FnOnce(&mut Config),
) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut config = test_config(&dir);
    live_config(&mut config, upstream);
    customize(&mut config);
    start(
        config,
        dir,
        BuildOptions {
            clock: Some(Arc::new(clock.clone())),
        },
    )
}

/// [`spawn_app_with`], on a clock the test moves.
pub fn spawn_app_with_clock(clock: &ManualClock, customize: impl FnOnce(&mut Config)) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut config = test_config(&dir);
    customize(&mut config);
    start(
        config,
        dir,
        BuildOptions {
            clock: Some(Arc::new(clock.clone())),
        },
    )
}

/// Starts an app on what an earlier one left behind.
pub fn start_again(
    mut config: Config,
    dir: Arc<tempfile::TempDir>,
    options: BuildOptions,
) -> TestApp {
    config.server.bind = "127.0.0.1:0".parse().unwrap();
    start(config, dir, options)
}

fn start(config: Config, dir: Arc<tempfile::TempDir>, options: BuildOptions) -> TestApp {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let cfg = config.clone();
    let opts = options.clone();
    let thread = std::thread::spawn(move || -> anyhow::Result<()> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let app = Application::build(cfg, opts).await?;
            ready_tx.send((app.local_addr(), app.state())).unwrap();
            app.run_until_stopped(async {
                let _ = stop_rx.await;
            })
            .await
        })
    });
    let (addr, state) = ready_rx.recv().expect("the app failed to start");
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    TestApp {
        addr,
        config,
        state,
        dir,
        options,
        stop: Some(stop_tx),
        thread: Some(thread),
        agent,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A forced sync, run by the scheduler thread; waits for its report.
    pub fn sync(&self) -> Report {
        self.state
            .scheduler
            .sync_now(Trigger::Forced)
            .blocking_recv()
            .expect("the scheduler answers")
    }

    /// A read connection on the app's database, for checking what was stored.
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(
            &self.config.database.path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap()
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    pub fn db_path(&self) -> PathBuf {
        self.config.database.path.clone()
    }

    pub fn get(&self, path: &str) -> TestResponse {
        self.get_with(path, &[])
    }

    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        let mut req = self.agent.get(self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        collect(req.call().expect("the request failed"))
    }

    pub fn send(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> TestResponse {
        let req = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path))
            .header("content-type", content_type)
            .body(body.to_vec())
            .unwrap();
        collect(self.agent.run(req).expect("the request failed"))
    }

    /// Any method, any headers, an optional JSON body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> TestResponse {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let bytes = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                b.to_string().into_bytes()
            }
            None => Vec::new(),
        };
        collect(
            self.agent
                .run(req.body(bytes).unwrap())
                .expect("the request failed"),
        )
    }

    /// With `Authorization: Bearer {token}`.
    pub fn authed(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> TestResponse {
        let auth = format!("Bearer {token}");
        self.request(method, path, &[("authorization", &auth)], body)
    }

    pub fn post_json(&self, path: &str, body: &Value) -> TestResponse {
        self.send(
            "POST",
            path,
            "application/json",
            body.to_string().as_bytes(),
        )
    }

    /// Stops the server the way SIGTERM does and waits for it to finish.
    pub fn stop(mut self) -> (Config, Arc<tempfile::TempDir>, BuildOptions) {
        self.shutdown();
        (self.config.clone(), self.dir.clone(), self.options.clone())
    }

    /// Stops and starts again on the same database (on a new port).
    pub fn restart(self) -> TestApp {
        let (config, dir, options) = self.stop();
        start_again(config, dir, options)
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread
                .join()
                .expect("the server thread panicked")
                .expect("the server failed");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn collect(mut resp: ureq::http::Response<ureq::Body>) -> TestResponse {
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = resp
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .unwrap();
    TestResponse {
        status,
        headers,
        body,
    }
}

/// Asserts the error envelope and returns its `error` object.
pub fn assert_error(resp: &TestResponse, status: u16, code: &str) -> Value {
    let body = resp.json();
    assert_eq!(resp.status, status, "status; body: {body}");
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    let request_id = body["metadata"]["requestId"].as_str().unwrap();
    assert_eq!(Some(request_id), resp.header("x-request-id"));
    assert!(
        body["metadata"]["timestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    body["error"].clone()
}

/// `goated serve` on a free loopback port with its database in `dir`, a clean
/// environment and standard output piped (read its address with `announced_base`).
pub fn serve_command(dir: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_goated"));
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--db"])
        .arg(dir.join("goated.db"))
        .current_dir(dir)
        .env_clear()
        .stdout(std::process::Stdio::piped());
    cmd
}

/// The address a `goated serve` child announces on its first line of standard output,
/// as `scheme://host:port` (the child's stdout must be piped).
pub fn announced_base(child: &mut std::process::Child, scheme: &str) -> String {
    use std::io::{BufRead, BufReader};
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout is piped"))
        .read_line(&mut line)
        .unwrap();
    let prefix = format!("{scheme}://");
    line.split_whitespace()
        .find(|w| w.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {scheme} address in {line:?}"))
        .trim_end_matches('/')
        .to_string()
}

/// An RFC 3339 instant, for the manual clock.
pub fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
    text.parse().unwrap()
}

/// Polls `check` until it holds; panics naming `what` after 10 s.
pub fn wait_until(what: &str, check: impl FnMut() -> bool) {
    wait_up_to(std::time::Duration::from_secs(10), what, check);
}

/// As [`wait_until`], for work whose length is its own (a replay of weeks of history)
/// and grows with the machine's load: panics after `limit`.
pub fn wait_up_to(limit: std::time::Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

// Accounts, as the API makes them.

pub const PASSWORD: &str = "tall-goat-on-a-hill";

pub fn register(app: &TestApp, username: &str) -> Value {
    let resp = app.post_json(
        "/api/auth/register",
        &json!({"username": username, "password": PASSWORD}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text());
    resp.json()["data"].clone()
}

pub fn token(session: &Value) -> String {
    session["accessToken"].as_str().unwrap().to_string()
}

/// Registers an account and makes it an admin the way `goated admin create` does.
pub fn admin_session(app: &TestApp, username: &str) -> Value {
    let session = register(app, username);
    let id = session["account"]["id"].as_i64().unwrap();
    app.state
        .db
        .write_blocking(|tx| {
            goated::db::accounts::set_role(
                tx,
                id,
                goated::domain::accounts::Role::Admin,
                "2026-11-23T00:00:00.000Z",
            )
        })
        .unwrap();
    login(app, username)
}

pub fn login(app: &TestApp, username: &str) -> Value {
    let resp = app.post_json(
        "/api/auth/login",
        &json!({"username": username, "password": PASSWORD}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()["data"].clone()
}

/// Players of the fake upstream that accounts claim in the account tests.
pub fn known_players() -> Vec<Value> {
    vec![
        player("goat00000000000000a1", "LuckyGoat77", 900.0),
        player("goat00000000000000a2", "Quietone", 400.0),
        player("goat00000000000000a3", "Twin", 10.0),
        player("goat00000000000000a4", "twin", 20.0),
    ]
}

pub fn app_with_known_players() -> (FakeUpstream, TestApp) {
    let upstream = FakeUpstream::start(known_players());
    let app = spawn_live_app(&upstream, |_| {});
    assert!(app.sync().succeeded());
    (upstream, app)
}
