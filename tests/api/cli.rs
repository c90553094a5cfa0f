//! The binary itself, run as a user would.

use std::process::{Command, Output};

use rusqlite::Connection;

use crate::helpers::spawn_app;

fn goated(args: &[&str], env: &[(&str, &str)], dir: &std::path::Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_goated"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn what_default_config_prints_is_a_config_file_the_binary_takes_without_a_word() {
    // Printed, saved, and started from: no unknown key, no invalid value, and the
    // documented default port (which the saved file names) is what it reports.
    let dir = tempfile::tempdir().unwrap();
    let out = goated(&["default-config"], &[], dir.path());
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(printed.contains("bind = \"127.0.0.1:8080\""), "{printed}");
    std::fs::write(dir.path().join("saved.toml"), &printed).unwrap();
    let out = goated(&["--config", "saved.toml", "migrate"], &[], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(!logs.contains("unknown configuration key"), "{logs}");
}

#[test]
fn an_invalid_value_stops_the_start_with_a_message_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = goated(
        &["migrate"],
        &[("GOATED_RACE__PRIZE_DISTRIBUTION", "[0.5, 0.3]")],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("race.prize_distribution") && err.contains("sum to 1"),
        "{err}"
    );

    let out = goated(
        &["migrate"],
        &[("GOATED_SYNC__LEADERBOARD_CRON", "*/5 * * * *")],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("sync.leaderboard_cron"), "{err}");

    std::fs::write(
        dir.path().join("goated.toml"),
        "[server]\nbind = \"not an address\"\n",
    )
    .unwrap();
    let out = goated(&["migrate"], &[], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("server.bind"), "{err}");
}

#[test]
fn migrate_creates_the_database_where_the_db_flag_says() {
    let dir = tempfile::tempdir().unwrap();
    let out = goated(&["migrate", "--db", "custom.db"], &[], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("custom.db").exists());
}

/// `goated backup TARGET` of the app's database, run as an operator would; it must succeed.
fn backup_of(app: &crate::helpers::TestApp, target: &std::path::Path) {
    let db = app.db_path();
    let out = goated(
        &[
            "backup",
            target.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ],
        &[],
        app.dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn backup_copies_a_running_servers_database_consistently() {
    let app = spawn_app();
    app.state
        .db
        .write_blocking(|tx| {
            for i in 0..100 {
                goated::db::settings::set(tx, &format!("k{i}"), "v", "2026-11-23T00:00:00.000Z")?;
            }
            Ok(())
        })
        .unwrap();
    let target = app.dir.path().join("backup.db");
    backup_of(&app, &target);
    assert_eq!(
        app.get("/api/health").status,
        200,
        "the server kept running"
    );

    let copy = Connection::open(&target).unwrap();
    let count = |c: &Connection, sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    let source = app.db();
    // Only the rows this test wrote: the server's own syncs write settings too (the
    // data source), and may land after the copy was taken.
    let sql = "SELECT count(*) FROM settings WHERE key LIKE 'k%'";
    assert_eq!(count(&copy, sql), count(&source, sql), "{sql}");
    assert_eq!(
        count(&copy, "SELECT count(*) FROM settings WHERE key LIKE 'k%'"),
        100
    );
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");

    let db = app.db_path();
    let again = goated(
        &[
            "backup",
            target.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ],
        &[],
        app.dir.path(),
    );
    assert!(
        !again.status.success(),
        "an existing file is never overwritten"
    );
}

#[test]
fn healthcheck_exits_zero_only_when_the_server_answers() {
    let app = spawn_app();
    let dir = tempfile::tempdir().unwrap();
    let bind = app.addr.to_string();
    let ok = goated(&["healthcheck", "--bind", &bind], &[], dir.path());
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    drop(app);
    let down = goated(&["healthcheck", "--bind", &bind], &[], dir.path());
    assert!(!down.status.success());
}

#[test]
fn sync_runs_once_prints_a_summary_and_fails_loudly() {
    use crate::fake_upstream::{FakeUpstream, Fault, GOOD_TOKEN, REFERRAL_CODE, player};
    let upstream = FakeUpstream::start(vec![player("u1", "One", 10.0), player("u2", "Two", 20.0)]);
    let dir = tempfile::tempdir().unwrap();
    let url = upstream.base_url();
    let env = [
        ("GOATED_UPSTREAM__BASE_URL", url.as_str()),
        ("GOATED_UPSTREAM__REFERRAL_CODE", REFERRAL_CODE),
        ("GOATED_UPSTREAM__TOKEN", GOOD_TOKEN),
        ("GOATED_UPSTREAM__MAX_RETRIES", "0"),
    ];
    let ok = goated(&["sync"], &env, dir.path());
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        stdout.contains("(live): success") && stdout.contains("accepted 2"),
        "{stdout}"
    );

    upstream.set_sticky(Some(Fault::Status(500)));
    let failed = goated(&["sync"], &env, dir.path());
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("temporary"));
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&failed.stdout),
        String::from_utf8_lossy(&failed.stderr)
    );
    assert!(
        !logs.contains(GOOD_TOKEN),
        "the token never reaches the output"
    );
}

