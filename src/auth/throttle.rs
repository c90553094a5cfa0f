//! Login throttling: failed logins counted per account and per client address, with
//! waits that grow after a few free tries. The per-account wait is capped low, so a
//! stranger guessing at someone's account slows it down but cannot lock its owner out
//! for long; the per-address wait grows further.
//!
//! The account key is the account a name resolves to (so `" victim"` and `"VICTIM"`
//! count against the same account as `victim`); a name that resolves to nothing is
//! keyed by its trimmed, case-folded text, as the lookup reads it. A success clears the
//! account's failures and, from the address's count, only the failures that address made
//! against that same account: signing in to one's own account never wipes the record of
//! guesses at others.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};

use parking_lot::Mutex;

const FREE_FAILURES: u32 = 5;
const ACCOUNT_CAP: Duration = Duration::from_secs(30);
const ADDRESS_CAP: Duration = Duration::from_secs(15 * 60);
/// Counters idle this long are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// Moments come from the application's clock (a test's clock moves on at will).
type Moment = DateTime<Utc>;

/// How long from `then` to `now`; zero when `then` is later.
fn since(now: Moment, then: Moment) -> Duration {
    (now - then).to_std().unwrap_or_default()
}

fn later(now: Moment, by: Duration) -> Moment {
    now + chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX)
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    blocked_until: Moment,
    last: Moment,
}

struct Counter<K> {
    cap: Duration,
    map: Mutex<HashMap<K, Failures>>,
}

impl<K: Hash + Eq + Clone> Counter<K> {
    fn new(cap: Duration) -> Self {
        Counter {
            cap,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn wait(&self, key: &K, now: Moment) -> Option<Duration> {
        let map = self.map.lock();
        map.get(key)
            .map(|f| since(f.blocked_until, now))
            .filter(|d| !d.is_zero())
    }

    fn fail(&self, key: &K, now: Moment) {
        let mut map = self.map.lock();
        if map.len() > 100_000 {
            map.retain(|_, f| since(now, f.last) < FORGET_AFTER);
        }
        let f = map.entry(key.clone()).or_insert(Failures {
            count: 0,
            blocked_until: now,
            last: now,
        });
        f.count += 1;
        f.last = now;
        if f.count >= FREE_FAILURES {
            let wait = Duration::from_secs(1u64 << (f.count - FREE_FAILURES).min(20)).min(self.cap);
            f.blocked_until = later(now, wait);
        }
    }

    fn clear(&self, key: &K) {
        self.map.lock().remove(key);
    }

    /// Takes `count` failures off `key`; below the free tries, the wait lifts.
    fn forgive(&self, key: &K, count: u32, now: Moment) {
        let mut map = self.map.lock();
        if let Some(f) = map.get_mut(key) {
            f.count = f.count.saturating_sub(count);
            if f.count < FREE_FAILURES {
                f.blocked_until = now;
            }
            if f.count == 0 {
                map.remove(key);
            }
        }
    }
}

/// What a sign-in attempt is counted against: the account its name resolves to, or the
/// normalized name when it resolves to none.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LoginKey {
    Account(i64),
    Unknown(String),
}

impl LoginKey {
    /// For a name that matched no account: trimmed and ASCII-case-folded, exactly as
    /// the account lookup compares names.
    pub fn unknown(name: &str) -> Self {
        LoginKey::Unknown(name.trim().to_ascii_lowercase())
    }
}

pub struct LoginThrottle {
    accounts: Counter<LoginKey>,
    addresses: Counter<IpAddr>,
    /// Failures per (address, account), so a success forgives only its own.
    pairs: Mutex<HashMap<(IpAddr, LoginKey), (u32, Moment)>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            accounts: Counter::new(ACCOUNT_CAP),
            addresses: Counter::new(ADDRESS_CAP),
            pairs: Mutex::new(HashMap::new()),
        }
    }
}

impl LoginThrottle {
    /// `Err(wait)` while either the account or the address must wait. `address` is the
    /// client's limit key (an IPv6 /64).
    pub fn check(&self, account: &LoginKey, address: IpAddr, now: Moment) -> Result<(), Duration> {
        match (
            self.accounts.wait(account, now),
            self.addresses.wait(&address, now),
        ) {
            (None, None) => Ok(()),
            (a, b) => Err(a.unwrap_or_default().max(b.unwrap_or_default())),
        }
    }

    pub fn failed(&self, account: &LoginKey, address: IpAddr, now: Moment) {
        self.accounts.fail(account, now);
        self.addresses.fail(&address, now);
        let mut pairs = self.pairs.lock();
        if pairs.len() > 100_000 {
            pairs.retain(|_, (_, last)| since(now, *last) < FORGET_AFTER);
        }
        let pair = pairs.entry((address, account.clone())).or_insert((0, now));
        pair.0 += 1;
        pair.1 = now;
    }

