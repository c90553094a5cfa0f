//! The proof that fixes a finished race's standings (SPEC §12): a plain text anyone can
//! rebuild from the race as the API serves it, and its SHA-256. Each proof names the
//! digest of the race finalized before it, so the races form a chain: changing any
//! stored standing changes that race's digest and breaks every link after it.
//!
//! ```text
//! goated-race-proof v1
//! race 202610
//! window 2026-10-01T00:00:00.000Z 2026-11-01T00:00:00.000Z
//! prize_pool_cents 50000
//! previous 0000…0000
//! 1 k3Jd8QpL2vXr9TzA1bCe 973160 25000
//! 2 mN5bV7cX9zL1kJ3hG5fD 512000 10000
//! ```
//!
//! One line per participant in listed order: position, uid, wagered and prize in cents.
//! Every line ends in `\n`; the digest is the lowercase hex SHA-256 of the UTF-8 bytes.

use std::fmt::Write;

use sha2::{Digest, Sha256};

use super::Cents;
use super::ids::Uid;
use super::ranking::Standing;

/// The `previous` of the first race ever finalized.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a proof is made of.
pub struct ProofInput<'a> {
    pub race_id: &'a str,
    /// Exactly the race's `startDate` and `endDate` strings.
    pub start_date: &'a str,
    pub end_date: &'a str,
    pub prize_pool: Cents,
    pub previous: &'a str,
    /// In listed order.
    pub standings: &'a [Standing],
}

/// The proof text.
pub fn text(input: &ProofInput<'_>) -> String {
    let mut out = String::with_capacity(160 + input.standings.len() * 48);
    out.push_str("goated-race-proof v1\n");
    let _ = writeln!(out, "race {}", input.race_id);
    let _ = writeln!(out, "window {} {}", input.start_date, input.end_date);
    let _ = writeln!(out, "prize_pool_cents {}", input.prize_pool.0);
    let _ = writeln!(out, "previous {}", input.previous);
    for s in input.standings {
        let _ = writeln!(
            out,
            "{} {} {} {}",
            s.position, s.uid, s.wagered.0, s.prize.0
        );
    }
    out
}

/// Whether every participant line of `text` is `POSITION UID WAGERED PRIZE` with a uid
/// of the one pattern (SPEC §17): a proof holding a uid with a space or a line break
/// reads as other standings than the ones it fixes, so its digest proves nothing. The
/// first five lines are the header; the error names the first line that does not fit.
pub fn check_lines(text: &str) -> Result<(), String> {
    let Some(body) = text.strip_suffix('\n') else {
        return Err("the text does not end with a line break".into());
    };
    for (n, line) in body.split('\n').enumerate().skip(5) {
        let fields: Vec<&str> = line.split(' ').collect();
        let fits = matches!(fields.as_slice(), [position, uid, wagered, prize]
            if position.parse::<u32>().is_ok()
                && Uid::is_valid(uid)
                && wagered.parse::<i64>().is_ok()
                && prize.parse::<i64>().is_ok());
        if !fits {
            return Err(format!(
                "line {} is not `POSITION UID WAGERED PRIZE`: {:?}",
                n + 1,
                line.chars().take(100).collect::<String>()
            ));
        }
    }
    Ok(())
}

/// Lowercase hex SHA-256 of the text's UTF-8 bytes.
pub fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(position: u32, uid: &str, wagered: i64, prize: i64) -> Standing {
        Standing {
            uid: uid.into(),
            name: format!("name of {uid}"),
            wagered: Cents(wagered),
            position,
            prize: Cents(prize),
        }
    }

    #[test]
    fn the_text_has_the_published_lines_and_ties_share_positions() {
        let standings = [
            standing(1, "a1", 973160, 25000),
            standing(2, "b2", 512000, 10000),
            standing(2, "c3", 512000, 10000),
            standing(4, "d4", 100, 0),
        ];
        let text = text(&ProofInput {
            race_id: "202610",
            start_date: "2026-10-01T00:00:00.000Z",
            end_date: "2026-11-01T00:00:00.000Z",
            prize_pool: Cents(50000),
            previous: GENESIS,
            standings: &standings,
        });
        assert_eq!(
            text,
            format!(
                "goated-race-proof v1\nrace 202610\n\
                 window 2026-10-01T00:00:00.000Z 2026-11-01T00:00:00.000Z\n\
                 prize_pool_cents 50000\nprevious {GENESIS}\n\
                 1 a1 973160 25000\n2 b2 512000 10000\n2 c3 512000 10000\n4 d4 100 0\n"
            )
        );
    }

    #[test]
    fn a_uid_that_writes_lines_of_its_own_makes_the_proof_fail_its_check() {
        let honest = [
            standing(1, "k3Jd8Qp", 973160, 25000),
            standing(2, "mN5_b-V", 10, 0),
        ];
        let input = |standings| ProofInput {
            race_id: "202610",
            start_date: "2026-10-01T00:00:00.000Z",
            end_date: "2026-11-01T00:00:00.000Z",
            prize_pool: Cents(25000),
            previous: GENESIS,
            standings,
        };
        assert_eq!(check_lines(&text(&input(&honest))), Ok(()));
        let forged = [standing(1, "x 1 999999 999\n1 forged", 5, 25000)];
        let err = check_lines(&text(&input(&forged))).unwrap_err();
        assert!(err.starts_with("line 6 "), "{err}");
        let spaced = [standing(1, "a b", 5, 25000)];
        assert!(check_lines(&text(&input(&spaced))).is_err());
    }

    #[test]
    fn the_digest_is_the_sha256_of_the_text() {
        // sha256sum of the three bytes "abc", as printed by coreutils.
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
