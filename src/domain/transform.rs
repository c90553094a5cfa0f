//! Turning an upstream leaderboard body into validated players.
//!
//! A body that does not parse, or holds no list, is an error: never an empty
//! leaderboard. Inside a list, each bad entry is rejected and counted on its own.

use std::borrow::Cow;
use std::cell::Cell;
use std::hash::BuildHasher;

use hashbrown::HashTable;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::domain::ids::Uid;
use crate::domain::text::clean_name;

pub const MAX_UID_LEN: usize = 64;
/// The most entries an answer may hold before it is suspect (`upstream.max_entries`'s
/// default, SPEC §17): 2.5 times the largest affiliate board we know of.
pub const DEFAULT_MAX_ENTRIES: usize = 250_000;
/// An answer with more than this many times the entries of the last good one is
/// suspect (SPEC §17)...
pub const GROWTH_LIMIT: usize = 10;
/// ...once it holds more than this many: a new affiliate's board of 40 players may well
/// reach 500 by the next month, and that growth costs nothing to store.
pub const GROWTH_FLOOR: usize = 1_000;
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
    #[error("the answer holds more than {0} entries (upstream.max_entries): not applied")]
    TooManyEntries(usize),
}

/// Reads the body entry by entry: each entry is parsed, validated and dropped before
/// the next, so a 100,000-player answer never exists as one JSON tree in memory (that
/// tree was most of a large sync's peak).
pub fn transform(body: &[u8]) -> Result<Transformed, PayloadError> {
    transform_limited(body, usize::MAX)
}

/// [`transform`], stopping with [`PayloadError::TooManyEntries`] at the first list entry
/// past `max_entries`: reading stops there, so a body of millions of tiny entries costs
/// the memory of `max_entries` players, not of the millions (SPEC §17).
pub fn transform_limited(body: &[u8], max_entries: usize) -> Result<Transformed, PayloadError> {
    let not_json = |e: serde_json::Error| PayloadError::NotJson(e.to_string());
    let mut de = serde_json::Deserializer::from_slice(body);
    let room = Cell::new(expected_entries(body.len()).min(max_entries.saturating_add(1)));
    let too_many = Cell::new(false);
    let root = Root {
        room: &room,
        max_entries,
        too_many: &too_many,
    }
    .deserialize(&mut de);
    if too_many.get() {
        return Err(PayloadError::TooManyEntries(max_entries));
    }
    let root = root.map_err(not_json)?;
    de.end().map_err(not_json)?;
    let list = match root {
        RootShape::List(list) => list,
        RootShape::Object {
            unsuccessful: true, ..
        } => return Err(PayloadError::Unsuccessful),
        // `data` wins over `results`, and must then be the list itself.
        RootShape::Object {
            data: Some(data), ..
        }
        | RootShape::Object {
            data: None,
            results: Some(data),
            ..
        } => data.ok_or(PayloadError::NoList)?,
        RootShape::Object { .. } | RootShape::Other => return Err(PayloadError::NoList),
    };
    check_totals(&list.players)?;
    Ok(list)
}

/// What the top of a body held: the list itself, an object with `data` / `results`
/// (`None` inside: the key is there but not a list), or anything else.
enum RootShape {
    List(Transformed),
    Object {
        unsuccessful: bool,
        data: Option<Option<Transformed>>,
        results: Option<Option<Transformed>>,
    },
    Other,
}

/// `room`: how many entries the first list read makes room for before reading (see
/// [`expected_entries`]); it is taken by that list, so a body that repeats `data` or
/// `results` a million times does not reserve room for the whole body each time.
#[derive(Clone, Copy)]
struct Root<'r> {
    room: &'r Cell<usize>,
    max_entries: usize,
    /// Set when a list had more than `max_entries` entries (reading then stops with an
    /// error, which this tells apart from a body that is not JSON).
    too_many: &'r Cell<bool>,
}

/// How many entries a body of `len` bytes is made room for at once: one per 128 bytes
/// (Goated.com's entries and the fake's are larger), at most a million. Growing the list
/// and the duplicate check step by step to 100,000 entries copied them ~17 times, and each
/// large free made the allocator sweep its small free chunks.
fn expected_entries(len: usize) -> usize {
    (len / 128).min(1_000_000)
}

