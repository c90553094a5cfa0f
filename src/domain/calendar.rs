//! The race calendar: a race is a calendar month at a fixed UTC offset.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RaceId {
    pub year: i32,
    pub month: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaceStatus {
    Upcoming,
    Live,
    Transition,
    Completed,
}

impl RaceStatus {
    /// Where `now` falls in the life of a race: before `start`, inside `[start, end)`,
    /// in the transition up to `transition_end`, or after it. Every kind of race.
    pub fn at(
        now: DateTime<Utc>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        transition_end: DateTime<Utc>,
    ) -> RaceStatus {
        if now < start {
            RaceStatus::Upcoming
        } else if now < end {
            RaceStatus::Live
        } else if now < transition_end {
            RaceStatus::Transition
        } else {
            RaceStatus::Completed
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RaceStatus::Upcoming => "upcoming",
            RaceStatus::Live => "live",
            RaceStatus::Transition => "transition",
            RaceStatus::Completed => "completed",
        }
    }
}

/// The offset and transition length that turn race ids into instants.
#[derive(Debug, Clone, Copy)]
pub struct Calendar {
    pub offset_minutes: i32,
    pub transition_hours: u32,
}

impl RaceId {
    /// `"202611"` → November 2026; anything else (or a month out of range) is `None`.
    pub fn parse(text: &str) -> Option<RaceId> {
        if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year: i32 = text[..4].parse().ok()?;
        let month: u32 = text[4..].parse().ok()?;
        ((1..=12).contains(&month) && year >= 2000).then_some(RaceId { year, month })
    }

    pub fn next(self) -> RaceId {
        if self.month == 12 {
            RaceId {
                year: self.year + 1,
                month: 1,
            }
        } else {
            RaceId {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn previous(self) -> RaceId {
        if self.month == 1 {
            RaceId {
                year: self.year - 1,
                month: 12,
            }
        } else {
            RaceId {
                year: self.year,
                month: self.month - 1,
            }
        }
    }
}

impl fmt::Display for RaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}{:02}", self.year, self.month)
    }
}

impl Calendar {
    /// The race running at `instant`.
    pub fn race_at(&self, instant: DateTime<Utc>) -> RaceId {
        let local = instant + Duration::minutes(i64::from(self.offset_minutes));
        RaceId {
            year: local.year(),
            month: local.month(),
        }
    }

    /// The first instant of the race's month.
    pub fn start(&self, race: RaceId) -> DateTime<Utc> {
        let midnight = NaiveDate::from_ymd_opt(race.year, race.month, 1)
            .expect("a RaceId always names a real month")
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists");
        midnight.and_utc() - Duration::minutes(i64::from(self.offset_minutes))
    }

    /// The first instant of the next month: the race's exclusive end.
    pub fn end(&self, race: RaceId) -> DateTime<Utc> {
        self.start(race.next())
    }

    pub fn transition_end(&self, race: RaceId) -> DateTime<Utc> {
        self.end(race) + Duration::hours(i64::from(self.transition_hours))
    }

    pub fn status(&self, race: RaceId, now: DateTime<Utc>) -> RaceStatus {
        RaceStatus::at(
            now,
            self.start(race),
            self.end(race),
            self.transition_end(race),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    const UTC: Calendar = Calendar {
        offset_minutes: 0,
        transition_hours: 24,
    };

    #[test]
    fn a_race_runs_from_the_first_instant_of_its_month_to_the_first_of_the_next() {
        let race = RaceId::parse("202612").unwrap();
        assert_eq!(UTC.start(race), utc("2026-12-01T00:00:00Z"));
        assert_eq!(UTC.end(race), utc("2027-01-01T00:00:00Z"));
        assert_eq!(UTC.race_at(utc("2026-12-31T23:59:59.999Z")), race);
        assert_eq!(
            UTC.race_at(utc("2027-01-01T00:00:00Z")).to_string(),
            "202701"
        );
    }

    #[test]
    fn an_offset_moves_the_month_boundary() {
        let eastern = Calendar {
            offset_minutes: -300,
            transition_hours: 24,
        };
        let race = RaceId::parse("202611").unwrap();
        assert_eq!(eastern.start(race), utc("2026-11-01T05:00:00Z"));
        assert_eq!(eastern.race_at(utc("2026-12-01T04:59:00Z")), race);
    }

    #[test]
    fn the_previous_race_is_the_month_before_across_a_year_too() {
        let id = |s: &str| RaceId::parse(s).unwrap();
        assert_eq!(id("202611").previous(), id("202610"));
        assert_eq!(id("202602").previous(), id("202601"));
        assert_eq!(id("202601").previous(), id("202512"));
    }

    #[test]
    fn statuses_have_the_names_the_api_and_cache_keys_use() {
        let names: Vec<&str> = [
            RaceStatus::Upcoming,
            RaceStatus::Live,
            RaceStatus::Transition,
            RaceStatus::Completed,
        ]
        .into_iter()
        .map(RaceStatus::as_str)
        .collect();
        assert_eq!(names, ["upcoming", "live", "transition", "completed"]);
    }

    #[test]
    fn status_moves_through_the_life_of_a_race() {
        let race = RaceId::parse("202611").unwrap();
        assert_eq!(
            UTC.status(race, utc("2026-10-31T23:59:59Z")),
            RaceStatus::Upcoming
        );
        assert_eq!(
            UTC.status(race, utc("2026-11-01T00:00:00Z")),
            RaceStatus::Live,
            "live from its first instant"
        );
        assert_eq!(
            UTC.status(race, utc("2026-11-23T10:00:00Z")),
            RaceStatus::Live
        );
        assert_eq!(
            UTC.status(race, utc("2026-11-30T23:59:59Z")),
            RaceStatus::Live,
            "live to its last second"
        );
        assert_eq!(
            UTC.status(race, utc("2026-12-01T00:00:00Z")),
            RaceStatus::Transition
        );
        assert_eq!(
            UTC.status(race, utc("2026-12-02T00:00:00Z")),
            RaceStatus::Completed
        );
    }

    #[test]
    fn race_ids_parse_only_real_months() {
        assert_eq!(
            RaceId::parse("202601"),
            Some(RaceId {
                year: 2026,
                month: 1
            })
        );
        assert_eq!(RaceId::parse("202613"), None);
        assert_eq!(RaceId::parse("20261"), None);
        assert_eq!(RaceId::parse("2026-1"), None);
        assert_eq!(
            RaceId::parse("202612").unwrap().next().to_string(),
            "202701"
        );
        assert_eq!(
            RaceId::parse("202601").unwrap().previous().to_string(),
            "202512"
        );
    }
}
