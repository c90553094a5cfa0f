//! Applies `race.name_masking` to what the public sees: every name leaving the read side
//! goes through a `Masker`, loaded with the players whose verified owner chose to show
//! their name.

use std::collections::HashSet;

use rusqlite::Connection;

use crate::db::DbResult;
use crate::domain::masking::{NameMasking, mask};
use crate::domain::ranking::Standing;

pub struct Masker {
    mode: NameMasking,
    shown: HashSet<String>,
}

impl Masker {
    pub fn load(conn: &Connection, mode: NameMasking) -> DbResult<Masker> {
        let shown = if mode == NameMasking::None {
            HashSet::new()
        } else {
            crate::db::accounts::shown_names(conn)?
                .into_iter()
                .collect()
        };
        Ok(Masker { mode, shown })
    }

    pub fn name(&self, uid: &str, name: &str) -> String {
        if self.mode == NameMasking::None || self.shown.contains(uid) {
            name.to_string()
        } else {
            mask(name, self.mode)
        }
    }

    pub fn standings(&self, standings: &mut [Standing]) {
        if self.mode != NameMasking::None {
            for s in standings {
                s.name = self.name(&s.uid, &s.name);
            }
        }
    }

    /// Whether name search is limited to the players who show their name.
    pub fn is_on(&self) -> bool {
        self.mode != NameMasking::None
    }
}
