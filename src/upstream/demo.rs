//! The demo simulator: a few hundred plausible players whose wagers grow with the
//! clock, deterministic for a seed. It answers in the upstream's documented shape, so
//! the sync pipeline cannot tell it apart from the real thing (the API says `demo`).

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use serde_json::json;

use super::{FetchError, Fetched, LeaderboardSource};
use crate::clock::Clock;

const ADJECTIVES: &[&str] = &[
    "Lucky", "Wild", "Golden", "Silent", "Crazy", "Iron", "Neon", "Royal", "Swift", "Brave",
    "Shadow", "Cosmic", "Frosty", "Mighty", "Sneaky", "Happy", "Savage", "Turbo", "Velvet", "Dark",
];
const NOUNS: &[&str] = &[
    "Goat", "Whale", "Tiger", "Falcon", "Spinner", "Ace", "Jackpot", "Wolf", "Bandit", "Dragon",
    "Rider", "Knight", "Shark", "Phoenix", "Viper", "Baron", "Raven", "Hawk", "Bull", "Fox",
];
const UID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// splitmix64: a tiny, stable mixing function, so a seed means the same players forever
/// (the benchmarks' fake upstream shuffles its players with it too).
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

struct SimPlayer {
    uid: String,
    name: String,
    key: u64,
    /// Typical dollars wagered on an active day; 0 for players who never play.
    daily_rate: f64,
    /// What was wagered before the simulated history starts.
    lifetime_base: f64,
}

pub struct Simulator {
    players: Vec<SimPlayer>,
    clock: Arc<dyn Clock>,
    offset: Duration,
}

impl Simulator {
    pub fn new(seed: u64, count: u32, clock: Arc<dyn Clock>, offset_minutes: i32) -> Self {
        let players = (0..u64::from(count))
            .map(|i| SimPlayer::new(seed, i))
            .collect();
        Simulator {
            players,
            clock,
            offset: Duration::minutes(i64::from(offset_minutes)),
        }
    }

    /// The leaderboard as the upstream would report it at `now`.
    pub fn leaderboard_at(&self, now: DateTime<Utc>) -> serde_json::Value {
        let local = now + self.offset;
        let day = local.date_naive();
        let fraction = f64::from(local.num_seconds_from_midnight()) / 86_400.0;
        let month_start = day.with_day(1).expect("day 1 exists");
        let week_start = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
        let data: Vec<serde_json::Value> = self
            .players
            .iter()
            .map(|p| {
                let this_scale = p.month_scale(month_start);
                let week_scale = if week_start < month_start {
                    p.month_scale(week_start.with_day(1).expect("day 1 exists"))
                } else {
                    this_scale
                };
                let scale = |d: NaiveDate| if d < month_start { week_scale } else { this_scale };
                let today = p.on(day) * this_scale * fraction;
                let this_week = p.between(week_start, day, scale) + today;
                let this_month = p.between(month_start, day, scale) + today;
                let all_time = p.lifetime_base + p.history_before(month_start) + this_month;
                json!({"uid": p.uid, "name": p.name, "wagered": {
                    "today": today, "this_week": this_week, "this_month": this_month, "all_time": all_time,
                }})
            })
            .collect();
        json!({"success": true, "data": data})
    }
}

impl SimPlayer {
    fn new(seed: u64, index: u64) -> Self {
        let key = mix(seed ^ mix(index));
        let uid = (0..20)
            .map(|i| {
                UID_ALPHABET[(mix(key ^ (i + 1)) % UID_ALPHABET.len() as u64) as usize] as char
            })
            .collect();
        let name = format!(
            "{}{}{}",
            ADJECTIVES[(mix(key ^ 101) % ADJECTIVES.len() as u64) as usize],
            NOUNS[(mix(key ^ 202) % NOUNS.len() as u64) as usize],
            mix(key ^ 303) % 1000
        );
        // Most referred players never wager; the rest follow a heavy tail, as casinos do.
        let kind = unit(mix(key ^ 404));
        let daily_rate = if kind < 0.55 {
            0.0
        } else {
            (25.0 * unit(mix(key ^ 505)).max(1e-3).powf(-1.0 / 1.4)).min(60_000.0)
        };
        let lifetime_base = if kind < 0.4 {
            0.0
        } else {
            daily_rate * 40.0 + 500.0 * unit(mix(key ^ 606))
        };
        SimPlayer {
            uid,
            name,
            key,
            daily_rate,
            lifetime_base,
        }
    }

