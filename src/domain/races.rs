//! Races of every kind (SPEC §9): the monthly race, weekly occurrences of a series and
//! custom windows. A race is a window `[start, end)`, its rules (pool, distribution,
//! minimum) and the basis its standings are computed on. Pure: no storage, no HTTP.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};

use super::calendar::{Calendar, RaceId, RaceStatus};
use super::money::Cents;
use super::prizes::check_distribution;
use super::ranking::Entry;
use super::transform::Player;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaceKind {
    Monthly,
    Weekly,
    Custom,
}

impl RaceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RaceKind::Monthly => "monthly",
            RaceKind::Weekly => "weekly",
            RaceKind::Custom => "custom",
        }
    }

    pub fn parse(text: &str) -> Option<RaceKind> {
        match text {
            "monthly" => Some(RaceKind::Monthly),
            "weekly" => Some(RaceKind::Weekly),
            "custom" => Some(RaceKind::Custom),
            _ => None,
        }
    }
}

/// What a player's wager in the race is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The upstream's `this_month` bucket: only for a monthly race whose window is the
    /// upstream's own month (UTC), so that the board shows what players see on Goated.
    ThisMonth,
    /// `all_time` now minus `all_time` in the last answer received before the start.
    AllTimeDifference,
}

/// A race's prize pool, its split by place, and the minimum wager to take part.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub prize_pool: Cents,
    pub distribution: Vec<f64>,
    pub min_wager: Cents,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Race {
    pub id: String,
    pub kind: RaceKind,
    pub name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub rules: Rules,
    pub basis: Basis,
    pub series_id: Option<i64>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl Race {
    /// Whether a race whose baseline was taken at `baseline` is tracked from later than
    /// its start (a first install mid-race): its answers then say from when. A baseline
    /// taken at the start itself or before it tracks the whole race.
    pub fn tracked_late(&self, baseline: DateTime<Utc>) -> bool {
        baseline > self.start
    }

    /// The monthly race `id`: the calendar month at the configured offset. It ranks by
    /// `this_month` only when its month is the upstream's (offset 0).
    pub fn monthly(calendar: &Calendar, id: RaceId, rules: Rules) -> Race {
        let start = calendar.start(id);
        Race {
            id: id.to_string(),
            kind: RaceKind::Monthly,
            name: month_name(id),
            start,
            end: calendar.end(id),
            rules,
            basis: if calendar.offset_minutes == 0 {
                Basis::ThisMonth
            } else {
                Basis::AllTimeDifference
            },
            series_id: None,
            cancelled_at: None,
        }
    }

    pub fn transition_end(&self, transition_hours: u32) -> DateTime<Utc> {
        self.end + Duration::hours(i64::from(transition_hours))
    }

    pub fn status(&self, now: DateTime<Utc>, transition_hours: u32) -> RaceStatus {
        RaceStatus::at(
            now,
            self.start,
            self.end,
            self.transition_end(transition_hours),
        )
    }
}

/// Every listed player's wager in a race from one answer: `this_month`, or `all_time`
/// minus the player's baseline (a player absent from the baseline was not referred
/// yet, so starts from 0). A difference below zero (all_time went down: a fault) is 0,
/// and the snapshot's merge refuses it as an amount that went down.
///
/// A zero is given only for players `stored(uid)` says the race holds (a fall to zero is
/// a reset's clearest sign); a zero for anyone else changes nothing, and most of a large
/// board has wagered nothing in a given race.
pub fn wagers(
    basis: Basis,
    players: &[Player],
    baseline: &HashMap<String, i64>,
    stored: &dyn Fn(&str) -> bool,
) -> Vec<Entry> {
    players
        .iter()
        .filter_map(|p| {
            let wagered = match basis {
                Basis::ThisMonth => Cents::from_dollars(p.wagered.this_month),
                Basis::AllTimeDifference => {
                    let now = Cents::from_dollars(p.wagered.all_time).0;
                    Cents((now - baseline.get(&p.uid).copied().unwrap_or(0)).max(0))
                }
            };
            (wagered.0 > 0 || stored(&p.uid)).then(|| Entry {
                uid: p.uid.clone(),
                name: p.name.clone(),
                wagered,
            })
        })
        .collect()
}

/// "November 2026".
pub fn month_name(id: RaceId) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    format!("{} {}", MONTHS[(id.month - 1) as usize], id.year)
}

