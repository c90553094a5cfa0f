use rusqlite::Connection;

use crate::helpers::spawn_app;

#[test]
fn the_schema_is_applied_once_and_a_second_start_keeps_the_data() {
    let app = spawn_app();
    let path = app.db_path();
    app.state
        .db
        .write_blocking(|tx| {
            goated::db::settings::set(tx, "probe", "kept", "2026-11-23T00:00:00.000Z")
        })
        .unwrap();
    let app = app.restart();
    assert_eq!(app.get("/api/health").status, 200);
    let conn = Connection::open(&path).unwrap();
    let value: String = conn
        .query_row("SELECT value FROM settings WHERE key = 'probe'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(value, "kept");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, goated::db::SCHEMA_VERSION);
}

#[test]
fn connections_use_wal_and_a_clean_stop_leaves_no_wal_behind() {
    let app = spawn_app();
    let path = app.db_path();
    let mode: String = app
        .state
        .db
        .reader()
        .unwrap()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = app
        .state
        .db
        .reader()
        .unwrap()
        .pragma_query_value(None, "foreign_keys", |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    app.stop();
    let wal = path.with_extension("db-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "WAL checkpointed on stop"
    );
}

#[test]
fn a_database_from_a_newer_binary_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("goated.db");
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    let err = goated::db::Db::open(&path, 1).err().expect("refused");
    assert!(err.to_string().contains("newer"), "{err}");
}
