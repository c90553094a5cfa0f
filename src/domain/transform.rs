//! Turning an upstream leaderboard body into validated players.
//!
//! A body that does not parse, or holds no list, is an error: never an empty
//! leaderboard. Inside a list, each bad entry is rejected and counted on its own.

use std::collections::HashMap;

use serde_json::Value;

pub const MAX_UID_LEN: usize = 64;
pub const MAX_NAME_LEN: usize = 128;
/// The largest amount one entry may report, in dollars (SPEC §10): far above any real
/// wager, far below what could overflow a sum of cents.
pub const MAX_AMOUNT: f64 = 1e12;
/// How many rejection reasons a sync run keeps (the count is always complete).
const KEPT_REASONS: usize = 20;

/// The four wager buckets, in dollars, as the upstream reports them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Buckets {
    pub today: f64,
    pub this_week: f64,
    pub this_month: f64,
    pub all_time: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Player {
    pub uid: String,
    pub name: String,
    pub wagered: Buckets,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transformed {
    pub players: Vec<Player>,
    pub received: usize,
    pub rejected: usize,
    pub duplicates: usize,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PayloadError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("the body holds no leaderboard list (expected `data`, `results` or an array)")]
    NoList,
    #[error("the upstream answered success: false")]
    Unsuccessful,
    #[error("the amounts of the {0} bucket add up beyond what can be counted in cents")]
    Overflow(&'static str),
}

pub fn transform(body: &[u8]) -> Result<Transformed, PayloadError> {
    let root: Value =
        serde_json::from_slice(body).map_err(|e| PayloadError::NotJson(e.to_string()))?;
    let list = entries_of(root)?;
    let received = list.len();
    let mut out = Transformed {
        players: Vec::new(),
        received,
        rejected: 0,
        duplicates: 0,
        reasons: Vec::new(),
    };
    let mut by_uid: HashMap<String, usize> = HashMap::with_capacity(received);
    for (index, raw) in list.into_iter().enumerate() {
        match validate_entry(raw) {
            Ok(player) => keep(&mut out, &mut by_uid, player),
            Err(reason) => {
                out.rejected += 1;
                if out.reasons.len() < KEPT_REASONS {
                    out.reasons.push(format!("entry {index}: {reason}"));
                }
            }
        }
    }
    check_totals(&out.players)?;
    Ok(out)
}

/// Every bucket's total over the kept players must fit in cents, so that no sum made
/// from them later can overflow.
fn check_totals(players: &[Player]) -> Result<(), PayloadError> {
    type Pick = fn(&Buckets) -> f64;
    let buckets: [(&'static str, Pick); 4] = [
        ("today", |b| b.today),
        ("this_week", |b| b.this_week),
        ("this_month", |b| b.this_month),
        ("all_time", |b| b.all_time),
    ];
    for (name, pick) in buckets {
        players
            .iter()
            .try_fold(0i64, |sum, p| {
                sum.checked_add(crate::domain::money::Cents::from_dollars(pick(&p.wagered)).0)
            })
            .ok_or(PayloadError::Overflow(name))?;
    }
    Ok(())
}

/// Accepts `{"data": [...]}`, `{"results": [...]}` and a bare array.
fn entries_of(root: Value) -> Result<Vec<Value>, PayloadError> {
    match root {
        Value::Array(list) => Ok(list),
        Value::Object(mut map) => {
            if map.get("success") == Some(&Value::Bool(false)) {
                return Err(PayloadError::Unsuccessful);
            }
            match map.remove("data").or_else(|| map.remove("results")) {
                Some(Value::Array(list)) => Ok(list),
                _ => Err(PayloadError::NoList),
            }
        }
        _ => Err(PayloadError::NoList),
    }
}

/// Of two entries with one uid, the one with the larger all-time amount stays.
fn keep(out: &mut Transformed, by_uid: &mut HashMap<String, usize>, player: Player) {
    match by_uid.get(&player.uid) {
        Some(&at) => {
            out.duplicates += 1;
            if player.wagered.all_time > out.players[at].wagered.all_time {
                out.players[at] = player;
            }
        }
        None => {
            by_uid.insert(player.uid.clone(), out.players.len());
            out.players.push(player);
        }
    }
}

fn validate_entry(raw: Value) -> Result<Player, String> {
    let Value::Object(mut map) = raw else {
        return Err("not an object".into());
    };
    let uid = match map.remove("uid") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= MAX_UID_LEN => s,
        Some(Value::String(s)) if s.len() > MAX_UID_LEN => return Err("uid too long".into()),
        _ => return Err("uid missing or empty".into()),
    };
    let name = match map.remove("name") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= MAX_NAME_LEN => s,
        Some(Value::String(s)) if !s.trim().is_empty() => {
            return Err(format!("{uid}: name too long"));
        }
        _ => return Err(format!("{uid}: name missing or empty")),
    };
    let wagered = match map.remove("wagered") {
        None | Some(Value::Null) => Buckets::default(),
        Some(Value::Object(mut b)) => Buckets {
            today: amount(b.remove("today")).map_err(|e| format!("{uid}: today {e}"))?,
            this_week: amount(b.remove("this_week"))
                .map_err(|e| format!("{uid}: this_week {e}"))?,
            this_month: amount(b.remove("this_month"))
                .map_err(|e| format!("{uid}: this_month {e}"))?,
            all_time: amount(b.remove("all_time")).map_err(|e| format!("{uid}: all_time {e}"))?,
        },
        Some(_) => return Err(format!("{uid}: wagered is not an object")),
    };
    Ok(Player { uid, name, wagered })
}

/// A bucket: a finite non-negative number, or a string holding one; missing is 0.
fn amount(value: Option<Value>) -> Result<f64, &'static str> {
    let number = match value {
        None | Some(Value::Null) => return Ok(0.0),
        Some(Value::Number(n)) => n.as_f64().ok_or("is not a number")?,
        Some(Value::String(s)) => s.trim().parse::<f64>().map_err(|_| "is not a number")?,
        Some(_) => return Err("is not a number"),
    };
    if !(number.is_finite() && number >= 0.0) {
        Err("is negative or not finite")
    } else if number > MAX_AMOUNT {
        Err("is above 10^12 dollars")
    } else {
        Ok(number)
    }
}

/// A payload with fewer than half the players of the last good sync is suspect: more
/// likely a broken answer than half the affiliate's players leaving at once.
pub fn is_suspect(accepted: usize, last_good: usize) -> bool {
    accepted * 2 < last_good
}

#[cfg(test)]
mod tests;
