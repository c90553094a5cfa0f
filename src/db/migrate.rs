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
    (
        4,
        include_str!("../../migrations/004_payouts_and_proofs.sql"),
    ),
    (5, include_str!("../../migrations/005_race_guards.sql")),
    (
        6,
        include_str!("../../migrations/006_races_of_every_kind.sql"),
    ),
    (7, include_str!("../../migrations/007_notifications.sql")),
    (8, include_str!("../../migrations/008_route_names.sql")),
    (9, include_str!("../../migrations/009_players_listed.sql")),
    (10, include_str!("../../migrations/010_two_factor.sql")),
];

/// A step in Rust that runs right after a version's SQL, in its transaction: for what
/// SQL cannot compute (SHA-256 of races finalized before proofs existed).
type RustStep = fn(&Connection) -> DbResult<()>;

const AFTER_SQL: &[(i64, RustStep)] = &[(4, super::proofs::backfill)];

/// The version this binary brings every database to.
pub const SCHEMA_VERSION: i64 = 10;

pub fn migrate(conn: &mut Connection) -> DbResult<()> {
    migrate_steps(conn, SCHEMA, BASE_VERSION, UPGRADES, AFTER_SQL)
}

#[cfg(test)]
fn migrate_with(
    conn: &mut Connection,
    schema: &str,
    base: i64,
    upgrades: &[(i64, &str)],
) -> DbResult<()> {
    migrate_steps(conn, schema, base, upgrades, &[])
}

fn migrate_steps(
    conn: &mut Connection,
    schema: &str,
    base: i64,
    upgrades: &[(i64, &str)],
    after: &[(i64, RustStep)],
) -> DbResult<()> {
    let latest = upgrades.last().map_or(base, |(v, _)| *v);
    let mut current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > latest {
        return Err(DbError::TooNew {
            found: current,
            known: latest,
        });
    }
    let step_for = |version: i64| after.iter().find(|(v, _)| *v == version).map(|s| s.1);
    if current == 0 {
        in_transaction(conn, schema, base, step_for(base))?;
        current = base;
    }
    for (version, sql) in upgrades.iter().filter(|(v, _)| *v > current) {
        tracing::info!(version, "upgrading the database schema");
        in_transaction(conn, sql, *version, step_for(*version))?;
    }
    Ok(())
}

/// One step: its SQL, its Rust step, and the new version number commit together or not
/// at all.
fn in_transaction(
    conn: &mut Connection,
    sql: &str,
    version: i64,
    then: Option<RustStep>,
) -> DbResult<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(sql)?;
    if let Some(step) = then {
        step(&tx)?;
    }
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
    fn usage_counted_under_the_old_route_names_moves_to_the_documented_ones() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_steps(&mut conn, SCHEMA, BASE_VERSION, &UPGRADES[..6], &[]).unwrap();
        assert_eq!(version(&conn), 7);
        for route in [
            "/api/wager-races/{raceId}/proof",
            "/api/users/{id}",
            "/api/users/{id}/stats",
            "/api/admin/race-series/{seriesId}",
            "/api/wager-races/current",
        ] {
            conn.execute(
                "INSERT INTO analytics_requests (hour, route, requests, client_errors, server_errors, latency)
                 VALUES (3600, ?1, 1, 0, 0, '[]')",
                [route],
            )
            .unwrap();
        }
        migrate(&mut conn).unwrap();
        let mut routes: Vec<String> = conn
            .prepare("SELECT route FROM analytics_requests ORDER BY route")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        routes.sort();
        assert_eq!(
            routes,
            [
                "/api/admin/race-series/{series_id}",
                "/api/users/{user_id}",
                "/api/users/{user_id}/stats",
                "/api/wager-races/current",
                "/api/wager-races/{race_id}/proof",
            ]
        );
    }

    #[test]
    fn races_finalized_before_proofs_are_sealed_in_finalization_order_on_upgrade() {
        let mut conn = Connection::open_in_memory().unwrap();
        // A database as version 3 left it, with two final races: 202610 was finalized
        // after 202609, whatever their ids say.
        migrate_steps(&mut conn, SCHEMA, BASE_VERSION, &UPGRADES[..2], &[]).unwrap();
        assert_eq!(version(&conn), 3);
        for (race, finalized_at) in [
            ("202610", "2026-11-01T00:05:00.000Z"),
            ("202609", "2026-10-01T00:05:00.000Z"),
        ] {
            conn.execute(
                "INSERT INTO races (race_id, start_date, end_date, prize_pool_cents, distribution,
                     min_wager_cents, participant_count, total_wagered_cents, finalized_at)
                 VALUES (?1, 'S', 'E', 1000, '[0.6, 0.4]', 0, 3, 600, ?2)",
                [race, finalized_at],
            )
            .unwrap();
            for (seq, (uid, prize)) in [("u1", 600), ("u2", 400), ("u3", 0)].iter().enumerate() {
                conn.execute(
                    "INSERT INTO race_results (race_id, uid, name, seq, position, wagered_cents, prize_cents)
                     VALUES (?1, ?2, ?2, ?3, ?3 + 1, 200, ?4)",
                    rusqlite::params![race, uid, seq as i64, prize],
                )
                .unwrap();
            }
        }
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn), SCHEMA_VERSION);
        let proofs = super::super::proofs::all(&conn).unwrap();
        let order: Vec<&str> = proofs.iter().map(|p| p.race_id.as_str()).collect();
        assert_eq!(order, ["202609", "202610"]);
        assert_eq!(proofs[0].previous, crate::domain::proof::GENESIS);
        assert_eq!(proofs[1].previous, proofs[0].digest);
        let (checked, breaks) = super::super::proofs::verify(&conn).unwrap();
        assert_eq!((checked, breaks.len()), (2, 0), "{breaks:?}");
        let pending: i64 = conn
            .query_row(
                "SELECT count(*) FROM race_payouts WHERE status = 'pending'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            pending, 4,
            "the paid places of both races, not the unpaid one"
        );
        // Upgrading again is a no-op.
        migrate(&mut conn).unwrap();
        assert_eq!(super::super::proofs::all(&conn).unwrap().len(), 2);
    }

    #[test]
    fn a_database_from_a_newer_binary_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert!(matches!(migrate(&mut conn), Err(DbError::TooNew { .. })));
    }
}
