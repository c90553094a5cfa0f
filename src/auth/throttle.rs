//! Login throttling: failed logins counted per account and per client address, with
//! waits that grow after a few free tries. The per-account wait is capped low, so a
//! stranger guessing at someone's account slows it down but cannot lock its owner out
//! for long; the per-address wait grows further.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

const FREE_FAILURES: u32 = 5;
const ACCOUNT_CAP: Duration = Duration::from_secs(30);
const ADDRESS_CAP: Duration = Duration::from_secs(15 * 60);
/// Counters idle this long are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    blocked_until: Instant,
    last: Instant,
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

    fn wait(&self, key: &K, now: Instant) -> Option<Duration> {
        let map = self.map.lock();
        map.get(key)
            .map(|f| f.blocked_until.saturating_duration_since(now))
            .filter(|d| !d.is_zero())
    }

    fn fail(&self, key: &K, now: Instant) {
        let mut map = self.map.lock();
        if map.len() > 100_000 {
            map.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
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
            f.blocked_until = now + wait;
        }
    }

    fn clear(&self, key: &K) {
        self.map.lock().remove(key);
    }
}

pub struct LoginThrottle {
    accounts: Counter<String>,
    addresses: Counter<IpAddr>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            accounts: Counter::new(ACCOUNT_CAP),
            addresses: Counter::new(ADDRESS_CAP),
        }
    }
}

impl LoginThrottle {
    /// `Err(wait)` while either the account or the address must wait.
    pub fn check(&self, account: &str, address: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let key = account.to_lowercase();
        match (
            self.accounts.wait(&key, now),
            self.addresses.wait(&address, now),
        ) {
            (None, None) => Ok(()),
            (a, b) => Err(a.unwrap_or_default().max(b.unwrap_or_default())),
        }
    }

    pub fn failed(&self, account: &str, address: IpAddr) {
        let now = Instant::now();
        self.accounts.fail(&account.to_lowercase(), now);
        self.addresses.fail(&address, now);
    }

    pub fn succeeded(&self, account: &str, address: IpAddr) {
        self.accounts.clear(&account.to_lowercase());
        self.addresses.clear(&address);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_start_after_the_free_failures_grow_and_are_capped_per_account() {
        let counter: Counter<&str> = Counter::new(ACCOUNT_CAP);
        let t0 = Instant::now();
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
        assert_eq!(counter.wait(&"a", t0 + ACCOUNT_CAP), None, "the wait lifts");
    }
}
