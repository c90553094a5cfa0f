//! Race proofs (SPEC §12): sealed in the transaction that stores a final result, served
//! as stored, re-checked by `goated verify-races`.

use rusqlite::{Connection, OptionalExtension, params};

use super::{DbResult, races};
use crate::domain::proof::{self, GENESIS, ProofInput};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofRow {
    pub race_id: String,
    pub seq: i64,
    pub digest: String,
    pub previous: String,
}

fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProofRow> {
    Ok(ProofRow {
        race_id: r.get(0)?,
        seq: r.get(1)?,
        digest: r.get(2)?,
        previous: r.get(3)?,
    })
}

pub fn get(conn: &Connection, race_id: &str) -> DbResult<Option<ProofRow>> {
    Ok(conn
        .query_row(
            "SELECT race_id, seq, digest, previous FROM race_proofs WHERE race_id = ?1",
            [race_id],
            read,
        )
        .optional()?)
}

/// Every proof, in chain order.
pub fn all(conn: &Connection) -> DbResult<Vec<ProofRow>> {
    let mut stmt =
        conn.prepare("SELECT race_id, seq, digest, previous FROM race_proofs ORDER BY seq")?;
    let rows = stmt.query_map([], read)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The proof text of a final race, rebuilt from its stored result; `None` when the
/// race has no result.
pub fn text_of(conn: &Connection, race_id: &str, previous: &str) -> DbResult<Option<String>> {
    // Only the columns every schema version since proofs has (the v4 upgrade runs this).
    let window: Option<(String, String, i64)> = conn
        .query_row(
            "SELECT start_date, end_date, prize_pool_cents FROM races WHERE race_id = ?1",
            [race_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((start_date, end_date, pool)) = window else {
        return Ok(None);
    };
    let standings = races::final_results(conn, race_id, u32::MAX)?;
    Ok(Some(proof::text(&ProofInput {
        race_id,
        start_date: &start_date,
        end_date: &end_date,
        prize_pool: crate::domain::Cents(pool),
        previous,
        standings: &standings,
    })))
}

/// Fixes a just-stored final result with its proof, chained to the race finalized
/// before it. Call in the transaction that stored the result.
pub fn seal(conn: &Connection, race_id: &str, at: &str) -> DbResult<ProofRow> {
    let last = conn
        .query_row(
            "SELECT race_id, seq, digest, previous FROM race_proofs ORDER BY seq DESC LIMIT 1",
            [],
            read,
        )
        .optional()?;
    let previous = last.as_ref().map_or(GENESIS, |p| p.digest.as_str());
    let text = text_of(conn, race_id, previous)?
        .ok_or_else(|| super::DbError::Corrupt(format!("race {race_id} has no result to seal")))?;
    let row = ProofRow {
        race_id: race_id.to_string(),
        seq: last.as_ref().map_or(1, |p| p.seq + 1),
        digest: proof::digest(&text),
        previous: previous.to_string(),
    };
    conn.execute(
        "INSERT INTO race_proofs (race_id, seq, digest, previous, made_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![row.race_id, row.seq, row.digest, row.previous, at],
    )?;
    Ok(row)
}

/// Races finalized before proofs existed: sealed once, in the order they were
/// finalized, with their pending payouts (the schema v4 upgrade runs this).
pub fn backfill(conn: &Connection) -> DbResult<()> {
    let mut stmt = conn.prepare(
        "SELECT race_id, finalized_at FROM races
         WHERE race_id NOT IN (SELECT race_id FROM race_proofs)
         ORDER BY finalized_at, race_id",
    )?;
    let due: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (race_id, finalized_at) in due {
        seal(conn, &race_id, &finalized_at)?;
        super::payouts::create_for_race(conn, &race_id, &finalized_at)?;
    }
    Ok(())
}

/// A place where the stored races and their proofs disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub race_id: String,
    pub problem: String,
}

/// Re-checks every race: each stored result must still give its digest, and each
/// proof must name the digest of the one before. Returns how many races were checked
/// and every break found.
pub fn verify(conn: &Connection) -> DbResult<(usize, Vec<Break>)> {
    let proofs = all(conn)?;
    let mut breaks = Vec::new();
    for race_id in races::final_race_ids(conn)? {
        if !proofs.iter().any(|p| p.race_id == race_id) {
            breaks.push(Break {
                race_id,
                problem: "it has no proof".into(),
            });
        }
    }
    let mut expected_previous = GENESIS.to_string();
    let mut before: Option<&str> = None;
    for p in &proofs {
        if p.previous != expected_previous {
            breaks.push(Break {
                race_id: p.race_id.clone(),
                problem: match before {
                    Some(b) => format!("its `previous` is not the digest of race {b}"),
                    None => "the first proof's `previous` is not 64 zeros".into(),
                },
            });
        }
        match text_of(conn, &p.race_id, &p.previous)? {
            Some(text) if proof::digest(&text) == p.digest => {
                if let Err(line) = proof::check_lines(&text) {
                    breaks.push(Break {
                        race_id: p.race_id.clone(),
                        problem: format!("its text can be read as other standings: {line}"),
                    });
                }
            }
            Some(_) => breaks.push(Break {
                race_id: p.race_id.clone(),
                problem: "its stored standings no longer give its digest".into(),
            }),
            None => breaks.push(Break {
                race_id: p.race_id.clone(),
                problem: "its result is missing".into(),
            }),
        }
        expected_previous = p.digest.clone();
        before = Some(&p.race_id);
    }
    Ok((proofs.len(), breaks))
}
