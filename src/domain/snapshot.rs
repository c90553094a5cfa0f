//! What a new upstream answer may change in a race's standings. Inside one race a
//! player's amount only grows: an amount that goes down is a reset or a fault, so it is
//! refused for that race and the player keeps the amount they had. When most players go
//! down at once, the upstream has reset its period (its month turned before the race's
//! window ended, as with `race.timezone_offset_minutes` west of UTC): the race keeps its
//! last standings from before the reset and takes no later answer, since the amounts
//! that follow count a new period.

use foldhash::HashMap;

use super::ranking::Entry;

#[derive(Debug, Clone, PartialEq)]
pub enum Merge {
    /// The standings to store: every player's larger amount, with `refused` the players
    /// whose new amount was lower and who keep their old one.
    Merged {
        entries: Vec<Entry>,
        refused: Vec<String>,
    },
    /// Most players went down: an upstream reset. Store nothing; freeze the race.
    Reset { went_down: usize, of: usize },
}

/// Merges an answer (`new`) into a race's stored standings (`old`). Players missing
/// from the answer keep their amount; names come from the answer.
///
/// The answer is taken by value and raised in place: a 100,000-player answer is not
/// copied (copying it, twice for each live race, was most of a large sync's race step).
pub fn merge(old: &[Entry], mut new: Vec<Entry>) -> Merge {
    // uid → position in `old`; foldhash, since every answered player is looked up.
    let before: HashMap<&str, usize> = old
        .iter()
        .enumerate()
        .map(|(i, e)| (e.uid.as_str(), i))
        .collect();
    let mut answered = vec![false; old.len()];
    let mut refused = Vec::new();
    for e in &mut new {
        if let Some(&i) = before.get(e.uid.as_str()) {
            answered[i] = true;
            if e.wagered < old[i].wagered {
                refused.push(e.uid.clone());
                e.wagered = old[i].wagered;
            }
        }
    }
    let positive = old.iter().filter(|e| e.wagered.0 > 0).count();
    if positive > 0 && refused.len() * 2 > positive {
        return Merge::Reset {
            went_down: refused.len(),
            of: positive,
        };
    }
    new.extend(
        old.iter()
            .zip(&answered)
            .filter(|(_, answered)| !**answered)
            .map(|(o, _)| o.clone()),
    );
    Merge::Merged {
        entries: new,
        refused,
    }
}

#[cfg(test)]
mod tests {
    use foldhash::HashMapExt;
    use proptest::prelude::*;

    use super::*;
    use crate::domain::Cents;

    fn entry(uid: &str, cents: i64) -> Entry {
        Entry {
            uid: uid.into(),
            name: uid.to_uppercase(),
            wagered: Cents(cents),
        }
    }

    #[test]
    fn one_amount_going_down_is_refused_and_the_rest_is_taken() {
        let old = [entry("a", 500), entry("b", 300), entry("c", 100)];
        let new = [entry("a", 600), entry("b", 200), entry("c", 150)];
        assert_eq!(
            merge(&old, new.to_vec()),
            Merge::Merged {
                entries: vec![entry("a", 600), entry("b", 300), entry("c", 150)],
                refused: vec!["b".into()],
            }
        );
    }

    #[test]
    fn exactly_half_going_down_is_not_yet_a_reset() {
        // "Most" means more than half: one of two is a fault to refuse, not a reset.
        let old = [entry("a", 500), entry("b", 300)];
        let new = [entry("a", 400), entry("b", 350)];
        assert_eq!(
            merge(&old, new.to_vec()),
            Merge::Merged {
                entries: vec![entry("a", 500), entry("b", 350)],
                refused: vec!["a".into()],
            }
        );
    }

    #[test]
    fn most_amounts_going_down_is_a_reset() {
        let old = [entry("a", 500), entry("b", 300), entry("c", 100)];
        let new = [entry("a", 0), entry("b", 0), entry("c", 900)];
        assert_eq!(
            merge(&old, new.to_vec()),
            Merge::Reset {
                went_down: 2,
                of: 3
            }
        );
    }

    #[test]
    fn the_first_answer_of_a_race_is_taken_whole() {
        let new = [entry("a", 5), entry("b", 0)];
        assert_eq!(
            merge(&[], new.to_vec()),
            Merge::Merged {
                entries: new.to_vec(),
                refused: vec![]
            }
        );
    }

    proptest! {
        /// Whatever the answers, when they merge, every player's stored amount is the
        /// largest they ever reported in the race (computed naively), nobody is lost,
        /// and the refused are exactly those who reported less than before.
        #[test]
        fn merged_standings_are_each_players_largest_amount(
            answers in prop::collection::vec(
                prop::collection::hash_map(0u8..12, 0i64..1_000, 0..12), 1..8)
        ) {
            let mut stored: Vec<Entry> = Vec::new();
            let mut naive: HashMap<String, i64> = HashMap::new();
            for answer in answers {
                let new: Vec<Entry> = answer.iter().map(|(u, c)| entry(&format!("u{u}"), *c)).collect();
                match merge(&stored, new.clone()) {
                    Merge::Merged { entries, refused } => {
                        let mut expect_refused: Vec<String> = new.iter()
                            .filter(|e| naive.get(&e.uid).is_some_and(|o| e.wagered.0 < *o))
                            .map(|e| e.uid.clone()).collect();
                        let mut got = refused.clone();
                        expect_refused.sort();
                        got.sort();
                        prop_assert_eq!(got, expect_refused);
                        for e in &new {
                            let best = naive.entry(e.uid.clone()).or_insert(0);
                            *best = (*best).max(e.wagered.0);
                        }
                        let as_map: HashMap<String, i64> =
                            entries.iter().map(|e| (e.uid.clone(), e.wagered.0)).collect();
                        prop_assert_eq!(as_map.len(), entries.len(), "one entry per player");
                        prop_assert_eq!(&as_map, &naive);
                        stored = entries;
                    }
                    Merge::Reset { went_down, of } => {
                        prop_assert!(went_down * 2 > of);
                        // A frozen race keeps what it had.
                    }
                }
            }
        }
    }
}
