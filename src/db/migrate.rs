//! Schema creation and numbered upgrades, tracked in `PRAGMA user_version`.

use rusqlite::Connection;

use super::{DbError, DbResult};

const SCHEMA: &str = include_str!("../../schema.sql");

/// The version `schema.sql` creates. It never changes: every later version is a file in
/// `migrations/` that a new database takes too, right after `schema.sql`, so a new
/// database and an upgraded one are built by the very same statements.
const BASE_VERSION: i64 = 1;

/// `(version it brings the database to, SQL)`, in order.
const UPGRADES: &[(i64, &str)] = &[
    (2, include_str!("../../migrations/002_analytics.sql")),
    (3, include_str!("../../migrations/003_hardening.sql")),
];

/// The version this binary brings every database to.
pub const SCHEMA_VERSION: i64 = 3;

pub fn migrate(conn: &mut Connection) -> DbResult<()> {
    migrate_with(conn, SCHEMA, BASE_VERSION, UPGRADES)
}

fn migrate_with(
    conn: &mut Connection,
    schema: &str,
    base: i64,
    upgrades: &[(i64, &str)],
) -> DbResult<()> {
    let latest = upgrades.last().map_or(base, |(v, _)| *v);
    let mut current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > latest {
        return Err(DbError::TooNew {
            found: current,
            known: latest,
        });
    }
    if current == 0 {
        in_transaction(conn, schema, base)?;
        current = base;
    }
    for (version, sql) in upgrades.iter().filter(|(v, _)| *v > current) {
        tracing::info!(version, "upgrading the database schema");
        in_transaction(conn, sql, *version)?;
    }
    Ok(())
}

/// One step: its SQL and the new version number commit together or not at all.
fn in_transaction(conn: &mut Connection, sql: &str, version: i64) -> DbResult<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(sql)?;
    tx.pragma_update(None, "user_version", version)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(conn: &Connection) -> i64 {
        conn.pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_new_database_gets_the_whole_schema_at_the_latest_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn), SCHEMA_VERSION);
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('players', 'analytics_requests')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 2);
    }

    #[test]
    fn the_latest_version_is_the_last_upgrade() {
        assert_eq!(
            UPGRADES.last().map_or(BASE_VERSION, |u| u.0),
            SCHEMA_VERSION
        );
    }

    #[test]
    fn a_new_database_takes_the_upgrades_after_the_base_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        let steps = [(2, "ALTER TABLE t ADD COLUMN b INTEGER;")];
        migrate_with(&mut conn, "CREATE TABLE t (a INTEGER);", 1, &steps).unwrap();
        assert_eq!(version(&conn), 2);
        conn.execute("INSERT INTO t (a, b) VALUES (1, 2)", [])
            .unwrap();
    }

    #[test]
    fn upgrades_run_in_order_from_the_current_version_only() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_with(&mut conn, "CREATE TABLE t (a INTEGER);", 1, &[]).unwrap();
        let steps = [
            (2, "ALTER TABLE t ADD COLUMN b INTEGER;"),
            (3, "ALTER TABLE t ADD COLUMN c INTEGER;"),
        ];
        migrate_with(&mut conn, "unused", 1, &steps).unwrap();
        assert_eq!(version(&conn), 3);
        conn.execute("INSERT INTO t (a, b, c) VALUES (1, 2, 3)", [])
            .unwrap();
        // Running again changes nothing.
        migrate_with(&mut conn, "unused", 1, &steps).unwrap();
    }

    #[test]
    fn a_failed_step_leaves_the_previous_version_intact() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_with(&mut conn, "CREATE TABLE t (a INTEGER);", 1, &[]).unwrap();
        let steps = [(2, "ALTER TABLE t ADD COLUMN b INTEGER; THIS IS NOT SQL;")];
        assert!(migrate_with(&mut conn, "unused", 1, &steps).is_err());
        assert_eq!(version(&conn), 1);
        let columns: i64 = conn
            .query_row("SELECT count(*) FROM pragma_table_info('t')", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(columns, 1);
    }

    #[test]
    fn a_database_from_a_newer_binary_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert!(matches!(migrate(&mut conn), Err(DbError::TooNew { .. })));
    }
}