#[test]
fn admin_create_in_a_folder_without_the_database_makes_none_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let out = goated(
        &["admin", "create", "boss", "--db", "g.db"],
        &[("GOATED_ADMIN_PASSWORD", "a-long-admin-password")],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("there is no database at") && said.contains("--create"),
        "{said}"
    );
    assert!(
        said.contains(&dir.path().join("g.db").display().to_string()),
        "{said}"
    );
    assert!(
        !dir.path().join("g.db").exists(),
        "no second, empty database is made"
    );
}

#[test]
fn admin_create_makes_an_admin_from_stdin_or_the_environment_and_refuses_weak_passwords() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_goated"))
        .args(["admin", "create", "boss", "--db", "g.db", "--create"])
        .current_dir(dir.path())
        .env_clear()
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a-long-admin-password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("created admin boss in "), "{said}");
    // The file it wrote, absolute, so a wrong folder shows.
    assert!(
        said.contains(&dir.path().join("g.db").display().to_string()),
        "{said}"
    );

    let weak = goated(
        &["admin", "create", "boss", "--db", "g.db"],
        &[("GOATED_ADMIN_PASSWORD", "password123")],
        dir.path(),
    );
    assert!(!weak.status.success(), "a common password is refused");
    let promoted = goated(
        &["admin", "create", "BOSS", "--db", "g.db"],
        &[("GOATED_ADMIN_PASSWORD", "another-long-password")],
        dir.path(),
    );
    assert!(String::from_utf8_lossy(&promoted.stdout).contains("promoted admin BOSS"));

    let conn = Connection::open(dir.path().join("g.db")).unwrap();
    let (role, hash): (String, String) = conn
        .query_row("SELECT role, password_hash FROM accounts", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(role, "admin");
    assert!(hash.starts_with("$argon2id$"));
    let count: i64 = conn
        .query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        count, 1,
        "the existing account was promoted, not duplicated"
    );
}

#[test]
fn a_backup_taken_while_writes_commit_is_one_consistent_moment() {
    // A writer commits, in each transaction, a new row `wN` and `counter = N`: in any
    // consistent copy the number of `w` rows equals the counter.
    let app = spawn_app();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let written = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let writer = {
        let (db, stop, written) = (app.state.db.clone(), stop.clone(), written.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 200_000 {
                n += 1;
                db.write_blocking(|tx| {
                    let at = "2026-11-23T00:00:00.000Z";
                    goated::db::settings::set(tx, &format!("w{n}"), "v", at)?;
                    goated::db::settings::set(tx, "counter", &n.to_string(), at)
                })
                .unwrap();
                written.store(n, std::sync::atomic::Ordering::Relaxed);
            }
        })
    };
    let count = |c: &Connection, sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    // On a loaded machine the thread may take a while to get going: the backups start
    // once it commits, so that each one runs while it does.
    crate::helpers::wait_until("the writer's first commit", || {
        written.load(std::sync::atomic::Ordering::Relaxed) > 0
    });
    // Every copy must be one moment; at least three of them must have been taken while
    // the writer committed (on a starved machine a backup can slip between two commits,
    // so it tries up to 30 times for three).
    let mut during = 0;
    for round in 0..30 {
        if during == 3 {
            break;
        }
        let target = app.dir.path().join(format!("during-{round}.db"));
        let before = written.load(std::sync::atomic::Ordering::Relaxed);
        backup_of(&app, &target);
        let after = written.load(std::sync::atomic::Ordering::Relaxed);
        if after > before {
            during += 1;
        }
        let copy = Connection::open(&target).unwrap();
        let ok: String = copy
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        let rows = count(&copy, "SELECT count(*) FROM settings WHERE key LIKE 'w%'");
        let counter: i64 = copy
            .query_row(
                "SELECT value FROM settings WHERE key = 'counter'",
                [],
                |r| r.get::<_, String>(0),
            )
            .map(|v| v.parse().unwrap())
            .unwrap_or(0);
        assert_eq!(rows, counter, "round {round}: a copy of one moment");
        assert!(
            rows as u64 >= before,
            "round {round}: it holds what was there before"
        );
    }
    assert_eq!(during, 3, "three backups ran while the writer committed");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
}
