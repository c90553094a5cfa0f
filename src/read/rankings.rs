//! Players ranked by each period, with ties sharing positions.

use std::collections::HashMap;
use std::sync::Arc;

use poem_openapi::Enum;
use rusqlite::Connection;

use super::masking::Masker;
use crate::db::DbResult;
use crate::domain::Cents;
use crate::domain::ranking::{Entry, rank};

/// A wager period, as the upstream buckets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
#[oai(rename_all = "snake_case")]
pub enum Period {
    Today,
    ThisWeek,
    ThisMonth,
    AllTime,
}

impl Period {
    pub const ALL: [Period; 4] = [
        Period::Today,
        Period::ThisWeek,
        Period::ThisMonth,
        Period::AllTime,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Today => "today",
            Period::ThisWeek => "this_week",
            Period::ThisMonth => "this_month",
            Period::AllTime => "all_time",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub position: u32,
    pub uid: String,
    pub name: String,
    pub wagered: Cents,
}

#[derive(Debug, Clone, Default)]
pub struct PeriodTotals {
    /// Players with a wager in the period.
    pub active: usize,
    pub total: Cents,
}

/// A player's amounts (exact, as synced) and positions in every period.
#[derive(Debug, Clone)]
pub struct PlayerRanks {
    pub name: String,
    pub wagered: [f64; 4],
    pub positions: [Option<u32>; 4],
}

#[derive(Debug)]
pub struct Rankings {
    /// (sync run, generation) this was computed from.
    pub version: (i64, u64),
    /// Players with a wager in each period, best first.
    pub periods: [Arc<Vec<Ranked>>; 4],
    pub totals: [PeriodTotals; 4],
    pub players: HashMap<String, PlayerRanks>,
}

impl Rankings {
    pub fn period(&self, period: Period) -> &Arc<Vec<Ranked>> {
        &self.periods[period.index()]
    }

    pub fn referred(&self) -> usize {
        self.players.len()
    }
}

/// Every player ranked in every period; names as the public sees them (`masker`), after
/// ranking (ties are listed by real name, so masking never reorders a board).
pub fn load(conn: &Connection, version: (i64, u64), masker: &Masker) -> DbResult<Rankings> {
    let mut players: HashMap<String, PlayerRanks> = HashMap::new();
    let mut entries: [Vec<Entry>; 4] = Default::default();
    for player in crate::db::players::all(conn)? {
        let b = player.wagered;
        let (uid, name, wagered) = (
            player.uid,
            player.name,
            [b.today, b.this_week, b.this_month, b.all_time],
        );
        for (i, amount) in wagered.iter().enumerate() {
            let cents = Cents::from_dollars(*amount);
            if cents.0 > 0 {
                entries[i].push(Entry {
                    uid: uid.clone(),
                    name: name.clone(),
                    wagered: cents,
                });
            }
        }
        players.insert(
            uid,
            PlayerRanks {
                name,
                wagered,
                positions: [None; 4],
            },
        );
    }
    let mut totals: [PeriodTotals; 4] = Default::default();
    let periods = entries.map(rank);
    for (i, ranked) in periods.iter().enumerate() {
        totals[i] = PeriodTotals {
            active: ranked.len(),
            total: Cents::total(ranked.iter().map(|(_, e)| e.wagered)),
        };
        for (position, entry) in ranked {
            if let Some(p) = players.get_mut(&entry.uid) {
                p.positions[i] = Some(*position);
            }
        }
    }
    let periods = periods.map(|ranked| {
        Arc::new(
            ranked
                .into_iter()
                .map(|(position, e)| Ranked {
                    position,
                    name: masker.name(&e.uid, &e.name),
                    uid: e.uid,
                    wagered: e.wagered,
                })
                .collect(),
        )
    });
    if masker.is_on() {
        for (uid, p) in players.iter_mut() {
            p.name = masker.name(uid, &p.name);
        }
    }
    Ok(Rankings {
        version,
        periods,
        totals,
        players,
    })
}