/// Why a race definition was refused: the field and a message for the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub field: &'static str,
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> RuleError {
    RuleError {
        field,
        message: message.into(),
    }
}

/// The largest pool or minimum a race takes, in dollars: far above any real race, and
/// far below where cents stop being exact.
pub const MAX_DOLLARS: f64 = 1e9;

/// Checks a race's rules as a person typed them (dollars, shares).
pub fn rules(prize_pool: f64, distribution: Vec<f64>, min_wager: f64) -> Result<Rules, RuleError> {
    if !prize_pool.is_finite() || !(0.0..=MAX_DOLLARS).contains(&prize_pool) {
        return Err(refuse(
            "prizePool",
            format!("prizePool must be between 0 and {MAX_DOLLARS} dollars"),
        ));
    }
    if !min_wager.is_finite() || !(0.0..=MAX_DOLLARS).contains(&min_wager) {
        return Err(refuse(
            "minWager",
            format!("minWager must be between 0 and {MAX_DOLLARS} dollars"),
        ));
    }
    check_distribution(&distribution).map_err(|m| refuse("prizeDistribution", m))?;
    Ok(Rules {
        prize_pool: Cents::from_dollars(prize_pool),
        distribution,
        min_wager: Cents::from_dollars(min_wager),
    })
}

/// A race's name: 1–80 characters once trimmed, no control characters.
pub fn name(text: &str) -> Result<String, RuleError> {
    let trimmed = text.trim();
    let count = trimmed.chars().count();
    if count == 0 || count > 80 || trimmed.chars().any(char::is_control) {
        return Err(refuse(
            "name",
            "name must be 1 to 80 characters without control characters",
        ));
    }
    Ok(trimmed.to_string())
}

/// A custom window: `startsAt` not in the past, `endsAt` after it, at most a year long.
pub fn window(
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), RuleError> {
    if starts_at < now {
        return Err(refuse(
            "startsAt",
            "startsAt is in the past: a race cannot start before it is created",
        ));
    }
    if ends_at <= starts_at {
        return Err(refuse("endsAt", "endsAt must be after startsAt"));
    }
    if ends_at - starts_at > Duration::days(366) {
        return Err(refuse("endsAt", "a race lasts at most 366 days"));
    }
    Ok((starts_at, ends_at))
}

/// The id a custom race gets from its name: lowercase letters, digits and dashes, at
/// most 32 characters, always with a letter (so it never looks like a month `YYYYMM`
/// or a week `YYYY-wWW`). `taken` says whether an id is in use; `-2`, `-3`, … are
/// added until one is free.
pub fn custom_id(name: &str, taken: impl Fn(&str) -> bool) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.truncate(32);
    let slug = slug.trim_matches('-').to_string();
    let looks_reserved = !slug.bytes().any(|b| b.is_ascii_lowercase())
        || (slug.len() >= 7
            && &slug[4..6] == "-w"
            && slug[..4].bytes().all(|b| b.is_ascii_digit()));
    let base = if looks_reserved {
        format!("race-{slug}").trim_end_matches('-').to_string()
    } else {
        slug
    };
    if !taken(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|id| !taken(id))
        .expect("some suffix is free")
}

/// A weekly series' rhythm: from `weekday` (ISO, 1 = Monday) at `hour`, seven days, at
/// the configured UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weekly {
    pub weekday: u32,
    pub hour: u32,
    pub offset_minutes: i32,
}

impl Weekly {
    pub fn check(weekday: u32, hour: u32) -> Result<(), RuleError> {
        if !(1..=7).contains(&weekday) {
            return Err(refuse(
                "startWeekday",
                "startWeekday is 1 (Monday) to 7 (Sunday)",
            ));
        }
        if hour > 23 {
            return Err(refuse("startHour", "startHour is 0 to 23"));
        }
        Ok(())
    }

    /// The start of the first occurrence that starts at or after `t`.
    pub fn next_start(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let offset = Duration::minutes(i64::from(self.offset_minutes));
        let local = (t + offset).date_naive();
        let back = (i64::from(local.weekday().number_from_monday()) - i64::from(self.weekday))
            .rem_euclid(7);
        let mut start = self.instant(local - Duration::days(back));
        while start < t {
            start += Duration::days(7);
        }
        start
    }