impl<'de> DeserializeSeed<'de> for Root<'_> {
    type Value = RootShape;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<RootShape, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Root<'_> {
    type Value = RootShape;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a leaderboard")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RootShape, A::Error> {
        Ok(RootShape::List(read_entries(
            seq,
            self.room.take(),
            self.max_entries,
            self.too_many,
        )?))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RootShape, A::Error> {
        let mut unsuccessful = false;
        let (mut data, mut results) = (None, None);
        // A key given twice counts as its last occurrence, as a JSON object would.
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "success" => unsuccessful = map.next_value::<Value>()? == Value::Bool(false),
                "data" => data = Some(map.next_value_seed(MaybeList(self))?),
                "results" => results = Some(map.next_value_seed(MaybeList(self))?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(RootShape::Object {
            unsuccessful,
            data,
            results,
        })
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<RootShape, E> {
        Ok(RootShape::Other)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<RootShape, E> {
        Ok(RootShape::Other)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<RootShape, E> {
        Ok(RootShape::Other)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<RootShape, E> {
        Ok(RootShape::Other)
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<RootShape, E> {
        Ok(RootShape::Other)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<RootShape, E> {
        Ok(RootShape::Other)
    }
}

/// The value of `data` or `results`: the entries when it is a list, `None` otherwise.
struct MaybeList<'r>(Root<'r>);

impl<'de> DeserializeSeed<'de> for MaybeList<'_> {
    type Value = Option<Transformed>;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        match self.0.deserialize(de)? {
            RootShape::List(list) => Ok(Some(list)),
            _ => Ok(None),
        }
    }
}

/// Validates a list's entries one at a time; bad ones are counted, not fatal.
fn read_entries<'de, A: SeqAccess<'de>>(
    mut seq: A,
    expected: usize,
    max_entries: usize,
    too_many: &Cell<bool>,
) -> Result<Transformed, A::Error> {
    let capacity = seq.size_hint().unwrap_or(expected);
    let mut out = Transformed {
        players: Vec::with_capacity(capacity),
        received: 0,
        rejected: 0,
        duplicates: 0,
        reasons: Vec::new(),
    };
    let mut by_uid = UidIndex::with_capacity(capacity);
    while let Some(raw) = seq.next_element::<RawEntry>()? {
        if out.received == max_entries {
            too_many.set(true);
            return Err(serde::de::Error::custom("too many entries"));
        }
        let index = out.received;
        out.received += 1;
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

/// Where each kept uid is in the list: positions, hashed by the uid they point at, so no
/// uid is copied into a key (foldhash: SipHash was a visible part of a large answer).
struct UidIndex {
    table: HashTable<usize>,
    hasher: foldhash::fast::RandomState,
}

impl UidIndex {
    fn with_capacity(capacity: usize) -> Self {
        UidIndex {
            table: HashTable::with_capacity(capacity),
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

/// Of two entries with one uid, the one with the larger all-time amount stays.
fn keep(out: &mut Transformed, by_uid: &mut UidIndex, player: Player) {
    let hasher = &by_uid.hasher;
    let hash = hasher.hash_one(player.uid.as_str());
    let players = &mut out.players;
    match by_uid.table.find(hash, |&i| players[i].uid == player.uid) {
        Some(&at) => {
            out.duplicates += 1;
            if player.wagered.all_time > players[at].wagered.all_time {
                players[at] = player;
            }
        }
        None => {
            by_uid.table.insert_unique(hash, players.len(), |&i| {
                hasher.hash_one(players[i].uid.as_str())
            });
            players.push(player);
        }
    }
}

/// An entry as read, before it is validated: the fields the board uses, each as the
/// JSON value it held (a key given twice counts as its last occurrence, as in a JSON
/// object), other fields skipped unread. Read straight from the body: no tree of the
/// whole entry is built (that was most of reading a large answer).
enum RawEntry {
    Object {
        uid: Option<Value>,
        name: Option<Value>,
        wagered: Option<RawWagered>,
    },
    NotObject,
}

/// `wagered` as read: `null`, an object's four buckets, or something else.
enum RawWagered {
    Null,
    Buckets([Option<Value>; 4]),
    NotObject,
}

/// What a visitor answers for every JSON value but the ones it reads (objects, and
/// `null` where it means something): the value is consumed, and taken as `$other`.
macro_rules! anything_else_is {
    ($other:expr) => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($other)
        }
    };
}

impl<'de> serde::Deserialize<'de> for RawEntry {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> Visitor<'de> for Entry {
            type Value = RawEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a leaderboard entry")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEntry, A::Error> {
                let (mut uid, mut name, mut wagered) = (None, None, None);
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match &*key {
                        "uid" => uid = Some(map.next_value()?),
                        "name" => name = Some(map.next_value()?),
                        "wagered" => wagered = Some(map.next_value()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(RawEntry::Object { uid, name, wagered })
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<RawEntry, E> {
                Ok(RawEntry::NotObject)
            }
            anything_else_is!(RawEntry::NotObject);
        }
        de.deserialize_any(Entry)
    }
}

impl<'de> serde::Deserialize<'de> for RawWagered {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Wagered;
        impl<'de> Visitor<'de> for Wagered {
            type Value = RawWagered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("the wager buckets")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawWagered, A::Error> {
                let mut buckets: [Option<Value>; 4] = Default::default();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let at = match &*key {
                        "today" => 0,
                        "this_week" => 1,
                        "this_month" => 2,
                        "all_time" => 3,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    buckets[at] = Some(map.next_value()?);
                }
                Ok(RawWagered::Buckets(buckets))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<RawWagered, E> {
                Ok(RawWagered::Null)
            }
            anything_else_is!(RawWagered::NotObject);
        }
        de.deserialize_any(Wagered)
    }
}

fn validate_entry(raw: RawEntry) -> Result<Player, String> {
    let RawEntry::Object { uid, name, wagered } = raw else {
        return Err("not an object".into());
    };
    // One pattern for every uid (SPEC §17): a space or line break in one would write
    // lines of its own into a race's proof.
    let uid = match uid {
        Some(Value::String(s)) if Uid::is_valid(&s) => s,
        Some(Value::String(s)) if s.len() > MAX_UID_LEN => return Err("uid too long".into()),
        Some(Value::String(s)) if !s.trim().is_empty() => {
            return Err(format!(
                "uid {s:?} is not 1 to 64 letters, digits, `_` or `-`"
            ));
        }
        _ => return Err("uid missing or empty".into()),
    };
    // Control, direction and zero-width characters go before the name is judged or
    // stored: a name made only of them is empty.
    let name = match name {
        Some(Value::String(s)) => match clean_name(&s) {
            Cow::Borrowed(_) => s,
            Cow::Owned(cleaned) => cleaned,
        },
        _ => String::new(),
    };
    let name = match name {
        s if !s.is_empty() && s.chars().count() <= MAX_NAME_LEN => s,
        s if !s.is_empty() => return Err(format!("{uid}: name too long")),
        _ => return Err(format!("{uid}: name missing or empty")),
    };
    let wagered = match wagered {
        None | Some(RawWagered::Null) => Buckets::default(),
        Some(RawWagered::Buckets([today, this_week, this_month, all_time])) => Buckets {
            today: amount(today).map_err(|e| format!("{uid}: today {e}"))?,
            this_week: amount(this_week).map_err(|e| format!("{uid}: this_week {e}"))?,
            this_month: amount(this_month).map_err(|e| format!("{uid}: this_month {e}"))?,
            all_time: amount(all_time).map_err(|e| format!("{uid}: all_time {e}"))?,
        },
        Some(RawWagered::NotObject) => return Err(format!("{uid}: wagered is not an object")),
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

/// An answer with more than [`GROWTH_LIMIT`] times the entries of the last good one (and
/// more than [`GROWTH_FLOOR`]) is suspect too: a board does not grow tenfold between two
/// syncs, and a flood of made-up entries would grow the database with every sync.
pub fn is_flooded(received: usize, last_good_received: usize) -> bool {
    last_good_received > 0
        && received > GROWTH_FLOOR
        && received > last_good_received.saturating_mul(GROWTH_LIMIT)
}

#[cfg(test)]
mod tests;
