//! An admin's override of the monthly race's prizes: a pool and shares that sum to 1,
//! set only while the race is not final (a final race's prizes are what it paid).

use rusqlite::Connection;

use crate::config::RaceConfig;
use crate::db::{DbError, races};
use crate::domain::prizes::check_distribution;
use crate::domain::{Cents, RaceId};

#[derive(Debug, thiserror::Error)]
pub enum PrizeError {
    /// The shares do not make a distribution (the message says why).
    #[error("{0}")]
    Distribution(String),
    #[error("This race is final; its prizes cannot change.")]
    Final,
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::use_case_error!(PrizeError);

/// A race's prizes as they stand: pool, shares, and whether an admin set them.
#[derive(Debug, Clone, PartialEq)]
pub struct Prizes {
    pub pool: Cents,
    pub distribution: Vec<f64>,
    pub overridden: bool,
}

pub fn current(conn: &Connection, config: &RaceConfig, race: RaceId) -> Result<Prizes, DbError> {
    let id = race.to_string();
    let overridden = races::prize_override(conn, &id)?.is_some();
    let rules = super::monthly_rules(conn, config, &id)?;
    Ok(Prizes {
        pool: rules.prize_pool,
        distribution: rules.distribution,
        overridden,
    })
}

/// Sets the override, in the caller's transaction (which also writes its audit row).
pub fn set(
    conn: &Connection,
    race: RaceId,
    pool_dollars: f64,
    distribution: &[f64],
    now: &str,
    by: &str,
) -> Result<(), PrizeError> {
    check_distribution(distribution).map_err(PrizeError::Distribution)?;
    let id = race.to_string();
    if races::is_final(conn, &id)? {
        return Err(PrizeError::Final);
    }
    races::set_prize_override(
        conn,
        &id,
        Cents::from_dollars(pool_dollars),
        distribution,
        now,
        Some(by),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn november() -> RaceId {
        RaceId::parse("202611").unwrap()
    }

    fn db() -> (tempfile::TempDir, crate::db::Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Db::open(&dir.path().join("p.db"), 1).unwrap();
        (dir, db)
    }

    fn config() -> RaceConfig {
        crate::config::Config::defaults().race
    }

    #[test]
    fn an_override_replaces_the_configured_prizes_until_the_race_is_final() {
        let (_dir, db) = db();
        let config = config();
        let before = current(&db.reader().unwrap(), &config, november()).unwrap();
        assert!(!before.overridden);
        assert_eq!(before.pool, Cents::from_dollars(config.prize_pool));

        db.write_blocking(|tx| {
            set(
                tx,
                november(),
                250.0,
                &[0.6, 0.4],
                "2026-11-02T00:00:00Z",
                "admin",
            )
            .map_err(|e| match e {
                PrizeError::Db(e) => e,
                other => panic!("{other}"),
            })
        })
        .unwrap();
        let after = current(&db.reader().unwrap(), &config, november()).unwrap();
        assert_eq!(
            after,
            Prizes {
                pool: Cents(25_000),
                distribution: vec![0.6, 0.4],
                overridden: true
            }
        );
    }

    #[test]
    fn shares_that_are_no_distribution_are_refused_and_nothing_is_stored() {
        let (_dir, db) = db();
        let err = db
            .write_blocking(|tx| Ok(set(tx, november(), 250.0, &[0.6, 0.6], "now", "admin")))
            .unwrap()
            .unwrap_err();
        assert!(matches!(err, PrizeError::Distribution(_)), "{err:?}");
        let stored = current(&db.reader().unwrap(), &config(), november()).unwrap();
        assert!(!stored.overridden);
    }
}