    fn instant(&self, day: NaiveDate) -> DateTime<Utc> {
        let time = NaiveTime::from_hms_opt(self.hour, 0, 0).expect("hours are checked");
        day.and_time(time).and_utc() - Duration::minutes(i64::from(self.offset_minutes))
    }

    /// The id of the occurrence starting at `start`: `YYYY-wWW` (the ISO week of its
    /// local start day) for series 1, `YYYY-wWW-N` for series N.
    pub fn id(&self, start: DateTime<Utc>, series_id: i64) -> String {
        let local = (start + Duration::minutes(i64::from(self.offset_minutes))).date_naive();
        let week = local.iso_week();
        let base = format!("{}-w{:02}", week.year(), week.week());
        if series_id == 1 {
            base
        } else {
            format!("{base}-{series_id}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::transform::Buckets;
    use proptest::prelude::*;

    /// A race is given its players' amounts, and a zero only for a player it holds:
    /// the holder's fall to zero must reach the merge, a stranger's zero need not.
    #[test]
    fn wagers_give_zeros_only_for_players_the_race_holds() {
        let players = at_amounts(&[(1, 500), (2, 0), (3, 0)]);
        let baseline = HashMap::new();
        let got: Vec<(String, i64)> =
            wagers(Basis::AllTimeDifference, &players, &baseline, &|uid| {
                uid == "u2"
            })
            .into_iter()
            .map(|e| (e.uid, e.wagered.0))
            .collect();
        assert_eq!(got, vec![("u1".into(), 500), ("u2".into(), 0)]);
    }

    fn at_amounts(amounts: &[(u8, i64)]) -> Vec<Player> {
        amounts
            .iter()
            .map(|(uid, cents)| Player {
                uid: format!("u{uid}"),
                name: format!("u{uid}"),
                wagered: Buckets {
                    today: 0.0,
                    this_week: 0.0,
                    this_month: 0.0,
                    all_time: *cents as f64 / 100.0,
                },
            })
            .collect()
    }

    proptest! {
        /// For any sequence of answers whose all_time only grows, a race's standing of
        /// each player (the snapshot merged answer by answer) equals, computed naively,
        /// their last all_time minus their all_time in the baseline answer.
        #[test]
        fn merged_differences_equal_the_naive_difference(
            base in proptest::collection::vec((0u8..20, 0i64..1_000_000), 0..20),
            steps in proptest::collection::vec(proptest::collection::vec((0u8..20, 0i64..50_000), 0..20), 1..8),
        ) {
            use crate::domain::snapshot::{Merge, merge};
            let baseline: HashMap<String, i64> =
                base.iter().map(|(u, c)| (format!("u{u}"), *c)).collect();
            let mut all_time = baseline.clone();
            let mut snapshot: Vec<Entry> = Vec::new();
            for step in &steps {
                let mut answer = std::collections::BTreeMap::new();
                for (u, add) in step {
                    let v = all_time.entry(format!("u{u}")).or_insert(0);
                    *v += add;
                    answer.insert(*u, *v);
                }
                let answer: Vec<(u8, i64)> = answer.into_iter().collect();
                let entries = wagers(Basis::AllTimeDifference, &at_amounts(&answer), &baseline, &|_| true);
                match merge(&snapshot, entries) {
                    Merge::Merged { entries, refused } => {
                        prop_assert!(refused.is_empty());
                        snapshot = entries;
                    }
                    Merge::Reset { .. } => prop_assert!(false, "growth is never a reset"),
                }
            }
            let mut got: Vec<(String, i64)> = snapshot.iter().filter(|e| e.wagered.0 > 0)
                .map(|e| (e.uid.clone(), e.wagered.0)).collect();
            got.sort();
            let mut naive: Vec<(String, i64)> = all_time.iter()
                .map(|(u, v)| (u.clone(), v - baseline.get(u).copied().unwrap_or(0)))
                .filter(|(_, d)| *d > 0).collect();
            naive.sort();
            prop_assert_eq!(got, naive);
        }
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn custom_ids_come_from_the_name_and_never_look_like_a_month_or_a_week() {
        let free = |_: &str| false;
        assert_eq!(custom_id("Holiday Sprint!", free), "holiday-sprint");
        assert_eq!(custom_id("202612", free), "race-202612");
        assert_eq!(custom_id("2026-W48", free), "race-2026-w48");
        assert_eq!(custom_id("🎄", free), "race");
        let long = custom_id(&"x".repeat(100), free);
        assert!(long.len() <= 32 && long.bytes().all(|b| b.is_ascii_lowercase()));
        let taken = |id: &str| id == "sprint" || id == "sprint-2";
        assert_eq!(custom_id("Sprint", taken), "sprint-3");
    }

    #[test]
    fn weekly_occurrences_start_on_their_weekday_and_hour_at_the_offset() {
        // Mondays 00:00 UTC: 2026-11-23 is a Monday (ISO week 48).
        let monday = Weekly {
            weekday: 1,
            hour: 0,
            offset_minutes: 0,
        };
        let start = monday.next_start(utc("2026-11-25T12:00:00Z"));
        assert_eq!(start, utc("2026-11-30T00:00:00Z"));
        assert_eq!(monday.id(start, 1), "2026-w49");
        assert_eq!(
            monday.next_start(utc("2026-11-23T00:00:00Z")),
            utc("2026-11-23T00:00:00Z"),
            "a start at the instant itself counts"
        );
        assert_eq!(monday.id(utc("2026-11-23T00:00:00Z"), 2), "2026-w48-2");
        // Fridays 18:00 at UTC-5 are Fridays 23:00 UTC.
        let friday = Weekly {
            weekday: 5,
            hour: 18,
            offset_minutes: -300,
        };
        assert_eq!(
            friday.next_start(utc("2026-11-25T00:00:00Z")),
            utc("2026-11-27T23:00:00Z")
        );
        // Around a year's end the ISO week year is used.
        assert_eq!(monday.id(utc("2026-12-28T00:00:00Z"), 1), "2026-w53");
        assert_eq!(monday.id(utc("2027-01-04T00:00:00Z"), 1), "2027-w01");
    }

    #[test]
    fn windows_and_rules_are_refused_with_the_field_that_is_wrong() {
        let now = utc("2026-11-25T00:00:00Z");
        let past = window(
            utc("2026-11-24T00:00:00Z"),
            utc("2026-11-30T00:00:00Z"),
            now,
        );
        assert_eq!(past.unwrap_err().field, "startsAt");
        let backwards = window(now, now, now);
        assert_eq!(backwards.unwrap_err().field, "endsAt");
        assert!(window(now, now + Duration::days(7), now).is_ok());
        assert_eq!(
            rules(100.0, vec![0.5, 0.4], 0.0).unwrap_err().field,
            "prizeDistribution"
        );
        assert_eq!(rules(-1.0, vec![1.0], 0.0).unwrap_err().field, "prizePool");
        assert_eq!(
            rules(1.0, vec![1.0], f64::NAN).unwrap_err().field,
            "minWager"
        );
        assert_eq!(
            rules(100.0, vec![0.6, 0.4], 5.0).unwrap().min_wager,
            Cents(500)
        );
        assert_eq!(name("  ").unwrap_err().field, "name");
        assert_eq!(name(" Black Friday ").unwrap(), "Black Friday");
    }

    #[test]
    fn every_bound_of_a_race_definition_is_exact() {
        // Names: 1 to 80 characters, no control characters.
        assert!(name(&"n".repeat(80)).is_ok());
        assert_eq!(name(&"n".repeat(81)).unwrap_err().field, "name");
        assert_eq!(name("tab\there").unwrap_err().field, "name");
        // Amounts: 0 to a billion dollars, finite.
        assert!(rules(MAX_DOLLARS, vec![1.0], MAX_DOLLARS).is_ok());
        assert_eq!(
            rules(MAX_DOLLARS * 2.0, vec![1.0], 0.0).unwrap_err().field,
            "prizePool"
        );
        assert_eq!(
            rules(1.0, vec![1.0], MAX_DOLLARS * 2.0).unwrap_err().field,
            "minWager"
        );
        assert_eq!(rules(1.0, vec![1.0], -0.01).unwrap_err().field, "minWager");
        // A window of at most 366 days.
        let now = utc("2026-11-25T00:00:00Z");
        assert!(window(now, now + Duration::days(366), now).is_ok());
        assert_eq!(
            window(now, now + Duration::days(366) + Duration::seconds(1), now)
                .unwrap_err()
                .field,
            "endsAt"
        );
        // Weekdays 1–7, hours 0–23.
        assert!(Weekly::check(1, 0).is_ok() && Weekly::check(7, 23).is_ok());
        assert_eq!(Weekly::check(0, 0).unwrap_err().field, "startWeekday");
        assert_eq!(Weekly::check(8, 0).unwrap_err().field, "startWeekday");
        assert_eq!(Weekly::check(1, 24).unwrap_err().field, "startHour");
    }

    #[test]
    fn slugs_collapse_separators_and_only_week_shaped_ids_are_prefixed() {
        let free = |_: &str| false;
        assert_eq!(custom_id("  Black  --  Friday  ", free), "black-friday");
        assert_eq!(
            custom_id("abcd wxyz", free),
            "abcd-wxyz",
            "not a week: no prefix"
        );
    }

    #[test]
    fn a_weekly_id_names_the_week_of_its_local_start_day() {
        // Mondays 00:00 at UTC+10 start on Sunday 14:00 UTC: the week is the Monday's.
        let sydney = Weekly {
            weekday: 1,
            hour: 0,
            offset_minutes: 600,
        };
        let start = sydney.next_start(utc("2026-11-25T00:00:00Z"));
        assert_eq!(start, utc("2026-11-29T14:00:00Z"));
        assert_eq!(sydney.id(start, 1), "2026-w49");
    }

    #[test]
    fn kinds_have_the_names_the_api_and_the_database_use() {
        for (kind, name) in [
            (RaceKind::Monthly, "monthly"),
            (RaceKind::Weekly, "weekly"),
            (RaceKind::Custom, "custom"),
        ] {
            assert_eq!(kind.as_str(), name);
            assert_eq!(RaceKind::parse(name), Some(kind));
        }
        assert_eq!(RaceKind::parse("Monthly"), None);
    }

    #[test]
    fn a_race_is_in_transition_for_its_hours_after_the_end_then_completed() {
        let race = Race::monthly(
            &Calendar {
                offset_minutes: 0,
                transition_hours: 24,
            },
            RaceId::parse("202611").unwrap(),
            Rules {
                prize_pool: Cents(0),
                distribution: vec![1.0],
                min_wager: Cents(0),
            },
        );
        assert_eq!(race.transition_end(24), utc("2026-12-02T00:00:00Z"));
        assert_eq!(
            race.status(utc("2026-10-31T23:59:59Z"), 24),
            RaceStatus::Upcoming
        );
        assert_eq!(
            race.status(utc("2026-11-01T00:00:00Z"), 24),
            RaceStatus::Live
        );
        assert_eq!(
            race.status(utc("2026-12-01T00:00:00Z"), 24),
            RaceStatus::Transition
        );
        assert_eq!(
            race.status(utc("2026-12-01T23:59:59Z"), 24),
            RaceStatus::Transition
        );
        assert_eq!(
            race.status(utc("2026-12-02T00:00:00Z"), 24),
            RaceStatus::Completed
        );
    }

    #[test]
    fn a_monthly_race_ranks_by_this_month_only_on_the_upstreams_month() {
        let rules = Rules {
            prize_pool: Cents(50_000),
            distribution: vec![1.0],
            min_wager: Cents(0),
        };
        let id = RaceId::parse("202611").unwrap();
        let utc_month = Calendar {
            offset_minutes: 0,
            transition_hours: 24,
        };
        let race = Race::monthly(&utc_month, id, rules.clone());
        assert_eq!(race.basis, Basis::ThisMonth);
        assert_eq!(race.name, "November 2026");
        let eastern = Calendar {
            offset_minutes: -300,
            transition_hours: 24,
        };
        assert_eq!(
            Race::monthly(&eastern, id, rules).basis,
            Basis::AllTimeDifference
        );
        assert_eq!(
            race.status(utc("2026-11-30T23:59:59.999Z"), 24),
            RaceStatus::Live
        );
        assert_eq!(
            race.status(utc("2026-12-01T00:00:00Z"), 24),
            RaceStatus::Transition
        );
    }

    #[test]
    fn a_baseline_at_the_start_or_before_tracks_the_whole_race() {
        let calendar = Calendar {
            offset_minutes: 0,
            transition_hours: 24,
        };
        let rules = Rules {
            prize_pool: Cents(0),
            distribution: vec![1.0],
            min_wager: Cents(0),
        };
        let race = Race::monthly(&calendar, RaceId::parse("202611").unwrap(), rules);
        let second = Duration::seconds(1);
        assert!(!race.tracked_late(race.start - second));
        assert!(!race.tracked_late(race.start));
        assert!(race.tracked_late(race.start + second));
    }
}