    pub fn succeeded(&self, account: &LoginKey, address: IpAddr, now: Moment) {
        self.accounts.clear(account);
        let own = self.pairs.lock().remove(&(address, account.clone()));
        if let Some((count, _)) = own {
            self.addresses.forgive(&address, count, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> Moment {
        "2026-11-30T23:59:00Z".parse().unwrap()
    }

    #[test]
    fn waits_start_after_the_free_failures_grow_and_are_capped_per_account() {
        let counter: Counter<&str> = Counter::new(ACCOUNT_CAP);
        let t0 = start();
        for _ in 0..FREE_FAILURES - 1 {
            counter.fail(&"a", t0);
        }
        assert_eq!(counter.wait(&"a", t0), None);
        counter.fail(&"a", t0);
        assert_eq!(counter.wait(&"a", t0), Some(Duration::from_secs(1)));
        counter.fail(&"a", t0);
        assert_eq!(counter.wait(&"a", t0), Some(Duration::from_secs(2)));
        for _ in 0..30 {
            counter.fail(&"a", t0);
        }
        assert_eq!(counter.wait(&"a", t0), Some(ACCOUNT_CAP));
        assert_eq!(
            counter.wait(&"a", later(t0, ACCOUNT_CAP)),
            None,
            "the wait lifts"
        );
    }

    #[test]
    fn an_address_waits_up_to_fifteen_minutes_an_account_only_thirty_seconds() {
        let throttle = LoginThrottle::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let t0 = start();
        for n in 0..40 {
            // Guesses at many accounts from one address: each account stays cheap.
            throttle.accounts.fail(&LoginKey::Account(n % 4), t0);
            throttle.addresses.fail(&ip, t0);
        }
        assert_eq!(
            throttle.addresses.wait(&ip, t0),
            Some(Duration::from_secs(15 * 60))
        );
        assert_eq!(
            throttle.accounts.wait(&LoginKey::Account(0), t0),
            Some(Duration::from_secs(30))
        );
    }

    /// Past 100,000 counters, a failure first forgets the ones idle for an hour or more;
    /// at 100,000 exactly, nothing is forgotten yet.
    #[test]
    fn idle_counters_are_forgotten_only_past_the_size_limit() {
        let counter: Counter<u32> = Counter::new(ACCOUNT_CAP);
        let t0 = start();
        for key in 0..100_000 {
            counter.fail(&key, t0);
        }
        let t1 = later(t0, FORGET_AFTER);
        counter.fail(&100_000, t1);
        assert_eq!(
            counter.map.lock().len(),
            100_001,
            "at the limit: none forgotten"
        );
        counter.fail(&100_001, t1);
        let map = counter.map.lock();
        assert_eq!(
            map.keys()
                .copied()
                .collect::<std::collections::BTreeSet<_>>(),
            [100_000, 100_001].into(),
            "past it: the ones idle an hour are gone, the fresh one stays"
        );
    }

    #[test]
    fn forgiven_failures_lift_the_wait_only_below_the_free_tries() {
        let counter: Counter<&str> = Counter::new(ACCOUNT_CAP);
        let t0 = start();
        for _ in 0..FREE_FAILURES + 1 {
            counter.fail(&"a", t0);
        }
        counter.forgive(&"a", 1, t0);
        assert!(
            counter.wait(&"a", t0).is_some(),
            "still at the free tries: the wait stays"
        );
        counter.forgive(&"a", 1, t0);
        assert_eq!(counter.wait(&"a", t0), None, "below them: it lifts");
        assert!(counter.map.lock().contains_key(&"a"), "the count is kept");
        counter.forgive(&"a", FREE_FAILURES, t0);
        assert!(counter.map.lock().is_empty(), "nothing left: forgotten");
    }

    #[test]
    fn idle_address_and_account_pairs_are_forgotten_only_past_the_size_limit() {
        let throttle = LoginThrottle::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = start();
        {
            let mut pairs = throttle.pairs.lock();
            for n in 0..100_000 {
                pairs.insert((ip, LoginKey::Account(n)), (1, t0));
            }
        }
        let t1 = later(t0, FORGET_AFTER);
        throttle.failed(&LoginKey::Account(100_000), ip, t1);
        assert_eq!(
            throttle.pairs.lock().len(),
            100_001,
            "at the limit: none forgotten"
        );
        throttle.failed(&LoginKey::Account(100_001), ip, t1);
        let pairs = throttle.pairs.lock();
        let mut left: Vec<&LoginKey> = pairs.keys().map(|(_, key)| key).collect();
        left.sort_by_key(|k| format!("{k:?}"));
        assert_eq!(
            left,
            [&LoginKey::Account(100_000), &LoginKey::Account(100_001)],
            "past it: the pairs idle an hour are gone"
        );
    }

    #[test]
    fn a_success_forgives_only_the_failures_on_its_own_account() {
        let throttle = LoginThrottle::default();
        let ip: IpAddr = "192.0.2.9".parse().unwrap();
        let (mine, victim) = (LoginKey::Account(1), LoginKey::Account(2));
        for _ in 0..FREE_FAILURES {
            throttle.failed(&victim, ip, start());
        }
        assert!(
            throttle.check(&mine, ip, start()).is_err(),
            "the address waits"
        );
        throttle.succeeded(&mine, ip, start());
        assert!(
            throttle.check(&mine, ip, start()).is_err(),
            "signing in to one's own account keeps the guesses at another"
        );

        let other: IpAddr = "192.0.2.10".parse().unwrap();
        for _ in 0..FREE_FAILURES {
            throttle.failed(&mine, other, start());
        }
        assert!(throttle.check(&mine, other, start()).is_err());
        throttle.succeeded(&mine, other, start());
        assert!(
            throttle.check(&mine, other, start()).is_ok(),
            "one's own typos are forgiven by one's own success"
        );
    }

    #[test]
    fn unknown_names_fold_as_the_lookup_does() {
        assert_eq!(LoginKey::unknown("  Victim "), LoginKey::unknown("victim"));
    }
}