    /// What the player wagers over the whole of `day`: nothing on about a third of days.
    fn on(&self, day: NaiveDate) -> f64 {
        if self.daily_rate == 0.0 {
            return 0.0;
        }
        let h = mix(self.key ^ (day.num_days_from_ce() as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
        let u = unit(h);
        if u < 0.35 {
            0.0
        } else {
            self.daily_rate * (u - 0.35) * 3.0
        }
    }

    /// The factor on a month's days (from `start`) that makes them add up to exactly what
    /// `history_before` counts for that month. Then all_time never jumps
    /// (or drops) at a month's turn, and a window's wagers are the difference of all_time
    /// at its ends, as with the real upstream.
    fn month_scale(&self, start: NaiveDate) -> f64 {
        let next = start
            .checked_add_months(chrono::Months::new(1))
            .expect("dates in range");
        let raw: f64 = start
            .iter_days()
            .take_while(|d| *d < next)
            .map(|d| self.on(d))
            .sum();
        if raw == 0.0 {
            return 0.0;
        }
        (self.history_before(next) - self.history_before(start)) / raw
    }

    /// Sum over the days from `from` up to, but not including, `to`, each day scaled.
    fn between(&self, from: NaiveDate, to: NaiveDate, scale: impl Fn(NaiveDate) -> f64) -> f64 {
        from.iter_days()
            .take_while(|d| *d < to)
            .map(|d| self.on(d) * scale(d))
            .sum()
    }

    /// A stand-in for everything wagered in earlier months: the same rate, without
    /// simulating every past day.
    fn history_before(&self, month_start: NaiveDate) -> f64 {
        let epoch = NaiveDate::from_ymd_opt(2024, 1, 1).expect("a real date");
        let days = (month_start - epoch).num_days().max(0) as f64;
        self.daily_rate * 0.975 * days
    }
}

impl LeaderboardSource for Simulator {
    fn fetch(&mut self, _single_attempt: bool) -> Result<Fetched, FetchError> {
        let body = serde_json::to_vec(&self.leaderboard_at(self.clock.now()))
            .expect("JSON values serialize");
        Ok(Fetched {
            body,
            http_status: None,
            attempts: 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::domain::transform::transform;

    fn sim(seed: u64) -> Simulator {
        let clock = ManualClock::new("2026-11-23T12:00:00Z".parse().unwrap());
        Simulator::new(seed, 300, Arc::new(clock), 0)
    }

    fn at(s: &Simulator, t: &str) -> Vec<crate::domain::transform::Player> {
        let body = serde_json::to_vec(&s.leaderboard_at(t.parse().unwrap())).unwrap();
        transform(&body).unwrap().players
    }

    #[test]
    fn the_same_seed_gives_the_same_players_and_amounts() {
        assert_eq!(
            at(&sim(7), "2026-11-23T12:00:00Z"),
            at(&sim(7), "2026-11-23T12:00:00Z")
        );
        assert_ne!(
            at(&sim(7), "2026-11-23T12:00:00Z"),
            at(&sim(8), "2026-11-23T12:00:00Z")
        );
    }

    #[test]
    fn every_entry_passes_validation_and_most_players_never_wager() {
        let body =
            serde_json::to_vec(&sim(1).leaderboard_at("2026-11-23T12:00:00Z".parse().unwrap()))
                .unwrap();
        let out = transform(&body).unwrap();
        assert_eq!(out.players.len(), 300);
        assert_eq!(out.rejected, 0);
        let zeros = out
            .players
            .iter()
            .filter(|p| p.wagered.all_time == 0.0)
            .count();
        assert!(zeros > 80 && zeros < 200, "{zeros} players at zero");
    }

    #[test]
    fn wagers_grow_through_the_month_and_reset_when_it_turns() {
        let s = sim(3);
        let total = |t: &str| at(&s, t).iter().map(|p| p.wagered.this_month).sum::<f64>();
        let (early, late) = (total("2026-11-05T12:00:00Z"), total("2026-11-29T12:00:00Z"));
        assert!(late > early && early > 0.0);
        assert!(
            total("2026-12-01T00:00:00Z") < early,
            "the new month starts from zero"
        );
        for p in at(&s, "2026-11-29T12:00:00Z") {
            assert!(p.wagered.today <= p.wagered.this_week + 1e-9);
            assert!(p.wagered.this_month <= p.wagered.all_time + 1e-9);
        }
    }

    #[test]
    fn all_time_only_grows_across_month_and_week_boundaries() {
        // Every six hours over four months: a window's wagers are the difference of
        // all_time at its ends, so all_time must never drop or jump at a month's turn.
        let s = sim(7);
        let mut t: DateTime<Utc> = "2026-08-01T00:00:00Z".parse().unwrap();
        let mut last: Vec<f64> = at(&s, "2026-07-31T18:00:00Z")
            .iter()
            .map(|p| p.wagered.all_time)
            .collect();
        let end: DateTime<Utc> = "2026-12-01T00:00:00Z".parse().unwrap();
        while t < end {
            let now = s.leaderboard_at(t);
            let now = crate::domain::transform::transform(&serde_json::to_vec(&now).unwrap())
                .unwrap()
                .players;
            for (p, before) in now.iter().zip(&last) {
                assert!(
                    p.wagered.all_time + 1e-6 >= *before,
                    "{} went down at {t}",
                    p.uid
                );
                // No jump: at most a heavy day's wagers in six hours.
                assert!(
                    p.wagered.all_time - before < 200_000.0,
                    "{} jumped at {t}",
                    p.uid
                );
            }
            last = now.iter().map(|p| p.wagered.all_time).collect();
            t += Duration::hours(6);
        }
    }
}
