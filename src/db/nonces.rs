//! Nonces of signed admin requests, so that a replay is refused even after a restart.

use rusqlite::{Connection, params};

use super::DbResult;

/// Records `nonce` until `forget_at` (Unix seconds); false when it was recorded already
/// and is still within its window. Nonces past their window are dropped on the way.
pub fn claim(conn: &Connection, nonce: &str, forget_at: i64, now: i64) -> DbResult<bool> {
    conn.execute("DELETE FROM signed_nonces WHERE forget_at <= ?1", [now])?;
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO signed_nonces (nonce, forget_at) VALUES (?1, ?2)",
        params![nonce, forget_at],
    )?;
    Ok(inserted == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_accepted_once_within_its_window_and_forgotten_after() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Db::open(&dir.path().join("n.db"), 1).unwrap();
        let claim_at = |now: i64| {
            db.write_blocking(|tx| claim(tx, "nonce-0000000001", 1600, now))
                .unwrap()
        };
        assert!(claim_at(1000));
        assert!(!claim_at(1001), "a replay is refused");
        assert!(!claim_at(1599), "up to the end of its window");
        assert!(
            claim_at(1600),
            "after the window the row is gone (the timestamp check refuses such a request anyway)"
        );
    }
}
